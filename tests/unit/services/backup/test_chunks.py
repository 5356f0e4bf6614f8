"""The plain chunk format: cut into chunk texts and read back, pure."""

from __future__ import annotations

import hashlib
import json

import pytest

from app.core import digest
from app.core.errors import BackupCorrupted
from app.services.backup import chunks
from app.storage.base import char_len

STATE = {
    "local": {
        "airprompts_templates": '[{"id":"t1","name":"Résumé “court”","content":"emoji 🎉👩‍💻\\r\\nRTL ‏שלום‏"}]',
        "theme-storage": '{ "theme" :  "light" }',
        "templates_backup": "not json at all, kept raw   ",
    },
    "app": {"workflows": '{"key":"workflows","value":[{"id":"w1","note":"  spaced  "}],"timestamp":1}'},
}


def _read_back(texts: list[str]) -> chunks.Changes:
    changes, pieces = chunks.empty(), {}
    for text in texts:
        chunks.collect(json.loads(text), changes, pieces)
    for (area, key), parts in pieces.items():
        assert None not in parts
        changes[area][key] = "".join(parts)
    return changes


@pytest.mark.parametrize("chunk_chars", [64, 200, 256 * 1024])
def test_chunk_texts_read_back_to_the_same_values_and_stay_near_the_limit(chunk_chars):
    big = dict(STATE, local={**STATE["local"], "airprompts_snippets": "“x” 🎉 " * 400})
    texts = list(chunks.chunk_texts(chunks.everything(big), chunk_chars))
    assert _read_back(texts) == chunks.everything(big)
    assert all(isinstance(text, bytes) for text in texts)  # hashed and stored as they are
    assert all(char_len(text) <= max(chunk_chars, 16 + 128) * 2 for text in texts)
    if chunk_chars == 64:
        assert len(texts) > 10


def test_an_empty_change_set_is_one_empty_chunk():
    assert list(chunks.chunk_texts(chunks.empty(), 64)) == [b"[]"]


def test_a_lone_surrogate_survives_the_chunk_bytes():
    # localStorage may hold one; UTF-8 cannot, so the entry's JSON escapes it.
    state = {"local": {"odd": "half \ud83d of an emoji", "low": "\udc00" * 300}, "app": {}}
    texts = list(chunks.chunk_texts(chunks.everything(state), 64))
    assert _read_back(texts) == chunks.everything(state)


def test_char_len_counts_the_characters_of_utf8():
    for text in ["", "ascii", "Résumé “court” — 中文 🎉👩‍💻\r\n", "\U0010ffff"]:
        assert char_len(text.encode("utf-8")) == len(text)


def test_changes_since_names_new_changed_and_deleted_keys_only():
    base = chunks.everything(STATE)
    current = chunks.everything(STATE)
    current["local"]["theme-storage"] = '{"theme":"dark"}'
    del current["local"]["templates_backup"]
    current["app"]["folders"] = '{"key":"folders","value":[]}'
    changes = chunks.changes_since(base, current)
    assert changes == {
        "local": {"theme-storage": '{"theme":"dark"}', "templates_backup": None},
        "app": {"folders": '{"key":"folders","value":[]}'},
    }
    chunks.apply_changes(base, changes)
    assert base == current


@pytest.mark.parametrize(
    "entries",
    [
        [{"area": "session", "key": "k", "value": "v"}],
        [{"area": "local", "key": 3, "value": "v"}],
        [{"area": "local", "key": "k", "value": 3}],
        [{"area": "local", "key": "k", "value": "v", "part": 2, "parts": 2}],
        "not a list",
    ],
)
def test_invalid_entries_are_corruption(entries):
    with pytest.raises(BackupCorrupted):
        chunks.check_entries(entries)


def test_utf8_len_counts_bytes_and_a_lone_surrogate(monkeypatch):
    assert chunks.utf8_len("é🎉") == 2 + 4
    assert chunks.utf8_len("\ud800") == 3
    # A long text is measured a slice at a time, whatever the slices cut through.
    text = "naïve “quote” 👩‍💻\r\n\ud800\udc00 中文 abc" * 50
    for size in (1, 2, 7, 64, 1 << 20):
        monkeypatch.setattr(digest, "UTF8_SLICE", size)
        assert chunks.utf8_len(text) == len(text.encode("utf-8", "surrogatepass")), size
        assert b"".join(digest.utf8_slices(text)) == text.encode("utf-8", "surrogatepass"), size
        assert chunks.utf8_len("ascii only " * 40) == 440
        # Hashed the same way: the SHA-256 of the whole UTF-8, for a str as for its bytes.
        whole = hashlib.sha256(text.encode("utf-8", "surrogatepass"))
        assert digest.sha256_of(text) == whole.digest(), size
        assert digest.sha256_hex(text) == digest.sha256_hex(text.encode("utf-8", "surrogatepass")) == whole.hexdigest()
