"""An adversarial corpus in Chromium: hostile stored text migrates or is quarantined, never lost.

Each store is seeded byte for byte into real localStorage (and AirPromptsDB), migrated
through the API, and checked the same way: every input record is in the output or in
the quarantine, every value the run wrote parses with the browser's JSON.parse, no key
outside the migrated ones changes, and a rejected run leaves storage byte-identical.
The console answers afterwards (a crash inside Pyodide would leave it mute).
"""

from __future__ import annotations

import json

import pytest

from tests.e2e import liveapp as la
from tests.e2e import matrix as mx

TS = "2024-05-01T12:00:00.000Z"
# A crash inside Pyodide leaves the call unanswered: give up after two minutes instead of hanging.
RUN = """Promise.race([api.dataMigrationService.runPendingMigrations({batchSize: 3}),
  new Promise((_, reject) => setTimeout(() => reject(Object.assign(new Error("no answer"), {name: "NoAnswer"})), 120000))])"""
# What a run may write; every other key keeps its bytes (legacy keys stay for the dual-read period).
WRITTEN = {f"airprompts_{n}" for n in ("templates", "workflows", "snippets", "folders", "tags", "favorites", "recent_items", "ui_preferences", "user_settings", "theme_preference", "schema_version")}  # fmt: skip
OTHER = {
    "airprompts_todos": '[{"id":1,"text":"jamais \u201ctouch\u00e9\u201d \\ud83d"}]',
    "airprompts_root_folder": '{"description":"\\u0000 root"}',
    "section-height-main": "240",
    "not-the-apps": "\u0000\ud800 raw \u2028",
}
NINES = "9" * 5000


def rec(rid: str, extra: str = "") -> str:
    """A 1.0.0 template as JSON text, ``extra`` written into it as it is."""
    body = f'"id":{rid},"name":"Mod\u00e8le {rid.strip(chr(34))} \u4e2d","content":"a\\r\\nb \U0001f680","created_at":"{TS}"'
    return "{" + body + ("," + extra if extra else "") + "}"


STORES: dict[str, dict[str, str]] = {
    "huge and non-finite numbers": {
        "airprompts_templates": "["
        + ",".join(
            [
                rec('"n1"', '"score":1e400,"low":-1e400,"tiny":1e-400'),
                rec('"n2"', f'"digits":{NINES},"neg":-{NINES}'),
                rec('"n3"', '"nested":{"a":[1E+999,{"b":-1e400}]},"max":1.7976931348623157e308'),
                rec('"n4"', '"plain":12.5'),
            ]
        )
        + "]",
        "airprompts_workflows": '[{"id":"w","name":"W","steps":[{"template_id":"n1","weight":1e400}],"created_at":"'
        + TS
        + '"}]',
    },
    "deep nesting": {
        # 498 levels inside the array and the record: the deepest the engine reads.
        "airprompts_templates": "[" + rec('"ok"', '"deep":' + '{"d":' * 498 + "1" + "}" * 498) + "]",
        # Nested far deeper than Python's parser goes: the collection is refused whole.
        "airprompts_snippets": "[" + rec('"s-deep"', '"deep":' + '{"d":' * 3000 + '"x"' + "}" * 3000) + "]",
        "airprompts_folders": "[" + rec('"f-deep"', '"deep":' + "[" * 20000 + "]" * 20000) + "]",
    },
    "lone surrogates, NUL, __proto__": {
        "airprompts_templates": "["
        + ",".join(
            [
                rec('"u1"', '"half":"\\ud83d","other":"x\\ude00y","pair":"\\ud83d\\ude00"'),
                rec('"u2"', '"nul":"a\\u0000b","\\u0000key":"nul key","ctl":"\\u0001\\u001f\\u2028"'),
                rec('"u3"', '"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":1}}'),
                '{"__proto__":{"id":"not-mine"},"id":"u4","name":"proto first","content":"p"}',
            ]
        )
        + "]",
    },
    "empty, non-JSON and non-array values": {
        "airprompts_templates": "",
        "airprompts_workflows": "not json \u00e9",
        "airprompts_snippets": '{"s1":{"id":"s1","name":"object, not array"}}',
        "airprompts_folders": "null",
        "airprompts_tags": '"just a string"',
        "airprompts_ui_preferences": "[1,",
        "airprompts_user_settings": "",
    },
    "more non-array values": {
        "airprompts_templates": "42",
        "airprompts_workflows": " [ ] ",
        "airprompts_snippets": '[{"id":"s1","name":"ok","content":"x"}] trailing',
        "airprompts_folders": "[NaN]",
    },
    "duplicate and colliding ids": {
        "airprompts_templates": "["
        + ",".join(
            [
                rec("5"),
                rec('"5"'),
                rec("5.0"),
                rec('"dup"'),
                rec('"dup"'),
                rec('""'),
                rec("null"),
                rec("true"),
                rec("[5]"),
                '{"name":"no id \u00e9","content":"derive me"}',
                rec("1712345678901"),
                rec('"1712345678901"'),
            ]
        )
        + "]",
        "airprompts_folders": '[{"id":7,"name":"seven","parent_id":null,"sort_order":0},{"id":"7","name":"sept","parent_id":7}]',
    },
}


@pytest.fixture(scope="module")
def tab(browser, base_url):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    yield mx.Tab(context, base_url)
    context.close()


def browser_parse(page, text: str):
    """Return ``[ok, value]``: the value as JSON.parse reads it (None for a failure)."""
    return page.evaluate("(t) => { try { return [true, JSON.parse(t)]; } catch (e) { return [false, null]; } }", text)


SHAPE_JS = """(t) => { let v; try { v = JSON.parse(t); } catch (e) { return {ok: false}; }
  if (!Array.isArray(v)) return {ok: true, array: false};
  const ids = v.map((r) => (r !== null && typeof r === "object" && !Array.isArray(r) ? r.id : undefined));
  return {ok: true, array: true, ids: ids.map((id) => (id === undefined ? {none: true} : {id}))}; }"""


def browser_shape(page, text: str) -> dict:
    """Return whether JSON.parse reads ``text``, whether it is an array, and its records' ids (values stay there)."""
    return page.evaluate(SHAPE_JS, text)


def check_run(page, local: dict[str, str], app: dict[str, dict]) -> dict:
    """Migrate and check the corpus invariants; return the run's result (or the rejection)."""
    outcome = mx.call_error(page, RUN)
    assert outcome["name"] != "NoAnswer", "the engine stopped answering (the interpreter crashed?)"
    now_local, now_app = mx.state(page)
    # The console still answers: nothing crashed the interpreter.
    status = mx.call(page, "api.dataMigrationService.checkMigrationStatus()")
    if outcome["name"] is not None:
        assert (now_local, now_app) == (local, app), f"{outcome['name']}: storage changed by a rejected run"
        stores = mx.own(page, ("journal", "staging"))
        assert stores == {"journal": {}, "staging": {}}
        assert status["needed"] is True
        return outcome
    result = outcome["value"]
    assert result["success"] is True
    written = {k: v for k, v in now_local.items() if local.get(k) != v}
    assert set(written) <= WRITTEN, f"keys the run must not write: {set(written) - WRITTEN}"
    assert la.parses_in_browser(page, written) == [], "a written value JSON.parse refuses"
    for key, text in local.items():
        if key not in WRITTEN:
            assert now_local.get(key) == text, f"{key} changed"
    assert not page.evaluate("() => 'polluted' in {} || Object.prototype.polluted !== undefined")

    quarantine = mx.call(page, "api.dataMigrationService.getQuarantine()")
    report = result["report"]
    for kind in ("templates", "workflows", "snippets", "folders"):
        key = f"airprompts_{kind}"
        if key not in local:
            continue
        shape = browser_shape(page, local[key])
        whole = [q for q in quarantine if q["kind"] == kind and q["index"] == -1]
        if not shape["ok"] or not shape["array"]:
            # Not a collection the engine can read: kept byte for byte and quarantined whole.
            assert now_local.get(key) == local[key], f"{key} rewritten"
            assert len(whole) == 1, f"{key}: quarantined whole {len(whole)} times"
            assert local[key] in (whole[0]["record"], json.dumps(whole[0]["record"], ensure_ascii=False)), key
            continue
        entry = report["sources"][key]
        if entry["status"] == "invalid-collection":  # refused whole (nesting too deep for the engine)
            assert now_local.get(key) == local[key] and len(whole) == 1, key
            assert local[key] == whole[0]["record"], key
            continue
        out = browser_shape(page, now_local[key])
        assert out["ok"] and out["array"], key
        held = [q for q in quarantine if q["kind"] == kind and q["index"] >= 0]
        n_in, n_out = len(shape["ids"]), len(out["ids"])
        assert n_out + len(held) == n_in, f"{key}: {n_in} in, {n_out} out, {len(held)} quarantined"
        assert len(held) == len({q["index"] for q in held}), f"{key}: quarantined twice"
        ids = [r.get("id") for r in out["ids"]]
        assert len(ids) == len(set(map(json.dumps, ids))), f"{key}: an id twice in the output"
        for index, wrapped in enumerate(shape["ids"]):
            rid = wrapped.get("id")
            if any(q["index"] == index for q in held):
                continue
            if isinstance(rid, (str, int)) and not isinstance(rid, bool) and rid != "":  # "" gets a derived id
                assert str(rid) in ids, f"{key}: record {rid!r} is neither migrated nor quarantined"
    assert status["needed"] is False
    return outcome


@pytest.mark.parametrize("name", list(STORES))
def test_adversarial_store_migrates_or_quarantines_every_record(tab, name):
    local = {"airprompts_schema_version": '"1.0.0"', **STORES[name], **OTHER}
    page = tab.fresh(local, {})
    check_run(page, local, {})


def test_huge_numbers_keep_their_text_and_parse_in_the_browser(tab):
    local = {"airprompts_schema_version": '"1.0.0"', **STORES["huge and non-finite numbers"], **OTHER}
    page = tab.fresh(local, {})
    assert check_run(page, local, {})["name"] is None
    text = mx.state(page)[0]["airprompts_templates"]
    for token in ('"score":1e400', '"low":-1e400', f'"digits":{NINES}', f'"neg":-{NINES}', "1E+999", '"b":-1e400'):
        assert token in text, token
    assert "Infinity" not in text and "NaN" not in text
    by_id = {r["id"]: r for r in browser_parse(page, text)[1]}
    assert set(by_id) == {"n1", "n2", "n3", "n4"} and by_id["n4"]["plain"] == 12.5
    assert "1e400" in mx.state(page)[0]["airprompts_workflows"]
    # The live app reads it: JSON.parse gives what it gave before the run.
    assert la.read_live(page)["unparseable"] == []


def test_deep_nesting_never_stops_the_interpreter(tab):
    local = {"airprompts_schema_version": '"1.0.0"', **STORES["deep nesting"], **OTHER}
    page = tab.fresh(local, {})
    result = check_run(page, local, {})["value"]
    sources = result["report"]["sources"]
    assert sources["airprompts_templates"]["status"] != "invalid-collection" and result["migrated"] == 1
    same = page.evaluate(
        "([a, b]) => JSON.stringify(JSON.parse(a)[0].deep) === JSON.stringify(JSON.parse(b)[0].deep)",
        [local["airprompts_templates"], mx.state(page)[0]["airprompts_templates"]],
    )
    assert same, "the 498-level value changed"
    for key in ("airprompts_snippets", "airprompts_folders"):
        assert sources[key]["status"] == "invalid-collection", key
    errors = [q["errors"] for q in mx.call(page, "api.dataMigrationService.getQuarantine()") if q["index"] == -1]
    assert len(errors) == 2 and all("nested too deeply" in " ".join(e) for e in errors)
    # The compatibility layer reads the deep record too (only its id crosses back: Playwright stops at depth).
    assert mx.call(page, "(await api.compatibilityLayer.get('templates')).map((r) => r.id)") == ["ok"]


def test_strings_the_browser_holds_come_back_exactly(tab):
    local = {"airprompts_schema_version": '"1.0.0"', **STORES["lone surrogates, NUL, __proto__"], **OTHER}
    page = tab.fresh(local, {})
    assert check_run(page, local, {})["name"] is None
    checks = [["u1", "half"], ["u1", "other"], ["u1", "pair"], ["u2", "nul"], ["u2", "\u0000key"], ["u2", "ctl"],
              ["u3", "__proto__"], ["u3", "constructor"], ["u4", "__proto__"]]  # fmt: skip
    differ = page.evaluate(
        """([a, b, checks]) => {
            const byId = (t) => Object.fromEntries(JSON.parse(t).map((r) => [r.id, r]));
            const before = byId(a), after = byId(b);
            const own = (r, f) => JSON.stringify(Object.getOwnPropertyDescriptor(r, f)?.value);
            const bad = checks.filter(([id, f]) => !after[id] || own(before[id], f) === undefined || own(before[id], f) !== own(after[id], f));
            return {ids: Object.keys(after).sort(), bad};
        }""",
        [local["airprompts_templates"], mx.state(page)[0]["airprompts_templates"], checks],
    )
    assert differ == {"ids": ["u1", "u2", "u3", "u4"], "bad": []}
    assert '"__proto__":{"polluted":true}' in mx.state(page)[0]["airprompts_templates"]


def test_colliding_ids_keep_the_first_and_quarantine_the_rest(tab):
    local = {"airprompts_schema_version": '"1.0.0"', **STORES["duplicate and colliding ids"], **OTHER}
    page = tab.fresh(local, {})
    result = check_run(page, local, {})["value"]
    out = browser_parse(page, mx.state(page)[0]["airprompts_templates"])[1]
    ids = [r["id"] for r in out]
    assert ids.count("5") == 1 and ids.count("dup") == 1 and ids.count("1712345678901") == 1
    quarantine = mx.call(page, "api.dataMigrationService.getQuarantine()")
    held = {q["index"] for q in quarantine if q["kind"] == "templates"}
    assert {1, 4, 11} <= held  # "5" after 5, the second "dup", the string twin of a Date.now() id
    folders = browser_parse(page, mx.state(page)[0]["airprompts_folders"])[1]
    assert [f["id"] for f in folders] == ["7"] and result["quarantined"] >= 4


@pytest.mark.parametrize("name", list(STORES))
def test_rejected_run_leaves_storage_byte_identical(tab, name):
    """A storage error in the switch rejects the run: every byte of the corpus is back, AirPromptsDB too."""
    local = {"airprompts_schema_version": '"1.0.0"', **STORES[name], **OTHER}
    app = {
        "workflows": {
            "key": "workflows",
            "value": [{"id": "db\u00e9", "name": "\ud83d half", "steps": [5]}],
            "timestamp": 3,
        }
    }
    page = tab.fresh(local, app)
    mx.install(page, "error", {"at": "event", "phase": "switch"}, "QuotaExceededError")
    outcome = check_run(page, local, app)
    assert outcome["name"] is not None, "the injected error did not reject the run"
