"""The live-app reader (liveapp.js) from Python: inject it, read reports, compare them; users' stores."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

READER_JS = (Path(__file__).with_name("liveapp.js")).read_text(encoding="utf-8")
COLLECTIONS = ("templates", "workflows", "snippets", "folders")
TS = "2024-05-01T12:00:00.000Z"
LEGACY_KEYS = {"templates": "templates", "workflows": "airprompts-workflows", "snippets": "ap_snippets", "folders": "folders"}  # fmt: skip


def inject(page) -> None:
    if not page.evaluate("() => typeof globalThis.liveApp === 'object'"):
        page.add_script_tag(content=READER_JS)


def read_live(page, area: str = "localStorage", placeholders: bool = True) -> dict[str, Any]:
    """Return what the live app reaches in the page's origin now (AirPromptsDB's collections in place when asked)."""
    inject(page)
    fn = "readAppDb" if area == "AirPromptsDB" else "readLocal"
    return page.evaluate(f"(opts) => globalThis.liveApp.{fn}(opts)", {"placeholders": placeholders})


def read_source(page, values: dict[str, Any], placeholders: bool = True) -> dict[str, Any]:
    """Return what ``values`` (collections, whatever their version) meant to their user."""
    inject(page)
    return page.evaluate(
        "([values, opts]) => globalThis.liveApp.report(values, opts)",
        [values, {"mode": "source", "placeholders": placeholders}],
    )


def parses_in_browser(page, texts: dict[str, str]) -> list[str]:
    """Return the keys whose text the browser's JSON.parse rejects."""
    return page.evaluate(
        "(texts) => Object.entries(texts).filter(([k, t]) => { try { JSON.parse(t); return false; } catch (e) { return true; } }).map(([k]) => k)",
        texts,
    )


def _pairs(rows: list[list]) -> list[tuple]:
    return sorted(tuple(r) for r in rows)


def reach_problems(before: dict[str, Any], after: dict[str, Any], ordered: bool = True) -> list[str]:
    """Return every way ``after`` (live) lets the user reach less, or otherwise, than ``before`` (source) meant.

    ``ordered=False`` compares the folders under each parent without their order.
    """
    out: list[str] = []
    if after["unparseable"]:
        out.append(f"values the app cannot parse: {after['failures']}")
    if after["notArrays"]:
        out.append(f"collections that are not arrays: {after['notArrays']}")
    for parent in sorted(set(before["tree"]) | set(after["tree"])):
        b, a = before["tree"].get(parent), after["tree"].get(parent)
        if not ordered and b is not None and a is not None:
            b, a = sorted(map(str, b)), sorted(map(str, a))
        if b != a:
            out.append(f"folders under {parent}: {after['tree'].get(parent)} instead of {before['tree'].get(parent)}")
    if sorted(after["detachedFolders"]) != sorted(before["detachedFolders"]):
        out.append(f"folders out of the tree: {after['detachedFolders']} (before: {before['detachedFolders']})")
    for kind in ("templates", "workflows", "snippets"):
        b, a = before["items"].get(kind, {}), after["items"].get(kind, {})
        for folder in sorted(set(a) | set(b)):
            if b.get(folder) != a.get(folder):
                out.append(f"{kind} in {folder}: {a.get(folder)} instead of {b.get(folder)}")
        lost = set(before["reachable"].get(kind, [])) - set(after["reachable"].get(kind, []))
        if lost:
            out.append(f"{kind} no longer reachable: {sorted(lost)}")
        if before["globalFavorites"].get(kind, []) != after["globalFavorites"].get(kind, []):
            out.append(f"{kind} favourites: {after['globalFavorites'].get(kind)} instead of {before['globalFavorites'].get(kind)}")  # fmt: skip
    if _pairs(after["favorites"]) != _pairs(before["favorites"]):
        out.append(f"folder favourites: {_pairs(after['favorites'])} instead of {_pairs(before['favorites'])}")
    if _pairs(after["steps"]["resolved"]) != _pairs(before["steps"]["resolved"]):
        missing = set(_pairs(before["steps"]["resolved"])) - set(_pairs(after["steps"]["resolved"]))
        out.append(
            f"template steps that no longer run: {sorted(missing)}; unresolved now: {after['steps']['unresolved']}"
        )
    if sorted(tuple(r[:2]) for r in after["steps"]["unresolved"]) != sorted(tuple(r[:2]) for r in before["steps"]["unresolved"]):  # fmt: skip
        out.append(f"unresolved steps: {after['steps']['unresolved']} instead of {before['steps']['unresolved']}")
    return out


# ---------------------------------------------------------------------- a user's store at each version

# (id, name, parent, sort order): siblings in an order that is not alphabetical.
FOLDERS = [
    ("f-work", "Travail \u2014 \u00c9criture", None, 2),
    ("f-code", "\u4ee3\u7801 Code", None, 1),
    ("f-ar", "\u0639\u0631\u0628\u064a", "f-work", 0),
    ("f-draft", "Brouillons \u270d\ufe0f", "f-work", 1),
    (1712345678901, "Deep \u201cquoted\u201d", "f-draft", 0),  # a Date.now() id, as the app once made them
]
FOLDER_IDS = [f[0] for f in FOLDERS]


def _content(i: int) -> str:
    return (
        f"R\u00e9sume {{texte}} #{i}\r\n  \u201cquote\u201d \u4e2d\u6587 \u0645\u0631\u062d\u0628\u0627 \U0001f680\r\n"
        + "x" * (i * 37)
    )


def user_records(camel: bool) -> dict[str, list[dict[str, Any]]]:
    """30 templates, 4 workflows, 6 snippets and 5 folders, in 1.0.0 (snake_case) or 2.0.0 (camelCase) fields."""

    def f(snake: str) -> str:
        if not camel:
            return snake
        if snake == "is_favorite":
            return "favorite"
        head, *rest = snake.split("_")
        return head + "".join(p[:1].upper() + p[1:] for p in rest)

    folders = []
    for fid, name, parent, order in FOLDERS:
        rec = {"id": fid, "name": name, f("created_at"): TS, f("updated_at"): TS, "icon": "Folder"}
        rec[f("parent_id")] = parent
        rec[f("sort_order")] = order
        folders.append(rec)
    templates = []
    for i in range(30):
        tid: Any = 100 + i if i < 10 else f"t-{i}"
        rec = {"id": tid, "name": f"Mod\u00e8le {i} \u2014 \u201c{i}\u201d", "content": _content(i),
               f("created_at"): TS, f("updated_at"): TS, f("is_favorite"): i % 7 == 0, "variables": ["texte"]}  # fmt: skip
        if i % 5 != 4:  # six templates have no folder
            home = FOLDER_IDS[i % 5]
            rec[f("folder_id")] = home
            if camel and i % 3 == 0:
                rec["folderIds"] = [home, FOLDER_IDS[(i + 1) % 5]]
            if i % 4 == 0:
                rec[f("folder_favorites")] = {str(home): {"isFavorite": True, "favoriteOrder": i}}
        templates.append(rec)
    snippets = []
    for i in range(6):
        rec = {"id": f"s-{i}", "name": f"Bout {i} \U0001f9e9", "content": f"\u2014 Sign\u00e9 {i}\r\n\u00a0\ufeff",
               f("created_at"): TS, f("snippet_tags"): ["sig", "\u00e9t\u00e9"]}  # fmt: skip
        if i != 5:
            rec[f("updated_at")] = TS
        if i % 2 == 0:
            rec[f("folder_id")] = FOLDER_IDS[(i + 2) % 5]
        if i == 2:
            rec[f("folder_favorites")] = {str(FOLDER_IDS[4]): {"isFavorite": True, "favoriteOrder": 0}}
        snippets.append(rec)
    step = f("template_id")
    workflows = [
        {"id": "w-1", "name": "Flux \u00e9crit", "steps": [{step: 100, f("step_name"): "un"}, {step: "t-12"}]},
        {"id": "w-2", "name": "Bare ids \u4e2d", "steps": [101, "t-15"]},
        {
            "id": "w-3",
            "name": "Selected",
            "steps": [
                {f("selected_template_id"): "t-20", "type": "template"},
                {"type": "info", "content": "Lire \u00e9"},
            ],
        },  # fmt: skip
        {"id": 1712345678999, "name": "Dangling", "steps": [{step: "no-such-template"}, {step: 109}]},
    ]
    for i, wf in enumerate(workflows):
        wf[f("created_at")] = TS
        wf[f("updated_at")] = TS
        if i % 2 == 0:
            wf[f("folder_id")] = FOLDER_IDS[i]
    return {"templates": templates, "workflows": workflows, "snippets": snippets, "folders": folders}


def _texts(records: dict[str, list], keys: dict[str, str]) -> dict[str, str]:
    return {keys[kind]: json.dumps(value, ensure_ascii=False) for kind, value in records.items()}


OTHER_APP_KEYS = {
    "airprompts_root_folder": '{"description":"Accueil \u00e9t\u00e9 \U0001f3e0","updatedAt":"2025-07-24T15:25:35.848Z"}',
    "airprompts_todos": '[{"id":1753367744590,"text":"  relire \u201cchap. 2\u201d\\r\\n"}]',
    "airprompts_folder_favorites": '["f-work"]',
    "theme-storage": '{"state":{"theme":"dark"},"version":0}',
}


def user_store(kind: str) -> tuple[dict[str, str], dict[str, dict], dict[str, list]]:
    """Return (localStorage, AirPromptsDB records, the collections as the user made them) of a store ``kind``.

    legacy: legacy keys, snake_case; 1.0.0: airprompts_* keys, snake_case; 2.0.0: camelCase,
    folders with parentId/sortOrder only; mixed: both shapes in each collection, folders the
    live app reordered (parent_id, sort_order) beside renamed ones (parentId, sortOrder); AirPromptsDB: a 1.0.0 store whose
    templates and workflows live in AirPromptsDB.
    """
    app: dict[str, dict] = {}
    if kind == "legacy":
        records = user_records(camel=False)
        local = _texts(records, LEGACY_KEYS)
        local["ui-prefs"] = '{"view_mode":"list"}'
        local["user_settings"] = '{"display_name":"Zo\u00eb \u201cZ\u201d"}'
    elif kind in ("1.0.0", "AirPromptsDB"):
        records = user_records(camel=False)
        local = _texts(records, {k: f"airprompts_{k}" for k in COLLECTIONS})
        local["airprompts_schema_version"] = '"1.0.0"'
        local["airprompts_user_settings"] = '{"display_name":"Zo\u00eb","performance":{"cache_size":50}}'
        if kind == "AirPromptsDB":
            for name in ("templates", "workflows"):
                app[name] = {"key": name, "value": records[name], "timestamp": 1712345678901}
                del local[f"airprompts_{name}"]
    elif kind == "2.0.0":
        records = user_records(camel=True)
        local = _texts(records, {k: f"airprompts_{k}" for k in COLLECTIONS})
        local["airprompts_schema_version"] = '"2.0.0"'
        local["airprompts_ui_preferences"] = '{"viewMode":"grid","defaultFolderId":null,"expandedFolders":["f-work"]}'
    elif kind == "mixed":
        snake, camel = user_records(camel=False), user_records(camel=True)
        records = {
            name: [(snake if i % 2 else camel)[name][i] for i in range(len(snake[name]))] for name in COLLECTIONS
        }
        # Folders the live app reordered (parent_id and sort_order beside the camelCase rest)
        # next to folders an earlier migration renamed (parentId and sortOrder only).
        records["folders"] = [
            {**c, "parent_id": c.pop("parentId"), "sort_order": c["sortOrder"]} if i % 2 == 0 else c
            for i, c in enumerate(dict(c) for c in camel["folders"])
        ]
        local = _texts(records, {k: f"airprompts_{k}" for k in COLLECTIONS})
        local["airprompts_data_version"] = '"2.0"'
    else:
        raise KeyError(kind)
    local.update(OTHER_APP_KEYS)
    return local, app, records
