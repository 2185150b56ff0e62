"""GoogLeNet (Inception v1) as the articles build it: 003's BatchNorm variant and 000's LRN variant.

The channel table is the 2014 paper's Table 1, shared by every GoogLeNet of the zoo. Each article's
class and attribute names are kept, misspellings included, so the traced layer tree lines up row for
row with what the article prints and a state_dict saved from the article's code loads:

- ``googlenet`` (003_b3c5f7bfde2fbe5b.txt): ``BasicConv2d`` units of conv (no bias) + BatchNorm +
  ReLU, ``Inception``, ``AuxClf``, ``GoogLeNet``; a ``Sequential`` inside every conv unit.
- ``googlenet-naive``: 003's network with every Inception block replaced by the naive module of the
  2014 paper's Figure 2(a) (``NaiveInception``, ``NaiveGoogLeNet``) -- the counterfactual the paper's
  1x1-reduction argument rests on. Not an article's code; its names follow 003's.
- ``googlenet-lrn`` (000_92d44c13b3888968.txt): ``ConvReLU`` units of conv (bias) + ReLU,
  ``LocalResponseNorm`` in the stem, ``InceptionModule``, ``AuxClassifier``, and the article's
  ``GooLeNet`` with its ``aux_classfier1``/``aux_classfier2``.

The paper's own network and torchvision's are in ``googlenet_variants.py``.
"""

from __future__ import annotations

import torch
from torch import nn

from archscope.errors import UsageError

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


def naive_table(table: dict[str, tuple[int, ...]]) -> dict[str, tuple[int, int, int, int]]:
    """name: (in, #1x1, #3x3, #5x5) of Figure 2(a)'s naive blocks at ``table``'s widths.

    The reduce and pool-proj columns go; the pool branch passes its input through, so each block
    gives in + #1x1 + #3x3 + #5x5 channels and the next block's input grows by that much (the
    max pools between stages keep channels).
    """
    rows, channels = {}, next(iter(table.values()))[0]
    for name, (_, ch1x1, _, ch3x3, _, ch5x5, _) in table.items():
        rows[name] = (channels, ch1x1, ch3x3, ch5x5)
        channels += ch1x1 + ch3x3 + ch5x5
    return rows


# name: (in, #1x1, #3x3, #5x5) -- INCEPTION_TABLE's widths, inputs grown by the naive pool branch
NAIVE_TABLE = naive_table(INCEPTION_TABLE)


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
    """Four parallel branches concatenated on channels: 1x1; 1x1→3x3; 1x1→5x5; 3x3 max-pool→1x1.

    ``conv_block`` is the unit every convolution is built from (as in timm): the GoogLeNets of the
    zoo share this block and differ in their unit.
    """

    def __init__(self, in_channels, ch1x1, ch3x3_reduce, ch3x3, ch5x5_reduce, ch5x5, pool_proj,
                 conv_block=BasicConv2d) -> None:
        super().__init__()
        self.branch1 = conv_block(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(
            conv_block(in_channels, ch3x3_reduce, kernel_size=1),
            conv_block(ch3x3_reduce, ch3x3, kernel_size=3, padding=1),
        )
        self.branch3 = nn.Sequential(
            conv_block(in_channels, ch5x5_reduce, kernel_size=1),
            conv_block(ch5x5_reduce, ch5x5, kernel_size=5, padding=2),
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1),
            conv_block(in_channels, pool_proj, kernel_size=1),
        )

    @staticmethod
    def out_channels(in_channels, ch1x1, ch3x3_reduce, ch3x3, ch5x5_reduce, ch5x5, pool_proj) -> int:
        return ch1x1 + ch3x3 + ch5x5 + pool_proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = (self.branch1, self.branch2, self.branch3, self.branch4)
        return torch.cat([branch(x) for branch in branches], dim=1)


class NaiveInception(nn.Module):
    """Figure 2(a) of the 2014 paper, built from ``conv_block`` units: 1x1, 3x3 and 5x5 convolutions
    of the whole input and a 3x3/1 max pool of it, concatenated on channels.

    The pool branch has no projection, so the block is wider than its input (in + #1x1 + #3x3 + #5x5)
    and the 3x3 and 5x5 see every input channel. Branch names are ``Inception``'s, so the two line up
    in a diff. (``blocks.InceptionNaive`` is the same module with the paper's conv + bias + ReLU unit
    fixed in.)
    """

    def __init__(self, in_channels, ch1x1, ch3x3, ch5x5, conv_block=BasicConv2d) -> None:
        super().__init__()
        self.branch1 = conv_block(in_channels, ch1x1, kernel_size=1)
        self.branch2 = conv_block(in_channels, ch3x3, kernel_size=3, padding=1)
        self.branch3 = conv_block(in_channels, ch5x5, kernel_size=5, padding=2)
        self.branch4 = nn.MaxPool2d(kernel_size=3, stride=1, padding=1)

    @staticmethod
    def out_channels(in_channels, ch1x1, ch3x3, ch5x5) -> int:
        return in_channels + ch1x1 + ch3x3 + ch5x5

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
    """GoogLeNet with BatchNorm; ``forward`` returns ``(logits, aux1, aux2)`` in train and eval alike.

    With ``aux_logits=False`` the two auxiliary heads are not built and ``forward`` returns the
    logits alone (the article always builds them; the option is the zoo's).

    ``block`` and ``table`` are the Inception block class and its rows (name: the block's arguments);
    subclasses swap them (``NaiveGoogLeNet``). The aux heads take the input width of 4b and 4e (the
    output of 4a and 4d) and the fc the output width of 5b, read from the table.
    """

    block = Inception
    table = INCEPTION_TABLE

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, aux_logits: bool = True) -> None:
        super().__init__()
        self.conv1 = BasicConv2d(in_channels, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        block, table = self.block, self.table
        self.inception3a = block(*table["inception3a"])
        self.inception3b = block(*table["inception3b"])
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = block(*table["inception4a"])
        self.inception4b = block(*table["inception4b"])
        self.inception4c = block(*table["inception4c"])
        self.inception4d = block(*table["inception4d"])
        self.inception4e = block(*table["inception4e"])
        self.maxpool4 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception5a = block(*table["inception5a"])
        self.inception5b = block(*table["inception5b"])
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(0.4)
        self.fc = nn.Linear(block.out_channels(*table["inception5b"]), num_classes)  # 1024; naive 4944
        self.aux1 = AuxClf(table["inception4b"][0], num_classes) if aux_logits else None
        self.aux2 = AuxClf(table["inception4e"][0], num_classes) if aux_logits else None

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        aux1 = self.aux1(x) if self.aux1 is not None else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if self.aux2 is not None else None
        x = self.maxpool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        x = self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))
        return x if aux1 is None else (x, aux1, aux2)


class NaiveGoogLeNet(GoogLeNet):
    """003's GoogLeNet with ``NaiveInception`` blocks (Figure 2(a)): stem, pools, aux heads, avgpool,
    dropout and fc as in ``GoogLeNet``, their widths following the naive blocks' growing channels
    (aux heads on 1280 and 2640 channels, fc from 4944). Same module names, same ``forward``."""

    block = NaiveInception
    table = NAIVE_TABLE


# ---- 000_92d44c13b3888968.txt: conv (bias) + ReLU units, LocalResponseNorm, softmax on every head.


class ConvReLU(nn.Module):
    """000's unit: convolution with bias, then ReLU, inside a ``Sequential`` named ``conv``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, kernel_size=kernel_size, stride=stride, padding=padding, bias=True),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class InceptionModule(Inception):
    """000's Inception module: the shared block built from 000's conv + bias + ReLU units."""

    def __init__(self, *channels: int) -> None:
        super().__init__(*channels, conv_block=ConvReLU)


class AuxClassifier(nn.Module):
    """000's auxiliary head: adaptive 4x4 average pool, 1x1 conv to 128, FC 2048→1024 + ReLU,
    dropout 0.7, FC, softmax. The adaptive pool takes any map size, unlike the paper's 5x5/3."""

    def __init__(self, in_channels: int, n_classes: int) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(4)
        self.conv = ConvReLU(in_channels, 128, kernel_size=1, stride=1, padding=0)
        self.fc1 = nn.Sequential(nn.Linear(128 * 4 * 4, 1024, bias=True), nn.ReLU(inplace=True))
        self.dropout = nn.Dropout(p=0.7)
        self.fc2 = nn.Linear(1024, n_classes, bias=True)
        self.softmax = nn.Softmax(dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(self.avgpool(x))
        x = self.fc2(self.dropout(self.fc1(torch.flatten(x, 1))))
        return self.softmax(x)


class GooLeNet(nn.Module):  # the article's spelling of the class name
    """000's network: returns ``(out, aux1, aux2)``, each a softmax over the classes, in train and eval.

    One ``maxpool`` module (3x3/2, padding 1) serves all four reductions, as in the article: the layer
    table shows it as four calls of ``maxpool``. ``aux_logits=False`` (the zoo's option) leaves the
    auxiliary heads out and returns ``out`` alone.
    """

    def __init__(self, in_channels: int, n_classes: int, aux_logits: bool = True) -> None:
        super().__init__()
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.avgpool = nn.AdaptiveAvgPool2d(output_size=1)
        self.conv1 = nn.Sequential(
            ConvReLU(in_channels, 64, kernel_size=7, stride=2, padding=3),
            nn.LocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=2),
        )
        self.conv2 = nn.Sequential(
            ConvReLU(64, 64, kernel_size=1, stride=1, padding=0),
            ConvReLU(64, 192, kernel_size=3, stride=1, padding=1),
            nn.LocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=2),
        )
        for name, row in INCEPTION_TABLE.items():
            setattr(self, name, InceptionModule(*row))
        self.dropout = nn.Dropout(p=0.4)
        self.fc = nn.Linear(1024, n_classes, bias=True)
        self.softmax = nn.Softmax(dim=-1)
        # (sic) "classfier": the article's attribute names, so its state_dict keys load unchanged
        self.aux_classfier1 = AuxClassifier(INCEPTION_TABLE["inception4b"][0], n_classes) if aux_logits else None
        self.aux_classfier2 = AuxClassifier(INCEPTION_TABLE["inception4e"][0], n_classes) if aux_logits else None

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.maxpool(self.conv1(x))
        x = self.maxpool(self.conv2(x))
        x = self.maxpool(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        aux1 = self.aux_classfier1(x) if self.aux_classfier1 is not None else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux_classfier2(x) if self.aux_classfier2 is not None else None
        x = self.maxpool(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        x = self.dropout(torch.flatten(self.avgpool(x), 1))
        x = self.softmax(self.fc(x))
        return x if aux1 is None else (x, aux1, aux2)


def googlenet(num_classes: int = 1000, in_channels: int = 3, aux_logits: bool = True) -> GoogLeNet:
    return GoogLeNet(num_classes=num_classes, in_channels=in_channels, aux_logits=aux_logits)


def googlenet_naive(num_classes: int = 1000, in_channels: int = 3, aux_logits: bool = True) -> NaiveGoogLeNet:
    return NaiveGoogLeNet(num_classes=num_classes, in_channels=in_channels, aux_logits=aux_logits)


def googlenet_lrn(in_channels: int = 3, n_classes: int | None = None, num_classes: int | None = None,
                  aux_logits: bool = True) -> GooLeNet:
    """000's GooLeNet; ``n_classes`` is the article's name for the zoo's ``num_classes`` (give either)."""
    if n_classes is not None and num_classes is not None and n_classes != num_classes:
        raise UsageError(f"n_classes={n_classes} and num_classes={num_classes} disagree; they are one option, give one")
    classes = next((n for n in (n_classes, num_classes) if n is not None), 1000)
    return GooLeNet(in_channels=in_channels, n_classes=classes, aux_logits=aux_logits)
