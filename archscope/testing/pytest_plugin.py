"""The pytest plugin (entry point ``pytest11``): the fixture ``archscope_lock`` and ``--archscope-update``.

``archscope_lock(model, input_size=None)`` traces ``model`` and compares it with the lock
``locks/<test file>[.<class>].<test name>.lock.json`` beside the test file: a drift fails the test with the
readable diff, a missing lock fails naming the flag; with ``--archscope-update`` the lock is written
or refreshed instead and the test passes. Only pytest imports this module; torch loads on first use.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

UPDATE_FLAG = "--archscope-update"


def pytest_addoption(parser) -> None:
    parser.getgroup("archscope").addoption(
        UPDATE_FLAG, action="store_true", default=False,
        help="write missing archscope lock files and rewrite those that drifted, instead of failing")


def lock_path(test_file: Path, test_id: str, name: str | None = None) -> Path:
    """``locks/<file stem>.<class>.<test name>[.<name>].lock.json`` beside the test file, in safe
    characters; ``test_id`` is the node id after the file (``TestSmall::test_model[param]``)."""
    test, bracket, parameters = test_id.partition("[")  # a parameter id may hold "::" too
    *scopes, function = test.split("::")
    parts = [test_file.stem, *scopes, function + bracket + parameters] + ([name] if name else [])
    safe = ".".join(re.sub(r"[^A-Za-z0-9_.-]+", "-", part).strip("-.") for part in parts)
    return test_file.parent / "locks" / f"{safe}.lock.json"


@pytest.fixture
def archscope_lock(request):
    """``archscope_lock(model, input_size=None, name=None)`` → the model's ``Analysis``.

    ``input_size`` defaults to a zoo entry's own input, else (1, 3, 224, 224). Fails on drift from
    the test's lock (or when it is missing); ``name`` tells apart several locks in one test."""
    update = request.config.getoption("archscope_update")
    used: set[Path] = set()

    def check(model, input_size=None, name: str | None = None):
        from archscope.api import analyze, versions
        from archscope.errors import ArchscopeError, LockError
        from archscope.output import write_file
        from archscope.render.diff import drift_text
        from archscope.testing import drift_of, input_for, lock_document, lock_text, read_lock

        path = lock_path(Path(str(request.node.path)), request.node.nodeid.split("::", 1)[1], name)
        shown = path.relative_to(request.config.rootpath) if path.is_relative_to(request.config.rootpath) else path
        if path in used:
            pytest.fail(f"archscope_lock: a second lock {shown} in one test; give each call a name=", pytrace=False)
        used.add(path)
        try:
            analysis = analyze(model, input_for(model, input_size))
        except ArchscopeError as error:
            failure = f"archscope_lock: {error}"
        else:
            failure = None
        if failure:  # failed outside the except block, so pytest shows no chained traceback
            pytest.fail(failure, pytrace=False)
        fresh = lock_document(analysis, traceable=isinstance(model, str), versions=versions())
        if not path.exists():
            if not update:
                pytest.fail(f"no lock {shown} for {analysis.trace.model}; run pytest {UPDATE_FLAG} to write it",
                            pytrace=False)
            path.parent.mkdir(parents=True, exist_ok=True)
            write_file(path, lock_text(fresh))
            request.config.stash.setdefault(_WRITTEN, []).append(f"wrote {shown}")
            return analysis
        try:
            drift, _ = drift_of(read_lock(path), fresh)
        except LockError as error:
            drift, failure = None, f"{error} (run pytest {UPDATE_FLAG} to write it again)"
        if failure:
            pytest.fail(failure, pytrace=False)
        if drift["equal"]:
            return analysis
        if not update:
            pytest.fail(f"{drift_text(drift, str(shown))}(run pytest {UPDATE_FLAG} to accept the change)", pytrace=False)
        write_file(path, lock_text(fresh))
        request.config.stash.setdefault(_WRITTEN, []).append(f"refreshed {shown}")
        return analysis

    return check


_WRITTEN = pytest.StashKey[list]()


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    written = config.stash.get(_WRITTEN, [])
    if written:
        terminalreporter.section("archscope locks")
        for line in written:
            terminalreporter.write_line(line)
