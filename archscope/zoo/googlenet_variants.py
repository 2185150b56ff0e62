"""GoogLeNet (Inception v1) as the 2014 paper publishes it, and as torchvision ships it.

- ``googlenet-paper``: "Going deeper with convolutions" (Szegedy et al. 2014), Table 1, Figure 3 and
  section 5. The paper names no modules; this one uses torchvision's attribute names (``conv1``,
  ``maxpool1``, ``conv2``, ``conv3``, ``inception3a.branch2.1.conv``, ...) plus ``norm1``/``norm2``
  for the LRN layers, so that a diff against ``googlenet-torchvision`` lines up module for module.
- ``googlenet-torchvision``: layer for layer ``torchvision.models.googlenet`` (class and attribute
  names included), so torchvision's ``state_dict`` loads strictly, with or without the aux heads.

The channel table (Table 1's columns) is shared with the articles' GoogLeNets in ``googlenet.py``.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from archscope.errors import UsageError
from archscope.zoo.googlenet import INCEPTION_TABLE, Inception

# LocalResponseNorm of the paper's Figure 3 ("LocalRespNorm" after pool1 and after conv 3x3). The paper
# gives no constants; these are the released Caffe model's (BVLC bvlc_googlenet: local_size 5,
# alpha 1e-4, beta 0.75, k 1 by default) -- 000's article uses k = 2, AlexNet's.
PAPER_LRN = {"size": 5, "alpha": 1e-4, "beta": 0.75, "k": 1.0}
# torchvision's input transform: ImageNet mean/std normalisation undone into the [-1, 1] scaling its
# ported TensorFlow weights expect (channel: (std / 0.5, (mean - 0.5) / 0.5)).
TORCHVISION_TRANSFORM = (
    (0.229 / 0.5, (0.485 - 0.5) / 0.5),
    (0.224 / 0.5, (0.456 - 0.5) / 0.5),
    (0.225 / 0.5, (0.406 - 0.5) / 0.5),
)


def transform_input(x: torch.Tensor) -> torch.Tensor:
    """torchvision's ``transform_input=True``: each RGB channel rescaled by TORCHVISION_TRANSFORM."""
    channels = [torch.unsqueeze(x[:, c], 1) * scale + shift for c, (scale, shift) in enumerate(TORCHVISION_TRANSFORM)]
    return torch.cat(channels, 1)


def init_like_torchvision(model: nn.Module, std=lambda module: 0.01) -> None:
    """torchvision's init for its GoogLeNet and Inception3: truncated normal (cut at ±2, absolute)
    for conv and linear weights with ``std(module)``, BatchNorm weight 1 and bias 0; biases keep
    PyTorch's default."""
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.trunc_normal_(module.weight, mean=0.0, std=std(module), a=-2, b=2)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.constant_(module.weight, 1)
            nn.init.constant_(module.bias, 0)


# ---- "Going deeper with convolutions" (2014): convolutions with bias and ReLU, LRN, no batch norm.


class ConvReLU(nn.Module):
    """The paper's convolution: bias, then ReLU ("All the convolutions ... use rectified linear activation")."""

    def __init__(self, in_channels: int, out_channels: int, **conv_options) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, **conv_options)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.conv(x))


class InceptionModule(Inception):
    """Figure 2(b), the shared block built from the paper's conv + bias + ReLU units."""

    def __init__(self, *channels: int) -> None:
        super().__init__(*channels, conv_block=ConvReLU)


class AuxiliaryClassifier(nn.Module):
    """Section 5: 5x5/3 average pool (14x14 → 4x4), 1x1 conv 128 + ReLU, FC 1024 + ReLU, dropout 70%,
    linear + softmax. The fixed pool needs the 14x14 map of a 224x224 input."""

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.avgpool = nn.AvgPool2d(kernel_size=5, stride=3)
        self.conv = ConvReLU(in_channels, 128, kernel_size=1)
        self.fc1 = nn.Linear(128 * 4 * 4, 1024)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(0.7)
        self.fc2 = nn.Linear(1024, num_classes)
        self.softmax = nn.Softmax(dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(self.conv(self.avgpool(x)), 1)
        x = self.dropout(self.relu(self.fc1(x)))
        return self.softmax(self.fc2(x))


class GoogLeNetPaper(nn.Module):
    """Table 1 row by row; returns softmax probabilities ``(out, aux1, aux2)``, or ``out`` alone
    when built with ``aux_logits=False`` (the paper removes the auxiliary heads at inference).

    Max pools are 3x3/2 with ``ceil_mode``: the "S" (same) padding of Figure 3 for stride 2, which
    pads only at the end, as the released Caffe model rounds up; 224 → 112 → 56 → 28 → 14 → 7.
    The final average pool is a fixed 7x7/1, so the network takes 224x224 inputs only.
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, aux_logits: bool = True) -> None:
        super().__init__()
        self.conv1 = ConvReLU(in_channels, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.norm1 = nn.LocalResponseNorm(**PAPER_LRN)
        self.conv2 = ConvReLU(64, 64, kernel_size=1)  # Table 1's "#3x3 reduce" of the depth-2 convolution row
        self.conv3 = ConvReLU(64, 192, kernel_size=3, padding=1)
        self.norm2 = nn.LocalResponseNorm(**PAPER_LRN)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = InceptionModule(*INCEPTION_TABLE["inception3a"])
        self.inception3b = InceptionModule(*INCEPTION_TABLE["inception3b"])
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = InceptionModule(*INCEPTION_TABLE["inception4a"])
        self.inception4b = InceptionModule(*INCEPTION_TABLE["inception4b"])
        self.inception4c = InceptionModule(*INCEPTION_TABLE["inception4c"])
        self.inception4d = InceptionModule(*INCEPTION_TABLE["inception4d"])
        self.inception4e = InceptionModule(*INCEPTION_TABLE["inception4e"])
        self.maxpool4 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception5a = InceptionModule(*INCEPTION_TABLE["inception5a"])
        self.inception5b = InceptionModule(*INCEPTION_TABLE["inception5b"])
        self.avgpool = nn.AvgPool2d(7, stride=1)
        self.dropout = nn.Dropout(0.4)
        self.fc = nn.Linear(1024, num_classes)
        self.softmax = nn.Softmax(dim=1)
        self.aux1 = AuxiliaryClassifier(INCEPTION_TABLE["inception4b"][0], num_classes) if aux_logits else None
        self.aux2 = AuxiliaryClassifier(INCEPTION_TABLE["inception4e"][0], num_classes) if aux_logits else None

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.norm1(self.maxpool1(self.conv1(x)))
        x = self.maxpool2(self.norm2(self.conv3(self.conv2(x))))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        aux1 = self.aux1(x) if self.aux1 is not None else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if self.aux2 is not None else None
        x = self.maxpool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        x = self.softmax(self.fc(self.dropout(torch.flatten(self.avgpool(x), 1))))
        return x if aux1 is None else (x, aux1, aux2)


# ---- torchvision.models.googlenet: conv (no bias) + BatchNorm(eps 0.001) + ReLU, 3x3 in the "5x5" branch.


class GoogLeNetOutputs(NamedTuple):
    """torchvision's training-mode result, field names as it spells them."""

    logits: torch.Tensor
    aux_logits2: torch.Tensor | None
    aux_logits1: torch.Tensor | None


class BasicConv2d(nn.Module):
    """torchvision's unit: convolution without bias, BatchNorm (eps 0.001), ReLU (functional)."""

    def __init__(self, in_channels: int, out_channels: int, **conv_options) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **conv_options)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)), inplace=True)


class Inception(nn.Module):
    """torchvision's Inception: the third branch has a 3x3 where the paper has a 5x5 (torchvision
    issue #906, kept for the released weights); the pool branch's max pool has ``ceil_mode``."""

    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj) -> None:
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(
            BasicConv2d(in_channels, ch3x3red, kernel_size=1),
            BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1),
        )
        self.branch3 = nn.Sequential(
            BasicConv2d(in_channels, ch5x5red, kernel_size=1),
            BasicConv2d(ch5x5red, ch5x5, kernel_size=3, padding=1),  # 3x3, not the paper's 5x5
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
            BasicConv2d(in_channels, pool_proj, kernel_size=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = (self.branch1, self.branch2, self.branch3, self.branch4)
        return torch.cat([branch(x) for branch in branches], 1)


class InceptionAux(nn.Module):
    """torchvision's auxiliary head: adaptive 4x4 average pool (functional), 1x1 BasicConv2d to 128,
    fc1 2048→1024 + ReLU, dropout, fc2. No softmax: it returns logits."""

    def __init__(self, in_channels: int, num_classes: int, dropout: float = 0.7) -> None:
        super().__init__()
        self.conv = BasicConv2d(in_channels, 128, kernel_size=1)
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(self.conv(F.adaptive_avg_pool2d(x, (4, 4))), 1)
        x = self.dropout(F.relu(self.fc1(x), inplace=True))
        return self.fc2(x)


class GoogLeNet(nn.Module):
    """torchvision's GoogLeNet. In eval mode ``forward`` returns the logits; in training mode with
    aux heads it returns ``GoogLeNetOutputs`` -- and, as in torchvision, whose ``_forward`` and
    ``forward`` each swap the two aux results once, its ``aux_logits2`` field holds the head on
    inception 4a (``aux1``) and ``aux_logits1`` the head on 4d (``aux2``).

    ``in_channels`` is the zoo's option (torchvision fixes 3); ``maxpool4`` is 2x2/2 as torchvision has it.
    """

    def __init__(self, num_classes: int = 1000, aux_logits: bool = True, transform_input: bool = False,
                 init_weights: bool = True, dropout: float = 0.2, dropout_aux: float = 0.7,
                 in_channels: int = 3) -> None:
        super().__init__()
        if transform_input and in_channels != 3:
            raise UsageError(f"transform_input normalises 3 RGB channels; in_channels is {in_channels}")
        self.aux_logits = aux_logits
        self.transform_input = transform_input
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
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = Inception(*INCEPTION_TABLE["inception5a"])
        self.inception5b = Inception(*INCEPTION_TABLE["inception5b"])
        if aux_logits:
            self.aux1 = InceptionAux(INCEPTION_TABLE["inception4b"][0], num_classes, dropout=dropout_aux)
            self.aux2 = InceptionAux(INCEPTION_TABLE["inception4e"][0], num_classes, dropout=dropout_aux)
        else:
            self.aux1 = None
            self.aux2 = None
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(1024, num_classes)
        if init_weights:
            init_like_torchvision(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor | GoogLeNetOutputs:
        x = transform_input(x) if self.transform_input else x
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        aux1 = self.aux1(x) if self.aux1 is not None and self.training else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if self.aux2 is not None and self.training else None
        x = self.maxpool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        x = self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))
        if self.training and self.aux_logits:
            return GoogLeNetOutputs(x, aux1, aux2)  # torchvision's order: aux1's output under "aux_logits2"
        return x


def googlenet_paper(num_classes: int = 1000, in_channels: int = 3, aux_logits: bool = True) -> GoogLeNetPaper:
    return GoogLeNetPaper(num_classes=num_classes, in_channels=in_channels, aux_logits=aux_logits)


def googlenet_torchvision(num_classes: int = 1000, aux_logits: bool = True, transform_input: bool = False,
                          init_weights: bool = True, dropout: float = 0.2, dropout_aux: float = 0.7,
                          in_channels: int = 3) -> GoogLeNet:
    return GoogLeNet(num_classes=num_classes, aux_logits=aux_logits, transform_input=transform_input,
                     init_weights=init_weights, dropout=dropout, dropout_aux=dropout_aux, in_channels=in_channels)
