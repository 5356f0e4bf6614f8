"""The trail one logger and every logger bound from it write to: the buffer, its dispatch, the store ``logs``."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Callable, Iterable

from app.core import timestamps
from app.core.events import EventBus
from app.services.logger.entry import RANK, jsonable
from app.storage.base import Delete, Op, Put, Storage

_log = logging.getLogger(__name__)

STORE = "logs"
_RUN_ID_KEYS = ("runId", "run_id")

Sink = Callable[[dict[str, Any]], None]


class Trail:
    """Hold the state every view of one audit trail shares: buffer, level, storage."""

    def __init__(
        self,
        storage: Storage,
        clock: Callable[[], float],
        max_entries: int,
        events: EventBus | None,
        sink: Sink | None,
        level: str,
        flush_every: int,
    ) -> None:
        self.storage = storage
        self.clock = clock
        self.max_entries = max_entries
        self.events = events
        self.sink = sink
        self.rank = RANK[level]
        self.flush_every = flush_every
        # (sequence, entry) in logging order; the sequence survives trimming, unlike an index.
        self.buffer: list[tuple[int, dict[str, Any]]] = []
        self.sequence = 0
        self.lock = asyncio.Lock()
        self.dispatching = False
        self.flush_task: asyncio.Task[None] | None = None
        self.next_auto_flush = flush_every

    def record(self, level: str, message: str, context: dict[str, Any]) -> dict[str, Any] | None:
        """Buffer and dispatch an entry at ``level``; return it, or None below the trail's level."""
        if RANK[level] < self.rank:
            return None
        context = jsonable(context)
        run_id = None
        for key in _RUN_ID_KEYS:
            if key in context:
                run_id = context.pop(key)
        ts = round(self.clock() * 1000)
        self.sequence += 1
        entry: dict[str, Any] = {
            "id": f"{ts:015d}-{self.sequence:08d}",
            "time": timestamps.from_epoch_ms(ts),
            "ts": ts,
            "level": level,
            "message": message if isinstance(message, str) else str(message),
            "context": context,
        }
        if run_id is not None:
            entry["runId"] = run_id if isinstance(run_id, str) else str(run_id)
        self.buffer.append((self.sequence, entry))
        if len(self.buffer) > self.max_entries:
            # The store keeps only the newest max_entries, so older buffered entries could never survive a flush.
            del self.buffer[: len(self.buffer) - self.max_entries]
        self._dispatch(entry)
        self._maybe_auto_flush()
        return entry

    def _dispatch(self, entry: dict[str, Any]) -> None:
        if self.dispatching:
            # A sink or "log" subscriber failed and its error was logged back here: keep it, but do
            # not dispatch it to the same failing listener again.
            return
        self.dispatching = True
        try:
            if self.sink is not None:
                try:
                    self.sink(entry)
                except Exception:
                    _log.exception("log sink %r failed", self.sink)
            if self.events is not None:
                self.events.emit("log", entry)
        finally:
            self.dispatching = False

    def _maybe_auto_flush(self) -> None:
        if self.flush_every <= 0 or len(self.buffer) < self.next_auto_flush:
            return
        if self.flush_task is not None and not self.flush_task.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # Called outside any event loop: the next explicit flush persists the buffer.
        self.flush_task = loop.create_task(self._auto_flush())

    async def _auto_flush(self) -> None:
        try:
            await self.flush()
        except Exception as exc:
            # Nobody awaits this task: report the failure and back off until flush_every more entries arrive.
            self.next_auto_flush = len(self.buffer) + self.flush_every
            _log.warning("audit log flush failed, %d entries kept for the next flush: %s", len(self.buffer), exc)

    async def flush(self) -> None:
        """Persist the buffer in one own write, dropping the oldest stored beyond ``max_entries``."""
        async with self.lock:
            if not self.buffer:
                return
            batch = list(self.buffer)
            existing = await self.storage.own_keys(STORE)
            new_keys = {entry["id"] for _, entry in batch}
            keys = sorted({*existing, *new_keys})
            dropped = set(keys[: max(0, len(keys) - self.max_entries)])
            ops: list[Op] = [Delete(STORE, key) for key in existing if key in dropped]
            ops += [
                Put(STORE, entry["id"], json.dumps(entry, ensure_ascii=False))
                for _, entry in batch
                if entry["id"] not in dropped
            ]
            # On failure the buffer is untouched, so the next flush writes these entries again.
            await self.storage.own_write(ops)
            last = batch[-1][0]
            self.buffer = [(sequence, entry) for sequence, entry in self.buffer if sequence > last]
            self.next_auto_flush = self.flush_every

    async def entries(self, since_ms: int | None, until_ms: int | None) -> Iterable[dict[str, Any]]:
        """Return stored and buffered entries within the bounds, newest first."""
        found: dict[str, dict[str, Any]] = {}
        for key, text in await self.storage.own_scan(STORE):
            if not _key_in_range(key, since_ms, until_ms):
                continue
            try:
                entry = json.loads(text)
            except ValueError:
                continue  # A truncated or hand-edited record must not hide the rest of the trail.
            if isinstance(entry, dict):
                found[key] = entry
        for _, entry in self.buffer:
            if _key_in_range(entry["id"], since_ms, until_ms):
                found[entry["id"]] = entry
        return (found[key] for key in sorted(found, reverse=True))


def _key_in_range(key: str, since_ms: int | None, until_ms: int | None) -> bool:
    try:
        ts = int(key.split("-", 1)[0])
    except ValueError:
        return False
    return (since_ms is None or ts >= since_ms) and (until_ms is None or ts <= until_ms)
