"""inception-v4 and inception-resnet-v2 against timm's own goldens (tests/goldens/timm_*.json, made from
timm's code) and per-block parameter formulas written out here."""

import json
from pathlib import Path

import pytest
import torch

import archscope
from archscope import zoo
from archscope.errors import ForwardError

GOLDENS = Path(__file__).parent / "goldens"
GOLDEN = {
    "inception-v4": json.loads((GOLDENS / "timm_inception_v4.json").read_text()),
    "inception-resnet-v2": json.loads((GOLDENS / "timm_inception_resnet_v2.json").read_text()),
}
MODELS = list(GOLDEN)


def unit(c_in, c_out, kh, kw=None):
    """timm's ConvNormAct: conv without bias, batch norm weight and bias."""
    return c_in * c_out * kh * (kw or kh) + 2 * c_out


def projection(c_in, c_out):
    """The 1×1 convolution closing a residual block: bias, no batch norm."""
    return c_in * c_out + c_out


# Inception-v4, block by block (the paper's Figures 3-8 with TF-slim's widths)
STEM_V4 = (unit(3, 32, 3) + unit(32, 32, 3) + unit(32, 64, 3) + unit(64, 96, 3)
           + unit(160, 64, 1) + unit(64, 96, 3) + unit(160, 64, 1) + 2 * unit(64, 64, 1, 7) + unit(64, 96, 3)
           + unit(192, 192, 3))
INCEPTION_A = unit(384, 96, 1) + unit(384, 64, 1) + unit(64, 96, 3) + unit(384, 64, 1) + unit(64, 96, 3) + unit(96, 96, 3) + unit(384, 96, 1)
REDUCTION_A = unit(384, 384, 3) + unit(384, 192, 1) + unit(192, 224, 3) + unit(224, 256, 3)
INCEPTION_B = (unit(1024, 384, 1) + unit(1024, 192, 1) + unit(192, 224, 1, 7) + unit(224, 256, 7, 1)
               + unit(1024, 192, 1) + unit(192, 192, 7, 1) + unit(192, 224, 1, 7) + unit(224, 224, 7, 1)
               + unit(224, 256, 1, 7) + unit(1024, 128, 1))
REDUCTION_B = unit(1024, 192, 1) + unit(192, 192, 3) + unit(1024, 256, 1) + unit(256, 256, 1, 7) + unit(256, 320, 7, 1) + unit(320, 320, 3)
INCEPTION_C = (unit(1536, 256, 1) + unit(1536, 384, 1) + 2 * unit(384, 256, 1, 3) + unit(1536, 384, 1)
               + unit(384, 448, 3, 1) + unit(448, 512, 1, 3) + 2 * unit(512, 256, 1, 3) + unit(1536, 256, 1))

# Inception-ResNet-v2 as TF-slim builds it
STEM_RESNET = unit(3, 32, 3) + unit(32, 32, 3) + unit(32, 64, 3) + unit(64, 80, 1) + unit(80, 192, 3)
MIXED_5B = unit(192, 96, 1) + unit(192, 48, 1) + unit(48, 64, 5) + unit(192, 64, 1) + unit(64, 96, 3) + unit(96, 96, 3) + unit(192, 64, 1)
BLOCK35 = unit(320, 32, 1) + unit(320, 32, 1) + unit(32, 32, 3) + unit(320, 32, 1) + unit(32, 48, 3) + unit(48, 64, 3) + projection(128, 320)
MIXED_6A = unit(320, 384, 3) + unit(320, 256, 1) + unit(256, 256, 3) + unit(256, 384, 3)
BLOCK17 = unit(1088, 192, 1) + unit(1088, 128, 1) + unit(128, 160, 1, 7) + unit(160, 192, 7, 1) + projection(384, 1088)
MIXED_7A = unit(1088, 256, 1) * 3 + unit(256, 384, 3) + unit(256, 288, 3) + unit(256, 288, 3) + unit(288, 320, 3)
BLOCK8 = unit(2080, 192, 1) + unit(2080, 192, 1) + unit(192, 224, 1, 3) + unit(224, 256, 3, 1) + projection(448, 2080)


def v4_params(classes=1000):
    return (STEM_V4 + 4 * INCEPTION_A + REDUCTION_A + 7 * INCEPTION_B + REDUCTION_B + 3 * INCEPTION_C
            + 1536 * classes + classes)


def resnet_params(classes=1000):
    return (STEM_RESNET + MIXED_5B + 10 * BLOCK35 + MIXED_6A + 20 * BLOCK17 + MIXED_7A + 10 * BLOCK8
            + unit(2080, 1536, 1) + 1536 * classes + classes)


@pytest.mark.parametrize("name, formula", [("inception-v4", v4_params), ("inception-resnet-v2", resnet_params)])
def test_params_by_formula(name, formula):
    assert GOLDEN[name]["params"] == formula() == zoo.entry(name).params
    model = zoo.build(name, device="meta")
    assert sum(p.numel() for p in model.parameters()) == formula()


@pytest.mark.parametrize("name", MODELS)
def test_state_dict_loads_strictly(name):
    model = zoo.build(name)
    ours = {key: list(value.shape) for key, value in model.state_dict().items()}
    assert ours == GOLDEN[name]["state_dict"]
    assert list(ours) == list(GOLDEN[name]["state_dict"])
    zeros = {key: torch.zeros(shape) for key, shape in GOLDEN[name]["state_dict"].items()}
    model.load_state_dict(zeros, strict=True)


@pytest.mark.parametrize("name", MODELS)
def test_module_outputs(name):
    analysis = archscope.analyze(name, (1, 3, 299, 299))
    rows = {row["path"]: row for row in analysis.rows if row["call"] == 0}
    for path, shapes in GOLDEN[name]["module_outputs"].items():
        assert rows[path]["output_shapes"] == shapes, path
    assert analysis.rows[0]["output_shapes"] == GOLDEN[name]["output"] == [[1, 1000]]


@pytest.mark.parametrize("name", MODELS)
def test_layers_run_in_timms_order(name):
    """The golden records modules as their forward hooks fire: its leaves are in timm's execution order."""
    golden = list(GOLDEN[name]["module_outputs"])
    leaves = [path for path in golden if path and not any(other.startswith(path + ".") for other in golden)]
    rows = archscope.analyze(name).rows
    assert [row["path"] for row in rows if row["is_leaf"] and row["call"] == 0] == leaves


def test_grid_sizes_and_widths():
    v4 = {row["path"]: row["output_shape"] for row in archscope.analyze("inception-v4").rows}
    assert v4["features.5"] == [1, 192 + 192, 35, 35]  # the stem: Mixed5a
    assert v4["features.9"] == [1, 96 * 4, 35, 35]  # Inception-A
    assert v4["features.10"] == [1, 384 + 256 + 384, 17, 17]  # Reduction-A: n + m + the pooled input
    assert v4["features.17"] == [1, 384 + 256 + 256 + 128, 17, 17]  # Inception-B
    assert v4["features.18"] == [1, 192 + 320 + 1024, 8, 8]  # Reduction-B
    assert v4["features.21"] == [1, 256 + 512 + 512 + 256, 8, 8]  # Inception-C
    resnet = {row["path"]: row["output_shape"] for row in archscope.analyze("inception-resnet-v2").rows}
    assert resnet["mixed_5b"] == [1, 96 + 64 + 96 + 64, 35, 35]
    assert resnet["mixed_6a"] == [1, 384 + 384 + 320, 17, 17]
    assert resnet["mixed_7a"] == [1, 384 + 288 + 320 + 1088, 8, 8]
    assert resnet["conv2d_7b"] == [1, 1536, 8, 8]


def test_residual_blocks_collapse_in_the_stage_table():
    stages = archscope.analyze("inception-resnet-v2").stages["rows"]
    repeats = {row["type"]: row["repeat"] for row in stages if row["repeat"] > 1}
    assert repeats == {"Block35": 10, "Block17": 20, "Block8": 9}  # the last Block8 (no ReLU) stands apart
    block35 = next(row for row in stages if row["type"] == "Block35")
    assert block35["params"] == 10 * BLOCK35
    assert [len(branch) for branch in block35["branches"]] == [1, 2, 3]


def test_inception_c_is_four_branches_of_concatenations():
    stages = archscope.analyze("inception-v4").stages["rows"]
    block = next(row for row in stages if row["type"] == "InceptionC")
    assert block["repeat"] == 3 and len(block["branches"]) == 4


@pytest.mark.parametrize("name", MODELS)
def test_smallest_input_and_a_real_forward(name):
    model = zoo.build(name).eval()
    with torch.no_grad():
        assert model(torch.rand(1, 3, 75, 75)).shape == (1, 1000)
    with pytest.raises(ForwardError, match=r"on input \[1, \d+, 2, 2\]") as error:
        archscope.analyze(name, (1, 3, 74, 74))
    assert ("features.18.branch0.1.conv" if name == "inception-v4" else "mixed_7a.branch0.1.conv") in str(error.value)


@pytest.mark.parametrize("name, formula", [("inception-v4", v4_params), ("inception-resnet-v2", resnet_params)])
def test_options(name, formula):
    model = zoo.build(name, device="meta", num_classes=10, in_channels=1, drop_rate=0.2)
    first = 32 * 3 * 9  # the first convolution's weights at 3 input channels
    assert sum(p.numel() for p in model.parameters()) == formula(classes=10) - first + 32 * 1 * 9
    assert model.head_drop.p == 0.2
