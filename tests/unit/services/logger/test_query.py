"""Queries of the trail and its JSON and CSV export."""

from __future__ import annotations

import csv
import io
import json

import pytest

from app.core.errors import InvalidInput
from app.storage.memory import MemoryStorage
from tests.unit.services.logger.support import make_logger


async def seeded_logger():
    logger, clock = make_logger(level="DEBUG")
    logger.debug("scan started", source="localStorage")
    clock.advance(1)
    logger.bind(runId="run-1").info("Migrated prompts", count=10)
    clock.advance(1)
    logger.bind(runId="run-1").warn("record quarantined", key="Folder-7")
    await logger.flush()
    clock.advance(1)
    logger.error("write failed", reason="QuotaExceeded")  # left unflushed on purpose
    return logger


async def test_query_returns_newest_first_including_unflushed():
    logger = await seeded_logger()
    entries = await logger.query_logs()
    assert [e["message"] for e in entries] == ["write failed", "record quarantined", "Migrated prompts", "scan started"]


async def test_query_level_is_a_minimum():
    logger = await seeded_logger()
    assert [e["level"] for e in await logger.query_logs(level="warning")] == ["ERROR", "WARN"]
    with pytest.raises(InvalidInput):
        await logger.query_logs(level="loud")


async def test_query_text_matches_message_or_context_case_insensitively():
    logger = await seeded_logger()
    assert [e["message"] for e in await logger.query_logs(text="MIGRATED")] == ["Migrated prompts"]
    assert [e["message"] for e in await logger.query_logs(text="folder-7")] == ["record quarantined"]
    assert await logger.query_logs(text="nowhere") == []


async def test_query_time_range_is_inclusive_in_ms_or_iso():
    logger = await seeded_logger()
    by_ms = await logger.query_logs(since=1_700_000_001_000, until=1_700_000_002_000)
    assert [e["message"] for e in by_ms] == ["record quarantined", "Migrated prompts"]
    by_iso = await logger.query_logs(since="2023-11-14T22:13:22Z")
    assert [e["message"] for e in by_iso] == ["write failed", "record quarantined"]
    naive_is_utc = await logger.query_logs(until="2023-11-14T22:13:20")
    assert [e["message"] for e in naive_is_utc] == ["scan started"]
    with pytest.raises(InvalidInput):
        await logger.query_logs(since="yesterday")


async def test_query_limit_and_run_id():
    logger = await seeded_logger()
    assert [e["message"] for e in await logger.query_logs(limit=2)] == ["write failed", "record quarantined"]
    assert [e["message"] for e in await logger.query_logs(run_id="run-1")] == ["record quarantined", "Migrated prompts"]
    assert await logger.query_logs(limit=0) == []
    with pytest.raises(InvalidInput):
        await logger.query_logs(limit=-1)


async def test_query_skips_a_corrupt_stored_record():
    storage = MemoryStorage()
    logger, _ = make_logger(storage)
    logger.info("good")
    await logger.flush()
    storage.own["logs"]["001600000000000-00000009"] = "{truncated"
    assert [e["message"] for e in await logger.query_logs()] == ["good"]


async def test_json_export_parses_back_oldest_first():
    logger = await seeded_logger()
    exported = json.loads(await logger.export_logs("JSON"))
    assert [e["message"] for e in exported] == [
        "scan started",
        "Migrated prompts",
        "record quarantined",
        "write failed",
    ]
    assert exported[1]["runId"] == "run-1"
    filtered = json.loads(await logger.export_logs("json", level="ERROR"))
    assert [e["message"] for e in filtered] == ["write failed"]


async def test_csv_export_quotes_per_rfc_4180():
    logger, _ = make_logger()
    logger.info('a, "quoted"\nmultiline message', note="x,y")

    text = await logger.export_logs("csv")

    assert text.startswith("time,level,message,context\r\n")
    assert '"a, ""quoted""\nmultiline message"' in text
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows == [
        ["time", "level", "message", "context"],
        ["2023-11-14T22:13:20.000Z", "INFO", 'a, "quoted"\nmultiline message', '{"note": "x,y"}'],
    ]


@pytest.mark.parametrize("danger", ['=HYPERLINK("http://x")', "+1+1", "-2", "@SUM(A1)", "\tTAB"])
async def test_csv_export_guards_against_formula_injection(danger):
    logger, _ = make_logger()
    logger.info(danger)
    rows = list(csv.reader(io.StringIO(await logger.export_logs("csv"), newline="")))
    assert rows[1][2] == "'" + danger


async def test_csv_context_includes_run_id():
    logger, _ = make_logger()
    logger.bind(runId="r9").info("x", n=1)
    rows = list(csv.reader(io.StringIO(await logger.export_logs("csv"), newline="")))
    assert json.loads(rows[1][3]) == {"runId": "r9", "n": 1}


async def test_export_rejects_unknown_format():
    logger, _ = make_logger()
    with pytest.raises(InvalidInput):
        await logger.export_logs("xml")
