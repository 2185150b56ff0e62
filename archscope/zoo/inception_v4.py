"""Inception-v4 ("Inception-v4, Inception-ResNet and the Impact of Residual Connections on
Learning", Szegedy et al., 2016), layer for layer as timm 1.0 builds ``inception_v4``, module names
included, so a timm checkpoint loads strictly.

timm follows the released TF-slim model: a stem of convolutions and three mixed blocks
(299 → 35×35×384), 4 × Inception-A, Reduction-A (→ 17×17×1024), 7 × Inception-B, Reduction-B
(→ 8×8×1536), 3 × Inception-C, global average pool, dropout, linear — the paper's Figures 3–9.
Every convolution is timm's ``ConvNormAct``: conv without bias, then a ``BatchNormAct2d`` (batch
norm with eps 0.001 whose ``drop`` and ``act`` children apply dropout — none here — and ReLU).
"""

from __future__ import annotations

import torch
from torch import nn

# Per block: the branches, each a list of (in, out, kernel, stride, padding) convolutions; "avg"
# and "max" are 3×3 pools (stride 1 padded, or stride 2 as in the reductions).
INCEPTION_A = [
    [(384, 96, 1, 1, 0)],
    [(384, 64, 1, 1, 0), (64, 96, 3, 1, 1)],
    [(384, 64, 1, 1, 0), (64, 96, 3, 1, 1), (96, 96, 3, 1, 1)],
    ["avg", (384, 96, 1, 1, 0)],
]
REDUCTION_A = [  # k, l, m, n = 192, 224, 256, 384 (the paper's Table 1 for Inception-v4)
    (384, 384, 3, 2, 0),
    [(384, 192, 1, 1, 0), (192, 224, 3, 1, 1), (224, 256, 3, 2, 0)],
    "max",
]
INCEPTION_B = [
    [(1024, 384, 1, 1, 0)],
    [(1024, 192, 1, 1, 0), (192, 224, (1, 7), 1, (0, 3)), (224, 256, (7, 1), 1, (3, 0))],
    [(1024, 192, 1, 1, 0), (192, 192, (7, 1), 1, (3, 0)), (192, 224, (1, 7), 1, (0, 3)),
     (224, 224, (7, 1), 1, (3, 0)), (224, 256, (1, 7), 1, (0, 3))],
    ["avg", (1024, 128, 1, 1, 0)],
]
REDUCTION_B = [
    [(1024, 192, 1, 1, 0), (192, 192, 3, 2, 0)],
    [(1024, 256, 1, 1, 0), (256, 256, (1, 7), 1, (0, 3)), (256, 320, (7, 1), 1, (3, 0)), (320, 320, 3, 2, 0)],
    "max",
]
REPEATS = {"inception_a": 4, "inception_b": 7, "inception_c": 3}


class BatchNormAct2d(nn.BatchNorm2d):
    """timm's batch norm with its activation as children (``drop``, ``act``), so that the state_dict
    keys stay those of a plain ``bn`` while the module tree shows what runs."""

    def __init__(self, num_features: int, eps: float = 1e-3) -> None:
        super().__init__(num_features, eps=eps)
        self.drop = nn.Identity()
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.drop(super().forward(x)))


class ConvNormAct(nn.Module):
    """timm's unit: convolution without bias, then ``BatchNormAct2d`` (eps 0.001, ReLU)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size=1, stride=1, padding=0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=False)
        self.bn = BatchNormAct2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


def pool(kind: str) -> nn.Module:
    if kind == "avg":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    return nn.MaxPool2d(3, stride=2)


def branch(spec) -> nn.Module:
    """One convolution as a ``ConvNormAct``, a pool, or a list of them as an ``nn.Sequential``."""
    if isinstance(spec, str):
        return pool(spec)
    if isinstance(spec, tuple):
        return ConvNormAct(*spec)
    return nn.Sequential(*map(branch, spec)) if len(spec) > 1 else branch(spec[0])


class Branches(nn.Module):
    """A block whose branches ``branch0``, ``branch1``, ... all read the input and are concatenated."""

    def __init__(self, branches: list) -> None:
        super().__init__()
        for index, spec in enumerate(branches):
            self.add_module(f"branch{index}", branch(spec))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([module(x) for module in self.children()], 1)


class InceptionA(Branches):
    """35×35: 1×1 96 | 1×1 64 → 3×3 96 | 1×1 64 → 3×3 96 → 3×3 96 | avg pool → 1×1 96 (Figure 4)."""

    def __init__(self) -> None:
        super().__init__(INCEPTION_A)


class ReductionA(Branches):
    """35 → 17: 3×3/2 384 | 1×1 192 → 3×3 224 → 3×3/2 256 | max pool 3×3/2 (Figure 7)."""

    def __init__(self) -> None:
        super().__init__(REDUCTION_A)


class InceptionB(Branches):
    """17×17, 7×7 factorized into 1×7 and 7×1 (Figure 5)."""

    def __init__(self) -> None:
        super().__init__(INCEPTION_B)


class ReductionB(Branches):
    """17 → 8: 1×1 → 3×3/2 | 1×1 → 1×7 → 7×1 → 3×3/2 | max pool 3×3/2 (Figure 8)."""

    def __init__(self) -> None:
        super().__init__(REDUCTION_B)


class InceptionC(nn.Module):
    """8×8: 1×1 256 | 1×1 384 → (1×3, 3×1) 256 each | 1×1 384 → 3×1 448 → 1×3 512 → (1×3, 3×1) 256
    each | avg pool → 1×1 256 (Figure 6): 1536 channels. The inner splits have timm's names."""

    def __init__(self) -> None:
        super().__init__()
        row, column = ((1, 3), 1, (0, 1)), ((3, 1), 1, (1, 0))
        self.branch0 = ConvNormAct(1536, 256)
        self.branch1_0 = ConvNormAct(1536, 384)
        self.branch1_1a = ConvNormAct(384, 256, *row)
        self.branch1_1b = ConvNormAct(384, 256, *column)
        self.branch2_0 = ConvNormAct(1536, 384)
        self.branch2_1 = ConvNormAct(384, 448, *column)
        self.branch2_2 = ConvNormAct(448, 512, *row)
        self.branch2_3a = ConvNormAct(512, 256, *row)
        self.branch2_3b = ConvNormAct(512, 256, *column)
        self.branch3 = nn.Sequential(pool("avg"), ConvNormAct(1536, 256))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x0 = self.branch0(x)  # timm's order, so the layer rows are timm's
        x1 = self.branch1_0(x)
        x1 = torch.cat([self.branch1_1a(x1), self.branch1_1b(x1)], 1)
        x2 = self.branch2_2(self.branch2_1(self.branch2_0(x)))
        x2 = torch.cat([self.branch2_3a(x2), self.branch2_3b(x2)], 1)
        return torch.cat([x0, x1, x2, self.branch3(x)], 1)


class Mixed3a(nn.Module):
    """Stem: max pool 3×3/2 beside conv 3×3/2 96 → 160 channels."""

    def __init__(self) -> None:
        super().__init__()
        self.maxpool = pool("max")
        self.conv = ConvNormAct(64, 96, 3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.maxpool(x), self.conv(x)], 1)


class Mixed4a(Branches):
    """Stem: 1×1 64 → 3×3 96 | 1×1 64 → 1×7 64 → 7×1 64 → 3×3 96 → 192 channels."""

    def __init__(self) -> None:
        super().__init__([
            [(160, 64, 1, 1, 0), (64, 96, 3, 1, 0)],
            [(160, 64, 1, 1, 0), (64, 64, (1, 7), 1, (0, 3)), (64, 64, (7, 1), 1, (3, 0)), (64, 96, 3, 1, 0)],
        ])


class Mixed5a(nn.Module):
    """Stem: conv 3×3/2 192 beside max pool 3×3/2 → 384 channels."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = ConvNormAct(192, 192, 3, 2)
        self.maxpool = pool("max")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.conv(x), self.maxpool(x)], 1)


class SelectAdaptivePool2d(nn.Module):
    """timm's global pool as ``create_classifier`` makes it for pool type "avg": pool, then flatten."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.flatten(self.pool(x))


class InceptionV4(nn.Module):
    """timm's InceptionV4: ``features`` (22 modules), ``global_pool``, ``head_drop``, ``last_linear``."""

    def __init__(self, num_classes: int = 1000, in_chans: int = 3, drop_rate: float = 0.0) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.num_features = 1536
        self.features = nn.Sequential(
            ConvNormAct(in_chans, 32, 3, 2),
            ConvNormAct(32, 32, 3, 1),
            ConvNormAct(32, 64, 3, 1, 1),
            Mixed3a(),
            Mixed4a(),
            Mixed5a(),
            *[InceptionA() for _ in range(REPEATS["inception_a"])],
            ReductionA(),  # Mixed6a
            *[InceptionB() for _ in range(REPEATS["inception_b"])],
            ReductionB(),  # Mixed7a
            *[InceptionC() for _ in range(REPEATS["inception_c"])],
        )
        self.global_pool = SelectAdaptivePool2d()
        self.head_drop = nn.Dropout(drop_rate)
        self.last_linear = nn.Linear(self.num_features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.last_linear(self.head_drop(self.global_pool(self.features(x))))


def inception_v4(num_classes: int = 1000, in_channels: int = 3, drop_rate: float = 0.0) -> InceptionV4:
    return InceptionV4(num_classes=num_classes, in_chans=in_channels, drop_rate=drop_rate)
