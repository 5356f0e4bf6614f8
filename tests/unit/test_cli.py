"""The command line: every input form, the report, the exit codes, and a write that never half-happens."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from app import cli
from app.core.errors import QuotaExceeded
from app.services.crypto import PythonCrypto
from app.storage.memory import MemoryLock, MemoryStorage
from app.wiring import build
from tests import worked_example
from tests.user_stores import FIXTURES, LEGACY, LOCAL, SNIPPETS, TEMPLATES

ROOT = Path(__file__).resolve().parents[2]


def migrated_in_memory(local: dict[str, str], app: dict[str, object]) -> MemoryStorage:
    """Return the storage after the browser's services migrated ``local`` and ``app`` in memory."""
    storage = MemoryStorage(
        local=local, app={k: json.dumps({"key": k, "value": v, "timestamp": 0}, ensure_ascii=False) for k, v in app.items()}
    )

    async def go() -> None:
        services = build(storage, PythonCrypto(), MemoryLock(registry=set()))
        try:
            await services.migration.run_pending_migrations()
        finally:
            services.detach_logging()

    asyncio.run(go())
    return storage


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.run(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def digest(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def write_json(path: Path, data, **kwargs) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False, **kwargs), encoding="utf-8")
    return path


# ---------------------------------------------------------------------- the three forms


def test_localstorage_form_gives_the_stored_text_the_browser_services_write(tmp_path):
    source = write_json(tmp_path / "devtools.json", {**LOCAL, "AirPromptsDB": {"snippets": SNIPPETS}})
    before = digest(source)
    code, _, err = run_cli("migrate", str(source), "-o", str(tmp_path / "out.json"), "--report", str(tmp_path / "r.json"))
    assert code == 0, err
    assert digest(source) == before
    out = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    expected = migrated_in_memory(LOCAL, {"snippets": SNIPPETS})
    app = out.pop("AirPromptsDB")
    assert out == expected.local  # every key, the exact stored text, other sites' keys untouched
    assert list(out) == list(expected.local)
    assert app == {"snippets": json.loads(expected.app["snippets"])["value"]}
    assert out["other-site-key"] == LOCAL["other-site-key"] and out["ui-prefs"] == LOCAL["ui-prefs"]
    templates = json.loads(out["airprompts_templates"])
    assert templates[0] == worked_example.OUTPUT
    assert templates[1]["content"] == "Ligne 1\r\nLigne 2 — fin"
    assert "t-bad" not in {t["id"] for t in templates}
    assert app["snippets"][0]["snippetTags"] == ["mail"] and app["snippets"][0]["content"] == "— Zoë\r\n📎"

    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert report["form"] == "localStorage" and report["success"] is True and report["fromVersion"] == "1.0.0"
    assert report["counts"]["templates"]["input"] == 4 and report["counts"]["templates"]["quarantined"] == 1
    [bad] = report["quarantined"]
    assert bad["id"] == "t-bad" and bad["sourceKey"] == "airprompts_templates"
    assert bad["record"] == TEMPLATES[3]  # whole, as read: the output no longer holds it, the report does
    assert isinstance(report["warnings"], list) and isinstance(report["repairs"], list)
    assert "source_key" not in json.dumps(report["plan"])


def test_app_export_form_round_trips_as_parsed_values(tmp_path):
    source = tmp_path / "airprompts-backup.json"
    source.write_bytes((FIXTURES / "airprompts-backup.json").read_bytes())
    code, _, err = run_cli("migrate", str(source), "-o", str(tmp_path / "out.json"))
    assert code == 0, err
    assert source.read_bytes() == (FIXTURES / "airprompts-backup.json").read_bytes()
    text = (tmp_path / "out.json").read_text(encoding="utf-8")
    out = json.loads(text)
    assert text.startswith("{\n  ")  # pretty, as the app exports
    exported = json.loads((FIXTURES / "airprompts-backup.json").read_text())
    expected = migrated_in_memory({k: json.dumps(v, ensure_ascii=False, separators=(",", ":")) for k, v in exported.items()}, {})
    assert out == {k: json.loads(v) for k, v in expected.local.items()}
    assert out["airprompts_root_folder"] == exported["airprompts_root_folder"]
    folder = out["airprompts_folders"][0]
    assert folder["parent_id"] is None and folder["parentId"] is None and folder["metadata"]["schemaVersion"] == "3.0.0"
    assert out["airprompts_snippets"][0]["folderFavorites"] == exported["airprompts_snippets"][0]["folderFavorites"]
    assert "AirPromptsDB" not in out
    assert "migrated 3 records from 1.0.0 to 3.0.0" in err


def test_legacy_store_with_a_raw_string_migrates_like_the_services(tmp_path):
    source = write_json(tmp_path / "legacy.json", LEGACY, indent=2)
    code, _, err = run_cli("migrate", str(source), "-o", str(tmp_path / "out.json"))
    assert code == 0, err
    out = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert out == migrated_in_memory(LEGACY, {}).local
    assert out["theme"] == "dark"  # legacy keys stay, read-only, for the dual-read period
    assert json.loads(out["airprompts_theme_preference"]) == "dark"
    ids = [t["id"] for t in json.loads(out["airprompts_templates"])]
    assert ids[0] == "1700000000001" and len(ids) == 2 and ids[1]  # the id-less record got its stable id


def make_backup_file(path: Path, local: dict[str, str], passphrase: str | None) -> Path:
    async def go() -> str:
        services = build(MemoryStorage(local=local), PythonCrypto(), MemoryLock(registry=set()))
        try:
            meta = await services.backups.create_full_backup("export", **({"passphrase": passphrase} if passphrase else {}))
            return await services.backups.export_backup(meta["id"])
        finally:
            services.detach_logging()

    path.write_text(asyncio.run(go()), encoding="utf-8")
    return path


def read_backup_file(path: Path, passphrase: str | None) -> dict:
    async def go() -> dict:
        services = build(MemoryStorage(), PythonCrypto(), MemoryLock(registry=set()))
        try:
            meta = await services.backups.import_backup(path.read_text(encoding="utf-8"))
            state = await services.backups.state(meta["id"], **({"passphrase": passphrase} if passphrase else {}))
            return {"meta": meta, **state}
        finally:
            services.detach_logging()

    return asyncio.run(go())


@pytest.mark.parametrize("passphrase", [None, "mot de passe “secret” 秘密 🔑"])
def test_console_backup_file_gives_a_backup_file_of_the_migrated_data(tmp_path, passphrase):
    app_local = {k: v for k, v in LOCAL.items() if k != "other-site-key"}  # a backup holds the app's keys only
    source = make_backup_file(tmp_path / "backup.json", app_local, passphrase)
    before = digest(source)
    args = ["migrate", str(source), "-o", str(tmp_path / "out.json")]
    if passphrase:
        (tmp_path / "pass.txt").write_text(passphrase + "\r\n", encoding="utf-8")
        args += ["--passphrase-file", str(tmp_path / "pass.txt")]
    code, _, err = run_cli(*args)
    assert code == 0, err
    assert digest(source) == before
    result = read_backup_file(tmp_path / "out.json", passphrase)
    assert result["meta"]["encrypted"] is bool(passphrase)
    expected = migrated_in_memory(app_local, {})
    assert result["local"] == expected.local
    assert result["meta"]["schemaVersion"] == "3.0.0"


# ---------------------------------------------------------------------- exit codes


def test_unusable_input_exits_2_with_one_line(tmp_path):
    (tmp_path / "not.json").write_text("templates = []", encoding="utf-8")
    write_json(tmp_path / "list.json", [{"id": 1}])
    write_json(tmp_path / "empty.json", {})
    write_json(tmp_path / "newer.json", {"airprompts_schema_version": '"9.0.0"', "airprompts_templates": "[]"})
    write_json(tmp_path / "ok.json", LOCAL)
    locked = make_backup_file(tmp_path / "locked.json", {"airprompts_templates": "[]"}, "right")
    (tmp_path / "wrong.txt").write_text("wrong\n", encoding="utf-8")
    damaged = json.loads(make_backup_file(tmp_path / "d.json", {"airprompts_templates": "[]"}, None).read_text())
    damaged["chunks"][0]["data"] = damaged["chunks"][0]["data"].replace("[]", "[1]")
    write_json(tmp_path / "damaged.json", damaged)
    out = tmp_path / "out.json"
    cases = [
        (["migrate", str(tmp_path / "missing.json"), "-o", str(out)], "cannot read"),
        (["migrate", str(tmp_path / "not.json"), "-o", str(out)], "not JSON"),
        (["migrate", str(tmp_path / "list.json"), "-o", str(out)], "not an object"),
        (["migrate", str(tmp_path / "empty.json"), "-o", str(out)], "no storage keys"),
        (["migrate", str(tmp_path / "newer.json"), "-o", str(out)], "newer than 3.0.0"),
        (["migrate", str(tmp_path / "ok.json"), "-o", str(tmp_path / "ok.json")], "OUTPUT must not be INPUT"),
        (["migrate", str(tmp_path / "ok.json")], "-o OUTPUT is required"),
        (["migrate", str(locked), "-o", str(out)], "encrypted"),
        (["migrate", str(locked), "-o", str(out), "--passphrase-file", str(tmp_path / "wrong.txt")], "passphrase does not open"),
        (["migrate", str(tmp_path / "damaged.json"), "-o", str(out)], "unusable backup file"),
    ]
    for argv, reason in cases:
        code, _, err = run_cli(*argv)
        assert code == 2, (argv, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and reason in lines[0] and lines[0].startswith("airprompts-migrate: "), (argv, err)
        assert not out.exists()
    assert (tmp_path / "ok.json").read_text(encoding="utf-8") == json.dumps(LOCAL, ensure_ascii=False)


def test_a_failed_run_exits_1_and_writes_nothing(tmp_path):
    # Data that fits neither where it is nor anywhere else the switch may put it: the run fails before writing.
    local = {"airprompts_todos": "t" * (5 * 1024 * 1024 - 40_000), "airprompts_snippets": json.dumps(SNIPPETS)}
    source = write_json(tmp_path / "full.json", {**local, "AirPromptsDB": {"snippets": []}})
    old_output = write_json(tmp_path / "out.json", {"previous": "run"})
    before = digest(source)
    code, stdout, err = run_cli("migrate", str(source), "-o", str(old_output), "--report", str(tmp_path / "r.json"))
    assert code == 1, err
    assert "nothing was written" in err and QuotaExceeded.name in err
    assert json.loads(old_output.read_text()) == {"previous": "run"}
    assert not (tmp_path / "r.json").exists()
    assert digest(source) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full.json", "out.json"]


def test_quarantined_records_still_exit_0(tmp_path):
    source = write_json(tmp_path / "in.json", {"airprompts_templates": json.dumps([{"id": "x", "name": ["no"], "content": "ö"}, "plain text"])})
    code, stdout, _ = run_cli("migrate", str(source), "-o", str(tmp_path / "out.json"), "--report", "-")
    assert code == 0
    report = json.loads(stdout)
    assert [q["record"] for q in report["quarantined"]] == [{"id": "x", "name": ["no"], "content": "ö"}, "plain text"]
    assert json.loads(json.loads((tmp_path / "out.json").read_text())["airprompts_templates"]) == []


def test_dry_run_writes_no_output_and_reports(tmp_path):
    source = write_json(tmp_path / "in.json", LOCAL)
    code, stdout, err = run_cli("migrate", str(source), "--dry-run", "--report", "-")
    assert code == 0, err
    report = json.loads(stdout)
    assert report["dryRun"] is True and report["needed"] is True and report["migrated"] == 4
    assert [q["id"] for q in report["quarantined"]] == ["t-bad"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.json"]
    assert "would migrate 4 records" in err


# ---------------------------------------------------------------------- the output write, interrupted


@pytest.mark.parametrize("where", ["write", "fsync", "second-file", "rename"])
def test_an_interrupted_output_write_leaves_the_old_files_and_no_temporaries(tmp_path, monkeypatch, where):
    source = write_json(tmp_path / "in.json", LOCAL)
    output = write_json(tmp_path / "out.json", {"airprompts_templates": "[\"older\"]"})
    report = tmp_path / "report.json"
    report.write_text("older report\r\n", encoding="utf-8")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    calls = {"n": 0}

    if where == "write":
        real_fdopen = os.fdopen

        class HalfFile:
            def __init__(self, handle):
                self.handle = handle

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.handle.close()

            def write(self, text):
                self.handle.write(text[: len(text) // 2])
                raise OSError(28, "No space left on device")

        monkeypatch.setattr(cli.files.os, "fdopen", lambda fd, *a, **k: HalfFile(real_fdopen(fd, *a, **k)))
    elif where == "fsync":
        monkeypatch.setattr(cli.files.os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(5, "I/O error")))
    elif where == "second-file":
        real_stage = cli.stage

        def stage(path, text):
            calls["n"] += 1
            if calls["n"] == 2:
                raise OSError(28, "No space left on device")
            return real_stage(path, text)

        monkeypatch.setattr(cli.files, "stage", stage)
    else:
        real_replace = os.replace

        def replace(src, dst):
            raise OSError(18, "Invalid cross-device link")

        monkeypatch.setattr(cli.files.os, "replace", replace)
        del real_replace

    code, _, err = run_cli("migrate", str(source), "-o", str(output), "--report", str(report))
    assert code == 1, err
    assert "nothing was written" in err
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_written_files_get_ordinary_permissions(tmp_path):
    source = write_json(tmp_path / "in.json", LOCAL)
    code, _, _ = run_cli("migrate", str(source), "-o", str(tmp_path / "out.json"))
    assert code == 0
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "out.json").stat().st_mode & 0o777 == 0o666 & ~umask


# ---------------------------------------------------------------------- progress and entry points


def test_progress_bar_on_stderr_for_large_inputs_only(tmp_path):
    many = [{"id": f"t{i}", "name": f"Modèle {i} “{i}”", "content": "内容\r\n" * (i % 5), "created_at": "2024-01-01T00:00:00.000Z"} for i in range(2500)]
    large = write_json(tmp_path / "large.json", {"airprompts_templates": json.dumps(many, ensure_ascii=False)})
    code, _, err = run_cli("migrate", str(large), "-o", str(tmp_path / "large-out.json"))
    assert code == 0
    bars = [line for line in err.splitlines() if "[" in line and "/2500" in line]
    assert len(bars) >= 3 and bars[-1].endswith("100%") and "2500/2500" in bars[-1]
    small = write_json(tmp_path / "small.json", LOCAL)
    code, _, err = run_cli("migrate", str(small), "-o", str(tmp_path / "small-out.json"))
    assert code == 0 and "[" not in err
    code, _, err = run_cli("migrate", str(large), "-o", str(tmp_path / "quiet.json"), "-q")
    assert code == 0 and err == ""


def test_python_dash_m_app_runs_from_the_repository_root(tmp_path):
    source = write_json(tmp_path / "in.json", {"airprompts_templates": worked_example.INPUT_TEXT, "airprompts_schema_version": '"1.0.0"'})
    done = subprocess.run(
        [sys.executable, "-m", "app", "migrate", str(source), "-o", str(tmp_path / "out.json")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(json.loads((tmp_path / "out.json").read_text())["airprompts_templates"]) == [worked_example.OUTPUT]
    usage = subprocess.run([sys.executable, "-m", "app"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert usage.returncode == 2 and "migrate" in usage.stderr


def test_console_script_is_declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["airprompts-migrate"] == "app.cli:main"
    assert callable(cli.main)


def test_numbers_keep_what_json_parse_would_and_out_of_range_ones_keep_their_text(tmp_path):
    huge = "9" * 5000
    source = tmp_path / "export.json"
    source.write_text(
        '{"airprompts_templates": [{"id": "n", "name": "Zahlen “groß”", "content": "∑", "one": 1.0, "half": 0.5,'
        f' "far": 1e400, "huge": {huge}, "createdAt": "2024-01-01T00:00:00.000Z"}}],'
        ' "airprompts_todos": [{"text": "écrire", "weight": 1e400, "n": 2.50}]}',
        encoding="utf-8",
    )
    code, _, err = run_cli("migrate", str(source), "-o", str(tmp_path / "out.json"))
    assert code == 0, err
    text = (tmp_path / "out.json").read_text(encoding="utf-8")
    assert "Infinity" not in text and '"far":1e400' in text and '"weight":1e400' in text and f'"huge":{huge}' in text
    out = jsonstream_loads(text)
    [template] = out["airprompts_templates"]
    assert template["one"] == 1 and isinstance(template["one"], int) and template["half"] == 0.5
    assert out["airprompts_todos"][0]["n"] == 2.5


def jsonstream_loads(text: str):
    from app.core import jsonstream

    return jsonstream.loads(text)
