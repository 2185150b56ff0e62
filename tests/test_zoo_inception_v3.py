"""inception-v3 against torchvision's own goldens (tests/goldens/torchvision_inception_v3*.json, made
from torchvision's code), per-block formulas written out here, and torchvision's published metadata
(Inception_V3_Weights.IMAGENET1K_V1: num_params 27161264, GFLOPS 5.71, min_size 75×75)."""

import json
from pathlib import Path

import pytest
import torch

import archscope
from archscope import zoo
from archscope.errors import ForwardError, UsageError

GOLDENS = Path(__file__).parent / "goldens"
GOLDEN = {
    True: json.loads((GOLDENS / "torchvision_inception_v3_aux.json").read_text()),
    False: json.loads((GOLDENS / "torchvision_inception_v3.json").read_text()),
}


def unit(c_in, c_out, kh, kw=None):
    """torchvision's BasicConv2d: conv without bias, BatchNorm weight and bias."""
    return c_in * c_out * kh * (kw or kh) + 2 * c_out


def block_a(c, pool):
    return unit(c, 64, 1) + unit(c, 48, 1) + unit(48, 64, 5) + unit(c, 64, 1) + unit(64, 96, 3) + unit(96, 96, 3) + unit(c, pool, 1)


def block_b(c):
    return unit(c, 384, 3) + unit(c, 64, 1) + unit(64, 96, 3) + unit(96, 96, 3)


def block_c(c, c7):
    return (unit(c, 192, 1) + unit(c, c7, 1) + unit(c7, c7, 1, 7) + unit(c7, 192, 7, 1)
            + unit(c, c7, 1) + 3 * unit(c7, c7, 7, 1) + unit(c7, 192, 1, 7) + unit(c, 192, 1))


def block_d(c):
    return unit(c, 192, 1) + unit(192, 320, 3) + unit(c, 192, 1) + unit(192, 192, 1, 7) + unit(192, 192, 7, 1) + unit(192, 192, 3)


def block_e(c):
    return (unit(c, 320, 1) + unit(c, 384, 1) + 2 * unit(384, 384, 1, 3) + unit(c, 448, 1) + unit(448, 384, 3)
            + 2 * unit(384, 384, 1, 3) + unit(c, 192, 1))


def inception_v3_params(aux=True, classes=1000, in_channels=3):
    stem = unit(in_channels, 32, 3) + unit(32, 32, 3) + unit(32, 64, 3) + unit(64, 80, 1) + unit(80, 192, 3)
    blocks = (block_a(192, 32) + block_a(256, 64) + block_a(288, 64) + block_b(288) + block_c(768, 128)
              + 2 * block_c(768, 160) + block_c(768, 192) + block_d(768) + block_e(1280) + block_e(2048))
    head = unit(768, 128, 1) + unit(128, 768, 5) + 768 * classes + classes if aux else 0
    return stem + blocks + head + 2048 * classes + classes


@pytest.mark.parametrize("aux", [True, False])
def test_params(aux):
    expected = inception_v3_params(aux=aux)
    assert GOLDEN[aux]["params"] == expected == (27_161_264 if aux else 23_834_568)
    model = zoo.build("inception-v3", device="meta", aux_logits=aux)
    assert sum(p.numel() for p in model.parameters()) == expected


@pytest.mark.parametrize("aux", [True, False])
def test_state_dict_loads_strictly(aux):
    model = zoo.build("inception-v3", init_weights=False, aux_logits=aux)
    ours = {key: list(value.shape) for key, value in model.state_dict().items()}
    assert ours == GOLDEN[aux]["state_dict"]
    assert list(ours) == list(GOLDEN[aux]["state_dict"])  # the same order, too
    zeros = {key: torch.zeros(shape) for key, shape in GOLDEN[aux]["state_dict"].items()}
    model.load_state_dict(zeros, strict=True)


@pytest.mark.parametrize("aux", [True, False])
def test_module_outputs(aux):
    analysis = archscope.analyze(zoo.build("inception-v3", device="meta", aux_logits=aux), (1, 3, 299, 299))
    rows = {row["path"]: row for row in analysis.rows if row["call"] == 0}
    for path, shapes in GOLDEN[aux]["module_outputs"].items():
        assert rows[path]["output_shapes"] == shapes, path
    assert analysis.rows[0]["output_shapes"] == GOLDEN[aux]["output"] == [[1, 1000]]


def test_layers_run_in_torchvision_order():
    """The golden records modules as their forward hooks fire, so its leaves (convs, batch norms, max
    pools, dropout, fc) come in torchvision's execution order: 1x1 branch first, pool branch last."""
    golden = list(GOLDEN[False]["module_outputs"])
    golden_leaves = [path for path in golden if path and not any(other.startswith(path + ".") for other in golden)]
    rows = archscope.analyze("inception-v3").rows
    assert [row["path"] for row in rows if row["is_leaf"] and row["call"] == 0] == golden_leaves
    assert golden_leaves.index("Mixed_5b.branch1x1.conv") < golden_leaves.index("Mixed_5b.branch5x5_1.conv")


def test_block_widths_by_formula():
    rows = {row["path"]: row["output_shape"] for row in archscope.analyze("inception-v3").rows if row["call"] == 0}
    assert rows["maxpool2"] == [1, 192, 35, 35]
    assert rows["Mixed_5b"] == [1, 64 + 64 + 96 + 32, 35, 35]
    assert rows["Mixed_5d"] == [1, 64 + 64 + 96 + 64, 35, 35]
    assert rows["Mixed_6a"] == [1, 384 + 96 + 288, 17, 17]
    assert rows["Mixed_6e"] == [1, 192 * 4, 17, 17]
    assert rows["Mixed_7a"] == [1, 320 + 192 + 768, 8, 8]
    assert rows["Mixed_7c"] == [1, 320 + 2 * 384 + 2 * 384 + 192, 8, 8]


def test_mult_adds_as_torchvision_publishes():
    analysis = archscope.analyze("inception-v3")
    assert f"{analysis.totals['mult_adds'] / 1e9:.2f}" == "5.71"  # torchvision's docs: GFLOPS 5.71
    assert not any(row["path"].startswith("AuxLogits") for row in analysis.rows)  # eval: the head does not run


def test_training_outputs_and_the_aux_head():
    model = zoo.build("inception-v3", device="meta").train()
    out = model(torch.empty(2, 3, 299, 299, device="meta"))
    assert type(out).__name__ == "InceptionOutputs" and out._fields == ("logits", "aux_logits")
    assert [list(t.shape) for t in out] == [[2, 1000], [2, 1000]]
    train = archscope.analyze("inception-v3", (2, 3, 299, 299), mode="train")
    eval_ = archscope.analyze("inception-v3", (2, 3, 299, 299))
    head = 2 * (5 * 5 * 768 * 128 + 1 * 1 * 128 * 768 * 25 + 768 * 1000)  # 17 -> 5x5 grid -> 1x1 after the 5x5 conv
    assert train.totals["mult_adds"] == eval_.totals["mult_adds"] + head
    assert isinstance(zoo.build("inception-v3", device="meta", aux_logits=False).train()(
        torch.empty(2, 3, 299, 299, device="meta")), torch.Tensor)


def test_minimum_size_and_a_real_forward():
    model = zoo.build("inception-v3", aux_logits=False).eval()
    with torch.no_grad():
        assert model(torch.rand(1, 3, 75, 75)).shape == (1, 1000)  # torchvision's docs: min_size 75x75
    # 74: 36 -> 34 -> 34 -> 16 -> 16 -> 14 -> 6 (35x35 grid) -> 2 (17x17 grid): Mixed_7a's first 3x3/2 does not fit
    with pytest.raises(ForwardError, match=r"Mixed_7a\.branch3x3_2\.conv \(Conv2d\) on input \[1, 192, 2, 2\]"):
        archscope.analyze("inception-v3", (1, 3, 74, 74))


def test_at_32_by_32_names_the_layer():
    """32: 15 -> 13 -> 13 -> 6 -> 6 -> 4 -> 1 (the 35x35 grid is 1x1); Mixed_6a's first branch, a 3x3/2
    convolution, is the first layer that cannot take it."""
    with pytest.raises(ForwardError, match=r"in Mixed_6a\.branch3x3\.conv \(Conv2d\) on input \[1, 288, 1, 1\]"):
        archscope.analyze("inception-v3", (1, 3, 32, 32))
    with pytest.raises(ForwardError, match=r"in Conv2d_1a_3x3\.conv \(Conv2d\) on input \[1, 3, 2, 2\]"):
        archscope.analyze("inception-v3", (1, 3, 2, 2))


def test_options():
    model = zoo.build("inception-v3", device="meta", in_channels=1, num_classes=10, aux_logits=False, dropout=0.2)
    assert sum(p.numel() for p in model.parameters()) == inception_v3_params(aux=False, classes=10, in_channels=1)
    assert model.dropout.p == 0.2
    with pytest.raises(UsageError, match="transform_input"):
        zoo.build("inception-v3", device="meta", in_channels=1, transform_input=True)


def test_init_as_torchvision():
    torch.manual_seed(0)
    model = zoo.build("inception-v3")
    assert model.Mixed_5b.branch1x1.bn.weight.eq(1).all() and model.Mixed_5b.branch1x1.bn.bias.eq(0).all()
    assert 0.095 < model.fc.weight.std() < 0.105  # std 0.1 (cut at ±2, absolute: 20 std, no effect)
    assert 0.00095 < model.AuxLogits.fc.weight.std() < 0.00105  # std 0.001
