import logging

import pytest

from app.core.errors import InvalidInput
from app.core.events import EVENTS, EventBus


def test_emit_calls_named_then_wildcard_subscribers_in_order():
    bus = EventBus()
    calls = []
    bus.subscribe("*", lambda name, payload: calls.append(("*", name, payload["n"])))
    bus.subscribe("progress", lambda name, payload: calls.append(("progress", name, payload["n"])))
    bus.subscribe("phase", lambda name, payload: calls.append(("phase", name, payload["n"])))

    bus.emit("progress", {"n": 1})
    bus.emit("complete", {"n": 2})

    assert calls == [("progress", "progress", 1), ("*", "progress", 1), ("*", "complete", 2)]


def test_unsubscribe_removes_only_that_subscription():
    bus = EventBus()
    calls = []

    def callback(name, payload):
        calls.append(name)

    first = bus.subscribe("log", callback)
    bus.subscribe("log", callback)
    first()
    first()  # a second call is harmless
    bus.emit("log", {})

    assert calls == ["log"]


def test_failing_subscriber_does_not_stop_the_others_and_is_logged(caplog):
    bus = EventBus()
    calls = []

    def broken(name, payload):
        raise RuntimeError("listener bug")

    bus.subscribe("failed", broken)
    bus.subscribe("failed", lambda name, payload: calls.append(payload))

    with caplog.at_level(logging.ERROR, logger="app.core.events"):
        bus.emit("failed", {"error": "x"})

    assert calls == [{"error": "x"}]
    assert "failed on 'failed'" in caplog.text
    assert "listener bug" in caplog.text


def test_subscribing_during_emit_takes_effect_from_the_next_emit():
    bus = EventBus()
    calls = []

    def late(name, payload):
        calls.append("late")

    bus.subscribe("backup", lambda name, payload: bus.subscribe("backup", late))
    bus.emit("backup", {})
    assert calls == []
    bus.emit("backup", {})
    assert calls == ["late"]


@pytest.mark.parametrize(
    ("name", "payload"),
    [("", {}), (None, {}), ("*", {}), ("progress", ["not", "a", "dict"])],
)
def test_emit_rejects_bad_arguments(name, payload):
    with pytest.raises(InvalidInput):
        EventBus().emit(name, payload)


def test_subscribe_rejects_non_callable():
    with pytest.raises(InvalidInput):
        EventBus().subscribe("log", "not callable")


def test_app_event_names_are_declared():
    assert set(EVENTS) == {"progress", "phase", "complete", "failed", "log", "backup"}
