"""What to do when a help desk refuses a call: one pure decision over one table.

The adapters sort their systems' answers into a `Refusal` (events.outcomes); this module
decides what that refusal asks for, given the call that was refused:

| refusal   | call                           | recovery                                       |
|-----------|--------------------------------|------------------------------------------------|
| transient | any                            | retry, with backoff (or Retry-After)           |
| refused   | any                            | park, with the help desk's words, for a person |
| closed    | a comment or change, final     | follow_up: record the ticket closed; what the  |
|           | closes (Zendesk, built-in)     | call carried goes to the next ticket           |
| closed    | a comment or change, a desk    | reopen: record it closed; the ticket is opened |
|           | that reopens closed tickets    | again and the call's item sent again           |
| gone      | a comment or change            | replace: a new ticket takes the conversation   |
| closed,   | a create, or a reply to the    | park: there is no ticket of ours to recover    |
| gone      | chat                           | with                                           |

A customer's message is never parked for a ticket that was closed or deleted behind
ticketsync's back: the recoveries carry it to a ticket that takes it.
"""

from __future__ import annotations

from typing import Literal

from ticketsync.events.commands import AddComment, ChangeTicket, Command
from ticketsync.events.outcomes import Refusal

Recovery = Literal["retry", "park", "follow_up", "reopen", "replace"]

# What the audit trail says each recovery does next.
NEXT: dict[Recovery, str] = {
    "retry": "tried again later",
    "park": "parked for an operator",
    "follow_up": "the ticket is closed: a customer's message on it opens a follow-up ticket",
    "reopen": "the ticket is closed: it is reopened and the call sent again",
    "replace": "the ticket is gone: a new ticket takes the conversation",
}


def decide_refusal(refusal: Refusal, command: Command, *, closed_reopens: bool = False) -> Recovery:
    """What a refusal of `command` asks for.

    `closed_reopens` says whether the help desk can reopen a closed ticket (Jira's done
    issues take comments and transitions); where it cannot (Zendesk, the built-in desk), a
    closed ticket is final and the conversation moves to a follow-up.
    """
    if refusal == "transient":
        return "retry"
    on_a_ticket = isinstance(command, AddComment | ChangeTicket)
    if refusal == "closed" and on_a_ticket:
        return "reopen" if closed_reopens else "follow_up"
    if refusal == "gone" and on_a_ticket:
        return "replace"
    return "park"
