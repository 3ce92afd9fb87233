"""HTML built in Python: every interpolated value is escaped unless it is already Markup.

A page is strings joined; `tag` escapes each attribute and each child that is not Markup,
so a message or subject from a webhook holding `<script>` reaches the browser as text.
Text children also have their invisible characters shown (`visible`), and `outside` holds
a piece of text from a webhook in an element of its own (docs/behaviour.md, "Limits").
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from collections.abc import Iterable


class Markup(str):
    """A string that is HTML already and is not escaped again."""


def escape(value: object) -> Markup:
    """`value` as HTML text; Markup passes through, None is nothing."""
    if isinstance(value, Markup):
        return value
    if value is None:
        return Markup("")
    return Markup(html.escape(str(value), quote=True))


# Shown as they are: tab and newline lay out a data block; the zero-width joiner and
# non-joiner are part of how emoji and several scripts (Persian, the Indic ones) are written.
KEPT = frozenset("\t\n\u200c\u200d")
# The planes that hold control (Cc) and format (Cf) characters: the basic and the
# supplementary multilingual planes, and the tags plane (U+E0000 to U+E0FFF).
_PLANES = (range(0x0, 0x20000), range(0xE0000, 0xE1000))


@functools.cache
def _invisible() -> re.Pattern[str]:
    """Every control and format character but KEPT: a Cf character shows nothing, and some
    reorder what is around them (U+202E displays "evil" as "live") or hide text (U+E0041)."""
    ranges: list[list[int]] = []
    for plane in _PLANES:
        for code in plane:
            if unicodedata.category(chr(code)) in ("Cc", "Cf") and chr(code) not in KEPT:
                if ranges and ranges[-1][1] == code - 1:
                    ranges[-1][1] = code
                else:
                    ranges.append([code, code])
    members = "".join(
        re.escape(chr(first)) + ("-" + re.escape(chr(last)) if last > first else "")
        for first, last in ranges
    )
    return re.compile(f"[{members}]")


def _shown(found: re.Match[str]) -> str:
    code = ord(found.group())
    written = f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
    name = unicodedata.name(found.group(), "control character")
    return f'<span class="invisible" title="U+{code:04X} {name}">{written}</span>'


def visible(text: str) -> Markup:
    """`text` as HTML text, each invisible character (see `_invisible`) written as its
    escape (`\\u202e`) in an element of its own, so that it is seen and does nothing."""
    return Markup(_invisible().sub(_shown, html.escape(text, quote=True)))


def plain(text: str) -> str:
    """`text` with each invisible character as its escape, for where no element may go
    (a page's title)."""
    return _invisible().sub(
        lambda found: (
            f"\\u{ord(found.group()):04x}"
            if ord(found.group()) <= 0xFFFF
            else f"\\U{ord(found.group()):08x}"
        ),
        text,
    )


def join(children: object) -> Markup:
    """Children as one piece of HTML: strings escaped with their invisible characters shown,
    Markup as it is, lists flattened."""
    if isinstance(children, Markup):
        return children
    if isinstance(children, str):
        return visible(children)
    if isinstance(children, int | float) or children is None:
        return escape(children)
    if isinstance(children, Iterable):
        return Markup("".join(join(child) for child in children))
    return escape(children)


def outside(value: object, limit: int | None = None) -> Markup:
    """A piece of text from outside (a customer's name, a subject, an id) in a `<bdi>` of
    its own: its direction, right-to-left or not, cannot reorder the text around it. Over
    `limit` characters it is cut, saying how much was left out."""
    if value is None or value == "":
        return Markup("")
    text = str(value)
    if limit is not None and len(text) > limit:
        cut = tag("span", {"class": "cut"}, f"… ({len(text) - limit:,} more characters)")
        return tag("bdi", {"class": "outside"}, text[:limit], cut)
    return tag("bdi", {"class": "outside"}, text)


# Elements that have no end tag (HTML's void elements used here).
VOID = frozenset({"input", "meta", "link", "br", "hr"})


def tag(name: str, attrs: dict[str, object] | None = None, *children: object) -> Markup:
    """`<name attrs>children</name>`; an attribute that is None or False is left out, one
    that is True is written bare."""
    written = []
    for key, value in (attrs or {}).items():
        if value is None or value is False:
            continue
        attribute = key.rstrip("_").replace("_", "-")
        written.append(f" {attribute}" if value is True else f' {attribute}="{escape(value)}"')
    opening = f"<{name}{''.join(written)}>"
    if name in VOID:
        return Markup(opening)
    if name == "title":
        # The title is text only: an element written in it would show as its tags.
        return Markup(f"{opening}{escape(plain(''.join(map(str, children))))}</{name}>")
    return Markup(f"{opening}{join(children)}</{name}>")


def when(moment: object) -> Markup | str:
    """A time as every page shows one: to the second, in UTC until the page's script shows
    it in the viewer's own zone, the whole value on hover. Anything but an ISO-8601 time
    is shown as text."""
    from datetime import UTC, datetime

    if not isinstance(moment, str) or not moment:
        return ""
    try:
        parsed = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    except ValueError:
        return escape(moment)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    shown = parsed.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return tag("time", {"datetime": moment, "title": moment}, shown)
