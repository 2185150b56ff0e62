"""The committed reports/ (lessons and diffs included) is what `make reports` writes today: regenerate the whole zoo and compare
byte for byte. When this fails after a change, run `make reports` and review the diff."""

from pathlib import Path

from archscope.cli import main

COMMITTED = Path(__file__).resolve().parent.parent / "reports"


def files_under(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def test_committed_reports_are_fresh(tmp_path):
    assert main(["report", "--all", "--out", str(tmp_path)]) == 0
    assert main(["teach", "--all", "--out", str(tmp_path / "lessons")]) == 0  # `make lessons`
    assert main(["diff", "--all", "--out", str(tmp_path / "diffs")]) == 0  # `make diffs`
    fresh, committed = files_under(tmp_path), files_under(COMMITTED)
    assert sorted(committed) == sorted(fresh), "files differ: run `make reports`"
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"stale: {stale[:10]} — run `make reports` and commit reports/"
