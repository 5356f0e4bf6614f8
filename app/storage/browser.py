"""The browser Storage: Python over the ES module static/js/storage.js.

This is the only storage module that imports ``js``/``pyodide.ffi``. Every
browser failure is mapped to the app's error tree here, in ``_call``.
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Iterable, Mapping, Sequence

from app.core import jsonstream
from app.core.errors import MigrateError, from_js
from app.storage.base import Delete, DeletePrefix, Op, Put, Text

IN_PYODIDE = sys.platform == "emscripten"

if IN_PYODIDE:
    import js  # type: ignore[import-not-found]
    from pyodide.ffi import JsException, JsProxy, to_js  # type: ignore[import-not-found]
else:  # pragma: no cover - CPython has no browser
    js = None
    JsException = Exception  # type: ignore[misc,assignment]
    JsProxy = object  # type: ignore[misc,assignment]

    def to_js(value: Any, **_: Any) -> Any:
        return value


def translate_js_error(exc: BaseException) -> MigrateError:
    """Return the app error for a JavaScript exception, by its DOMException name (app/core/errors.py)."""
    return from_js(exc)


# Python -> JS: a non-ASCII str of this many characters or more crosses as its UTF-8 bytes,
# which the bridge decodes with TextDecoder (static/js/storage.js ``text``). Pyodide builds
# the JS string of a non-ASCII str one UTF-16 unit at a time (pyodide issue 6278): 2 M
# characters took 100 to 240 ms and left V8 much garbage, the bytes 10 to 35 ms. ASCII
# has Pyodide's own fast path; a short str costs less than a TextDecoder call.
TEXT_BYTES_MIN = 1024


def js_text(text: Any) -> Any:
    """Return ``text`` as it should cross to JavaScript: UTF-8 bytes where that is faster, else unchanged
    (bytes are a text's UTF-8 already: base.Text)."""
    if not isinstance(text, str) or len(text) < TEXT_BYTES_MIN or text.isascii():
        return text
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate, which UTF-8 cannot hold: the str conversion keeps it exactly.
        return text


def _text(value: Any) -> Any:
    """Return UTF-8 bytes from the bridge (its fast path for large strings) as ``str``."""
    if isinstance(value, memoryview):
        # Bytes kept as bytes (staged batches, backup chunks) that were damaged where they are
        # stored read back as a damaged text, U+FFFD where they are no UTF-8: each is checked
        # against its SHA-256, which refuses it (BackupCorrupted, UnusableJournal).
        try:
            return str(value, "utf-8")
        except UnicodeDecodeError:  # not on the way of a good text: "replace" decodes with more memory
            return str(value, "utf-8", "replace")
    if isinstance(value, list):
        return [_text(item) for item in value]
    return value


def _py(value: Any) -> Any:
    """Convert a JS result to plain Python values."""
    if isinstance(value, JsProxy):
        return _text(value.to_py())
    return value


def text_from_js(value: Any) -> Any:
    """Return a text from JavaScript as ``str``: a string, or the UTF-8 bytes the bridges send large ones as."""
    return _py(value)


# Texts the JS bridge holds for Python (static/js/storage.js ``hold``): (area, key) -> (token, text),
# the text as Python last sent or read it (str, or the UTF-8 bytes a switch wrote it from).
# One bridge module per realm, so one mirror per realm; a token the bridge dropped meanwhile is
# refused there (StaleText) and the text itself is sent instead.
_HELD: dict[tuple[str, str], tuple[int, Text]] = {}
HELD_MIN = TEXT_BYTES_MIN  # shorter texts cost less to send than to look up


# Element counts of held texts, by token and member (None: the array itself; "value": an
# AirPromptsDB record's array): a run counts each collection for its plan, and its backup
# counts the very same texts again (a JSON.parse of several MB each time). The bridge counts
# an AirPromptsDB record when it reads it, from the object IndexedDB returns.
_COUNTED: dict[int, dict[str | None, int]] = {}


def _hold(area: str, keys: Sequence[str], values: Sequence[Any], tokens: Sequence[Any]) -> None:
    for key, value, token in zip(keys, values, tokens, strict=True):
        before = _HELD.pop((area, key), None)
        if before is not None and before[0] != token:
            _COUNTED.pop(before[0], None)
        if token and isinstance(value, (str, bytes)):
            _HELD[(area, key)] = (int(token), value)


def _known(area: str, keys: Sequence[str]) -> list[int]:
    """Return the token of the str held for each key (0: none), for a read to answer STILL_HELD where it still stands."""
    found = []
    for key in keys:
        held = _HELD.get((area, key))
        found.append(held[0] if held is not None and isinstance(held[1], str) else 0)
    return found


def _taken_back(area: str, keys: Sequence[str], values: list[Any], tokens: Sequence[Any]) -> list[Any] | None:
    """Return a read's values with each STILL_HELD (False) answer replaced by the str held for its key,
    or None when one names a token not held here (the caller reads again, every text sent)."""
    if not any(value is False for value in values):
        return values
    found = []
    for key, value, token in zip(keys, values, tokens, strict=True):
        if value is False:
            held = _HELD.get((area, key))
            if held is None or held[0] != token or not isinstance(held[1], str):
                return None
            value = held[1]
        found.append(value)
    return found


def _held_token(area: str, key: str, value: Any) -> int:
    """Return the bridge's token for ``value`` as the text of ``area`` ``key``, or 0 when it holds another."""
    if not isinstance(value, (str, bytes)) or len(value) < HELD_MIN:
        return 0
    held = _HELD.get((area, key))
    # A str and bytes never compare equal: the same text in the other form is sent, not named.
    if held is not None and (held[1] is value or held[1] == value):
        return held[0]
    return 0


def _stale(exc: BaseException) -> bool:
    """Return whether the bridge refused a token it no longer holds (its own error, not a browser one)."""
    names = (getattr(source, "name", None) for source in (exc, getattr(exc, "js_error", None)))
    return "StaleText" in names or str(exc).startswith("StaleText")


def count_json_array(text: str, member: str | None = None) -> int:
    """Return the element count of the JSON array ``text`` (or of its object's ``member``), parsed by the
    browser when it can: ``jsonstream.count_array`` answered by JSON.parse.

    JavaScript's parser is stricter than Python's (no NaN), so whatever it accepts
    Python parses to as many elements; anything else, or a string the bridge cannot
    carry, goes to the Python count, which also says what is wrong. A text the bridge
    handed out (the run's read of the store) is named by its token, not sent back, and
    counted once while the bridge holds it.
    """
    token = next((t for t, held in _HELD.values() if held is text), 0) if len(text) >= HELD_MIN else 0
    if member in _COUNTED.get(token, {}):
        return _COUNTED[token][member]
    count = -1
    for arg in ([token] if token else []) + [None]:
        try:
            count = int(js.airpromptsStorage.countArray(arg if arg else to_js(js_text(text)), member))
        except (JsException, UnicodeError, ValueError):
            count = -1
        if count >= 0:
            break
    if count < 0:
        count = jsonstream.count_array(text, member)  # raises MalformedJSON (nothing is remembered)
    if token:
        _COUNTED.setdefault(token, {})[member] = count
    return count


class BrowserStorage:
    """localStorage and IndexedDB of the page's origin."""

    def __init__(self, js_bridge: Any = None) -> None:
        self.js_bridge = js_bridge if js_bridge is not None else js.airpromptsStorage

    def __repr__(self) -> str:
        return "<BrowserStorage origin=%s>" % (js.location.origin if IN_PYODIDE else "?")

    async def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            result = fn(*args)
            if hasattr(result, "then"):
                result = await result
        except JsException as exc:
            raise translate_js_error(exc) from exc
        return _py(result)

    def _arr(self, items: Iterable[Any]) -> Any:
        return to_js(list(items))

    def _texts(self, values: Iterable[Text | None], area: str | None = None, keys: Iterable[str] = ()) -> Any:
        """Return ``values`` for the bridge: the token of each the bridge holds for ``area``'s key, else the text."""
        if area is None:
            return to_js([js_text(value) for value in values])
        return to_js([_held_token(area, key, value) or js_text(value) for key, value in zip(keys, values, strict=True)])

    async def _call_texts(self, fn: Callable[..., Any], args: Callable[[bool], tuple]) -> Any:
        """Call ``fn(*args(True))``, held texts named by token; if one went stale, ``fn(*args(False))``, every text sent."""
        try:
            result = fn(*args(True))
            if hasattr(result, "then"):
                result = await result
        except JsException as exc:
            if not _stale(exc):
                raise translate_js_error(exc) from exc
            return await self._call(fn, *args(False))
        return _py(result)

    async def local_keys(self) -> list[str]:
        return await self._call(self.js_bridge.localKeys)

    async def local_get(self, keys: Iterable[str]) -> dict[str, str | None]:
        keys = list(keys)
        # The bridge answers STILL_HELD (False) for a key that still holds the text held here.
        values, tokens = await self._call(self.js_bridge.localGet, self._arr(keys), self._arr(_known("local", keys)))
        taken = _taken_back("local", keys, values, tokens)
        if taken is None:  # not the text held here after all: read them all as texts
            taken, tokens = await self._call(self.js_bridge.localGet, self._arr(keys))
        _hold("local", keys, taken, tokens)
        return dict(zip(keys, taken, strict=True))

    async def local_write(
        self, set_items: Mapping[str, Text], remove: Iterable[str] = (), expect: Mapping[str, Text | None] | None = None
    ) -> None:
        keys = list(set_items)
        values = [set_items[k] for k in keys]
        remove = list(remove)
        expect = expect or {}
        expect_keys = list(expect)
        expect_values = [expect[k] for k in expect_keys]

        def args(held: bool) -> tuple:
            area = "local" if held else None
            return (
                self._arr(keys),
                self._texts(values, area, keys),
                self._arr(remove),
                self._arr(expect_keys),
                self._texts(expect_values, area, expect_keys),
            )

        tokens = await self._call_texts(self.js_bridge.localWrite, args)
        _hold("local", remove, [None] * len(remove), [0] * len(remove))
        _hold("local", keys, values, tokens)

    async def local_changed(self, expect: Mapping[str, Text | None]) -> list[str]:
        keys = list(expect)
        values = [expect[k] for k in keys]
        return await self._call_texts(
            self.js_bridge.localChanged,
            lambda held: (self._arr(keys), self._texts(values, "local" if held else None, keys)),
        )

    async def local_unparsable(self, keys: Iterable[str]) -> list[str]:
        return await self._call(self.js_bridge.localUnparsable, self._arr(keys))

    async def local_verify(
        self, expect: Mapping[str, Text | None], parse: Iterable[str]
    ) -> tuple[list[str], list[str]]:
        keys = list(expect)
        values = [expect[k] for k in keys]
        parse = list(parse)
        differ, unparsable = await self._call_texts(
            self.js_bridge.localVerify,
            lambda held: (self._arr(keys), self._texts(values, "local" if held else None, keys), self._arr(parse)),
        )
        return list(differ), list(unparsable)

    async def app_keys(self) -> list[str]:
        return await self._call(self.js_bridge.appKeys)

    async def app_get(self, keys: Iterable[str]) -> dict[str, str | None]:
        keys = list(keys)
        # The bridge answers STILL_HELD (False) for a record that is still the one it read
        # under the token sent: its text is the one held here for that token.
        values, tokens, counts = await self._call(self.js_bridge.appGet, self._arr(keys), self._arr(_known("app", keys)))
        taken = _taken_back("app", keys, values, tokens)
        if taken is None:  # not the text held here after all: read them all as texts
            taken, tokens, counts = await self._call(self.js_bridge.appGet, self._arr(keys))
        _hold("app", keys, taken, tokens)
        for token, count in zip(tokens, counts, strict=True):
            if token and count is not None and int(count) >= 0:
                _COUNTED.setdefault(int(token), {})["value"] = int(count)
        return dict(zip(keys, taken, strict=True))

    async def app_changed(self, expect: Mapping[str, Text | None]) -> list[str]:
        keys = list(expect)
        values = [expect[k] for k in keys]
        return await self._call_texts(
            self.js_bridge.appChanged,
            lambda held: (self._arr(keys), self._texts(values, "app" if held else None, keys)),
        )

    async def app_write(
        self, put: Mapping[str, Text], delete: Iterable[str] = (), expect: Mapping[str, Text | None] | None = None
    ) -> None:
        keys = list(put)
        values = [put[k] for k in keys]
        delete = list(delete)
        expect = expect or {}
        expect_keys = list(expect)
        expect_values = [expect[k] for k in expect_keys]

        def args(held: bool) -> tuple:
            return (
                self._texts(values),
                self._arr(delete),
                self._arr(expect_keys),
                self._texts(expect_values, "app" if held else None, expect_keys),
            )

        tokens = await self._call_texts(self.js_bridge.appWrite, args)
        _hold("app", delete, [None] * len(delete), [0] * len(delete))
        # The bridge holds each text under its record's key, which the service writes as the put's key.
        _hold("app", keys, values, tokens)

    async def own_get(self, store: str, keys: Iterable[str]) -> dict[str, str | None]:
        keys = list(keys)
        values = await self._call(self.js_bridge.ownGet, store, self._arr(keys))
        return dict(zip(keys, values, strict=True))

    async def own_scan(self, store: str, prefix: str = "", limit: int | None = None) -> list[tuple[str, str]]:
        keys, values = await self._call(self.js_bridge.ownScan, store, prefix, limit)
        return list(zip(keys, values, strict=True))

    async def own_keys(self, store: str, prefix: str = "") -> list[str]:
        return await self._call(self.js_bridge.ownKeys, store, prefix)

    async def own_write(self, ops: Sequence[Op]) -> None:
        rows: list[list[str]] = []
        for op in ops:
            if isinstance(op, Put):
                rows.append(["put", op.store, op.key, js_text(op.value)])
            elif isinstance(op, Delete):
                rows.append(["delete", op.store, op.key])
            elif isinstance(op, DeletePrefix):
                rows.append(["deletePrefix", op.store, op.prefix])
        await self._call(self.js_bridge.ownWrite, to_js(rows))

    async def estimate(self) -> dict[str, int]:
        usage, quota = await self._call(self.js_bridge.estimate)
        return {"usage": int(usage), "quota": int(quota)}

    async def persist(self) -> bool:
        return bool(await self._call(self.js_bridge.persist))

    async def text_digests(self, texts: Mapping[tuple[str, str], str]) -> dict[tuple[str, str], bytes]:
        # The bridge hashed each large text it sent as UTF-8 bytes (crypto.subtle, off this thread):
        # it answers for the ones Python still holds as that very text, under that text's token.
        pairs = []
        for (area, key), text in texts.items():
            held = _HELD.get((area, key))
            if held is not None and held[1] is text:
                pairs.append(((area, key), held[0]))
        if not pairs:
            return {}
        hexes = await self._call(
            self.js_bridge.textDigests,
            self._arr(area for (area, _), _ in pairs),
            self._arr(key for (_, key), _ in pairs),
            self._arr(token for _, token in pairs),
        )
        return {pair: bytes.fromhex(found) for (pair, _), found in zip(pairs, hexes, strict=True) if found}


class BrowserLock:
    """The cross-tab migration lock (Web Locks API)."""

    def __init__(self, name: str = "airprompts-migration", js_bridge: Any = None) -> None:
        self.name = name
        self.js_bridge = js_bridge if js_bridge is not None else js.airpromptsStorage
        self.js_handle: Any = None

    async def acquire(self) -> bool:
        """Take the lock if free; return whether this caller holds it now."""
        handle = await self.js_bridge.acquireLock(self.name)
        if handle is None:
            return False
        self.js_handle = handle
        return True

    def release(self) -> None:
        """Let the lock go."""
        if self.js_handle is not None:
            self.js_handle.release()
            self.js_handle = None

    async def held_elsewhere(self) -> bool:
        """Return whether any tab holds the lock."""
        return bool(await self.js_bridge.lockHeld(self.name))

    async def wait_released(self) -> None:
        """Return once no tab holds the lock (a tab that closes lets its lock go)."""
        await self.js_bridge.lockReleased(self.name)

