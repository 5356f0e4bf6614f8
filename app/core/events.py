"""A tiny synchronous event bus.

Services emit named events with a JSON-compatible payload; the browser wiring
subscribes one ``"*"`` callback that dispatches each of them as a DOM
``CustomEvent``. Every callback is called as ``callback(name, payload)``.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from app.core.errors import InvalidInput

_log = logging.getLogger(__name__)

# The events the app emits; the bus accepts other names too so a new event
# never needs a change here.
EVENTS = ("progress", "phase", "complete", "failed", "log", "backup")
ALL = "*"

Callback = Callable[[str, dict[str, Any]], None]


class _Subscription:
    """Hold one callback, so the same callback subscribed twice unsubscribes once at a time."""

    __slots__ = ("callback",)

    def __init__(self, callback: Callback) -> None:
        self.callback = callback


class EventBus:
    """Deliver named events to their subscribers, then to ``"*"`` subscribers, in subscription order."""

    def __init__(self) -> None:
        self._subscriptions: dict[str, list[_Subscription]] = {}

    def __repr__(self) -> str:
        return f"<EventBus {{{', '.join(f'{n}: {len(s)}' for n, s in self._subscriptions.items() if s)}}}>"

    def subscribe(self, name: str, callback: Callback) -> Callable[[], None]:
        """Call ``callback(name, payload)`` for every event ``name`` (``"*"``: every event); return the unsubscriber."""
        _check_name(name)
        if not callable(callback):
            raise InvalidInput(f"event callback must be callable, got {type(callback).__name__}", event=name)
        subscription = _Subscription(callback)
        self._subscriptions.setdefault(name, []).append(subscription)

        def unsubscribe() -> None:
            subscriptions = self._subscriptions.get(name, [])
            # Compare identities: the same callback may be subscribed more than once.
            for index, candidate in enumerate(subscriptions):
                if candidate is subscription:
                    del subscriptions[index]
                    return

        return unsubscribe

    def emit(self, name: str, payload: dict[str, Any]) -> None:
        """Deliver ``payload`` to the subscribers of ``name`` and of ``"*"``."""
        _check_name(name)
        if name == ALL:
            raise InvalidInput('"*" subscribes to every event; it cannot be emitted', event=name)
        if not isinstance(payload, dict):
            raise InvalidInput(f"event payload must be a dict, got {type(payload).__name__}", event=name)
        # Copy first: a callback may subscribe or unsubscribe while we deliver.
        subscriptions = [*self._subscriptions.get(name, ()), *self._subscriptions.get(ALL, ())]
        for subscription in subscriptions:
            try:
                subscription.callback(name, payload)
            except Exception:
                # One broken listener (often a page script) must not stop the migration or the others.
                _log.exception("event subscriber %r failed on %r", subscription.callback, name)


def _check_name(name: object) -> None:
    if not isinstance(name, str) or not name:
        raise InvalidInput(f"event name must be a non-empty string, got {name!r}", event=name)
