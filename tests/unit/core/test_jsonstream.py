"""Incremental JSON arrays give exactly what json.loads gives, and write compact text back."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.errors import InvalidInput
from app.core.jsonstream import (
    MAX_DEPTH,
    ArrayWriter,
    MalformedJSON,
    RawNumber,
    count_array,
    dumps,
    dumps_utf8,
    iter_array_batches,
    loads,
    member_at,
    members_after,
    nesting_depth,
)

json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(),
    ),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=12,
)
WS = st.text(alphabet=" \t\n\r", max_size=4)


def flatten(text, size):
    batches = list(iter_array_batches(text, size))
    assert all(1 <= len(batch) <= size for batch in batches)
    return [item for batch in batches for item in batch]


@given(st.lists(json_values, max_size=12), st.integers(1, 5))
def test_compact_arrays_equal_json_loads(values, size):
    text = json.dumps(values)
    assert flatten(text, size) == json.loads(text)


@given(st.lists(json_values, max_size=8), st.integers(1, 4), st.data())
def test_whitespace_heavy_arrays_equal_json_loads(values, size, data):
    pieces = [json.dumps(value, indent=data.draw(st.sampled_from([None, 2]))) for value in values]
    text = data.draw(WS) + "[" + data.draw(WS)
    text += "".join(
        piece + data.draw(WS) + ("," + data.draw(WS) if i < len(pieces) - 1 else "") for i, piece in enumerate(pieces)
    )
    text += "]" + data.draw(WS)
    assert flatten(text, size) == json.loads(text)


def test_blank_lines_inside_arrays_like_the_backup_fixture():
    text = '[\n    \n    {\n      "a": 1\n    }\n  ,\n\n  2 ]\n'
    assert flatten(text, 1) == json.loads(text) == [{"a": 1}, 2]
    assert flatten("[\n\n]", 3) == [] and flatten(" [] ", 1) == []


@pytest.mark.parametrize("text", ["", "[1,]", "[1 2]", "[1", "[", "[1]x", "[,1]", '["a]', "\ufeff[1]", "[1]]", "[01]"])
def test_malformed_text_raises_a_clear_error(text):
    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(MalformedJSON) as info:
        list(iter_array_batches(text, 10))
    assert isinstance(info.value, InvalidInput)
    assert info.value.position >= 0 and "character" in info.value.message


def test_valid_json_that_is_not_an_array_is_refused():
    with pytest.raises(MalformedJSON, match="expected a JSON array"):
        list(iter_array_batches('{"a": [1]}', 10))


def test_batch_size_must_be_positive():
    with pytest.raises(ValueError):
        list(iter_array_batches("[1]", 0))


@given(st.lists(json_values, max_size=10), st.integers(1, 4))
def test_writer_output_is_compact_and_parses_back(values, size):
    writer = ArrayWriter()
    for start in range(0, len(values), size):
        writer.extend(values[start : start + size])
    text = writer.finish()
    assert json.loads(text) == values
    assert text == json.dumps(values, ensure_ascii=False, separators=(",", ":")) or "\\u" in text
    assert len(writer) == len(values)


def test_writer_keeps_non_ascii_and_escapes_lone_surrogates_like_json_stringify():
    writer = ArrayWriter()
    writer.add({"content": "é中😀\u202e\u2028", "odd": "a\ud800b"})
    text = writer.finish()
    assert text == '[{"content":"é中😀\u202e\u2028","odd":"a\\ud800b"}]'
    assert json.loads(text) == [{"content": "é中😀\u202e\u2028", "odd": "a\ud800b"}]
    text.encode("utf-8")  # survives the conversion to a JavaScript string
    assert dumps([1.5, -1, "x"]) == '[1.5,-1,"x"]'


def _depth(value) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


@given(json_values)
def test_nesting_depth_is_the_depth_of_the_parsed_value(value):
    text = json.dumps(value, ensure_ascii=False)
    assert nesting_depth(text) == _depth(value)


def test_nesting_depth_skips_brackets_and_escaped_quotes_inside_strings():
    text = '[{"a":"}}]] \\" [[[{ \\\\","b":[["\\\\\\"]"]]}]'
    assert json.loads(text)  # valid JSON
    assert nesting_depth(text) == 4
    assert nesting_depth('"[[["') == 0 and nesting_depth("42") == 0


@pytest.mark.parametrize("kind", ["objects", "arrays"])
def test_nesting_deeper_than_the_limit_is_refused_before_python_parses_it(kind):
    def nest(levels: int) -> str:
        inner = '{"d":' * levels + '"\u00e9"' + "}" * levels if kind == "objects" else "[" * levels + "]" * levels
        return f'[{{"id":"t1","name":"tief \U0001f333","deep":{inner}}}]'

    ok = nest(MAX_DEPTH - 2)  # the array and the record are two levels
    assert nesting_depth(ok) == MAX_DEPTH and count_array(ok) == 1 and len(loads(ok)) == 1
    deep = nest(MAX_DEPTH - 1)
    with pytest.raises(MalformedJSON, match="nested too deeply"):
        count_array(deep)
    with pytest.raises(ValueError, match="nested too deeply"):
        loads(deep)
    # Far deeper than Python's own parser reaches: refused the same way, never a RecursionError.
    with pytest.raises(MalformedJSON):
        count_array(nest(20_000))


def test_a_record_is_counted_by_its_member_array_and_refused_as_json_parse_would():
    record = '{"key":"templates","value":[{"id":"t1","content":"Gr\u00fc\u00dfe \u201cq\u201d 🚀\\r\\n"},null,[]],"timestamp":1}'
    assert count_array(record, "value") == 3
    assert count_array('{"key":"x","value":[]}', "value") == 0
    for text in ('{"key":"x","value":{"a":1}}', '{"key":"x"}', '[1,2]', '{"value":[NaN]}', '{"value":[1,]}'):
        with pytest.raises(MalformedJSON):
            count_array(text, "value")
    deep = '{"key":"x","value":[' + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "]}"
    with pytest.raises(MalformedJSON, match="nested too deeply"):
        count_array(deep, "value")


def test_a_text_already_counted_is_parsed_without_measuring_its_nesting_again(monkeypatch):
    import app.core.jsonstream as module

    measured: list[int] = []
    monkeypatch.setattr(module, "nesting_depth", lambda text: measured.append(len(text)) or 0)
    text = "[" + ",".join(['{"a":[[1]]}'] * (MAX_DEPTH // 2)) + "]"  # brackets enough to be measured
    assert loads(text) == loads(text, nesting_checked=True)
    assert len(measured) == 1  # the plain loads measured it; the checked one did not


def test_batches_go_on_from_a_recorded_end_without_the_text_before_it():
    text = ' [ {"a": "é\\r\\n"} , 2,"模板",[3], {"b": null} ]  '
    ends: list[int] = []
    batches = list(iter_array_batches(text, 2, ends=ends))
    assert batches == [[{"a": "é\r\n"}, 2], ["模板", [3]], [{"b": None}]] and len(ends) == 3
    for number, end in enumerate(ends):
        assert list(iter_array_batches(text, 2, start=end)) == batches[number + 1 :]
    # Damage before the start is not read; after it, it is still found.
    assert list(iter_array_batches("XXXXXXXXXX" + text[10:], 2, start=ends[0])) == batches[1:]
    with pytest.raises(MalformedJSON):
        list(iter_array_batches(text[: ends[1]] + " ; 9]", 2, start=ends[1]))


@given(
    st.dictionaries(st.text(), json_values, max_size=3),
    st.lists(json_values, max_size=8),
    st.dictionaries(st.text(), json_values, max_size=3),
    st.integers(1, 4),
    st.sampled_from([None, 1]),
)
def test_a_records_array_is_read_in_place_with_the_members_around_it(before, values, after, size, indent):
    # An AirPromptsDB record: the members before its array, the array batch by batch from
    # where it begins, then the members after it; together exactly what json.loads reads.
    before.pop("value", None)
    after = {k: v for k, v in after.items() if k != "value" and k not in before}
    whole = {**before, "value": values, **after}
    text = json.dumps(whole, indent=indent, ensure_ascii=False)
    head, at = member_at(text, "value")
    assert head == before and text[at] == "["
    closed: list[int] = []
    batches = list(iter_array_batches(text, size, at=at, closed=closed))
    assert [item for batch in batches for item in batch] == values and len(closed) == 1
    assert members_after(text, closed[0], "value") == after
    assert {**head, "value": values, **members_after(text, closed[0], "value")} == json.loads(text)


def test_a_record_read_in_place_refuses_what_json_loads_would_read_otherwise():
    record = '{"key":"templates","value":[{"name":"Grüße 🙂\\r\\n"}],"timestamp":1}'
    head, at = member_at(record, "value")
    closed: list[int] = []
    assert list(iter_array_batches(record, 5, at=at, closed=closed)) == [[{"name": "Grüße 🙂\r\n"}]]
    assert head == {"key": "templates"} and members_after(record, closed[0], "value") == {"timestamp": 1}
    for text, message in [
        ("[1]", "expected a JSON object"),
        ('{"key":"t","values":[]}', "with a 'value' member"),
        ('{"key" "t","value":[]}', "expected ':'"),
        ('{"key":"t" "value":[]}', "expected ',' or '}'"),
        ("{key:1}", "expected a member name"),
    ]:
        with pytest.raises(MalformedJSON, match=message):
            member_at(text, "value")
    for tail, message in [
        (',"value":[2]}', "a second 'value' member"),  # json.loads would take this one
        (',"timestamp":1', "expected ',' or '}'"),
        ('} {"x":1}', "extra data after the object"),
        (',"timestamp":}', "invalid JSON"),
        (",}", "expected a member name"),
    ]:
        text = '{"value":[1]' + tail
        _, at = member_at(text, "value")
        closed = []
        assert list(iter_array_batches(text, 5, at=at, closed=closed)) == [[1]]
        with pytest.raises(MalformedJSON, match=message):
            members_after(text, closed[0], "value")


def _floats(value) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, list):
        return any(_floats(item) for item in value)
    return isinstance(value, dict) and any(_floats(item) for item in value.values())


@given(json_values)
def test_dumps_utf8_is_dumps_with_its_utf8_bytes(value):
    text = dumps_utf8(value).decode("utf-8")
    # The same JSON value; the same text, but where a float's exponent is written shorter.
    assert json.loads(text) == json.loads(dumps(value))
    if not _floats(value):
        assert text == dumps(value)


def test_dumps_utf8_writes_a_float_exponent_without_padding_or_plus_sign():
    assert dumps_utf8([1e-07, 1e16, 1e22, 0.1, 1.5, -0.0, 5e-324]) == b"[1e-7,1e16,1e22,0.1,1.5,-0.0,5e-324]"
    assert json.loads(dumps_utf8([1e-07, 1e22])) == json.loads(dumps([1e-07, 1e22]))


def test_dumps_utf8_escapes_a_lone_surrogate_and_keeps_raw_numbers():
    value = {"t": "caf\u00e9 \ud83d \U0001f680\r\n", "n": RawNumber("1e400")}
    text = '{"t":"caf\u00e9 \\ud83d \U0001f680\\r\\n","n":1e400}'
    assert dumps_utf8(value) == text.encode("utf-8") and text == dumps(value)
    assert dumps_utf8(["ascii only"]) == b'["ascii only"]'
