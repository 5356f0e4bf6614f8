"""legacyFields keeps every value, and a record no step can repair raises RecordError."""

from __future__ import annotations

import pytest

from app.core import steps
from app.core.steps import RecordError
from tests.unit.core.steps.support import (
    up,
)


def test_equal_looking_values_of_other_types_are_not_the_same():
    rec = steps.rename_fields("templates", {"is_favorite": 1, "favorite": True, "a_b": 1.0, "aB": 1})
    assert rec["favorite"] is True and rec["aB"] == 1
    assert rec["legacyFields"] == {"is_favorite": 1, "a_b": 1.0}


def test_existing_legacy_fields_are_merged_not_replaced():
    rec = steps.rename_fields("templates", {"legacyFields": {"old": 1}, "name_x": "a", "nameX": "b"})
    assert rec["legacyFields"] == {"old": 1, "name_x": "a"}


def test_conflicting_legacy_fields_are_unrepairable():
    with pytest.raises(RecordError):
        steps.rename_fields("templates", {"legacyFields": {"name_x": "z"}, "name_x": "a", "nameX": "b"})
    with pytest.raises(RecordError):
        steps.rename_fields("templates", {"legacyFields": "text", "name_x": "a", "nameX": "b"})


def test_non_object_record_is_unrepairable():
    with pytest.raises(RecordError) as info:
        up("templates", ["not", "a", "record"])
    assert info.value.code == "not-an-object"
