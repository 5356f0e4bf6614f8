"""The one mapping of browser errors: every name, whatever the JavaScript type, in plain words."""

from __future__ import annotations

import pytest

from app.core import errors
from app.core.errors import (
    BROWSER_ERRORS,
    BROWSER_MESSAGES,
    QuotaExceeded,
    StorageError,
    TransientStorageError,
    WriteConflict,
    as_app_error,
    describe,
    from_js,
)

# What Pyodide makes of a thrown value that is not an Error with a stack (a DOMException from
# localStorage.setItem or IndexedDB): a new Error whose text only quotes the original.
PYODIDE_WRAP = (
    "A value of type object with tag [object DOMException] was thrown as an error!\n"
    'String interpolation of the thrown value gives """{name}: Failed to execute \'setItem\' on \'Storage\': '
    "Setting the value of 'airprompts_templates' exceeded the quota.\"\"\".\n"
    'The thrown value\'s toString method returns """{name}: ..."""'
)
INTERNALS = ("DOMException", "thrown as an error", "String interpolation", "Pyodide", "Traceback", "JsException")


class FakeJsError(Exception):
    """A JavaScript exception as Pyodide shows it: a ``name`` and a ``message`` attribute."""

    def __init__(self, name: str | None, message: str) -> None:
        super().__init__(message)
        if name is not None:
            self.name = name
        self.message = message


@pytest.mark.parametrize("name", sorted(BROWSER_ERRORS))
def test_every_browser_error_name_maps_by_its_name_and_by_pyodide_text(name):
    by_name = from_js(FakeJsError(name, "native text"))
    by_text = from_js(FakeJsError("Error", PYODIDE_WRAP.format(name=name)))
    assert type(by_name) is BROWSER_ERRORS[name] and type(by_text) is BROWSER_ERRORS[name]
    if BROWSER_ERRORS[name] is not WriteConflict:
        assert by_name.message == by_text.message == BROWSER_MESSAGES[name]
        assert by_text.details["browser_error"] == name
        assert not any(word in by_text.message for word in INTERNALS), by_text.message


def test_quota_reads_as_full_storage_and_timeout_is_retried():
    quota = from_js(FakeJsError(None, PYODIDE_WRAP.format(name="QuotaExceededError")))
    assert isinstance(quota, QuotaExceeded) and quota.name == "QuotaExceeded"
    assert quota.message.startswith("Browser storage is full: ")
    timeout = from_js(FakeJsError("Error", PYODIDE_WRAP.format(name="TimeoutError")))
    assert isinstance(timeout, TransientStorageError) and timeout.retryable


def test_an_unknown_js_error_is_a_plain_storage_error_and_python_errors_hide_their_text():
    unknown = from_js(FakeJsError("Error", "A value of type object with tag [object Object] was thrown"))
    assert type(unknown) is StorageError and not any(word in unknown.message for word in INTERNALS)
    assert as_app_error(KeyError("internal detail")) is None
    text = describe(KeyError("internal detail"))
    assert "KeyError" not in text and "internal detail" not in text and "logs" in text
    assert describe(QuotaExceeded("Browser storage is full")) == "Browser storage is full."


def test_every_mapped_name_has_a_message_and_no_message_names_a_type():
    assert set(BROWSER_MESSAGES) == set(BROWSER_ERRORS) - {"WriteConflict"}
    for message in (*BROWSER_MESSAGES.values(), errors.UNKNOWN_BROWSER_MESSAGE):
        assert message.endswith(".") and not any(word in message for word in INTERNALS)


def test_a_record_indexeddb_refuses_as_too_large_reads_as_that_and_is_not_retried():
    # Chromium's own text, as the storage bridge passes it on (measured: the 3.0.0 templates of
    # the benchmark's 100 000 records).
    text = "The serialized keys and/or value are too large (size=134303973 bytes, max=133169152 bytes)."
    for error in (FakeJsError("UnknownError", text), FakeJsError("Error", f"UnknownError: {text}")):
        found = from_js(error)
        assert isinstance(found, QuotaExceeded) and not getattr(found, "retryable", False)
        assert "too large for the browser to store as one IndexedDB record" in found.message
        assert "134.3 MB" in found.message and "133.2 MB" in found.message and "Delete or export" in found.message
        assert found.needed == 134303973 and found.available == 133169152
        assert not any(word in found.message for word in INTERNALS)
    # Without figures it still says what happened; any other UnknownError stays a transient one.
    assert "IndexedDB record." in from_js(FakeJsError("DataError", "Value too large")).message
    assert type(from_js(FakeJsError("UnknownError", "Internal error opening backing store"))) is TransientStorageError
