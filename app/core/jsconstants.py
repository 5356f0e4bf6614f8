"""The constants JavaScript needs, written from the Python that defines them: static/js/constants.js.

The loader decides without Python whether a migration may be needed, so it needs
the target version, the app's key names, the collections and the legacy key
table. They are written here from app.core.keys and the version registry
(``python -m app.core.jsconstants``, or ``make constants``); a unit test fails
when the file is stale, so the two languages cannot drift apart.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from app.core import keys, revisions

PATH = Path(__file__).resolve().parent.parent.parent / "static" / "js" / "constants.js"


def constants() -> dict[str, object]:
    """Return name -> value of every constant the JavaScript side shares with Python."""
    return {
        "TARGET_VERSION": revisions.target(),
        "VERSIONS": list(revisions.versions()),
        "COLLECTIONS": list(keys.COLLECTIONS),
        "VALUES": list(keys.VALUES),
        "PREFIX": keys.PREFIX,
        "SCHEMA_VERSION_KEY": keys.SCHEMA_VERSION_KEY,
        "PENDING_FLAG": keys.PENDING_FLAG,
        "DATA_VERSION_KEY": keys.DATA_VERSION_KEY,
        "APP_DB": keys.APP_DB,
        "APP_STORE": keys.APP_STORE,
        # Legacy key -> the key its value moves to; any other ap_<name> moves to airprompts_<name>.
        "LEGACY_KEYS": dict(keys.LEGACY_KEYS),
        "LEGACY_PREFIX": keys.LEGACY_PREFIX,
    }


def render() -> str:
    """Return the text of static/js/constants.js."""
    lines = [
        "// Generated from app/core/keys.py and app/core/revisions by `python -m app.core.jsconstants`:",
        "// do not edit by hand (a unit test fails when this file is stale).",
    ]
    for name, value in constants().items():
        text = json.dumps(value, ensure_ascii=False)
        frozen = f"Object.freeze({text})" if isinstance(value, (list, dict)) else text
        lines.append(f"export const {name} = {frozen};")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the file (``--check``: only say whether it is stale, exit 1 if so)."""
    args = sys.argv[1:] if argv is None else argv
    current = PATH.read_text(encoding="utf-8") if PATH.exists() else None
    if "--check" in args:
        if current != render():
            print(f"stale: {PATH}")
            return 1
        return 0
    if current != render():
        PATH.write_text(render(), encoding="utf-8")
        print(f"wrote {PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
