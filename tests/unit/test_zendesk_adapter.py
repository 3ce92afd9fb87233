"""The Zendesk adapter on httpx.MockTransport: exact requests out, answers mapped back."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from ticketsync.adapters.ports import (
    NotFound,
    OutcomeUnknown,
    Permanent,
    RateLimited,
    Retryable,
    TicketClosed,
)
from ticketsync.adapters.zendesk.api import ZendeskHelpDesk
from ticketsync.events.tickets import (
    Comment,
    DeskComment,
    NewTicket,
    Requester,
    TicketChange,
    TicketRef,
)

BASE = "https://acme.zendesk.com"
EMAIL = "bot@acme.test"
TOKEN = "tok-123-secret"
AUTH = "Basic " + base64.b64encode(f"{EMAIL}/token:{TOKEN}".encode()).decode()
SUMMARY = "CUSTOMER ISSUE:\nI was charged twice"


@dataclass
class Step:
    """One expected request and the answer to give it."""

    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    json: Any = None  # The exact body expected; None means no body.
    headers: dict[str, str] = field(default_factory=dict)  # Must be present with these values.
    status: int = 200
    answer: Any = None  # dict: JSON; str/bytes: text/plain; an exception class: raised.
    answer_headers: dict[str, str] = field(default_factory=dict)


class Script:
    """A MockTransport handler that expects exactly `steps`, in order."""

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert self.steps, f"unexpected request {request.method} {request.url}"
        step = self.steps.pop(0)
        assert (request.method, request.url.path) == (step.method, step.path)
        assert request.url.host == "acme.zendesk.com"
        assert dict(request.url.params) == step.params
        assert request.headers["authorization"] == AUTH
        assert request.headers["accept"] == "application/json"
        if step.json is None:
            assert request.content == b""
        else:
            assert request.headers["content-type"] == "application/json"
            assert json.loads(request.content) == step.json
        for name, value in step.headers.items():
            assert request.headers[name] == value
        if "idempotency-key" not in {name.lower() for name in step.headers}:
            assert "idempotency-key" not in request.headers
        if isinstance(step.answer, type) and issubclass(step.answer, Exception):
            raise step.answer("injected", request=request)
        if isinstance(step.answer, (str, bytes)):
            return httpx.Response(
                step.status,
                content=step.answer,
                headers={"content-type": "text/plain; charset=utf-8", **step.answer_headers},
            )
        return httpx.Response(
            step.status,
            json={} if step.answer is None else step.answer,
            headers=step.answer_headers,
        )


@pytest.fixture
def make_desk() -> Iterator[Any]:
    """Build an adapter on a script; at the end, every scripted request must have come."""
    made: list[tuple[ZendeskHelpDesk, Script]] = []

    def make(*steps: Step, **options: Any) -> ZendeskHelpDesk:
        script = Script(*steps)
        desk = ZendeskHelpDesk(BASE, EMAIL, TOKEN, transport=httpx.MockTransport(script), **options)
        made.append((desk, script))
        return desk

    yield make
    for desk, script in made:
        desk.close()
        assert script.steps == [], f"requests never made: {script.steps}"


def new_ticket(**fields: Any) -> NewTicket:
    defaults: dict[str, Any] = {
        "external_id": "conv_42",
        "subject": "[billing_problem] Charged twice",
        "requester": None,
        "group": None,
        "priority": "medium",
        "tags": (),
        "summary": SUMMARY,
    }
    return NewTicket(**{**defaults, **fields})


def created(ticket_id: int = 42, status: str = "new") -> dict[str, Any]:
    return {"ticket": {"id": ticket_id, "status": status, "requester_id": 7}}


def create_step(body: dict[str, Any], key: str = "cmd-1", **answer: Any) -> Step:
    return Step(
        "POST",
        "/api/v2/tickets",
        json={"ticket": body},
        headers={"Idempotency-Key": key},
        status=201,
        answer=answer.get("answer", created()),
    )


def minimal_body(**fields: Any) -> dict[str, Any]:
    return {
        "subject": "[billing_problem] Charged twice",
        "comment": {"body": SUMMARY, "public": False},
        "priority": "normal",
        "tags": [],
        "external_id": "conv_42",
        **fields,
    }


def groups_page(*groups: tuple[int, str], after: str | None = None) -> dict[str, Any]:
    return {
        "groups": [{"id": gid, "name": name} for gid, name in groups],
        "meta": {"has_more": after is not None, "after_cursor": after, "before_cursor": None},
        "links": {"next": f"{BASE}/api/v2/groups?page[after]={after}" if after else None},
    }


GROUPS = Step(
    "GET", "/api/v2/groups", {"page[size]": "100"}, answer=groups_page((5, "Billing Team"))
)
TICKET_PATH = "/api/v2/tickets/42"


# ---------------------------------------------------------------------- create_ticket


def test_create_with_every_field(make_desk: Any) -> None:
    desk = make_desk(
        Step(
            "GET",
            "/api/v2/groups",
            {"page[size]": "100"},
            answer=groups_page((1, "Support Tier 1"), after="c1"),
        ),
        Step(
            "GET",
            "/api/v2/groups",
            {"page[size]": "100", "page[after]": "c1"},
            answer=groups_page((5, "Billing Team")),
        ),
        create_step(
            {
                "subject": "[billing_problem] Charged twice",
                "comment": {"body": SUMMARY, "public": False},
                "requester": {"name": "Rita", "email": "rita@example.com"},
                "priority": "high",
                "group_id": 5,
                "tags": ["billing", "urgent", "billing_problem"],
                "external_id": "conv_42",
                "custom_fields": [
                    {"id": 9001, "value": "conv_42"},
                    {"id": 9002, "value": SUMMARY},
                ],
            },
            answer={"ticket": {"id": 42, "status": "new"}},
        ),
        conversation_field_id=9001,
        summary_field_id=9002,
    )

    ref = desk.create_ticket(
        new_ticket(
            requester=Requester(name="Rita", email="rita@example.com", external_id="cust_1"),
            group="Billing Team",
            priority="high",
            tags=("billing", "urgent", "billing_problem"),
        ),
        idempotency_key="cmd-1",
    )

    assert ref == TicketRef(system="zendesk", id="42", url=f"{BASE}/agent/tickets/42", status="new")


def test_create_with_nothing_optional(make_desk: Any) -> None:
    desk = make_desk(create_step(minimal_body()))

    assert desk.create_ticket(new_ticket(), idempotency_key="cmd-1").id == "42"


@pytest.mark.parametrize(
    "requester, expected",
    [
        pytest.param(Requester(name="Rita"), {"name": "Rita"}, id="name-only"),
        pytest.param(Requester(email="r@example.com"), {"email": "r@example.com"}, id="email-only"),
        pytest.param(Requester(external_id="cust_1"), None, id="neither"),
        pytest.param(None, None, id="none"),
    ],
)
def test_requester_sends_only_what_is_set(
    make_desk: Any, requester: Requester | None, expected: dict[str, str] | None
) -> None:
    body = minimal_body() if expected is None else minimal_body(requester=expected)
    desk = make_desk(create_step(body))

    desk.create_ticket(new_ticket(requester=requester), idempotency_key="cmd-1")


@pytest.mark.parametrize(
    "ours, theirs", [("low", "low"), ("medium", "normal"), ("high", "high"), ("urgent", "urgent")]
)
def test_priority_mapping(make_desk: Any, ours: str, theirs: str) -> None:
    desk = make_desk(create_step(minimal_body(priority=theirs)))

    desk.create_ticket(new_ticket(priority=ours), idempotency_key="cmd-1")


def test_groups_are_read_once(make_desk: Any) -> None:
    desk = make_desk(
        GROUPS,
        create_step(minimal_body(group_id=5), key="cmd-1"),
        create_step(minimal_body(group_id=5), key="cmd-2"),
    )

    desk.create_ticket(new_ticket(group="Billing Team"), idempotency_key="cmd-1")
    desk.create_ticket(new_ticket(group="Billing Team"), idempotency_key="cmd-2")


def test_unknown_group_is_left_out_and_logged(
    make_desk: Any, caplog: pytest.LogCaptureFixture
) -> None:
    desk = make_desk(
        GROUPS,
        create_step(minimal_body(), key="cmd-1"),
        create_step(minimal_body(), key="cmd-2"),  # No second group read within the window.
    )

    with caplog.at_level(logging.WARNING, logger="ticketsync.adapters.zendesk"):
        desk.create_ticket(new_ticket(group="Nobody"), idempotency_key="cmd-1")
        desk.create_ticket(new_ticket(group="Nobody"), idempotency_key="cmd-2")

    warnings = [r for r in caplog.records if r.getMessage() == "zendesk.group_unknown"]
    assert [r.group_name for r in warnings] == ["Nobody", "Nobody"]  # type: ignore[attr-defined]


def test_follow_up_names_the_closed_ticket(make_desk: Any) -> None:
    desk = make_desk(create_step(minimal_body(via_followup_source_id=41)))

    desk.create_ticket(new_ticket(follow_up_of="41"), idempotency_key="cmd-1")


def test_create_answer_without_json_is_an_unknown_outcome(make_desk: Any) -> None:
    desk = make_desk(create_step(minimal_body(), answer="Created"))

    with pytest.raises(OutcomeUnknown) as raised:
        desk.create_ticket(new_ticket(), idempotency_key="cmd-1")
    assert raised.value.status == 201


# ---------------------------------------------------------------------- find_tickets


def test_find_tickets_follows_pages_and_sorts_oldest_first(make_desk: Any) -> None:
    query = {"external_id": "conv_42", "page[size]": "100"}
    desk = make_desk(
        Step(
            "GET",
            "/api/v2/tickets",
            query,
            answer={
                "tickets": [{"id": 9, "status": "open"}, {"id": 3, "status": "closed"}],
                "meta": {"has_more": True, "after_cursor": "xyz"},
            },
        ),
        Step(
            "GET",
            "/api/v2/tickets",
            {**query, "page[after]": "xyz"},
            answer={"tickets": [{"id": 5, "status": "weird"}], "meta": {"has_more": False}},
        ),
    )

    refs = desk.find_tickets("conv_42")

    assert refs == [
        TicketRef(system="zendesk", id="3", url=f"{BASE}/agent/tickets/3", status="closed"),
        TicketRef(system="zendesk", id="5", url=f"{BASE}/agent/tickets/5", status=None),
        TicketRef(system="zendesk", id="9", url=f"{BASE}/agent/tickets/9", status="open"),
    ]


def test_find_tickets_none(make_desk: Any) -> None:
    desk = make_desk(
        Step(
            "GET",
            "/api/v2/tickets",
            {"external_id": "conv_42", "page[size]": "100"},
            answer={"tickets": [], "meta": {"has_more": False, "after_cursor": None}},
        )
    )

    assert desk.find_tickets("conv_42") == []


# ---------------------------------------------------------------------- comments


def test_internal_note(make_desk: Any) -> None:
    desk = make_desk(
        Step(
            "PUT",
            TICKET_PATH,
            json={"ticket": {"comment": {"body": "Tool ran", "public": False}}},
            answer=created(),
        )
    )

    desk.add_comment("42", Comment(body="Tool ran", public=False))


def test_requester_comment_is_authored_by_the_requester_once_looked_up(make_desk: Any) -> None:
    comment = {"body": "Still broken", "public": True, "author_id": 7}
    desk = make_desk(
        Step("GET", TICKET_PATH, answer=created()),
        Step("PUT", TICKET_PATH, json={"ticket": {"comment": comment}}, answer=created()),
        Step("PUT", TICKET_PATH, json={"ticket": {"comment": comment}}, answer=created()),
    )

    for _ in range(2):
        desk.add_comment("42", Comment(body="Still broken", public=True, by_requester=True))


def test_a_comment_that_keeps_the_status_sends_it_in_the_same_update(make_desk: Any) -> None:
    comment = {"body": "One more detail", "public": True, "author_id": 7}
    desk = make_desk(
        Step("GET", TICKET_PATH, answer=created()),
        Step(
            "PUT",
            TICKET_PATH,
            json={"ticket": {"comment": comment, "status": "solved"}},
            answer=created(),
        ),
    )

    desk.add_comment(
        "42",
        Comment(body="One more detail", public=True, by_requester=True, keep_status="solved"),
    )


def comments_page(*bodies: str, after: str | None = None) -> dict[str, Any]:
    return {
        "comments": [{"id": n, "body": b, "public": True} for n, b in enumerate(bodies)],
        "meta": {"has_more": after is not None, "after_cursor": after},
    }


COMMENTS = "/api/v2/tickets/42/comments"
NEWEST_FIRST = {"sort": "-created_at", "page[size]": "100"}


def test_has_comment_reads_pages_until_found(make_desk: Any) -> None:
    desk = make_desk(
        Step("GET", COMMENTS, NEWEST_FIRST, answer=comments_page("c", "b", after="p2")),
        Step("GET", COMMENTS, {**NEWEST_FIRST, "page[after]": "p2"}, answer=comments_page("a")),
    )

    assert desk.has_comment("42", "a") is True


@pytest.mark.parametrize("body", ["a ", "A", ""])
def test_has_comment_compares_exactly(make_desk: Any, body: str) -> None:
    desk = make_desk(Step("GET", COMMENTS, NEWEST_FIRST, answer=comments_page("b", "a")))

    assert desk.has_comment("42", body) is False


def test_has_comment_stops_at_the_first_match(make_desk: Any) -> None:
    desk = make_desk(Step("GET", COMMENTS, NEWEST_FIRST, answer=comments_page("a", after="p2")))

    assert desk.has_comment("42", "a") is True


# ---------------------------------------------------------------------- change_ticket


def test_change_every_field(make_desk: Any) -> None:
    desk = make_desk(
        Step(
            "PUT", "/api/v2/tickets/42/tags", json={"tags": ["vip", "churn"]}, answer={"tags": []}
        ),
        GROUPS,
        Step(
            "PUT",
            TICKET_PATH,
            json={
                "ticket": {
                    "priority": "normal",
                    "group_id": 5,
                    "assignee_id": 1234,
                    "status": "pending",
                }
            },
            answer=created(status="pending"),
        ),
    )

    ref = desk.change_ticket(
        "42",
        TicketChange(
            status="pending",
            priority="medium",
            group="Billing Team",
            assignee="1234",
            add_tags=("vip", "churn"),
        ),
    )

    assert ref == TicketRef(
        system="zendesk", id="42", url=f"{BASE}/agent/tickets/42", status="pending"
    )


def test_change_only_tags_reads_the_ticket_after(make_desk: Any) -> None:
    desk = make_desk(
        Step("PUT", "/api/v2/tickets/42/tags", json={"tags": ["bug"]}, answer={"tags": ["bug"]}),
        Step("GET", TICKET_PATH, answer=created(status="open")),
    )

    assert desk.change_ticket("42", TicketChange(add_tags=("bug",))).status == "open"


def test_non_numeric_assignee_is_sent_as_given(make_desk: Any) -> None:
    desk = make_desk(
        Step("PUT", TICKET_PATH, json={"ticket": {"assignee_id": "agent-x"}}, answer=created())
    )

    desk.change_ticket("42", TicketChange(assignee="agent-x"))


CANNOT_CLOSE = {
    "error": "RecordInvalid",
    "description": "Record validation errors",
    "details": {"status": [{"description": "Status: open cannot change to closed"}]},
}
CLOSED = {
    "error": "RecordInvalid",
    "description": "Record validation errors",
    "details": {"status": [{"description": "Status: closed prevents ticket update"}]},
}


def test_close_goes_through_solved_when_refused(make_desk: Any) -> None:
    desk = make_desk(
        Step(
            "PUT",
            TICKET_PATH,
            json={"ticket": {"priority": "low", "status": "closed"}},
            status=422,
            answer=CANNOT_CLOSE,
        ),
        Step(
            "PUT",
            TICKET_PATH,
            json={"ticket": {"priority": "low", "status": "solved"}},
            answer=created(status="solved"),
        ),
        Step(
            "PUT",
            TICKET_PATH,
            json={"ticket": {"status": "closed"}},
            answer=created(status="closed"),
        ),
    )

    ref = desk.change_ticket("42", TicketChange(status="closed", priority="low"))

    assert ref.status == "closed"


def test_closing_a_closed_ticket_is_done(make_desk: Any) -> None:
    desk = make_desk(
        Step("PUT", TICKET_PATH, json={"ticket": {"status": "closed"}}, status=422, answer=CLOSED)
    )

    ref = desk.change_ticket("42", TicketChange(status="closed"))

    assert ref == TicketRef(
        system="zendesk", id="42", url=f"{BASE}/agent/tickets/42", status="closed"
    )


def test_changing_a_closed_ticket_is_refused(make_desk: Any) -> None:
    desk = make_desk(
        Step("PUT", TICKET_PATH, json={"ticket": {"priority": "high"}}, status=422, answer=CLOSED)
    )

    with pytest.raises(TicketClosed):
        desk.change_ticket("42", TicketChange(priority="high"))


def test_other_refusals_of_a_close_are_not_retried_as_solved(make_desk: Any) -> None:
    desk = make_desk(
        Step("PUT", TICKET_PATH, json={"ticket": {"status": "closed"}}, status=403, answer="no")
    )

    with pytest.raises(Permanent):
        desk.change_ticket("42", TicketChange(status="closed"))


# ---------------------------------------------------------------------- api_user_id, ids


def test_api_user_id_is_read_once(make_desk: Any) -> None:
    desk = make_desk(Step("GET", "/api/v2/users/me", answer={"user": {"id": 10001}}))

    assert desk.api_user_id() == "10001"
    assert desk.api_user_id() == "10001"


@pytest.mark.parametrize("ticket_id", ["abc", "../groups", "4 2", "", "-1"])
def test_a_ticket_id_zendesk_cannot_have_is_not_found_without_a_request(
    make_desk: Any, ticket_id: str
) -> None:
    desk = make_desk()

    with pytest.raises(NotFound) as raised:
        desk.add_comment(ticket_id, Comment(body="x", public=False))
    assert raised.value.status is None


SHOW = {"include": "users,groups"}
LIST = {"include": "users", "sort": "-created_at", "page[size]": "100"}


def shown_ticket(**fields: Any) -> dict[str, Any]:
    ticket = {
        "id": 42,
        "status": "open",
        "priority": "normal",
        "group_id": 20001,
        "assignee_id": 10002,
        "requester_id": 10003,
        "external_id": "conv_1",
        "updated_at": "2026-11-25T10:07:31Z",
        **fields,
    }
    return {
        "ticket": ticket,
        "users": [
            {"id": 10002, "name": "Avery Agent", "role": "agent"},
            {"id": 10003, "name": "Cy Customer", "role": "end-user"},
        ],
        "groups": [{"id": 20001, "name": "Billing Team"}],
    }


def listed(*comments: dict[str, Any], users: list[dict[str, Any]] | None = None) -> dict:
    return {
        "comments": list(comments),
        "users": users
        if users is not None
        else [
            {"id": 10001, "name": "Ticketsync API", "role": "agent"},
            {"id": 10002, "name": "Avery Agent", "role": "agent"},
            {"id": 10003, "name": "Cy Customer", "role": "end-user"},
            {"id": 10004, "name": "Ada Admin", "role": "admin"},
        ],
        "meta": {"has_more": True, "after_cursor": "xyz"},
    }


def listed_comment(comment_id: int, author_id: Any, *, public: bool = True, **more: Any) -> dict:
    return {
        "id": comment_id,
        "type": "Comment",
        "author_id": author_id,
        "body": f"comment {comment_id}",
        "public": public,
        "created_at": f"2026-11-25T10:0{comment_id % 10}:00Z",
        **more,
    }


def test_read_ticket_shows_what_the_api_says(make_desk: Any) -> None:
    """The ticket first, then its newest comments, each author's role from the sideload."""
    desk = make_desk(
        Step("GET", "/api/v2/tickets/42", params=SHOW, answer=shown_ticket()),
        Step(
            "GET",
            "/api/v2/tickets/42/comments",
            params=LIST,
            answer=listed(
                listed_comment(4, 10004),
                listed_comment(3, 10003),
                listed_comment(2, 10002, public=False),
                listed_comment(1, 10001, public=False),
            ),
        ),
    )

    snapshot = desk.read_ticket("42")

    assert snapshot is not None
    assert (snapshot.status, snapshot.priority) == ("open", "medium")
    assert (snapshot.group_id, snapshot.group) == ("20001", "Billing Team")
    assert (snapshot.assignee_id, snapshot.assignee) == ("10002", "Avery Agent")
    assert snapshot.updated_at == datetime(2026, 11, 25, 10, 7, 31, tzinfo=UTC)
    # oldest first, as a help desk's events come
    assert [(c.id, c.author_id, c.author_is_agent, c.public) for c in snapshot.comments] == [
        ("1", "10001", True, False),
        ("2", "10002", True, False),
        ("3", "10003", False, True),
        ("4", "10004", True, True),
    ]
    assert snapshot.comments[2] == DeskComment(
        id="3",
        body="comment 3",
        public=True,
        author_id="10003",
        author_name="Cy Customer",
        author_is_agent=False,
        created_at=datetime(2026, 11, 25, 10, 3, tzinfo=UTC),
    )


def test_a_read_since_a_time_leaves_out_older_comments(make_desk: Any) -> None:
    desk = make_desk(
        Step("GET", "/api/v2/tickets/42", params=SHOW, answer=shown_ticket()),
        Step(
            "GET",
            "/api/v2/tickets/42/comments",
            params=LIST,
            answer=listed(
                listed_comment(4, 10004),
                listed_comment(3, 10003),
                listed_comment(2, 10002, created_at=None),
                listed_comment(1, 10001),
            ),
        ),
    )

    snapshot = desk.read_ticket("42", since=datetime(2026, 11, 25, 10, 3, tzinfo=UTC))

    assert snapshot is not None
    # 10:03 is kept (the same second as the state last read), 10:01 left out; a comment
    # without a readable time is kept rather than lost.
    assert [c.id for c in snapshot.comments] == ["2", "3", "4"]


def test_an_author_zendesk_does_not_show_is_no_agent(make_desk: Any) -> None:
    desk = make_desk(
        Step("GET", "/api/v2/tickets/42", params=SHOW, answer=shown_ticket(group_id=None)),
        Step(
            "GET",
            "/api/v2/tickets/42/comments",
            params=LIST,
            answer=listed(
                listed_comment(5, 10009), listed_comment(6, "10002"), users=[{"id": 10009}]
            ),
        ),
    )

    snapshot = desk.read_ticket("42")

    assert snapshot is not None
    assert [(c.author_id, c.author_is_agent) for c in snapshot.comments] == [
        (None, False),
        ("10009", False),
    ]
    assert (snapshot.group_id, snapshot.group) == (None, None)


@pytest.mark.parametrize("where", ["/api/v2/tickets/42", "/api/v2/tickets/42/comments"])
def test_a_deleted_ticket_reads_as_none(make_desk: Any, where: str) -> None:
    steps = [Step("GET", "/api/v2/tickets/42", params=SHOW, answer=shown_ticket())]
    if where.endswith("comments"):
        steps.append(
            Step("GET", where, params=LIST, status=404, answer={"error": "RecordNotFound"})
        )
    else:
        steps = [Step("GET", where, params=SHOW, status=404, answer={"error": "RecordNotFound"})]
    assert make_desk(*steps).read_ticket("42") is None


@pytest.mark.parametrize("ticket_id", ["abc", "../groups", ""])
def test_reading_a_ticket_id_zendesk_cannot_have_asks_nothing(
    make_desk: Any, ticket_id: str
) -> None:
    assert make_desk().read_ticket(ticket_id) is None


def test_a_read_refused_for_a_while_is_retried(make_desk: Any) -> None:
    desk = make_desk(
        Step(
            "GET",
            "/api/v2/tickets/42",
            params=SHOW,
            status=429,
            answer={"error": "APIRateLimitExceeded"},
            answer_headers={"Retry-After": "7"},
        )
    )
    with pytest.raises(RateLimited) as raised:
        desk.read_ticket("42")
    assert raised.value.retry_after == 7


def test_repr_hides_the_token(make_desk: Any) -> None:
    assert TOKEN not in repr(make_desk())


# ---------------------------------------------------------------------- error mapping

JSON_ERROR = {"error": "InvalidEndpoint", "description": "Not found"}

HTTP_ERRORS = [
    pytest.param(429, {"Retry-After": "7"}, None, RateLimited, 7.0, id="429-retry-after"),
    pytest.param(429, {}, None, RateLimited, 60.0, id="429-no-retry-after"),
    pytest.param(429, {"Retry-After": "soon"}, None, RateLimited, 60.0, id="429-unparsable"),
    pytest.param(429, {"Retry-After": "-3"}, None, RateLimited, 60.0, id="429-negative"),
    pytest.param(
        429,
        {"Retry-After": "Sun, 06 Nov 1994 08:49:37 GMT"},
        None,
        RateLimited,
        0.0,
        id="429-date-in-the-past",
    ),
    pytest.param(429, {}, "Too many requests", RateLimited, 60.0, id="429-text-body"),
    pytest.param(503, {"Retry-After": "30"}, None, Retryable, 30.0, id="503-retry-after"),
    pytest.param(503, {}, None, Retryable, None, id="503"),
    pytest.param(500, {}, None, OutcomeUnknown, None, id="500"),
    pytest.param(502, {"Retry-After": "5"}, "Bad gateway", OutcomeUnknown, 5.0, id="502-text"),
    pytest.param(504, {}, None, OutcomeUnknown, None, id="504"),
    pytest.param(404, {}, {"error": "RecordNotFound"}, NotFound, None, id="404"),
    pytest.param(422, {}, CLOSED, TicketClosed, None, id="422-closed"),
    pytest.param(
        422,
        {},
        {
            "error": "RecordInvalid",
            "details": {"base": [{"description": "Status: closed prevents ticket update"}]},
        },
        TicketClosed,
        None,
        id="422-closed-under-base",
    ),
    pytest.param(
        422, {}, "closed prevents ticket update", TicketClosed, None, id="422-closed-text"
    ),
    pytest.param(422, {}, CANNOT_CLOSE, Permanent, None, id="422-other"),
    pytest.param(
        422,
        {},
        {
            "error": "RecordInvalid",
            "details": {"subject": [{"description": "closed prevents ticket update"}]},
        },
        Permanent,
        None,
        id="422-closed-words-under-another-field",
    ),
    pytest.param(401, {}, "Couldn't authenticate you", Permanent, None, id="401-text"),
    pytest.param(
        403,
        {},
        {"error": {"title": "Forbidden", "message": "No access"}},
        Permanent,
        None,
        id="403",
    ),
    pytest.param(400, {}, None, Permanent, None, id="400"),
    pytest.param(409, {}, None, Permanent, None, id="409"),
]


@pytest.mark.parametrize("status, headers, body, error_class, retry_after", HTTP_ERRORS)
def test_http_errors(
    make_desk: Any,
    status: int,
    headers: dict[str, str],
    body: Any,
    error_class: type[Exception],
    retry_after: float | None,
) -> None:
    answer = {"error": "Failure", "description": f"answer {status}"} if body is None else body
    desk = make_desk(
        Step(
            "PUT",
            TICKET_PATH,
            json={"ticket": {"comment": {"body": "x", "public": False}}},
            status=status,
            answer=answer,
            answer_headers=headers,
        )
    )

    with pytest.raises(error_class) as raised:
        desk.add_comment("42", Comment(body="x", public=False))

    error = raised.value
    assert type(error) is error_class
    assert error.status == status  # type: ignore[attr-defined]
    assert getattr(error, "retry_after", None) == retry_after
    assert str(status) in error.detail  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "body, expected",
    [
        pytest.param(
            {"error": "IdempotentRequestError", "description": "Request parameters don't match"},
            "IdempotentRequestError; Request parameters don't match",
            id="json",
        ),
        pytest.param(CANNOT_CLOSE, "status: Status: open cannot change to closed", id="details"),
        pytest.param(
            {"error": {"title": "Forbidden", "message": "No"}}, "Forbidden; No", id="object"
        ),
        pytest.param("Couldn't  authenticate\nyou", "Couldn't authenticate you", id="text"),
        pytest.param("x" * 2000, "x" * 400, id="long-text"),
    ],
)
def test_permanent_detail_carries_zendesks_words(make_desk: Any, body: Any, expected: str) -> None:
    desk = make_desk(Step("GET", "/api/v2/users/me", status=400, answer=body))

    with pytest.raises(Permanent) as raised:
        desk.api_user_id()

    assert expected in raised.value.detail
    assert len(raised.value.detail) < 600


TRANSPORT_ERRORS = [
    pytest.param(httpx.ConnectError, Retryable, id="connection-refused"),
    pytest.param(httpx.ConnectTimeout, Retryable, id="connect-timeout"),
    pytest.param(httpx.PoolTimeout, Retryable, id="pool-timeout"),
    pytest.param(httpx.ReadTimeout, OutcomeUnknown, id="read-timeout"),
    pytest.param(httpx.WriteTimeout, OutcomeUnknown, id="write-timeout"),
    pytest.param(httpx.ReadError, OutcomeUnknown, id="reset-after-sending"),
    pytest.param(httpx.RemoteProtocolError, OutcomeUnknown, id="disconnected-without-answer"),
    pytest.param(httpx.UnsupportedProtocol, Permanent, id="bad-url-scheme"),
]


@pytest.mark.parametrize("failure, error_class", TRANSPORT_ERRORS)
def test_transport_errors(
    make_desk: Any, failure: type[Exception], error_class: type[Exception]
) -> None:
    desk = make_desk(
        Step(
            "POST",
            "/api/v2/tickets",
            json={"ticket": minimal_body()},
            headers={"Idempotency-Key": "cmd-1"},
            answer=failure,
        )
    )

    with pytest.raises(error_class) as raised:
        desk.create_ticket(new_ticket(), idempotency_key="cmd-1")

    assert type(raised.value) is error_class
    assert raised.value.status is None  # type: ignore[attr-defined]
    assert isinstance(raised.value.__cause__, failure)


def test_get_answer_without_json_is_retryable(make_desk: Any) -> None:
    desk = make_desk(Step("GET", "/api/v2/users/me", answer="<html>maintenance</html>"))

    with pytest.raises(Retryable) as raised:
        desk.api_user_id()
    assert type(raised.value) is Retryable
    assert raised.value.status == 200


# ---------------------------------------------------------------------- logging


def test_logs_carry_ids_but_no_bodies_or_secrets(
    make_desk: Any, caplog: pytest.LogCaptureFixture
) -> None:
    desk = make_desk(
        create_step(minimal_body()),
        Step(
            "PUT",
            TICKET_PATH,
            json={"ticket": {"comment": {"body": "private words", "public": False}}},
            status=422,
            answer=CLOSED,
        ),
    )

    with caplog.at_level(logging.DEBUG, logger="ticketsync.adapters.zendesk"):
        desk.create_ticket(new_ticket(), idempotency_key="cmd-1")
        with pytest.raises(TicketClosed):
            desk.add_comment("42", Comment(body="private words", public=False))

    assert [r.getMessage() for r in caplog.records] == [
        "zendesk.request",
        "zendesk.ticket_created",
        "zendesk.request_refused",
    ]
    created_record = caplog.records[1]
    assert created_record.zendesk_ticket_id == "42"  # type: ignore[attr-defined]
    assert created_record.conversation_id == "conv_42"  # type: ignore[attr-defined]
    everything = repr([vars(r) for r in caplog.records])
    for secret in (TOKEN, AUTH, SUMMARY, "private words", "charged"):
        assert secret not in everything
