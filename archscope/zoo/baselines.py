"""The baselines the articles compare Inception against: LeNet-5, AlexNet, VGG-16, Network in Network.

Layer tables first (as the papers list them), then the models, then the factories. AlexNet and VGG-16
are torchvision's definitions (module names ``features.N``, ``avgpool``, ``classifier.N``, so
torchvision's checkpoints' keys line up); LeNet-5 and NiN are written from their papers.
"""

from __future__ import annotations

import torch
from torch import nn

# LeNet-5 (LeCun et al. 1998, Section II.B): (name, kind, out channels/features, kernel).
LENET5 = [
    ("c1", "conv", 6, 5),  # 32x32 -> 6@28x28
    ("s2", "pool", 6, 2),  # -> 6@14x14
    ("c3", "conv", 16, 5),  # -> 16@10x10 (every C3 map sees all six S2 maps here; the paper's Table I
    ("s4", "pool", 16, 2),  # -> 16@5x5     connects each to 3, 4 or 6 of them)
    ("c5", "conv", 120, 5),  # -> 120@1x1: a convolution that covers the whole 5x5 map
    ("f6", "linear", 84, None),
]

# torchvision's AlexNet ("One weird trick", Krizhevsky 2014, single tower): (out, kernel, stride, padding), "M" = 3x3/2 max pool.
ALEXNET_FEATURES = [(64, 11, 4, 2), "M", (192, 5, 1, 2), "M", (384, 3, 1, 1), (256, 3, 1, 1), (256, 3, 1, 1), "M"]

# VGG configuration D (Simonyan & Zisserman 2015, Table 1): 3x3 convolutions, pad 1; "M" = 2x2/2 max pool.
VGG16_FEATURES = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]

# NIN for ImageNet (Lin et al. 2014; the authors' Caffe model): per mlpconv layer (conv out, kernel,
# stride, padding, cccp widths); 3x3/2 max pools (ceil) after the first three, global average pool at the end.
NIN_IMAGENET = [
    (96, 11, 4, 0, (96, 96)),
    (256, 5, 1, 2, (256, 256)),
    (384, 3, 1, 1, (384, 384)),
    (1024, 3, 1, 1, (1024, None)),  # None: the last 1x1 gives one map per class
]


class LeNet5(nn.Module):
    """C1 5x5 conv → S2 2x2 avg pool → C3 5x5 conv → S4 avg pool → C5 5x5 conv → F6 → output, tanh between.

    Deviations from the 1998 paper, as most re-implementations make them: C3 is fully connected to
    S2 (paper: a sparse connection table, 1,516 parameters instead of 2,416); S2/S4 are plain average
    pools (paper: a trainable coefficient and bias per map, then the squashing function); tanh instead
    of the scaled 1.7159·tanh(2a/3); the output is a linear layer instead of Euclidean RBF units.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1) -> None:
        super().__init__()
        c1, s2, c3, s4, c5, f6 = LENET5
        self.c1 = nn.Conv2d(in_channels, c1[2], kernel_size=c1[3])
        self.s2 = nn.AvgPool2d(kernel_size=s2[3])
        self.c3 = nn.Conv2d(c1[2], c3[2], kernel_size=c3[3])
        self.s4 = nn.AvgPool2d(kernel_size=s4[3])
        self.c5 = nn.Conv2d(c3[2], c5[2], kernel_size=c5[3])
        self.f6 = nn.Linear(c5[2], f6[2])
        self.output = nn.Linear(f6[2], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.s2(torch.tanh(self.c1(x)))
        x = self.s4(torch.tanh(self.c3(x)))
        x = torch.tanh(self.c5(x))
        x = torch.tanh(self.f6(torch.flatten(x, 1)))
        return self.output(x)


def _features(table, in_channels: int, pool_kernel: int, pool_stride: int) -> nn.Sequential:
    """Conv + ReLU per table row, a max pool at each "M": the torchvision ``features`` layout."""
    layers: list[nn.Module] = []
    for row in table:
        if row == "M":
            layers.append(nn.MaxPool2d(kernel_size=pool_kernel, stride=pool_stride))
            continue
        out, kernel, stride, padding = row if isinstance(row, tuple) else (row, 3, 1, 1)
        layers += [nn.Conv2d(in_channels, out, kernel_size=kernel, stride=stride, padding=padding), nn.ReLU(inplace=True)]
        in_channels = out
    return nn.Sequential(*layers)


class AlexNet(nn.Module):
    """torchvision's AlexNet: five convolutions (64, 192, 384, 256, 256), three max pools, adaptive 6x6
    average pool, and the classifier Dropout → FC 9216→4096 → ReLU → Dropout → FC 4096→4096 → ReLU → FC.

    This is the single-tower network of Krizhevsky's "One weird trick" (2014) that torchvision ships,
    not the two-GPU network of the 2012 paper (96, 256, 384, 384, 256 kernels split over two towers,
    LRN after conv1 and conv2, 60,965,224 parameters).
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = _features(ALEXNET_FEATURES, in_channels, pool_kernel=3, pool_stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(256 * 6 * 6, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


class VGG(nn.Module):
    """torchvision's VGG without batch norm: ``features`` from the table, adaptive 7x7 average pool,
    classifier FC 25088→4096 → ReLU → Dropout → FC 4096→4096 → ReLU → Dropout → FC."""

    def __init__(self, table, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = _features(table, in_channels, pool_kernel=2, pool_stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096),
            nn.ReLU(True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


class MlpConv(nn.Module):
    """The paper's mlpconv layer: a k×k convolution, then a two-layer MLP over channels at every
    position, i.e. two 1x1 convolutions (the Caffe model's "cccp" layers); ReLU after each."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int, padding: int, cccp: tuple[int, int]) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=kernel, stride=stride, padding=padding)
        self.cccp1 = nn.Conv2d(out_channels, cccp[0], kernel_size=1)
        self.cccp2 = nn.Conv2d(cccp[0], cccp[1], kernel_size=1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.conv(x))
        x = self.relu(self.cccp1(x))
        return self.relu(self.cccp2(x))


class NiN(nn.Module):
    """Network in Network for ImageNet: four mlpconv layers and global average pooling, no FC layer.

    The last mlpconv gives one feature map per class and the global average of each map is that
    class's score (004_e5b077b9335f20e2.txt, section 1.2). 3x3/2 max pools with Caffe's ceil rounding
    after mlpconv 1-3 (224 → 54 → 27 → 13 → 6), dropout 0.5 after the third.
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5) -> None:
        super().__init__()
        layers, channels = [], in_channels
        for out, kernel, stride, padding, (cccp1, cccp2) in NIN_IMAGENET:
            layers.append(MlpConv(channels, out, kernel, stride, padding, (cccp1, cccp2 or num_classes)))
            channels = cccp2
        self.mlpconv1 = layers[0]
        self.pool1 = nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)
        self.mlpconv2 = layers[1]
        self.pool2 = nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)
        self.mlpconv3 = layers[2]
        self.pool3 = nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)
        self.dropout = nn.Dropout(p=dropout)
        self.mlpconv4 = layers[3]
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))  # global average pooling

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(self.mlpconv1(x))
        x = self.pool2(self.mlpconv2(x))
        x = self.dropout(self.pool3(self.mlpconv3(x)))
        x = self.avgpool(self.mlpconv4(x))
        return torch.flatten(x, 1)


def lenet5(num_classes: int = 10, in_channels: int = 1) -> LeNet5:
    return LeNet5(num_classes=num_classes, in_channels=in_channels)


def alexnet(num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5) -> AlexNet:
    return AlexNet(num_classes=num_classes, in_channels=in_channels, dropout=dropout)


def vgg16(num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5) -> VGG:
    return VGG(VGG16_FEATURES, num_classes=num_classes, in_channels=in_channels, dropout=dropout)


def nin(num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5) -> NiN:
    return NiN(num_classes=num_classes, in_channels=in_channels, dropout=dropout)
