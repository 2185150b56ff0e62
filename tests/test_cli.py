"""The command line: the interface contract of DESIGN.md, lazy imports, and one-line errors."""

import csv
import io
import json
import subprocess
import sys
import textwrap

import pytest

from archscope.cli import main


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_list_and_help_do_not_import_torch():
    code = textwrap.dedent("""
        import contextlib, io, sys
        from archscope.cli import main
        with contextlib.redirect_stdout(io.StringIO()) as out:
            assert main(["list"]) == 0
            try:
                main(["--help"])
            except SystemExit as exit:
                assert exit.code == 0
        assert "googlenet" in out.getvalue()
        heavy = [name for name in ("torch", "pandas", "matplotlib") if name in sys.modules]
        assert not heavy, heavy
    """)
    subprocess.run([sys.executable, "-c", code], check=True)


def test_list_text_shows_counts_without_tracing(capsys):
    status, out, _ = run(capsys, "list")
    header, *rows = out.splitlines()
    assert status == 0 and header.split() == ["Model", "Params", "Default", "input", "Family", "Source"]
    (googlenet,) = [row for row in rows if row.startswith("googlenet ")]
    assert "13,385,816" in googlenet and "20,3,224,224" in googlenet  # the 003 article's figure and input


def test_list_json(capsys):
    status, out, _ = run(capsys, "list", "--format", "json")
    assert status == 0
    (googlenet,) = [m for m in json.loads(out)["models"] if m["name"] == "googlenet"]
    assert googlenet["default_input"] == [[20, 3, 224, 224]]
    assert "003_b3c5f7bfde2fbe5b.txt" in googlenet["source"]


def test_summary_json_document(capsys):
    status, out, err = run(capsys, "summary", "googlenet", "--input", "2,3,224,224", "--format", "json")
    assert status == 0 and err == ""
    document = json.loads(out)
    assert {"model", "input", "device", "totals", "layers"} <= set(document)
    assert document["model"] == "googlenet" and document["input"] == [[2, 3, 224, 224]]
    assert document["device"] == "meta"
    assert set(document["totals"]) == {
        "params", "trainable_params", "frozen_params", "buffers", "mult_adds", "flops",
        "input_bytes", "forward_backward_bytes", "params_bytes", "total_bytes"}
    assert document["totals"]["input_bytes"] == 2 * 3 * 224 * 224 * 4
    layer = document["layers"][3]
    assert {"path", "type", "depth", "call", "output_shape", "params", "mult_adds"} <= set(layer)
    assert (layer["path"], layer["type"], layer["output_shape"]) == ("conv1.layers.0", "Conv2d", [2, 64, 112, 112])
    assert layer["params"] == 7 * 7 * 3 * 64 and layer["mult_adds"] == 2 * 64 * 112 * 112 * 3 * 7 * 7


def test_summary_is_deterministic(capsys):
    outputs = {run(capsys, "summary", "googlenet", "--format", "json")[1] for _ in range(2)}
    assert len(outputs) == 1


def test_summary_csv_has_a_row_per_call(capsys):
    _, out, _ = run(capsys, "summary", "googlenet", "--input", "1,3,224,224", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    _, document, _ = run(capsys, "summary", "googlenet", "--input", "1,3,224,224", "--format", "json")
    assert len(rows) == len(json.loads(document)["layers"])
    assert rows[3]["path"] == "conv1.layers.0" and int(rows[3]["params"]) == 9408


def test_summary_text_depth(capsys):
    _, shallow, _ = run(capsys, "summary", "googlenet", "--depth", "1")
    _, deep, _ = run(capsys, "summary", "googlenet", "--depth", "3")
    assert "Conv2d: 3-1" in deep and "Conv2d: 3-1" not in shallow and "BasicConv2d: 1-1" in shallow
    assert "Total params: 13,385,816" in shallow and "Total mult-adds (G): 31.82" in shallow


def test_model_spec_from_file(capsys, tmp_path):
    (tmp_path / "net.py").write_text(textwrap.dedent("""
        import torch
        def make():
            return torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.Flatten(), torch.nn.LazyLinear(4))
        def tiny():
            return torch.nn.Linear(5, 2)
        NOT_A_MODEL = 42
        def returns_int():
            return 3
    """))
    status, out, _ = run(capsys, "summary", f"{tmp_path}/net.py:tiny", "--input", "7,5", "--format", "json")
    assert status == 0
    document = json.loads(out)
    assert document["totals"]["params"] == 5 * 2 + 2 and document["totals"]["mult_adds"] == 7 * 5 * 2


BAD_INPUTS = ["20,3,x,224", "20,,3,224", "0,3,224,224", "-1,3,224,224", "20,3,224,224,", "1.5,3,224,224",
              "99999999999999999999,3,224,224", "", ";", "20,3,224,224;", "２0,3,224,224", "1e3,3,224,224"]


@pytest.mark.parametrize("shape", BAD_INPUTS)
def test_malformed_input_is_one_line_exit_2(capsys, shape):
    status, out, err = run(capsys, "summary", "googlenet", f"--input={shape}")
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("archscope: --input") and "Traceback" not in err


def test_unknown_model_suggests_close_names(capsys):
    status, _, err = run(capsys, "summary", "googlenett")
    assert status == 2 and "unknown model 'googlenett'" in err and "googlenet" in err.split("mean")[1]


@pytest.mark.parametrize("spec, words", [
    ("no_such_module_xyz:make", "importing 'no_such_module_xyz' failed"),
    ("missing/file.py:make", "no file"),
    ("json:nothing_here", "has no attribute"),
    ("json:dumps", "calling it failed"),
])
def test_bad_model_specs(capsys, spec, words):
    status, _, err = run(capsys, "summary", spec, "--input", "1,3")
    assert status == 2 and words in err and err.count("\n") == 1


def test_spec_that_is_not_a_module(capsys, tmp_path):
    (tmp_path / "m.py").write_text("NOT_A_MODEL = 42\ndef returns_int():\n    return 3\n")
    for name, words in (("NOT_A_MODEL", "is of type int"), ("returns_int", "returned an object of type int")):
        status, _, err = run(capsys, "summary", f"{tmp_path}/m.py:{name}", "--input", "1,3")
        assert status == 2 and words in err


def test_zoo_model_needs_no_input_but_spec_does(capsys, tmp_path):
    (tmp_path / "m.py").write_text("import torch\ndef tiny():\n    return torch.nn.Linear(5, 2)\n")
    status, _, err = run(capsys, "summary", f"{tmp_path}/m.py:tiny")
    assert status == 2 and "--input" in err


def test_channel_mismatch_names_layer_and_shape(capsys):
    status, _, err = run(capsys, "summary", "googlenet", "--input", "1,4,224,224")
    assert status == 2 and err.count("\n") == 1
    assert "conv1.layers.0 (Conv2d)" in err and "[1, 4, 224, 224]" in err


def test_collapsed_spatial_size_names_layer(capsys):
    status, _, err = run(capsys, "summary", "googlenet", "--input", "1,3,32,32")
    assert status == 2 and "forward failed in" in err and "AvgPool2d" in err


def test_bad_options_exit_2(capsys):
    for argv in (["summary", "googlenet", "--device", "gpu"], ["summary", "googlenet", "--format", "xml"],
                 ["summary", "googlenet", "--depth", "-1"], ["summary"], ["frobnicate"]):
        with pytest.raises(SystemExit) as exit:
            main(argv)
        assert exit.value.code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("archscope: "), argv


def test_debug_shows_the_traceback():
    result = subprocess.run([sys.executable, "-m", "archscope", "--debug", "summary", "googlenet", "--input", "1,4,224,224"],
                            capture_output=True, text=True)
    assert result.returncode != 0 and "Traceback" in result.stderr
    plain = subprocess.run([sys.executable, "-m", "archscope", "summary", "googlenet", "--input", "1,4,224,224"],
                           capture_output=True, text=True)
    assert plain.returncode == 2 and "Traceback" not in plain.stderr
