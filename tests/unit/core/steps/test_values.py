"""The non-collection values: ui_preferences, user_settings, favorites and recent items."""

from __future__ import annotations

from app.core.revisions import v3_0_0
from tests.unit.core.steps.support import (
    NOW,
    upgrade_value,
)


def test_ui_preferences_step():
    value, notes = upgrade_value("ui_preferences", {"sidebar_width": 300, "viewMode": "grid"})
    assert value == {"sidebarWidth": 300, "viewMode": "grid", "defaultFolderId": None, "expandedFolders": []}
    assert notes == []
    kept, _ = upgrade_value("ui_preferences", {"defaultFolderId": 5, "expandedFolders": [1, "a"]})
    assert kept == {"defaultFolderId": "5", "expandedFolders": ["1", "a"]}
    assert upgrade_value("ui_preferences", value) == (value, [])
    odd, notes = upgrade_value("ui_preferences", "compact")
    assert odd == "compact" and notes[0][0] == "unknown-shape"


def test_user_settings_performance_defaults_merge_under_user_values():
    value, _ = upgrade_value("user_settings", {"language": "en"})
    assert value == {"language": "en", "performance": dict(v3_0_0.PERFORMANCE_DEFAULTS)}
    value, _ = upgrade_value("user_settings", {"performance": {"cacheSize": 5, "other": 1}})
    assert value["performance"] == {
        "enableVirtualization": True,
        "enableLazyLoading": True,
        "cacheSize": 5,
        "other": 1,
    }
    assert upgrade_value("user_settings", value) == (value, [])
    odd, notes = upgrade_value("user_settings", {"performance": "fast"})
    assert odd == {"performance": "fast"} and notes[0][0] == "unknown-shape"


def test_favorites_and_recent_items_are_camelcased():
    value, _ = upgrade_value(
        "recent_items", [{"item_type": "template", "item_id": 17, "accessed_at": NOW}, "raw", {"itemId": "x"}]
    )
    assert value == [{"itemType": "template", "itemId": "17", "accessedAt": NOW}, "raw", {"itemId": "x"}]
    assert upgrade_value("recent_items", value) == (value, [])


def test_user_settings_are_camel_cased_and_keep_the_users_cache_size():
    value, _ = upgrade_value("user_settings",
        {"display_name": "Zoë", "performance": {"cache_size": 50, "enable_lazy_loading": False}}
    )
    assert value == {
        "displayName": "Zoë",
        "performance": {"enableVirtualization": True, "enableLazyLoading": False, "cacheSize": 50},
    }
    assert upgrade_value("user_settings", value)[0] == value
