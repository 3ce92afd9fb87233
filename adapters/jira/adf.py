"""Atlassian Document Format (ADF) from plain text, and plain text from ADF or wiki markup.

Jira Cloud's REST API v3 takes rich text (descriptions, comments) as ADF only; its webhooks
send the same fields in the v2 representation, a wiki-markup string (reference/jira.md,
"Webhooks"). ticketsync's notes are plain text, and the chat takes plain text, so these are
the two directions needed:

- `to_adf(text)`: one `paragraph` per line, so line breaks survive (a `\\n` inside a text
  node renders as a space). A blank line is an empty paragraph; no `text` node is ever
  empty, which Jira refuses.
- `to_text(body)`: an ADF document (dict) or a wiki-markup string, as plain text. Markup
  marks are dropped, links keep their text, mentions read `@name` where the payload gives a
  name (`@user` otherwise: a wiki mention names only an account id).

Pure functions of their arguments; nothing here raises on odd input: what cannot be read is
left out rather than refused, since a comment's words matter more than its formatting.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

# Blocks whose children each start on a new line when read as text.
_BLOCKS = frozenset(
    {
        "paragraph",
        "heading",
        "blockquote",
        "codeBlock",
        "panel",
        "rule",
        "mediaSingle",
        "mediaGroup",
        "table",
        "tableRow",
        "expand",
        "nestedExpand",
        "decisionList",
        "taskList",
    }
)
_LIST_ITEMS = frozenset({"listItem", "taskItem", "decisionItem"})


def to_adf(text: str) -> dict[str, Any]:
    """The ADF document for plain `text`: one paragraph per line, blank lines empty."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return {"type": "doc", "version": 1, "content": [_paragraph(line) for line in lines]}


def _paragraph(line: str) -> dict[str, Any]:
    if not line:
        return {"type": "paragraph", "content": []}
    return {"type": "paragraph", "content": [{"type": "text", "text": line}]}


def to_text(body: object) -> str:
    """Plain text of a comment body: an ADF document, a wiki-markup string, or neither ("")."""
    if isinstance(body, str):
        return wiki_to_text(body)
    if isinstance(body, Mapping):
        return adf_to_text(body)
    return ""


# ---------------------------------------------------------------------- ADF -> text


def adf_to_text(document: Mapping[str, Any]) -> str:
    """The text of an ADF node and its children; blocks are separated by line breaks."""
    lines: list[str] = []
    # A line's list marks, by line: an item nested n lists deep reads `- - ... text`. Counted
    # rather than written on at each depth, which would copy the line once per level.
    bullets: dict[int, int] = {}
    _walk(document, lines, bullets)
    for at, count in bullets.items():
        lines[at] = "- " * count + lines[at]
    return "\n".join(lines).strip("\n")


def _walk(node: Mapping[str, Any], lines: list[str], bullets: dict[int, int]) -> None:
    kind = node.get("type")
    children = node.get("content")
    children = [c for c in children if isinstance(c, Mapping)] if isinstance(children, list) else []
    if kind in ("doc", "bulletList", "orderedList", "tableCell", "tableHeader", None) or (
        kind in _BLOCKS and kind not in ("paragraph", "heading", "codeBlock")
    ):
        for child in children:
            _walk(child, lines, bullets)
        if kind == "rule":
            lines.append("----")
        return
    if kind in _LIST_ITEMS:
        start = len(lines)
        for child in children:
            _walk(child, lines, bullets)
        if start == len(lines):
            # A task or decision item holds inline nodes directly.
            lines.append(_inline(children))
        bullets[start] = bullets.get(start, 0) + 1
        return
    if kind in ("paragraph", "heading", "codeBlock"):
        lines.extend(_inline(children).split("\n"))
        return
    # An inline node where a block was expected: read it as a line of its own.
    lines.append(_inline([node]))


def _inline(nodes: list[Mapping[str, Any]]) -> str:
    parts: list[str] = []
    _inline_parts(nodes, parts)
    return "".join(parts)


def _inline_parts(nodes: list[Mapping[str, Any]], parts: list[str]) -> None:
    """The text of inline `nodes`, in pieces onto `parts`: joined once, at the top, since a
    join at each level of nesting would copy the text once per level."""
    for node in nodes:
        kind = node.get("type")
        attrs = node.get("attrs") if isinstance(node.get("attrs"), Mapping) else {}
        if kind == "text" and isinstance(node.get("text"), str):
            parts.append(node["text"])
        elif kind == "hardBreak":
            parts.append("\n")
        elif kind == "mention":
            name = attrs.get("text")
            name = name if isinstance(name, str) and name else "@user"
            parts.append(name if name.startswith("@") else f"@{name}")
        elif kind in ("emoji", "status", "date", "inlineCard"):
            shown = attrs.get("text") or attrs.get("shortName") or attrs.get("url")
            if isinstance(shown, str):
                parts.append(shown)
        elif isinstance(node.get("content"), list):
            _inline_parts([c for c in node["content"] if isinstance(c, Mapping)], parts)


# ---------------------------------------------------------------------- wiki markup -> text

# Jira's text formatting notation: jira.atlassian.com/secure/WikiRendererHelpAction.jspa
#
# Any portal customer can write a comment, so every rule below is one pass that reads each
# character a bounded number of times, however the marks are arranged (docs/behaviour.md,
# "Limits"). A pattern that restarts at every opening mark and looks far ahead for its end
# (`[` x 30,000 with no `]`) would take time quadratic in the comment's length; so where an
# end can be far away, the scan remembers the next end it found (_Next) instead.

# Anchored at line starts, and failing within the line's leading marks: linear.
_HEADING = re.compile(r"^[ \t]*(?:h[1-6]|bq)\.[ \t]+", re.MULTILINE)
_LIST_MARK = re.compile(r"^[ \t]*[*#-]+[ \t]+", re.MULTILINE)
# No part of it can pass a `!`, so a failed try ends at the next `!`, where the next begins.
_IMAGE = re.compile(r"!([^!\s|][^!|\n]*)(?:\|[^!\n]*)?!")
# Where a `{code}`, `{noformat}` (kept as they are) or panel tag (dropped) can open; the
# parameters after a `:` run to the next `}`, which _Next finds.
_PREFORMATTED_TAG = re.compile(r"\{(code|noformat)(?=[:}])")
_PANEL_TAG = re.compile(r"\{(?:quote|panel|color)(?=[:}])")
_BARE_SCHEMES = ("http:", "https:", "mailto:")
# *strong*, _emphasis_, -deleted-, +inserted+, ^sup^, ~sub~, ??citation??: only where the
# marks stand at word edges, so `2*3*4` or snake_case_names keep their characters.
_MARKS = ("*", "_", "+", "^", "~", "-", "??")
_MARK_START = re.compile("|".join(map(re.escape, _MARKS)))
# Marks nest (*_both_*), and each pass takes off one layer; deeper than this, the inner
# marks stay, which bounds the passes.
MARK_LAYERS = 6
_PLACEHOLDER = re.compile(r"\x00([0-9]+)\x00")


def wiki_to_text(text: str) -> str:
    """Plain text of a wiki-markup string (a webhook's `comment.body`), in linear time."""
    # NUL marks where preformatted text was parked; one in the comment itself means nothing.
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    kept: list[str] = []
    text = _preformatted(text, kept)
    text = _panels_removed(text)
    text = _HEADING.sub("", text)
    text = _LIST_MARK.sub("- ", text)
    text = _bracketed(text, "[~", _mention)
    text = _bracketed(text, "[", _link)
    text = _bracketed(text, "[", _bare_link)
    text = _IMAGE.sub("", text)
    text = _monospace(text)
    for _ in range(MARK_LAYERS):
        unmarked = _marks(text)
        if unmarked == text:
            break
        text = unmarked
    text = text.replace("\\\\", "\n")
    text = _PLACEHOLDER.sub(lambda m: kept[int(m[1])], text)
    return text.strip("\n")


class _Next:
    """Where `needle` next occurs in `text` at or after a start (-1: nowhere), for starts that
    never go back, optionally skipping occurrences that `valid` refuses.

    An answer stands for every start up to it, so each search begins past the last answer and
    all of them together read the text once.
    """

    def __init__(self, text: str, needle: str, valid: Callable[[int], bool] | None = None):
        self.text = text
        self.needle = needle
        self.valid = valid
        self.since = len(text) + 1  # where the last search began: none yet
        self.found = -1

    def at(self, start: int) -> int:
        if self.since <= start and (self.found == -1 or self.found >= start):
            return self.found
        found = self.text.find(self.needle, start)
        while found != -1 and self.valid is not None and not self.valid(found):
            found = self.text.find(self.needle, found + 1)
        self.since, self.found = start, found
        return found


def _tag_end(text: str, tag: re.Match[str], braces: _Next) -> int:
    """Where the tag that opens with `tag` (`{name` before a `:` or `}`) ends; -1: it does not."""
    if text.startswith("}", tag.end()):
        return tag.end() + 1
    brace = braces.at(tag.end() + 1)
    return brace + 1 if brace != -1 else -1


def _preformatted(text: str, kept: list[str]) -> str:
    """`text` with each `{code}...{code}` or `{noformat}...{noformat}` parked in `kept`, so
    the rules after this one leave it as it is; a NUL-delimited index marks its place."""
    braces = _Next(text, "}")
    closings = {name: _Next(text, "{" + name + "}") for name in ("code", "noformat")}
    parts: list[str] = []
    done = search = 0
    while (tag := _PREFORMATTED_TAG.search(text, search)) is not None:
        search = tag.start() + 1
        end = _tag_end(text, tag, braces)
        closing = closings[tag[1]].at(end) if end != -1 else -1
        if closing == -1:
            continue
        kept.append(text[end:closing].strip("\n"))
        parts += (text[done : tag.start()], f"\x00{len(kept) - 1}\x00")
        done = search = closing + len(tag[1]) + 2
    parts.append(text[done:])
    return "".join(parts)


def _panels_removed(text: str) -> str:
    """`text` without its `{quote}`, `{panel:...}` and `{color:...}` tags, keeping their words."""
    braces = _Next(text, "}")
    parts: list[str] = []
    done = search = 0
    while (tag := _PANEL_TAG.search(text, search)) is not None:
        search = tag.start() + 1
        end = _tag_end(text, tag, braces)
        if end == -1:
            continue
        parts.append(text[done : tag.start()])
        done = search = end
    parts.append(text[done:])
    return "".join(parts)


def _bracketed(text: str, opener: str, read: Callable[[str], tuple[int, str] | None]) -> str:
    """`text` with bracketed markup (`[...]`) replaced as `read` reads it.

    No bracket's inside holds a `]`, so one that opens before a `]` ends there: the text
    before each `]` (back to the one before) is read on its own. `read(run)` gets that run
    and returns where in it the leftmost bracket it takes opens and what replaces it
    through the `]`, or None. Runs without `opener` are passed over, all at once.
    """
    parts: list[str] = []
    done = 0
    while (opening := text.find(opener, done)) != -1 and (closing := text.find("]", opening)) != -1:
        start = text.rfind("]", done, opening) + 1 or done
        run = text[start:closing]
        taken = read(run)
        if taken is None:
            parts.append(text[done : closing + 1])
        else:
            parts += (text[done:start], run[: taken[0]], taken[1])
        done = closing + 1
    parts.append(text[done:])
    return "".join(parts)


def _mention(run: str) -> tuple[int, str] | None:
    # [~accountid:557058:f1e2] or [~name]: a wiki mention names no one readable.
    at = run.find("[~")
    return (at, "@user") if at != -1 and at + 2 < len(run) else None


def _link(run: str) -> tuple[int, str] | None:
    # [text|url] reads as its text, or its url when the text is empty. Only the first `[`
    # can be taken: any later one has the same `|` after it, or none.
    at = run.find("[")
    bar = run.find("|", at + 1) if at != -1 else -1
    if bar == -1 or bar + 1 == len(run):
        return None
    return at, run[at + 1 : bar] or run[bar + 1 :]


def _bare_link(run: str) -> tuple[int, str] | None:
    # [https://example.com] reads as the address.
    at = run.find("[")
    while at != -1:
        for scheme in _BARE_SCHEMES:
            if run.startswith(scheme, at + 1) and at + 1 + len(scheme) < len(run):
                return at, run[at + 1 :]
        at = run.find("[", at + 1)
    return None


def _monospace(text: str) -> str:
    """`text` with each `{{monospaced}}` (on one line) read as its inside."""
    closings = _Next(text, "}}")
    newlines = _Next(text, "\n")
    parts: list[str] = []
    done = 0
    at = text.find("{{")
    while at != -1:
        closing = closings.at(at + 3)  # the inside is one character or more
        if closing == -1:
            break  # nor for any `{{` after this one
        newline = newlines.at(at + 2)
        if newline != -1 and newline < closing:
            # Every `{{` before that line break would end after it too.
            at = text.find("{{", newline + 1)
            continue
        parts += (text[done:at], text[at + 2 : closing])
        done = closing + 2
        at = text.find("{{", done)
    parts.append(text[done:])
    return "".join(parts)


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def _marks(text: str) -> str:
    """`text` with one layer of paired marks taken off: `*a b*` is `a b`.

    A mark opens after a non-word character and before a non-space, and closes at its next
    copy on the same line that follows a non-space and precedes a non-word character.
    """
    size = len(text)

    def closes(mark: str) -> Callable[[int], bool]:
        def valid(at: int) -> bool:
            after = at + len(mark)
            return not text[at - 1].isspace() and (after == size or not _is_word(text[after]))

        return valid

    closings = {mark: _Next(text, mark, closes(mark)) for mark in _MARKS}
    newlines = _Next(text, "\n")
    starts = _MARK_START
    parts: list[str] = []
    done = search = 0
    while (found := starts.search(text, search)) is not None:
        at, mark = found.start(), found[0]
        search = at + 1
        inside = at + len(mark)
        if (at > 0 and _is_word(text[at - 1])) or inside == size or text[inside].isspace():
            continue
        closing = closings[mark].at(inside + 1)
        if closing == -1:
            # No copy after here closes this mark: look no more for where it opens.
            del closings[mark]
            if not closings:
                break
            starts = re.compile("|".join(map(re.escape, closings)))
            continue
        newline = newlines.at(inside)
        if newline != -1 and newline < closing:
            continue
        parts += (text[done:at], text[inside:closing])
        done = search = closing + len(mark)
    parts.append(text[done:])
    return "".join(parts)
