"""Build test pages that boot the app's Python plus test modules, from pyscript.toml."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = ROOT / "tests" / "artifacts" / "pages"


def _abs(path: str) -> str:
    return "/" + path.removeprefix("./")


def python_page(name: str, main: str, extra_files: list[str]) -> str:
    """Write tests/artifacts/pages/<name>.html running ``main``; return its URL path."""
    config = tomllib.loads((ROOT / "pyscript.toml").read_text())
    PAGES.mkdir(parents=True, exist_ok=True)
    lines = [f'interpreter = "{_abs(config["interpreter"])}"', 'packages_cache = "passthrough"']
    lines.append("packages = [" + ", ".join(f'"{_abs(p)}"' for p in config["packages"]) + "]")
    lines.append("[files]")
    files = dict(config["files"])
    for extra in extra_files:
        files["./" + extra] = "./" + extra
    for source, target in files.items():
        lines.append(f'"{_abs(source)}" = "{target}"')
    (PAGES / f"{name}.toml").write_text("\n".join(lines) + "\n")
    (PAGES / f"{name}.html").write_text(
        f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{name}</title><link rel="icon" href="data:,">
<script src="/tests/e2e/faults.js"></script>
<script type="module" src="/static/js/boot.js"></script></head>
<body><pre id="results">running</pre>
<script type="py" src="/{main}" config="/tests/artifacts/pages/{name}.toml"></script>
</body></html>
"""
    )
    return f"/tests/artifacts/pages/{name}.html"
