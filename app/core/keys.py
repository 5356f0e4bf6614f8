"""Storage keys of the AirPrompts app: which belong to it and where legacy keys move."""

from __future__ import annotations

import logging

_log = logging.getLogger(__name__)

COLLECTIONS = ("templates", "workflows", "snippets", "folders")
# Managed values that are not record collections, by short name.
VALUES = ("tags", "favorites", "recent_items", "ui_preferences", "user_settings", "theme_preference")

PREFIX = "airprompts_"
SCHEMA_VERSION_KEY = "airprompts_schema_version"
DATA_VERSION_KEY = "airprompts_data_version"
# Set by the migration service while its journal exists (static/js/loader.js reads it: the journal
# lives in IndexedDB, which a page cannot read synchronously). Not app data: never backed up.
PENDING_FLAG = "airprompts_migrate_pending"
# Where a collection lives in IndexedDB: database, object store (keyPath "key").
APP_DB = "AirPromptsDB"
APP_STORE = "storage"
APP_SOURCE_PREFIX = APP_DB + ":"

MANAGED_KEYS = frozenset(PREFIX + name for name in (*COLLECTIONS, *VALUES, "schema_version"))
# Short names that may be records of AirPromptsDB/storage.
APP_DB_NAMES = (*COLLECTIONS, *VALUES)

# Unprefixed legacy names (data.md section 1, first row of the legacy table).
LEGACY_PREFIX = "ap_"
_DASHED_PREFIX = "airprompts-"
# Among several legacy spellings of one key, the later form is the more recent one.
LEGACY_FORMS = ("bare", "ap", "dashed")
_BARE_LEGACY = (*COLLECTIONS, "tags", "favorites", "recent_items", "user_settings")
_DASHED_LEGACY = ("templates", "workflows", "snippets")

LEGACY_KEYS: dict[str, str] = {name: PREFIX + name for name in _BARE_LEGACY}
LEGACY_KEYS.update({_DASHED_PREFIX + name: PREFIX + name for name in _DASHED_LEGACY})
LEGACY_KEYS.update({"ui-prefs": PREFIX + "ui_preferences", "theme": PREFIX + "theme_preference"})

_NAMED_KEYS = frozenset({"theme-storage", "theme-storage-v2", "todoSidebarCollapsed"})
# "context-height-" also covers "context-height-mode-".
_NAMED_PREFIXES = ("airprompts", "section-height-", "context-height-")
_LEFTOVER_SUFFIXES = ("_backup", "_temp")


def collection_key(kind: str) -> str:
    """Return the localStorage key of collection ``kind``."""
    return PREFIX + kind


def app_source(name: str) -> str:
    """Return the source key naming record ``name`` of AirPromptsDB/storage."""
    return APP_SOURCE_PREFIX + name


def short_name(key: str) -> str:
    """Return ``key`` without its ``airprompts_`` or ``AirPromptsDB:`` prefix."""
    for prefix in (PREFIX, APP_SOURCE_PREFIX):
        if key.startswith(prefix):
            return key[len(prefix) :]
    return key


def legacy_target(key: str) -> str | None:
    """Return the key a legacy key moves to, or None when ``key`` is not a legacy key."""
    target = LEGACY_KEYS.get(key)
    if target is not None:
        return target
    # Any ap_<name> moves, as data.md's table says, not only the managed names.
    if key.startswith(LEGACY_PREFIX) and len(key) > len(LEGACY_PREFIX):
        return PREFIX + key[len(LEGACY_PREFIX) :]
    return None


def legacy_form(key: str) -> str:
    """Return which spelling of a legacy key ``key`` is: "bare", "ap" or "dashed" (one of LEGACY_FORMS)."""
    return "dashed" if key.startswith(_DASHED_PREFIX) else "ap" if key.startswith(LEGACY_PREFIX) else "bare"


def legacy_sources(target: str) -> list[str]:
    """Return the legacy keys whose value moves to ``target``, in the order of LEGACY_FORMS."""
    found = [key for key, moved in LEGACY_KEYS.items() if moved == target]
    if target.startswith(PREFIX) and len(target) > len(PREFIX):
        ap_key = LEGACY_PREFIX + target[len(PREFIX) :]
        if ap_key not in found:
            found.append(ap_key)
    return sorted(found, key=lambda key: LEGACY_FORMS.index(legacy_form(key)))


def is_leftover(key: str) -> bool:
    """Return whether ``key`` is a leftover copy of a legacy key, such as ``templates_backup``."""
    for suffix in _LEFTOVER_SUFFIXES:
        if key.endswith(suffix) and legacy_target(key[: -len(suffix)]) is not None:
            return True
    return False


def is_app_key(key: str) -> bool:
    """Return whether localStorage ``key`` belongs to the AirPrompts app."""
    if key == PENDING_FLAG:
        return False
    return key.startswith(_NAMED_PREFIXES) or key in _NAMED_KEYS or legacy_target(key) is not None or is_leftover(key)


def is_managed(key: str) -> bool:
    """Return whether the migration transforms the value under ``key``."""
    return key in MANAGED_KEYS
