import asyncio
import csv
import io
import json
import logging

import pytest

from app.core.errors import InvalidInput, PlanError, TransientStorageError
from app.core.events import EventBus
from app.services.logger import LEVELS, LoggingHandler, MigrationLogger, bridge_logging
from app.storage.base import Delete, Put
from app.storage.memory import MemoryStorage

T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z


class FakeClock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_logger(storage=None, **kwargs):
    clock = kwargs.pop("clock", FakeClock())
    return MigrationLogger(storage or MemoryStorage(), clock=clock, **kwargs), clock


def test_levels_are_the_guide_levels():
    assert LEVELS == ("DEBUG", "INFO", "WARN", "ERROR", "CRITICAL")


def test_entries_below_the_level_are_dropped():
    logger, _ = make_logger()
    assert logger.debug("hidden") is None
    assert logger.info("shown")["level"] == "INFO"
    logger.set_log_level("error")
    assert logger.warn("hidden too") is None
    assert logger.critical("loud")["level"] == "CRITICAL"
    assert logger.buffered == 2


@pytest.mark.parametrize(
    ("given", "expected"), [("warning", "WARN"), ("WARN", "WARN"), (" Debug ", "DEBUG"), ("critical", "CRITICAL")]
)
def test_set_log_level_accepts_any_case_and_warning(given, expected):
    logger, _ = make_logger()
    logger.set_log_level(given)
    assert logger.level == expected


@pytest.mark.parametrize("bad", ["verbose", "", None, 10])
def test_set_log_level_rejects_unknown_levels(bad):
    logger, _ = make_logger()
    with pytest.raises(InvalidInput):
        logger.set_log_level(bad)
    assert logger.level == "INFO"


def test_entry_shape_and_json_compatible_context():
    logger, clock = make_logger()
    clock.now = T0 + 0.123

    class Thing:
        def __repr__(self):
            return "<Thing>"

    entry = logger.info(
        "batch done",
        count=3,
        ratio=float("nan"),
        thing=Thing(),
        keys=("a", "b"),
        error=PlanError("no path", source=1),
        nested={1: {"x": {2}}},
    )

    assert entry["id"] == "001700000000123-00000001"
    assert entry["time"] == "2023-11-14T22:13:20.123Z"
    assert entry["ts"] == 1_700_000_000_123
    assert entry["message"] == "batch done"
    assert entry["context"] == {
        "count": 3,
        "ratio": "nan",
        "thing": "<Thing>",
        "keys": ["a", "b"],
        "error": {"name": "PlanError", "message": "no path", "details": {"source": 1}},
        "nested": {"1": {"x": [2]}},
    }
    assert "runId" not in entry
    assert json.loads(json.dumps(entry, allow_nan=False)) == entry


def test_context_may_use_the_names_message_and_level():
    logger, _ = make_logger()
    entry = logger.error("failed", message="inner", level=3)
    assert entry["message"] == "failed"
    assert entry["context"] == {"message": "inner", "level": 3}


def test_bind_adds_context_and_run_id_and_shares_the_trail():
    logger, _ = make_logger()
    run = logger.bind(runId="run-1", source="localStorage")
    step = run.bind(step="v1->v2")

    entry = step.info("migrated", count=2)

    assert entry["runId"] == "run-1"
    assert entry["context"] == {"source": "localStorage", "step": "v1->v2", "count": 2}
    assert logger.buffered == 1
    run.set_log_level("ERROR")
    assert logger.level == "ERROR"


async def test_flush_writes_every_entry_in_one_transaction():
    writes = []
    storage = MemoryStorage(fault=lambda op, detail: op == "own_write" and writes.append((op, detail)))
    logger, clock = make_logger(storage)
    logger.info("one")
    clock.advance(1)
    logger.warn("two", runId="r")

    await logger.flush()

    assert [op for op, _ in writes] == ["own_write"]
    assert all(isinstance(op, Put) and op.store == "logs" for op in writes[0][1])
    assert sorted(storage.own["logs"]) == ["001700000000000-00000001", "001700000001000-00000002"]
    stored = json.loads(storage.own["logs"]["001700000001000-00000002"])
    assert stored == {
        "id": "001700000001000-00000002",
        "time": "2023-11-14T22:13:21.000Z",
        "ts": 1_700_000_001_000,
        "level": "WARN",
        "message": "two",
        "context": {},
        "runId": "r",
    }
    assert logger.buffered == 0
    await logger.flush()  # nothing buffered: no write at all
    assert len(writes) == 1


async def test_flush_drops_the_oldest_beyond_max_entries_in_the_same_transaction():
    writes = []
    storage = MemoryStorage(fault=lambda op, detail: op == "own_write" and writes.append(detail))
    logger, clock = make_logger(storage, max_entries=3)
    for message in ("a", "b"):
        logger.info(message)
        clock.advance(1)
    await logger.flush()
    for message in ("c", "d", "e"):
        logger.info(message)
        clock.advance(1)

    await logger.flush()

    kept = [json.loads(value)["message"] for _, value in sorted(storage.own["logs"].items())]
    assert kept == ["c", "d", "e"]
    last = writes[-1]
    assert [type(op) for op in last] == [Delete, Delete, Put, Put, Put]
    assert [op.key for op in last[:2]] == ["001700000000000-00000001", "001700000001000-00000002"]


async def test_one_flush_of_more_than_max_entries_keeps_the_newest():
    storage = MemoryStorage()
    logger, clock = make_logger(storage, max_entries=2, flush_every=0)
    for message in ("a", "b", "c", "d"):
        logger.info(message)
        clock.advance(0.001)
    await logger.flush()
    assert [json.loads(v)["message"] for _, v in sorted(storage.own["logs"].items())] == ["c", "d"]


async def test_failed_flush_keeps_the_buffer_and_the_next_flush_writes_it():
    failures = [TransientStorageError("IndexedDB busy")]

    def fault(op, detail):
        if failures:
            raise failures.pop()

    storage = MemoryStorage(fault=fault)
    logger, _ = make_logger(storage)
    logger.info("must survive")

    with pytest.raises(TransientStorageError):
        await logger.flush()

    assert logger.buffered == 1
    assert storage.own["logs"] == {}
    assert [e["message"] for e in await logger.query_logs()] == ["must survive"]
    logger.info("later")
    await logger.flush()
    assert logger.buffered == 0
    assert sorted(json.loads(v)["message"] for v in storage.own["logs"].values()) == ["later", "must survive"]


async def test_entries_logged_during_a_flush_stay_buffered():
    storage = MemoryStorage()
    logger, _ = make_logger(storage)
    logger.info("first")
    flushing = asyncio.ensure_future(logger.flush())
    await asyncio.sleep(0)  # the flush is now waiting on storage
    logger.info("during")
    await flushing
    assert [json.loads(v)["message"] for v in storage.own["logs"].values()] == ["first"]
    assert logger.buffered == 1


async def test_buffer_keeps_only_max_entries_while_storage_fails():
    def fault(op, detail):
        raise TransientStorageError("down")

    logger, _ = make_logger(MemoryStorage(fault=fault), max_entries=3, flush_every=0)
    for i in range(5):
        logger.info(f"m{i}")
    assert logger.buffered == 3
    assert [e["message"] for e in await logger.query_logs()] == ["m4", "m3", "m2"]


async def test_automatic_flush_after_flush_every_entries():
    storage = MemoryStorage()
    logger, _ = make_logger(storage, flush_every=2)
    logger.info("a")
    await asyncio.sleep(0.01)
    assert storage.own["logs"] == {}
    logger.info("b")
    for _ in range(5):
        await asyncio.sleep(0)
    assert len(storage.own["logs"]) == 2
    assert logger.buffered == 0


async def test_failed_automatic_flush_is_logged_not_raised(caplog):
    def fault(op, detail):
        raise TransientStorageError("down")

    logger, _ = make_logger(MemoryStorage(fault=fault), flush_every=1)
    with caplog.at_level(logging.WARNING, logger="app.services.logger"):
        logger.info("a")
        for _ in range(5):
            await asyncio.sleep(0)
    assert "audit log flush failed, 1 entries kept" in caplog.text
    assert logger.buffered == 1


def test_automatic_flush_is_skipped_outside_an_event_loop():
    logger, _ = make_logger(flush_every=1)
    logger.info("a")
    assert logger.buffered == 1


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


def test_sink_and_log_event_receive_every_recorded_entry():
    bus = EventBus()
    events, mirrored = [], []
    bus.subscribe("log", lambda name, payload: events.append(payload["message"]))
    logger, _ = make_logger(events=bus, sink=lambda entry: mirrored.append(entry["message"]))
    logger.info("seen")
    logger.debug("below level")
    assert mirrored == ["seen"]
    assert events == ["seen"]


async def test_failing_sink_is_recorded_without_recursion():
    bus = EventBus()
    events = []
    bus.subscribe("log", lambda name, payload: events.append(payload["message"]))

    def sink(entry):
        raise RuntimeError("console gone")

    logger, _ = make_logger(events=bus, sink=sink)
    detach = bridge_logging(logger)
    try:
        entry = logger.info("still recorded")
    finally:
        detach()
    assert entry is not None
    messages = [e["message"] for e in reversed(await logger.query_logs())]
    # The entry is buffered before it is dispatched, so the sink's failure comes second.
    assert messages[0] == "still recorded" and messages[1].startswith("log sink")
    assert events == ["still recorded"]


async def test_failing_log_subscriber_does_not_loop_through_the_bridge():
    bus = EventBus()
    calls = []

    def broken(name, payload):
        calls.append(payload["message"])
        raise RuntimeError("page listener bug")

    bus.subscribe("*", broken)
    logger, _ = make_logger(events=bus)
    detach = bridge_logging(logger)
    try:
        logger.info("hello")
    finally:
        detach()
    assert calls == ["hello"]
    assert logger.buffered == 2
    failure = (await logger.query_logs())[0]
    assert failure["message"].startswith("event subscriber")
    assert "page listener bug" in failure["context"]["exception"]


async def test_logging_bridge_forwards_app_records_with_mapped_levels():
    logger, _ = make_logger()
    detach = bridge_logging(logger)
    try:
        log = logging.getLogger("app.services.migration")
        log.debug("too detailed %s", "x")
        log.warning("slow batch %d", 7, extra={"context": {"batch": 7}})
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("step failed")
        logging.getLogger("app").critical("disk full")
        logging.getLogger("other").error("not ours")
    finally:
        detach()
    logging.getLogger("app").warning("after detach")

    entries = list(reversed(await logger.query_logs()))
    assert [(e["level"], e["message"]) for e in entries] == [
        ("WARN", "slow batch 7"),
        ("ERROR", "step failed"),
        ("CRITICAL", "disk full"),
    ]
    assert entries[0]["context"] == {"logger": "app.services.migration", "batch": 7}
    assert "ValueError: boom" in entries[1]["context"]["exception"]
    assert logging.getLogger("app").level == logging.NOTSET
    assert not any(isinstance(h, LoggingHandler) for h in logging.getLogger("app").handlers)


async def test_logging_bridge_follows_the_migration_logger_level():
    logger, _ = make_logger()
    detach = bridge_logging(logger)
    try:
        logging.getLogger("app.x").debug("hidden")
        logger.set_log_level("DEBUG")
        logging.getLogger("app.x").debug("shown")
    finally:
        detach()
    assert [(e["level"], e["message"]) for e in await logger.query_logs()] == [("DEBUG", "shown")]


@pytest.mark.parametrize("kwargs", [{"max_entries": 0}, {"flush_every": -1}, {"level": "LOUD"}])
def test_constructor_rejects_bad_arguments(kwargs):
    with pytest.raises(InvalidInput):
        MigrationLogger(MemoryStorage(), **kwargs)
