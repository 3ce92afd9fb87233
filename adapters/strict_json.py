"""JSON bodies read strictly: what orjson reads, and no object that names a key twice.

orjson, like most readers, keeps the last of two equal keys, while another reader may keep
the first: a body with `{"role": "user", "role": "assistant"}` would say one thing to a proxy
or a log reader and another to ticketsync. So a duplicate key anywhere, at any depth, is
refused (docs/behaviour.md, "Limits"). Keys count as equal when they decode equal, so
`"a"` and `"\\u0061"` are one key.

`loads` parses with orjson, as before, and then checks for repeats without a second parse in
Python, from two counts of colons. orjson's own dump of what it read holds one `:` per member
it kept, plus the colons inside strings; the body holds one per member written, plus the
colons inside its strings, which are the same but for those written as an escape
(`\\u003a`). So when the body has no more colons than the dump, counting each such escape as
one, no object lost a member. A body that fails this has its members counted exactly (the
colons outside strings, on both sides), and only one with a repeat is read token by token,
to name the key.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from ticketsync.events.errors import Refused

# One token of JSON text that is already known to be valid: a string or a structural character
# (numbers, true, false and null are skipped over, they never hold a key).
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[{}\[\]:,]')


def loads(body: bytes | str) -> Any:
    """The JSON value of `body`.

    Raises Refused `invalid_json` when orjson cannot read it (not JSON, not UTF-8, NaN, too
    deep) or when an object in it names a key twice (the detail and `field` name it).
    """
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise Refused("invalid_json", f"body is not valid JSON: {error}") from None
    if isinstance(value, dict | list) and _may_repeat(body, value):
        refusal = _duplicate(body if isinstance(body, str) else body.decode("utf-8"))
        if refusal is not None:
            raise refusal
    return value


def loads_stored(text: str) -> Any:
    """The JSON value of a body stored before repeated keys were refused, read as it was
    then: orjson's, the last of equal keys winning. Raises Refused `invalid_json`."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise Refused("invalid_json", f"body is not valid JSON: {error}") from None


def _may_repeat(body: bytes | str, value: dict[str, Any] | list[Any]) -> bool:
    """False when no object in `body` (which orjson read as `value`) repeats a key."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    try:
        dump = orjson.dumps(value)
    except TypeError:
        # orjson reads 1024 levels but writes only 254: a deeper body is read token by token.
        return True
    # An upper bound of the colons escaped in strings (`\u003a`): any `\u003` counts, even
    # one that is not a colon or not an escape. Most bodies stop here.
    if raw.count(b":") + raw.count(b"\\u003") <= dump.count(b":"):
        return False
    # Escapes or a repeat: count the members exactly, on both sides.
    return _members(raw) > _members(dump)


def _members(raw: bytes) -> int:
    """How many object members valid JSON `raw` holds: its `:` outside strings."""
    # Outside strings, valid JSON has no backslash; inside, `\\` and `\"` are the escapes
    # that could hide or fake a string's end. Once both are gone, every `"` opens or closes
    # a string, and every other piece of the split is outside one.
    raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    return b"".join(raw.split(b'"')[::2]).count(b":")


def _duplicate(text: str) -> Refused | None:
    """The refusal for valid JSON `text` naming the first key it repeats; None if it repeats none.

    An explicit stack rather than recursion: orjson reads 1024 levels, Python recurses 1000.
    """
    # Per open container: its path, the keys seen (None for an array), and its item's index.
    stack: list[tuple[str, set[str] | None, list[int]]] = []
    expecting_key = False
    last_key = ""
    for match in _TOKEN.finditer(text):
        token = match[0]
        if token == "{" or token == "[":
            path = _child_path(stack, last_key)
            stack.append((path, set() if token == "{" else None, [0]))
            expecting_key = token == "{"
        elif token == "}" or token == "]":
            stack.pop()
            expecting_key = False
        elif token == ",":
            if stack:
                keys, index = stack[-1][1], stack[-1][2]
                index[0] += 1
                expecting_key = keys is not None
        elif token == ":":
            expecting_key = False
        elif expecting_key and stack:
            key = json.loads(token)
            keys = stack[-1][1]
            assert keys is not None
            if key in keys:
                field = _join(stack[-1][0], key)
                return Refused(
                    "invalid_json",
                    f"body names the key {key[:100]!r} twice in one object (at {field[:200]})",
                    field,
                )
            keys.add(key)
            last_key = key
    return None


def _child_path(stack: list[tuple[str, set[str] | None, list[int]]], last_key: str) -> str:
    """The path of a container that opens now, inside the top of `stack`."""
    if not stack:
        return ""
    path, keys, index = stack[-1]
    return _join(path, last_key) if keys is not None else f"{path}[{index[0]}]"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
