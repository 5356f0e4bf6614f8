"""The MigrationLogger facade: its level, bound loggers, its constructor's checks."""

from __future__ import annotations

import pytest

from app.core.errors import InvalidInput
from app.services.logger import MigrationLogger
from app.storage.memory import MemoryStorage
from tests.unit.services.logger.support import make_logger


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


@pytest.mark.parametrize("kwargs", [{"max_entries": 0}, {"flush_every": -1}, {"level": "LOUD"}])
def test_constructor_rejects_bad_arguments(kwargs):
    with pytest.raises(InvalidInput):
        MigrationLogger(MemoryStorage(), **kwargs)
