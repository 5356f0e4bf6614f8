"""A complete in-memory Storage, with the browser's quotas and all-or-nothing writes."""

from __future__ import annotations

import asyncio
import json
from typing import Callable, Iterable, Mapping, Sequence

from app.core import jsonstream
from app.core.errors import InvalidInput, QuotaExceeded, StorageUnavailable, WriteConflict
from app.storage.base import (
    OWN_STORES,
    Delete,
    DeletePrefix,
    Op,
    Put,
    Text,
    as_text,
    as_texts,
    guard_failures,
    utf16_len,
)

# Chromium allows 10 MiB of UTF-16 per origin in localStorage: 5 Mi code units.
LOCAL_QUOTA_UNITS = 5 * 1024 * 1024

Fault = Callable[[str, object], None]


class MemoryStorage:
    """Hold localStorage, ``AirPromptsDB`` and the own database in dicts.

    ``local_quota`` counts keys and values in UTF-16 code units as Chromium
    does; ``idb_quota`` counts stored characters of both databases. ``fault``,
    when set, is called as ``fault(operation, detail)`` before each write and
    may raise to simulate a browser failure at that point.
    """

    def __init__(
        self,
        *,
        local: Mapping[str, str] | None = None,
        app: Mapping[str, object] | None = None,
        local_quota: int = LOCAL_QUOTA_UNITS,
        idb_quota: int = 2**40,
        fault: Fault | None = None,
    ) -> None:
        self.local: dict[str, str] = dict(local or {})
        self.app: dict[str, str] = {}
        for key, value in (app or {}).items():
            self.app[key] = value if isinstance(value, str) else json.dumps({"key": key, "value": value, "timestamp": 0})
        self.own: dict[str, dict[str, str]] = {store: {} for store in OWN_STORES}
        self.local_quota = local_quota
        self.idb_quota = idb_quota
        self.fault = fault
        self.persisted = False

    def __repr__(self) -> str:
        return f"<MemoryStorage local={len(self.local)} app={len(self.app)} own={ {s: len(v) for s, v in self.own.items() if v} }>"

    async def _tick(self) -> None:
        # Every browser call resolves on a later task; keep that interleaving here.
        await asyncio.sleep(0)

    def _check_fault(self, operation: str, detail: object) -> None:
        if self.fault is not None:
            self.fault(operation, detail)

    # localStorage
    async def local_keys(self) -> list[str]:
        await self._tick()
        return list(self.local)

    async def local_get(self, keys: Iterable[str]) -> dict[str, str | None]:
        await self._tick()
        return {key: self.local.get(key) for key in keys}

    async def local_changed(self, expect: Mapping[str, Text | None]) -> list[str]:
        await self._tick()
        return [key for key, value in as_texts(expect).items() if self.local.get(key) != value]

    async def local_unparsable(self, keys: Iterable[str]) -> list[str]:
        await self._tick()
        bad = []
        for key in keys:
            value = self.local.get(key)
            if value is None:
                continue
            try:
                jsonstream.loads(value)  # as strict as JSON.parse: NaN and Infinity refused
            except ValueError:
                bad.append(key)
        return bad

    async def local_verify(
        self, expect: Mapping[str, Text | None], parse: Iterable[str]
    ) -> tuple[list[str], list[str]]:
        return await self.local_changed(expect), await self.local_unparsable(parse)

    def local_usage(self) -> int:
        """Return the used localStorage space in UTF-16 code units."""
        return sum(utf16_len(k) + utf16_len(v) for k, v in self.local.items())

    async def local_write(
        self, set_items: Mapping[str, Text], remove: Iterable[str] = (), expect: Mapping[str, Text | None] | None = None
    ) -> None:
        await self._tick()
        set_items = {key: as_text(value) for key, value in set_items.items()}
        expect = as_texts(expect) if expect else expect
        remove = list(remove)
        for key, value in set_items.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise InvalidInput(f"localStorage keys and values must be strings, got {type(value).__name__} for {key!r}")
        self._check_fault("local_write", {"set": list(set_items), "remove": remove})
        if expect:
            after = {key: None for key in remove} | dict(set_items)
            _check_guard(self.local, expect, after, "localStorage")
        candidate = dict(self.local)
        for key in remove:
            candidate.pop(key, None)
        candidate.update(set_items)
        usage = sum(utf16_len(k) + utf16_len(v) for k, v in candidate.items())
        if usage > self.local_quota:
            raise QuotaExceeded(
                f"localStorage is full: {usage} characters needed, {self.local_quota} allowed",
                needed=usage,
                available=self.local_quota,
            )
        self.local = candidate

    # AirPromptsDB / storage
    async def app_keys(self) -> list[str]:
        await self._tick()
        return sorted(self.app)

    async def app_get(self, keys: Iterable[str]) -> dict[str, str | None]:
        await self._tick()
        return {key: self.app.get(key) for key in keys}

    async def app_changed(self, expect: Mapping[str, Text | None]) -> list[str]:
        await self._tick()
        changed = []
        for key, text in as_texts(expect).items():
            stored = self.app.get(key)
            if stored is None or text is None:
                if (stored is None) != (text is None):
                    changed.append(key)
            elif _canonical_or_text(stored) != _canonical_or_text(text):
                changed.append(key)
        return changed

    async def app_write(
        self, put: Mapping[str, Text], delete: Iterable[str] = (), expect: Mapping[str, Text | None] | None = None
    ) -> None:
        await self._tick()
        put = {key: as_text(value) for key, value in put.items()}
        expect = as_texts(expect) if expect else expect
        delete = list(delete)
        for key, text in put.items():
            try:
                record = json.loads(text)
            except (TypeError, ValueError) as exc:
                raise InvalidInput(f"AirPromptsDB record {key!r} is not JSON text") from exc
            if not isinstance(record, dict) or record.get("key") != key:
                raise InvalidInput(f"AirPromptsDB record {key!r} must be an object whose key is {key!r}")
        self._check_fault("app_write", {"put": list(put), "delete": delete})
        if expect:
            after = {key: None for key in delete} | {key: _canonical(text) for key, text in put.items()}
            current = {key: (None if self.app.get(key) is None else _canonical(self.app[key])) for key in expect}
            wanted = {key: (None if value is None else _canonical(value)) for key, value in expect.items()}
            _check_guard(current, wanted, after, "AirPromptsDB")
        candidate = dict(self.app)
        for key in delete:
            candidate.pop(key, None)
        for index, (key, text) in enumerate(put.items()):
            self._check_fault("app_write_op", index)
            candidate[key] = text
        self._check_idb_quota(candidate, self.own)
        self.app = candidate

    # own database
    def _store(self, store: str) -> dict[str, str]:
        try:
            return self.own[store]
        except KeyError:
            raise StorageUnavailable(f"AirPromptsMigrate has no object store {store!r}", browser_error="NotFoundError") from None

    async def own_get(self, store: str, keys: Iterable[str]) -> dict[str, str | None]:
        await self._tick()
        data = self._store(store)
        return {key: data.get(key) for key in keys}

    async def own_scan(self, store: str, prefix: str = "", limit: int | None = None) -> list[tuple[str, str]]:
        await self._tick()
        data = self._store(store)
        pairs = sorted((k, v) for k, v in data.items() if k.startswith(prefix))
        return pairs if limit is None else pairs[:limit]

    async def own_keys(self, store: str, prefix: str = "") -> list[str]:
        await self._tick()
        return sorted(k for k in self._store(store) if k.startswith(prefix))

    async def own_write(self, ops: Sequence[Op]) -> None:
        await self._tick()
        for op in ops:
            self._store(op.store)
            if isinstance(op, Put) and (not isinstance(op.key, str) or not isinstance(op.value, (str, bytes))):
                raise InvalidInput(f"own store values must be strings (store {op.store!r}, key {op.key!r})")
        self._check_fault("own_write", list(ops))
        candidate = {store: dict(data) for store, data in self.own.items()}
        for index, op in enumerate(ops):
            # A failure inside the transaction aborts it: nothing of it is applied.
            self._check_fault("own_write_op", index)
            data = candidate[op.store]
            if isinstance(op, Put):
                data[op.key] = as_text(op.value)
            elif isinstance(op, Delete):
                data.pop(op.key, None)
            elif isinstance(op, DeletePrefix):
                for key in [k for k in data if k.startswith(op.prefix)]:
                    del data[key]
            else:
                raise InvalidInput(f"unknown storage operation {op!r}")
        self._check_idb_quota(self.app, candidate)
        self.own = candidate

    def idb_usage(self, app: Mapping[str, str] | None = None, own: Mapping[str, Mapping[str, str]] | None = None) -> int:
        """Return the characters held by both databases."""
        app = self.app if app is None else app
        own = self.own if own is None else own
        return sum(len(k) + len(v) for k, v in app.items()) + sum(
            len(k) + len(v) for data in own.values() for k, v in data.items()
        )

    def _check_idb_quota(self, app: Mapping[str, str], own: Mapping[str, Mapping[str, str]]) -> None:
        usage = self.idb_usage(app, own)
        if usage > self.idb_quota:
            raise QuotaExceeded(
                f"IndexedDB is full: {usage} bytes needed, {self.idb_quota} allowed",
                needed=usage,
                available=self.idb_quota,
            )

    async def estimate(self) -> dict[str, int]:
        await self._tick()
        usage = self.idb_usage() + 2 * self.local_usage()
        return {"usage": usage, "quota": self.idb_quota}

    async def persist(self) -> bool:
        await self._tick()
        self.persisted = True
        return True

    async def text_digests(self, texts: Mapping[tuple[str, str], str]) -> dict[tuple[str, str], bytes]:
        return {}  # nothing crossed to be hashed on the way: the caller hashes every text


def _canonical_or_text(text: str) -> str:
    """Return ``text`` made canonical when it is JSON, else as it is (so it equals no stored record)."""
    try:
        return _canonical(text)
    except ValueError:
        return text


def _canonical(text: str) -> str:
    """Return record text as the browser would give it back (JSON.stringify of the stored object)."""
    return json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":"))


def _check_guard(current: Mapping[str, str | None], expect: Mapping[str, str | None], after: Mapping[str, str | None], where: str) -> None:
    changed = guard_failures(current, expect, after)
    if changed:
        raise WriteConflict(f"{where} changed under the write: {', '.join(sorted(changed))}", keys=sorted(changed))


class MemoryLock:
    """A migration lock shared by every MemoryLock of the same ``registry``, like a Web Lock across tabs."""

    def __init__(self, name: str = "airprompts-migration", registry: set[str] | None = None) -> None:
        self.name = name
        self.registry = registry if registry is not None else _LOCKS
        self.held = False

    async def acquire(self) -> bool:
        """Take the lock if free; return whether this caller holds it now."""
        await asyncio.sleep(0)
        if self.name in self.registry:
            return False
        self.registry.add(self.name)
        self.held = True
        return True

    def release(self) -> None:
        """Let the lock go."""
        if self.held:
            self.registry.discard(self.name)
            self.held = False

    async def held_elsewhere(self) -> bool:
        """Return whether any holder has the lock."""
        return self.name in self.registry

    async def wait_released(self, poll_s: float = 0.01) -> None:
        """Return once no holder has the lock."""
        while self.name in self.registry:
            await asyncio.sleep(poll_s)


_LOCKS: set[str] = set()
