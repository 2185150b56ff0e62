"""`archscope diff`: alignment by path then structure, the groups of what differs, and the two
comparisons the issue names. Expected counts come from the models' definitions as their sources
describe them: Table 1 of the 2014 paper (nine Inception blocks, each with one 5×5 behind a
"#5×5 reduce"), Figure 3 (two LRN layers), torchvision's BasicConv2d (conv without bias + batch norm).
"""

import json

import pytest

import archscope
from archscope.analysis.diff import align, by_path, by_type, by_type_and_shape
from archscope.cli import main

# Table 1: #1×1, #3×3 reduce, #3×3, #5×5 reduce, #5×5, pool proj
TABLE_1 = {"3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64), "4a": (192, 96, 208, 16, 48, 64),
           "4b": (160, 112, 224, 24, 64, 64), "4c": (128, 128, 256, 24, 64, 64), "4d": (112, 144, 288, 32, 64, 64),
           "4e": (256, 160, 320, 32, 128, 128), "5a": (256, 160, 320, 32, 128, 128), "5b": (384, 192, 384, 48, 128, 128)}
BLOCKS = list(TABLE_1)
CONVS = 3 + 6 * len(BLOCKS)  # conv1, conv2, conv3 and six per block (1×1, 3×3 reduce, 3×3, 5×5 reduce, 5×5, pool proj)


def row(path, type_, shape, call=0):
    return {"path": path, "call": call, "type": type_, "output_shapes": [shape]}


KEYS = (("path", by_path), ("structure", by_type_and_shape), ("structure", by_type))


def test_align_pairs_by_path_then_structure_in_order():
    a = [row("stem", "Conv2d", [1, 8, 4, 4]), row("stem.act", "ReLU", [1, 8, 4, 4]), row("head", "Linear", [1, 10])]
    b = [row("features.0", "Conv2d", [1, 8, 4, 4]), row("features.1", "BatchNorm2d", [1, 8, 4, 4]),
         row("features.2", "ReLU", [1, 8, 4, 4]), row("head", "Linear", [1, 10])]
    pairs = [(x and x["path"], y and y["path"], how) for x, y, how in align(a, b, KEYS)]
    assert pairs == [("stem", "features.0", "structure"), (None, "features.1", None),
                     ("stem.act", "features.2", "structure"), ("head", "head", "path")]


def test_align_never_crosses_a_path_match():
    a = [row("x", "ReLU", [1, 4]), row("m", "Linear", [1, 4]), row("y", "Conv2d", [1, 4])]
    b = [row("y2", "Conv2d", [1, 4]), row("m", "Linear", [1, 4]), row("x2", "ReLU", [1, 4])]
    pairs = [(x and x["path"], y and y["path"]) for x, y, _ in align(a, b, KEYS)]
    assert ("m", "m") in pairs and ("x", "x2") not in pairs and ("y", "y2") not in pairs
    assert len(pairs) == 5


def test_align_by_type_when_shapes_differ():
    a, b = [row("a", "Conv2d", [1, 8, 4, 4])], [row("b", "Conv2d", [1, 16, 4, 4])]
    assert [how for _, _, how in align(a, b, KEYS)] == ["structure"]
    assert [how for _, _, how in align(a, b, KEYS[:2])] == [None, None]


@pytest.fixture(scope="module")
def paper_vs_torchvision():
    return archscope.diff("googlenet-paper", "googlenet-torchvision")


def group(document, **fields):
    found = [change for change in document["changes"]
             if {item["field"] for item in change["fields"]} == set(fields)
             and all(change_field["values"][0] == list(fields[change_field["field"]]) for change_field in change["fields"])]
    assert len(found) == 1, [change["fields"] for change in document["changes"]]
    return found[0]


def only(document, side, type_):
    return next(item for item in document["only"] if item["side"] == side and item["type"] == type_)


def test_paper_against_torchvision_shows_the_3x3_for_the_5x5(paper_vs_torchvision):
    kernel = group(paper_vs_torchvision, kernel_size=((5, 5), (3, 3)), padding=((2, 2), (1, 1)),
                   parameters=(("weight", "bias"), ("weight",)))
    assert kernel["count"] == len(BLOCKS)
    assert [a for a, _ in kernel["paths"]] == [f"inception{block}.branch3.1.conv" for block in BLOCKS]
    five_by_five = {block: widths[3:5] for block, widths in TABLE_1.items()}  # (#5×5 reduce, #5×5)
    paper = sum(reduce * out * 25 + out for reduce, out in five_by_five.values())
    torchvision = sum(reduce * out * 9 for reduce, out in five_by_five.values())
    assert kernel["params"] == [paper, torchvision]
    size = {"3": 28 * 28, "4": 14 * 14, "5": 7 * 7}
    assert kernel["mult_adds"] == [sum(r * o * k * size[b[0]] for b, (r, o) in five_by_five.items()) for k in (25, 9)]
    bias = group(paper_vs_torchvision, parameters=(("weight", "bias"), ("weight",)))
    assert bias["count"] == CONVS - len(BLOCKS)


def test_paper_against_torchvision_shows_batch_norm_for_lrn(paper_vs_torchvision):
    assert only(paper_vs_torchvision, "a", "LocalResponseNorm")["paths"] == ["norm1", "norm2"]
    assert only(paper_vs_torchvision, "b", "BatchNorm2d")["count"] == CONVS
    types = {item["type"]: (item["a"], item["b"]) for item in paper_vs_torchvision["types"]}
    assert types["BatchNorm2d"] == (0, CONVS) and types["LocalResponseNorm"] == (2, 0)
    totals = {item["key"]: item for item in paper_vs_torchvision["totals"]}
    # the catalog's published counts: Table 1 as built (13,378,280), torchvision's num_params (13,004,888)
    assert (totals["params"]["a"], totals["params"]["b"]) == (13_378_280, 13_004_888)
    assert totals["params"]["delta"] == 13_004_888 - 13_378_280


def test_the_api_diff_of_two_modules_by_hand():
    from torch import nn

    document = archscope.diff(nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU()),
                              nn.Sequential(nn.Conv2d(3, 8, 3, bias=False), nn.ReLU()), (1, 3, 10, 10))
    (change,) = document["changes"]
    assert change["fields"] == [{"field": "parameters", "values": [[("weight", "bias"), ("weight",)]]}]
    assert change["params"] == [3 * 8 * 9 + 8, 3 * 8 * 9]
    totals = {item["key"]: item for item in document["totals"]}
    assert totals["params"]["delta"] == -8 and totals["mult_adds"]["delta"] == 0


def test_an_int_setting_and_its_tuple_are_one_setting():
    from torch import nn

    document = archscope.diff(nn.Sequential(nn.MaxPool2d(2), nn.AdaptiveAvgPool2d(1)),
                              nn.Sequential(nn.MaxPool2d((2, 2)), nn.AdaptiveAvgPool2d((1, 1))), (1, 3, 8, 8))
    assert document["changes"] == []
    document = archscope.diff(nn.MaxPool2d(2), nn.MaxPool2d((2, 3)), (1, 3, 12, 12))
    assert document["changes"][0]["fields"] == [  # a pool's stride defaults to its kernel
        {"field": "kernel_size", "values": [[2, (2, 3)]]}, {"field": "stride", "values": [[2, (2, 3)]]}]


CONTAINERS = """
import torch
from torch import nn

class BatchNormAct(nn.BatchNorm2d):  # timm's BatchNormAct2d: a batch norm with a child activation
    def __init__(self, channels, eps=1e-5):
        super().__init__(channels, eps=eps)
        self.act = nn.ReLU()
    def forward(self, x):
        return self.act(super().forward(x))

class Scaled(nn.Module):  # a parameter of its own beside a child
    def __init__(self, n):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(n))
        self.act = nn.ReLU()
    def forward(self, x):
        return self.act(x * self.scale.sum())

def a():
    return nn.Sequential(nn.Conv2d(3, 8, 3), BatchNormAct(8), Scaled(10))

def b():
    return nn.Sequential(nn.Conv2d(3, 8, 3), BatchNormAct(8, eps=1e-3), Scaled(1000))
"""


def test_containers_with_parameters_of_their_own_are_compared(tmp_path, capsys):
    (tmp_path / "nets.py").write_text(CONTAINERS)
    spec = str(tmp_path / "nets.py")
    document = archscope.diff(f"{spec}:a", f"{spec}:b", (1, 3, 10, 10))
    by_type = {change["type_a"]: change for change in document["changes"]}
    assert by_type["BatchNormAct"]["fields"] == [{"field": "eps", "values": [[1e-5, 1e-3]]}]
    assert by_type["Scaled"]["params"] == [10, 1000] and by_type["Scaled"]["figures"] == ["params"]
    assert main(["diff", f"{spec}:a", f"{spec}:b", "--input", "1,3,10,10"]) == 0
    text = capsys.readouterr().out
    assert "1 × BatchNormAct: eps 1e-05 → 0.001" in text and "1 × Scaled: params (no recorded setting differs)" in text
    assert "same layers" not in text


def test_same_layers_but_other_totals_is_not_called_the_same(tmp_path, capsys):
    (tmp_path / "nets.py").write_text(
        "import torch\nfrom torch import nn\n"
        "class Offset(nn.Module):\n"
        "    def __init__(self, n):\n        super().__init__()\n"
        "        self.register_buffer('offset', torch.zeros(n))\n        self.conv = nn.Conv2d(3, 4, 1)\n"
        "    def forward(self, x):\n        return self.conv(x) + self.offset.sum()\n"
        "def a():\n    return Offset(1)\n"
        "def b():\n    return Offset(1000)\n")
    spec = str(tmp_path / "nets.py")
    assert main(["diff", f"{spec}:a", f"{spec}:b", "--input", "1,3,4,4"]) == 0
    text = capsys.readouterr().out
    assert "same figures, yet the totals differ: the difference is in what no call holds" in " ".join(text.split())
    assert "+999 (+99900.00%)" in text
    assert "Top-level calls" in text  # the conv is Offset's child


def test_a_one_layer_model_has_no_empty_top_level_table(capsys):
    from torch import nn

    from archscope.render.diff import diff_text

    text = diff_text(archscope.diff(nn.Conv2d(3, 8, 3), nn.Conv2d(3, 8, 5, padding=1), (1, 3, 8, 8)))
    assert "kernel_size 3×3 → 5×5; padding 0×0 → 1×1" in text and "Top-level calls" not in text


def test_a_change_below_the_rounding_is_not_shown_as_zero():
    from archscope.render.diff import change_text

    assert change_text("params_bytes", 1_000_000, 1_001_536) == "+1,536 bytes (+0.15%)"
    assert change_text("params", 13_385_816, 13_385_817) == "+1 (+<0.01%)"
    assert change_text("total_bytes", 2_000_000, 1_000_000) == "-1.00 (-50.00%)"


def test_a_zoo_model_that_cannot_take_the_first_input_runs_at_its_own(capsys):
    document = archscope.diff("inception-mnist", "lenet5")
    assert document["inputs"][0] != document["inputs"][1]
    assert main(["diff", "lenet5", "alexnet", "--format", "md"]) == 0
    markdown = capsys.readouterr().out
    assert "alexnet cannot take lenet5's input: each model ran at its own." in markdown
    assert main(["diff", "lenet5", "alexnet"]) == 0
    assert capsys.readouterr().out.splitlines()[1] == "alexnet cannot take lenet5's input: each model ran at its own."


def test_the_two_articles_choices():
    document = archscope.diff("googlenet", "googlenet-lrn")
    assert document["inputs"] == [[[20, 3, 224, 224]]] * 2  # both at googlenet's (003's) input
    convs = CONVS + 2  # the two auxiliary heads' 1×1 convolutions run in eval in both articles' code
    assert group(document, parameters=(("weight",), ("weight", "bias")))["count"] == convs
    assert only(document, "a", "BatchNorm2d")["count"] == convs
    assert only(document, "b", "LocalResponseNorm")["count"] == 2
    pools = group(document, ceil_mode=(True, False), padding=(0, 1))
    assert pools["count"] == 4
    assert [document["layers"][number]["b"]["call"] for number in pools["layers"]] == [0, 1, 2, 3]  # one shared pool
    totals = {item["key"]: item for item in document["totals"]}
    assert totals["mult_adds"]["delta"] == 0  # the same convolutions; biases are not mult-adds
    # every conv: 000 adds a bias (C_out), 003 a batch norm (2·C_out) instead: 003 holds Σ C_out more
    out_channels = 64 + 64 + 192 + sum(sum(widths) for widths in TABLE_1.values()) + 2 * 128
    assert totals["params"]["delta"] == -out_channels


def test_a_model_against_itself_has_no_differences():
    document = archscope.diff("inception-v1-block", "inception-v1-block")
    assert document["changes"] == [] and document["only"] == []
    assert all(item["delta"] == 0 for item in document["totals"])
    assert document["counts"]["matched_by_path"] == document["counts"]["a_layers"]


def test_cli_formats(capsys):
    assert main(["diff", "googlenet-paper", "googlenet-torchvision"]) == 0
    text = capsys.readouterr().out
    assert "9 × Conv2d: kernel_size 5×5 → 3×3; padding 2×2 → 1×1; bias dropped" in text
    assert "57 × BatchNorm2d only in googlenet-torchvision" in text and "2 × LocalResponseNorm only in googlenet-paper" in text
    assert f"Params{' ' * 5}" in text and "-373,392 (-2.79%)" in text
    assert main(["diff", "googlenet-paper", "googlenet-torchvision", "--format", "md"]) == 0
    markdown = capsys.readouterr().out
    assert markdown.startswith("# googlenet-paper and googlenet-torchvision at 1×3×224×224")
    assert "| inception3a.branch3.1.conv (Conv2d) | inception3a.branch3.1.conv (Conv2d) | path | kernel\\_size 5×5 → 3×3" in markdown
    assert main(["diff", "inception-v1-block", "inception-v1-bn-block", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert set(document) == {"models", "inputs", "totals", "counts", "types", "changes", "only", "blocks", "layers"}


@pytest.mark.parametrize("argv, message", [
    (["diff", "googlenet"], "give MODEL_A and MODEL_B"),
    (["diff", "googlenet", "nonet"], "unknown model 'nonet'"),
    (["diff", "inception-mnist", "archscope.zoo.googlenet:googlenet"],
     "traced at the input of inception-mnist; give an input size that both models take: --input"),
    (["diff", "inception-mnist", "googlenet", "--input", "1,1,28,28"], "forward failed"),
    (["diff", "googlenet", "googlenet-lrn", "--out", "x"], "--out is for --all"),
    (["diff", "--all", "--format", "json"], "--all writes Markdown files"),
    (["diff", "googlenet", "googlenet-lrn", "--input", "1,3,0,0"], "--input '1,3,0,0'"),
    (["diff", "--all", "googlenet"], "--all takes no MODEL"),
])
def test_cli_errors_are_one_line(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_untrusted_module_names_stay_text_in_markdown(tmp_path, capsys):
    (tmp_path / "odd.py").write_text(
        "from torch import nn\n"
        "Odd = type('A|B<script>alert(1)</script>', (nn.Conv2d,), {})\n"
        "def make():\n    return nn.Sequential(Odd(3, 4, 3))\n"
        "def plain():\n    return nn.Sequential(nn.Conv2d(3, 4, 3))\n")
    spec = str(tmp_path / "odd.py")
    assert main(["diff", f"{spec}:make", f"{spec}:plain", "--input", "1,3,8,8", "--format", "md"]) == 0
    markdown = capsys.readouterr().out
    assert "<script>" not in markdown and "A\\|B\\<script\\>" in markdown


def test_diff_all_writes_the_zoo_pairs_and_an_index(tmp_path, capsys):
    assert main(["diff", "--all", "--out", str(tmp_path)]) == 0
    names = sorted(path.name for path in tmp_path.iterdir())
    assert "googlenet-paper--googlenet-torchvision.md" in names and "googlenet--googlenet-lrn.md" in names
    index = (tmp_path / "index.md").read_text()
    assert all(f"({name})" in index for name in names if name != "index.md")
