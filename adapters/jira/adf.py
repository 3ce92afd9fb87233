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
from collections.abc import Mapping
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
    _walk(document, lines, prefix="")
    return "\n".join(lines).strip("\n")


def _walk(node: Mapping[str, Any], lines: list[str], prefix: str) -> None:
    kind = node.get("type")
    children = node.get("content")
    children = [c for c in children if isinstance(c, Mapping)] if isinstance(children, list) else []
    if kind in ("doc", "bulletList", "orderedList", "tableCell", "tableHeader", None) or (
        kind in _BLOCKS and kind not in ("paragraph", "heading", "codeBlock")
    ):
        for child in children:
            _walk(child, lines, prefix)
        if kind == "rule":
            lines.append("----")
        return
    if kind in _LIST_ITEMS:
        start = len(lines)
        for child in children:
            _walk(child, lines, prefix)
        if start == len(lines):
            # A task or decision item holds inline nodes directly.
            lines.append(_inline(children))
        lines[start] = f"{prefix}- {lines[start]}"
        return
    if kind in ("paragraph", "heading", "codeBlock"):
        lines.extend(_inline(children).split("\n"))
        return
    # An inline node where a block was expected: read it as a line of its own.
    lines.append(_inline([node]))


def _inline(nodes: list[Mapping[str, Any]]) -> str:
    parts: list[str] = []
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
            parts.append(_inline([c for c in node["content"] if isinstance(c, Mapping)]))
    return "".join(parts)


# ---------------------------------------------------------------------- wiki markup -> text

# Jira's text formatting notation: jira.atlassian.com/secure/WikiRendererHelpAction.jspa
_PREFORMATTED = re.compile(r"\{(code|noformat)(?::[^}]*)?\}(.*?)\{\1\}", re.DOTALL)
_PANEL_TAGS = re.compile(r"\{(?:quote|panel|color)(?::[^}]*)?\}")
_HEADING = re.compile(r"^[ \t]*(?:h[1-6]|bq)\.[ \t]+", re.MULTILINE)
_LIST_MARK = re.compile(r"^[ \t]*[*#-]+[ \t]+", re.MULTILINE)
_MENTION = re.compile(r"\[~(?:accountid:)?[^\]]+\]")
_LINK = re.compile(r"\[([^\]|]*)\|([^\]]+)\]")
_BARE_LINK = re.compile(r"\[((?:https?|mailto):[^\]]+)\]")
_IMAGE = re.compile(r"!([^!\s|][^!|\n]*)(?:\|[^!\n]*)?!")
_MONOSPACE = re.compile(r"\{\{(.+?)\}\}")
# *strong*, _emphasis_, -deleted-, +inserted-, ^sup^, ~sub~, ??citation??: only where the
# marks stand at word edges, so `2*3*4` or snake_case_names keep their characters.
_MARKS = re.compile(r"(?<![\w])([*_+^~-]|\?\?)(?=\S)(.+?)(?<=\S)\1(?![\w])")
_LINE_BREAK = re.compile(r"\\\\")


def wiki_to_text(text: str) -> str:
    """Plain text of a wiki-markup string (a webhook's `comment.body`)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    kept: list[str] = []

    def keep(match: re.Match[str]) -> str:
        # Preformatted text is shown as it is; park it so the rules below leave it alone.
        kept.append(match[2].strip("\n"))
        return f"\x00{len(kept) - 1}\x00"

    text = _PREFORMATTED.sub(keep, text)
    text = _PANEL_TAGS.sub("", text)
    text = _HEADING.sub("", text)
    text = _LIST_MARK.sub("- ", text)
    text = _MENTION.sub("@user", text)
    text = _LINK.sub(lambda m: m[1] or m[2], text)
    text = _BARE_LINK.sub(lambda m: m[1], text)
    text = _IMAGE.sub("", text)
    text = _MONOSPACE.sub(lambda m: m[1], text)
    previous = None
    while previous != text:  # marks nest: *_both_*
        previous, text = text, _MARKS.sub(lambda m: m[2], text)
    text = _LINE_BREAK.sub("\n", text)
    text = re.sub(r"\x00(\d+)\x00", lambda m: kept[int(m[1])], text)
    return text.strip("\n")
