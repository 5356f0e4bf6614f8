"""Where a run's transform puts what it produces: the own stores (``StorageSink``) or nowhere (``DryRunSink``).

The executor runs the same transform for a run and a dry run; only the sink differs.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Protocol

from app.core import jsonstream
from app.core.issues import Quarantined
from app.services import journal
from app.services.migration.runtime import Runtime
from app.services.migration.state import Run, Source
from app.storage.base import Op, Put

# Stage batches in transactions of about this much text, in UTF-8 bytes (or this many operations).
# An IndexedDB transaction costs a few ms whatever it holds; a killed page redoes at most this much.
STAGE_CHARS = 4 * 1024 * 1024
STAGE_OPS = 32

_log = logging.getLogger(__name__)


class Sink(Protocol):
    """What the transform writes to, batch by batch."""

    async def staged_batches(self, run: Run, src: Source) -> list[tuple[dict[str, Any], str]]:
        """Return the (summary, fragment) of each batch staged before a reload, from the first, unbroken."""

    async def quarantine_collection(self, run: Run, src: Source, entry: Quarantined) -> None:
        """Keep a whole collection that is not a JSON array."""

    def wants(self, run: Run, src: Source, number: int) -> bool:
        """Return whether batch ``number`` of ``src`` is to be staged."""

    async def stage_batch(
        self,
        run: Run,
        src: Source,
        number: int,
        fragment: bytes,
        summary: dict[str, Any],
        quarantined: list[Quarantined],
        *,
        last: bool,
    ) -> None:
        """Stage one transformed batch, its records' JSON without the brackets in UTF-8 (``last``: the source's last batch)."""

    async def finish_source(self, run: Run, src: Source) -> None:
        """Stage whatever of ``src`` still waits."""

    async def stage_values(self, run: Run, texts: list[tuple[str, str, str]]) -> None:
        """Stage every value's new text (area, key, text)."""

    async def after_batch(self, run: Run, size: int, seconds: float) -> None:
        """Account for a batch and give the page its turn."""

    async def settle(self) -> None:
        """Wait for every write in flight to end, raising none of their errors (the transform failed)."""


class DryRunSink:
    """A sink that writes nothing: a dry run's transform, and what it would stage, stay in memory."""

    def __init__(self, sleep: Any) -> None:
        self.sleep = sleep

    async def staged_batches(self, run: Run, src: Source) -> list[tuple[dict[str, Any], str]]:
        return []

    async def quarantine_collection(self, run: Run, src: Source, entry: Quarantined) -> None:
        return None

    def wants(self, run: Run, src: Source, number: int) -> bool:
        return False

    async def stage_batch(self, *args: Any, **kwargs: Any) -> None:
        return None

    async def finish_source(self, run: Run, src: Source) -> None:
        return None

    async def stage_values(self, run: Run, texts: list[tuple[str, str, str]]) -> None:
        return None

    async def after_batch(self, run: Run, size: int, seconds: float) -> None:
        await self.sleep(0)

    async def settle(self) -> None:
        return None


class StorageSink:
    """Stage batches in the own store ``staging`` with the journal's cursor, a few per transaction."""

    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self._pending: list[Op] = []
        self._chars = 0
        self._through = 0
        self._writing: asyncio.Future[None] | None = None  # the staging write in flight

    async def staged_batches(self, run: Run, src: Source) -> list[tuple[dict[str, Any], str]]:
        # Only an unbroken run of batches from the first, each with its fragment and its summary,
        # is taken back (a journal of an earlier release has no summaries: its batches are
        # transformed again, and not staged twice).
        done = run.cursor.get(src.id, 0)
        self._through = done
        if done < 1:
            return []
        storage = self.rt.storage
        fragments = dict(await journal.scan_staged(storage, journal.staging_prefix(run.run_id, src.id)))
        summaries = dict(await journal.scan_staged(storage, journal.summary_prefix(run.run_id, src.id)))
        found = []
        for number in range(done):
            fragment = fragments.get(journal.batch_key(run.run_id, src.id, number))
            text = summaries.get(journal.summary_key(run.run_id, src.id, number))
            try:
                summary = json.loads(text) if text is not None and fragment is not None else None
            except ValueError:
                summary = None
            if not isinstance(summary, dict) or (src.location == "local" and not isinstance(summary.get("end"), int)):
                break
            assert fragment is not None
            found.append((summary, fragment))
        return found

    async def quarantine_collection(self, run: Run, src: Source, entry: Quarantined) -> None:
        await self._written()
        if run.cursor.get(src.id, 0) < 1:
            run.cursor[src.id] = 1
            key = journal.quarantine_key(run.run_id, src.id, None)
            await self.rt.write_journal(run, Put(journal.QUARANTINE_STORE, key, jsonstream.dumps(entry.to_dict())))

    def wants(self, run: Run, src: Source, number: int) -> bool:
        return number >= run.cursor.get(src.id, 0)

    async def stage_batch(
        self,
        run: Run,
        src: Source,
        number: int,
        fragment: bytes,
        summary: dict[str, Any],
        quarantined: list[Quarantined],
        *,
        last: bool,
    ) -> None:
        run_id = run.run_id
        self._pending.append(Put(journal.STAGING_STORE, journal.batch_key(run_id, src.id, number), fragment))
        self._pending.append(
            Put(journal.STAGING_STORE, journal.summary_key(run_id, src.id, number), jsonstream.dumps(summary))
        )
        self._pending += [
            Put(journal.QUARANTINE_STORE, journal.quarantine_key(run_id, src.id, q.index), jsonstream.dumps(q.to_dict()))
            for q in quarantined
        ]
        self._chars += len(fragment)
        self._through = number + 1
        # Staged batches wait here until enough text gathers for one transaction: an IndexedDB
        # transaction costs about 2 ms, as much as the work of a batch.
        if last or self._chars >= STAGE_CHARS or len(self._pending) >= 2 * STAGE_OPS:
            await self._stage(run, src)

    async def finish_source(self, run: Run, src: Source) -> None:
        # The source's last write is left in flight while the next source begins: the sink's next
        # write (or the values', or a quarantined collection's) waits for it first and raises its error.
        if self._pending:  # a count that missed the last batch must not leave it unstaged
            await self._stage(run, src)

    async def _stage(self, run: Run, src: Source) -> None:
        """Write the waiting batches with the journal cursor that counts them, in one transaction.

        The write is left in flight: the next batches are transformed while IndexedDB commits it
        (about half of a staging write's time). One write is in flight at most, so they reach the
        store in order, and a failed one raises at the next write, before anything else is written
        (the values' write ends the transform; a failed transform settles it, see Transform.run).
        """
        await self._written()
        run.cursor[src.id] = self._through
        ops, self._pending, self._chars = self._pending, [], 0
        self._writing = asyncio.ensure_future(self.rt.write([*ops, journal.journal_op(run.record())]))

    async def _written(self) -> None:
        """Wait for the staging write in flight; raise its error."""
        writing, self._writing = self._writing, None
        if writing is not None:
            await writing

    async def settle(self) -> None:
        try:
            await self._written()
        except Exception as exc:  # the transform's own error is the one raised
            _log.info("a staging write in flight failed too: %s", exc)

    async def stage_values(self, run: Run, texts: list[tuple[str, str, str]]) -> None:
        await self._written()
        if run.cursor.get("values", 0) < 1:
            run.cursor["values"] = 1
            ops = [Put(journal.STAGING_STORE, journal.value_key(run.run_id, area, key), text) for area, key, text in texts]
            await self.rt.write_journal(run, *ops)

    async def after_batch(self, run: Run, size: int, seconds: float) -> None:
        self.rt.monitor.record_batch(size=size, duration_ms=seconds * 1000)
        self.rt.emit_progress(run)
        if self.rt.turn_due(run):
            await self.rt.between_batches(run)
