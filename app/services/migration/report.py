"""What a run tells the user (``Report``), kept apart from the data the switch writes (``Staged``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from app.core import ids, keys, revisions
from app.core.issues import Issue, Quarantined
from app.core.transform import BatchResult
from app.services import journal
from app.services.migration.state import Run, Source

INVALID_COLLECTION = "invalid-collection"
INVALID_VALUE = "invalid-value"
LEGACY_CONFLICT = "legacy-conflict"
MOVED_TO_INDEXEDDB = "moved-to-indexeddb"


@dataclass
class Staged:
    """The migrated texts a run produced: each source's batch fragments (UTF-8), and each value's target text."""

    fragments: dict[str, list[bytes]] = field(default_factory=dict)
    values: list[tuple[str, str, str]] = field(default_factory=list)  # (area, key, text)

    def add(self, source_id: str, fragment: bytes) -> None:
        self.fragments.setdefault(source_id, []).append(fragment)

    def array(self, source_id: str, head: bytes = b"", tail: bytes = b"") -> bytes:
        """Return a source's migrated records as one JSON array's UTF-8 bytes, between ``head`` and ``tail``.

        Bytes, not str: a join of str fragments of different widths is built a character
        at a time, and one emoji makes the whole text four bytes a character (33 MB for
        8 M characters, against 12 MB of UTF-8), which a page meets as fresh memory.
        """
        return join_array(self.fragments.get(source_id, []), head, tail)


def join_array(fragments: Iterable[bytes], head: bytes = b"", tail: bytes = b"") -> bytes:
    """Return the UTF-8 JSON array of batch ``fragments`` (each "a,b", empty ones left out) between ``head`` and ``tail``."""
    # One copy of the joined bytes (a "[" + ... + "]" chain copies them twice).
    return b"".join((head, b"[", b",".join(f for f in fragments if f), b"]", tail))


class Report:
    """Collect what a run found, source by source."""

    def __init__(self, run: Run, *, dry_run: bool) -> None:
        self.run = run
        self.dry_run = dry_run
        self.sources: dict[str, dict[str, Any]] = {}
        self.repairs: list[dict[str, Any]] = []
        self.warnings: list[dict[str, Any]] = []
        self.quarantined: list[dict[str, Any]] = []
        self.values: dict[str, str] = {}
        self.legacy: dict[str, Any] = {"moves": [], "conflicts": []}
        self.moved: list[str] = []

    def source(self, src: Source) -> dict[str, Any]:
        entry = self.sources.get(src.id)
        if entry is None:
            entry = self.sources[src.id] = {
                "kind": src.kind,
                "sourceKey": src.read_from,
                "location": src.location,
                "input": src.count,
                "migrated": 0,
                "quarantined": 0,
                "byVersion": {},
                "status": INVALID_COLLECTION if src.error else "migrated",
            }
        return entry

    def add_batch(self, src: Source, result: BatchResult) -> dict[str, Any]:
        """Add one transformed batch; return its part of the report (staged with it, for a resume)."""
        # The transformer also lists each quarantined record as an issue; those go under "quarantined".
        bad = {q.index for q in result.quarantined}
        piece: dict[str, Any] = {
            "migrated": len(result.records),
            "counts": dict(result.counts),
            "repairs": [{**issue.to_dict(), "source": src.id} for issue in result.repairs if issue.index not in bad],
            "quarantined": [],
        }
        for q in result.quarantined:
            record_id = q.record.get("id") if isinstance(q.record, dict) else None
            piece["quarantined"].append(
                {
                    "kind": q.kind,
                    "index": q.index,
                    "sourceKey": q.source_key,
                    "id": ids.id_text(record_id) if isinstance(record_id, (str, int, float)) else None,
                    "code": q.code,
                    "errors": list(q.errors),
                    "quarantineKey": journal.quarantine_key(self.run.run_id, src.id, q.index),
                }
            )
        self.add_piece(src, piece)
        return piece

    def add_piece(self, src: Source, piece: Mapping[str, Any]) -> None:
        """Add a batch's part of the report, as ``add_batch`` made it (here or before a reload)."""
        entry = self.source(src)
        entry["migrated"] += piece["migrated"]
        entry["quarantined"] += len(piece["quarantined"])
        for version, count in piece["counts"].items():
            entry["byVersion"][version] = entry["byVersion"].get(version, 0) + count
        self.repairs.extend(piece["repairs"])
        self.quarantined.extend(piece["quarantined"])

    def add_invalid(self, src: Source, entry: Quarantined) -> None:
        self.source(src)
        self.quarantined.append(
            {
                "kind": entry.kind,
                "index": entry.index,
                "sourceKey": entry.source_key,
                "id": None,
                "code": entry.code,
                "errors": list(entry.errors),
                "quarantineKey": journal.quarantine_key(self.run.run_id, src.id, None),
            }
        )
        self.warnings.append(
            {
                "kind": src.kind,
                "index": -1,
                "id": None,
                "code": INVALID_COLLECTION,
                "message": f"{src.read_from} is not a JSON array ({src.error}); left as it is and quarantined whole",
                "source": src.read_from,
            }
        )

    def note_moved(self, kind: str, key: str) -> None:
        """Say that collection ``kind`` (read from ``key``) moved to AirPromptsDB: localStorage is too small."""
        self.moved.append(kind)
        for entry in self.sources.values():
            if entry["sourceKey"] == key:
                entry["status"] = MOVED_TO_INDEXEDDB
        self.warnings.append(
            {
                "kind": kind,
                "index": -1,
                "id": None,
                "code": MOVED_TO_INDEXEDDB,
                "message": f"{key} is too large for localStorage at {revisions.target()}; moved to {keys.APP_DB}/{keys.APP_STORE}",
                "source": key,
            }
        )

    def warn(self, issue: Issue, source: str | None = None) -> None:
        self.warnings.append({**issue.to_dict(), "source": source})

    def counts(self) -> dict[str, dict[str, Any]]:
        counts: dict[str, dict[str, Any]] = {}
        for entry in self.sources.values():
            kind = counts.setdefault(entry["kind"], {"input": 0, "migrated": 0, "quarantined": 0, "byVersion": {}})
            kind["input"] += entry["input"]
            kind["migrated"] += entry["migrated"]
            kind["quarantined"] += entry["quarantined"] + (1 if entry["status"] == INVALID_COLLECTION else 0)
            for version, count in entry["byVersion"].items():
                kind["byVersion"][version] = kind["byVersion"].get(version, 0) + count
        return counts

    def migrated(self) -> int:
        return sum(entry["migrated"] for entry in self.sources.values())

    def to_dict(self) -> dict[str, Any]:
        run = self.run
        return {
            "runId": run.run_id,
            "dryRun": self.dry_run,
            "fromVersion": run.plan.from_version,
            "toVersion": run.plan.to_version,
            "startedAt": run.started_at,
            "backupId": run.backup_id,
            "plan": run.plan.to_dict(),
            "counts": self.counts(),
            "sources": self.sources,
            "values": self.values,
            "migrated": self.migrated(),
            "quarantinedCount": len(self.quarantined),
            "repairs": self.repairs,
            "warnings": self.warnings,
            "quarantined": self.quarantined,
            "legacy": self.legacy,
            "movedToIndexedDB": self.moved,
        }
