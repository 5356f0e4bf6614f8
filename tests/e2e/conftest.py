"""End-to-end helpers: seed an origin, open the console, read storage back."""

from __future__ import annotations

import json
from urllib.parse import urlparse

import pytest

from tests.e2e import matrix as mx

SEED_PATH = "/tests/e2e/blank.html"  # a same-origin page that does not boot Python


def off_origin(url: str, base_url: str) -> bool:
    parsed = urlparse(url)
    if parsed.scheme in ("data", "blob", "about"):
        return False
    return f"{parsed.scheme}://{parsed.netloc}" != base_url


class Browser:
    """A page on the app's origin with helpers for storage and readiness."""

    def __init__(self, page, base_url, config):
        self.page = page
        self.base_url = base_url
        self.config = config
        self.requests: list[str] = []
        self.console_errors: list[str] = []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        page.on("pageerror", lambda e: self.console_errors.append(f"pageerror: {e}"))
        self.failed_responses: list[str] = []
        page.on("response", lambda r: r.status >= 400 and self.failed_responses.append(f"{r.status} {r.url}"))

    def seed(self, local: dict[str, str] | None = None, app: dict[str, object] | None = None) -> None:
        """Open a same-origin page without Python and store ``local`` (exact strings) and ``app`` records."""
        self.page.goto(self.base_url + SEED_PATH)
        records = {key: {"key": key, "value": value, "timestamp": 1} for key, value in (app or {}).items()}
        mx.seed_store(self.page, local, records, clear=True)

    def open(self, query: str = "?autostart=0") -> None:
        self.page.goto(self.base_url + "/" + query)
        self.wait_ready()

    def wait_ready(self) -> None:
        self.page.wait_for_selector(self.config.READY_SELECTOR, state="attached", timeout=self.config.READY_TIMEOUT_MS)

    def call(self, expression: str, arg=None):
        """Evaluate an async JS expression using `api` (window.airprompts) and `arg`; return its value."""
        return self.page.evaluate(
            f"async (arg) => {{ const api = window.airprompts; await api.ready; return {expression}; }}", arg
        )

    def call_error(self, expression: str, arg=None) -> dict:
        """Evaluate an expression that must reject; return the Error's name and message."""
        return self.page.evaluate(
            f"""async (arg) => {{ const api = window.airprompts; await api.ready;
                try {{ await ({expression}); return {{name: null}}; }}
                catch (e) {{ return {{name: e.name, message: e.message, isError: e instanceof Error, details: e.details ?? null}}; }} }}""",
            arg,
        )

    def local(self) -> dict[str, str]:
        return self.page.evaluate(mx.LOCAL_JS)

    def app_records(self) -> dict[str, object]:
        return self.page.evaluate(mx.APP_JS)

    def json_local(self, key: str):
        value = self.local().get(key)
        return None if value is None else json.loads(value)


@pytest.fixture
def app(page, base_url, pw_config):
    page.set_default_timeout(pw_config.ACTION_TIMEOUT_MS)
    return Browser(page, base_url, pw_config)


# ---------------------------------------------------------------------- fault-matrix figures
# Each migration scenario reports (category, outcome) here before it asserts, so a
# failing scenario still counts; the terminal summary prints one line per category.
SCENARIOS: dict[str, list[str]] = {}
SCENARIO_NOTES: dict[str, list[str]] = {}


@pytest.fixture(scope="session")
def scenario_log():
    """Return a function recording one scenario's end state: "migrated", "original" or "MIX" (lost, mixed, duplicated)."""

    def record(category: str, outcome: str, note: str | None = None) -> None:
        SCENARIOS.setdefault(category, []).append(outcome)
        if note is not None:
            SCENARIO_NOTES.setdefault(category, []).append(note)

    return record


def pytest_terminal_summary(terminalreporter):
    if not SCENARIOS:
        return
    terminalreporter.section("migration scenarios")
    total = lost = 0
    for category, outcomes in SCENARIOS.items():
        counts = {name: outcomes.count(name) for name in ("migrated", "original")}
        bad = len(outcomes) - counts["migrated"] - counts["original"]
        total += len(outcomes)
        lost += bad
        terminalreporter.write_line(
            f"{category}: {len(outcomes)} scenarios, migrated {counts['migrated']}, "
            f"original {counts['original']}, data lost: {bad}"
        )
        notes = SCENARIO_NOTES.get(category)
        if notes:
            tally = ", ".join(f"{note} {notes.count(note)}" for note in sorted(set(notes)))
            terminalreporter.write_line(f"    ({tally})")
    terminalreporter.write_line(f"all categories: {total} scenarios, data lost: {lost}")
