"""Inception-v3 ("Rethinking the Inception Architecture for Computer Vision", Szegedy et al., 2015),
layer for layer as ``torchvision.models.inception_v3`` builds it, module names included, so that
torchvision's ``state_dict`` loads strictly with and without the auxiliary head.

The paper's ideas, block by block: InceptionA replaces the 5×5 of GoogLeNet by two 3×3 (its
Figure 5, which draws 1×1 → 3×3 beside them where torchvision, as the released TF model, has
1×1 → 5×5), InceptionC factorizes n×n into 1×n and n×1 (Figure 6, n = 7), InceptionE expands the
3×3 into parallel 1×3 and 3×1 (Figure 7), InceptionB and InceptionD reduce the grid by a strided
convolution beside a max pool (Figure 10), and the auxiliary head is batch-normalized, which section 4 credits with its
regularizing effect (the paper's "BN-auxiliary" of section 10 normalizes its fully connected layer
too; torchvision's, the released TF model's, normalizes the two convolutions only).

Every block runs its branches in torchvision's order (1×1 first, pool branch last), so a report's
layer rows, and the layer an impossible input fails in, are the ones torchvision's model gives.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from archscope.errors import UsageError
from archscope.zoo.googlenet_variants import BasicConv2d, init_like_torchvision, transform_input

# The stem: (name, output channels, conv options), a max pool 3×3/2 where the channels are None.
# Table 1 of the paper differs after maxpool1: conv 3×3 to 80, conv 3×3/2 to 192, conv 3×3 to 288;
# torchvision (the released model) has a 1×1 to 80, a 3×3 to 192 and a max pool: 35×35×192.
STEM = [
    ("Conv2d_1a_3x3", 32, {"kernel_size": 3, "stride": 2}),
    ("Conv2d_2a_3x3", 32, {"kernel_size": 3}),
    ("Conv2d_2b_3x3", 64, {"kernel_size": 3, "padding": 1}),
    ("maxpool1", None, None),
    ("Conv2d_3b_1x1", 80, {"kernel_size": 1}),
    ("Conv2d_4a_3x3", 192, {"kernel_size": 3}),
    ("maxpool2", None, None),
]
# The mixed blocks: (name, block, input channels, block option). Output channels: A 224 + pool
# features, B in + 480, C 768, D in + 512, E 2048.
MIXED = [
    ("Mixed_5b", "A", 192, 32),  # pool_features
    ("Mixed_5c", "A", 256, 64),
    ("Mixed_5d", "A", 288, 64),
    ("Mixed_6a", "B", 288, None),
    ("Mixed_6b", "C", 768, 128),  # channels_7x7
    ("Mixed_6c", "C", 768, 160),
    ("Mixed_6d", "C", 768, 160),
    ("Mixed_6e", "C", 768, 192),
    ("Mixed_7a", "D", 768, None),
    ("Mixed_7b", "E", 1280, None),
    ("Mixed_7c", "E", 2048, None),
]
AUX_AFTER = "Mixed_6e"  # the auxiliary head reads the 17×17×768 grid


class InceptionOutputs(NamedTuple):
    """torchvision's training-mode result when the auxiliary head is built."""

    logits: torch.Tensor
    aux_logits: torch.Tensor | None


def _pooled(x: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1)


class InceptionA(nn.Module):
    """35×35 block: 1×1 | 1×1 → 5×5 | 1×1 → 3×3 → 3×3 | avg pool → 1×1 (pool_features)."""

    def __init__(self, in_channels: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch5x5_1 = BasicConv2d(in_channels, 48, kernel_size=1)
        self.branch5x5_2 = BasicConv2d(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(in_channels, pool_features, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch1x1 = self.branch1x1(x)
        branch5x5 = self.branch5x5_2(self.branch5x5_1(x))
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([branch1x1, branch5x5, branch3x3dbl, self.branch_pool(_pooled(x))], 1)


class InceptionB(nn.Module):
    """Grid reduction 35 → 17: 3×3/2 | 1×1 → 3×3 → 3×3/2 | max pool 3×3/2."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch3x3 = BasicConv2d(in_channels, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch3x3 = self.branch3x3(x)
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([branch3x3, branch3x3dbl, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class InceptionC(nn.Module):
    """17×17 block, 7×7 factorized: 1×1 | 1×1 → 1×7 → 7×1 | 1×1 → (7×1 → 1×7) × 2 | avg pool → 1×1."""

    def __init__(self, in_channels: int, channels_7x7: int) -> None:
        super().__init__()
        c7 = channels_7x7
        row, column = {"kernel_size": (1, 7), "padding": (0, 3)}, {"kernel_size": (7, 1), "padding": (3, 0)}
        self.branch1x1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch7x7_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, **row)
        self.branch7x7_3 = BasicConv2d(c7, 192, **column)
        self.branch7x7dbl_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, **column)
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, **row)
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, **column)
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, **row)
        self.branch_pool = BasicConv2d(in_channels, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch1x1 = self.branch1x1(x)
        branch7x7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        branch7x7dbl = x
        for index in range(1, 6):
            branch7x7dbl = getattr(self, f"branch7x7dbl_{index}")(branch7x7dbl)
        return torch.cat([branch1x1, branch7x7, branch7x7dbl, self.branch_pool(_pooled(x))], 1)


class InceptionD(nn.Module):
    """Grid reduction 17 → 8: 1×1 → 3×3/2 | 1×1 → 1×7 → 7×1 → 3×3/2 | max pool 3×3/2."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch3x3_1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch3x3_2 = BasicConv2d(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch3x3 = self.branch3x3_2(self.branch3x3_1(x))
        branch7x7x3 = x
        for index in range(1, 5):
            branch7x7x3 = getattr(self, f"branch7x7x3_{index}")(branch7x7x3)
        return torch.cat([branch3x3, branch7x7x3, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class InceptionE(nn.Module):
    """8×8 block, expanded: 1×1 | 1×1 → (1×3, 3×1) | 1×1 → 3×3 → (1×3, 3×1) | avg pool → 1×1."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        row, column = {"kernel_size": (1, 3), "padding": (0, 1)}, {"kernel_size": (3, 1), "padding": (1, 0)}
        self.branch1x1 = BasicConv2d(in_channels, 320, kernel_size=1)
        self.branch3x3_1 = BasicConv2d(in_channels, 384, kernel_size=1)
        self.branch3x3_2a = BasicConv2d(384, 384, **row)
        self.branch3x3_2b = BasicConv2d(384, 384, **column)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 448, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, **row)
        self.branch3x3dbl_3b = BasicConv2d(384, 384, **column)
        self.branch_pool = BasicConv2d(in_channels, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch1x1 = self.branch1x1(x)
        branch3x3 = self.branch3x3_1(x)
        branch3x3 = torch.cat([self.branch3x3_2a(branch3x3), self.branch3x3_2b(branch3x3)], 1)
        branch3x3dbl = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        branch3x3dbl = torch.cat([self.branch3x3dbl_3a(branch3x3dbl), self.branch3x3dbl_3b(branch3x3dbl)], 1)
        return torch.cat([branch1x1, branch3x3, branch3x3dbl, self.branch_pool(_pooled(x))], 1)


class InceptionAux(nn.Module):
    """5×5/3 avg pool (17×17 → 5×5), 1×1 conv 128 and 5×5 conv 768 with batch norm, global avg pool,
    fc with bias and no batch norm (the paper's BN-auxiliary normalizes the fc as well)."""

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.conv0 = BasicConv2d(in_channels, 128, kernel_size=1)
        self.conv1 = BasicConv2d(128, 768, kernel_size=5)
        self.fc = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(self.conv0(F.avg_pool2d(x, kernel_size=5, stride=3)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, (1, 1)), 1))


BLOCKS = {"A": InceptionA, "B": InceptionB, "C": InceptionC, "D": InceptionD, "E": InceptionE}


class Inception3(nn.Module):
    """torchvision's Inception3. In eval mode ``forward`` returns the logits; in training mode with
    the auxiliary head it returns ``InceptionOutputs(logits, aux_logits)`` (the head runs only then).
    ``dropout`` defaults to torchvision's 0.5 (TF-slim's inception_v3 keeps 0.8, i.e. drops 0.2);
    ``in_channels`` is the zoo's option (torchvision fixes 3)."""

    def __init__(self, num_classes: int = 1000, aux_logits: bool = True, transform_input: bool = False,
                 init_weights: bool = True, dropout: float = 0.5, in_channels: int = 3) -> None:
        super().__init__()
        if transform_input and in_channels != 3:
            raise UsageError(f"transform_input normalises 3 RGB channels; in_channels is {in_channels}")
        self.aux_logits = aux_logits
        self.transform_input = transform_input
        channels = in_channels
        for name, out, options in STEM:
            if out is None:
                setattr(self, name, nn.MaxPool2d(kernel_size=3, stride=2))
            else:
                setattr(self, name, BasicConv2d(channels, out, **options))
                channels = out
        for name, kind, in_block, option in MIXED:
            setattr(self, name, BLOCKS[kind](in_block, option) if option is not None else BLOCKS[kind](in_block))
            if name == AUX_AFTER:
                self.AuxLogits = InceptionAux(768, num_classes) if aux_logits else None
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(2048, num_classes)
        if init_weights:
            # std 0.1 except the aux head's fc (0.001); torchvision also sets stddev 0.01 on the aux
            # head's conv1, but on the BasicConv2d wrapper, and its loop reads it only from Conv2d/Linear
            aux_fc = self.AuxLogits.fc if self.AuxLogits is not None else None
            init_like_torchvision(self, std=lambda module: 0.001 if module is aux_fc else 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor | InceptionOutputs:
        x = transform_input(x) if self.transform_input else x
        aux = None
        for name, *_ in STEM + MIXED:
            x = getattr(self, name)(x)
            if name == AUX_AFTER and self.AuxLogits is not None and self.training:
                aux = self.AuxLogits(x)
        x = torch.flatten(self.dropout(self.avgpool(x)), 1)
        x = self.fc(x)
        if self.training and self.aux_logits:
            return InceptionOutputs(x, aux)
        return x


def inception_v3(num_classes: int = 1000, aux_logits: bool = True, transform_input: bool = False,
                 init_weights: bool = True, dropout: float = 0.5, in_channels: int = 3) -> Inception3:
    return Inception3(num_classes=num_classes, aux_logits=aux_logits, transform_input=transform_input,
                      init_weights=init_weights, dropout=dropout, in_channels=in_channels)
