"""How ticketsync's tags, intents and conversation ids become Jira labels.

A Jira label cannot hold a space (Jira refuses the create with 400 "The label '…' contains
spaces which is invalid", reference/jira.md) and is at most 255 characters. `label` makes one
out of any text: surrounding whitespace is dropped and every run of whitespace inside becomes
one underscore (`Billing Team` -> `Billing_Team`), and the result is cut to 255 characters.
Tags already without spaces (`feature-request`, `billing_problem`) are sent unchanged.

The issue of a conversation carries the label `ticketsync-<conversation id>`, made the same
way, which is how a webhook names the conversation and how a lost create is found again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

CONVERSATION_PREFIX = "ticketsync-"
MAX_LABEL_CHARS = 255
_WHITESPACE = re.compile(r"\s+")


def label(text: str) -> str:
    """`text` as a Jira label: whitespace runs as `_`, at most 255 characters ("" for blank)."""
    return _WHITESPACE.sub("_", text.strip())[:MAX_LABEL_CHARS]


def labels(tags: Iterable[str]) -> list[str]:
    """Distinct labels for `tags`, in first-seen order, blanks left out."""
    return list(dict.fromkeys(made for made in map(label, tags) if made))


def conversation_label(conversation_id: str) -> str:
    """The label that marks the issue of `conversation_id`."""
    return label(CONVERSATION_PREFIX + conversation_id)


def conversation_in(names: Iterable[str]) -> str | None:
    """The conversation id a list of labels names, or None when none is ticketsync's."""
    for name in names:
        if name.startswith(CONVERSATION_PREFIX) and len(name) > len(CONVERSATION_PREFIX):
            return name[len(CONVERSATION_PREFIX) :]
    return None
