"""One storage contract, run against MemoryStorage (CPython) and BrowserStorage (Chromium).

Pure Python with no pytest import, so the same file runs inside Pyodide on
tests/e2e/contract.html. Each case gets a cleared storage and a ``faults``
object whose ``set(operation, error_name, after)`` makes the ``after``-th and
later calls of ``operation`` fail with the browser error ``error_name``.
"""

from __future__ import annotations

import json
import traceback

from app.core.errors import InvalidInput, QuotaExceeded, StorageUnavailable, TransactionAborted, WriteConflict
from app.storage.base import OWN_STORES, Delete, DeletePrefix, Put

CASES = []


def case(fn):
    CASES.append(fn)
    return fn


async def reset(storage) -> None:
    """Empty every area the storage holds."""
    keys = await storage.local_keys()
    if keys:
        await storage.local_write({}, remove=keys)
    app_keys = await storage.app_keys()
    if app_keys:
        await storage.app_write({}, delete=app_keys)
    await storage.own_write([DeletePrefix(store, "") for store in OWN_STORES])


def record(key, value, timestamp=1):
    return json.dumps({"key": key, "value": value, "timestamp": timestamp})


@case
async def local_round_trip_keeps_exact_text(storage, faults):
    text = '[\n  {"id": 1, "content": "  spaced\\n\\ttab  "},\n\n  {"name": "\u05e9\u05dc\u05d5\u05dd \U0001f680"}\n]\n'
    await storage.local_write({"airprompts_templates": text, "theme": "dark"})
    got = await storage.local_get(["airprompts_templates", "theme", "missing"])
    assert got == {"airprompts_templates": text, "theme": "dark", "missing": None}, got
    assert sorted(await storage.local_keys()) == ["airprompts_templates", "theme"]


@case
async def local_remove_and_set_in_one_call(storage, faults):
    await storage.local_write({"a": "1", "b": "2"})
    await storage.local_write({"c": "3"}, remove=["a"])
    assert sorted(await storage.local_keys()) == ["b", "c"]
    assert (await storage.local_get(["a"]))["a"] is None


@case
async def local_quota_error_puts_back_previous_values(storage, faults):
    await storage.local_write({"keep": "old value", "filler": "f" * 2_000_000})
    try:
        await storage.local_write({"keep": "new value", "huge": "h" * 3_500_000, "other": "x"})
    except QuotaExceeded as exc:
        assert exc.name == "QuotaExceeded"
    else:
        raise AssertionError("writing past the localStorage quota did not fail")
    got = await storage.local_get(["keep", "huge", "other", "filler"])
    assert got["keep"] == "old value", got["keep"][:20]
    assert got["huge"] is None and got["other"] is None
    assert len(got["filler"]) == 2_000_000


@case
async def local_fault_changes_nothing(storage, faults):
    await storage.local_write({"a": "1"})
    faults.set("local_write", "QuotaExceededError", after=0)
    try:
        await storage.local_write({"a": "2", "b": "3"}, remove=[])
    except QuotaExceeded:
        pass
    else:
        raise AssertionError("the injected fault did not surface")
    faults.clear()
    assert await storage.local_get(["a", "b"]) == {"a": "1", "b": None}


@case
async def local_guarded_write_refuses_a_changed_key(storage, faults):
    await storage.local_write({"a": "old", "b": "1"})
    await storage.local_write({"a": "new"}, remove=["b"], expect={"a": "old", "b": "1", "c": None})
    assert await storage.local_get(["a", "b"]) == {"a": "new", "b": None}
    # A redo of the same write passes: each key already holds what the write puts there.
    await storage.local_write({"a": "new"}, remove=["b"], expect={"a": "old", "b": "1"})
    await storage.local_write({"x": "edited by another tab"})
    try:
        await storage.local_write({"a": "newer", "x": "mine"}, expect={"a": "new", "x": None})
    except WriteConflict as exc:
        assert "x" in exc.message
    else:
        raise AssertionError("a guarded write overwrote a key another writer changed")
    assert await storage.local_get(["a", "x"]) == {"a": "new", "x": "edited by another tab"}


@case
async def app_guarded_write_refuses_a_changed_record(storage, faults):
    await storage.app_write({"templates": record("templates", [1])})
    original = (await storage.app_get(["templates"]))["templates"]
    await storage.app_write({"templates": record("templates", [2])}, expect={"templates": original, "folders": None})
    assert json.loads((await storage.app_get(["templates"]))["templates"])["value"] == [2]
    try:
        await storage.app_write({"templates": record("templates", [3])}, expect={"templates": original})
    except WriteConflict:
        pass
    else:
        raise AssertionError("a guarded write overwrote a changed record")
    assert json.loads((await storage.app_get(["templates"]))["templates"])["value"] == [2]


@case
async def local_changed_names_only_the_keys_that_differ(storage, faults):
    big = "\u05e9\u05dc\u05d5\u05dd \U0001f600 " * 20_000  # over the bridge's fast-path size
    await storage.local_write({"same": "1", "big": big, "other": "x"})
    expect = {"same": "1", "big": big, "other": "y", "absent": None, "gone": "was here"}
    assert sorted(await storage.local_changed(expect)) == ["gone", "other"]
    assert await storage.local_changed({"big": big[:-1]}) == ["big"]
    assert await storage.local_changed({"same": None}) == ["same"]
    assert await storage.local_changed({}) == []


@case
async def local_unparsable_names_what_json_parse_refuses(storage, faults):
    good = {
        "list": '[{"n":1e400,"t":"“q” 😀\\r\\n"}]',
        "text": '"السلام"',
        "lone": '["\\ud800"]',
        "big": "[" + "9" * 5000 + "]",
    }
    bad = {"inf": "[Infinity]", "nan": '{"a":NaN}', "raw": "dark", "cut": '[{"a":1}', "empty": ""}
    await storage.local_write({**good, **bad})
    assert sorted(await storage.local_unparsable([*good, *bad, "absent"])) == sorted(bad)
    assert await storage.local_unparsable([]) == []


@case
async def local_verify_compares_and_parses_from_one_read(storage, faults):
    big = "[" + '"\u201cR\u00e9sum\u00e9\u201d \u8bf7 \U0001f680\\r\\n",' * 4000 + "1]"
    await storage.local_write({"big": big, "bad": "[Infinity]", "same": '"x"', "cut": "[1"})
    expect = {"big": big, "same": '"y"', "absent": None, "bad": "[Infinity]"}
    differ, unparsable = await storage.local_verify(expect, ["big", "bad", "absent", "cut"])
    assert sorted(differ) == ["same"]
    assert sorted(unparsable) == ["bad", "cut"]
    # The same answers as the two questions asked apart.
    assert sorted(await storage.local_changed(expect)) == sorted(differ)
    assert sorted(await storage.local_unparsable(["big", "bad", "absent", "cut"])) == sorted(unparsable)
    assert await storage.local_verify({big[:5]: None}, []) == ([], [])
    differ, unparsable = await storage.local_verify({"big": big[:-1] + "2]"}, ["big"])
    assert (differ, unparsable) == (["big"], [])


@case
async def app_changed_compares_records_as_json(storage, faults):
    value = [{"id": "t1", "content": "x\u200fy"}, {"id": 2}]
    await storage.app_write({"templates": record("templates", value, 123)})
    stored = (await storage.app_get(["templates"]))["templates"]
    spaced = json.dumps({"key": "templates", "value": value, "timestamp": 123}, indent=2)
    assert await storage.app_changed({"templates": stored, "folders": None}) == []
    assert await storage.app_changed({"templates": spaced}) == []
    assert await storage.app_changed({"templates": record("templates", [{"id": 2}], 123)}) == ["templates"]
    assert sorted(await storage.app_changed({"templates": None, "folders": record("folders", [])})) == [
        "folders",
        "templates",
    ]
    assert await storage.app_changed({"templates": "not json"}) == ["templates"]


@case
async def app_records_round_trip(storage, faults):
    assert await storage.app_keys() == []
    value = [{"id": "t1", "content": "x\u200fy"}, {"id": 2}]
    await storage.app_write({"templates": record("templates", value, 123)})
    got = await storage.app_get(["templates", "folders"])
    assert got["folders"] is None
    assert json.loads(got["templates"]) == {"key": "templates", "value": value, "timestamp": 123}
    await storage.app_write({"folders": record("folders", [])}, delete=["templates"])
    assert await storage.app_keys() == ["folders"]


@case
async def app_write_aborted_applies_nothing(storage, faults):
    await storage.app_write({"templates": record("templates", [1])})
    faults.set("app_write_op", "AbortError", after=1)
    try:
        await storage.app_write({"templates": record("templates", [2]), "snippets": record("snippets", [3])})
    except TransactionAborted as exc:
        assert exc.retryable
    else:
        raise AssertionError("the aborted transaction did not raise TransactionAborted")
    faults.clear()
    got = await storage.app_get(["templates", "snippets"])
    assert json.loads(got["templates"])["value"] == [1]
    assert got["snippets"] is None


@case
async def app_write_rejects_mismatched_record(storage, faults):
    try:
        await storage.app_write({"templates": "not json"})
    except (InvalidInput, Exception) as exc:  # the browser rejects JSON.parse with a SyntaxError
        assert not isinstance(exc, AssertionError)
    else:
        raise AssertionError("a non-JSON record was accepted")
    assert await storage.app_keys() == []


@case
async def own_put_get_scan_in_key_order(storage, faults):
    await storage.own_write([Put("chunks", f"b1/{i:06d}", f"chunk {i}") for i in (2, 0, 1)] + [Put("chunks", "b2/000000", "z")])
    assert await storage.own_keys("chunks", "b1/") == ["b1/000000", "b1/000001", "b1/000002"]
    assert await storage.own_scan("chunks", "b1/") == [("b1/000000", "chunk 0"), ("b1/000001", "chunk 1"), ("b1/000002", "chunk 2")]
    assert await storage.own_scan("chunks", "b1/", limit=1) == [("b1/000000", "chunk 0")]
    assert await storage.own_get("chunks", ["b2/000000", "nope"]) == {"b2/000000": "z", "nope": None}
    assert len(await storage.own_keys("chunks")) == 4


@case
async def own_write_spans_stores_in_one_transaction(storage, faults):
    await storage.own_write([Put("journal", "current", "1"), Put("staging", "run/0", "a")])
    await storage.own_write([Delete("journal", "current"), DeletePrefix("staging", "run/"), Put("history", "h1", "done")])
    assert await storage.own_get("journal", ["current"]) == {"current": None}
    assert await storage.own_keys("staging") == []
    assert await storage.own_get("history", ["h1"]) == {"h1": "done"}


@case
async def own_write_aborted_applies_nothing(storage, faults):
    await storage.own_write([Put("journal", "current", "before")])
    faults.set("own_write_op", "AbortError", after=2)
    try:
        await storage.own_write([Put("journal", "current", "after"), Put("staging", "x", "1"), Put("staging", "y", "2")])
    except TransactionAborted:
        pass
    else:
        raise AssertionError("the aborted transaction did not raise TransactionAborted")
    faults.clear()
    assert await storage.own_get("journal", ["current"]) == {"current": "before"}
    assert await storage.own_keys("staging") == []


@case
async def own_unknown_store_is_storage_unavailable(storage, faults):
    try:
        await storage.own_get("no-such-store", ["k"])
    except StorageUnavailable:
        pass
    else:
        raise AssertionError("reading an unknown object store did not fail")


@case
async def own_large_value_round_trips(storage, faults):
    big = ("\u00e9\U0001f600 " * 200_000) + "end"
    await storage.own_write([Put("chunks", "big", big)])
    assert (await storage.own_get("chunks", ["big"]))["big"] == big


# Texts as users write them, each long enough to cross the browser bridge as UTF-8 bytes
# (app/storage/browser.py TEXT_BYTES_MIN), plus short ones and texts with lone surrogates
# (which UTF-8 cannot hold and cross as strings). Every one must come back identical.
_LINE = (
    "R\u00e9sum\u00e9 \u201cquoted\u201d \u2014 \u2018single\u2019\u2026 \u00a0nbsp \u8bf7\u7528\u4e2d\u6587 "
    "\u0644\u062e\u0651\u0635 \u200f\u05e9\u05dc\u05d5\u05dd\u200f \u041f\u0440\u0438\u0432\u0435\u0442 "
    "\U0001f680\U0001f469\u200d\U0001f4bb\U0001f1f3\U0001f1f1 e\u0301 \u2028\u2029 \ufffd \uffff\r\n"
)
TEXTS = {
    "multilingual": _LINE * 400,
    "bom-first": "\ufeff" + _LINE * 30,
    "bom-only": "\ufeff",
    "nul-and-crlf": ("a\x00b\r\n\x00" + _LINE) * 40 + "\x00",
    "lone-high": _LINE * 30 + "cut \ud83d",
    "lone-low-first": "\ude00" + _LINE * 30,
    "reversed-pair": _LINE * 20 + "\ude00\ud83d" + _LINE,
    "short": "\u00e9\U0001f600\r\n",
    "short-lone": "a\ud800b",
    "ascii": "plain words\r\n" * 200,
    "empty": "",
}


def _json(value) -> str:
    """Return JSON text as the services write it: non-ASCII kept, lone surrogates escaped."""
    from app.core import jsonstream

    return jsonstream.dumps(value)


def _same(got, want, what):
    assert got == want, f"{what}: {len(got or '')} characters back for {len(want)}"


@case
async def texts_round_trip_through_local_writes(storage, faults):
    await storage.local_write({f"k-{name}": text for name, text in TEXTS.items()})
    got = await storage.local_get([f"k-{name}" for name in TEXTS])
    for name, text in TEXTS.items():
        _same(got[f"k-{name}"], text, name)
    expect = {f"k-{name}": text for name, text in TEXTS.items()}
    assert await storage.local_changed(expect) == []
    # One unit more or less anywhere is a change: the comparison is exact.
    assert sorted(await storage.local_changed({k: v + "\u00e9" for k, v in expect.items()})) == sorted(expect)
    assert await storage.local_changed({"k-lone-high": TEXTS["lone-high"][:-1] + "\ud83e"}) == ["k-lone-high"]
    # A guarded write whose expected values are those texts goes through and writes exactly.
    swapped = {f"k-{name}": TEXTS["multilingual"] + text for name, text in TEXTS.items()}
    await storage.local_write(swapped, expect=expect)
    got = await storage.local_get(list(swapped))
    for key, text in swapped.items():
        _same(got[key], text, key)
    try:
        await storage.local_write({"k-short": "lost"}, expect={"k-short": TEXTS["short"]})
    except WriteConflict:
        pass
    else:
        raise AssertionError("a guarded write matched a text it does not hold")


@case
async def texts_survive_a_failed_local_write(storage, faults):
    before = {f"k-{name}": text for name, text in TEXTS.items()}
    await storage.local_write(before)
    try:
        await storage.local_write(
            {"k-multilingual": TEXTS["lone-high"], "k-new": TEXTS["multilingual"], "huge": "\u00e9" * 6_000_000},
            remove=["k-short-lone"],
        )
    except QuotaExceeded:
        pass
    else:
        raise AssertionError("writing past the localStorage quota did not fail")
    got = await storage.local_get([*before, "k-new", "huge"])
    for key, text in before.items():
        _same(got[key], text, key)
    assert got["k-new"] is None and got["huge"] is None


@case
async def texts_round_trip_through_app_writes(storage, faults):
    value = [{"id": name, "content": text} for name, text in TEXTS.items()]
    escaped = _json({"key": "templates", "value": value, "timestamp": 7})
    # A record text holding a lone surrogate as such, not as an escape.
    raw = json.dumps({"key": "snippets", "value": [{"content": TEXTS["lone-high"]}], "timestamp": 8}, ensure_ascii=False)
    await storage.app_write({"templates": escaped, "snippets": raw})
    got = await storage.app_get(["templates", "snippets"])
    assert json.loads(got["templates"]) == {"key": "templates", "value": value, "timestamp": 7}
    assert json.loads(got["snippets"])["value"][0]["content"] == TEXTS["lone-high"]
    assert await storage.app_changed({"templates": escaped, "snippets": raw}) == []
    changed = _json({"key": "templates", "value": value[:-2] + [{"id": "x", "content": "\u00e9"}], "timestamp": 7})
    assert await storage.app_changed({"templates": changed}) == ["templates"]
    await storage.app_write({"templates": changed}, expect={"templates": escaped, "snippets": raw})
    assert json.loads((await storage.app_get(["templates"]))["templates"])["value"][-1] == {"id": "x", "content": "\u00e9"}


@case
async def app_reads_the_record_as_it_is_now_each_time(storage, faults):
    # A second read of an unchanged record gives the same text (the browser's bridge names it
    # instead of sending it again); a changed record, or one written again, is read anew.
    value = [{"id": name, "content": text * 200} for name, text in TEXTS.items()]
    spaced = json.dumps({"key": "templates", "value": value, "timestamp": 3}, indent=1, ensure_ascii=False)
    await storage.app_write({"templates": spaced})
    first = (await storage.app_get(["templates"]))["templates"]
    assert json.loads(first) == json.loads(spaced)
    assert await storage.app_get(["templates", "folders"]) == {"templates": first, "folders": None}
    assert await storage.app_get(["templates"]) == {"templates": first}
    changed = record("templates", value[:-1], 3)
    await storage.app_write({"templates": changed}, expect={"templates": first})
    third = (await storage.app_get(["templates"]))["templates"]
    assert json.loads(third) == json.loads(changed)
    assert await storage.app_get(["templates"]) == {"templates": third}
    await storage.app_write({}, delete=["templates"])
    assert await storage.app_get(["templates"]) == {"templates": None}


@case
async def texts_survive_an_aborted_app_write(storage, faults):
    value = [{"id": name, "content": text} for name, text in TEXTS.items()]
    await storage.app_write({"templates": _json({"key": "templates", "value": value, "timestamp": 1})})
    faults.set("app_write_op", "AbortError", after=1)
    try:
        await storage.app_write(
            {
                "templates": _json({"key": "templates", "value": value[::-1], "timestamp": 2}),
                "snippets": _json({"key": "snippets", "value": value, "timestamp": 2}),
            }
        )
    except TransactionAborted:
        pass
    else:
        raise AssertionError("the aborted transaction did not raise TransactionAborted")
    faults.clear()
    got = await storage.app_get(["templates", "snippets"])
    assert json.loads(got["templates"]) == {"key": "templates", "value": value, "timestamp": 1}
    assert got["snippets"] is None


@case
async def texts_round_trip_through_own_writes(storage, faults):
    await storage.own_write([Put("staging", f"run/{name}", text) for name, text in TEXTS.items()])
    got = await storage.own_get("staging", [f"run/{name}" for name in TEXTS])
    scanned = dict(await storage.own_scan("staging", "run/"))
    for name, text in TEXTS.items():
        _same(got[f"run/{name}"], text, name)
        _same(scanned[f"run/{name}"], text, name)
    faults.set("own_write_op", "AbortError", after=3)
    try:
        await storage.own_write([Put("staging", f"run/{name}", text[::-1]) for name, text in TEXTS.items()])
    except TransactionAborted:
        pass
    else:
        raise AssertionError("the aborted transaction did not raise TransactionAborted")
    faults.clear()
    got = await storage.own_get("staging", [f"run/{name}" for name in TEXTS])
    for name, text in TEXTS.items():
        _same(got[f"run/{name}"], text, name)


@case
async def estimate_and_persist_answer(storage, faults):
    est = await storage.estimate()
    assert est["quota"] > 0 and est["usage"] >= 0
    assert isinstance(await storage.persist(), bool)


async def run_all(storage, faults) -> list[dict]:
    """Run every case on ``storage``; return one result per case."""
    results = []
    for fn in CASES:
        faults.clear()
        try:
            await reset(storage)
            await fn(storage, faults)
            results.append({"name": fn.__name__, "ok": True, "error": None})
        except BaseException as exc:  # noqa: BLE001 - report every failure by name
            results.append({"name": fn.__name__, "ok": False, "error": "".join(traceback.format_exception(exc))[-2000:]})
        finally:
            faults.clear()
    await reset(storage)
    return results
