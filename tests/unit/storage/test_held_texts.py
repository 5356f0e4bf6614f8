"""BrowserStorage names the texts the JS bridge holds by token, and sends the text when one went stale.

The bridge here is a small Python stand-in for static/js/storage.js's localStorage half
(its hold/token rules), so the Python side runs under CPython; the bridge itself is
tested in Chromium (tests/e2e/test_worker.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import json

import pytest

from app.core.jsonstream import MalformedJSON
from app.storage import browser
from app.storage.browser import HELD_MIN, BrowserStorage, count_json_array

TEXT = "R\u00e9sum\u00e9 \u201cquoted\u201d \u2014 \u8bf7\u7528 \u0644\u062e\u0651\u0635 \U0001f680\r\n" * 60
RECORDS = '[{"id": 1, "name": "Zo\u00eb \u674e"}, {"id": 2, "content": "' + "\u4e2d\u6587 " * 400 + '"}]'
RECORD = '{"key":"templates","value":' + RECORDS + ',"timestamp":1}'


class Found(list):
    """A JS array as Pyodide hands it to Python."""

    def to_py(self):
        return [list(item) if isinstance(item, list) else item for item in self]


class StaleText(Exception):
    name = "StaleText"


class FakeBridge:
    """localStorage plus storage.js's held texts (one per key, by token, good for its own key only), answering at once."""

    def __init__(self, local: dict[str, str]) -> None:
        self.local = dict(local)
        self.app = {"templates": RECORD}
        self.held: dict[int, tuple[str, str]] = {}
        self.held_at: dict[str, int] = {}
        self.last = 0
        self.sent: list[object] = []  # every text argument, as it crossed
        self.crossed: list[str] = []  # the keys whose text a read sent to Python

    def hold(self, key: str, text: str | None) -> int:
        old = self.held_at.pop(key, None)
        if old is not None:
            del self.held[old]
        if text is None:
            return 0
        self.last += 1
        self.held[self.last] = (key, text)
        self.held_at[key] = self.last
        return self.last

    def text_of(self, value, key):
        self.sent.append(value)
        if isinstance(value, int):
            if value not in self.held or self.held[value][0] != key:
                raise StaleText(f"StaleText: the bridge no longer holds text {value}")
            return self.held[value][1]
        return value.decode("utf-8") if isinstance(value, bytes) else value

    def localGet(self, keys, known=None):
        # As storage.js: a key still holding the text held under the token sent answers False
        # (STILL_HELD) with that token; every other text crosses (and is counted in self.crossed).
        values, tokens = [], []
        for key, token in zip(keys, known or [0] * len(keys), strict=True):
            text = self.local.get(key)
            if token and text is not None and self.held.get(token) == (key, text):
                values.append(False)
                tokens.append(token)
                continue
            if text is not None:
                self.crossed.append(key)
            values.append(text)
            tokens.append(self.hold(key, text))
        return Found([values, tokens])

    def localChanged(self, keys, values):
        texts = [self.text_of(v, k) for k, v in zip(keys, values, strict=True)]
        return Found(k for k, t in zip(keys, texts, strict=True) if self.local.get(k) != t)

    def localWrite(self, set_keys, set_values, remove, expect_keys, expect_values):
        values = [self.text_of(v, k) for k, v in zip(set_keys, set_values, strict=True)]
        expected = [self.text_of(v, k) for k, v in zip(expect_keys, expect_values, strict=True)]
        changed = [k for k, e in zip(expect_keys, expected, strict=True) if self.local.get(k) != e]
        if changed:
            raise type("WriteConflict", (Exception,), {"name": "WriteConflict"})(f"WriteConflict: {changed}")
        for key in remove:
            self.local.pop(key, None)
        self.local.update(zip(set_keys, values, strict=True))
        for key in remove:
            self.hold(key, None)
        return Found(self.hold(k, v) for k, v in zip(set_keys, values, strict=True))

    def textDigests(self, areas, keys, tokens):
        # As storage.js: the SHA-256 taken of a text sent as bytes, for a token held for its key.
        self.digests_asked = list(zip(areas, keys, tokens, strict=True))
        found = []
        for area, key, token in self.digests_asked:
            held = self.held.get(token)
            ok = area == "local" and held is not None and held[0] == key and len(held[1]) >= HELD_MIN
            found.append(hashlib.sha256(held[1].encode()).hexdigest() if ok else None)
        return Found(found)

    counted = 0

    def countArray(self, value, member=None):
        self.counted += 1
        if isinstance(value, int):
            self.sent.append(value)
            text = self.held.get(value, (None, None))[1]
            if text is None:
                return -1
        else:
            text = self.text_of(value, None)
        if member is not None:
            return len(json.loads(text)[member]) if text == RECORD else -1
        return RECORDS.count('"id"') if text == RECORDS else -1

    def appGet(self, keys, known=None):
        # As storage.js: each record's value count, taken from the object it read (and, like a
        # bridge that never finds a record unchanged, every text sent whatever `known` names).
        texts = [self.app.get(k) for k in keys]
        counts = [len(json.loads(t)["value"]) if t is not None else -1 for t in texts]
        return Found([texts, [self.hold("app:" + k, t) for k, t in zip(keys, texts, strict=True)], counts])


@pytest.fixture
def bridge(monkeypatch):
    monkeypatch.setattr(browser, "_HELD", {})
    monkeypatch.setattr(browser, "_COUNTED", {})
    fake = FakeBridge({"airprompts_templates": TEXT, "airprompts_snippets": RECORDS, "theme": "dark"})
    monkeypatch.setattr(browser, "js", type("js", (), {"airpromptsStorage": fake}))
    return fake


def run(coroutine):
    return asyncio.run(coroutine)


def test_a_text_read_goes_back_as_its_token(bridge):
    storage = BrowserStorage(bridge)
    got = run(storage.local_get(["airprompts_templates", "theme", "missing"]))
    assert got == {"airprompts_templates": TEXT, "theme": "dark", "missing": None}
    bridge.sent.clear()
    assert run(storage.local_changed({"airprompts_templates": got["airprompts_templates"], "theme": "dark"})) == []
    # The long text went back as its token; the short one, cheaper to send, as itself.
    assert bridge.sent == [1, "dark"]
    # An equal text, not the same object, is named by the token too.
    bridge.sent.clear()
    assert run(storage.local_changed({"airprompts_templates": "".join(list(TEXT))})) == []
    assert bridge.sent == [1]


def test_a_guarded_write_names_the_text_it_read_and_the_verification_the_text_it_wrote(bridge):
    storage = BrowserStorage(bridge)
    before = run(storage.local_get(["airprompts_templates"]))["airprompts_templates"]
    new = TEXT.replace("R\u00e9sum\u00e9", "Zusammenfassung \u00e4\u00f6\u00fc")
    bridge.sent.clear()
    run(storage.local_write({"airprompts_templates": new}, expect={"airprompts_templates": before}))
    assert bridge.sent[0] == new.encode("utf-8") and bridge.sent[1] == 1  # the new text crosses, the old is named
    assert bridge.local["airprompts_templates"] == new
    bridge.sent.clear()
    assert run(storage.local_changed({"airprompts_templates": new})) == []
    assert bridge.sent == [2]
    # The text read before the write is no longer held: it crosses again, and differs.
    bridge.sent.clear()
    assert run(storage.local_changed({"airprompts_templates": before})) == ["airprompts_templates"]
    assert bridge.sent == [before.encode("utf-8")]


def test_a_stale_token_is_refused_and_the_text_sent_instead(bridge):
    storage = BrowserStorage(bridge)
    before = run(storage.local_get(["airprompts_templates"]))["airprompts_templates"]
    # The bridge read the key again for someone else: token 1 is gone, Python still holds it.
    bridge.localGet(["airprompts_templates"])
    bridge.sent.clear()
    run(storage.local_write({"theme": "light"}, expect={"airprompts_templates": before}))
    assert bridge.sent == ["light", 1, "light", before.encode("utf-8")]
    assert bridge.local["theme"] == "light"
    # A guard on a changed value still fails, token or text.
    bridge.local["airprompts_templates"] = "edited in another tab"
    with pytest.raises(Exception, match="WriteConflict"):
        run(storage.local_write({"theme": "dark"}, expect={"airprompts_templates": before}))
    assert bridge.local["theme"] == "light"


def test_a_removed_key_drops_its_held_text(bridge):
    storage = BrowserStorage(bridge)
    before = run(storage.local_get(["airprompts_templates"]))["airprompts_templates"]
    run(storage.local_write({}, remove=["airprompts_templates"]))
    assert ("local", "airprompts_templates") not in browser._HELD
    bridge.sent.clear()
    assert run(storage.local_changed({"airprompts_templates": before})) == ["airprompts_templates"]
    assert bridge.sent == [before.encode("utf-8")]


def test_the_record_count_names_the_text_read_by_its_token(bridge):
    storage = BrowserStorage(bridge)
    text = run(storage.local_get(["airprompts_snippets"]))["airprompts_snippets"]
    assert len(text) >= HELD_MIN
    bridge.sent.clear()
    assert count_json_array(text) == 2
    assert bridge.sent == [1]
    # A text the bridge does not hold (another object) crosses itself; Python counts what JS refuses.
    bridge.sent.clear()
    copy = "".join(list(text))
    assert count_json_array(copy) == 2 and bridge.sent == [copy.encode("utf-8")]
    # What the browser does not count (this stand-in counts RECORDS only), Python counts.
    assert count_json_array('[1, {"a": [2]}, "\u00e9"]') == 3


def test_an_airpromptsdb_record_is_counted_as_the_bridge_read_it(bridge):
    # The bridge counts a record's value array from the object IndexedDB returned: no JSON.parse at all.
    storage = BrowserStorage(bridge)
    text = run(storage.app_get(["templates"]))["templates"]
    bridge.counted = 0
    assert count_json_array(text, "value") == 2 and bridge.counted == 0
    # The same text's count as an array is another question, which the bridge answers by parsing it
    # (by its token, then sent, as for a token gone stale) and Python then explains.
    with pytest.raises(MalformedJSON):
        count_json_array(text)
    assert bridge.counted == 2
    # Read again, the record's new token carries the count the new read took.
    bridge.app["templates"] = RECORD.replace(',"timestamp":1}', ',"timestamp":2}')
    again = run(storage.app_get(["templates"]))["templates"]
    assert count_json_array(again, "value") == 2 and bridge.counted == 2
    assert 1 not in browser._COUNTED  # the first read's counts went with its token


def test_a_held_text_is_counted_once_until_it_is_read_again(bridge):
    # The plan counts each collection, and the backup of the same run counts the same texts.
    storage = BrowserStorage(bridge)
    text = run(storage.local_get(["airprompts_snippets"]))["airprompts_snippets"]
    bridge.counted = 0
    assert [count_json_array(text) for _ in range(3)] == [2, 2, 2]
    assert bridge.counted == 1
    # Read again unchanged, it is still the text held under its token: its count stands.
    assert run(storage.local_get(["airprompts_snippets"]))["airprompts_snippets"] is text
    assert count_json_array(text) == 2 and bridge.counted == 1
    # Changed, it is held under a new token and counted again.
    bridge.local["airprompts_snippets"] = RECORDS.replace("Zo\u00eb", "Zo\u00e9")
    again = run(storage.local_get(["airprompts_snippets"]))["airprompts_snippets"]
    assert again == bridge.local["airprompts_snippets"]
    assert count_json_array(again) == 2 and bridge.counted > 1  # counted anew (Python counts what this stand-in does not)
    counted = bridge.counted
    assert count_json_array(again) == 2 and bridge.counted == counted


def test_a_text_read_again_unchanged_does_not_cross_again(bridge):
    storage = BrowserStorage(bridge)
    keys = ["airprompts_templates", "airprompts_snippets", "theme", "missing"]
    first = run(storage.local_get(keys))
    assert bridge.crossed == ["airprompts_templates", "airprompts_snippets", "theme"]
    bridge.crossed.clear()
    bridge.local["theme"] = "light"
    again = run(storage.local_get(keys))
    # The unchanged texts are the very ones held; the changed one crosses, and a key gone reads None.
    assert again == {**first, "theme": "light"}
    assert again["airprompts_templates"] is first["airprompts_templates"]
    assert bridge.crossed == ["theme"]
    # Changed to the same length, one character deep in the text: it crosses.
    bridge.crossed.clear()
    edited = TEXT[:500] + "X" + TEXT[501:]
    bridge.local["airprompts_templates"] = edited
    assert run(storage.local_get(keys))["airprompts_templates"] == edited
    assert bridge.crossed == ["airprompts_templates"]


def test_a_still_held_answer_for_a_token_not_held_here_reads_every_text_again(bridge):
    storage = BrowserStorage(bridge)
    run(storage.local_get(["airprompts_templates", "theme"]))
    original = bridge.localGet

    def answers_another_token(keys, known=None):
        found = original(keys, known)
        if found[0][0] is False:
            found[1][0] = 99  # "still the text of token 99", which Python never held for this key
        return found

    bridge.localGet = answers_another_token
    bridge.crossed.clear()
    got = run(storage.local_get(["airprompts_templates", "theme"]))
    assert got == {"airprompts_templates": TEXT, "theme": "dark"}
    assert bridge.crossed == ["airprompts_templates", "theme"]  # read again, every text sent


def test_a_text_held_as_the_bytes_a_switch_wrote_is_read_as_a_text(bridge):
    # Python holds what it wrote; the bytes of a switch are no str a read may answer with.
    storage = BrowserStorage(bridge)
    run(storage.local_write({"airprompts_templates": TEXT.encode("utf-8")}))
    assert isinstance(browser._HELD[("local", "airprompts_templates")][1], bytes)
    bridge.crossed.clear()
    got = run(storage.local_get(["airprompts_templates"]))["airprompts_templates"]
    assert got == TEXT and isinstance(got, str)
    assert bridge.crossed == ["airprompts_templates"]


def test_the_digests_the_bridge_took_are_asked_for_the_texts_python_holds_as_read(bridge):
    storage = BrowserStorage(bridge)
    got = run(storage.local_get(["airprompts_templates", "airprompts_snippets", "theme"]))
    copy = "".join(list(got["airprompts_snippets"]))  # equal, but not the text read
    texts = {("local", "airprompts_templates"): got["airprompts_templates"], ("local", "airprompts_snippets"): copy,
             ("local", "theme"): got["theme"], ("local", "missing"): "x"}
    digests = run(storage.text_digests(texts))
    # Only the texts Python holds as the bridge sent them are asked for, by their tokens; the
    # bridge answers for those it hashed (a short text, sent as itself, it did not).
    assert bridge.digests_asked == [("local", "airprompts_templates", 1), ("local", "theme", 3)]
    assert digests == {("local", "airprompts_templates"): hashlib.sha256(TEXT.encode()).digest()}
    assert run(storage.text_digests({("local", "missing"): "x"})) == {}
