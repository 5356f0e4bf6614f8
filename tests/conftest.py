"""Shared fixtures: the static server and browser settings from playwright.config.py."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Tests assert no wall-clock time, and hypothesis' per-example deadline is one: on a
# shared, loaded machine it fails examples that are only slow. Derandomized in CI, so a
# run there is repeatable.
settings.register_profile(
    "project", deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=bool(os.environ.get("CI"))
)
settings.load_profile("project")

ROOT = Path(__file__).resolve().parent.parent


def _load_config():
    spec = importlib.util.spec_from_file_location("playwright_config", ROOT / "playwright.config.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CONFIG = _load_config()


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def pw_config():
    return CONFIG


@pytest.fixture(scope="session")
def app_server():
    from app.devserver import serve_in_thread

    server, _ = serve_in_thread(CONFIG.HOST, 0)
    yield f"http://{CONFIG.HOST}:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def base_url(app_server):
    return app_server


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CONFIG.EXECUTABLE_PATH,
        "args": CONFIG.LAUNCH_ARGS,
        "headless": CONFIG.HEADLESS,
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": CONFIG.VIEWPORT}


@pytest.fixture(scope="session")
def artifacts_dir():
    path = Path(CONFIG.ARTIFACTS_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path
