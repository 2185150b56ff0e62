"""The Inception-ResNet-v2 that 002_d688ab58815c14bf.txt prints (its ``InceptionResNetV2`` and
``InceptionResNetC``), completed from the repository its code comes from: weiaicunzai/pytorch-cifar100,
``models/inceptionv4.py`` (read at commit 0d41819), a network for 32×32 CIFAR images.

Module names are that code's (``stem``, ``inception_resnet_a.InceptionResNetA_0``, ``reduction_a``,
..., ``shorcut`` in the C blocks), so its ``state_dict`` loads. Every residual block here projects
its shortcut with a 1×1 convolution and puts a BatchNorm after the sum — not the paper's identity
shortcut — and the grid sizes are CIFAR's: 32 → 30 (stem) → 14 (Reduction-A) → 6 (Reduction-B).
"""

from __future__ import annotations

import torch
from torch import nn

from archscope.errors import UsageError
from archscope.zoo.blocks import InceptionResNetC
from archscope.zoo.googlenet_variants import BasicConv2d  # the unit 002 prints: conv, BN eps 1e-3, ReLU

# Output widths of the residual blocks (the paper's Inception-ResNet-v2 widths, which this code keeps).
WIDTH_A, WIDTH_B, WIDTH_C = 384, 1154, 2048


def _same(c_in: int, c_out: int, kernel) -> BasicConv2d:
    """A stride-1 convolution that keeps the grid: padding half the kernel, per dimension."""
    kernel = (kernel, kernel) if isinstance(kernel, int) else kernel
    return BasicConv2d(c_in, c_out, kernel_size=kernel, padding=(kernel[0] // 2, kernel[1] // 2))


class InceptionStem(nn.Module):
    """3×3 (unpadded: 32 → 30), 3×3, 3×3 to 64; [3×3 96 | max pool] → 160; [1×1 64 → 7×1 → 1×7 → 3×3
    96 | 1×1 64 → 3×3 96] → 192; [max pool | 3×3 192] → 384. Every pool and conv after the first keeps
    the grid (the paper's stem of Figure 3 reduces it three times; at 32×32 that would leave nothing)."""

    def __init__(self, input_channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(
            BasicConv2d(input_channels, 32, kernel_size=3), _same(32, 32, 3), _same(32, 64, 3))
        self.branch3x3_conv = _same(64, 96, 3)
        self.branch3x3_pool = nn.MaxPool2d(3, stride=1, padding=1)
        self.branch7x7a = nn.Sequential(_same(160, 64, 1), _same(64, 64, (7, 1)), _same(64, 64, (1, 7)), _same(64, 96, 3))
        self.branch7x7b = nn.Sequential(_same(160, 64, 1), _same(64, 96, 3))
        self.branchpoola = nn.MaxPool2d(3, stride=1, padding=1)
        self.branchpoolb = _same(192, 192, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        x = torch.cat([self.branch3x3_conv(x), self.branch3x3_pool(x)], 1)
        x = torch.cat([self.branch7x7a(x), self.branch7x7b(x)], 1)
        return torch.cat([self.branchpoola(x), self.branchpoolb(x)], 1)


class InceptionResNetA(nn.Module):
    """[1×1 32 | 1×1 32 → 3×3 32 | 1×1 32 → 3×3 48 → 3×3 64] → 1×1 to 384, plus a 1×1 shortcut, then
    BatchNorm and ReLU. Unlike B and C, this code does not scale the residual."""

    def __init__(self, input_channels: int) -> None:
        super().__init__()
        self.branch3x3stack = nn.Sequential(_same(input_channels, 32, 1), _same(32, 48, 3), _same(48, 64, 3))
        self.branch3x3 = nn.Sequential(_same(input_channels, 32, 1), _same(32, 32, 3))
        self.branch1x1 = _same(input_channels, 32, 1)
        self.reduction1x1 = nn.Conv2d(128, WIDTH_A, kernel_size=1)
        self.shortcut = nn.Conv2d(input_channels, WIDTH_A, kernel_size=1)
        self.bn = nn.BatchNorm2d(WIDTH_A)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = torch.cat([self.branch1x1(x), self.branch3x3(x), self.branch3x3stack(x)], 1)
        return self.relu(self.bn(self.shortcut(x) + self.reduction1x1(residual)))


class InceptionResNetB(nn.Module):
    """[1×1 192 | 1×1 128 → 1×7 160 → 7×1 192] → 1×1 to 1154 scaled by 0.1, plus a 1×1 shortcut,
    then BatchNorm and ReLU."""

    def __init__(self, input_channels: int) -> None:
        super().__init__()
        self.branch7x7 = nn.Sequential(_same(input_channels, 128, 1), _same(128, 160, (1, 7)), _same(160, 192, (7, 1)))
        self.branch1x1 = _same(input_channels, 192, 1)
        self.reduction1x1 = nn.Conv2d(384, WIDTH_B, kernel_size=1)
        self.shortcut = nn.Conv2d(input_channels, WIDTH_B, kernel_size=1)
        self.bn = nn.BatchNorm2d(WIDTH_B)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = self.reduction1x1(torch.cat([self.branch1x1(x), self.branch7x7(x)], 1)) * 0.1
        return self.relu(self.bn(residual + self.shortcut(x)))


class InceptionResNetReductionA(nn.Module):
    """35 → 17 in the paper, 30 → 14 here: [1×1 k → 3×3 l → 3×3/2 m | 3×3/2 n | max pool 3×3/2]."""

    def __init__(self, input_channels: int, k: int, l: int, m: int, n: int) -> None:  # noqa: E741 -- the paper's letters
        super().__init__()
        self.branch3x3stack = nn.Sequential(
            _same(input_channels, k, 1), _same(k, l, 3), BasicConv2d(l, m, kernel_size=3, stride=2))
        self.branch3x3 = BasicConv2d(input_channels, n, kernel_size=3, stride=2)
        self.branchpool = nn.MaxPool2d(kernel_size=3, stride=2)
        self.output_channels = input_channels + n + m

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch3x3stack(x), self.branch3x3(x), self.branchpool(x)], 1)


class InceptionResNetReductionB(nn.Module):
    """17 → 8 in the paper, 14 → 6 here: [1×1 256 → 3×3/2 384 | 1×1 256 → 3×3/2 288 | 1×1 256 → 3×3
    288 → 3×3/2 320 | max pool 3×3/2]: 992 channels plus the input's."""

    def __init__(self, input_channels: int) -> None:
        super().__init__()
        self.branchpool = nn.MaxPool2d(3, stride=2)
        self.branch3x3a = nn.Sequential(_same(input_channels, 256, 1), BasicConv2d(256, 384, kernel_size=3, stride=2))
        self.branch3x3b = nn.Sequential(_same(input_channels, 256, 1), BasicConv2d(256, 288, kernel_size=3, stride=2))
        self.branch3x3stack = nn.Sequential(
            _same(input_channels, 256, 1), _same(256, 288, 3), BasicConv2d(288, 320, kernel_size=3, stride=2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch3x3a(x), self.branch3x3b(x), self.branch3x3stack(x), self.branchpool(x)], 1)


def _repeated(block: type[nn.Module], input_channels: int, width: int, count: int) -> nn.Sequential:
    """``count`` blocks named ``Block_0``, ``Block_1``, ... as the article's code names them; the first
    takes ``input_channels``, the rest ``width``."""
    layers = nn.Sequential()
    for index in range(count):
        layers.add_module(f"{block.__name__}_{index}", block(input_channels if index == 0 else width))
    return layers


class InceptionResNetV2(nn.Module):
    """002's network: stem, A × InceptionResNetA, Reduction-A (k, l, m, n), B × InceptionResNetB,
    Reduction-B, C × InceptionResNetC, 6×6 average pool, Dropout2d(0.2), linear."""

    def __init__(self, A: int, B: int, C: int, k: int = 256, l: int = 256, m: int = 384, n: int = 384,  # noqa: N803, E741
                 class_nums: int = 10, in_channels: int = 3) -> None:
        super().__init__()
        if min(A, B, C) < 1:
            raise UsageError(f"A, B and C count blocks and must be 1 or more, not {A}, {B}, {C}")
        self.stem = InceptionStem(in_channels)
        self.inception_resnet_a = _repeated(InceptionResNetA, 384, WIDTH_A, A)
        self.reduction_a = InceptionResNetReductionA(WIDTH_A, k, l, m, n)
        self.inception_resnet_b = _repeated(InceptionResNetB, self.reduction_a.output_channels, WIDTH_B, B)
        self.reduction_b = InceptionResNetReductionB(WIDTH_B)
        self.inception_resnet_c = _repeated(InceptionResNetC, WIDTH_B + 384 + 288 + 320, WIDTH_C, C)
        self.avgpool = nn.AvgPool2d(6)
        self.dropout = nn.Dropout2d(1 - 0.8)  # "Dropout (keep 0.8)"
        self.linear = nn.Linear(WIDTH_C, class_nums)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.inception_resnet_c(self.reduction_b(self.inception_resnet_b(self.reduction_a(
            self.inception_resnet_a(self.stem(x))))))
        x = self.dropout(self.avgpool(x))
        # fixed: the article's x.view(-1, 2048) folds a pooled grid larger than 1x1 into the batch
        return self.linear(torch.flatten(x, 1))


def inception_resnet_v2_cifar(num_classes: int | None = None, class_nums: int | None = None, A: int = 5,  # noqa: N803
                              B: int = 10, C: int = 5, k: int = 256, l: int = 256, m: int = 384,  # noqa: N803, E741
                              n: int = 384, in_channels: int = 3) -> InceptionResNetV2:
    """``class_nums`` is the article's name for the zoo's ``num_classes`` (give either; default 10)."""
    if num_classes is not None and class_nums is not None and num_classes != class_nums:
        raise UsageError(f"num_classes={num_classes} and class_nums={class_nums} disagree; they are one option, give one")
    classes = num_classes if num_classes is not None else class_nums if class_nums is not None else 10
    return InceptionResNetV2(A, B, C, k, l, m, n, class_nums=classes, in_channels=in_channels)
