"""Writing files: atomically, and only under the directory the user named.

A report is a directory of files that belong together, so it is written whole into a temporary
sibling directory and swapped in by rename: an interrupted or failed run leaves the previous report
as it was (at worst under a ``.old`` name for an instant, restored by the next run). A failure to
write is the one-line error of bad input, naming the path.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from archscope.errors import UsageError


@contextlib.contextmanager
def _reported_as(path: Path):
    try:
        yield
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror or error}") from error


def writable_directory(path: str | Path) -> Path:
    """``path`` if it is a directory we may write in, or one we could create; else the one-line error.
    Nothing is created here: a run that fails later leaves no empty folder behind."""
    if not str(path).strip():
        raise UsageError("--out is empty: name a directory")
    path = Path(path)
    if path.is_symlink() and not path.exists():
        raise UsageError(f"--out {str(path)!r} is a symbolic link to nothing")
    existing = next(folder for folder in (path, *path.parents) if folder.exists() or folder == Path(folder.anchor))
    if not existing.is_dir():
        what = "is not a directory" if existing == path else f"cannot be created: {str(existing)!r} is a file"
        raise UsageError(f"--out {str(path)!r} {what}")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"--out {str(path)!r} is not writable" if existing == path else
                         f"--out {str(path)!r} cannot be created in {str(existing)!r}: not writable")
    return path


def write_files(directory: Path, files: dict[str, str]) -> None:
    """Write each file (name → text) atomically into ``directory``, made if missing; others there stay."""
    with _reported_as(directory):
        directory.mkdir(parents=True, exist_ok=True)
    for name, text in sorted(files.items()):
        write_file(directory / name, text)


def write_file(path: Path, text: str) -> None:
    """Write to a temporary name beside ``path`` and rename it into place."""
    with _reported_as(path):
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as file:
                file.write(text)
            os.chmod(temporary, 0o644)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def write_directory(target: Path, files: dict[str, str]) -> None:
    """Replace directory ``target`` by one holding exactly ``files`` (name → text)."""
    old = target.parent / f".{target.name}.old"
    with _reported_as(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        if old.exists() and not target.exists():  # a run died between the two renames below
            old.rename(target)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
        try:
            for name, text in sorted(files.items()):
                with open(staging / name, "w", encoding="utf-8", newline="\n") as file:
                    file.write(text)
            os.chmod(staging, 0o755)
            if target.exists():
                shutil.rmtree(old, ignore_errors=True)
                target.rename(old)
            staging.rename(target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            if old.exists() and not target.exists():
                old.rename(target)
            raise
        shutil.rmtree(old, ignore_errors=True)
