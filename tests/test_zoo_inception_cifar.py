"""inception-resnet-v2-cifar (002's network, completed from weiaicunzai/pytorch-cifar100): parameter
counts by per-block formulas written out here, grid sizes by the convolution arithmetic, the input
range, and the article's fixed flatten."""

import pytest
import torch

import archscope
from archscope import zoo
from archscope.errors import ForwardError, UsageError


def unit(c_in, c_out, kh, kw=None):
    """conv without bias + BatchNorm (weight, bias)."""
    return c_in * c_out * kh * (kw or kh) + 2 * c_out


def conv_bias(c_in, c_out):
    return c_in * c_out + c_out  # a 1×1 convolution with bias


def stem(c_in=3):
    return (unit(c_in, 32, 3) + unit(32, 32, 3) + unit(32, 64, 3) + unit(64, 96, 3)
            + unit(160, 64, 1) + unit(64, 64, 7, 1) + unit(64, 64, 1, 7) + unit(64, 96, 3)
            + unit(160, 64, 1) + unit(64, 96, 3) + unit(192, 192, 3))


def block_a(c):
    return (unit(c, 32, 1) + unit(c, 32, 1) + unit(32, 32, 3) + unit(c, 32, 1) + unit(32, 48, 3) + unit(48, 64, 3)
            + conv_bias(128, 384) + conv_bias(c, 384) + 2 * 384)


def block_b(c):
    return (unit(c, 192, 1) + unit(c, 128, 1) + unit(128, 160, 1, 7) + unit(160, 192, 7, 1)
            + conv_bias(384, 1154) + conv_bias(c, 1154) + 2 * 1154)


def block_c(c):
    return (unit(c, 192, 1) + unit(c, 192, 1) + unit(192, 224, 1, 3) + unit(224, 256, 3, 1)
            + conv_bias(448, 2048) + conv_bias(c, 2048) + 2 * 2048)


def reduction_a(c, k, l, m, n):  # noqa: E741
    return unit(c, k, 1) + unit(k, l, 3) + unit(l, m, 3) + unit(c, n, 3)


def reduction_b(c):
    return 3 * unit(c, 256, 1) + unit(256, 384, 3) + unit(256, 288, 3) + unit(256, 288, 3) + unit(288, 320, 3)


def params(A=5, B=10, C=5, k=256, l=256, m=384, n=384, classes=10, c_in=3):  # noqa: N803, E741
    after_a = 384 + n + m
    return (stem(c_in) + A * block_a(384) + reduction_a(384, k, l, m, n)
            + block_b(after_a) + (B - 1) * block_b(1154) + reduction_b(1154)
            + block_c(1154 + 384 + 288 + 320) + (C - 1) * block_c(2048) + 2048 * classes + classes)


def test_params_by_formula():
    assert params() == zoo.entry("inception-resnet-v2-cifar").params
    model = zoo.build("inception-resnet-v2-cifar", device="meta")
    assert sum(p.numel() for p in model.parameters()) == params()


@pytest.mark.parametrize("options", [
    {"A": 1, "B": 1, "C": 1},
    {"k": 192, "l": 224, "m": 256, "n": 384},  # Inception-v4's Reduction-A widths
    {"class_nums": 100, "in_channels": 1},
])
def test_options_change_the_count_as_the_formula_says(options):
    model = zoo.build("inception-resnet-v2-cifar", device="meta", **options)
    expected = params(**{key: value for key, value in options.items() if key in "ABCklmn"},
                      classes=options.get("class_nums", 10), c_in=options.get("in_channels", 3))
    assert sum(p.numel() for p in model.parameters()) == expected


def test_grid_sizes_at_32():
    analysis = archscope.analyze("inception-resnet-v2-cifar", (2, 3, 32, 32))
    rows = {row["path"]: row["output_shape"] for row in analysis.rows if row["call"] == 0}
    assert rows["stem"] == [2, 384, 32 - 2, 30]  # only the first 3×3 is unpadded
    assert rows["inception_resnet_a"] == [2, 384, 30, 30]
    assert rows["reduction_a"] == [2, 384 + 384 + 384, (30 - 3) // 2 + 1, 14]
    assert rows["inception_resnet_b"] == [2, 1154, 14, 14]
    assert rows["reduction_b"] == [2, 384 + 288 + 320 + 1154, (14 - 3) // 2 + 1, 6]
    assert rows["inception_resnet_c"] == [2, 2048, 6, 6]
    assert rows["avgpool"] == [2, 2048, 1, 1]
    assert analysis.rows[0]["output_shapes"] == [[2, 10]]
    names = [row["path"] for row in analysis.rows]
    assert "inception_resnet_c.InceptionResNetC_4.shorcut" in names  # the article's spelling


def test_accepted_input_sizes():
    for size in (29, 52):
        assert archscope.analyze("inception-resnet-v2-cifar", (1, 3, size, size)).rows[0]["output_shapes"] == [[1, 10]]
    with pytest.raises(ForwardError, match=r"avgpool \(AvgPool2d\) on input \[1, 2048, 5, 5\]"):
        archscope.analyze("inception-resnet-v2-cifar", (1, 3, 28, 28))
    # the article's view(-1, 2048) would turn one 53×53 image into 4 rows; flatten makes it fail
    with pytest.raises(ForwardError, match=r"linear \(Linear\) on input \[1, 8192\]"):
        archscope.analyze("inception-resnet-v2-cifar", (1, 3, 53, 53))


def test_a_real_forward_on_cpu():
    model = zoo.build("inception-resnet-v2-cifar", A=1, B=1, C=1).eval()
    with torch.no_grad():
        assert model(torch.rand(2, 3, 32, 32)).shape == (2, 10)


def test_names_for_the_class_count():
    assert zoo.build("inception-resnet-v2-cifar", device="meta", num_classes=100).linear.out_features == 100
    with pytest.raises(UsageError, match="disagree"):
        zoo.build("inception-resnet-v2-cifar", device="meta", num_classes=100, class_nums=10)
    with pytest.raises(UsageError, match="1 or more"):
        zoo.build("inception-resnet-v2-cifar", device="meta", B=0)
