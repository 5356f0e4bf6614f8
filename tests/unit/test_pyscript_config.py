"""pyscript.toml must ship every Python module and schema the browser imports, and nothing stale."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# devserver and the command line run under CPython; main.py is the page script itself (its src), not an import.
BROWSER_ONLY_EXCLUDED = {"app/devserver.py", "app/main.py", "app/__main__.py"}
# The command line runs under CPython only: its package is never shipped.
BROWSER_ONLY_PACKAGES = ("app/cli/",)


def expected_files() -> list[str]:
    paths = [p for p in sorted((ROOT / "app").rglob("*.py")) if "__pycache__" not in p.parts]
    files = [p.relative_to(ROOT).as_posix() for p in paths]
    files += [p.relative_to(ROOT).as_posix() for p in sorted((ROOT / "static" / "schemas").glob("*.json"))]
    return [f for f in files if f not in BROWSER_ONLY_EXCLUDED and not f.startswith(BROWSER_ONLY_PACKAGES)]


def files_block() -> str:
    return "[files]\n" + "".join(f'"./{f}" = "./{f}"\n' for f in expected_files())


def test_every_module_is_shipped_to_the_browser():
    config = tomllib.loads((ROOT / "pyscript.toml").read_text())
    listed = {source.removeprefix("./") for source in config["files"]}
    missing = sorted(set(expected_files()) - listed)
    assert not missing, "add to pyscript.toml:\n" + files_block()
    stale = sorted(f for f in listed if not (ROOT / f).exists())
    assert not stale, f"pyscript.toml lists files that do not exist: {stale}"


def test_wheels_match_the_pinned_browser_requirements():
    config = tomllib.loads((ROOT / "pyscript.toml").read_text())
    wheels = {Path(p).name.split("-")[0].replace("_", "-").lower() + "==" + Path(p).name.split("-")[1] for p in config["packages"]}
    pinned = set()
    for line in (ROOT / "requirements" / "browser.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            pinned.add(line.split()[0].lower())
    assert wheels == pinned
    assert config["packages_cache"] == "passthrough"
    assert config["interpreter"].startswith("./static/vendor/")


if __name__ == "__main__":
    print(files_block())
