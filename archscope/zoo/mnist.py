"""The two small MNIST networks of 001_7b7146f80fc53dc6.txt ("Pytorch notes (5)"): input 1×28×28, 10 classes.

``inception-mnist`` is the article's InceptionA network, ``resnet-mnist`` its residual network.
Module names are the article's (``conv1``, ``incep1``, ``mp``, ``rblock1``, ``fc``, ``branch5x5_1``,
...), so the traced rows read like its code. The article's residual code does not run as printed; the
fixes are listed on ``ResidualBlock`` and ``ResidualNet`` and in the catalog entry.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# InceptionA branch widths, article lines 20-26: every branch has fixed widths, whatever comes in.
INCEPTION_A = {
    "branch1x1": 16,  # 1x1
    "branch5x5": (16, 24),  # 1x1 reduce, then 5x5
    "branch3x3": (16, 24, 24),  # 1x1 reduce, then two 3x3
    "branch_pool": 24,  # 3x3/1 average pool, then 1x1
}
INCEPTION_A_OUT = 16 + 24 + 24 + 24  # = 88, the "88" of the article's conv2 = nn.Conv2d(88, 20, ...)

# (conv1 out, conv2 out) and the FC input at 28x28, articles lines 41-47 and 190-195.
INCEPTION_NET = {"conv1": 10, "conv2": 20, "fc_in": INCEPTION_A_OUT * 4 * 4}  # 88*4*4 = 1408
RESIDUAL_NET = {"conv1": 16, "conv2": 32, "fc_in": 32 * 4 * 4}  # 32*4*4 = 512


class InceptionA(nn.Module):
    """Four branches concatenated to 88 channels: 1x1; 1x1→5x5; 1x1→3x3→3x3; 3x3 avg pool→1x1.

    Plain convolutions with bias and no activation inside the block, as the article writes them; the
    pooling branch uses ``F.avg_pool2d`` (kernel 3, stride 1, padding 1) in ``forward``, as it does.
    """

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        reduce5, out5 = INCEPTION_A["branch5x5"]
        reduce3, mid3, out3 = INCEPTION_A["branch3x3"]
        self.branch1x1 = nn.Conv2d(in_channels, INCEPTION_A["branch1x1"], kernel_size=1)
        self.branch5x5_1 = nn.Conv2d(in_channels, reduce5, kernel_size=1)
        self.branch5x5_2 = nn.Conv2d(reduce5, out5, kernel_size=5, padding=2)
        self.branch3x3_1 = nn.Conv2d(in_channels, reduce3, kernel_size=1)
        self.branch3x3_2 = nn.Conv2d(reduce3, mid3, kernel_size=3, padding=1)
        self.branch3x3_3 = nn.Conv2d(mid3, out3, kernel_size=3, padding=1)
        self.branch_pool = nn.Conv2d(in_channels, INCEPTION_A["branch_pool"], kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch1x1 = self.branch1x1(x)
        branch5x5 = self.branch5x5_2(self.branch5x5_1(x))
        branch3x3 = self.branch3x3_3(self.branch3x3_2(self.branch3x3_1(x)))
        branch_pool = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return torch.cat([branch1x1, branch5x5, branch3x3, branch_pool], dim=1)


class InceptionNet(nn.Module):
    """conv1 5x5 → max pool 2 → ReLU → InceptionA → conv2 5x5 → max pool 2 → ReLU → InceptionA → FC.

    1×28×28 → 10×24×24 → 10×12×12 → 88×12×12 → 20×8×8 → 20×4×4 → 88×4×4 = 1408 → 10 (article line 47).
    The article's class is called ``Net``; it returns logits (the loss is CrossEntropyLoss).
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1) -> None:
        super().__init__()
        # Registration order as in the article's __init__ (it sets the state_dict order).
        self.conv1 = nn.Conv2d(in_channels, INCEPTION_NET["conv1"], kernel_size=5)
        self.conv2 = nn.Conv2d(INCEPTION_A_OUT, INCEPTION_NET["conv2"], kernel_size=5)
        self.incep1 = InceptionA(in_channels=INCEPTION_NET["conv1"])
        self.incep2 = InceptionA(in_channels=INCEPTION_NET["conv2"])
        self.mp = nn.MaxPool2d(2)
        self.fc = nn.Linear(INCEPTION_NET["fc_in"], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.mp(self.conv1(x)))
        x = self.incep1(x)
        x = F.relu(self.mp(self.conv2(x)))
        x = self.incep2(x)
        return self.fc(x.view(x.size(0), -1))


class ResidualBlock(nn.Module):
    """y = ReLU(x + conv2(ReLU(conv1(x)))): two 3x3 convolutions (with bias) that keep the channels.

    Fixed from the article (lines 174-185): its ``__init__`` names the convolutions ``cov1``/``cov2``
    while ``forward`` calls ``self.conv2`` (renamed ``conv1``/``conv2``), a stray ``)`` ends the second
    convolution, and ``F.relue`` is ``F.relu``.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels
        self.conv1 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.conv1(x))
        y = self.conv2(y)
        return F.relu(x + y)


class ResidualNet(nn.Module):
    """conv1 5x5 → max pool 2 → ReLU → ResidualBlock(16) → conv2 5x5 → max pool 2 → ReLU → ResidualBlock(32) → FC.

    1×28×28 → 16×24×24 → 16×12×12 → 32×8×8 → 32×4×4 = 512 → 10. Fixed from the article (lines 186-205):
    ``rblock2`` is ``ResidualBlock(32)`` (it wrote 16, but conv2 gives 32 channels), ``forward`` calls
    ``rblock1``/``rblock2`` (it called ``incep1``/``incep2``, left over from the Inception network), and
    the stray ``model = Model()`` before the class is dropped. The article's class is called ``Net``.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, RESIDUAL_NET["conv1"], kernel_size=5)
        self.conv2 = nn.Conv2d(RESIDUAL_NET["conv1"], RESIDUAL_NET["conv2"], kernel_size=5)
        self.mp = nn.MaxPool2d(2)
        self.rblock1 = ResidualBlock(RESIDUAL_NET["conv1"])
        self.rblock2 = ResidualBlock(RESIDUAL_NET["conv2"])
        self.fc = nn.Linear(RESIDUAL_NET["fc_in"], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.mp(self.conv1(x)))
        x = self.rblock1(x)
        x = F.relu(self.mp(self.conv2(x)))
        x = self.rblock2(x)
        return self.fc(x.view(x.size(0), -1))


def inception_mnist(num_classes: int = 10, in_channels: int = 1) -> InceptionNet:
    return InceptionNet(num_classes=num_classes, in_channels=in_channels)


def resnet_mnist(num_classes: int = 10, in_channels: int = 1) -> ResidualNet:
    return ResidualNet(num_classes=num_classes, in_channels=in_channels)
