"""The Jira adapter's exact requests, and how it reads failures, on httpx.MockTransport."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest

from ticketsync.adapters.jira.api import JiraHelpDesk
from ticketsync.adapters.ports import NotFound, OutcomeUnknown, Permanent, RateLimited, Retryable
from ticketsync.events.tickets import Comment, NewTicket

BASE = "https://acme.atlassian.net"
AUTH = "Basic " + base64.b64encode(b"bot@acme.test:tok").decode()
SITE: dict[tuple[str, str], Any] = {
    ("GET", "/rest/api/3/myself"): {"accountId": "712020:bot"},
    ("GET", "/rest/api/3/project/OPS"): {
        "key": "OPS",
        "projectTypeKey": "service_desk",
        "issueTypes": [{"id": "10001", "name": "Task"}],
    },
    ("GET", "/rest/api/3/priority/search"): {
        "isLast": True,
        "values": [
            {"id": str(i), "name": n} for i, n in enumerate(["Highest", "High", "Medium", "Low"])
        ],
    },
    ("GET", "/rest/api/3/project/OPS/components"): [{"id": "7", "name": "Billing Team"}],
}


def desk_with(
    handler: Callable[[httpx.Request], httpx.Response | None],
) -> tuple[JiraHelpDesk, list]:
    seen: list[httpx.Request] = []

    def route(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        assert request.headers["authorization"] == AUTH
        answer = handler(request)
        if answer is not None:
            return answer
        return httpx.Response(200, json=SITE[(request.method, request.url.path)])

    desk = JiraHelpDesk(
        BASE,
        "bot@acme.test",
        "tok",
        project="OPS",
        transport=httpx.MockTransport(route),
        sleep=lambda _: None,
    )
    desk.start()
    return desk, seen


TICKET = NewTicket(
    external_id="conv_42",
    subject="[billing_problem] Charged twice",
    requester=None,
    group="Billing Team",
    priority="urgent",
    tags=("billing", "billing_problem"),
    summary="CUSTOMER ISSUE:\nCharged twice",
)


def test_create_sends_exactly_this() -> None:
    def handler(request: httpx.Request) -> httpx.Response | None:
        if request.method == "POST":
            return httpx.Response(201, json={"id": "10042", "key": "OPS-12", "self": "x"})
        if request.url.path == "/rest/api/3/issue/OPS-12":
            return httpx.Response(
                200,
                json={
                    "key": "OPS-12",
                    "fields": {"status": {"name": "Open", "statusCategory": {"key": "new"}}},
                },
            )
        return None

    desk, seen = desk_with(handler)
    ref = desk.create_ticket(TICKET, idempotency_key="k")
    assert (ref.id, ref.url, ref.status, ref.status_name) == (
        "OPS-12",
        f"{BASE}/browse/OPS-12",
        "new",
        "Open",
    )
    [post] = [r for r in seen if r.method == "POST"]
    assert post.url.path == "/rest/api/3/issue"
    assert orjson.loads(post.content) == {
        "fields": {
            "project": {"key": "OPS"},
            "issuetype": {"id": "10001"},
            "summary": "[billing_problem] Charged twice",
            "priority": {"name": "Highest"},
            "labels": ["billing", "billing_problem", "ticketsync-conv_42"],
            "components": [{"id": "7"}],
            "description": {
                "type": "doc",
                "version": 1,
                "content": [
                    {"type": "paragraph", "content": [{"type": "text", "text": "CUSTOMER ISSUE:"}]},
                    {"type": "paragraph", "content": [{"type": "text", "text": "Charged twice"}]},
                ],
            },
        },
        "properties": [{"key": "ticketsync", "value": {"conversation_id": "conv_42"}}],
    }


def test_internal_note_on_a_service_project_sends_the_property() -> None:
    def handler(request: httpx.Request) -> httpx.Response | None:
        if request.method == "POST":
            return httpx.Response(201, json={"id": "10100"})
        return None

    desk, seen = desk_with(handler)
    desk.add_comment("OPS-12", Comment(body="note", public=False))
    assert orjson.loads(seen[-1].content) == {
        "body": {
            "type": "doc",
            "version": 1,
            "content": [{"type": "paragraph", "content": [{"type": "text", "text": "note"}]}],
        },
        "properties": [{"key": "sd.public.comment", "value": {"internal": True}}],
    }
    assert desk.own_comment_ids() == {"10100"}


FAILURES = [
    pytest.param(httpx.Response(429, headers={"Retry-After": "12"}), RateLimited, 12.0, id="429"),
    pytest.param(httpx.Response(429), RateLimited, None, id="429-no-hint"),
    pytest.param(httpx.Response(503, headers={"Retry-After": "4"}), Retryable, 4.0, id="503"),
    pytest.param(httpx.Response(500), OutcomeUnknown, None, id="500"),
    pytest.param(
        httpx.Response(404, json={"errorMessages": ["Issue does not exist"]}),
        NotFound,
        None,
        id="404",
    ),
    pytest.param(
        httpx.Response(403, json={"errorMessages": ["You do not have permission"], "errors": {}}),
        Permanent,
        None,
        id="403",
    ),
]


@pytest.mark.parametrize("answer, kind, wait", FAILURES)
def test_answers_are_classified(answer: httpx.Response, kind: type, wait: float | None) -> None:
    desk, _ = desk_with(lambda r: answer if r.method == "POST" else None)
    with pytest.raises(kind) as caught:
        desk.add_comment("OPS-12", Comment(body="x", public=True))
    assert type(caught.value) is kind
    assert getattr(caught.value, "retry_after", None) == wait
    if answer.status_code == 403:
        assert caught.value.detail == "Jira answered 403: You do not have permission"


@pytest.mark.parametrize(
    "error, kind",
    [(httpx.ConnectError("refused"), Retryable), (httpx.ReadTimeout("slow"), OutcomeUnknown)],
)
def test_transport_failures(error: Exception, kind: type) -> None:
    def handler(request: httpx.Request) -> httpx.Response | None:
        if request.method == "POST":
            raise error
        return None

    desk, _ = desk_with(handler)
    with pytest.raises(kind) as caught:
        desk.add_comment("OPS-12", Comment(body="x", public=True))
    assert type(caught.value) is kind
