"""Bottlenecks, pool projections, factorizations, receptive fields and heads, checked against
numbers worked out by hand here, the articles' figures and published values."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

import archscope
from archscope.cli import main

BATCH = 20  # googlenet's default input is the 003 article's batch of 20


@pytest.fixture(scope="module")
def googlenet():
    return archscope.analyze("googlenet")


def rows_of(found: list[dict], **where) -> list[dict]:
    return [row for row in found if all(row[key] == value for key, value in where.items())]


# -- 1x1 bottlenecks ----------------------------------------------------------------------------------


def test_resnet_bottleneck_reproduces_004_worked_example():
    """004_e5b077b9335f20e2.txt §5.2: 256×256×3×3 = 589,824 against 16,384 + 36,864 + 16,384 = 69,632."""
    analysis = archscope.analyze("resnet-bottleneck")
    [row] = analysis.to_dict()["bottlenecks"]["rows"]
    assert row["kind"] == "resnet"
    assert (row["c_in"], row["reduced"], row["kernels"], row["c_out"]) == (256, 64, [[3, 3]], 256)
    assert row["direct_weights"] == 256 * 256 * 3 * 3 == 589_824
    assert row["actual_weights"] == 256 * 64 + 64 * 64 * 3 * 3 + 64 * 256 == 16_384 + 36_864 + 16_384 == 69_632
    positions = 1 * 56 * 56  # default input [1, 256, 56, 56], stride 1 throughout
    assert row["direct_mult_adds"] == 589_824 * positions
    assert row["actual_mult_adds"] == 69_632 * positions
    assert row["weights_ratio"] == pytest.approx(69_632 / 589_824)


def test_one_googlenet_block_by_hand(googlenet):
    """inception3a (Table 1: in 192, #3x3 reduce 96, #3x3 128, #5x5 reduce 16, #5x5 32, pool proj 32) at 28×28."""
    found = googlenet.to_dict()["bottlenecks"]
    rows = rows_of(found["rows"], block="inception3a")
    assert [(r["branch"], r["c_in"], r["reduced"], r["kernels"], r["c_out"], r["output_size"]) for r in rows] == [
        ("branch2", 192, 96, [[3, 3]], 128, [28, 28]), ("branch3", 192, 16, [[5, 5]], 32, [28, 28])]
    three, five = rows
    positions = BATCH * 28 * 28
    assert three["direct_weights"] == 3 * 3 * 192 * 128 == 221_184
    assert three["actual_weights"] == 192 * 96 + 3 * 3 * 96 * 128 == 129_024
    assert three["direct_mult_adds"] == 221_184 * positions
    assert three["actual_mult_adds"] == 129_024 * positions
    assert five["direct_weights"] == 5 * 5 * 192 * 32 == 153_600
    assert five["actual_weights"] == 192 * 16 + 5 * 5 * 16 * 32 == 15_872
    [block] = rows_of(found["blocks"], block="inception3a")
    assert block["direct_weights"] == 221_184 + 153_600
    assert block["actual_weights"] == 129_024 + 15_872
    assert block["weights_ratio"] == pytest.approx((129_024 + 15_872) / (221_184 + 153_600))
    # 002's "1/9": r·(C_in + K) = C_in·K / 9 with K = k²·C_out
    assert five["reduced_for_one_ninth"] == pytest.approx(192 * 800 / (9 * (192 + 800)))
    assert three["reduced_for_one_ninth"] == pytest.approx(192 * 1152 / (9 * (192 + 1152)))
    [projection] = rows_of(found["projections"], block="inception3a")
    assert (projection["c_in"], projection["c_out"], projection["weights"]) == (192, 32, 192 * 32)
    assert projection["block_out_channels"] == 64 + 128 + 32 + 32
    assert projection["block_out_without"] == 64 + 128 + 32 + 192


def test_totals_add_up_over_the_nine_blocks(googlenet):
    found = googlenet.to_dict()["bottlenecks"]
    table1 = [(192, 96, 128, 16, 32), (256, 128, 192, 32, 96), (480, 96, 208, 16, 48), (512, 112, 224, 24, 64),
              (512, 128, 256, 24, 64), (512, 144, 288, 32, 64), (528, 160, 320, 32, 128), (832, 160, 320, 32, 128),
              (832, 192, 384, 48, 128)]
    direct = sum(9 * c * c3 + 25 * c * c5 for c, _, c3, _, c5 in table1)
    actual = sum(c * r3 + 9 * r3 * c3 + c * r5 + 25 * r5 * c5 for c, r3, c3, r5, c5 in table1)
    assert (found["total"]["direct_weights"], found["total"]["actual_weights"]) == (direct, actual)
    assert found["total"]["paths"] == 18 and len(found["blocks"]) == 9


def test_a_1x1_that_does_not_reduce_is_not_a_bottleneck():
    model = nn.Sequential(nn.Conv2d(16, 16, 1), nn.ReLU(), nn.Conv2d(16, 32, 3, padding=1))
    assert archscope.analyze(model, (1, 16, 8, 8)).to_dict()["bottlenecks"]["rows"] == []
    model = nn.Sequential(nn.Conv2d(16, 4, 1), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 32, 3, padding=1))
    [row] = archscope.analyze(model, (1, 16, 8, 8)).to_dict()["bottlenecks"]["rows"]
    assert (row["c_in"], row["reduced"], row["c_out"]) == (16, 4, 32)


# -- factorization -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("first", "second", "replaced", "saved"), [
    ((3, 3), (3, 3), [5, 5], 1 - 18 / 25),  # the Inception-v3 paper's 28%
    ((1, 3), (3, 1), [3, 3], 1 - 6 / 9),  # its 33%
    ((1, 7), (7, 1), [7, 7], 1 - 14 / 49),
])
def test_equal_channels_give_the_papers_savings(first, second, replaced, saved):
    pad = [(k // 2) for k in first], [(k // 2) for k in second]
    model = nn.Sequential(nn.Conv2d(32, 32, first, padding=pad[0]), nn.ReLU(), nn.Conv2d(32, 32, second, padding=pad[1]))
    [row] = archscope.analyze(model, (2, 32, 17, 17)).to_dict()["factorizations"]["rows"]
    assert row["replaces"] == replaced
    assert 1 - row["weights_ratio"] == pytest.approx(saved)
    assert row["equal_channels_ratio"] == pytest.approx(1 - saved)


def test_inception_v3_factorizations_by_hand():
    found = archscope.analyze("inception-v3").to_dict()["factorizations"]
    [stacked] = rows_of(found["rows"], block="Mixed_5b")  # 1x1 64 → 3x3 96 → 3x3 96
    assert (stacked["kind"], stacked["c_in"], stacked["mid"], stacked["c_out"]) == ("stacked", 64, 96, 96)
    assert stacked["direct_weights"] == 25 * 64 * 96
    assert stacked["actual_weights"] == 9 * 64 * 96 + 9 * 96 * 96  # 10% saved, not the paper's 28%
    seven = rows_of(found["rows"], block="Mixed_6b", branch="branch7x7_2 → branch7x7_3")[0]  # c7 = 128
    assert (seven["kind"], seven["replaces"]) == ("asymmetric", [7, 7])
    assert seven["direct_weights"] == 49 * 128 * 192
    assert seven["actual_weights"] == 7 * 128 * 128 + 7 * 128 * 192
    parallel = rows_of(found["rows"], block="Mixed_7b", kind="parallel")
    assert len(parallel) == 2  # branch3x3_2a ∥ 2b and branch3x3dbl_3a ∥ 3b
    assert parallel[0]["direct_weights"] == 9 * 384 * 768
    assert parallel[0]["actual_weights"] == 3 * 384 * 384 * 2


# -- receptive field -------------------------------------------------------------------------------------


def test_receptive_field_of_a_small_stack_by_hand():
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),  # r 3, j 1, P 1
        nn.MaxPool2d(2),  # r 3 + 1·1 = 4, j 2, P 1
        nn.Conv2d(8, 8, 5, stride=2, padding=2),  # r 4 + 4·2 = 12, j 4, P 1 + 2·2 = 5
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=2, dilation=2),  # r 12 + 2·2·4 = 28, j 4, P 5 + 2·4 = 13
    )
    found = archscope.analyze(model, (1, 3, 32, 32)).to_dict()["receptive_fields"]
    assert [(r["path"], r["receptive_field"], r["jump"], r["effective_padding"]) for r in found["rows"]] == [
        ("0", [3, 3], [1, 1], [1, 1]), ("1", [4, 4], [2, 2], [1, 1]), ("2", [12, 12], [4, 4], [5, 5]),
        ("4", [28, 28], [4, 4], [13, 13])]
    assert found["final"]["receptive_field"] == [28, 28] and found["final"]["output_size"] == [8, 8]


class TwoBranches(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.small = nn.Conv2d(4, 4, 1)
        self.large = nn.Conv2d(4, 4, (5, 3), padding=(2, 1))

    def forward(self, x):
        return torch.cat([self.small(x), self.large(x)], 1)


def test_a_block_takes_its_widest_branch_per_dimension():
    model = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), TwoBranches())
    rows = archscope.analyze(model, (1, 3, 16, 16)).to_dict()["receptive_fields"]["rows"]
    assert rows[1]["path"] == "1"
    assert rows[1]["receptive_field"] == [3 + 4 * 2, 3 + 2 * 2]  # (5×3) at jump 2 after a 3×3/2
    assert rows[1]["effective_padding"] == [1 + 2 * 2, 1 + 1 * 2]


@pytest.mark.parametrize(("name", "path", "size"), [("vgg16", "features.30", 212), ("alexnet", "features.12", 195)])
def test_published_receptive_fields(name, path, size):
    """VGG-16's pool5 and AlexNet's pool5 receptive fields, as tabulated by Araujo et al. (Distill 2019)."""
    final = archscope.analyze(name).to_dict()["receptive_fields"]["final"]
    assert (final["path"], final["receptive_field"]) == (path, [size, size])


# -- heads -----------------------------------------------------------------------------------------------


def test_googlenet_heads(googlenet):
    found = googlenet.to_dict()["heads"]
    classifier = found["classifier"]
    assert (classifier["kind"], classifier["map"], classifier["layer"]) == ("global pool", [1024, 7, 7], "fc")
    assert classifier["params"] == 1024 * 1000 + 1000
    assert classifier["alternative_params"] == 1024 * 7 * 7 * 1000 + 1000
    assert [(h["path"], h["from"]) for h in found["auxiliary"]] == [("aux1", "inception4a"), ("aux2", "inception4d")]
    without = sum(p.numel() for p in archscope.zoo.build("googlenet", device="meta", aux_logits=False).parameters())
    assert found["inference_params"] == without
    # each head's 1x1 conv (no bias) + BN on a 4x4 map, FC 2048→1024 and 1024→1000 at batch 20
    head_macs = [BATCH * (c * 128 * 16 + 2048 * 1024 + 1024 * 1000) for c in (512, 528)]
    assert [h["mult_adds"] for h in found["auxiliary"]] == head_macs


@pytest.mark.parametrize(("name", "module", "with_heads", "without"), [
    ("googlenet-torchvision", ["aux1", "aux2"], 13_004_888, 6_624_904),  # torchvision's published counts
    ("inception-v3", ["AuxLogits"], 27_161_264, 23_834_568),
])
def test_heads_that_do_not_run_in_eval(name, module, with_heads, without):
    found = archscope.analyze(name).to_dict()["heads"]
    assert [m["path"] for m in found["unused"]] == module
    assert found["side_params"] == with_heads - without
    assert found["inference_params"] == without


def test_a_flattening_classifier_against_pooling():
    found = archscope.analyze("vgg16").to_dict()["heads"]["classifier"]
    assert (found["kind"], found["map"]) == ("flatten", [512, 7, 7])
    assert found["params"] == 512 * 7 * 7 * 4096 + 4096
    assert found["alternative_params"] == 512 * 4096 + 4096


# -- data flow ---------------------------------------------------------------------------------------------


class Residual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.conv(x) + x)


def test_main_path_and_call_graph():
    model = nn.Sequential(nn.Conv2d(3, 4, 1), Residual(), TwoBranches(), nn.Flatten(), nn.Linear(8 * 4 * 4, 2))
    analysis = archscope.analyze(model, (1, 3, 4, 4))
    flow = analysis.dataflow
    assert [call.path for call in flow.main_calls] == ["0", "1", "2", "3", "4"]
    paths = {call.index: call.path for call in flow.calls}
    edges = {(paths.get(e["source"], "input"), paths[e["target"]], tuple(e["via"])) for e in flow.call_edges()}
    assert ("1.conv", "1.relu", ("aten.add.Tensor",)) in edges
    assert ("0", "1.relu", ("aten.add.Tensor",)) in edges  # the skip connection
    assert ("2.small", "3", ("aten.cat.default",)) in edges and ("2.large", "3", ("aten.cat.default",)) in edges


# -- where it shows ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("view", ["layers", "stages", "bottlenecks", "factorization", "rf", "heads"])
@pytest.mark.parametrize("fmt", ["text", "json", "csv"])
def test_summary_views(view, fmt, capsys):
    assert main(["summary", "resnet-bottleneck", "--view", view, "--format", fmt]) == 0
    out = capsys.readouterr().out
    if fmt == "csv" and view in ("factorization", "heads"):  # the block has neither: no rows, no header
        assert out == ""
    else:
        assert out.strip()
    if fmt == "json" and view == "bottlenecks":
        row = json.loads(out)["bottlenecks"]["rows"][0]
        assert (row["direct_weights"], row["actual_weights"]) == (589_824, 69_632)
    if fmt == "text" and view == "bottlenecks":
        assert "256×64×1×1 + 64×64×3×3 + 64×256×1×1 = 69,632 against 256×256×3×3 = 589,824" in " ".join(out.split())


def test_dataframes(googlenet):
    assert len(googlenet.bottlenecks) == 18
    assert len(googlenet.projections) == 9
    assert googlenet.factorizations.empty
    assert list(googlenet.receptive_fields["path"])[:2] == ["conv1.layers.0", "maxpool1"]
    assert list(googlenet.heads["head"]) == ["classifier", "auxiliary", "auxiliary"]


def test_googlenet_counterfactual_grows_channels_block_by_block(googlenet):
    """googlenet-naive: each block outputs its input + #1x1 + #3x3 + #5x5 (Table 1), the pool passing through."""
    found = googlenet.counterfactual
    assert found["model"] == "googlenet-naive"
    table1 = {"inception3a": (64, 128, 32), "inception3b": (128, 192, 96), "inception4a": (192, 208, 48),
              "inception4b": (160, 224, 64), "inception4c": (128, 256, 64), "inception4d": (112, 288, 64),
              "inception4e": (256, 320, 128), "inception5a": (256, 320, 128), "inception5b": (384, 384, 128)}
    channels, expected = 192, []
    for name, widths in table1.items():
        channels += sum(widths)
        expected.append((name, channels))
    assert [(b["path"], b["counterfactual"]) for b in found["blocks"]] == expected
    assert [b["channels"] for b in found["blocks"]] == [256, 480, 512, 512, 512, 528, 832, 832, 1024]
    assert found["totals"]["params"] == 13_385_816  # the 003 article's figure
    assert found["counterfactual_totals"]["params"] == archscope.analyze("googlenet-naive").totals["params"]
    assert archscope.analyze("vgg16").counterfactual is None


class Listed(nn.Module):
    """Convolutions held in a ModuleList: the list is never called, its children are."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(nn.Conv2d(4, 4, 3, padding=1) for _ in range(3))
        self.unused = nn.Linear(4, 4)
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return self.fc(x.mean((2, 3)))


def test_only_modules_of_which_nothing_ran_are_side_weight():
    found = archscope.analyze(Listed(), (1, 4, 8, 8)).to_dict()["heads"]
    assert found["unused"] == [{"path": "unused", "type": "Linear", "params": 4 * 4 + 4}]
    assert found["inference_params"] == 3 * (4 * 4 * 9 + 4) + 4 * 2 + 2


class ThreeDeep(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.short = nn.Sequential(nn.Conv2d(32, 8, 1), nn.Conv2d(8, 16, 3, padding=1))
        self.long = nn.Sequential(nn.Conv2d(32, 8, 1), nn.Conv2d(8, 16, 3, padding=1), nn.Conv2d(16, 16, 3, padding=1))

    def forward(self, x):
        return torch.cat([self.short(x), self.long(x)], 1)


def test_a_longer_branch_belongs_to_the_block_it_merges_in():
    found = archscope.analyze(ThreeDeep(), (1, 32, 8, 8)).to_dict()
    assert [(r["block"], r["branch"]) for r in found["bottlenecks"]["rows"]] == [("", "short"), ("", "long")]
    assert [(r["block"], r["branch"]) for r in found["factorizations"]["rows"]] == [("", "long")]


def test_a_fixed_pool_over_the_whole_map_is_global_pooling():
    """googlenet-paper pools 7×7 with AvgPool2d(7), as Table 1 prints it."""
    found = archscope.analyze("googlenet-paper").to_dict()
    assert found["heads"]["classifier"]["kind"] == "global pool"
    assert found["heads"]["classifier"]["alternative_params"] == 1024 * 7 * 7 * 1000 + 1000
    assert found["receptive_fields"]["final"]["path"] == "inception5b"


def test_googlenet_receptive_fields_by_hand():
    """r += (k - 1)·j, P += p·j, j *= s along the stem; a block adds its widest branch: (5 - 1)·j for
    the 5×5 (pad 2), (3 - 1)·j for torchvision's 3×3 in its place (pad 1)."""
    def walk(steps):
        r, j, p = 1, 1, 0
        for k, s, pad in steps:
            r, p, j = r + (k - 1) * j, p + pad * j, j * s
        return r, j, p

    stem = [(7, 2, 3), (3, 2, 0), (1, 1, 0), (3, 1, 1), (3, 2, 0)]  # conv1, maxpool1, conv2, conv3, maxpool2
    block5, block3, pool = (5, 1, 2), (3, 1, 1), (3, 2, 0)
    paper = stem + [block5] * 2 + [pool] + [block5] * 5 + [pool] + [block5] * 2
    torchvision = stem + [block3] * 2 + [pool] + [block3] * 5 + [(2, 2, 0)] + [block3] * 2  # its maxpool4 is 2×2
    for name, steps in (("googlenet", paper), ("googlenet-torchvision", torchvision)):
        r, j, p = walk(steps)
        found = archscope.analyze(name).to_dict()["receptive_fields"]
        [row] = [row for row in found["rows"] if row["path"] == "inception5b"]
        assert (row["receptive_field"], row["jump"], row["effective_padding"]) == ([r, r], [j, j], [p, p])
        # every position sees the whole 224 input: the first window ends past it, the last starts before it
        assert found["final"]["covers_input"] == (r - p >= 224 and 6 * j - p <= 0)
    assert walk(paper)[0] == 715 and walk(torchvision) == (379, 32, 167)  # 379 - 167 < 224: corners see part


def test_stage_view_as_csv(capsys):
    assert main(["summary", "googlenet", "--view", "stages", "--format", "csv"]) == 0
    header = capsys.readouterr().out.splitlines()[0].split(",")
    assert {"ch1x1", "ch3x3red", "pool_proj", "params"} <= set(header)
