"""The text a ticket gets: its subject, the summary note and the link note (CONTRACT section 4).

Everything here is plain text (no Markdown, no HTML). Message text is cleaned before it is
used: line breaks become `\\n`, control characters other than `\\n` and `\\t` are dropped
(PostgreSQL and help desks refuse NUL), and lone surrogates become U+FFFD, so a note is
always valid UTF-8. Limits count Unicode code points, and a cut never separates a character
from the combining marks, variation selectors or zero-width joiners that follow it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

SUMMARY_LIMIT = 300  # characters of each message in the summary note (the contract's number)
TRANSCRIPT_LIMIT = 2000  # characters of each message in the link note's transcript
GENERAL_INQUIRY = "general_inquiry"


def subject(
    primary_intent: str | None, conversation_subject: str | None, conversation_id: str
) -> str:
    """The ticket subject: `[<primary intent or general_inquiry>] <conversation subject>`.

    A missing or blank subject becomes `AI conversation <conversation_id>`, so agents can
    still tell tickets apart. Runs of whitespace (line breaks too) become one space, since a
    subject is one line.
    """
    intent = _one_line(primary_intent or "") or GENERAL_INQUIRY
    text = _one_line(conversation_subject or "") or f"AI conversation {_one_line(conversation_id)}"
    return f"[{intent}] {text}"


def summary_note(
    *,
    first_user_message: str | None,
    last_assistant_message: str | None,
    message_count: int,
    tools: Sequence[str],
    escalation_reason: str | None,
    follows: str | None = None,
    replaces: str | None = None,
) -> str:
    """The summary note, the ticket's first comment, in the contract's exact format.

    Each message is stripped of surrounding whitespace and cut to its first 300 characters,
    without a marker (the contract says "first 300 characters"). A missing or blank message
    leaves its line empty. Tools are the distinct names in first-use order, or `none`. A
    missing or blank reason shows as `None`; a reason is put on one line. The note has no
    trailing newline.

    A follow-up of a closed ticket (`follows`, its id) and a ticket that replaces one
    deleted on the help desk (`replaces`) say so first, so an agent knows where the story
    began; for a follow-up, the customer issue is the message that opened it.
    """
    heading: tuple[str, ...] = ()
    if follows is not None:
        heading = (f"FOLLOW-UP OF TICKET: {_one_line(follows)}", "")
    elif replaces is not None:
        heading = (f"REPLACES TICKET: {_one_line(replaces)} (deleted on the help desk)", "")
    return "\n".join(
        (
            *heading,
            "CUSTOMER ISSUE:",
            _first(first_user_message, SUMMARY_LIMIT),
            "",
            "AI AGENT RESPONSE:",
            _first(last_assistant_message, SUMMARY_LIMIT),
            "",
            f"CONVERSATION LENGTH: {message_count} messages",
            f"TOOLS USED: {_listing(tools)}",
            f"ESCALATION REASON: {_one_line(escalation_reason or '') or 'None'}",
        )
    )


def link_note(
    *,
    conversation_id: str,
    message_count: int,
    tools: Sequence[str],
    intents: Sequence[str],
    transcript: Sequence[tuple[str, str]],
) -> str:
    """The link note: which AI conversation the ticket comes from, and its transcript.

    ```
    AI Conversation: conv_42
    Messages: 5
    Tools used: lookup_invoice, issue_refund
    Intents: billing_problem

    Transcript:
    [user] I was charged twice
    [assistant] Let me check your invoices.
    ```

    `transcript` is `(role, content)` pairs in order. Each message is put on one line
    (whitespace runs become one space) and cut at 2000 characters, followed by
    `… [cut: N characters in all]` when it was longer. Tools and intents are distinct, in
    order, or `none`; an empty transcript shows `(no messages)`. No trailing newline.
    """
    lines = [
        f"AI Conversation: {_one_line(conversation_id)}",
        f"Messages: {message_count}",
        f"Tools used: {_listing(tools)}",
        f"Intents: {_listing(intents)}",
        "",
        "Transcript:",
    ]
    for role, content in transcript:
        text = _one_line(content)
        shown = _cut(text, TRANSCRIPT_LIMIT)
        if len(shown) < len(text):
            shown = f"{shown.rstrip()} … [cut: {len(text)} characters in all]"
        lines.append(f"[{_one_line(role) or 'unknown'}] {shown}")
    if not transcript:
        lines.append("(no messages)")
    return "\n".join(lines)


# -- text helpers ----------------------------------------------------------------------------

# Unicode's control characters (category Cc) but for line feed and tab.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Characters that belong to the one before them: cutting before one would leave it dangling.
_JOINING = frozenset("\u200c\u200d")


def _clean(text: str) -> str:
    """Text safe to store and show: `\\n` line breaks, no control characters, no lone surrogates."""
    if not text.isascii():
        # A surrogate pair that arrived as two code points becomes its character; a lone
        # one, U+FFFD. (ASCII, most text, has no surrogates to mend.)
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROLS.sub("", text)


def _one_line(text: str) -> str:
    return " ".join(_clean(text).split())


def _first(text: str | None, limit: int) -> str:
    """The message's first `limit` characters, stripped; empty when there is none."""
    return _cut(_clean(text or "").strip(), limit).rstrip()


def _cut(text: str, limit: int) -> str:
    """At most `limit` characters of `text`, never ending inside a combined character."""
    if len(text) <= limit:
        return text
    end = limit
    while end > 0 and (_attaches(text[end]) or text[end - 1] in _JOINING):
        end -= 1
    # A text made only of marks has no boundary to cut at; a plain cut is still valid text.
    return text[:end] if end > 0 else text[:limit]


def _attaches(ch: str) -> bool:
    """Whether `ch` combines with the character before it."""
    return (
        unicodedata.combining(ch) != 0
        or unicodedata.category(ch) in ("Mn", "Me", "Mc")
        or ch in _JOINING
        or "\ufe00" <= ch <= "\ufe0f"  # variation selectors (emoji vs text style)
        or "\U0001f3fb" <= ch <= "\U0001f3ff"  # skin-tone modifiers
    )


def _listing(names: Iterable[str]) -> str:
    """Distinct non-blank names, in first-seen order, comma-separated; `none` when empty."""
    distinct = dict.fromkeys(name for name in map(_one_line, names) if name)
    return ", ".join(distinct) or "none"
