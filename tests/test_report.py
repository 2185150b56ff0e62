"""`archscope report`: the files, the stage table against Table 1's arithmetic, escaping, determinism,
atomic writes, and the summary part an Analysis shows in Jupyter."""

import csv
import io
import json
import re

import pytest
from torch import nn

import archscope
from archscope import output
from archscope.cli import main
from archscope.render import report as report_module
from archscope.render.report import markdown_escape

PAPER_TABLE_1 = {  # Szegedy et al. 2014, Table 1: #1×1, #3×3 reduce, #3×3, #5×5 reduce, #5×5, pool proj
    "inception3a": (192, 28, 64, 96, 128, 16, 32, 32),  # (input channels, size, the six columns)
    "inception3b": (256, 28, 128, 128, 192, 32, 96, 64),
    "inception4a": (480, 14, 192, 96, 208, 16, 48, 64),
    "inception4b": (512, 14, 160, 112, 224, 24, 64, 64),
    "inception4c": (512, 14, 128, 128, 256, 24, 64, 64),
    "inception4d": (512, 14, 112, 144, 288, 32, 64, 64),
    "inception4e": (528, 14, 256, 160, 320, 32, 128, 128),
    "inception5a": (832, 7, 256, 160, 320, 32, 128, 128),
    "inception5b": (832, 7, 384, 192, 384, 48, 128, 128),
}


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture(scope="module")
def googlenet_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    assert main(["report", "googlenet", "--input", "20,3,224,224", "--out", str(out)]) == 0
    return out / "googlenet"


def table(markdown: str, first_header: str) -> list[list[str]]:
    """The rows of the Markdown table whose header starts with ``first_header``."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]])
    return rows


def test_report_files(googlenet_report):
    names = sorted(path.name for path in googlenet_report.iterdir())
    assert names == ["activations.svg", "analysis.json", "bottleneck-savings.svg", "cumulative-mult-adds.svg",
                     "index.html", "index.md",
                     "layers.csv", "parameter-share.svg", "stage-costs.svg"]
    markdown = (googlenet_report / "index.md").read_text()
    for svg in [name for name in names if name.endswith(".svg")]:
        assert f"]({svg})" in markdown
        assert (googlenet_report / svg).read_text().startswith("<svg")
    html = (googlenet_report / "index.html").read_text()
    assert html.count("<svg") == 5
    assert not re.search(r"<script|<link|src=\"http|href=\"http|@import", html)  # self-contained, no script


def test_analysis_json_is_the_summary_document(googlenet_report, capsys):
    status, out, _ = run(capsys, "summary", "googlenet", "--input", "20,3,224,224", "--format", "json")
    assert status == 0
    document = json.loads((googlenet_report / "analysis.json").read_text())
    # the report's document adds the counterfactual it traced beside the model (googlenet-naive) and
    # the verdicts on the claims about it (those of `archscope check googlenet --format json`)
    assert document.pop("counterfactual")["model"] == "googlenet-naive"
    status, claims, _ = run(capsys, "check", "googlenet", "--format", "json")
    assert status == 0 and document.pop("claims") == json.loads(claims)["claims"]
    assert document == json.loads(out)


def test_layers_csv_has_a_row_per_call(googlenet_report, googlenet_at_20):
    rows = list(csv.DictReader(io.StringIO((googlenet_report / "layers.csv").read_text())))
    assert len(rows) == len(googlenet_at_20.rows)
    assert sum(int(row["self_mult_adds"]) for row in rows) == googlenet_at_20.totals["mult_adds"]


def test_totals_are_the_articles_figures(googlenet_report):
    markdown = (googlenet_report / "index.md").read_text()
    for line in ["| Total params | 13,385,816 |", "| Total mult-adds (G) | 31.82 (31,820,881,920) |",
                 "| Input size (MB) | 12.04 |", "| Forward/backward pass size (MB) | 1034.49 |",
                 "| Params size (MB) | 53.54 |", "| Estimated Total Size (MB) | 1100.08 |",
                 "| Depth (conv/linear layers on the longest path) | 22 |"]:  # "22 layers deep", the paper
        assert line in markdown


def conv_bn(c_in, c_out, k):
    return c_in * c_out * k * k + 2 * c_out  # conv without bias, BatchNorm weight and bias


def test_stage_table_is_table_1_derived_from_its_channels(googlenet_report):
    rows = {row[0]: row for row in table((googlenet_report / "index.md").read_text(), "Stage")}
    for name, (c_in, size, n1, r3, n3, r5, n5, pool) in PAPER_TABLE_1.items():
        row = rows[name]
        out = n1 + n3 + n5 + pool
        assert row[1:5] == ["inception", "", f"{size}×{size}×{out}", "2"]
        assert row[5:11] == [str(n) for n in (n1, r3, n3, r5, n5, pool)]
        params = (conv_bn(c_in, n1, 1) + conv_bn(c_in, r3, 1) + conv_bn(r3, n3, 3) + conv_bn(c_in, r5, 1)
                  + conv_bn(r5, n5, 5) + conv_bn(c_in, pool, 1))
        assert row[11] == f"{params:,}"
        mult_adds = size * size * (c_in * (n1 + r3 + r5 + pool) + r3 * n3 * 9 + r5 * n5 * 25)
        value, unit = row[12].split()
        assert unit == "M" and float(value) == pytest.approx(mult_adds / 1e6, abs=0.051 if mult_adds < 1e8 else 0.51)
    # the stem as Table 1 prints it: conv 7×7/2, max pool 3×3/2, then "conv 3×3/1, #3×3 reduce 64, #3×3 192"
    assert rows["conv1"][1:5] == ["convolution", "7×7/2", "112×112×64", "1"]
    assert rows["maxpool1"][1:4] == ["max pool", "3×3/2", "56×56×64"]
    assert rows["conv2, conv3"][1:5] == ["convolution", "3×3/1", "56×56×192", "2"]
    assert rows["conv2, conv3"][6:8] == ["64", "192"]
    assert rows["conv2, conv3"][11] == f"{conv_bn(64, 64, 1) + conv_bn(64, 192, 3):,}"
    assert rows["aux1"][1] == "side head (AuxClf)"  # its output feeds no later stage
    assert rows["fc"][11] == f"{1024 * 1000 + 1000:,}"


def test_torchvision_googlenet_notes_its_3x3_in_the_5x5_column(tmp_path, capsys):
    assert run(capsys, "report", "googlenet-torchvision", "--out", str(tmp_path))[0] == 0
    markdown = (tmp_path / "googlenet-torchvision" / "index.md").read_text()
    row = next(row for row in table(markdown, "Stage") if row[0] == "inception3a")
    assert row[9] == "32 (3×3)"  # torchvision issue #906: a 3×3 where Table 1 has the 5×5
    assert "torchvision's GoogLeNet has a 3×3" in markdown


def test_other_blocks_are_described_by_their_branches(tmp_path, capsys):
    assert run(capsys, "report", "inception-mnist", "--out", str(tmp_path))[0] == 0
    rows = table((tmp_path / "inception-mnist" / "index.md").read_text(), "Stage")
    branches = next(row for row in rows if row[0] == "incep1")[5]
    # 001's InceptionA: 1×1 16 | 1×1 16 → 5×5 24 | 1×1 16 → 3×3 24 → 3×3 24 | avg pool → 1×1 24
    assert markdown_unescape(branches) == "1×1 16 | 1×1 16 → 5×5 24 | 1×1 16 → 3×3 24 → 3×3 24 | avg pool → 1×1 24"


def markdown_unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 3, padding=1)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.conv(x)) + x


def repeated():
    return nn.Sequential(nn.Conv2d(3, 8, 1), nn.Sequential(Block(), Block(), Block()), nn.Flatten(), nn.Linear(8 * 4 * 4, 2))


def test_repeated_blocks_collapse_into_one_row():
    stages = archscope.analyze(repeated(), (2, 3, 4, 4)).stages["rows"]
    assert [(row["name"], row["repeat"]) for row in stages] == [("0", 1), ("1.0 … 1.2", 3), ("3", 1)]
    assert stages[1]["params"] == 3 * (8 * 8 * 9 + 8)
    assert stages[1]["mult_adds"] == 3 * 2 * 16 * 8 * 8 * 9  # batch 2, 4×4 positions
    assert stages[2]["folded"] == [] and stages[1]["folded"] == ["flatten"]


def evil_model():
    model = nn.Sequential()
    evil = type("Evil|`name`*", (nn.Module,), {"forward": lambda self, x: x * 2})
    model.add_module("<script>alert(1)</script>", evil())
    model.add_module("fc", nn.Linear(4, 2))
    return model


def test_names_are_text_not_markup(tmp_path, capsys):
    status, _, err = run(capsys, "report", f"{__file__}:evil_model", "--input", "1,4", "--out", str(tmp_path))
    assert status == 0, err
    (report,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    html = (report / "index.html").read_text()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    markdown = (report / "index.md").read_text()
    assert "<script>" not in markdown and r"\<script\>alert(1)\</script\>" in markdown
    layer_rows = table(markdown, "Layer (type:depth-idx)")
    assert all(len(row) == 4 for row in layer_rows)  # an escaped | does not split a cell
    assert any(r"Evil\|\`name\`\*" in row[0] for row in layer_rows)


def test_markdown_escape():
    assert markdown_escape("a|b`c*_d<e>[f]#") == r"a\|b\`c\*\_d\<e\>\[f\]\#"


def test_same_command_same_bytes(tmp_path, capsys):
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        assert run(capsys, "report", "resnet-mnist", "--out", str(out))[0] == 0
    files = sorted(path.name for path in (first / "resnet-mnist").iterdir())
    for name in files:
        assert (first / "resnet-mnist" / name).read_bytes() == (second / "resnet-mnist" / name).read_bytes(), name


def test_a_failed_run_leaves_the_previous_report(tmp_path, capsys, monkeypatch):
    assert run(capsys, "report", "lenet5", "--out", str(tmp_path))[0] == 0
    before = {path.name: path.read_bytes() for path in (tmp_path / "lenet5").iterdir()}
    written = []
    real_open = open

    def failing_open(path, *args, **kwargs):  # the third file of the new report cannot be written
        written.append(path)
        if len(written) == 3:
            raise OSError(28, "No space left on device")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(output, "open", failing_open, raising=False)
    status, _, err = run(capsys, "report", "lenet5", "--input", "2,1,32,32", "--out", str(tmp_path))
    assert status != 0 or err  # the error reaches the user
    after = {path.name: path.read_bytes() for path in (tmp_path / "lenet5").iterdir()}
    assert after == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["lenet5"]  # no temporary left behind


def test_a_render_error_writes_nothing(tmp_path, capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("template exploded")

    monkeypatch.setattr(report_module, "render", broken)
    status, _, err = run(capsys, "report", "lenet5", "--out", str(tmp_path))
    assert status == 2 and "template exploded" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("make_target", ["file", "below a file"])
def test_out_that_is_not_a_directory(tmp_path, capsys, make_target):
    blocker = tmp_path / "taken"
    blocker.write_text("keep me")
    target = blocker if make_target == "file" else blocker / "sub"
    status, out, err = run(capsys, "report", "lenet5", "--out", str(target))
    assert status == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and str(target) in err
    assert blocker.read_text() == "keep me"


def test_model_or_all(capsys):
    assert run(capsys, "report")[0] == 2
    assert run(capsys, "report", "lenet5", "--all")[0] == 2


def test_jupyter_shows_the_summary_part(googlenet_at_20):
    html = googlenet_at_20._repr_html_()
    assert html.startswith('<div class="archscope">')
    assert "13,385,816" in html and "inception3a" in html and "<svg" not in html


def test_layers_csv_reads_back_as_what_pandas_writes(googlenet_report, googlenet_at_20):
    import pandas

    # the same table, read back; pandas itself would write the root's parent (None) in an int column as 0.0
    expected = pandas.DataFrame(googlenet_at_20.rows).to_csv(index=False, lineterminator="\n")
    pandas.testing.assert_frame_equal(pandas.read_csv(googlenet_report / "layers.csv"),
                                      pandas.read_csv(io.StringIO(expected)))


def test_counters_section_checks_each_tool(googlenet_report, tmp_path, capsys):
    rows = table((googlenet_report / "index.md").read_text(), "Tool")
    assert [row[0].split()[0] for row in rows] == ["torchinfo", "fvcore", "torch"]
    assert [row[4] for row in rows] == ["yes", "yes", "yes"]  # reproduction == the tool's real run
    assert rows[0][2].endswith("× 20")  # ran at batch 1, scaled: GoogLeNet is linear in batch
    assert run(capsys, "report", "lenet5", "--no-counters", "--out", str(tmp_path))[0] == 0
    assert "## Counters" not in (tmp_path / "lenet5" / "index.md").read_text()
