"""Fault injection for the storage contract: the same semantics in memory and in the browser."""

from __future__ import annotations

from app.core.errors import from_browser_error


class MemoryFaults:
    """Make MemoryStorage fail the ``after``-th and later calls of an operation."""

    def __init__(self, storage) -> None:
        self.storage = storage

    def set(self, operation: str, error_name: str, after: int = 0) -> None:
        calls = 0

        def fault(op: str, detail: object) -> None:
            nonlocal calls
            if op == operation:
                calls += 1
                if calls > after:
                    raise from_browser_error(error_name, f"injected {error_name} at {op}")

        self.storage.fault = fault

    def clear(self) -> None:
        self.storage.fault = None


class BrowserFaults:
    """Make the JS bridge fail, through globalThis.__airpromptsSetFault (tests/e2e/faults.js)."""

    def set(self, operation: str, error_name: str, after: int = 0) -> None:
        import js  # type: ignore[import-not-found]

        getattr(js, "__airpromptsSetFault")(operation, error_name, after)

    def clear(self) -> None:
        import js  # type: ignore[import-not-found]

        getattr(js, "__airpromptsSetFault")(None, None, 0)
