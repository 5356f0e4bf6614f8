"""Warm the engine's hot paths at start-up, on generated data, writing nothing.

Inside Pyodide, the WebAssembly of a C extension (the JSON scanner and encoder,
pydantic-core, hashlib) is compiled lazily: its first calls run baseline code
while the optimised code is compiled in the background. The first migration of a
page paid that for every path it took (json.loads of 4 MB: 17 ms cold, 7 ms
warm; a batch of validations: 2.5x). Running each path once on a few hundred
generated records at start-up pays the compile where nobody waits for it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from typing import Any

from app.core import jsonstream, keys
from app.core.transform import CollectionTransformer, Context
from app.core.validator import References, Validator

_log = logging.getLogger(__name__)

NOW = "2024-01-01T00:00:00.000Z"
BATCH = 50


def sample_records(kind: str, count: int) -> list[dict[str, Any]]:
    """Return ``count`` 1.0.0-shaped records of ``kind`` (snake_case, a numeric id now and then)."""
    records: list[dict[str, Any]] = []
    for i in range(count):
        record: dict[str, Any] = {
            "id": 1_700_000_000_000 + i if i % 10 == 0 else f"{kind}-{i}",
            "name": f"{kind} {i}",
            "created_at": NOW,
            "updated_at": 1_700_000_000_000 + i,
            "is_favorite": i % 7 == 0,
            "custom_field": {"nested_value": i},
        }
        if kind == "folders":
            record["parent_id"] = f"folders-{i - 1}" if i else None
        else:
            record["folder_id"] = "folders-1"
            record["content"] = "Summarise {text} in plain words, keep names \u00e9 exact. " * 8
        if kind == "workflows":
            record["steps"] = [{"template_id": 1_700_000_000_000, "step_order": 1}, "templates-1"]
        records.append(record)
    return records


def warm_up(records_per_kind: int = 100, schema_samples: int = 2) -> dict[str, Any]:
    """Run parse, steps, validation, encoding and hashing once per kind; return what ran and how long."""
    started = time.perf_counter()
    validator, schema_validator = Validator(), Validator(use_jsonschema=True)
    migrated = 0
    for kind in keys.COLLECTIONS:
        text = json.dumps(sample_records(kind, records_per_kind), ensure_ascii=False)
        transformer = CollectionTransformer(Context(kind, "warm-up", "1.0.0", NOW), validator, References())
        for index, batch in enumerate(jsonstream.iter_array_batches(text, BATCH)):
            result = transformer.run(batch, index * BATCH)
            fragment = jsonstream.dumps(result.records)
            migrated += len(result.records)
            json.loads(fragment)
            encoded = fragment.encode("utf-8", "surrogatepass")
            hashlib.sha256(encoded).hexdigest()
            hashlib.blake2b(encoded, digest_size=32).hexdigest()
        for record in result.records[:schema_samples]:  # the JSON Schema check the runs make on samples
            schema_validator.validate(kind, record)
    elapsed = (time.perf_counter() - started) * 1000
    _log.debug("warmed up on %d records in %.1f ms", migrated, elapsed)
    return {"records": migrated, "ms": round(elapsed, 1)}
