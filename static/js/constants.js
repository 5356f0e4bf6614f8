// Generated from app/core/keys.py and app/core/revisions by `python -m app.core.jsconstants`:
// do not edit by hand (a unit test fails when this file is stale).
export const TARGET_VERSION = "3.0.0";
export const VERSIONS = Object.freeze(["legacy", "1.0.0", "2.0.0", "3.0.0"]);
export const COLLECTIONS = Object.freeze(["templates", "workflows", "snippets", "folders"]);
export const VALUES = Object.freeze(["tags", "favorites", "recent_items", "ui_preferences", "user_settings", "theme_preference"]);
export const PREFIX = "airprompts_";
export const SCHEMA_VERSION_KEY = "airprompts_schema_version";
export const PENDING_FLAG = "airprompts_migrate_pending";
export const DATA_VERSION_KEY = "airprompts_data_version";
export const APP_DB = "AirPromptsDB";
export const APP_STORE = "storage";
export const LEGACY_KEYS = Object.freeze({"templates": "airprompts_templates", "workflows": "airprompts_workflows", "snippets": "airprompts_snippets", "folders": "airprompts_folders", "tags": "airprompts_tags", "favorites": "airprompts_favorites", "recent_items": "airprompts_recent_items", "user_settings": "airprompts_user_settings", "airprompts-templates": "airprompts_templates", "airprompts-workflows": "airprompts_workflows", "airprompts-snippets": "airprompts_snippets", "ui-prefs": "airprompts_ui_preferences", "theme": "airprompts_theme_preference"});
export const LEGACY_PREFIX = "ap_";
