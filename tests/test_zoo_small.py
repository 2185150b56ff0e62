"""The small zoo entries: 001's MNIST networks, the standalone blocks and the baselines.

Every expected number is written as arithmetic from the layer widths (``conv(192, 64, 1)`` is the
weights and bias of a 1x1 convolution 192 -> 64), or is a figure a source prints, cited where it is
used: the articles in ../shared/seeds/ (file and line), the papers' tables, torchvision's published
``num_params`` and ``_ops`` for its weights, and tests/goldens/torchvision_inception_v3.json (made
from torchvision's own code). None comes from archscope's output.
"""

import json
from pathlib import Path

import pytest
import torch

import archscope
from archscope import zoo
from archscope.errors import ForwardError

GOLDENS = Path(__file__).parent / "goldens"

MNIST = ["inception-mnist", "resnet-mnist"]
BLOCKS = [
    "inception-v1-naive-block", "inception-v1-block", "inception-v1-bn-block", "inception-v2-block",
    "inception-v3-block", "inception-v2-reduction", "inception-resnet-c", "resnet-bottleneck",
]
BASELINES = ["lenet5", "alexnet", "vgg16", "nin"]


def conv(c_in, c_out, k, bias=True):
    """Parameters of a convolution; ``k`` an int or (kh, kw)."""
    kh, kw = (k, k) if isinstance(k, int) else k
    return c_in * c_out * kh * kw + (c_out if bias else 0)


def conv_bn(c_in, c_out, k):
    """BasicConv2d: convolution without bias, BatchNorm weight and bias."""
    return conv(c_in, c_out, k, bias=False) + 2 * c_out


def linear(n_in, n_out):
    return n_in * n_out + n_out


def macs(c_in, c_out, k, h, w, n=1):
    """Mult-adds of a convolution giving an n x c_out x h x w output (bias excluded)."""
    kh, kw = (k, k) if isinstance(k, int) else k
    return n * c_out * h * w * c_in * kh * kw


def outputs(analysis):
    """{(path, call): output shapes} of an analysis's rows."""
    return {(row["path"], row["call"]): row["output_shapes"] for row in analysis.rows}


def out(analysis, path, call=0):
    shapes = outputs(analysis)[(path, call)]
    assert len(shapes) == 1, (path, shapes)
    return shapes[0]


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def test_every_entry_has_a_family_and_its_default_input():
    expected_inputs = {
        # 001 sets batch_size = 64 (001_7b7146f80fc53dc6.txt lines 67 and 168) for 1x28x28 MNIST digits.
        "inception-mnist": [(64, 1, 28, 28)], "resnet-mnist": [(64, 1, 28, 28)],
        # inception (3a) sees 28x28x192 (Szegedy et al. 2014 Table 1; Ioffe & Szegedy 2015 Figure 5).
        "inception-v1-naive-block": [(1, 192, 28, 28)], "inception-v1-block": [(1, 192, 28, 28)],
        "inception-v1-bn-block": [(1, 192, 28, 28)], "inception-v2-block": [(1, 192, 28, 28)],
        # Inception-v3's grids (Szegedy et al. 2016 Table 1): 35x35x288 before the reduction, 17x17x768 after.
        "inception-v3-block": [(1, 768, 17, 17)], "inception-v2-reduction": [(1, 288, 35, 35)],
        # 002's network: AvgPool2d(6) before its FC, 2048 channels (002 line 65).
        "inception-resnet-c": [(1, 2048, 6, 6)],
        # ResNet-50's conv2_x stage, 56x56x256 (He et al. 2016 Table 1).
        "resnet-bottleneck": [(1, 256, 56, 56)],
        "lenet5": [(1, 1, 32, 32)], "alexnet": [(1, 3, 224, 224)], "vgg16": [(1, 3, 224, 224)], "nin": [(1, 3, 224, 224)],
    }
    families = {"Small networks (001 article)": MNIST, "Blocks": BLOCKS, "Baselines": BASELINES}
    for family, names in families.items():
        for name in names:
            entry = zoo.entry(name)
            assert entry.family == family
            assert list(entry.default_input) == expected_inputs[name]


# ---- 001_7b7146f80fc53dc6.txt: the MNIST networks.


def inception_a(c_in):
    """001's InceptionA (lines 20-26): 1x1 16; 1x1 16 -> 5x5 24; 1x1 16 -> 3x3 24 -> 3x3 24; pool -> 1x1 24."""
    return (conv(c_in, 16, 1) + conv(c_in, 16, 1) + conv(16, 24, 5) + conv(c_in, 16, 1) + conv(16, 24, 3)
            + conv(24, 24, 3) + conv(c_in, 24, 1))


def inception_a_macs(c_in, hw, n):
    return n * hw * hw * (c_in * 16 + c_in * 16 + 16 * 24 * 25 + c_in * 16 + 16 * 24 * 9 + 24 * 24 * 9 + c_in * 24)


def test_inception_mnist_follows_the_articles_shape_comment():
    analysis = archscope.analyze("inception-mnist")
    # 001 line 47: "1*28*28 → 10*24*24 → 10*12*12 → 88*12*12 → 20*8*8 → 88*4*4=1408"
    assert out(analysis, "conv1") == [64, 10, 24, 24]
    assert out(analysis, "mp", 0) == [64, 10, 12, 12]
    assert out(analysis, "incep1") == [64, 16 + 24 + 24 + 24, 12, 12]
    assert out(analysis, "conv2") == [64, 20, 8, 8]
    assert out(analysis, "mp", 1) == [64, 20, 4, 4]
    assert out(analysis, "incep2") == [64, 88, 4, 4]
    fc = next(row for row in analysis.rows if row["path"] == "fc")
    assert fc["input_shapes"] == [[64, 88 * 4 * 4]] == [[64, 1408]]
    assert out(analysis, "") == [64, 10]


def test_inception_mnist_params_and_mult_adds():
    analysis = archscope.analyze("inception-mnist")
    expected = conv(1, 10, 5) + inception_a(10) + conv(88, 20, 5) + inception_a(20) + linear(1408, 10)
    assert analysis.totals["params"] == expected == zoo.entry("inception-mnist").params
    n = 64
    expected_macs = (macs(1, 10, 5, 24, 24, n) + inception_a_macs(10, 12, n) + macs(88, 20, 5, 8, 8, n)
                     + inception_a_macs(20, 4, n) + n * 1408 * 10)
    assert analysis.totals["mult_adds"] == expected_macs


def test_inception_mnist_refuses_three_channels():
    with pytest.raises(ForwardError) as caught:
        archscope.analyze("inception-mnist", (1, 3, 28, 28))
    assert caught.value.path == "conv1"
    assert "conv1" in str(caught.value) and "[1, 3, 28, 28]" in str(caught.value)


def test_inception_mnist_refuses_another_size_at_its_fc():
    # 32x32: 28 -> 14 -> 10 -> 5, so 88*5*5 = 2200 features reach an FC built for 1408.
    with pytest.raises(ForwardError) as caught:
        archscope.analyze("inception-mnist", (1, 1, 32, 32))
    assert caught.value.path == "fc" and "[1, 2200]" in str(caught.value)


def test_resnet_mnist_shapes_params_and_fixes():
    analysis = archscope.analyze("resnet-mnist")
    assert out(analysis, "conv1") == [64, 16, 24, 24]
    assert out(analysis, "rblock1") == [64, 16, 12, 12]
    assert out(analysis, "conv2") == [64, 32, 8, 8]
    # The article's rblock2 = ResidualBlock(16) (001 line 194) could not take conv2's 32 channels.
    rblock2 = next(row for row in analysis.rows if row["path"] == "rblock2")
    assert rblock2["input_shapes"] == [[64, 32, 4, 4]] and rblock2["output_shapes"] == [[64, 32, 4, 4]]
    assert out(analysis, "") == [64, 10]
    residual_block = lambda c: 2 * conv(c, c, 3)  # noqa: E731
    expected = conv(1, 16, 5) + residual_block(16) + conv(16, 32, 5) + residual_block(32) + linear(32 * 4 * 4, 10)
    assert 32 * 4 * 4 == 512  # the article's nn.Linear(512, 10), line 195
    assert analysis.totals["params"] == expected == zoo.entry("resnet-mnist").params
    # forward runs the residual blocks (the article called incep1/incep2), each block once.
    called = [row["path"] for row in analysis.rows if row["depth"] == 1]
    assert called == ["conv1", "mp", "rblock1", "conv2", "mp", "rblock2", "fc"]
    names = {name for name, _ in zoo.build("resnet-mnist", device="meta").named_modules()}
    assert {"rblock1.conv1", "rblock1.conv2", "rblock2.conv1", "rblock2.conv2"} <= names


@pytest.mark.parametrize("name", MNIST)
def test_mnist_options(name):
    model = zoo.build(name, device="meta", num_classes=7, in_channels=3)
    analysis = archscope.analyze(model, (2, 3, 28, 28))
    assert analysis.rows[0]["output_shapes"] == [[2, 7]]
    first, fc_in = (10, 1408) if name == "inception-mnist" else (16, 512)
    expected = zoo.entry(name).params + 2 * first * 25 - linear(fc_in, 10) + linear(fc_in, 7)
    assert analysis.totals["params"] == expected


# ---- Blocks.

V1_3A = (192, 64, 96, 128, 16, 32, 32)  # Szegedy et al. 2014, Table 1, inception (3a)


def v1_block(c_in, n1, r3, n3, r5, n5, pool):
    return (conv(c_in, n1, 1) + conv(c_in, r3, 1) + conv(r3, n3, 3) + conv(c_in, r5, 1) + conv(r5, n5, 5)
            + conv(c_in, pool, 1))


def v1_block_macs(c_in, n1, r3, n3, r5, n5, pool, hw=28):
    return hw * hw * (c_in * n1 + c_in * r3 + r3 * n3 * 9 + c_in * r5 + r5 * n5 * 25 + c_in * pool)


def test_naive_block_against_figure_2a():
    analysis = archscope.analyze("inception-v1-naive-block")
    assert out(analysis, "") == [1, 64 + 128 + 32 + 192, 28, 28]  # the pool branch passes 192 through
    assert out(analysis, "branch_pool") == [1, 192, 28, 28]
    assert analysis.totals["params"] == conv(192, 64, 1) + conv(192, 128, 3) + conv(192, 32, 5)
    assert analysis.totals["mult_adds"] == 28 * 28 * (192 * 64 + 192 * 128 * 9 + 192 * 32 * 25)
    # ... against the block with reductions: about 2.4x the parameters, 2.4x the mult-adds.
    assert analysis.totals["params"] / v1_block(*V1_3A) > 2.3
    assert analysis.totals["mult_adds"] / v1_block_macs(*V1_3A) > 2.3


def test_v1_block_against_table_1_row_3a():
    analysis = archscope.analyze("inception-v1-block")
    assert out(analysis, "") == [1, 64 + 128 + 32 + 32, 28, 28]
    for path, channels in [("branch1x1", 64), ("branch3x3", 128), ("branch5x5", 32), ("branch_pool", 32)]:
        assert out(analysis, path) == [1, channels, 28, 28]
    assert analysis.totals["params"] == v1_block(*V1_3A)
    assert analysis.totals["mult_adds"] == v1_block_macs(*V1_3A)
    # Table 1 prints "159K" params (K = 1024, the paper's convention) and "128M" ops for inception (3a).
    assert analysis.totals["params"] // 1024 == 159
    assert round(analysis.totals["mult_adds"] / 1e6) == 128


def test_v1_block_widths_are_options():
    # inception (3b), the next row of Table 1: 256 in; 128; 128, 192; 32, 96; 64.
    model = zoo.build("inception-v1-block", device="meta", in_channels=256, ch1x1=128, ch3x3_reduce=128,
                      ch3x3=192, ch5x5_reduce=32, ch5x5=96, pool_proj=64)
    analysis = archscope.analyze(model, (1, 256, 28, 28))
    assert out(analysis, "") == [1, 480, 28, 28]
    assert analysis.totals["params"] == v1_block(256, 128, 128, 192, 32, 96, 64)


def test_blocks_refuse_a_wrong_channel_count():
    with pytest.raises(ForwardError) as caught:
        archscope.analyze("inception-v1-block", (1, 3, 28, 28))
    assert caught.value.path == "branch1x1.conv"
    assert "branch1x1.conv" in str(caught.value) and "[1, 3, 28, 28]" in str(caught.value)


def test_v1_bn_block_is_002s_code():
    analysis = archscope.analyze("inception-v1-bn-block")
    assert out(analysis, "") == [1, 256, 28, 28]
    # 002's basic_conv2D keeps the conv bias and adds BatchNorm(eps=1e-3): 2 params per channel more.
    assert analysis.totals["params"] == v1_block(*V1_3A) + 2 * (64 + 96 + 128 + 16 + 32 + 32)
    model = zoo.build("inception-v1-bn-block", device="meta")
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(norms) == 6 and all(m.eps == 1e-3 for m in norms)
    keys = set(model.state_dict())
    assert {"branch1x1.0.weight", "branch1x1.0.bias", "branch1x1.1.running_var", "branch3x3.1.0.weight",
            "branch5x5.1.0.weight", "branch_pool.1.0.weight"} <= keys


def test_v1_bn_block_options_use_the_articles_names():
    model = zoo.build("inception-v1-bn-block", device="meta", in_channel=480, out1_1=192, out2_1=96,
                      out2_3=208, out3_1=16, out3_5=48, out4_1=64)  # inception (4a)
    analysis = archscope.analyze(model, (1, 480, 14, 14))
    assert out(analysis, "") == [1, 192 + 208 + 48 + 64, 14, 14]
    assert analysis.totals["params"] == v1_block(480, 192, 96, 208, 16, 48, 64) + 2 * (192 + 96 + 208 + 16 + 48 + 64)


def test_v2_block_replaces_5x5_by_two_3x3():
    analysis = archscope.analyze("inception-v2-block")
    # Ioffe & Szegedy 2015, Figure 5, inception (3a): 64; 64 -> 64; 64 -> 96 -> 96; avg + 32.
    assert out(analysis, "") == [1, 64 + 64 + 96 + 32, 28, 28]
    assert out(analysis, "branch3x3dbl_2") == out(analysis, "branch3x3dbl_3") == [1, 96, 28, 28]
    expected = (conv_bn(192, 64, 1) + conv_bn(192, 64, 1) + conv_bn(64, 64, 3) + conv_bn(192, 64, 1)
                + conv_bn(64, 96, 3) + conv_bn(96, 96, 3) + conv_bn(192, 32, 1))
    assert analysis.totals["params"] == expected
    assert analysis.totals["mult_adds"] == 28 * 28 * (192 * 64 * 3 + 64 * 64 * 9 + 64 * 96 * 9 + 96 * 96 * 9 + 192 * 32)
    kernels = {tuple(m.kernel_size) for m in zoo.build("inception-v2-block", device="meta").modules()
               if isinstance(m, torch.nn.Conv2d)}
    assert kernels == {(1, 1), (3, 3)}  # no 5x5 left


def inception_c(c_in, c7):
    """002's InceptionC: 1x1 192; 1x1 c7 -> 1x7 c7 -> 7x1 192; 1x1 c7 -> 7x1 -> 1x7 -> 7x1 -> 1x7 192; pool -> 192."""
    return (conv_bn(c_in, 192, 1)
            + conv_bn(c_in, c7, 1) + conv_bn(c7, c7, (1, 7)) + conv_bn(c7, 192, (7, 1))
            + conv_bn(c_in, c7, 1) + conv_bn(c7, c7, (7, 1)) + conv_bn(c7, c7, (1, 7)) + conv_bn(c7, c7, (7, 1))
            + conv_bn(c7, 192, (1, 7))
            + conv_bn(c_in, 192, 1))


def golden_block(prefix):
    """The state_dict and module outputs of one block of torchvision's inception_v3, prefix removed."""
    golden = json.loads((GOLDENS / "torchvision_inception_v3.json").read_text())
    cut = len(prefix) + 1
    state = {key[cut:]: shape for key, shape in golden["state_dict"].items() if key.startswith(prefix + ".")}
    module_outputs = {path[cut:]: shapes for path, shapes in golden["module_outputs"].items() if path.startswith(prefix + ".")}
    module_outputs[""] = golden["module_outputs"][prefix]
    return state, module_outputs


def assert_matches_golden(model, analysis, prefix):
    state, module_outputs = golden_block(prefix)
    ours = {key: list(value.shape) for key, value in model.state_dict().items()}
    assert ours == state
    model.load_state_dict({key: torch.zeros(shape) for key, shape in state.items()}, strict=True)
    traced = {row["path"]: row["output_shapes"] for row in analysis.rows if row["call"] == 0}
    for path, shapes in module_outputs.items():
        assert traced[path] == shapes, path


@pytest.mark.parametrize(("c7", "mixed"), [(128, "Mixed_6b"), (160, "Mixed_6c"), (192, "Mixed_6e")])
def test_v3_block_is_torchvisions_inception_c(c7, mixed):
    model = zoo.build("inception-v3-block", device="meta", channels_7x7=c7)
    analysis = archscope.analyze(model, (1, 768, 17, 17))
    assert out(analysis, "") == [1, 4 * 192, 17, 17]
    assert analysis.totals["params"] == inception_c(768, c7)
    assert_matches_golden(zoo.build("inception-v3-block", channels_7x7=c7), analysis, mixed)


def test_v3_block_default():
    assert zoo.entry("inception-v3-block").params == inception_c(768, 128)
    factorized = [m for m in zoo.build("inception-v3-block", device="meta").modules()
                  if isinstance(m, torch.nn.Conv2d) and m.kernel_size in ((1, 7), (7, 1))]
    assert len(factorized) == 6  # 7x7 as 1x7 + 7x1 once, and twice in the double branch


def test_v2_reduction_halves_the_grid():
    analysis = archscope.analyze("inception-v2-reduction")
    # 35x35 -> 17x17: (35 - 3) / 2 + 1 = 17 on all three branches; 384 + 96 + 288 channels.
    assert out(analysis, "") == [1, 384 + 96 + 288, 17, 17]
    expected = conv_bn(288, 384, 3) + conv_bn(288, 64, 1) + conv_bn(64, 96, 3) + conv_bn(96, 96, 3)
    assert analysis.totals["params"] == expected
    assert analysis.totals["mult_adds"] == (macs(288, 384, 3, 17, 17) + macs(288, 64, 1, 35, 35)
                                           + macs(64, 96, 3, 35, 35) + macs(96, 96, 3, 17, 17))
    assert_matches_golden(zoo.build("inception-v2-reduction"), analysis, "Mixed_6a")


def inception_resnet_c(c_in):
    """002's InceptionResNetC: branches 1x1 192 | 1x1 192 -> 1x3 224 -> 3x1 256; 1x1 448 -> 2048 and
    the 1x1 shortcut c_in -> 2048, both with bias; BatchNorm(2048)."""
    return (conv_bn(c_in, 192, 1) + conv_bn(c_in, 192, 1) + conv_bn(192, 224, (1, 3)) + conv_bn(224, 256, (3, 1))
            + conv(448, 2048, 1) + conv(c_in, 2048, 1) + 2 * 2048)


def test_inception_resnet_c():
    analysis = archscope.analyze("inception-resnet-c")
    assert out(analysis, "") == [1, 2048, 6, 6]
    assert out(analysis, "reduction1x1") == out(analysis, "shorcut") == [1, 2048, 6, 6]
    assert analysis.totals["params"] == inception_resnet_c(2048)
    # The first C block of 002's network receives 2146 channels (line 65).
    first = archscope.analyze(zoo.build("inception-resnet-c", device="meta", input_channels=2146), (1, 2146, 6, 6))
    assert out(first, "") == [1, 2048, 6, 6]
    assert first.totals["params"] == inception_resnet_c(2146)


def test_resnet_bottleneck_reproduces_004s_arithmetic():
    analysis = archscope.analyze("resnet-bottleneck")
    assert out(analysis, "") == [1, 256, 56, 56]
    rows = {row["path"]: row for row in analysis.rows}
    # 004_e5b077b9335f20e2.txt lines 179, 182, 185: the three convolutions' weights ...
    assert rows["conv1"]["params"] == 256 * 64 * 1 * 1 == 16384
    assert rows["conv2"]["params"] == 64 * 64 * 3 * 3 == 36864
    assert rows["conv3"]["params"] == 64 * 256 * 1 * 1 == 16384
    # ... which are also their mult-adds per output position (stride 1, 56x56 everywhere) ...
    for path, printed in [("conv1", 16384), ("conv2", 36864), ("conv3", 16384)]:
        assert rows[path]["mult_adds"] == printed * 56 * 56
    # ... line 188: 69632 in all; plus batch norm's weight and bias per channel.
    assert 16384 + 36864 + 16384 == 69632
    assert analysis.totals["mult_adds"] == 69632 * 56 * 56
    assert analysis.totals["params"] == 69632 + 2 * (64 + 64 + 256)
    # Line 173: one 3x3 convolution 256 -> 256 instead, 589824 weights and mult-adds per position.
    plain = archscope.analyze(torch.nn.Conv2d(256, 256, 3, padding=1, bias=False), (1, 256, 56, 56))
    assert plain.totals["params"] == 256 * 256 * 3 * 3 == 589824
    assert plain.totals["mult_adds"] == 589824 * 56 * 56
    keys = set(zoo.build("resnet-bottleneck", device="meta").state_dict())  # torchvision's Bottleneck names
    assert {f"{layer}.weight" for layer in ("conv1", "conv2", "conv3", "bn1", "bn2", "bn3")} <= keys


def test_resnet_bottleneck_options():
    # conv3_x of ResNet-50: 512 -> 128 -> 128 -> 512 at 28x28.
    model = zoo.build("resnet-bottleneck", device="meta", channels=512, width=128)
    analysis = archscope.analyze(model, (1, 512, 28, 28))
    assert out(analysis, "") == [1, 512, 28, 28]
    assert analysis.totals["params"] == 512 * 128 + 128 * 128 * 9 + 128 * 512 + 2 * (128 + 128 + 512)


# ---- Baselines.


def test_lenet5():
    analysis = archscope.analyze("lenet5")
    for path, shape in [("c1", [1, 6, 28, 28]), ("s2", [1, 6, 14, 14]), ("c3", [1, 16, 10, 10]),
                        ("s4", [1, 16, 5, 5]), ("c5", [1, 120, 1, 1]), ("f6", [1, 84]), ("output", [1, 10])]:
        assert out(analysis, path) == shape, path
    rows = {row["path"]: row for row in analysis.rows}
    # LeCun et al. 1998, Section II.B: "C1 ... has 156 trainable parameters", "C5 ... 48,120 trainable
    # connections" (C5's 1x1 maps make connections = parameters), "F6 ... 10,164 trainable parameters".
    assert rows["c1"]["params"] == conv(1, 6, 5) == 156
    assert rows["c5"]["params"] == conv(16, 120, 5) == 48120
    assert rows["f6"]["params"] == linear(120, 84) == 10164
    assert rows["c3"]["params"] == conv(6, 16, 5)  # all-to-all; the paper's sparse table gives 1,516
    assert analysis.totals["params"] == 156 + conv(6, 16, 5) + 48120 + 10164 + linear(84, 10) == 61706
    assert analysis.totals["mult_adds"] == (macs(1, 6, 5, 28, 28) + macs(6, 16, 5, 10, 10) + macs(16, 120, 5, 1, 1)
                                           + 120 * 84 + 84 * 10)


def test_lenet5_refuses_unpadded_mnist():
    # 28x28: C1 24, S2 12, C3 8, S4 4 -- too small for C5's 5x5.
    with pytest.raises(ForwardError) as caught:
        archscope.analyze("lenet5", (1, 1, 28, 28))
    assert caught.value.path == "c5" and "[1, 16, 4, 4]" in str(caught.value)


ALEXNET_CONVS = [(3, 64, 11, 55), (64, 192, 5, 27), (192, 384, 3, 13), (384, 256, 3, 13), (256, 256, 3, 13)]  # in, out, k, out hw
ALEXNET_FCS = [(256 * 6 * 6, 4096), (4096, 4096), (4096, 1000)]


def test_alexnet_is_torchvisions():
    analysis = archscope.analyze("alexnet")
    params = sum(conv(c_in, c_out, k) for c_in, c_out, k, _ in ALEXNET_CONVS) + sum(linear(*fc) for fc in ALEXNET_FCS)
    assert analysis.totals["params"] == params == 61_100_840  # torchvision AlexNet_Weights.IMAGENET1K_V1 num_params
    mult_adds = sum(macs(c_in, c_out, k, hw, hw) for c_in, c_out, k, hw in ALEXNET_CONVS) + sum(a * b for a, b in ALEXNET_FCS)
    assert analysis.totals["mult_adds"] == mult_adds
    assert f"{mult_adds / 1e9:.3f}" == "0.714"  # torchvision's _ops for the same weights (GMACs)
    for path, shape in [("features.0", [1, 64, 55, 55]), ("features.2", [1, 64, 27, 27]), ("features.5", [1, 192, 13, 13]),
                        ("features.12", [1, 256, 6, 6]), ("avgpool", [1, 256, 6, 6]), ("classifier.6", [1, 1000])]:
        assert out(analysis, path) == shape, path
    model = zoo.build("alexnet", device="meta")
    # torchvision's checkpoint keys: convs at features 0, 3, 6, 8, 10; linears at classifier 1, 4, 6.
    expected_keys = {f"features.{i}.{p}" for i in (0, 3, 6, 8, 10) for p in ("weight", "bias")}
    expected_keys |= {f"classifier.{i}.{p}" for i in (1, 4, 6) for p in ("weight", "bias")}
    assert set(model.state_dict()) == expected_keys


VGG16_D = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]  # Table 1, D


def test_vgg16_is_configuration_d():
    analysis = archscope.analyze("vgg16")
    params, mult_adds, c_in, hw = 0, 0, 3, 224
    for width in VGG16_D:
        if width == "M":
            hw //= 2
            continue
        params += conv(c_in, width, 3)
        mult_adds += macs(c_in, width, 3, hw, hw)
        c_in = width
    fcs = [(512 * 7 * 7, 4096), (4096, 4096), (4096, 1000)]
    params += sum(linear(*fc) for fc in fcs)
    mult_adds += sum(a * b for a, b in fcs)
    assert analysis.totals["params"] == params == 138_357_544  # torchvision VGG16_Weights.IMAGENET1K_V1 num_params
    assert round(params / 1e6) == 138  # Simonyan & Zisserman 2015, Table 2: D, 138 million
    assert analysis.totals["mult_adds"] == mult_adds
    assert f"{mult_adds / 1e9:.2f}" == "15.47"  # torchvision's _ops for the same weights (GMACs)
    assert out(analysis, "features.30") == [1, 512, 7, 7]
    assert out(analysis, "classifier.6") == [1, 1000]
    keys = set(zoo.build("vgg16", device="meta").state_dict())
    convs = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)
    expected_keys = {f"features.{i}.{p}" for i in convs for p in ("weight", "bias")}
    expected_keys |= {f"classifier.{i}.{p}" for i in (0, 3, 6) for p in ("weight", "bias")}
    assert keys == expected_keys


NIN = [(3, 96, 11, 54, (96, 96)), (96, 256, 5, 27, (256, 256)), (256, 384, 3, 13, (384, 384)), (384, 1024, 3, 6, (1024, 1000))]


def test_nin_has_no_fully_connected_head():
    analysis = archscope.analyze("nin")
    params = mult_adds = 0
    for c_in, width, k, hw, (cccp1, cccp2) in NIN:
        params += conv(c_in, width, k) + conv(width, cccp1, 1) + conv(cccp1, cccp2, 1)
        mult_adds += macs(c_in, width, k, hw, hw) + macs(width, cccp1, 1, hw, hw) + macs(cccp1, cccp2, 1, hw, hw)
    assert analysis.totals["params"] == params
    assert analysis.totals["mult_adds"] == mult_adds
    # (224 - 11) / 4 + 1 = 54 (floor); 3x3/2 pools rounding up as Caffe: 27, 13, 6.
    for path, shape in [("mlpconv1", [1, 96, 54, 54]), ("pool1", [1, 96, 27, 27]), ("pool2", [1, 256, 13, 13]),
                        ("pool3", [1, 384, 6, 6]), ("mlpconv4", [1, 1000, 6, 6]), ("avgpool", [1, 1000, 1, 1]), ("", [1, 1000])]:
        assert out(analysis, path) == shape, path
    model = zoo.build("nin", device="meta")
    assert not any(isinstance(m, torch.nn.Linear) for m in model.modules())


@pytest.mark.parametrize("name", ["alexnet", "vgg16", "nin"])
def test_baseline_options(name):
    model = zoo.build(name, device="meta", num_classes=10, in_channels=1)
    analysis = archscope.analyze(model, (2, 1, 224, 224))
    assert analysis.rows[0]["output_shapes"] == [[2, 10]]
    first_conv = {"alexnet": (64, 11), "vgg16": (64, 3), "nin": (96, 11)}[name]
    last = {"alexnet": linear(4096, 1000) - linear(4096, 10), "vgg16": linear(4096, 1000) - linear(4096, 10),
            "nin": conv(1024, 1000, 1) - conv(1024, 10, 1)}[name]
    width, k = first_conv
    assert analysis.totals["params"] == zoo.entry(name).params - 2 * width * k * k - last


# ---- Every entry of this file, built for real on the cpu, one forward at a small input.

SMALL_INPUTS = {
    "inception-mnist": (2, 1, 28, 28), "resnet-mnist": (2, 1, 28, 28),
    "inception-v1-naive-block": (2, 192, 8, 8), "inception-v1-block": (2, 192, 8, 8),
    "inception-v1-bn-block": (2, 192, 8, 8), "inception-v2-block": (2, 192, 8, 8),
    "inception-v3-block": (2, 768, 5, 5), "inception-v2-reduction": (2, 288, 9, 9),
    "inception-resnet-c": (2, 2048, 3, 3), "resnet-bottleneck": (2, 256, 8, 8),
    "lenet5": (2, 1, 32, 32), "alexnet": (1, 3, 63, 63), "vgg16": (1, 3, 32, 32), "nin": (1, 3, 64, 64),
}
SMALL_OUTPUTS = {
    "inception-mnist": (2, 10), "resnet-mnist": (2, 10),
    "inception-v1-naive-block": (2, 416, 8, 8), "inception-v1-block": (2, 256, 8, 8),
    "inception-v1-bn-block": (2, 256, 8, 8), "inception-v2-block": (2, 256, 8, 8),
    "inception-v3-block": (2, 768, 5, 5), "inception-v2-reduction": (2, 768, 4, 4),
    "inception-resnet-c": (2, 2048, 3, 3), "resnet-bottleneck": (2, 256, 8, 8),
    "lenet5": (2, 10), "alexnet": (1, 1000), "vgg16": (1, 1000), "nin": (1, 1000),
}


@pytest.mark.parametrize("name", MNIST + BLOCKS + BASELINES)
def test_real_cpu_forward_at_a_small_input(name):
    model = zoo.build(name).eval()
    assert n_params(model) == zoo.entry(name).params
    with torch.no_grad():
        result = model(torch.rand(SMALL_INPUTS[name]))
    assert tuple(result.shape) == SMALL_OUTPUTS[name]
    assert torch.isfinite(result).all()
