"""The regression kit: `archscope lock` / `verify`, the pytest fixture `archscope_lock` (run in an
inner pytest session through the installed pytest11 entry point), and the one-number assertions.

Expected figures are hand formulas: a 3×3 convolution from 3 to C channels holds 3·C·9 + C
parameters and costs 3·C·9·H'·W' mult-adds; the article 003's GoogLeNet prints 13,385,816 and 31.82 G.
"""

import json
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from torch import nn

from archscope.cli import main
from archscope.errors import UsageError
from archscope.testing import assert_mult_adds, assert_params

pytest_plugins = ["pytester"]

NET = """
from torch import nn

def make():
    return nn.Sequential(nn.Conv2d(3, {c}, 3), nn.ReLU(), nn.Flatten(), nn.Linear({c} * 6 * 6, 10))
"""


def conv_params(c: int) -> int:
    return 3 * c * 9 + c


def write_net(folder: Path, channels: int) -> str:
    (folder / "net.py").write_text(NET.format(c=channels))
    return f"{folder / 'net.py'}:make"


def run(capsys, *argv) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# -- archscope lock / verify -------------------------------------------------------------------

def test_lock_is_one_layer_call_per_line_and_the_same_bytes_twice(tmp_path, capsys):
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    for path in (first, second):
        assert run(capsys, "lock", "inception-v1-block", "-o", str(path))[0] == 0
    assert first.read_bytes() == second.read_bytes()
    text = first.read_text()
    lock = json.loads(text)
    layer_lines = [line.strip().rstrip(",") for line in text.splitlines() if line.strip().startswith('{"path"')]
    assert [json.loads(line) for line in layer_lines] == lock["layers"]
    # Table 1's inception (3a): 1×1 64; 1×1 96 → 3×3 128; 1×1 16 → 5×5 32; pool → 1×1 32, from 192 channels, biases
    params = (192 * 64 + 64) + (192 * 96 + 96) + (96 * 128 * 9 + 128) + (192 * 16 + 16) + (16 * 32 * 25 + 32) + (192 * 32 + 32)
    assert lock["totals"]["params"] == params == 163_696
    assert lock["totals"]["mult_adds"] == (params - (64 + 96 + 128 + 16 + 32 + 32)) * 28 * 28
    assert set(lock["made_with"]) == {"archscope", "torch"}
    assert [list(layer) for layer in lock["layers"][:1]] == [["path", "call", "type", "output_shapes", "params", "mult_adds"]]


def test_lock_default_name_and_verify_ok(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "lock", "googlenet")[0] == 0
    lock = json.loads((tmp_path / "googlenet.lock.json").read_text())
    assert lock["input"] == [[20, 3, 224, 224]] and lock["totals"]["params"] == 13_385_816  # the 003 article's
    status, out, _ = run(capsys, "verify", "googlenet.lock.json")
    assert status == 0 and "googlenet.lock.json: ok" in out


def test_verify_shows_the_drift_by_hand_then_update_accepts_it(tmp_path, capsys):
    spec = write_net(tmp_path, 8)
    lock = tmp_path / "net.lock.json"
    assert run(capsys, "lock", spec, "--input", "1,3,8,8", "-o", str(lock))[0] == 0
    write_net(tmp_path, 16)
    status, out, _ = run(capsys, "verify", str(lock))
    assert status == 1
    before, after = conv_params(8) + 8 * 36 * 10 + 10, conv_params(16) + 16 * 36 * 10 + 10
    assert f"Params: {before:,} → {after:,}  +{after - before:,} ({(after - before) / before * 100:+.2f}%)" in out
    assert f"changed: 0 (Conv2d)  output 1×8×6×6 → 1×16×6×6; params {conv_params(8)} → {conv_params(16)}, +{conv_params(8)} (+100.00%)" in out
    assert "changed: 2 (Flatten)  output 1×288 → 1×576" in out
    assert lock.read_text().count('"params": 224') == 1  # not rewritten without --update
    status, out, _ = run(capsys, "verify", str(lock), "--update")
    assert status == 0 and f"params {conv_params(8)} → {conv_params(16)}" in out  # what was accepted
    assert out.endswith(f"{lock}: updated to the new trace\n")
    assert run(capsys, "verify", str(lock))[0] == 0


def test_verify_of_several_locks_traces_all_before_it_writes(tmp_path, capsys):
    """A lock whose model is gone fails naming that lock, and no other lock is rewritten."""
    spec = write_net(tmp_path, 8)
    first, second = tmp_path / "first.lock.json", tmp_path / "second.lock.json"
    for lock in (first, second):
        run(capsys, "lock", spec, "--input", "1,3,8,8", "-o", str(lock))
    write_net(tmp_path, 16)
    document = json.loads(second.read_text())
    document["model"] = f"{tmp_path / 'gone.py'}:make"
    second.write_text(json.dumps(document))
    before = first.read_bytes()
    status, out, err = run(capsys, "verify", str(first), str(second), "--update")
    assert status == 2 and out == "" and first.read_bytes() == before
    assert err.startswith(f"archscope: {second}: MODEL") and "no file" in err and "current directory" in err
    (tmp_path / "gone.py").write_text("def make():\n    raise RuntimeError('boom')\n")
    status, _, err = run(capsys, "verify", str(second))
    assert status == 2 and "calling it failed: RuntimeError: boom" in err and "current directory" not in err


def test_verify_pairs_calls_by_path_only(tmp_path, capsys):
    """A layer inserted into a Sequential shifts the indices after it: by path, each later index
    changed type and the last one is added (a lock does not guess that a layer moved)."""
    spec = write_net(tmp_path, 8)
    lock = tmp_path / "net.lock.json"
    run(capsys, "lock", spec, "--input", "1,3,8,8", "-o", str(lock))
    (tmp_path / "net.py").write_text(NET.format(c=8).replace("nn.ReLU(), ", "nn.GELU(), nn.Identity(), "))
    status, out, _ = run(capsys, "verify", str(lock))
    assert status == 1
    assert "changed: 1 (GELU)  type ReLU → GELU" in out
    assert "changed: 2 (Identity)  type Flatten → Identity; output 1×288 → 1×8×6×6" in out
    assert f"changed: 3 (Flatten)  type Linear → Flatten; output 1×10 → 1×288; params {288 * 10 + 10:,} → 0" in out
    assert "added: 4 (Linear)  output 1×10" in out and "removed:" not in out
    (tmp_path / "net.py").write_text(NET.format(c=8).replace("nn.ReLU(), ", ""))
    status, out, _ = run(capsys, "verify", str(lock))
    assert status == 1 and "removed: 3 (Linear)  output 1×10, params 2,890" in out


BAD_LOCKS = {
    "not JSON": ("{nope", "not valid JSON (line 1, column 2"),
    "a list": ("[1, 2]", "not an archscope lock"),
    "another JSON file": ('{"model": "googlenet"}', "not an archscope lock"),
    "format 2": ('{"archscope_lock": 2}', "lock format 2 is not 1"),
    "no layers": ('{"archscope_lock": 1, "model": "googlenet", "traceable": true, "input": [[1, 3, 224, 224]], '
                  '"mode": "eval", "totals": {}}', "'layers' is missing"),
    "bad input": ('{"archscope_lock": 1, "model": "googlenet", "traceable": true, "input": [[1, 0]], '
                  '"mode": "eval", "totals": {}, "layers": []}', "'input'"),
    "totals not integers": ('{"archscope_lock": 1, "model": "googlenet", "traceable": true, "input": [[1, 3, 224, 224]], '
                            '"mode": "eval", "totals": {"params": "13M"}, "layers": []}', "totals: 'params'"),
    "not UTF-8": (b"\xff\xfe{", "cannot read lock"),
}
GOOD_HEAD = '"archscope_lock": 1, "model": "inception-v1-block", "traceable": true, "input": [[1, 192, 28, 28]]'
TOTALS = {"params": 1, "trainable_params": 1, "frozen_params": 0, "buffers": 0, "mult_adds": 0, "input_bytes": 0,
          "forward_backward_bytes": 0, "params_bytes": 0, "total_bytes": 0}
LAYER = {"path": "", "call": 0, "type": "Conv2d", "output_shapes": [[1, 2]], "params": 1, "mult_adds": 0}


def lock_with(mode="eval", totals=None, layer=None) -> str:
    return (f'{{{GOOD_HEAD}, "mode": {json.dumps(mode)}, "totals": {json.dumps({**TOTALS, **(totals or {})})}, '
            f'"layers": [{json.dumps({**LAYER, **(layer or {})})}]}}')


BAD_LOCKS.update({
    "a mode archscope has not": (lock_with(mode="fast"), "'mode' 'fast' is not one of eval, train"),
    "a negative total": (lock_with(totals={"params": -5}), "totals: 'params' is missing or not a count"),
    "a boolean total": (lock_with(totals={"buffers": True}), "totals: 'buffers' is missing or not a count"),
    "a shape of strings": (lock_with(layer={"output_shapes": [["1", "2"]]}), "layer 1: 'output_shapes'"),
    "a shape not in a list": (lock_with(layer={"output_shapes": [1, 2]}), "layer 1: 'output_shapes'"),
    "a negative call": (lock_with(layer={"call": -1}), "layer 1: 'call'"),
    "a path that is a number": (lock_with(layer={"path": 3}), "layer 1: 'path' is missing or not a string"),
    "format true": ('{"archscope_lock": true}', "lock format True is not 1"),
})


@pytest.mark.parametrize("case", BAD_LOCKS)
def test_a_file_that_is_not_a_lock_is_one_line_exit_2(tmp_path, capsys, case):
    text, expected = BAD_LOCKS[case]
    path = tmp_path / "x.lock.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    status, out, err = run(capsys, "verify", str(path))
    assert status == 2 and out == ""
    assert expected in err and err.count("\n") == 1 and "Traceback" not in err


def test_a_broken_layer_row_and_missing_files(tmp_path, capsys):
    lock = tmp_path / "g.lock.json"
    run(capsys, "lock", "inception-v1-block", "-o", str(lock))
    document = json.loads(lock.read_text())
    del document["layers"][3]["mult_adds"]
    lock.write_text(json.dumps(document))
    status, _, err = run(capsys, "verify", str(lock))
    assert status == 2 and "layer 4: 'mult_adds' is missing" in err
    status, out, err = run(capsys, "verify", str(tmp_path / "absent.json"))
    assert status == 2 and "No such file" in err
    status, _, err = run(capsys, "verify", str(tmp_path))
    assert status == 2 and "cannot read lock" in err


def test_every_file_is_read_before_any_is_traced(tmp_path, capsys):
    good = tmp_path / "good.json"
    run(capsys, "lock", "inception-v1-block", "-o", str(good))
    (tmp_path / "bad.json").write_text("[]")
    status, out, err = run(capsys, "verify", str(good), str(tmp_path / "bad.json"))
    assert status == 2 and out == "" and "bad.json" in err


def test_lock_to_a_directory_or_a_missing_folder_writes_nothing(tmp_path, capsys):
    status, _, err = run(capsys, "lock", "inception-v1-block", "-o", str(tmp_path))
    assert status == 2 and "is a directory" in err
    status, _, err = run(capsys, "lock", "inception-v1-block", "-o", str(tmp_path / "no" / "x.json"))
    assert status == 2 and "cannot write" in err
    assert list(tmp_path.iterdir()) == []


# -- the pytest plugin -------------------------------------------------------------------------

def test_the_plugin_is_registered_as_a_pytest11_entry_point():
    assert "archscope.testing.pytest_plugin" in {point.value for point in entry_points(group="pytest11")}


FIXTURE_TEST = """
from torch import nn

def test_net(archscope_lock):
    archscope_lock(nn.Sequential(nn.Conv2d(3, {c}, 3), nn.ReLU()), input_size=(1, 3, 8, 8))
"""


def test_fixture_missing_lock_update_drift_and_refresh(pytester):
    pytester.makepyfile(test_model=FIXTURE_TEST.format(c=8))
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*no lock locks/test_model.test_net.lock.json for Sequential; "
                                 "run pytest --archscope-update to write it*"])
    result = pytester.runpytest("-p", "no:cacheprovider", "--archscope-update")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*archscope locks*", "wrote locks/test_model.test_net.lock.json"])
    lock = json.loads((pytester.path / "locks" / "test_model.test_net.lock.json").read_text())
    assert lock["totals"]["params"] == conv_params(8) and lock["traceable"] is False
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)

    pytester.makepyfile(test_model=FIXTURE_TEST.format(c=16))
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*locks/test_model.test_net.lock.json: drifted from its lock*",
        f"*Params: {conv_params(8)} → {conv_params(16)}  +{conv_params(8)} (+100.00%)*",
        "*changed: 0 (Conv2d)  output 1×8×6×6 → 1×16×6×6*",
        "*run pytest --archscope-update to accept the change*",
    ])
    result = pytester.runpytest("-p", "no:cacheprovider", "--archscope-update")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["refreshed locks/test_model.test_net.lock.json"])
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_fixture_names_locks_of_parametrized_tests_and_refuses_a_second_unnamed_lock(pytester):
    pytester.makepyfile(test_two="""
import pytest
from torch import nn

@pytest.mark.parametrize("c", [4, 8])
def test_width(archscope_lock, c):
    archscope_lock(nn.Conv2d(3, c, 1), input_size=(1, 3, 4, 4))

def test_twice(archscope_lock):
    archscope_lock(nn.Conv2d(3, 4, 1), input_size=(1, 3, 4, 4), name="small")
    archscope_lock(nn.Conv2d(3, 4, 1), input_size=(1, 3, 8, 8))
    archscope_lock(nn.Conv2d(3, 4, 1), input_size=(1, 3, 8, 8))

class TestSmall:
    def test_width(self, archscope_lock):
        archscope_lock(nn.Conv2d(3, 2, 1), input_size=(1, 3, 4, 4))

@pytest.mark.parametrize("c", [1, 2], ids=["a::b", "a.b"])
def test_ids(archscope_lock, c):
    archscope_lock(nn.Conv2d(3, c, 1), input_size=(1, 3, 4, 4))
""")
    result = pytester.runpytest("-p", "no:cacheprovider", "--archscope-update")
    result.assert_outcomes(passed=5, failed=1)
    result.stdout.fnmatch_lines(["*a second lock locks/test_two.test_twice.lock.json in one test; give each call a name=*"])
    assert sorted(path.name for path in (pytester.path / "locks").iterdir()) == [
        "test_two.TestSmall.test_width.lock.json", "test_two.test_ids-a-b.lock.json", "test_two.test_ids-a.b.lock.json",
        "test_two.test_twice.lock.json",
        "test_two.test_twice.small.lock.json", "test_two.test_width-4.lock.json", "test_two.test_width-8.lock.json"]


def test_fixture_default_inputs_and_a_forward_that_fails(pytester):
    """A module is traced at 1×3×224×224 unless told, a zoo name at its entry's input; a forward
    that fails is one line naming the layer, not a traceback."""
    pytester.makepyfile(test_inputs="""
from torch import nn

def test_module(archscope_lock):
    assert archscope_lock(nn.Conv2d(3, 4, 3)).trace.inputs[0].shape == (1, 3, 224, 224)

def test_zoo(archscope_lock):
    assert archscope_lock("lenet5").trace.inputs[0].shape == (1, 1, 32, 32)

def test_wrong_channels(archscope_lock):
    archscope_lock(nn.Conv2d(1, 4, 3))
""")
    # in a subprocess: an in-process run forgets torch modules it imported, and torch cannot import them twice
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--archscope-update")
    result.assert_outcomes(passed=2, failed=1)
    output = result.stdout.str()
    assert "\narchscope_lock: forward failed in Conv2d on input [1, 3, 224, 224]: Given groups=1" in output
    assert "Traceback" not in output and "tracer.py" not in output and "direct cause" not in output


def test_fixture_reports_a_corrupt_lock_with_the_flag(pytester):
    pytester.makepyfile(test_model=FIXTURE_TEST.format(c=8))
    (pytester.path / "locks").mkdir()
    (pytester.path / "locks" / "test_model.test_net.lock.json").write_text("{")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*not valid JSON*--archscope-update*"])


def test_a_lock_of_a_module_object_is_verified_by_its_test(pytester, capsys):
    pytester.makepyfile(test_model=FIXTURE_TEST.format(c=8))
    pytester.runpytest("-p", "no:cacheprovider", "--archscope-update").assert_outcomes(passed=1)
    status, _, err = run(capsys, "verify", str(pytester.path / "locks" / "test_model.test_net.lock.json"))
    assert status == 2 and "module object" in err and "its test verifies it" in err


# -- one-number pins ---------------------------------------------------------------------------

def test_assert_params_and_mult_adds_pass_on_the_articles_figures():
    assert_params("googlenet", 13_385_816)  # 003's torchinfo summary
    assert_params("googlenet", "13.4M")
    assert_mult_adds("googlenet", "31.82 G", input_size=(20, 3, 224, 224))  # 003's "Total mult-adds (G): 31.82"
    assert_params(nn.Conv2d(3, 8, 3), conv_params(8))


def test_assert_params_counts_a_shared_tensor_once_and_needs_no_input():
    shared = nn.Linear(4, 4)
    assert_params(nn.Sequential(shared, nn.ReLU(), shared), 4 * 4 + 4)


def test_assert_failures_say_the_value_expected_and_the_gap():
    with pytest.raises(AssertionError, match=r"googlenet: params 13,385,816, expected 13,385,817, off by -1 \("):
        assert_params("googlenet", 13_385_817)
    with pytest.raises(AssertionError, match=r"mult-adds 31,820,881,920, expected '31.9 G' \(\[31,850,000,000, 31,950,000,000\)\)"):
        assert_mult_adds("googlenet", "31.9 G", input_size=(20, 3, 224, 224))
    with pytest.raises(AssertionError, match=rf"mult-adds {3 * 8 * 9 * 36:,}, expected 1"):
        assert_mult_adds(nn.Conv2d(3, 8, 3), 1, input_size=(1, 3, 8, 8))
    with pytest.raises(UsageError, match="expected params"):
        assert_params("googlenet", "about thirteen million")


@pytest.mark.parametrize("expected", [True, None, 224.0, 224.5, "224.5", -1, "53.5 MB", "28%", "1/9", "2,24",
                                      "224 params", "1e3", [224], "31.82 GMac"])
def test_an_expected_value_that_is_not_a_count_is_a_usage_error(expected):
    with pytest.raises(UsageError, match="expected params: .*(not a count|negative)"):
        assert_params(nn.Conv2d(3, 8, 3), expected)


def test_integers_from_numpy_and_torch_are_counts_and_a_module_has_a_default_input():
    import numpy
    import torch

    assert_params(nn.Conv2d(3, 8, 3), numpy.int64(conv_params(8)))
    assert_params(nn.Conv2d(3, 8, 3), torch.tensor(conv_params(8)))
    assert_mult_adds(nn.Conv2d(3, 8, 3), 3 * 8 * 9 * 222 * 222)  # at 1×3×224×224
    with pytest.raises(UsageError, match="give one integer"):
        assert_params(nn.Conv2d(3, 8, 3), torch.tensor([224, 1]))


def test_a_bad_expected_value_is_reported_before_any_trace():
    with pytest.raises(UsageError, match="expected mult_adds: '5%' is not a count"):
        assert_mult_adds(nn.Conv2d(4, 8, 3), "5%")  # the model would fail on a 3-channel input


def test_an_uninitialized_lazy_layer_is_a_usage_error():
    with pytest.raises(UsageError, match=r"^2 \(LazyLinear\) has lazy parameters not yet initialized"):
        assert_params(nn.Sequential(nn.Conv2d(3, 8, 3), nn.Flatten(), nn.LazyLinear(10)), 1)
