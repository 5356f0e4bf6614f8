"""The batched transform of a run: every source's records upgraded and validated, batch by batch, into a sink."""

from __future__ import annotations

import time
from typing import Any, Iterator

from app.core import jsonstream
from app.core.issues import Quarantined
from app.core.transform import BatchResult, CollectionTransformer, Context
from app.core.validator import References, Validator
from app.services.migration.plan import RunPlan, parse_whole
from app.services.migration.report import INVALID_COLLECTION, Report, Staged
from app.services.migration.runtime import Runtime
from app.services.migration.sinks import Sink
from app.services.migration.state import Run, Source


def merge(first: BatchResult, second: BatchResult) -> BatchResult:
    merged = BatchResult(
        records=first.records + second.records,
        quarantined=first.quarantined + second.quarantined,
        repairs=first.repairs + second.repairs,
        counts=dict(first.counts),
    )
    for version, count in second.counts.items():
        merged.counts[version] = merged.counts.get(version, 0) + count
    return merged


def batches(src: Source, batch_size: int, skip: int = 0, start: int = 0, ends: list[int] | None = None) -> Iterator[list[Any]]:
    """Yield ``src``'s records in batches, from batch ``skip`` on (at character ``start`` of its text)."""
    if src.location == "local":
        assert src.text is not None
        if skip and not start:
            return  # the staged batches reached the end of the array
        yield from jsonstream.iter_array_batches(src.text, batch_size, start=start, ends=ends)
        return
    assert src.raw is not None
    if src.items is None and (src.value_at is None or (skip and not start)):
        # A journal of an earlier release, which kept no text positions for a record's batches.
        parse_whole(src, nesting_checked=src.value_at is not None)
    if src.items is not None:
        items = src.items
        for first in range(skip * batch_size, len(items), batch_size):
            yield items[first : first + batch_size]
        return
    # The record's array, batch by batch; its members after the array are read at its end.
    closed: list[int] = []
    yield from jsonstream.iter_array_batches(
        src.raw, batch_size, start=start, ends=ends, at=src.value_at or 0, closed=closed
    )
    src.record = {**(src.record or {}), **jsonstream.members_after(src.raw, closed[0], "value")}


class Transform:
    """Run the plan's transform into a sink; return the report and the staged texts."""

    def __init__(self, runtime: Runtime, *, use_jsonschema_samples: int) -> None:
        self.rt = runtime
        self.use_jsonschema_samples = max(0, int(use_jsonschema_samples))
        self._validator = Validator(use_jsonschema=False)
        self._schema_validator = Validator(use_jsonschema=True)

    async def run(self, run: Run, plan: RunPlan, sink: Sink, report: Report) -> Staged:
        report.legacy = plan.legacy_report()
        report.warnings.extend(plan.conflict_warnings())
        staged = Staged()
        references = References()
        run.processed = 0
        try:
            for src in run.sources:
                await self._source(run, src, references, report, staged, sink)
        except BaseException:
            # Nothing may still be writing when the run's failure is handled (its undo and clean-up).
            await sink.settle()
            raise
        for issue in references.dangling():
            report.warn(issue)
        report.values.update(plan.values.statuses)
        for issue, source in plan.values.warnings:
            report.warn(issue, source)
        await sink.stage_values(run, plan.values.texts)
        staged.values = list(plan.values.texts)
        return staged

    async def _source(
        self, run: Run, src: Source, references: References, report: Report, staged: Staged, sink: Sink
    ) -> None:
        if src.error is not None:
            entry = Quarantined(src.kind, -1, src.read_from, src.raw, [f"{INVALID_COLLECTION}: {src.error}"])
            report.add_invalid(src, entry)
            await sink.quarantine_collection(run, src, entry)
            return
        report.source(src)
        ctx = Context(src.kind, src.id, run.plan.from_version, run.started_at, src.origins)
        transformer = CollectionTransformer(ctx, self._validator, references)
        # A resumed run takes back the batches an earlier page staged, with their part of the
        # report, instead of transforming them again; the text is parsed on from the last one.
        restored, start, index = 0, 0, 0
        for summary, fragment in await sink.staged_batches(run, src):
            report.add_piece(src, summary)
            staged.add(src.id, fragment.encode("utf-8"))
            transformer.seen.update(summary["ids"])
            transformer.references.restore(src.kind, summary["ids"], summary["refs"])
            restored, start, index = restored + 1, summary.get("end") or 0, index + int(summary["size"])
        if restored:
            self.rt.logger.bind(runId=run.run_id).info(
                f"resumed {src.id} after {restored} staged batches", source=src.id, batches=restored
            )
        samples = max(0, self.use_jsonschema_samples - index)
        run.processed += index
        if restored:
            self.rt.emit_progress(run)
        ends: list[int] = []
        for number, batch in enumerate(batches(src, run.options["batchSize"], restored, start, ends), start=restored):
            started = time.perf_counter()
            mark = references.mark()
            result, samples = self._batch(transformer, batch, index, samples)
            # One encoder call per batch: "[a,b]" without its brackets is the fragment "a,b", as
            # UTF-8 bytes from staging to the switch (Staged.array), never decoded to a str.
            fragment = jsonstream.dumps_utf8(result.records)[1:-1] if result.records else b""
            piece = report.add_batch(src, result)
            staged.add(src.id, fragment)
            index += len(batch)
            run.processed += len(batch)
            if sink.wants(run, src, number):
                summary = {
                    **piece,
                    "size": len(batch),
                    "end": ends[-1] if ends else None,
                    "ids": [record["id"] for record in result.records],
                    "refs": references.since(mark),
                }
                await sink.stage_batch(run, src, number, fragment, summary, result.quarantined, last=index >= src.count)
            await sink.after_batch(run, len(batch), time.perf_counter() - started)
        await sink.finish_source(run, src)

    def _batch(
        self, transformer: CollectionTransformer, batch: list[Any], index: int, samples: int
    ) -> tuple[BatchResult, int]:
        """Run one batch; the first ``samples`` records of a collection also get the JSON Schema check."""
        take = min(samples, len(batch))
        if not take:
            return transformer.run(batch, index), 0
        transformer.validator = self._schema_validator
        try:
            sampled = transformer.run(batch[:take], index)
        finally:
            transformer.validator = self._validator
        if take == len(batch):
            return sampled, samples - take
        return merge(sampled, transformer.run(batch[take:], index + take)), samples - take
