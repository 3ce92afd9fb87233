"""JSON bodies read strictly: orjson's reading, and no object that names a key twice."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ticketsync.adapters import strict_json
from ticketsync.events.errors import Refused
from ticketsync.service.http.errors import STATUS


def refusal(body: bytes) -> Refused:
    with pytest.raises(Refused) as caught:
        strict_json.loads(body)
    return caught.value


REPEATS = [
    pytest.param(b'{"a":1,"a":2}', "a", "a", id="top-level"),
    pytest.param(b'{"a":1,"a":1}', "a", "a", id="same-value-too"),
    pytest.param(
        b'{"data":{"role":"user","x":0,"role":"agent"}}', "role", "data.role", id="nested"
    ),
    pytest.param(b'{"items":[1,{"b":1},{"c":1,"c":2}]}', "c", "items[2].c", id="in-a-list"),
    pytest.param(b'[{"k":1},{"k":1,"k":2}]', "k", "[1].k", id="top-level-list"),
    pytest.param(b'{"a":1,"\\u0061":2}', "a", "a", id="escaped-equal"),
    pytest.param(b'{"\\u00e9":1,"\xc3\xa9":2}', "\u00e9", "\u00e9", id="escape-and-utf8"),
    pytest.param(b'{"q\\"":1,"q\\u0022":2}', 'q"', 'q"', id="escaped-quote"),
    pytest.param(b'{"a:b":"c:d","a:b":1}', "a:b", "a:b", id="colons-in-key"),
    pytest.param(b'{"s":"\\u003a","s":1}', "s", "s", id="escaped-colon-elsewhere"),
    pytest.param(b'{"a":{"b":{"c":[{"d":{"e":1,"e":2}}]}}}', "e", "a.b.c[0].d.e", id="deep-path"),
    pytest.param(
        b"[" * 1020 + b'{"z":1,"z":2}' + b"]" * 1020, "z", "[0]" * 1020 + ".z", id="1020-deep"
    ),
]


@pytest.mark.parametrize("body, key, field", REPEATS)
def test_a_repeated_key_is_a_400_naming_it(body: bytes, key: str, field: str) -> None:
    refused = refusal(body)
    assert (STATUS[refused.code], refused.code, refused.field) == (400, "invalid_json", field)
    assert repr(key) in refused.detail


ACCEPTED = [
    pytest.param(b'{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}', id="same-key-other-objects"),
    pytest.param(b'{"a:b":"c:d","::":":"}', id="colons-in-strings"),
    pytest.param(b'{"\\u003a":1,":x":"\\u003A"}', id="escaped-colons"),
    pytest.param(b'{"\\\\u003a":1,"x":"\\\\u003A:"}', id="escaped-backslash-before-u003a"),
    pytest.param(b'{"q\\"":1,"q\\\\":2,"q":3}', id="escapes-make-other-keys"),
    pytest.param(b'{"a":"\\\\","b":"\\"a\\":1,\\"a\\":2"}', id="json-inside-a-string"),
    pytest.param(b" [ ] ", id="empty-list"),
    pytest.param(b'"{\\"a\\":1,\\"a\\":2}"', id="a-string"),
    pytest.param(b"[" * 300 + b'{"a":1,"b":{"a":2}}' + b"]" * 300, id="deeper-than-orjson-writes"),
]


@pytest.mark.parametrize("body", ACCEPTED)
def test_what_repeats_no_key_reads_as_orjson_reads_it(body: bytes) -> None:
    assert strict_json.loads(body) == orjson.loads(body)


def test_as_deep_as_orjson_reads() -> None:
    value = strict_json.loads(b"[" * 1023 + b'{"a":1,"b":2}' + b"]" * 1023)
    for _ in range(1023):
        [value] = value
    assert value == {"a": 1, "b": 2}


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        b'{"a":NaN}',
        b'{"a":Infinity}',
        b"[1,]",
        b'{"a":"\xff"}',
        b'"\\ud800"',
        b"[" * 1025 + b"]" * 1025,
        b'{"a":1,"a":2',  # a repeat in a body that is not JSON: refused as not JSON
    ],
)
def test_what_orjson_refuses_is_refused(body: bytes) -> None:
    refused = refusal(body)
    assert refused.code == "invalid_json"
    assert refused.detail.startswith("body is not valid JSON")


def test_a_stored_body_is_read_as_it_was_accepted() -> None:
    assert strict_json.loads_stored('{"a":1,"a":2}') == {"a": 2}
    with pytest.raises(Refused):
        strict_json.loads_stored("{not json")


# ---------------------------------------------------------------- against a plain reader

_KEYS = st.sampled_from(["a", "b", ":", "a:b", '"', "\\", "\u00e9", "\u003a"])
_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.sampled_from(["", ":", '"', "\\", "x:y"])
)


def _spelled(key: str, escape: bool) -> str:
    """`key` as JSON, either as json writes it or with every character escaped."""
    if not escape:
        return json.dumps(key, ensure_ascii=False)
    return '"' + "".join(f"\\u{ord(c):04x}" for c in key) + '"'


def _object(members: list[tuple[str, bool, str]]) -> str:
    return (
        "{" + ",".join(f"{_spelled(key, escape)}:{value}" for key, escape, value in members) + "}"
    )


# JSON text whose objects may name a key twice, spelled in more than one way.
_DOCUMENTS = st.recursive(
    _SCALARS.map(json.dumps),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda items: "[" + ",".join(items) + "]"),
        st.lists(st.tuples(_KEYS, st.booleans(), inner), max_size=4).map(_object),
    ),
    max_leaves=12,
)


def _repeats(text: str) -> bool:
    """Whether an object in `text` names a key twice, by a reader that sees every pair."""
    found = False

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal found
        found = found or len({key for key, _ in items}) < len(items)
        return dict(items)

    json.loads(text, object_pairs_hook=pairs)
    return found


@settings(max_examples=300, deadline=None)
@given(_DOCUMENTS)
def test_refused_exactly_when_a_plain_reader_sees_a_repeat(text: str) -> None:
    body = text.encode()
    if _repeats(text):
        assert refusal(body).code == "invalid_json"
    else:
        assert strict_json.loads(body) == orjson.loads(body)
