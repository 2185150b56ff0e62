"""GoogLeNet (Inception v1), as 003_b3c5f7bfde2fbe5b.txt builds it: conv + BatchNorm + ReLU units.

The channel table is the 2014 paper's Table 1. The class names and the module nesting (a
``Sequential`` inside every conv unit) are the article's, so the traced layer tree lines up row for
row with the torchinfo summary the article prints.
"""

from __future__ import annotations

import torch
from torch import nn

# name: (in, #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj) -- Table 1 of Szegedy et al. 2014
INCEPTION_TABLE = {
    "inception3a": (192, 64, 96, 128, 16, 32, 32),
    "inception3b": (256, 128, 128, 192, 32, 96, 64),
    "inception4a": (480, 192, 96, 208, 16, 48, 64),
    "inception4b": (512, 160, 112, 224, 24, 64, 64),
    "inception4c": (512, 128, 128, 256, 24, 64, 64),
    "inception4d": (512, 112, 144, 288, 32, 64, 64),
    "inception4e": (528, 256, 160, 320, 32, 128, 128),
    "inception5a": (832, 256, 160, 320, 32, 128, 128),
    "inception5b": (832, 384, 192, 384, 48, 128, 128),
}


class BasicConv2d(nn.Module):
    """Convolution without bias, then BatchNorm and ReLU (the bias would be cancelled by BN)."""

    def __init__(self, in_channels: int, out_channels: int, **conv_options) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, bias=False, **conv_options),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class Inception(nn.Module):
    """Four parallel branches concatenated on channels: 1x1; 1x1→3x3; 1x1→5x5; 3x3 max-pool→1x1."""

    def __init__(self, in_channels, ch1x1, ch3x3_reduce, ch3x3, ch5x5_reduce, ch5x5, pool_proj) -> None:
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(
            BasicConv2d(in_channels, ch3x3_reduce, kernel_size=1),
            BasicConv2d(ch3x3_reduce, ch3x3, kernel_size=3, padding=1),
        )
        self.branch3 = nn.Sequential(
            BasicConv2d(in_channels, ch5x5_reduce, kernel_size=1),
            BasicConv2d(ch5x5_reduce, ch5x5, kernel_size=5, padding=2),
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1),
            BasicConv2d(in_channels, pool_proj, kernel_size=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = (self.branch1, self.branch2, self.branch3, self.branch4)
        return torch.cat([branch(x) for branch in branches], dim=1)


class AuxClf(nn.Module):
    """Auxiliary head: 5x5/3 average pool (14x14 → 4x4), 1x1 conv to 128, FC 2048→1024, dropout 0.7."""

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.AvgPool2d(kernel_size=5, stride=3),
            BasicConv2d(in_channels, 128, kernel_size=1),
        )
        self.classifier = nn.Sequential(
            nn.Linear(128 * 4 * 4, 1024),
            nn.ReLU(inplace=True),
            nn.Dropout(0.7),
            nn.Linear(1024, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


class GoogLeNet(nn.Module):
    """GoogLeNet with BatchNorm; ``forward`` returns ``(logits, aux1, aux2)`` in train and eval alike."""

    def __init__(self, num_classes: int = 1000, in_channels: int = 3) -> None:
        super().__init__()
        self.conv1 = BasicConv2d(in_channels, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = Inception(*INCEPTION_TABLE["inception3a"])
        self.inception3b = Inception(*INCEPTION_TABLE["inception3b"])
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = Inception(*INCEPTION_TABLE["inception4a"])
        self.inception4b = Inception(*INCEPTION_TABLE["inception4b"])
        self.inception4c = Inception(*INCEPTION_TABLE["inception4c"])
        self.inception4d = Inception(*INCEPTION_TABLE["inception4d"])
        self.inception4e = Inception(*INCEPTION_TABLE["inception4e"])
        self.maxpool4 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception5a = Inception(*INCEPTION_TABLE["inception5a"])
        self.inception5b = Inception(*INCEPTION_TABLE["inception5b"])
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(0.4)
        self.fc = nn.Linear(1024, num_classes)
        self.aux1 = AuxClf(INCEPTION_TABLE["inception4b"][0], num_classes)
        self.aux2 = AuxClf(INCEPTION_TABLE["inception4e"][0], num_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        aux1 = self.aux1(x)
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x)
        x = self.maxpool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        x = self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))
        return x, aux1, aux2


def googlenet(num_classes: int = 1000, in_channels: int = 3) -> GoogLeNet:
    return GoogLeNet(num_classes=num_classes, in_channels=in_channels)
