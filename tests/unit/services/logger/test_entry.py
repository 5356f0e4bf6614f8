"""An entry's level names and its shape: id, time, ts, JSON-compatible context."""

from __future__ import annotations

import json

from app.core.errors import PlanError
from app.services.logger import LEVELS
from tests.unit.services.logger.support import T0, make_logger


def test_levels_are_the_guide_levels():
    assert LEVELS == ("DEBUG", "INFO", "WARN", "ERROR", "CRITICAL")


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
