"""Inception-ResNet-v2 (Szegedy et al., 2016), layer for layer as timm 1.0 builds
``inception_resnet_v2`` from the released TF-slim model, module names included, so a timm checkpoint
loads strictly. How it differs from the paper's Figure 15 is in the catalog entry.

A residual block concatenates its branches, projects them back to the input width with a 1×1
convolution (bias, no batch norm), scales the result and adds the input: ``relu(x + scale · f(x))``.
"""

from __future__ import annotations

import torch
from torch import nn

from archscope.zoo.inception_v4 import Branches, ConvNormAct, SelectAdaptivePool2d

# Stem as TF-slim has it (Inception-v3's): (name, conv (in, out, kernel, stride, padding) or a pool).
STEM = [
    ("conv2d_1a", (None, 32, 3, 2, 0)),  # in: the model's in_channels
    ("conv2d_2a", (32, 32, 3, 1, 0)),
    ("conv2d_2b", (32, 64, 3, 1, 1)),
    ("maxpool_3a", "max"),
    ("conv2d_3b", (64, 80, 1, 1, 0)),
    ("conv2d_4a", (80, 192, 3, 1, 0)),
    ("maxpool_5a", "max"),
]
MIXED_5B = [  # 35×35: 96 + 64 + 96 + 64 = 320 channels
    [(192, 96, 1, 1, 0)],
    [(192, 48, 1, 1, 0), (48, 64, 5, 1, 2)],
    [(192, 64, 1, 1, 0), (64, 96, 3, 1, 1), (96, 96, 3, 1, 1)],
    ["avg", (192, 64, 1, 1, 0)],
]
BLOCK35 = [  # Inception-ResNet-A: 32 + 32 + 64 = 128, projected back to 320
    [(320, 32, 1, 1, 0)],
    [(320, 32, 1, 1, 0), (32, 32, 3, 1, 1)],
    [(320, 32, 1, 1, 0), (32, 48, 3, 1, 1), (48, 64, 3, 1, 1)],
]
MIXED_6A = [  # Reduction-A, k, l, m, n = 256, 256, 384, 384: 384 + 384 + 320 = 1088
    (320, 384, 3, 2, 0),
    [(320, 256, 1, 1, 0), (256, 256, 3, 1, 1), (256, 384, 3, 2, 0)],
    "max",
]
BLOCK17 = [  # Inception-ResNet-B: 192 + 192 = 384, projected back to 1088
    [(1088, 192, 1, 1, 0)],
    [(1088, 128, 1, 1, 0), (128, 160, (1, 7), 1, (0, 3)), (160, 192, (7, 1), 1, (3, 0))],
]
MIXED_7A = [  # Reduction-B: 384 + 288 + 320 + 1088 = 2080
    [(1088, 256, 1, 1, 0), (256, 384, 3, 2, 0)],
    [(1088, 256, 1, 1, 0), (256, 288, 3, 2, 0)],
    [(1088, 256, 1, 1, 0), (256, 288, 3, 1, 1), (288, 320, 3, 2, 0)],
    "max",
]
BLOCK8 = [  # Inception-ResNet-C: 192 + 256 = 448, projected back to 2080
    [(2080, 192, 1, 1, 0)],
    [(2080, 192, 1, 1, 0), (192, 224, (1, 3), 1, (0, 1)), (224, 256, (3, 1), 1, (1, 0))],
]
# (name of the nn.Sequential, block branches, width, scale, repeats) as TF-slim and timm have them
RESIDUAL_STAGES = [("repeat", BLOCK35, 320, 0.17, 10), ("repeat_1", BLOCK17, 1088, 0.10, 20),
                   ("repeat_2", BLOCK8, 2080, 0.20, 9)]


class Residual(Branches):
    """``act(x + scale · conv2d(cat(branches(x))))``; the activation is named ``act`` as in timm's
    Block35 and Block17, ``relu`` in its Block8, and is absent from the last Block8."""

    def __init__(self, branches: list, width: int, scale: float, activation: str | None = "act") -> None:
        super().__init__(branches)
        self.scale = scale
        self.conv2d = nn.Conv2d(sum(_out(spec) for spec in branches), width, kernel_size=1)
        self.activation = activation
        if activation:
            self.add_module(activation, nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = [module(x) for name, module in self.named_children() if name.startswith("branch")]
        out = self.conv2d(torch.cat(branches, 1)) * self.scale + x
        return getattr(self, self.activation)(out) if self.activation else out


def _out(spec) -> int:
    """Output channels of a branch spec: its last convolution's."""
    last = spec if isinstance(spec, tuple) else spec[-1]
    return last[1]


class Block35(Residual):
    def __init__(self) -> None:
        super().__init__(BLOCK35, 320, 0.17)


class Block17(Residual):
    def __init__(self) -> None:
        super().__init__(BLOCK17, 1088, 0.10)


class Block8(Residual):
    def __init__(self, scale: float = 1.0, no_relu: bool = False) -> None:
        super().__init__(BLOCK8, 2080, scale, activation=None if no_relu else "relu")


class Mixed_5b(Branches):  # noqa: N801 -- timm's class names, as the module tree shows them
    def __init__(self) -> None:
        super().__init__(MIXED_5B)


class Mixed_6a(Branches):  # noqa: N801
    def __init__(self) -> None:
        super().__init__(MIXED_6A)


class Mixed_7a(Branches):  # noqa: N801
    def __init__(self) -> None:
        super().__init__(MIXED_7A)


class InceptionResnetV2(nn.Module):
    def __init__(self, num_classes: int = 1000, in_chans: int = 3, drop_rate: float = 0.0) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.num_features = 1536
        for name, spec in STEM:
            if isinstance(spec, str):
                self.add_module(name, nn.MaxPool2d(3, stride=2))
            else:
                self.add_module(name, ConvNormAct(spec[0] or in_chans, *spec[1:]))
        self.mixed_5b = Mixed_5b()
        self.repeat = nn.Sequential(*[Block35() for _ in range(10)])
        self.mixed_6a = Mixed_6a()
        self.repeat_1 = nn.Sequential(*[Block17() for _ in range(20)])
        self.mixed_7a = Mixed_7a()
        self.repeat_2 = nn.Sequential(*[Block8(scale=0.20) for _ in range(9)])
        self.block8 = Block8(no_relu=True)
        self.conv2d_7b = ConvNormAct(2080, self.num_features)
        self.global_pool = SelectAdaptivePool2d()
        self.head_drop = nn.Dropout(drop_rate)
        self.classif = nn.Linear(self.num_features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for module in list(self.children())[:-3]:
            x = module(x)
        return self.classif(self.head_drop(self.global_pool(x)))


def inception_resnet_v2(num_classes: int = 1000, in_channels: int = 3, drop_rate: float = 0.0) -> InceptionResnetV2:
    return InceptionResnetV2(num_classes=num_classes, in_chans=in_channels, drop_rate=drop_rate)
