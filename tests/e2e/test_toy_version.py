"""Adding a schema version is one file, in Chromium too: tests/toy_v4.py registered on a page
that runs the real services on the real localStorage and IndexedDB (tests/e2e/toy_main.py).

The same fixtures as tests/unit/services/test_toy_version.py move from legacy keys to 4.0.0;
a failed switch rolls back byte for byte; a page reloaded in the middle of the run is
recovered by the next page, which finishes it with nothing lost or duplicated.
"""

from __future__ import annotations

import json

import pytest

from tests.e2e import matrix as mx
from tests.e2e.pages import python_page
from tests.unit.services.test_toy_version import legacy_fixture_store

FILES = ["tests/__init__.py", "tests/toy_v4.py"]


@pytest.fixture(scope="module")
def toy_url():
    return python_page("toy-v4", "tests/e2e/toy_main.py", FILES)


def seeded(page, base_url) -> dict[str, str]:
    local = dict(legacy_fixture_store().local)
    page.goto(base_url + mx.SEED_PATH)
    mx.seed_store(page, local, clear=True)
    return local


def run_step(page, base_url, toy_url, step: str, pw_config) -> dict:
    page.goto(f"{base_url}{toy_url}?step={step}")
    page.wait_for_selector("html[data-toy-done='true']", state="attached", timeout=pw_config.READY_TIMEOUT_MS * 2)
    return json.loads(page.inner_text("#results"))


def local_of(page) -> dict[str, str]:
    return page.evaluate(mx.LOCAL_JS)


def assert_at_4_0_0(local: dict[str, str]) -> None:
    fixture = legacy_fixture_store().local
    assert local["airprompts_schema_version"] == '"4.0.0"'
    templates = json.loads(local["airprompts_templates"])
    assert [t["id"] for t in templates] == [str(t["id"]) for t in json.loads(fixture["templates"])]
    assert all(t["tone"] == "neutral" and t["metadata"]["schemaVersion"] == "4.0.0" for t in templates)
    assert all(t["metadata"]["migratedFrom"] == "legacy" and t["metadata"]["sourceKey"] == "templates" for t in templates)
    folders = json.loads(local["airprompts_folders"])
    assert len(folders) == len(json.loads(fixture["folders"]))
    assert all(f["parent_id"] == f["parentId"] and f["metadata"]["schemaVersion"] == "4.0.0" for f in folders)
    (snippet,) = json.loads(local["airprompts_snippets"])
    assert snippet["metadata"] == {"schemaVersion": "4.0.0", "migratedFrom": "legacy", "sourceKey": "ap_snippets"}
    assert local["airprompts_todos"] == fixture["airprompts_todos"]  # not the migration's: untouched


def test_the_fixtures_migrate_from_legacy_to_the_toy_4_0_0_in_chromium(page, base_url, toy_url, pw_config):
    seeded(page, base_url)
    result = run_step(page, base_url, toy_url, "finish", pw_config)
    assert "error" not in result, result
    assert result["target"] == "4.0.0" and result["neededBefore"] and not result["neededAfter"]
    assert result["run"]["success"] and result["run"]["toVersion"] == "4.0.0" and result["run"]["quarantined"] == 0
    assert_at_4_0_0(local_of(page))


def test_a_failed_switch_to_4_0_0_rolls_back_byte_for_byte_in_chromium(page, base_url, toy_url, pw_config):
    before = seeded(page, base_url)
    result = run_step(page, base_url, toy_url, "rollback", pw_config)
    assert result["error"]["name"] == "RolledBack", result
    assert local_of(page) == before


def test_a_page_reloaded_mid_run_to_4_0_0_is_recovered_and_finished_in_chromium(page, base_url, toy_url, pw_config):
    seeded(page, base_url)
    page.goto(f"{base_url}{toy_url}?step=stall")
    page.wait_for_selector("html[data-toy-stalled='true']", state="attached", timeout=pw_config.READY_TIMEOUT_MS * 2)
    assert page.evaluate("() => document.documentElement.dataset.toyDone") is None  # the run is mid-way
    result = run_step(page, base_url, toy_url, "finish", pw_config)  # the reload: a new page
    assert "error" not in result, result
    assert not result["neededAfter"]
    assert_at_4_0_0(local_of(page))
