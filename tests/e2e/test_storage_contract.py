"""The storage contract against BrowserStorage in real Chromium (same cases as tests/unit/storage)."""

import json

import pytest

from tests.contract.storage_contract import CASES
from tests.e2e.pages import python_page


@pytest.fixture(scope="module")
def browser_results(browser, base_url, pw_config):
    url = python_page(
        "contract",
        "tests/e2e/contract_main.py",
        ["tests/__init__.py", "tests/contract/__init__.py", "tests/contract/storage_contract.py", "tests/contract/faults.py"],
    )
    context = browser.new_context()
    page = context.new_page()
    page.goto(base_url + url)
    page.wait_for_selector("html[data-contract-done='true']", state="attached", timeout=pw_config.READY_TIMEOUT_MS * 2)
    results = json.loads(page.inner_text("#results"))
    context.close()
    return {r["name"]: r for r in results}


@pytest.mark.parametrize("name", [fn.__name__ for fn in CASES])
def test_contract_in_chromium(browser_results, name):
    result = browser_results[name]
    assert result["ok"], result["error"]
