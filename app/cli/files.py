"""Writing OUTPUT and the report: staged beside their paths, flushed, then renamed, so a failure writes none."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def stage(path: Path, text: str) -> Path:
    """Write ``text`` to a new temporary file beside ``path``, flushed to disk; return its path."""
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file private; give it the mode a plain open() would (or the replaced file's).
        os.chmod(temp, _mode(path))
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        discard(Path(temp))
        raise
    return Path(temp)


def _mode(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def discard(temp: Path) -> None:
    """Remove a staged file that will not be renamed."""
    try:
        temp.unlink()
    except FileNotFoundError:
        pass


def write_files(files: list[tuple[Path, str]]) -> None:
    """Write every ``(path, text)``: stage them all (a failure there writes none), then rename each over its path."""
    staged: list[tuple[Path, Path]] = []
    try:
        for path, text in files:
            staged.append((stage(path, text), path))
        for temp, path in staged:
            os.replace(temp, path)
    finally:
        for temp, _ in staged:
            discard(temp)
