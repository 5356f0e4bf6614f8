"""What a migration reports about records: issues and quarantined records."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

_log = logging.getLogger(__name__)

# Issue codes. Repairs and warnings concern records that are kept; the last
# three name why a record was quarantined.
MISSING_ID = "missing-id"
TIMESTAMP_REPAIRED = "timestamp-repaired"
TIMESTAMP_CONVERTED = "timestamp-converted"
METADATA_REPLACED = "metadata-replaced"
UNKNOWN_SHAPE = "unknown-shape"
DANGLING_FOLDER = "dangling-folder"
DANGLING_PARENT = "dangling-parent"
DANGLING_TEMPLATE = "dangling-template"
NOT_AN_OBJECT = "not-an-object"
DUPLICATE_ID = "duplicate-id"
INVALID_TYPE = "invalid-type"


@dataclass
class Issue:
    """One repair or warning about a record (or a value) of a collection."""

    kind: str
    index: int
    id: str | None
    code: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        """Return this issue as JSON-compatible data."""
        return asdict(self)


@dataclass
class Quarantined:
    """A record that cannot be made valid, kept whole as it was read."""

    kind: str
    index: int
    source_key: str
    record: Any
    errors: list[str] = field(default_factory=list)

    @property
    def code(self) -> str:
        """Return the code of the first error (errors read ``"<code>: <detail>"``)."""
        return self.errors[0].split(":", 1)[0] if self.errors else INVALID_TYPE

    def to_dict(self) -> dict[str, Any]:
        """Return this quarantined record as JSON-compatible data."""
        return {
            "kind": self.kind,
            "index": self.index,
            "source_key": self.source_key,
            "code": self.code,
            "record": self.record,
            "errors": list(self.errors),
        }
