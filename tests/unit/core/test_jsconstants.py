"""static/js/constants.js is written from the Python that defines its values, and is current."""

from __future__ import annotations

import json
import re

from app.core import jsconstants, keys, revisions


def test_the_file_is_current():
    # Change app/core/keys.py or the registry, then run `python -m app.core.jsconstants` (make constants).
    assert jsconstants.PATH.read_text(encoding="utf-8") == jsconstants.render()


def test_the_file_says_what_python_says():
    text = jsconstants.PATH.read_text(encoding="utf-8")
    found = {
        m.group(1): json.loads(m.group(3) or m.group(4))
        for m in re.finditer(r"^export const (\w+) = (Object\.freeze\((.*)\)|(.*));$", text, re.M)
    }
    assert found["TARGET_VERSION"] == revisions.target() == revisions.REGISTRY[-1].version
    assert found["COLLECTIONS"] == list(keys.COLLECTIONS)
    assert all(keys.legacy_target(k) == v for k, v in found["LEGACY_KEYS"].items())
    assert keys.legacy_target(found["LEGACY_PREFIX"] + "custom") == keys.PREFIX + "custom"


def test_the_javascript_takes_its_constants_from_the_generated_file():
    js = jsconstants.PATH.parent
    for name in ("loader.js", "api.js"):
        code = "\n".join(line.split("//")[0] for line in (js / name).read_text(encoding="utf-8").splitlines())
        assert 'from "./constants.js"' in code, name
        assert f'"{revisions.target()}"' not in code, name  # no copy of the target version
        assert '"ui-prefs"' not in code and '"airprompts-templates"' not in code, name  # nor of the legacy table
