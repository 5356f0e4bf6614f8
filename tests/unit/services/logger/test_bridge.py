"""The logging bridge: records of the app's loggers reach the trail."""

from __future__ import annotations

import logging

from app.core.events import EventBus
from app.services.logger import LoggingHandler, bridge_logging
from tests.unit.services.logger.support import make_logger


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
