"""Browser settings for the end-to-end tests and the benchmark (read by tests/conftest.py)."""

import os

# Debian's chromium, launched by path: Playwright never downloads a browser here.
EXECUTABLE_PATH = os.environ.get("CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
HEADLESS = os.environ.get("HEADED", "") == ""
HOST = "127.0.0.1"
VIEWPORT = {"width": 1280, "height": 800}
MOBILE_VIEWPORT = {"width": 390, "height": 844}
# Pyodide starts in about 5 s on two cores; a shared machine may be several times slower.
READY_TIMEOUT_MS = 90_000
ACTION_TIMEOUT_MS = 60_000
READY_SELECTOR = "html[data-migration-ready='true']"
ARTIFACTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tests", "artifacts")
