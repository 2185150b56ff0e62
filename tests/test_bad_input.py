"""Bad input (issue 9): one table of malformed shapes, unknown options and values, unknown models,
specs that do not import, callables that give no module, forwards that raise, spatial sizes that
collapse, channel mismatches, missing or unreadable files and output paths that are files or not
writable, across every command.

Each case runs ``archscope.cli.main`` in a fresh working directory holding the same small set of
files (``workspace``), and must give exit status 2, stdout empty, and on stderr exactly one line
``archscope: ...`` that holds the fragments listed for it (the bad value, the layer and shape for a
failed forward) and no traceback; every file in the directory keeps its bytes and none is added.
A few cases run as a process (``python -m archscope``); ``--debug`` shows the traceback.

Unwritable and unreadable targets: the tests may run as root, for whom permission bits stop neither
reads nor writes, so a ``chmod`` directory or file proves nothing there; as root the targets are
``/proc/...`` instead (no file can be created under /proc, and /proc/self/mem cannot be read from
offset 0).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from torch import nn

import archscope
from archscope.cli import COMMANDS, main
from archscope.errors import ArchscopeError, ForwardError, LockError, ModelSpecError, UsageError
from archscope.testing import assert_mult_adds, assert_params, make_lock, read_lock
from archscope.testing.lockfile import LOCK_FORMAT, TOTAL_KEYS

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0

NET = textwrap.dedent("""
    from collections import OrderedDict

    from torch import nn


    class Boom(Exception):
        pass


    class Exploding(nn.Module):
        def forward(self, x):
            raise Boom("kaboom in the custom layer")


    class Silent(nn.Module):
        def forward(self, x):
            raise Boom()


    class Multi(nn.Module):
        def forward(self, x):
            raise ValueError("first line\\nsecond line\\n\\tthird line")


    def make():
        return nn.Sequential(nn.Conv2d(3, 8, 3), nn.Sequential(nn.ReLU(), Exploding()))


    def silent():
        return nn.Sequential(nn.Conv2d(3, 8, 3), Silent())


    def multi():
        return nn.Sequential(nn.Conv2d(3, 8, 3), Multi())


    def fine():
        return nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())


    def mismatch():
        return nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(4, 8, 3))


    def pooled():
        return nn.Sequential(OrderedDict(conv=nn.Conv2d(3, 8, 3), pool1=nn.MaxPool2d(2), pool2=nn.MaxPool2d(2)))


    def returns_int():
        return 3


    def returns_none():
        pass


    def raises():
        raise RuntimeError("factory broke")


    NOT_A_MODEL = 42
""")


def lock_of(model: str, input_size: list) -> str:
    """A well-formed lock (by hand: no trace) of ``model`` at ``input_size``."""
    return json.dumps({"archscope_lock": LOCK_FORMAT, "model": model, "traceable": True, "input": input_size,
                       "mode": "eval", "totals": dict.fromkeys(TOTAL_KEYS, 0), "layers": [],
                       "made_with": {"archscope": "0", "torch": "0"}})


FILES = {
    "net.py": NET,
    "broken.py": 'raise ImportError("cannot import this on purpose")\n',
    "syntax.py": "def make(:\n",
    "notes.txt": "a regular file, not a directory\n",
    "existing.lock.json": "the previous lock: must keep these bytes\n",
    "bad.lock.json": b"\xff\xfe\x00 not utf-8",
    "garbage.pt": "not a checkpoint\n",
    "empty.pt": "",
    "gone.lock.json": lock_of("net.py:gone", [[1, 3, 8, 8]]),  # the spec's callable was renamed since
    "unknown.lock.json": lock_of("nosuchnet", [[1, 1, 32, 32]]),
    "small.lock.json": lock_of("lenet5", [[1, 1, 8, 8]]),  # an input the model cannot take
    "reports/lenet5/index.md": "# the previous report: must keep these bytes\n",
}
# as root (see the module docstring) the unwritable and unreadable targets are under /proc
RO_DIR = "/proc/archscope-bad-input" if IS_ROOT else "readonly"
UNREADABLE = "/proc/self/mem" if IS_ROOT else "secret.lock.json"


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """A fresh working directory with ``FILES``, a folder named like a module (``folder.py/``) and,
    when not root, a read-only folder and an unreadable lock."""
    for name, content in FILES.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    (tmp_path / "folder.py").mkdir()
    protected = []
    if not IS_ROOT:
        (tmp_path / RO_DIR).mkdir()
        (tmp_path / UNREADABLE).write_text(lock_of("lenet5", [[1, 1, 32, 32]]))
        protected = [(tmp_path / RO_DIR, 0o555), (tmp_path / UNREADABLE, 0o000)]
        for path, mode in protected:
            path.chmod(mode)
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    for path, _ in protected:
        path.chmod(stat.S_IRWXU)


def snapshot(root: Path) -> dict[str, str]:
    """Every path under ``root`` (folders too) with a digest of its bytes; unreadable files by mode."""
    found = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        if path.is_dir():
            found[key] = "dir"
        elif os.access(path, os.R_OK):
            found[key] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            found[key] = f"mode {path.stat().st_mode:o}"
    return found


def run(capsys, argv: list[str]) -> tuple[int, str, str]:
    try:
        status = main(argv)
    except SystemExit as exit:  # argparse's errors leave through sys.exit(2)
        status = exit.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_one_line_error(status, out: str, err: str, fragments) -> None:
    assert status == 2, (status, err)
    assert out == ""
    assert "Traceback" not in err
    assert err.startswith("archscope: ") and err.endswith("\n") and err.count("\n") == 1, err
    assert len(err) <= 500, f"{len(err)} characters: {err}"
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    # a hint to the help names a command that exists
    for hint in re.findall(r"\(see (archscope(?: \S+)?) --help\)", err):
        assert hint == "archscope" or hint.split()[1] in set(COMMANDS), f"the hint names {hint!r}"


def case(id: str, argv: str | list[str], *fragments: str):
    """``argv``: tab-free words split on spaces (or a list, for words with spaces);
    ``{ro}`` and ``{unreadable}`` are the targets that suit the user running the tests."""
    words = argv.split() if isinstance(argv, str) else argv
    return pytest.param(words, fragments, id=id)


def fill(text: str) -> str:
    return text.format(ro=RO_DIR, unreadable=UNREADABLE)


SHAPES = [
    case("letters", "summary lenet5 --input 1,1,x,32", "--input '1,1,x,32'", "size 3 ('x') is not an integer"),
    case("exponent", "lock lenet5 --input 1e3,1,32,32", "--input '1e3,1,32,32'", "('1e3') is not an integer"),
    case("non-ascii-digit", "summary lenet5 --input ١,1,32,32", "--input '١,1,32,32'", "is not an integer"),
    case("empty-part", "lock lenet5 --input 1,,32,32", "--input '1,,32,32'", "size 2 is empty"),
    case("only-a-comma", "teach lenet5 --input ,", "--input ','", "size 1 is empty"),
    case("empty", ["summary", "lenet5", "--input="], "--input ''", "empty shape"),
    case("trailing-comma", "report lenet5 --input 1,1,32,", "--input '1,1,32,'", "size 4 is empty"),
    case("trailing-semicolon", "summary lenet5 --input 1,1,32,32;", "input 2 of '1,1,32,32;'", "empty shape"),
    case("zero", "summary lenet5 --input 0", "--input '0'", "size 0 must be at least 1"),
    case("zero-inside", "diff lenet5 lenet5 --input 1,1,0,32", "--input '1,1,0,32'", "size 0 must be at least 1"),
    case("negative", ["summary", "lenet5", "--input=-1"], "--input '-1'", "size -1 must be at least 1"),
    case("negative-inside", ["teach", "lenet5", "--input=1,1,-32,32"], "--input '1,1,-32,32'", "size -32"),
    case("double-minus", ["summary", "lenet5", "--input=--1,1,32,32"], "--input", "'--1'"),
    case("float", "summary lenet5 --input 1,1,2.5,4", "--input '1,1,2.5,4'", "size 3 ('2.5') is not an integer"),
    case("past-int64", "summary lenet5 --input 1,3,99999999999999999999,4", "99999999999999999999",
         "more elements than torch can address"),
    case("int64-max-plus-one", "lock lenet5 --input 1,1,9223372036854775808,1", "9223372036854775808",
         "more elements than torch can address"),
    case("rank-3-for-4d", "summary lenet5 --input 1,1,32", "forward failed in c1 (Conv2d)", "[1, 1, 32]"),
    case("rank-5-for-4d", "summary lenet5 --input 1,1,32,32,32", "c1 (Conv2d)", "[1, 1, 32, 32, 32]",
         "Expected 3D (unbatched) or 4D (batched) input"),
    case("rank-2-for-4d", "diff lenet5 lenet5 --input 1,1024", "c1 (Conv2d)", "[1, 1024]"),
    case("two-inputs-for-one", "summary lenet5 --input 1;3", "forward failed in LeNet5", "[1], [3]",
         "takes 2 positional arguments but 3 were given"),
]

OPTIONS = [
    case("format-xml", "summary lenet5 --format xml", "--format", "'xml'"),
    case("depth-negative", "summary lenet5 --depth -1", "--depth", "'-1' must be 0 or more"),
    case("depth-float", "report lenet5 --depth 1.5", "--depth", "'1.5' is not an integer"),
    case("device-gpu", "summary lenet5 --device gpu", "--device", "'gpu'"),
    case("mode-foo", "summary lenet5 --mode foo", "--mode", "'foo'"),
    case("convention-foo", "summary lenet5 --convention foo", "--convention", "'foo'"),
    case("view-foo", "summary lenet5 --view foo", "--view", "'foo'"),
    case("lang-fr", "teach lenet5 --lang fr", "--lang", "'fr'"),
    case("list-format-xml", "list --format xml", "--format", "'xml'"),
    case("check-format-xml", "check --format xml googlenet", "--format", "'xml'"),
    case("diff-format-xml", "diff lenet5 lenet5 --format xml", "--format", "'xml'"),
    case("unknown-command", "frobnicate", "'frobnicate'"),
    case("unknown-flag", "summary lenet5 --frobnicate", "unrecognized arguments: --frobnicate"),
    case("unknown-flag-verify", "verify --frobnicate x.lock.json", "unrecognized arguments: --frobnicate"),
    case("list-extra-argument", "list extra", "unrecognized arguments: extra"),
    case("input-without-value", "summary lenet5 --input", "--input", "expected one argument"),
    case("missing-model", "lock", "required: MODEL"),
    case("model-and-all", "report lenet5 --all", "give a MODEL or --all"),
    case("check-nothing", "check", "give one or more MODELs or --all"),
    case("diff-one-model", "diff lenet5", "give MODEL_A and MODEL_B"),
    case("diff-out-without-all", "diff lenet5 lenet5 --out x", "--out is for --all"),
    case("weights-with-all", "report --all --weights garbage.pt --out out", "--weights fits one MODEL"),
]

UNKNOWN_MODELS = [
    case("summary", "summary nosuchnet", "unknown model 'nosuchnet'"),
    case("summary-close-name", "summary googlenett", "unknown model 'googlenett'", "googlenet"),
    case("report", "report nosuchnet", "unknown model 'nosuchnet'"),
    case("teach", "teach nosuchnet", "unknown model 'nosuchnet'"),
    case("lock", "lock nosuchnet", "unknown model 'nosuchnet'"),
    case("check", "check nosuchnet", "unknown model 'nosuchnet'"),
    case("diff", "diff lenet5 nosuchnet", "unknown model 'nosuchnet'"),
    case("verify", "verify unknown.lock.json", "unknown.lock.json", "unknown model 'nosuchnet'"),
]

SPECS = [
    case("no-such-module", "summary nosuchmodule:make --input 1,3,8,8", "'nosuchmodule:make'",
         "No module named 'nosuchmodule'"),
    case("missing-attribute", "summary net.py:missing_attr --input 1,3,8,8", "'net.py' has no attribute 'missing_attr'"),
    case("import-raises", "lock broken.py:make --input 1,3,8,8", "'broken.py:make'",
         "ImportError: cannot import this on purpose"),
    case("syntax-error", "summary syntax.py:make --input 1,3,8,8", "'syntax.py:make'", "SyntaxError"),
    case("missing-file", "diff missing/file.py:make lenet5 --input 1,1,32,32", "no file 'missing/file.py'"),
    case("file-is-a-folder", "summary folder.py:make --input 1,3,8,8", "no file 'folder.py'"),
    case("not-a-python-file", "summary notes.txt:make --input 1,3,8,8", "'notes.txt:make'", "not a Python file"),
    case("no-module-part", "summary :make --input 1,3,8,8", "MODEL ':make'", "expected module:callable"),
    case("no-callable-part", "summary net.py: --input 1,3,8,8", "MODEL 'net.py:'", "expected module:callable"),
    case("verify-spec-gone", "verify gone.lock.json", "gone.lock.json", "'net.py' has no attribute 'gone'"),
]

NOT_MODULES = [
    case("returns-int", "summary net.py:returns_int --input 1,3,8,8", "'net.py:returns_int'",
         "returned an object of type int, not an nn.Module"),
    case("returns-none", "lock net.py:returns_none --input 1,3,8,8", "returned an object of type NoneType"),
    case("not-callable", "summary net.py:NOT_A_MODEL --input 1,3,8,8", "is of type int"),
    case("factory-raises", "report net.py:raises --input 1,3,8,8", "'net.py:raises'",
         "calling it failed: RuntimeError: factory broke"),
    case("stdlib-function", "diff json:dumps lenet5 --input 1,1,32,32", "'json:dumps'", "calling it failed"),
    case("spec-without-input", "summary net.py:fine", "not in the zoo", "--input"),
]

FORWARDS = [
    case("custom-exception", "summary net.py:make --input 1,3,8,8", "forward failed in 1.1 (Exploding)",
         "[1, 8, 6, 6]", "kaboom in the custom layer"),
    case("custom-exception-no-message", "summary net.py:silent --input 1,3,8,8", "forward failed in 1 (Silent)",
         "[1, 8, 6, 6]", "Boom"),
    case("multi-line-message", "summary net.py:multi --input 1,3,8,8", "forward failed in 1 (Multi)", "first line"),
    case("lock", "lock net.py:make --input 1,3,8,8", "forward failed in 1.1 (Exploding)", "[1, 8, 6, 6]"),
    case("lock-over-existing", "lock net.py:make --input 1,3,8,8 -o existing.lock.json", "1.1 (Exploding)"),
    case("report", "report net.py:make --input 1,3,8,8 --no-counters", "forward failed in 1.1 (Exploding)"),
    case("diff-second-model", "diff net.py:fine net.py:make --input 1,3,8,8", "forward failed in 1.1 (Exploding)"),
    case("verify-input-no-longer-fits", "verify small.lock.json", "small.lock.json",
         "forward failed in c3 (Conv2d)", "[1, 6, 2, 2]"),
]

COLLAPSES = [
    case("vgg16-maxpool", "summary vgg16 --input 1,3,16,16", "forward failed in features.30 (MaxPool2d)",
         "[1, 512, 1, 1]", "Output size is too small"),
    case("nin-maxpool", "report nin --input 1,3,32,32", "forward failed in pool3 (MaxPool2d)", "[1, 384, 1, 1]"),
    case("googlenet-aux-avgpool", "lock googlenet --input 1,3,32,32", "aux1.features.0 (AvgPool2d)", "[1, 512, 2, 2]"),
    case("teach-vgg16", "teach vgg16 --input 1,3,16,16", "features.30 (MaxPool2d)", "[1, 512, 1, 1]"),
    case("spec-second-pool", "summary net.py:pooled --input 1,3,5,5", "forward failed in pool2 (MaxPool2d)",
         "[1, 8, 1, 1]"),
    case("kernel-larger-than-map", "summary lenet5 --input 1,1,8,8", "forward failed in c3 (Conv2d)", "[1, 6, 2, 2]"),
    case("report-over-previous", "report lenet5 --input 1,1,8,8", "c3 (Conv2d)", "[1, 6, 2, 2]"),
]

CHANNELS = [
    case("lenet5-rgb", "summary lenet5 --input 1,3,32,32", "forward failed in c1 (Conv2d)", "[1, 3, 32, 32]",
         "to have 1 channels, but got 3"),
    case("googlenet-4-channels", "teach googlenet --input 1,4,224,224", "conv1.layers.0 (Conv2d)", "[1, 4, 224, 224]"),
    case("diff", "diff lenet5 lenet5 --input 1,3,32,32", "c1 (Conv2d)", "[1, 3, 32, 32]"),
    case("inside-a-spec", "summary net.py:mismatch --input 1,3,8,8", "forward failed in 2 (Conv2d)", "[1, 8, 6, 6]",
         "to have 4 channels, but got 8"),
    case("block-191-channels", "lock inception-v1-block --input 1,191,28,28", "(Conv2d)", "[1, 191, 28, 28]"),
]

FILES_IN = [
    case("verify-missing", "verify missing.lock.json", "cannot read lock 'missing.lock.json'", "No such file"),
    case("verify-directory", "verify folder.py", "cannot read lock 'folder.py'", "Is a directory"),
    case("verify-under-a-file", "verify notes.txt/x.lock.json", "'notes.txt/x.lock.json'", "Not a directory"),
    case("verify-not-utf8", "verify bad.lock.json", "cannot read lock 'bad.lock.json'", "utf-8"),
    case("verify-not-json", "verify notes.txt", "notes.txt: not valid JSON"),
    case("verify-unreadable", "verify {unreadable}", "cannot read lock '{unreadable}'"),
    case("weights-missing", "summary lenet5 --weights missing.pt", "--weights 'missing.pt': no such file"),
    case("weights-directory", "lock lenet5 --weights folder.py", "--weights 'folder.py' is not a file"),
    case("weights-empty", "summary lenet5 --weights empty.pt", "--weights 'empty.pt' is empty"),
    case("weights-garbage", "report lenet5 --weights garbage.pt", "--weights 'garbage.pt'"),
]

OUTPUTS = [
    case("report-out-is-a-file", "report lenet5 --out notes.txt", "--out 'notes.txt' is not a directory"),
    case("report-out-under-a-file", "report lenet5 --out notes.txt/sub", "'notes.txt' is a file"),
    case("report-out-unwritable", "report lenet5 --no-counters --out {ro}", "{ro}", "writ"),
    case("report-all-out-is-a-file", "report --all --out notes.txt", "--out 'notes.txt' is not a directory"),
    case("teach-out-is-a-file", "teach lenet5 --out notes.txt", "--out 'notes.txt' is not a directory"),
    case("teach-out-unwritable", "teach lenet5 --out {ro}/lessons", "{ro}"),
    case("lock-into-missing-folder", "lock lenet5 -o missing/x.lock.json", "cannot write missing/x.lock.json"),
    case("lock-to-a-directory", "lock lenet5 -o folder.py", "-o 'folder.py' is a directory"),
    case("lock-under-a-file", "lock lenet5 -o notes.txt/x.lock.json", "notes.txt/x.lock.json", "Not a directory"),
    case("lock-unwritable", "lock lenet5 -o {ro}/x.lock.json", "cannot write {ro}/x.lock.json"),
    case("diff-all-out-is-a-file", "diff --all --out notes.txt", "--out 'notes.txt' is not a directory"),
]

CATEGORIES = {"shape": SHAPES, "option": OPTIONS, "unknown-model": UNKNOWN_MODELS, "spec": SPECS,
              "not-a-module": NOT_MODULES, "forward": FORWARDS, "collapse": COLLAPSES, "channels": CHANNELS,
              "file": FILES_IN, "output": OUTPUTS}
CASES = [pytest.param(*param.values, id=f"{category}:{param.id}", marks=param.marks)
         for category, params in CATEGORIES.items() for param in params]


def test_the_corpus_is_large_and_distinct():
    assert len(CASES) >= 40
    assert len({tuple(param.values[0]) for param in CASES}) == len(CASES)


@pytest.mark.parametrize("argv, fragments", CASES)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(workspace, capsys, argv, fragments):
    before = snapshot(workspace)
    status, out, err = run(capsys, [fill(word) for word in argv])
    assert_one_line_error(status, out, err, [fill(fragment) for fragment in fragments])
    assert snapshot(workspace) == before
    if IS_ROOT:
        assert not Path(RO_DIR).exists()


# -- as a process: no traceback reaches the terminal; --debug shows it --------------------------

PROCESS_CASES = [
    case("shape", "summary lenet5 --input 1,1,x,32", "--input '1,1,x,32'"),
    case("forward", "lock net.py:make --input 1,3,8,8", "forward failed in 1.1 (Exploding)", "[1, 8, 6, 6]"),
    case("output", "report lenet5 --input 1,3,32,32 --out notes.txt/sub", "'notes.txt' is a file"),
]


def archscope_process(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "archscope", *argv], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("argv, fragments", PROCESS_CASES)
def test_as_a_process(workspace, argv, fragments):
    before = snapshot(workspace)
    result = archscope_process(*argv)
    assert_one_line_error(result.returncode, result.stdout, result.stderr, fragments)
    assert snapshot(workspace) == before


def test_debug_shows_the_traceback_of_a_failed_forward(workspace):
    before = snapshot(workspace)
    result = archscope_process("lock", "net.py:make", "--input", "1,3,8,8", "--debug")
    assert result.returncode != 0 and result.stdout == ""
    assert "Traceback" in result.stderr and "ForwardError" in result.stderr and "Boom" in result.stderr
    assert snapshot(workspace) == before


@pytest.mark.parametrize("argv, error", [
    (["--debug", "summary", "lenet5", "--input", "1,1,x,32"], UsageError),
    (["summary", "net.py:returns_int", "--input", "1,3,8,8", "--debug"], ModelSpecError),
    (["--debug", "verify", "missing.lock.json"], LockError),
    (["--debug", "summary", "net.py:make", "--input", "1,3,8,8"], ForwardError),
])
def test_debug_raises_the_error_in_process(workspace, argv, error):
    before = snapshot(workspace)
    with pytest.raises(error):
        main(argv)
    assert snapshot(workspace) == before


# -- the Python API: archscope's own errors, carrying the message ---------------------------------

def _spec_factory():
    return 3


API_CASES = [
    pytest.param(lambda: archscope.analyze("lenet5", (1, 1, 0, 32)), UsageError, "size 0 must be at least 1", id="zero"),
    pytest.param(lambda: archscope.analyze("lenet5", (1, -1, 32, 32)), UsageError, "size -1", id="negative"),
    pytest.param(lambda: archscope.analyze("lenet5", (1, 1, 2**70, 32)), UsageError,
                 "more elements than torch can address", id="past-int64"),
    pytest.param(lambda: archscope.analyze("lenet5", "1,1,32,32"), UsageError, "not '1,1,32,32'", id="string-shape"),
    pytest.param(lambda: archscope.analyze("lenet5", [()]), UsageError, "not a non-empty sequence", id="empty-shape"),
    pytest.param(lambda: archscope.analyze("lenet5", (1, 1, 2.5, 32)), UsageError, "2.5", id="float-size"),
    pytest.param(lambda: archscope.analyze("lenet5", device="gpu"), UsageError, "'gpu'", id="device-gpu"),
    pytest.param(lambda: archscope.analyze("lenet5", mode="foo"), UsageError, "'foo'", id="mode-foo"),
    pytest.param(lambda: archscope.analyze("lenet5", convention="foo"), UsageError, "'foo'", id="convention-foo"),
    pytest.param(lambda: archscope.analyze("nosuchnet"), UsageError, "unknown model 'nosuchnet'", id="unknown-model"),
    pytest.param(lambda: archscope.analyze("nosuchmodule:make", (1, 3)), ModelSpecError, "No module named",
                 id="spec-does-not-import"),
    pytest.param(lambda: archscope.analyze(_spec_factory, (1, 3)), ModelSpecError, "returned an object of type int",
                 id="factory-returns-int"),
    pytest.param(lambda: archscope.analyze(lambda: 1 / 0, (1, 3)), ModelSpecError, "ZeroDivisionError",
                 id="factory-raises"),
    pytest.param(lambda: archscope.analyze(42, (1, 3)), ModelSpecError, "is of type int", id="not-a-model"),
    pytest.param(lambda: archscope.analyze(nn.Linear(2, 2)), UsageError, "give its input size", id="no-input"),
    pytest.param(lambda: archscope.analyze(nn.Sequential(nn.Conv2d(3, 8, 3), nn.Conv2d(4, 8, 3)), (1, 3, 8, 8)),
                 ForwardError, "forward failed in 1 (Conv2d) on input [1, 8, 6, 6]", id="channel-mismatch"),
    pytest.param(lambda: archscope.analyze(nn.Sequential(nn.MaxPool2d(2), nn.MaxPool2d(2)), (1, 1, 2, 2)),
                 ForwardError, "forward failed in 1 (MaxPool2d) on input [1, 1, 1, 1]", id="collapse"),
    pytest.param(lambda: archscope.diff("lenet5", "nosuchnet"), UsageError, "unknown model 'nosuchnet'",
                 id="diff-unknown-model"),
    pytest.param(lambda: archscope.diff(nn.Linear(3, 2), nn.Linear(4, 2), (1, 3)), ForwardError,
                 "forward failed in Linear on input [1, 3]", id="diff-forward"),
    pytest.param(lambda: assert_params("nosuchnet", 1), UsageError, "unknown model 'nosuchnet'",
                 id="assert-params-unknown-model"),
    pytest.param(lambda: assert_params(_spec_factory, 1), ModelSpecError, "type int", id="assert-params-not-a-module"),
    pytest.param(lambda: assert_params(nn.Linear(2, 2), "lots"), UsageError, "'lots' is not a count",
                 id="assert-params-expected"),
    pytest.param(lambda: assert_mult_adds(nn.Linear(2, 2), 1, input_size=(1, 3)), ForwardError,
                 "forward failed in Linear on input [1, 3]", id="assert-mult-adds-forward"),
    pytest.param(lambda: make_lock("lenet5", (1, 1, 8, 8)), ForwardError, "c3 (Conv2d) on input [1, 6, 2, 2]",
                 id="make-lock-collapse"),
    pytest.param(lambda: read_lock("missing.lock.json"), LockError, "cannot read lock 'missing.lock.json'",
                 id="read-lock-missing"),
]


@pytest.mark.parametrize("call, error, fragment", API_CASES)
def test_api_raises_archscope_errors(workspace, call, error, fragment):
    before = snapshot(workspace)
    with pytest.raises(ArchscopeError) as raised:
        call()
    assert isinstance(raised.value, error), type(raised.value)
    assert fragment in str(raised.value)
    assert snapshot(workspace) == before


def test_out_that_is_empty_or_a_link_to_nothing_is_refused_before_the_trace(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    for argv, fragment in ((["report", "lenet5", "--out="], "--out is empty"),
                           (["report", "lenet5", "--out", "dangling"], "is a symbolic link to nothing")):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert fragment in err and err.count("\n") == 1
    assert sorted(path.name for path in tmp_path.iterdir()) == ["dangling"]
