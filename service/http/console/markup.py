"""HTML built in Python: every interpolated value is escaped unless it is already Markup.

A page is strings joined; `tag` escapes each attribute and each child that is not Markup,
so a message or subject from a webhook holding `<script>` reaches the browser as text.
"""

from __future__ import annotations

import html
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


def join(children: object) -> Markup:
    """Children as one piece of HTML: strings escaped, Markup as it is, lists flattened."""
    if isinstance(children, str | int | float) or children is None:
        return escape(children)
    if isinstance(children, Iterable):
        return Markup("".join(join(child) for child in children))
    return escape(children)


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
    return Markup(f"{opening}{join(children)}</{name}>")
