"""How text crosses the browser bridge (app/storage/browser.py) and how localStorage counts it."""

from __future__ import annotations

import pytest

from app.storage.base import utf16_len
from app.storage.browser import TEXT_BYTES_MIN, js_text

LONG = (
    "R\u00e9sum\u00e9 \u201cquoted\u201d \u2014 \u8bf7\u7528 \u0644\u062e\u0651\u0635 \u05e9\u05dc\u05d5\u05dd \U0001f680\r\n"
    * 100
)


@pytest.mark.parametrize(
    "text",
    [LONG, "\ufeff" + LONG, LONG + "\x00", "\U0001f469\u200d\U0001f4bb" * TEXT_BYTES_MIN],
    ids=["multilingual", "bom-first", "nul-last", "astral-only"],
)
def test_long_non_ascii_text_crosses_as_its_utf8_bytes(text):
    crossed = js_text(text)
    assert isinstance(crossed, bytes)
    assert crossed.decode("utf-8") == text


@pytest.mark.parametrize(
    "text",
    ["plain words\r\n" * TEXT_BYTES_MIN, LONG[: TEXT_BYTES_MIN - 1], "", LONG + "\ud83d", "\udc00" + LONG, None, 7],
    ids=["ascii", "short", "empty", "lone-high", "lone-low", "none", "not-text"],
)
def test_other_values_cross_unchanged(text):
    # ASCII and short strings take Pyodide's own conversion; UTF-8 cannot hold a lone surrogate.
    assert js_text(text) is text


@pytest.mark.parametrize(
    ("text", "units"),
    [("", 0), ("abc", 3), ("\u00e9\u4e2d", 2), ("\U0001f600", 2), ("a\ud83d", 2), ("\udc00\ud800", 2), ("\r\n\x00", 3)],
)
def test_utf16_len_counts_units_as_javascript_does(text, units):
    assert utf16_len(text) == units


@pytest.mark.parametrize(
    "text",
    ["", "plain", LONG, "\U0001f469\u200d\U0001f469\u200d\U0001f467", "\u00e9\u4e2d\U0001f600\U000e0067\r\n", "\U0010ffff"],
    ids=["empty", "ascii", "multilingual", "zwj", "every-width", "last-code-point"],
)
def test_utf16_len_of_utf8_bytes_is_that_of_their_text(text):
    # A migrated collection is counted against localStorage's quota from its UTF-8 bytes.
    assert utf16_len(text.encode("utf-8")) == utf16_len(text) == len(text.encode("utf-16-le")) // 2


def test_utf8_bytes_cross_as_they_are():
    data = LONG.encode("utf-8")
    assert js_text(data) is data
