"""The field operations of data.md section 3, which the schema version modules compose.

``app.core.revisions`` runs them: each version's ``upgrade`` is a few of these
calls. They are idempotent. ``rename_fields`` returns a new dict; the others
change the dict they are given, which the caller owns (a fresh shallow copy of
the stored record: the original is what gets quarantined when a later check
fails), and return it. Nested values are shared with the input unless an
operation changes them, so a record costs one shallow copy, not a deep one.
Repairs are reported as ``(code, message)`` notes; ``app.core.transform`` turns
them into issues.

One module per noun, each importing only leaves of app/core and the modules above it:

- ``base``: the note, RecordError, require_object, same_value, legacyFields;
- ``names``: camelCase names and renamed objects;
- ``workflow``: workflow step objects and id lists;
- ``folders``: folderId, folderIds and tags, a folder's parent_id and sort_order;
- ``record``: rename_fields, stringify_ids, add_context;
- ``stamps``: fill_timestamps, add_metadata;
- ``values``: the non-collection values.
"""

from app.core.steps.base import LEGACY_FIELDS, Note, RecordError, require_object, same_value
from app.core.steps.folders import FOLDER_PAIRS, add_folder_fields
from app.core.steps.names import PLAN_LIMIT, camel_name, has_snake_field
from app.core.steps.record import add_context, rename_fields, stringify_ids
from app.core.steps.stamps import add_metadata, fill_timestamps
from app.core.steps.values import ITEM_REFS, camel_object, merge_defaults, upgrade_items, upgrade_ui_preferences
from app.core.steps.workflow import STEP_TEMPLATE_REFS, TEMPLATE_STEP

__all__ = [
    "FOLDER_PAIRS",
    "ITEM_REFS",
    "LEGACY_FIELDS",
    "PLAN_LIMIT",
    "STEP_TEMPLATE_REFS",
    "TEMPLATE_STEP",
    "Note",
    "RecordError",
    "add_context",
    "add_folder_fields",
    "add_metadata",
    "camel_name",
    "camel_object",
    "fill_timestamps",
    "has_snake_field",
    "merge_defaults",
    "rename_fields",
    "require_object",
    "same_value",
    "stringify_ids",
    "upgrade_items",
    "upgrade_ui_preferences",
]
