"""The console's view of ``window.airprompts``: the same JSON calls and events a host app gets.

The console never touches a service: it sends ``(service, method, JSON args)`` to the
dispatcher ``window.airprompts`` uses and reads its JSON answer, and it hears the app's
events as the JSON ``detail`` of their DOM events. What it shows is what a host app gets.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Awaitable, Callable

log = logging.getLogger(__name__)

Dispatch = Callable[[str, str, str], Awaitable[str]]
Listener = Callable[[str, dict], None]
Subscribe = Callable[[str, Listener], Callable[[], None]]


class ApiError(Exception):
    """A rejected ``window.airprompts`` call: its error ``name``, ``message`` and ``details``, as JS sees them."""

    def __init__(self, name: str, message: str, details: dict | None = None) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message
        self.details = details or {}


class Client:
    """Call ``window.airprompts`` methods and listen to its events, in JSON, as a host app does."""

    def __init__(self, dispatch: Dispatch, subscribe: Subscribe) -> None:
        self.dispatch = dispatch
        self._subscribe = subscribe

    def __repr__(self) -> str:
        return "<Client window.airprompts>"

    async def call(self, service: str, method: str, *args: Any) -> Any:
        """Return ``airprompts.<service>.<method>(*args)``'s result; raise ApiError when it rejects."""
        answer = json.loads(await self.dispatch(service, method, json.dumps(list(args), ensure_ascii=False)))
        error = answer.get("error")
        if error is not None:
            raise ApiError(str(error.get("name") or "Error"), str(error.get("message") or ""), error.get("details"))
        return answer.get("result")

    def on(self, name: str, listener: Listener) -> Callable[[], None]:
        """Call ``listener(name, detail)`` on every ``airprompts:<name>`` event; return the unsubscriber."""
        return self._subscribe(name, listener)
