"""Inception and ResNet blocks on their own, for teaching and for the savings analyses.

Each block is the module a paper draws or an article codes, at the widths of the place it is used
(inception 3a for the v1/v2 blocks, 17×17 for the v3 block, ...); the widths are keyword options.
Module names follow the source: the 2014 paper has none, so its blocks use the branch names of 002's
code (``branch1x1``, ``branch3x3``, ``branch5x5``, ``branch_pool``); 002's blocks keep 002's names
(which are torchvision's for InceptionB and InceptionC); the bottleneck keeps torchvision's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from archscope.zoo.googlenet_variants import BasicConv2d  # 002 uses torchvision's unit: conv, BN eps 1e-3, ReLU

# Inception (3a), "Going deeper with convolutions" (Szegedy et al. 2014), Table 1: 28x28x192 in.
PAPER_3A = {
    "in_channels": 192, "ch1x1": 64, "ch3x3_reduce": 96, "ch3x3": 128, "ch5x5_reduce": 16, "ch5x5": 32, "pool_proj": 32,
}
# The same row in 002's parameter names (Inception_v1's in_channel, out1_1, out2_1, ...).
ARTICLE_002_3A = {"in_channel": 192, "out1_1": 64, "out2_1": 96, "out2_3": 128, "out3_1": 16, "out3_5": 32, "out4_1": 32}
# Inception (3a) of BN-Inception, "Batch Normalization" (Ioffe & Szegedy 2015), Figure 5: the 5x5 is a
# "double 3x3" branch; pool is average + projection. 28x28x192 in, 64+64+96+32 = 256 out.
BN_INCEPTION_3A = {
    "in_channels": 192, "ch1x1": 64, "ch3x3_reduce": 64, "ch3x3": 64, "ch3x3dbl_reduce": 64, "ch3x3dbl": 96, "pool_proj": 32,
}
# 002's InceptionC (Inception-v3's 17x17 module): fixed 192-wide outputs, c7 the inner width.
INCEPTION_C_OUT = 192
# 002's InceptionB (the 35x35 -> 17x17 grid reduction): 3x3/2 to 384; 1x1 64 -> 3x3 96 -> 3x3/2 96.
INCEPTION_B = {"branch3x3": 384, "branch3x3dbl": (64, 96, 96)}
# 002's InceptionResNetC: 1x1 192; 1x1 192 -> 1x3 224 -> 3x1 256; 1x1 448 -> 2048; shortcut 1x1 to 2048.
INCEPTION_RESNET_C = {"branch1x1": 192, "branch3x3": (192, 224, 256), "out": 2048, "scale": 0.1}


# ---- "Going deeper with convolutions" (2014), Figure 2: convolutions with bias, each followed by ReLU.


class ConvReLU(nn.Module):
    """A convolution with bias followed by ReLU: the paper's unit (no batch norm in 2014)."""

    def __init__(self, in_channels: int, out_channels: int, **conv_options) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, **conv_options)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.conv(x))


class InceptionNaive(nn.Module):
    """Figure 2(a), the naive module: 1x1, 3x3 and 5x5 convolutions and a 3x3 max pool, concatenated.

    The pool branch passes its input through unchanged, so the output is wider than the input
    (ch1x1 + ch3x3 + ch5x5 + in_channels) and the 3x3 and 5x5 convolve all of the input's channels:
    the cost the 1x1 reductions of Figure 2(b) remove.
    """

    def __init__(self, in_channels: int, ch1x1: int, ch3x3: int, ch5x5: int) -> None:
        super().__init__()
        self.branch1x1 = ConvReLU(in_channels, ch1x1, kernel_size=1)
        self.branch3x3 = ConvReLU(in_channels, ch3x3, kernel_size=3, padding=1)
        self.branch5x5 = ConvReLU(in_channels, ch5x5, kernel_size=5, padding=2)
        self.branch_pool = nn.MaxPool2d(kernel_size=3, stride=1, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = (self.branch1x1, self.branch3x3, self.branch5x5, self.branch_pool)
        return torch.cat([branch(x) for branch in branches], dim=1)


class InceptionV1(nn.Module):
    """Figure 2(b), with dimension reductions: 1x1; 1x1→3x3; 1x1→5x5; 3x3 max pool→1x1 projection."""

    def __init__(self, in_channels, ch1x1, ch3x3_reduce, ch3x3, ch5x5_reduce, ch5x5, pool_proj) -> None:
        super().__init__()
        self.branch1x1 = ConvReLU(in_channels, ch1x1, kernel_size=1)
        self.branch3x3 = nn.Sequential(
            ConvReLU(in_channels, ch3x3_reduce, kernel_size=1),
            ConvReLU(ch3x3_reduce, ch3x3, kernel_size=3, padding=1),
        )
        self.branch5x5 = nn.Sequential(
            ConvReLU(in_channels, ch5x5_reduce, kernel_size=1),
            ConvReLU(ch5x5_reduce, ch5x5, kernel_size=5, padding=2),
        )
        self.branch_pool = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1),
            ConvReLU(in_channels, pool_proj, kernel_size=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = (self.branch1x1, self.branch3x3, self.branch5x5, self.branch_pool)
        return torch.cat([branch(x) for branch in branches], dim=1)


# ---- 002_d688ab58815c14bf.txt's blocks.


def basic_conv2D(in_channels: int, out_channels: int, kernel: int, stride: int = 1, padding: int = 0) -> nn.Sequential:
    """002's unit for Inception_v1: Conv2d (with bias, as the article writes it), BatchNorm eps 1e-3, ReLU."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel, stride, padding),
        nn.BatchNorm2d(out_channels, eps=1e-3),
        nn.ReLU(True),
    )


class Inception_v1(nn.Module):  # noqa: N801 -- the article's class name
    """002's Inception_v1: the four branches of Figure 2(b), each conv a basic_conv2D (conv + BN + ReLU)."""

    def __init__(self, in_channel, out1_1, out2_1, out2_3, out3_1, out3_5, out4_1) -> None:
        super().__init__()
        self.branch1x1 = basic_conv2D(in_channel, out1_1, 1)
        self.branch3x3 = nn.Sequential(basic_conv2D(in_channel, out2_1, 1), basic_conv2D(out2_1, out2_3, 3, padding=1))
        self.branch5x5 = nn.Sequential(basic_conv2D(in_channel, out3_1, 1), basic_conv2D(out3_1, out3_5, 5, padding=2))
        self.branch_pool = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), basic_conv2D(in_channel, out4_1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f1 = self.branch1x1(x)
        f2 = self.branch3x3(x)
        f3 = self.branch5x5(x)
        f4 = self.branch_pool(x)
        return torch.cat((f1, f2, f3, f4), dim=1)


class InceptionV2(nn.Module):
    """Inception v2's module (BN-Inception): Figure 2(b) with the 5x5 replaced by two stacked 3x3.

    Branches: 1x1; 1x1→3x3; 1x1→3x3→3x3 (the "double 3x3" that replaces 5x5: same 5x5 receptive
    field, fewer weights per output channel, one more non-linearity); 3x3 average pool→1x1.
    """

    def __init__(self, in_channels, ch1x1, ch3x3_reduce, ch3x3, ch3x3dbl_reduce, ch3x3dbl, pool_proj) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch3x3_1 = BasicConv2d(in_channels, ch3x3_reduce, kernel_size=1)
        self.branch3x3_2 = BasicConv2d(ch3x3_reduce, ch3x3, kernel_size=3, padding=1)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, ch3x3dbl_reduce, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(ch3x3dbl_reduce, ch3x3dbl, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(ch3x3dbl, ch3x3dbl, kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(in_channels, pool_proj, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch1x1 = self.branch1x1(x)
        branch3x3 = self.branch3x3_2(self.branch3x3_1(x))
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        branch_pool = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return torch.cat([branch1x1, branch3x3, branch3x3dbl, branch_pool], 1)


class InceptionB(nn.Module):
    """002's InceptionB, the grid reduction (35x35 → 17x17): 3x3/2; 1x1→3x3→3x3/2; 3x3/2 max pool.

    Stride 2 on every branch, in parallel, so the grid halves without a representational bottleneck;
    the pool branch passes the input's channels through (out = 384 + 96 + in_channels).
    """

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        reduce, mid, out = INCEPTION_B["branch3x3dbl"]
        self.branch3x3 = BasicConv2d(in_channels, INCEPTION_B["branch3x3"], kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, reduce, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(reduce, mid, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(mid, out, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch3x3 = self.branch3x3(x)
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        branch_pool = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([branch3x3, branch3x3dbl, branch_pool], 1)


class InceptionC(nn.Module):
    """002's InceptionC: each 7x7 factorized into 1x7 and 7x1; c7 = ``channels_7x7`` inner channels.

    Branches: 1x1 192; 1x1 c7→1x7 c7→7x1 192; 1x1 c7→7x1→1x7→7x1→1x7 192; 3x3 avg pool→1x1 192.
    """

    def __init__(self, in_channels: int, channels_7x7: int) -> None:
        super().__init__()
        c7, out = channels_7x7, INCEPTION_C_OUT
        self.branch1x1 = BasicConv2d(in_channels, out, kernel_size=1)
        self.branch7x7_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, out, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, out, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(in_channels, out, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch1x1 = self.branch1x1(x)
        branch7x7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        branch7x7dbl = self.branch7x7dbl_1(x)
        for layer in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            branch7x7dbl = layer(branch7x7dbl)
        branch_pool = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return torch.cat([branch1x1, branch7x7, branch7x7dbl, branch_pool], 1)


class InceptionResNetC(nn.Module):
    """002's InceptionResNetC (after the paper's Figure 19): BN(shortcut(x) + 0.1 × residual), ReLU.

    residual = 1x1 conv (with bias) 448 → 2048 over [1x1 192 | 1x1 192→1x3 224→3x1 256]; unlike the
    paper's identity shortcut, ``shorcut`` (the article's spelling) is a 1x1 convolution to 2048, and a
    BatchNorm follows the sum.
    """

    def __init__(self, input_channels: int) -> None:
        super().__init__()
        reduce, mid, out3 = INCEPTION_RESNET_C["branch3x3"]
        out, out1 = INCEPTION_RESNET_C["out"], INCEPTION_RESNET_C["branch1x1"]
        self.branch3x3 = nn.Sequential(
            BasicConv2d(input_channels, reduce, kernel_size=1),
            BasicConv2d(reduce, mid, kernel_size=(1, 3), padding=(0, 1)),
            BasicConv2d(mid, out3, kernel_size=(3, 1), padding=(1, 0)),
        )
        self.branch1x1 = BasicConv2d(input_channels, out1, kernel_size=1)
        self.reduction1x1 = nn.Conv2d(out1 + out3, out, kernel_size=1)
        self.shorcut = nn.Conv2d(input_channels, out, kernel_size=1)
        self.bn = nn.BatchNorm2d(out)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = torch.cat([self.branch1x1(x), self.branch3x3(x)], 1)
        residual = self.reduction1x1(residual) * INCEPTION_RESNET_C["scale"]
        shorcut = self.shorcut(x)
        return self.relu(self.bn(shorcut + residual))


# ---- "Deep Residual Learning for Image Recognition" (He et al. 2016), Figure 5 right.


class Bottleneck(nn.Module):
    """The bottleneck residual block: 1x1 reduce → 3x3 → 1x1 restore, BN after each conv, identity shortcut.

    ``channels`` in and out (256), ``width`` inside (64 = 256/4). Module names are torchvision's
    ``Bottleneck`` (stride 1, no downsample), so its state_dict keys read the same.
    """

    def __init__(self, channels: int, width: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, width, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, kernel_size=3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, channels, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + x)


# ---- factories: keyword widths, defaulting to the table rows at the top of the file.


def inception_v1_naive_block(in_channels: int = 192, ch1x1: int = 64, ch3x3: int = 128, ch5x5: int = 32) -> InceptionNaive:
    """Figure 2(a) at inception (3a)'s widths (PAPER_3A without the reductions)."""
    return InceptionNaive(in_channels, ch1x1, ch3x3, ch5x5)


def inception_v1_block(**widths: int) -> InceptionV1:
    """Figure 2(b); ``widths`` override PAPER_3A's (in_channels, ch1x1, ch3x3_reduce, ..., pool_proj)."""
    return InceptionV1(**{**PAPER_3A, **widths})


def inception_v1_bn_block(**widths: int) -> Inception_v1:
    """002's Inception_v1; ``widths`` override ARTICLE_002_3A's (in_channel, out1_1, ..., out4_1)."""
    return Inception_v1(**{**ARTICLE_002_3A, **widths})


def inception_v2_block(**widths: int) -> InceptionV2:
    """BN-Inception's module; ``widths`` override BN_INCEPTION_3A's (in_channels, ..., ch3x3dbl, pool_proj)."""
    return InceptionV2(**{**BN_INCEPTION_3A, **widths})


def inception_v3_block(in_channels: int = 768, channels_7x7: int = 128) -> InceptionC:
    """At 17x17x768 with c7 = 128, as Inception-v3's first 17x17 module (torchvision's Mixed_6b)."""
    return InceptionC(in_channels, channels_7x7)


def inception_v2_reduction(in_channels: int = 288) -> InceptionB:
    """At 35x35x288, as Inception-v3's 35 -> 17 reduction (torchvision's Mixed_6a)."""
    return InceptionB(in_channels)


def inception_resnet_c(input_channels: int = 2048) -> InceptionResNetC:
    return InceptionResNetC(input_channels)


def resnet_bottleneck(channels: int = 256, width: int = 64) -> Bottleneck:
    return Bottleneck(channels, width)
