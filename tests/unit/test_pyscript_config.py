"""pyscript.toml ships app/ as one archive holding every module and schema the browser imports, and nothing stale."""

import io
import os
import threading
import tomllib
import urllib.request
import zipfile
from pathlib import Path

from app import bundle
from app.devserver import make_server

ROOT = Path(__file__).resolve().parents[2]
# devserver, the bundler and the command line run under CPython; main.py is the page script itself (its src), not an import.
BROWSER_ONLY_EXCLUDED = {"app/bundle.py", "app/devserver.py", "app/main.py", "app/__main__.py"}
# The command line runs under CPython only: its package is never shipped.
BROWSER_ONLY_PACKAGES = ("app/cli/",)


def expected_files(root: Path = ROOT) -> list[str]:
    paths = [p for p in sorted((root / "app").rglob("*.py")) if "__pycache__" not in p.parts]
    files = [p.relative_to(root).as_posix() for p in paths]
    files += [p.relative_to(root).as_posix() for p in sorted((root / "static" / "schemas").glob("*.json"))]
    return [f for f in files if f not in BROWSER_ONLY_EXCLUDED and not f.startswith(BROWSER_ONLY_PACKAGES)]


def test_pyscript_toml_ships_app_as_one_archive_unpacked_into_the_working_directory():
    config = tomllib.loads((ROOT / "pyscript.toml").read_text())
    assert config["files"] == {"." + bundle.URL_PATH: "./*"}
    assert (ROOT / bundle.URL_PATH.lstrip("/")).relative_to(ROOT).as_posix() in (ROOT / ".gitignore").read_text()


def test_the_archive_holds_every_module_and_schema_byte_for_byte():
    with zipfile.ZipFile(io.BytesIO(bundle.build())) as archive:
        names = archive.namelist()
        assert names == expected_files()
        assert all(archive.read(name) == (ROOT / name).read_bytes() for name in names)
    assert "app/core/revisions/v3_0_0.py" in names and "static/schemas/template.schema.json" in names


def test_the_archive_is_a_function_of_the_sources():
    assert bundle.build() == bundle.build()


def _tree(root: Path, text: str) -> None:
    (root / "app" / "core").mkdir(parents=True, exist_ok=True)
    (root / "static" / "schemas").mkdir(parents=True, exist_ok=True)
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "devserver.py").write_text("# CPython only\n")
    (root / "app" / "core" / "notes.py").write_text(text, encoding="utf-8")
    (root / "static" / "schemas" / "note.schema.json").write_text('{"title": "Note \u2014 \u201cn\u201d"}')


def test_the_dev_server_builds_the_archive_from_the_working_tree_on_each_request(tmp_path):
    _tree(tmp_path, 'TEXT = "Résumé “v1” 🚀"\r\n')
    # A stale file at the archive's path is never what the server answers.
    (tmp_path / "static" / "app.zip").write_bytes(b"stale")
    server = make_server("127.0.0.1", 0, root=tmp_path)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}{bundle.URL_PATH}?v=1"
    try:

        def fetch() -> dict[str, bytes]:
            with urllib.request.urlopen(url) as response:
                assert response.headers["Content-Type"] == "application/zip"
                assert response.headers["Cache-Control"] == "no-store"
                with zipfile.ZipFile(io.BytesIO(response.read())) as archive:
                    return {name: archive.read(name) for name in archive.namelist()}

        first = fetch()
        assert sorted(first) == ["app/__init__.py", "app/core/notes.py", "static/schemas/note.schema.json"]
        assert first["app/core/notes.py"] == 'TEXT = "Résumé “v1” 🚀"\r\n'.encode()
        notes = tmp_path / "app" / "core" / "notes.py"
        notes.write_text('TEXT = "Résumé “v2, longer”"\n', encoding="utf-8")
        stat = notes.stat()
        os.utime(notes, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        (tmp_path / "app" / "core" / "added.py").write_text("X = 1\n")
        second = fetch()
        assert second["app/core/notes.py"] == 'TEXT = "Résumé “v2, longer”"\n'.encode()
        assert "app/core/added.py" in second
    finally:
        server.shutdown()
        server.server_close()


def test_bundle_writes_the_archive_for_other_servers(tmp_path):
    _tree(tmp_path, "X = '\u00e9'\n")
    out = bundle.write(tmp_path / "static" / "app.zip", root=tmp_path)
    assert out.read_bytes() == bundle.build(tmp_path)
    assert not out.with_name("app.zip.tmp").exists()


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
