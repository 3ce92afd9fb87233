"""What a conversation id may be: the one rule every way in (webhooks, the API, the CLI) uses.

An id is read back through addresses (`GET /conversations/{id}`, the console's page) and
written into log lines, so one that no address can name, or that splits a line, is refused
at the door (docs/behaviour.md, section "Limits"):
- 1 to MAX_LENGTH characters;
- no control character (Unicode category Cc: NUL, newline, DEL, ...);
- no leading or trailing whitespace (nor an id of whitespace only);
- no `.` or `..` path segment, the segments split on `/`: browsers and HTTP clients rewrite
  those before the request leaves, so the page of `a/../b` would be the page of `b`.

Format characters (category Cf: bidirectional overrides, zero-width spaces) are taken: they
are legitimate in names (U+200D joins emoji, U+200C is needed in Persian) and harmless in an
address; the console shows them as visible escapes instead.
"""

from __future__ import annotations

import unicodedata

MAX_LENGTH = 255
RULE = (
    f"1 to {MAX_LENGTH} characters, with no control character, no leading or trailing"
    " whitespace, and no '.' or '..' path segment"
)


def problem(value: object) -> str | None:
    """Why `value` is not a conversation id, for a person; None when it is one."""
    if not isinstance(value, str):
        return "must be a string"
    if not value:
        return "must not be empty"
    if len(value) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters"
    if value != value.strip():
        return "must not start or end with whitespace"
    for character in value:
        if unicodedata.category(character) == "Cc":
            return f"must not hold a control character (U+{ord(character):04X})"
    if any(segment in (".", "..") for segment in value.split("/")):
        return "must not have a '.' or '..' path segment"
    return None


def is_conversation_id(value: object) -> bool:
    return problem(value) is None
