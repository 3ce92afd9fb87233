"""Outside text converts in time linear in its length, and as the regular expressions did.

A comment is any portal customer's to write, and Jira's wiki markup was read by patterns that
took time quadratic in the comment's length on `[` x 30,000 (docs/behaviour.md, "Limits").
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from tests.support import message
from ticketsync.adapters.chat import webhooks as chat
from ticketsync.adapters.jira import adf
from ticketsync.adapters.jira import webhooks as jira
from ticketsync.adapters.zendesk import webhooks as zendesk

# ---------------------------------------------------------------- the same answers

# The rules as regular expressions, as they were read before they were made linear: the
# reference for what each input reads as.
_PREFORMATTED = re.compile(r"\{(code|noformat)(?::[^}]*)?\}(.*?)\{\1\}", re.DOTALL)
_PANEL_TAGS = re.compile(r"\{(?:quote|panel|color)(?::[^}]*)?\}")
_HEADING = re.compile(r"^[ \t]*(?:h[1-6]|bq)\.[ \t]+", re.MULTILINE)
_LIST_MARK = re.compile(r"^[ \t]*[*#-]+[ \t]+", re.MULTILINE)
_MENTION = re.compile(r"\[~(?:accountid:)?[^\]]+\]")
_LINK = re.compile(r"\[([^\]|]*)\|([^\]]+)\]")
_BARE_LINK = re.compile(r"\[((?:https?|mailto):[^\]]+)\]")
_IMAGE = re.compile(r"!([^!\s|][^!|\n]*)(?:\|[^!\n]*)?!")
_MONOSPACE = re.compile(r"\{\{(.+?)\}\}")
_MARKS = re.compile(r"(?<![\w])([*_+^~-]|\?\?)(?=\S)(.+?)(?<=\S)\1(?![\w])")


def by_patterns(text: str) -> tuple[str, int]:
    """What the patterns read `text` as, and how many layers of marks they took off."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    kept: list[str] = []

    def keep(match: re.Match[str]) -> str:
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
    layers = 0
    while (unmarked := _MARKS.sub(lambda m: m[2], text)) != text:
        text, layers = unmarked, layers + 1
    text = text.replace("\\\\", "\n")
    text = re.sub(r"\x00(\d+)\x00", lambda m: kept[int(m[1])], text)
    return text.strip("\n"), layers


# Pieces of markup, and of words around it.
PIECES = [
    *"[]{}|~!*_+^-?:# \n\tab1.",
    "{{", "}}", "[~", "[a|", "??", "{code}", "{code:x}", "{noformat}", "{quote}", "{panel:t=1}",
    "{color:red}", "h1. ", "bq. ", "\\\\", "[http://x", "mailto:", "accountid:", "\r\n",
]  # fmt: skip
MARKUP = st.lists(st.sampled_from(PIECES), max_size=24).map("".join)


@settings(max_examples=200, deadline=None)
@given(MARKUP)
@example("Hi [~accountid:557058:f1e2], see [the docs|https://x.test/d] or [https://y.test]")
@example("{code:python}x = *a*\n{code} *_both_* {{make test}} !shot.png|thumbnail!")
def test_markup_reads_as_the_patterns_read_it(text: str) -> None:
    expected, layers = by_patterns(text)
    # Deeper than MARK_LAYERS, the inner marks stay: the one answer that differs.
    assume(layers <= adf.MARK_LAYERS)
    assert adf.wiki_to_text(text) == expected


def test_a_nul_in_the_comment_is_not_taken_for_a_kept_block() -> None:
    # NUL delimits where preformatted text is parked; the patterns failed on this one.
    assert adf.wiki_to_text("a\x007\x00 {code}b{code}") == "a7 b"


# ---------------------------------------------------------------- linear time

SIZE = 2000
HEADERS = {"X-Atlassian-Webhook-Identifier": "wh-1"}


def adf_document(text: str) -> dict[str, Any]:
    """ADF holding `text` in short text nodes, nested a few lists deep."""
    inline: list[dict[str, Any]] = []
    for start in range(0, len(text), 16):
        inline += ({"type": "text", "text": text[start : start + 16]}, {"type": "hardBreak"})
    node: dict[str, Any] = {"type": "paragraph", "content": inline}
    for _ in range(8):
        node = {"type": "bulletList", "content": [{"type": "listItem", "content": [node]}]}
    return {"type": "doc", "version": 1, "content": [node]}


def jira_comment(text: str) -> bytes:
    return orjson.dumps(
        {
            "timestamp": 1795600800000,
            "webhookEvent": "comment_created",
            "comment": {"id": "10100", "author": {"accountId": "557058:a"}, "body": text},
            "issue": {"id": "10042", "key": "OPS-12", "fields": {"labels": []}},
        }
    )


def zendesk_comment(text: str) -> bytes:
    return orjson.dumps(
        {
            "id": "01KLINEAR",
            "type": "zen:event-type:ticket.comment_added",
            "time": "2026-11-25T10:00:00Z",
            "detail": {"id": "5158", "external_id": text[:255] or "c"},
            "event": {
                "comment": {
                    "id": "1",
                    "body": text,
                    "is_public": True,
                    "author": {"id": "2", "is_staff": False, "name": text},
                }
            },
        }
    )


# Each converter of outside text: how to make its input from a text, and the conversion.
CONVERTERS: dict[str, tuple[Callable[[str], Any], Callable[[Any], object]]] = {
    "jira-wiki-markup": (str, adf.wiki_to_text),
    "text-to-adf": (str, adf.to_adf),
    "adf-to-text": (adf_document, adf.adf_to_text),
    "jira-webhook": (jira_comment, lambda body: jira.parse(body, HEADERS)),
    "zendesk-webhook": (zendesk_comment, lambda body: zendesk.parse(body, {})),
    "chat-webhook": (lambda text: orjson.dumps(message(content=text)), chat.parse),
}


def repeated(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def fastest(convert: Callable[[Any], object], value: Any) -> float:
    """The least of a few timings, in this thread's CPU time: on a busy machine the wall clock
    also counts the time other processes had the CPU."""
    timings = []
    for _ in range(3):
        started = time.thread_time()
        convert(value)
        timings.append(time.thread_time() - started)
    return min(timings)


@pytest.mark.parametrize("converter", CONVERTERS)
@settings(max_examples=5, deadline=None)
@given(unit=st.lists(st.sampled_from(PIECES), min_size=1, max_size=6).map("".join))
@example(unit="[")
@example(unit="{{")
@example(unit="[a|")
@example(unit="{code:x}")
@example(unit="-a -")
@example(unit="*_")
def test_eight_times_the_text_takes_about_eight_times_as_long(converter: str, unit: str) -> None:
    prepare, convert = CONVERTERS[converter]
    small, large = prepare(repeated(unit, SIZE)), prepare(repeated(unit, 8 * SIZE))
    took_small, took_large = fastest(convert, small), fastest(convert, large)
    # Linear is 8x (up to about 14x seen, as the larger text leaves the caches); quadratic is
    # 64x. The rest of the slack, and the constant, absorb a busy machine.
    assert took_large <= 32 * took_small + 0.01, (took_small, took_large)


def nested(depth: int, text: str) -> dict[str, Any]:
    """`text` under `depth` lists, each item's text also inside `depth` marks (strong)."""
    inline: dict[str, Any] = {"type": "text", "text": text}
    for _ in range(depth):
        inline = {"type": "strong", "content": [inline, {"type": "text", "text": "."}]}
    node: dict[str, Any] = {"type": "paragraph", "content": [inline]}
    for _ in range(depth):
        node = {"type": "bulletList", "content": [{"type": "listItem", "content": [node]}]}
    return {"type": "doc", "version": 1, "content": [node]}


def test_adf_nested_deeper_takes_no_longer_per_character() -> None:
    # A text is copied once, not once per level: 10x the levels around the same 1,000,000
    # characters (a few KB more) take about as long, where a copy per level takes 10x.
    text = "x" * 1_000_000
    shallow, deep = nested(20, text), nested(200, text)
    assert adf.adf_to_text(deep) == "- " * 200 + text + "." * 200
    assert fastest(adf.adf_to_text, deep) <= 3 * fastest(adf.adf_to_text, shallow) + 0.002
