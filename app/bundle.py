"""Pack the browser's copy of app/ into one zip (CPython only: `python -m app.bundle [OUTPUT]`).

pyscript.toml ships it as ``"./static/app.zip" = "./*"``, which PyScript (and
static/js/worker.js, which reads the same config) unpacks into Python's working
directory. The archive is built, never committed: the dev server builds it from
the working tree on each request (app/devserver.py), so a page always runs the
current sources; ``make setup`` writes the file for any other static server.
"""

from __future__ import annotations

import argparse
import io
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
URL_PATH = "/static/app.zip"
OUTPUT = ROOT / URL_PATH.lstrip("/")
# CPython-only modules; main.py is the page script itself (PyScript's src and the worker's entry), not an import.
EXCLUDED = frozenset({"app/bundle.py", "app/devserver.py", "app/main.py", "app/__main__.py"})
# The command line's package runs under CPython only.
EXCLUDED_PACKAGES = ("app/cli/",)
# A fixed date keeps the archive's bytes a function of the sources alone.
DATE = (2024, 1, 1, 0, 0, 0)


def members(root: Path = ROOT) -> list[str]:
    """Return the archive's paths (relative to ``root``): every browser module of app/ and the JSON Schemas."""
    paths = [p for p in (root / "app").rglob("*.py") if "__pycache__" not in p.parts]
    paths += (root / "static" / "schemas").glob("*.json")
    names = sorted(p.relative_to(root).as_posix() for p in paths)
    return [name for name in names if name not in EXCLUDED and not name.startswith(EXCLUDED_PACKAGES)]


def signature(root: Path = ROOT) -> tuple:
    """Return what the archive depends on: each member's path, size and modification time."""
    out = []
    for name in members(root):
        stat = (root / name).stat()
        out.append((name, stat.st_size, stat.st_mtime_ns))
    return tuple(out)


def build(root: Path = ROOT) -> bytes:
    """Return the zip of ``members(root)``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name in members(root):
            info = zipfile.ZipInfo(name, DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, (root / name).read_bytes())
    return buffer.getvalue()


def write(output: Path = OUTPUT, root: Path = ROOT) -> Path:
    """Write the archive to ``output`` (through a temporary file, so a reader never sees half of it)."""
    data = build(root)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".tmp")
    partial.write_bytes(data)
    partial.replace(output)
    return output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", type=Path, default=OUTPUT)
    args = parser.parse_args()
    write(args.output)


if __name__ == "__main__":
    main()
