"""GoogLeNet (BN) against what 003_b3c5f7bfde2fbe5b.txt prints, hand formulas, torchinfo and FlopCounterMode."""

import re
import sys
from pathlib import Path

import pytest
import torch
import torchinfo
from torch.utils.flop_counter import FlopCounterMode

import archscope
from archscope.render.text import summary_text, table_cells
from archscope.zoo.googlenet import INCEPTION_TABLE

ARTICLE = (Path(__file__).parent / "data" / "003_torchinfo_summary.txt").read_text(encoding="utf-8")
ROW = re.compile(r"^[│├└─\s]*(?P<type>\w+)(?:: (?P<key>\d+-\d+))?\s+(?P<shape>\[[\d, ]+\])(?: \+\d+)?\s+(?P<params>[\d,]+|--|\(recursive\))")


def parse_rows(lines):
    rows = {}
    for line in lines:
        match = ROW.match(line)
        if match:
            rows[match["key"] or "root"] = (match["type"], match["shape"], match["params"])
    return rows


def test_every_row_the_article_prints(googlenet_at_20):
    article = parse_rows(ARTICLE.splitlines())
    # Rows at depth <= 3: the root, 21 calls at depth 1, 4 below each of the 3 stem BasicConv2d,
    # 11 below each of the 9 Inception blocks and 8 below each of the 2 aux heads; the article's
    # copy lost 7 of them (see the fixture's header).
    assert len(article) == 1 + 21 + 3 * 4 + 9 * 11 + 2 * 8 - 7
    ours = parse_rows("    ".join(cells[:3]) for cells in table_cells(googlenet_at_20.to_dict(), depth=3))
    for key, row in article.items():
        assert ours.get(key) == row, key


def test_totals_and_memory_lines_as_printed(googlenet_at_20):
    printed = [line for line in ARTICLE.splitlines() if re.match(r"^(Total|Trainable|Non-trainable|Input|Forward|Params|Estimated)", line)]
    assert len(printed) == 8
    ours = summary_text(googlenet_at_20.to_dict()).splitlines()
    for line in printed:
        assert line in ours


def test_three_outputs_of_20_by_1000(googlenet_at_20):
    assert ARTICLE.count("torch.Size([20, 1000])") == 3
    assert googlenet_at_20.rows[0]["output_shapes"] == [[20, 1000]] * 3


def conv_bn(c_in, c_out, k):
    return c_in * c_out * k * k + 2 * c_out  # conv without bias, BatchNorm weight and bias


def inception_params(c_in, n1, r3, n3, r5, n5, pool):
    return (conv_bn(c_in, n1, 1) + conv_bn(c_in, r3, 1) + conv_bn(r3, n3, 3)
            + conv_bn(c_in, r5, 1) + conv_bn(r5, n5, 5) + conv_bn(c_in, pool, 1))


def aux_params(c_in, classes=1000):
    return conv_bn(c_in, 128, 1) + (2048 * 1024 + 1024) + (1024 * classes + classes)


def test_params_by_hand_formula(googlenet_at_20):
    stem = conv_bn(3, 64, 7) + conv_bn(64, 64, 1) + conv_bn(64, 192, 3)
    blocks = sum(inception_params(*row) for row in INCEPTION_TABLE.values())
    expected = stem + blocks + aux_params(512) + aux_params(528) + (1024 * 1000 + 1000)
    assert expected == 13_385_816  # and the article prints the same
    assert googlenet_at_20.totals["params"] == expected
    assert googlenet_at_20.totals["trainable_params"] == expected
    assert googlenet_at_20.totals["frozen_params"] == 0


def test_mult_adds_by_hand_formula(googlenet_at_20):
    n = 20

    def conv(c_in, c_out, k, hw):
        return n * c_out * hw * hw * c_in * k * k

    def inception(c_in, n1, r3, n3, r5, n5, pool, hw):
        return (conv(c_in, n1, 1, hw) + conv(c_in, r3, 1, hw) + conv(r3, n3, 3, hw)
                + conv(c_in, r5, 1, hw) + conv(r5, n5, 5, hw) + conv(c_in, pool, 1, hw))

    sizes = {"3": 28, "4": 14, "5": 7}
    expected = conv(3, 64, 7, 112) + conv(64, 64, 1, 56) + conv(64, 192, 3, 56)
    expected += sum(inception(*row, sizes[name[9]]) for name, row in INCEPTION_TABLE.items())
    aux = lambda c_in: conv(c_in, 128, 1, 4) + n * (2048 * 1024 + 1024 * 1000)  # noqa: E731
    expected += aux(512) + aux(528) + n * 1024 * 1000
    assert googlenet_at_20.totals["mult_adds"] == expected
    assert f"{expected / 1e9:.2f}" == "31.82"  # the article's "Total mult-adds (G): 31.82"


def test_mult_adds_equal_flop_counter_mode_per_layer():
    """FlopCounterMode on a real cpu forward: archscope's mult-adds are exactly half, per module too."""
    model = archscope.zoo.build("googlenet").eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.rand(1, 3, 224, 224))
    analysis = archscope.analyze(model, (1, 3, 224, 224))
    assert analysis.totals["mult_adds"] * 2 == counter.get_total_flops()
    per_module = counter.get_flop_counts()
    checked = 0
    for row in analysis.rows:
        key = "GoogLeNet" + (f".{row['path']}" if row["path"] else "")
        if row["call"] == 0 and key in per_module:
            assert row["mult_adds"] * 2 == sum(per_module[key].values()), key
            checked += 1
    assert checked > 150


def test_torchinfo_agrees_up_to_its_bias_and_batchnorm_terms(googlenet_at_20):
    model = archscope.zoo.build("googlenet", device="meta")
    stats = torchinfo.summary(model, input_size=(20, 3, 224, 224), device="meta", verbose=0)
    totals = googlenet_at_20.totals
    assert stats.total_params == totals["params"]
    assert stats.trainable_params == totals["trainable_params"]
    # torchinfo's Input size is sys.getsizeof(storage): the bytes plus the storage object's overhead.
    storage_overhead = sys.getsizeof(torch.empty(0).untyped_storage())
    assert stats.total_input == totals["input_bytes"] + storage_overhead
    assert stats.total_output_bytes == totals["forward_backward_bytes"]
    assert stats.total_param_bytes == totals["params_bytes"]
    # torchinfo adds, per sample, every Linear's bias and every BatchNorm's weight and bias to its MACs.
    linear_bias = sum(m.out_features for m in model.modules() if isinstance(m, torch.nn.Linear))
    batchnorm = sum(2 * m.num_features for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert stats.total_mult_adds == totals["mult_adds"] + 20 * (linear_bias + batchnorm)


@pytest.mark.parametrize("depth", [0, 1, 2, 3, 4, 5])
def test_columns_add_up_to_totals_at_every_depth(googlenet_at_20, depth):
    cells = table_cells(googlenet_at_20.to_dict(), depth)
    number = lambda text: int(text.replace(",", "")) if text[0].isdigit() else 0  # noqa: E731
    assert sum(number(params) for _, _, params, _ in cells) == googlenet_at_20.totals["params"]
    assert sum(number(macs) for _, _, _, macs in cells) == googlenet_at_20.totals["mult_adds"]


def test_num_classes_option():
    analysis = archscope.analyze(archscope.zoo.build("googlenet", device="meta", num_classes=10), (2, 3, 224, 224))
    assert analysis.rows[0]["output_shapes"] == [[2, 10]] * 3
    assert analysis.totals["params"] == 13_385_816 - 3 * (1024 * 1000 + 1000) + 3 * (1024 * 10 + 10)
