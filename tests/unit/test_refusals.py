"""What each refusal of each call asks for: the table of projections/refusals.py."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ticketsync.adapters.ports import (
    CallFailed,
    NotFound,
    OutcomeUnknown,
    Permanent,
    RateLimited,
    Retryable,
    TicketClosed,
)
from ticketsync.events.commands import AddComment, ChangeTicket, CreateTicket, SendReply
from ticketsync.events.tickets import Comment, NewTicket, TicketChange
from ticketsync.projections.refusals import NEXT, decide_refusal

COMMENT = AddComment(
    conversation_id="c", ticket_id="7", comment=Comment(body="Hi", public=True), item="message:m1"
)
CHANGE = ChangeTicket(conversation_id="c", ticket_id="7", change=TicketChange(status="solved"))
CREATE = CreateTicket(
    conversation_id="c",
    number=1,
    ticket=NewTicket(
        external_id="c",
        subject="s",
        requester=None,
        group=None,
        priority="medium",
        tags=(),
        summary="x",
    ),
    included=(),
    tags=(),
)
REPLY = SendReply(
    conversation_id="c",
    system="zendesk",
    ticket_id="7",
    comment_id="9",
    author_name="Dana",
    body="Hello",
    sent_at=datetime(2026, 11, 25, tzinfo=UTC),
)

CASES = [
    # transient: rate limits, outages, timeouts are tried again, whatever the call
    pytest.param("transient", COMMENT, False, "retry", id="transient-comment-retries"),
    pytest.param("transient", CREATE, False, "retry", id="transient-create-retries"),
    pytest.param("transient", REPLY, False, "retry", id="transient-reply-retries"),
    # refused: only a person can help
    pytest.param("refused", COMMENT, False, "park", id="refused-comment-parks"),
    pytest.param("refused", CREATE, False, "park", id="refused-create-parks"),
    pytest.param("refused", REPLY, False, "park", id="refused-reply-parks"),
    # closed: a final close moves the conversation on; a desk that reopens, reopens
    pytest.param("closed", COMMENT, False, "follow_up", id="closed-comment-follows-up"),
    pytest.param("closed", CHANGE, False, "follow_up", id="closed-change-follows-up"),
    pytest.param("closed", COMMENT, True, "reopen", id="closed-comment-reopens-where-it-can"),
    pytest.param("closed", CHANGE, True, "reopen", id="closed-change-reopens-where-it-can"),
    pytest.param("closed", CREATE, False, "park", id="closed-create-parks"),
    pytest.param("closed", REPLY, False, "park", id="closed-reply-parks"),
    # gone: a deleted or merged ticket is replaced
    pytest.param("gone", COMMENT, False, "replace", id="gone-comment-replaces"),
    pytest.param("gone", CHANGE, True, "replace", id="gone-change-replaces"),
    pytest.param("gone", CREATE, False, "park", id="gone-create-parks"),
    pytest.param("gone", REPLY, False, "park", id="gone-reply-parks"),
]


@pytest.mark.parametrize("refusal, command, reopens, expected", CASES)
def test_decide_refusal(refusal, command, reopens, expected) -> None:
    assert decide_refusal(refusal, command, closed_reopens=reopens) == expected


ERRORS = [
    pytest.param(CallFailed("x"), "transient", id="call-failed"),
    pytest.param(Retryable("x", status=503), "transient", id="retryable"),
    pytest.param(RateLimited("x", status=429), "transient", id="rate-limited"),
    pytest.param(OutcomeUnknown("x"), "transient", id="outcome-unknown"),
    pytest.param(Permanent("x", status=403), "refused", id="permanent"),
    pytest.param(NotFound("x", status=404), "gone", id="not-found"),
    pytest.param(TicketClosed("x", status=422), "closed", id="ticket-closed"),
]


@pytest.mark.parametrize("error, refusal", ERRORS)
def test_each_error_names_its_refusal(error, refusal) -> None:
    assert error.refusal == refusal


def test_every_recovery_says_what_happens_next() -> None:
    decided = {
        decide_refusal(row.values[0], row.values[1], closed_reopens=row.values[2]) for row in CASES
    }
    assert decided == set(NEXT)
