"""The GoogLeNet family: googlenet (003), googlenet-lrn (000), googlenet-paper, googlenet-torchvision.

Where the numbers come from:
- parameter counts and mult-adds: formulas over Table 1's channel numbers, written out below;
- googlenet-lrn's stage shapes: what 000_92d44c13b3888968.txt prints, lines 33-46;
- googlenet-torchvision: tests/goldens/torchvision_googlenet*.json (torchvision's own code) and
  torchvision's documentation page for GoogLeNet_Weights.IMAGENET1K_V1 (num_params 6624904,
  GFLOPS 1.50 -- torchvision's "GFLOPS" count multiply-adds --, min_size 15x15);
- Table 1's units: DESIGN.md ("A 2014 paper's "159K" means K = 1024"), the figure of row inception (3a).
"""

import json
from pathlib import Path

import pytest
import torch

import archscope
from archscope import zoo
from archscope.errors import ForwardError, UsageError
from archscope.zoo.googlenet import INCEPTION_TABLE
from archscope.zoo.googlenet_variants import transform_input

GOLDENS = Path(__file__).parent / "goldens"
SIZE = {"3": 28, "4": 14, "5": 7}  # map side of each inception stage at 224x224 (Table 1's output size)


# ---- formulas (weights + biases), one per kind of unit


def conv_bias(c_in, c_out, k):
    return c_in * c_out * k * k + c_out


def conv_bn(c_in, c_out, k):
    return c_in * c_out * k * k + 2 * c_out  # conv without bias, BatchNorm weight and bias


def linear(n_in, n_out):
    return n_in * n_out + n_out


def inception_params(unit, c_in, n1, r3, n3, r5, n5, pool, k5=5):
    return (unit(c_in, n1, 1) + unit(c_in, r3, 1) + unit(r3, n3, 3)
            + unit(c_in, r5, 1) + unit(r5, n5, k5) + unit(c_in, pool, 1))


def inception_weights(c_in, n1, r3, n3, r5, n5, pool):
    return c_in * n1 + c_in * r3 + r3 * n3 * 9 + c_in * r5 + r5 * n5 * 25 + c_in * pool


def inception_mult_adds(hw, c_in, n1, r3, n3, r5, n5, pool, k5=5):
    return hw * hw * (c_in * n1 + c_in * r3 + r3 * n3 * 9 + c_in * r5 + r5 * n5 * k5 * k5 + c_in * pool)


def aux_params(unit, c_in, classes=1000):
    return unit(c_in, 128, 1) + linear(2048, 1024) + linear(1024, classes)


def googlenet_params(unit, k5=5, aux=True, classes=1000, in_channels=3):
    stem = unit(in_channels, 64, 7) + unit(64, 64, 1) + unit(64, 192, 3)
    blocks = sum(inception_params(unit, *row, k5=k5) for row in INCEPTION_TABLE.values())
    heads = aux_params(unit, 512, classes) + aux_params(unit, 528, classes) if aux else 0
    return stem + blocks + linear(1024, classes) + heads


def first_calls(analysis):
    return {row["path"]: row for row in analysis.rows if row["call"] == 0}


# ---- googlenet (003): the aux_logits option


def test_googlenet_without_aux_heads():
    assert googlenet_params(conv_bn) == 13_385_816  # the figure 003 prints
    analysis = archscope.analyze(zoo.build("googlenet", device="meta", aux_logits=False), (2, 3, 224, 224))
    without_heads = 13_385_816 - aux_params(conv_bn, 512) - aux_params(conv_bn, 528)
    assert analysis.totals["params"] == googlenet_params(conv_bn, aux=False) == without_heads
    assert analysis.rows[0]["output_shapes"] == [[2, 1000]]
    assert not any(row["path"].startswith("aux") for row in analysis.rows)


# ---- googlenet-lrn (000)

# 000_92d44c13b3888968.txt, lines 33-46: "输出 64个56x56" ... (channels, side) after each stage.
ARTICLE_000_STAGES = [
    ("maxpool", 0, 64, 56),       # line 33, (1) C1 -> MaxPool
    ("maxpool", 1, 192, 28),      # line 34, (2) C2 -> MaxPool
    ("inception3a", 0, 256, 28),  # line 35
    ("inception3b", 0, 480, 28),  # line 36
    ("maxpool", 2, 480, 14),      # line 36, -> MaxPool
    ("inception4a", 0, 512, 14),  # line 37
    ("inception4b", 0, 512, 14),  # line 38
    ("inception4c", 0, 512, 14),  # line 39
    ("inception4d", 0, 528, 14),  # line 40
    ("inception4e", 0, 832, 14),  # line 41
    ("maxpool", 3, 832, 7),       # line 41, -> MaxPool
    ("inception5a", 0, 832, 7),   # line 42
    ("inception5b", 0, 1024, 7),  # line 43
    ("avgpool", 0, 1024, 1),      # line 43, -> AvgPool
]


@pytest.fixture(scope="module")
def lrn_at_4():
    return archscope.analyze("googlenet-lrn", (4, 3, 224, 224))  # the article's torch.randn(4, 3, 224, 224)


def test_lrn_stage_shapes_as_the_article_prints(lrn_at_4):
    calls = {(row["path"], row["call"]): row["output_shapes"] for row in lrn_at_4.rows}
    for path, call, channels, side in ARTICLE_000_STAGES:
        assert calls[(path, call)] == [[4, channels, side, side]], (path, call)
    assert calls[("dropout", 0)] == [[4, 1024]]  # lines 44-46: dropout 1024, linear 1000, softmax 1000
    assert calls[("fc", 0)] == calls[("softmax", 0)] == [[4, 1000]]
    assert lrn_at_4.rows[0]["output_shapes"] == [[4, 1000]] * 3  # (out, aux1, aux2)
    assert sum(1 for row in lrn_at_4.rows if row["path"] == "maxpool") == 4  # one module, four calls


def test_lrn_params_and_mult_adds(lrn_at_4):
    expected = googlenet_params(conv_bias)
    assert expected == 13_378_280
    assert lrn_at_4.totals["params"] == expected
    n = 4
    stem = 112 * 112 * 3 * 64 * 49 + 56 * 56 * (64 * 64 + 64 * 192 * 9)
    blocks = sum(inception_mult_adds(SIZE[name[9]], *row) for name, row in INCEPTION_TABLE.items())
    heads = sum(4 * 4 * c_in * 128 + 2048 * 1024 + 1024 * 1000 for c_in in (512, 528))
    assert lrn_at_4.totals["mult_adds"] == n * (stem + blocks + heads + 1024 * 1000)


def test_lrn_layers_where_the_article_puts_them(lrn_at_4):
    rows = first_calls(lrn_at_4)
    # LRN right after the 7x7 convolution (before the first pool) and after the 1x1/3x3 pair
    assert rows["conv1.1"]["type"] == rows["conv2.2"]["type"] == "LocalResponseNorm"
    assert rows["conv1.1"]["input_shapes"] == [[4, 64, 112, 112]]
    assert rows["conv2.2"]["input_shapes"] == [[4, 192, 56, 56]]
    # aux heads: adaptive 4x4 pool, then 128 x 4 x 4 = 2048 into fc1; softmax at the end
    assert rows["aux_classfier1.avgpool"]["output_shapes"] == [[4, 512, 4, 4]]
    assert rows["aux_classfier2.avgpool"]["output_shapes"] == [[4, 528, 4, 4]]
    assert rows["aux_classfier1.fc1.0"]["input_shapes"] == [[4, 2048]]
    assert rows["aux_classfier2.softmax"]["output_shapes"] == [[4, 1000]]


def test_lrn_names_are_the_articles():
    keys = zoo.build("googlenet-lrn", device="meta").state_dict().keys()
    for key in ("conv1.0.conv.0.weight", "conv1.0.conv.0.bias", "conv2.1.conv.0.weight",
                "inception3a.branch2.1.conv.0.weight", "inception5b.branch4.1.conv.0.bias",
                "aux_classfier1.conv.conv.0.weight", "aux_classfier1.fc1.0.weight", "aux_classfier2.fc2.bias",
                "fc.weight"):
        assert key in keys, key
    assert not any("bn" in key or "running" in key for key in keys)


def test_lrn_class_options():
    by_article_name = archscope.analyze(zoo.build("googlenet-lrn", device="meta", n_classes=10), (1, 3, 224, 224))
    by_zoo_name = archscope.analyze(zoo.build("googlenet-lrn", device="meta", num_classes=10), (1, 3, 224, 224))
    expected = 13_378_280 - 3 * linear(1024, 1000) + 3 * linear(1024, 10)
    for analysis in (by_article_name, by_zoo_name):
        assert analysis.rows[0]["output_shapes"] == [[1, 10]] * 3
        assert analysis.totals["params"] == expected
    with pytest.raises(UsageError, match="n_classes=10 and num_classes=5"):
        zoo.build("googlenet-lrn", device="meta", n_classes=10, num_classes=5)
    gray = archscope.analyze(zoo.build("googlenet-lrn", device="meta", in_channels=1, aux_logits=False), (1, 1, 224, 224))
    assert gray.rows[0]["output_shapes"] == [[1, 1000]]
    assert gray.totals["params"] == googlenet_params(conv_bias, aux=False, in_channels=1)


def test_lrn_runs_on_cpu_at_a_small_input():
    """Adaptive pools let it take 64x64; every head ends in a softmax."""
    model = zoo.build("googlenet-lrn").eval()
    with torch.no_grad():
        outputs = model(torch.rand(1, 3, 64, 64))
    assert [list(out.shape) for out in outputs] == [[1, 1000]] * 3
    for out in outputs:
        assert torch.allclose(out.sum(dim=1), torch.ones(1))


# ---- googlenet-paper: Table 1, row by row

# Table 1's rows as module paths of the model, with the row's channel numbers:
# (row, paths, (in, out, kernel) of each plain convolution | inception row from INCEPTION_TABLE, map side)
TABLE_1_CONVOLUTIONS = {
    "convolution 7x7/2": (["conv1"], [(3, 64, 7)], 112),
    "convolution 3x3/1": (["conv2", "conv3"], [(64, 64, 1), (64, 192, 3)], 56),  # depth 2: #3x3 reduce 64, #3x3 192
}


@pytest.fixture(scope="module")
def paper():
    return archscope.analyze("googlenet-paper", (1, 3, 224, 224))


def test_table_1_convolution_rows(paper):
    rows = first_calls(paper)
    for name, (paths, convs, side) in TABLE_1_CONVOLUTIONS.items():
        assert sum(rows[p]["params"] for p in paths) == sum(conv_bias(*c) for c in convs), name
        mult_adds = sum(side * side * c_in * c_out * k * k for c_in, c_out, k in convs)
        assert sum(rows[p]["mult_adds"] for p in paths) == mult_adds, name
        assert rows[paths[-1]]["output_shapes"] == [[1, convs[-1][1], side, side]], name


@pytest.mark.parametrize("name", list(INCEPTION_TABLE))
def test_table_1_inception_rows(paper, name):
    row = first_calls(paper)[name]
    c_in, n1, r3, n3, r5, n5, pool = INCEPTION_TABLE[name]
    side = SIZE[name[9]]
    assert row["params"] == inception_params(conv_bias, *INCEPTION_TABLE[name])
    assert row["params"] - (n1 + r3 + n3 + r5 + n5 + pool) == inception_weights(*INCEPTION_TABLE[name])  # Table 1 counts weights
    assert row["mult_adds"] == inception_mult_adds(side, *INCEPTION_TABLE[name])
    assert row["output_shapes"] == [[1, n1 + n3 + n5 + pool, side, side]]  # Table 1's "output size"


def test_table_1_pooling_and_classifier_rows(paper):
    rows = first_calls(paper)
    expected = {  # Table 1: max pool 3x3/2 rows, avg pool 7x7/1, dropout (40%), linear, softmax
        "maxpool1": [1, 64, 56, 56], "maxpool2": [1, 192, 28, 28], "maxpool3": [1, 480, 14, 14],
        "maxpool4": [1, 832, 7, 7], "avgpool": [1, 1024, 1, 1], "dropout": [1, 1024], "fc": [1, 1000],
        "softmax": [1, 1000],
    }
    for path, shape in expected.items():
        assert rows[path]["output_shapes"] == [shape], path
        assert rows[path]["params"] == (linear(1024, 1000) if path == "fc" else 0), path
    assert rows["fc"]["mult_adds"] == 1024 * 1000
    model = zoo.build("googlenet-paper", device="meta")
    assert (model.dropout.p, model.aux1.dropout.p) == (0.4, 0.7)  # Table 1's 40%, section 5's 70%


def test_table_1_units_are_1024_based(paper):
    """Table 1 prints inception (3a) as "159K" (the figure DESIGN.md quotes): its 163,328 weights
    are 159.5 K of 1024 and 163.3 K of 1000, so the table's K is 1024. Ops are mult-adds in M = 10^6."""
    weights = inception_weights(*INCEPTION_TABLE["inception3a"])
    assert weights == 192 * 64 + 192 * 96 + 96 * 128 * 9 + 192 * 16 + 16 * 32 * 25 + 192 * 32 == 163_328
    assert int(weights / 1024) == 159 and round(weights / 1000) == 163
    assert first_calls(paper)["inception3a"]["mult_adds"] == 28 * 28 * weights == 128_049_152


def test_paper_layers_where_figure_3_puts_them(paper):
    rows = first_calls(paper)
    assert rows["norm1"]["type"] == rows["norm2"]["type"] == "LocalResponseNorm"
    assert rows["norm1"]["input_shapes"] == [[1, 64, 56, 56]]   # after the first max pool
    assert rows["norm2"]["input_shapes"] == [[1, 192, 56, 56]]  # after conv 3x3, before the second pool
    # section 5: 5x5/3 average pool gives 4x4x512 on (4a) and 4x4x528 on (4d)
    assert rows["aux1.avgpool"]["output_shapes"] == [[1, 512, 4, 4]]
    assert rows["aux2.avgpool"]["output_shapes"] == [[1, 528, 4, 4]]
    assert rows["aux1.fc1"]["output_shapes"] == [[1, 1024]]
    assert not any(row["type"].startswith("BatchNorm") for row in paper.rows)


def test_paper_totals(paper):
    assert paper.totals["params"] == googlenet_params(conv_bias) == 13_378_280
    assert paper.rows[0]["output_shapes"] == [[1, 1000]] * 3
    stem = 112 * 112 * 3 * 64 * 49 + 56 * 56 * (64 * 64 + 64 * 192 * 9)
    blocks = sum(inception_mult_adds(SIZE[name[9]], *row) for name, row in INCEPTION_TABLE.items())
    heads = sum(4 * 4 * c_in * 128 + 2048 * 1024 + 1024 * 1000 for c_in in (512, 528))
    assert paper.totals["mult_adds"] == stem + blocks + heads + 1024 * 1000
    inference = archscope.analyze(zoo.build("googlenet-paper", device="meta", aux_logits=False), (1, 3, 224, 224))
    assert inference.totals["params"] == googlenet_params(conv_bias, aux=False) == 6_998_552
    assert inference.totals["mult_adds"] == stem + blocks + 1024 * 1000
    assert inference.rows[0]["output_shapes"] == [[1, 1000]]


def test_paper_runs_on_cpu_and_gives_probabilities():
    model = zoo.build("googlenet-paper").eval()
    with torch.no_grad():
        outputs = model(torch.rand(1, 3, 224, 224))
    for out in outputs:
        assert out.shape == (1, 1000) and torch.allclose(out.sum(dim=1), torch.ones(1))


def test_paper_takes_only_224():
    with pytest.raises(ForwardError, match=r"aux1\.avgpool \(AvgPool2d\) on input \[1, 512, 4, 4\]"):
        archscope.analyze("googlenet-paper", (1, 3, 64, 64))
    with pytest.raises(ForwardError, match=r"in fc \(Linear\) on input \[1, 4096\]"):
        archscope.analyze("googlenet-paper", (1, 3, 256, 256))  # the 7x7 avg pool leaves 2x2 x 1024


# ---- googlenet-torchvision against torchvision's own goldens

GOLDEN = {
    True: json.loads((GOLDENS / "torchvision_googlenet_aux.json").read_text()),
    False: json.loads((GOLDENS / "torchvision_googlenet.json").read_text()),
}


@pytest.mark.parametrize("aux", [True, False])
def test_torchvision_params(aux):
    expected = googlenet_params(conv_bn, k5=3, aux=aux)  # 3x3 where the paper has 5x5
    assert GOLDEN[aux]["params"] == expected == (13_004_888 if aux else 6_624_904)  # docs: num_params 6624904
    model = zoo.build("googlenet-torchvision", device="meta", aux_logits=aux)
    assert sum(p.numel() for p in model.parameters()) == expected


@pytest.mark.parametrize("aux", [True, False])
def test_torchvision_state_dict_loads_strictly(aux):
    model = zoo.build("googlenet-torchvision", init_weights=False, aux_logits=aux)
    ours = {key: list(value.shape) for key, value in model.state_dict().items()}
    assert ours == GOLDEN[aux]["state_dict"]
    zeros = {key: torch.zeros(shape) for key, shape in GOLDEN[aux]["state_dict"].items()}
    model.load_state_dict(zeros, strict=True)


@pytest.mark.parametrize("aux", [True, False])
def test_torchvision_module_outputs(aux):
    analysis = archscope.analyze(zoo.build("googlenet-torchvision", device="meta", aux_logits=aux), (1, 3, 224, 224))
    rows = first_calls(analysis)
    for path, shapes in GOLDEN[aux]["module_outputs"].items():
        assert rows[path]["output_shapes"] == shapes, path
    assert analysis.rows[0]["output_shapes"] == GOLDEN[aux]["output"] == [[1, 1000]]
    assert not any(row["path"].startswith("aux") for row in analysis.rows)  # eval: torchvision skips them


def test_torchvision_mult_adds():
    analysis = archscope.analyze("googlenet-torchvision", (1, 3, 224, 224))
    stem = 112 * 112 * 3 * 64 * 49 + 56 * 56 * (64 * 64 + 64 * 192 * 9)
    blocks = sum(inception_mult_adds(SIZE[name[9]], *row, k5=3) for name, row in INCEPTION_TABLE.items())
    assert analysis.totals["mult_adds"] == stem + blocks + 1024 * 1000
    assert f"{analysis.totals['mult_adds'] / 1e9:.2f}" == "1.50"  # torchvision's docs: GFLOPS 1.50


def test_torchvision_training_outputs():
    """Training with aux heads gives GoogLeNetOutputs(logits, aux_logits2, aux_logits1); torchvision
    swaps the aux results twice, so the field aux_logits2 holds aux1's output (the head on 4a)."""
    model = zoo.build("googlenet-torchvision", device="meta").train()
    seen = {}
    for name in ("aux1", "aux2"):
        getattr(model, name).register_forward_hook(lambda module, args, out, name=name: seen.setdefault(name, out))
    out = model(torch.empty(2, 3, 224, 224, device="meta"))
    assert type(out).__name__ == "GoogLeNetOutputs" and out._fields == ("logits", "aux_logits2", "aux_logits1")
    assert out.aux_logits2 is seen["aux1"] and out.aux_logits1 is seen["aux2"]
    assert [list(t.shape) for t in out] == [[2, 1000]] * 3
    train = archscope.analyze("googlenet-torchvision", (2, 3, 224, 224), mode="train")
    heads = 2 * sum(4 * 4 * c_in * 128 + 2048 * 1024 + 1024 * 1000 for c_in in (512, 528))
    eval_ = archscope.analyze("googlenet-torchvision", (2, 3, 224, 224))
    assert train.totals["mult_adds"] == eval_.totals["mult_adds"] + heads


def test_torchvision_runs_on_cpu_and_its_minimum_size():
    model = zoo.build("googlenet-torchvision", transform_input=True).eval()
    x = torch.ones(1, 3, 64, 64)
    # ones through the transform: channel c becomes std_c / 0.5 + (mean_c - 0.5) / 0.5
    expected = [0.229 / 0.5 + (0.485 - 0.5) / 0.5, 0.224 / 0.5 + (0.456 - 0.5) / 0.5, 0.225 / 0.5 + (0.406 - 0.5) / 0.5]
    assert torch.allclose(transform_input(x)[0, :, 0, 0], torch.tensor(expected))
    with torch.no_grad():
        assert model(x).shape == (1, 1000)
    # torchvision's docs: min_size height=15, width=15
    assert archscope.analyze("googlenet-torchvision", (1, 3, 15, 15)).rows[0]["output_shapes"] == [[1, 1000]]
    with pytest.raises(ForwardError, match=r"maxpool3 \(MaxPool2d\) on input \[1, 480, 1, 1\]"):
        archscope.analyze("googlenet-torchvision", (1, 3, 14, 14))
    with pytest.raises(ForwardError, match=r"conv1\.conv \(Conv2d\) on input \[1, 1, 224, 224\]"):
        archscope.analyze("googlenet-torchvision", (1, 1, 224, 224))


def test_torchvision_options():
    gray = zoo.build("googlenet-torchvision", device="meta", in_channels=1, num_classes=10, aux_logits=False)
    expected = googlenet_params(conv_bn, k5=3, aux=False, classes=10, in_channels=1)
    assert sum(p.numel() for p in gray.parameters()) == expected
    assert gray.dropout.p == 0.2 and zoo.build("googlenet-torchvision", device="meta").aux1.dropout.p == 0.7
    with pytest.raises(UsageError, match="transform_input"):
        zoo.build("googlenet-torchvision", device="meta", in_channels=1, transform_input=True)
