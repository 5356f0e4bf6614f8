"""The console's remote DOM (pure Python): trees, queued page changes, events from the page."""

from __future__ import annotations

import asyncio
import json

import pytest

from app.ui import chart, dom
from app.ui.dom import Document, by_id, el, fill, set_text, show

NAME = "<img src=x onerror=window.__pwned=1> “Résumé” 📝\r\n完了"


@pytest.fixture
def page(monkeypatch):
    """A fresh document whose posted messages are collected, with a few of the console's elements."""
    document = Document()
    monkeypatch.setattr(dom, "document", document)
    posted: list[list] = []
    snapshot = {
        "run-start": {"tag": "BUTTON", "disabled": True, "hidden": False, "dataset": {}},
        "batch-size": {"tag": "INPUT", "value": "100", "disabled": False, "hidden": False, "dataset": {}},
        "backups-body": {"tag": "TBODY", "hidden": False, "dataset": {}},
        "confirm-dialog": {"tag": "DIALOG", "hidden": False, "dataset": {}},
        "backup-file": {"tag": "INPUT", "value": "", "disabled": False, "hidden": False, "dataset": {}},
    }
    document.connect(lambda text: posted.append(json.loads(text)), snapshot)
    return document, posted


async def test_changes_are_queued_and_posted_in_one_message(page):
    document, posted = page
    button = by_id("run-start")
    assert button.tagName == "BUTTON" and button.disabled is True  # from the page's snapshot
    button.disabled = False
    button.setAttribute("aria-busy", "true")
    set_text("batch-size", NAME)
    assert posted == []
    await asyncio.sleep(0)
    assert posted == [[["prop", "run-start", "disabled", False], ["attr", "run-start", "aria-busy", "true"],
                       ["text", "batch-size", NAME]]]
    assert button.getAttribute("aria-busy") == "true" and button.disabled is False
    button.removeAttribute("aria-busy")
    await asyncio.sleep(0)
    assert posted[-1] == [["attr", "run-start", "aria-busy", None]]
    with pytest.raises(LookupError):
        by_id("no-such-element")


async def test_trees_carry_user_text_as_text_and_attributes_only(page):
    document, posted = page
    row = el("tr", el("td", NAME, cls="name", data_label="Name"), None, el("td", 42), data_backup_id="bk-1")
    fill(by_id("backups-body"), row, "tail")
    await asyncio.sleep(0)
    [[op]] = posted
    assert op[0:2] == ["children", "backups-body"]
    tree = op[2][0]
    assert tree == {
        "tag": "tr",
        "attrs": {"data-backup-id": "bk-1"},
        "children": [
            {"tag": "td", "attrs": {"class": "name", "data-label": "Name"}, "children": [NAME]},
            {"tag": "td", "attrs": {}, "children": ["42"]},
        ],
    }
    assert op[2][1] == "tail"
    assert by_id("backups-body").textContent == NAME + "42tail"


async def test_a_new_element_with_an_id_is_mirrored_with_its_dataset(page):
    button = el("button", "Verify", id="backup-verify-bk-1", data_action="verify", data_backup_id="bk-1", disabled=True)
    mirrored = by_id("backup-verify-bk-1")
    assert mirrored.tagName == "BUTTON" and mirrored.disabled is True
    assert mirrored.dataset.action == "verify" and mirrored.dataset.backupId == "bk-1"
    assert button.attrs["id"] == "backup-verify-bk-1"


async def test_events_bring_the_form_values_the_action_and_the_files(page):
    document, _posted = page
    seen = []
    remove = document.listen("backups-body", "click", seen.append)
    document.listen("confirm-dialog", "close", seen.append)
    await asyncio.sleep(0)
    el("button", "Restore", id="backup-restore-bk-2", data_action="restore", data_backup_id="bk-2")
    document.receive(json.dumps({
        "id": "backups-body", "type": "click", "values": {"batch-size": "250"},
        "action": {"id": "backup-restore-bk-2", "tag": "BUTTON", "disabled": False,
                   "dataset": {"action": "restore", "backupId": "bk-2"}},
        "files": {"backup-file": ['{"format": "airprompts-migrate-backup", "note": "' + "ü" * 3 + '"}']},
    }))
    [event] = seen
    assert event.type == "click" and event.target.id == "backups-body"
    assert event.action.id == "backup-restore-bk-2" and event.action.dataset.backupId == "bk-2"
    assert by_id("batch-size").value == "250"
    assert by_id("backup-file").files[0].endswith('"üüü"}')
    document.receive(json.dumps({"id": "confirm-dialog", "type": "close", "values": {}, "returnValue": "confirm"}))
    assert by_id("confirm-dialog").returnValue == "confirm" and len(seen) == 2
    remove()
    document.receive(json.dumps({"id": "backups-body", "type": "click", "values": {}}))
    assert len(seen) == 2


async def test_the_page_is_asked_to_listen_once_per_element_and_event(page):
    document, posted = page
    document.listen("run-start", "click", lambda _e: None)
    document.listen("run-start", "click", lambda _e: None)
    document.listen(dom.WINDOW, "airprompts:progress", lambda _e: None)
    show(by_id("run-start"), False)
    await asyncio.sleep(0)
    assert posted == [[["listen", "run-start", "click"], ["listen", "window", "airprompts:progress"],
                       ["prop", "run-start", "hidden", True]]]


async def test_only_known_element_methods_are_called(page):
    document, posted = page
    by_id("confirm-dialog").showModal()
    by_id("run-start").focus({"preventScroll": True})
    with pytest.raises(ValueError):
        by_id("run-start").call("insertAdjacentHTML", "beforeend", NAME)
    with pytest.raises(AttributeError):
        by_id("run-start").innerHTML = NAME
    await asyncio.sleep(0)
    assert posted == [[["call", "confirm-dialog", "showModal", []], ["call", "run-start", "focus", [{"preventScroll": True}]]]]


async def test_the_run_chart_is_a_tree_under_cpython(page):
    metrics = {
        "running": False,
        "series": {"batchDurationsMs": [[0, 12.5], [100, 30.0], [200, 18.0]], "throughput": [[0, 800], [100, 950], [200, 700]]},
    }
    tree = chart.draw(metrics).to_json()
    assert tree["tag"] == "svg" and tree["ns"] == dom.SVG_NS
    tags = json.dumps(tree)
    assert '"tag": "title"' in tags and "innerHTML" not in tags
