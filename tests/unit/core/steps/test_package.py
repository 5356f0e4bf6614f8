"""The steps package: what it exports, and that it imports only leaves of app/core (no cycle)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from app.core import steps

ROOT = Path(__file__).resolve().parents[4]
# What a step may import outside its own package: the leaves of app/core (ids reads numbers with jsonstream).
LEAVES = {"app", "app.core", "app.core.errors", "app.core.fields", "app.core.ids", "app.core.issues"}
LEAVES |= {"app.core.jsonstream", "app.core.timestamps"}


def test_the_steps_import_only_leaves_of_app_core():
    code = "import json, sys, app.core.steps; print(json.dumps(sorted(m for m in sys.modules if m.startswith('app'))))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    loaded = set(json.loads(done.stdout))
    assert {name for name in loaded if not name.startswith("app.core.steps")} <= LEAVES
    assert "app.core.versions" not in loaded and "app.core.revisions" not in loaded


def test_every_exported_name_is_there():
    assert all(hasattr(steps, name) for name in steps.__all__)
    assert steps.RecordError is steps.base.RecordError
    assert steps.rename_fields is steps.record.rename_fields
