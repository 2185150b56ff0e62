"""Ctrl-C or SIGTERM in the middle of `archscope report --all` (what `make reports` runs) leaves every
file either as it was or complete, with no temporary files behind, and a rerun completes.

The expected bytes are those of a complete run before: reports are deterministic, so a report
rewritten before the signal has the same bytes, and one not reached yet keeps them.
"""

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from archscope import zoo

COMMAND = [sys.executable, "-m", "archscope", "report", "--all", "--no-counters", "--out"]
INTERRUPT_AFTER = 3  # reports finished before the signal is sent


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.fixture(scope="module")
def complete(tmp_path_factory) -> tuple[Path, dict[str, bytes]]:
    out = tmp_path_factory.mktemp("reports")
    subprocess.run([*COMMAND, str(out)], check=True, capture_output=True)
    return out, snapshot(out)


@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 128 + signal.SIGTERM)])
def test_a_signal_mid_run_leaves_each_file_as_it_was_or_complete(complete, signum, status):
    out, before = complete
    process = subprocess.Popen([*COMMAND, str(out)], stderr=subprocess.PIPE, text=True)
    finished = 0
    for line in process.stderr:
        finished += line.startswith("archscope: [")
        if finished == INTERRUPT_AFTER:
            process.send_signal(signum)
            break
    rest = process.stderr.read()
    assert process.wait(timeout=120) == status
    assert rest.strip().splitlines()[-1] == "archscope: interrupted (each file is as it was before, or complete)"
    assert "Traceback" not in rest
    assert snapshot(out) == before  # the same files, the same bytes: nothing half-written, no temporary left


def test_a_rerun_after_an_interrupted_one_completes(complete):
    out, before = complete
    result = subprocess.run([*COMMAND, str(out)], capture_output=True, text=True)
    assert result.returncode == 0 and f"wrote {len(zoo.names())} reports" in result.stderr.splitlines()[-1]
    assert snapshot(out) == before


# -- the same guarantee at the exact moments a signal can land inside a write ------------------

def interrupt_on(monkeypatch, owner, name: str, call: int) -> None:
    """Make the ``call``-th call of ``owner.name`` raise KeyboardInterrupt, as Ctrl-C would there."""
    original, calls = getattr(owner, name), []

    def wrapper(*args, **kwargs):
        calls.append(1)
        if len(calls) == call:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, wrapper)


def test_write_file_interrupted_before_the_rename_keeps_the_old_file(tmp_path, monkeypatch):
    import os

    from archscope.output import write_file

    target = tmp_path / "a.lock.json"
    target.write_text("old")
    interrupt_on(monkeypatch, os, "replace", 1)
    with pytest.raises(KeyboardInterrupt):
        write_file(target, "new")
    assert snapshot(tmp_path) == {"a.lock.json": b"old"}


@pytest.mark.parametrize("call", [1, 2], ids=["before the old report moves aside", "between the two renames"])
def test_write_directory_interrupted_keeps_the_old_report(tmp_path, monkeypatch, call):
    from archscope.output import write_directory

    target = tmp_path / "googlenet"
    write_directory(target, {"index.md": "old", "layers.csv": "old"})
    interrupt_on(monkeypatch, Path, "rename", call)
    with pytest.raises(KeyboardInterrupt):
        write_directory(target, {"index.md": "new"})
    assert snapshot(tmp_path) == {"googlenet/index.md": b"old", "googlenet/layers.csv": b"old"}


def test_a_run_killed_between_the_renames_is_repaired_by_the_next(tmp_path):
    from archscope.output import write_directory

    (tmp_path / ".googlenet.old").mkdir()  # what SIGKILL between the two renames leaves
    (tmp_path / ".googlenet.old" / "index.md").write_text("old")
    write_directory(tmp_path / "googlenet", {"index.md": "new"})
    assert snapshot(tmp_path) == {"googlenet/index.md": b"new"}


def test_main_takes_sigterm_only_while_it_runs_and_only_if_not_ignored(monkeypatch):
    from archscope import cli

    seen = []
    monkeypatch.setitem(cli.COMMANDS, "list", lambda args: seen.append(signal.getsignal(signal.SIGTERM)) or 0)
    before = signal.getsignal(signal.SIGTERM)
    try:
        for handler in (signal.SIG_IGN, signal.SIG_DFL):  # an ignored SIGTERM (nohup, a trap) stays ignored
            signal.signal(signal.SIGTERM, handler)
            assert cli.main(["list"]) == 0
            assert signal.getsignal(signal.SIGTERM) is handler
    finally:
        signal.signal(signal.SIGTERM, before)
    assert seen == [signal.SIG_IGN, cli._terminate]
