"""The cross-tab migration lock, and the one way the services take it."""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Iterable, Protocol


class Lock(Protocol):
    """The cross-tab migration lock (``BrowserLock``, ``MemoryLock``)."""

    async def acquire(self) -> bool: ...

    def release(self) -> None: ...

    async def held_elsewhere(self) -> bool: ...


async def take_lock(
    lock: Lock,
    sleep: Callable[[float], Any],
    delays: Iterable[float],
    *,
    busy: Callable[[], bool] = lambda: False,
    free: Callable[[], Awaitable[bool]] | None = None,
) -> bool:
    """Take ``lock`` now or after one of ``delays``; return False when every try failed.

    ``free`` (when given) must say nothing unfinished is recorded, before and just after the lock is
    taken (a run may have written its journal just before); ``busy()`` true stops the waiting early.
    """
    waits = iter(delays)
    while True:
        if await _try(lock, free):
            return True
        if busy():
            return await _try(lock, free)
        delay = next(waits, None)  # asked only after a failed try (a generator may log or give up here)
        if delay is None:
            return False
        await sleep(delay)


async def _try(lock: Lock, free: Callable[[], Awaitable[bool]] | None) -> bool:
    if free is not None and not await free():
        return False
    if not await lock.acquire():
        return False
    if free is not None and not await free():
        lock.release()
        return False
    return True
