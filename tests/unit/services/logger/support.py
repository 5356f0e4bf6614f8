"""What the audit-trail tests share: a clock they move by hand and a logger built on it."""

from __future__ import annotations

from app.services.logger import MigrationLogger
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
