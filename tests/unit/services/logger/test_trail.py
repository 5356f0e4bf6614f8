"""The trail: flushes to the store logs, the bound on its size, the sink and the log event."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from app.core.errors import TransientStorageError
from app.core.events import EventBus
from app.services.logger import bridge_logging
from app.storage.base import Delete, Put
from app.storage.memory import MemoryStorage
from tests.unit.services.logger.support import make_logger


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
