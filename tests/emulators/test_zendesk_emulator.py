"""The Zendesk emulator, exercised over real HTTP with httpx, as end-to-end tests will use it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from .zendesk import DEFAULT_GROUPS, ApiError, ZendeskEmulator, serve

EMAIL = "sync-bot@example.com"
TOKEN = "s3cret-token"
START = datetime(2024, 5, 1, 12, 0, 30, tzinfo=UTC)


class FakeClock:
    """A settable clock for the emulator, so tests can step past the idempotency window."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def emulator(clock: FakeClock) -> ZendeskEmulator:
    return ZendeskEmulator(email=EMAIL, api_token=TOKEN, clock=clock)


@pytest.fixture
def base_url(emulator: ZendeskEmulator) -> Iterator[str]:
    with serve(emulator) as url:
        yield url


@pytest.fixture
def client(base_url: str, emulator: ZendeskEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, auth=emulator.auth, timeout=5) as c:
        yield c


def new_ticket(**fields: Any) -> dict[str, Any]:
    return {"ticket": {"subject": "Help", "comment": {"body": "It broke"}, **fields}}


def create(client: httpx.Client, **fields: Any) -> dict[str, Any]:
    response = client.post("/api/v2/tickets", json=new_ticket(**fields))
    assert response.status_code == 201, response.text
    return response.json()["ticket"]


def update(client: httpx.Client, ticket_id: int, **fields: Any) -> httpx.Response:
    return client.put(f"/api/v2/tickets/{ticket_id}", json={"ticket": fields})


def closed_ticket(client: httpx.Client) -> dict[str, Any]:
    ticket = create(client, tags=["vip", "billing"])
    assert update(client, ticket["id"], status="solved").status_code == 200
    assert update(client, ticket["id"], status="closed").status_code == 200
    return ticket


def assert_zendesk_headers(response: httpx.Response) -> None:
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert int(response.headers["x-rate-limit"]) == 700
    assert 0 <= int(response.headers["x-rate-limit-remaining"]) < 700


CLOSED_BODY = {
    "error": "RecordInvalid",
    "description": "Record validation errors",
    "details": {"status": [{"description": "Status: closed prevents ticket update"}]},
}


# ---------------------------------------------------------------------- creating tickets


def test_create_with_every_field(
    client: httpx.Client, emulator: ZendeskEmulator, base_url: str
) -> None:
    billing = emulator.group_id("Billing Team")
    payload = {
        "ticket": {
            "subject": "Refund for order 42",
            "comment": {
                "body": "I was charged twice",
                "public": False,
                "author_id": emulator.agent_id,
            },
            "requester": {"name": "Rita Requester", "email": "rita@example.com"},
            "priority": "high",
            "status": "open",
            "type": "incident",
            "group_id": billing,
            "assignee_id": emulator.agent_id,
            "tags": ["refund", "chat", "refund"],
            "external_id": "conv-42",
            "custom_fields": [{"id": 360001, "value": "gold"}],
        }
    }

    response = client.post("/api/v2/tickets", json=payload)

    assert response.status_code == 201
    assert_zendesk_headers(response)
    ticket = response.json()["ticket"]
    assert response.headers["location"] == ticket["url"]
    assert ticket["url"] == f"{base_url}/api/v2/tickets/{ticket['id']}.json"
    [rita] = [u for u in emulator.users() if u["email"] == "rita@example.com"]
    assert rita["role"] == "end-user"
    assert {k: ticket[k] for k in payload["ticket"] if k not in ("comment", "requester")} == {
        "subject": "Refund for order 42",
        "priority": "high",
        "status": "open",
        "type": "incident",
        "group_id": billing,
        "assignee_id": emulator.agent_id,
        "tags": ["refund", "chat"],
        "external_id": "conv-42",
        "custom_fields": [{"id": 360001, "value": "gold"}],
    }
    assert isinstance(ticket["id"], int)
    assert ticket["requester_id"] == rita["id"]
    assert ticket["submitter_id"] == emulator.api_user_id
    assert ticket["description"] == "I was charged twice"
    assert ticket["is_public"] is False
    assert ticket["created_at"] == ticket["updated_at"] == "2024-05-01T12:00:30Z"
    [comment] = emulator.comments(ticket["id"])
    assert (comment["body"], comment["public"], comment["author_id"]) == (
        "I was charged twice",
        False,
        emulator.agent_id,
    )
    assert client.get(f"/api/v2/tickets/{ticket['id']}").json() == {"ticket": ticket}


def test_create_defaults(client: httpx.Client, emulator: ZendeskEmulator) -> None:
    ticket = create(client)

    assert ticket["status"] == "new"
    assert ticket["priority"] is None
    assert ticket["tags"] == []
    assert ticket["requester_id"] == emulator.api_user_id
    [comment] = emulator.comments(ticket["id"])
    # ref §3: public by default, authored by the authenticated user.
    assert comment["public"] is True
    assert comment["author_id"] == emulator.api_user_id


def test_requester_email_finds_the_existing_user(client: httpx.Client) -> None:
    first = create(client, requester={"name": "Rita", "email": "rita@example.com"})
    second = create(client, requester={"name": "R.", "email": "RITA@example.com"})

    assert first["requester_id"] == second["requester_id"]


def test_html_body_fills_the_plain_body(client: httpx.Client, emulator: ZendeskEmulator) -> None:
    ticket = create(client, comment={"html_body": "<p>Hello <b>there</b></p>"})

    [comment] = emulator.comments(ticket["id"])
    assert comment["body"] == "Hello there"
    assert comment["html_body"] == "<p>Hello <b>there</b></p>"


@pytest.mark.parametrize(
    "fields, detail",
    [
        pytest.param({"priority": "asap"}, "priority", id="bad-priority"),
        pytest.param({"status": "done"}, "status", id="bad-status"),
        pytest.param({"comment": {"body": ""}}, "description", id="no-comment"),
        pytest.param({"group_id": 1}, "group_id", id="unknown-group"),
        pytest.param({"requester_id": 999}, "requester_id", id="unknown-requester"),
    ],
)
def test_create_refuses_invalid_fields(
    client: httpx.Client, emulator: ZendeskEmulator, fields: dict[str, Any], detail: str
) -> None:
    response = client.post("/api/v2/tickets", json=new_ticket(**fields))

    assert response.status_code == 422
    assert_zendesk_headers(response)
    assert response.json()["error"] == "RecordInvalid"
    assert list(response.json()["details"]) == [detail]
    assert emulator.tickets() == []


def test_assignee_must_be_an_agent(client: httpx.Client, emulator: ZendeskEmulator) -> None:
    end_user = emulator.add_user("Eve", "eve@example.com")

    response = client.post("/api/v2/tickets", json=new_ticket(assignee_id=end_user["id"]))

    assert response.status_code == 422
    assert emulator.tickets() == []


# ---------------------------------------------------------------------- idempotency


def test_idempotency_miss_then_hit_creates_once(
    client: httpx.Client, emulator: ZendeskEmulator
) -> None:
    headers = {"Idempotency-Key": "cmd-1"}

    first = client.post("/api/v2/tickets", json=new_ticket(), headers=headers)
    replay = client.post("/api/v2/tickets", json=new_ticket(), headers=headers)

    assert first.status_code == replay.status_code == 201
    assert first.headers["x-idempotency-lookup"] == "miss"
    assert replay.headers["x-idempotency-lookup"] == "hit"
    assert replay.json() == first.json()
    assert replay.headers["location"] == first.headers["location"]
    assert len(emulator.tickets()) == 1
    assert len(emulator.creates()) == 2


def test_idempotency_key_with_a_different_body_is_refused(
    client: httpx.Client, emulator: ZendeskEmulator
) -> None:
    headers = {"Idempotency-Key": "cmd-1"}
    client.post("/api/v2/tickets", json=new_ticket(), headers=headers)

    response = client.post("/api/v2/tickets", json=new_ticket(subject="Other"), headers=headers)

    assert response.status_code == 400
    assert_zendesk_headers(response)
    assert response.json() == {
        "error": "IdempotentRequestError",
        "description": "Request parameters don't match the given idempotency key",
    }
    assert len(emulator.tickets()) == 1


def test_idempotency_key_expires_after_two_hours(
    client: httpx.Client, emulator: ZendeskEmulator, clock: FakeClock
) -> None:
    headers = {"Idempotency-Key": "cmd-1"}
    client.post("/api/v2/tickets", json=new_ticket(), headers=headers)
    clock.advance(timedelta(hours=1, minutes=59))
    assert (
        client.post("/api/v2/tickets", json=new_ticket(), headers=headers).headers[
            "x-idempotency-lookup"
        ]
        == "hit"
    )

    clock.advance(timedelta(minutes=1))
    response = client.post("/api/v2/tickets", json=new_ticket(), headers=headers)

    assert response.headers["x-idempotency-lookup"] == "miss"
    assert len(emulator.tickets()) == 2


def test_refused_create_does_not_use_up_the_key(
    client: httpx.Client, emulator: ZendeskEmulator
) -> None:
    headers = {"Idempotency-Key": "cmd-1"}
    bad = client.post("/api/v2/tickets", json=new_ticket(priority="asap"), headers=headers)

    good = client.post("/api/v2/tickets", json=new_ticket(), headers=headers)

    assert (bad.status_code, good.status_code) == (422, 201)
    assert good.headers["x-idempotency-lookup"] == "miss"


# ---------------------------------------------------------------------- auth and routing


@pytest.mark.parametrize(
    "auth",
    [
        pytest.param((f"{EMAIL}/token", "wrong"), id="wrong-token"),
        pytest.param(("other@example.com/token", TOKEN), id="wrong-email"),
        pytest.param((EMAIL, TOKEN), id="password-style-username"),
        pytest.param(None, id="no-credentials"),
    ],
)
def test_bad_credentials_get_401(
    base_url: str, emulator: ZendeskEmulator, auth: tuple[str, str] | None
) -> None:
    with httpx.Client(base_url=base_url, auth=auth) as client:
        response = client.post("/api/v2/tickets", json=new_ticket())

    assert response.status_code == 401
    assert_zendesk_headers(response)
    assert response.json() == {"error": "Couldn't authenticate you"}
    assert emulator.tickets() == []
    assert len(emulator.creates()) == 1  # Recorded all the same.


def test_missing_ticket_is_404(client: httpx.Client) -> None:
    response = client.get("/api/v2/tickets/12345")

    assert response.status_code == 404
    assert_zendesk_headers(response)
    assert response.json() == {"error": "RecordNotFound", "description": "Not found"}


def test_unknown_route_and_wrong_method_answer_json(client: httpx.Client) -> None:
    unknown = client.get("/api/v2/macros")
    wrong_method = client.delete("/api/v2/groups")

    assert (unknown.status_code, wrong_method.status_code) == (404, 405)
    assert_zendesk_headers(unknown)
    assert_zendesk_headers(wrong_method)


def test_json_suffix_paths_work(client: httpx.Client) -> None:
    ticket = create(client)

    assert client.get(f"/api/v2/tickets/{ticket['id']}.json").json()["ticket"]["id"] == ticket["id"]


# ---------------------------------------------------------------------- status rules


def test_closed_ticket_refuses_any_update(client: httpx.Client, emulator: ZendeskEmulator) -> None:
    ticket = closed_ticket(client)

    response = update(client, ticket["id"], comment={"body": "One more thing", "public": False})

    assert response.status_code == 422
    assert_zendesk_headers(response)
    assert response.json() == CLOSED_BODY
    assert len(emulator.comments(ticket["id"])) == 1


def test_the_close_automation_closes_solved_tickets_only(
    client: httpx.Client, emulator: ZendeskEmulator
) -> None:
    solved, still_open = create(client), create(client)
    update(client, solved["id"], status="solved")

    assert emulator.close_solved_tickets() == [solved["id"]]

    assert emulator.ticket(solved["id"])["status"] == "closed"
    assert emulator.ticket(still_open["id"])["status"] == "new"
    # From then on the ticket refuses updates exactly as a ticket an agent closed.
    response = update(client, solved["id"], comment={"body": "Me again", "public": True})
    assert response.status_code == 422
    assert response.json() == CLOSED_BODY


def test_a_deleted_ticket_answers_404(client: httpx.Client, emulator: ZendeskEmulator) -> None:
    ticket = create(client, external_id="conv_gone")
    kept = create(client, external_id="conv_gone")

    emulator.delete_ticket(ticket["id"])

    for response in (
        client.get(f"/api/v2/tickets/{ticket['id']}"),
        update(client, ticket["id"], comment={"body": "Hello?", "public": True}),
        client.get(f"/api/v2/tickets/{ticket['id']}/comments"),
    ):
        assert response.status_code == 404
        assert response.json() == {"error": "RecordNotFound", "description": "Not found"}
    listed = client.get("/api/v2/tickets", params={"external_id": "conv_gone"}).json()
    assert [t["id"] for t in listed["tickets"]] == [kept["id"]]


def test_solved_ticket_reopens_with_status_open(client: httpx.Client) -> None:
    ticket = create(client)
    update(client, ticket["id"], status="solved")

    response = update(client, ticket["id"], status="open")

    assert response.status_code == 200
    assert response.json()["ticket"]["status"] == "open"
    assert response.json()["audit"]["events"][0] | {"id": 0} == {
        "id": 0,
        "type": "Change",
        "field_name": "status",
        "value": "open",
        "previous_value": "solved",
    }


@pytest.mark.parametrize("current", ["new", "open", "pending", "hold"])
def test_no_direct_close_except_from_solved(
    client: httpx.Client, emulator: ZendeskEmulator, current: str
) -> None:
    ticket = create(client, status=current)

    response = update(client, ticket["id"], status="closed")

    assert response.status_code == 422
    assert list(response.json()["details"]) == ["status"]
    assert emulator.ticket(ticket["id"])["status"] == current


def test_ticket_cannot_go_back_to_new(client: httpx.Client, emulator: ZendeskEmulator) -> None:
    ticket = create(client, status="open")

    response = update(client, ticket["id"], status="new")

    assert response.status_code == 422
    assert emulator.ticket(ticket["id"])["status"] == "open"


def test_end_user_comment_reopens_solved_ticket(
    client: httpx.Client, emulator: ZendeskEmulator
) -> None:
    ticket = create(client, requester={"name": "Rita", "email": "rita@example.com"})
    update(client, ticket["id"], status="solved")

    response = update(
        client, ticket["id"], comment={"body": "Still broken", "author_id": ticket["requester_id"]}
    )

    assert response.json()["ticket"]["status"] == "open"


def test_agent_comment_leaves_solved_ticket_solved(
    client: httpx.Client, emulator: ZendeskEmulator
) -> None:
    ticket = create(client)
    update(client, ticket["id"], status="solved")

    response = update(client, ticket["id"], comment={"body": "Glad to help"})

    assert response.json()["ticket"]["status"] == "solved"


def test_private_requester_comment_does_not_reopen(client: httpx.Client) -> None:
    ticket = create(client, requester={"name": "Rita", "email": "rita@example.com"})
    update(client, ticket["id"], status="solved")

    response = update(
        client,
        ticket["id"],
        comment={"body": "note", "public": False, "author_id": ticket["requester_id"]},
    )

    assert response.json()["ticket"]["status"] == "solved"


def test_update_changes_fields_and_reports_them(
    client: httpx.Client, emulator: ZendeskEmulator
) -> None:
    ticket = create(client, tags=["a"])
    group = emulator.group_id("Engineering")

    response = update(
        client,
        ticket["id"],
        priority="urgent",
        group_id=group,
        tags=["b"],
        comment={"body": "Escalating", "public": False},
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["ticket"]["priority"], body["ticket"]["group_id"], body["ticket"]["tags"]) == (
        "urgent",
        group,
        ["b"],
    )
    events = body["audit"]["events"]
    assert [e.get("field_name", e["type"]) for e in events] == [
        "priority",
        "group_id",
        "tags",
        "Comment",
    ]
    assert events[-1]["id"] == emulator.comments(ticket["id"])[-1]["id"]


# ---------------------------------------------------------------------- tags


def test_add_tags_keeps_the_existing_ones(client: httpx.Client, emulator: ZendeskEmulator) -> None:
    ticket = create(client, tags=["vip", "billing"])

    response = client.put(f"/api/v2/tickets/{ticket['id']}/tags", json={"tags": ["bug", "vip"]})

    assert response.status_code == 200
    assert_zendesk_headers(response)
    assert response.json() == {"tags": ["vip", "billing", "bug"]}
    assert emulator.ticket(ticket["id"])["tags"] == ["vip", "billing", "bug"]


def test_add_tags_refused_on_a_closed_ticket(
    client: httpx.Client, emulator: ZendeskEmulator
) -> None:
    ticket = closed_ticket(client)

    response = client.put(f"/api/v2/tickets/{ticket['id']}/tags", json={"tags": ["late"]})

    assert response.status_code == 422
    assert response.json() == CLOSED_BODY
    assert emulator.ticket(ticket["id"])["tags"] == ["vip", "billing"]


@pytest.mark.parametrize(
    "path, body, status",
    [
        pytest.param("/api/v2/tickets/999/tags", {"tags": ["x"]}, 404, id="missing-ticket"),
        pytest.param("/api/v2/tickets/{id}/tags", {"tag": ["x"]}, 400, id="no-tags-key"),
        pytest.param("/api/v2/tickets/{id}/tags", {"tags": "x"}, 422, id="tags-not-a-list"),
    ],
)
def test_add_tags_refusals(
    client: httpx.Client, path: str, body: dict[str, Any], status: int
) -> None:
    ticket = create(client, tags=["a"])

    response = client.put(path.format(id=ticket["id"]), json=body)

    assert response.status_code == status
    assert client.get(f"/api/v2/tickets/{ticket['id']}").json()["ticket"]["tags"] == ["a"]


def test_single_ticket_update_ignores_additional_tags(
    client: httpx.Client, emulator: ZendeskEmulator
) -> None:
    # Zendesk documents additional_tags for Update Many Tickets only.
    ticket = create(client, tags=["a"])

    response = update(client, ticket["id"], additional_tags=["b"], priority="low")

    assert response.status_code == 200
    assert emulator.ticket(ticket["id"])["tags"] == ["a"]
    assert emulator.ticket(ticket["id"])["priority"] == "low"


# ---------------------------------------------------------------------- follow-ups


def test_follow_up_of_closed_ticket(client: httpx.Client, emulator: ZendeskEmulator) -> None:
    parent = closed_ticket(client)

    follow_up = create(client, via_followup_source_id=parent["id"])

    assert follow_up["id"] != parent["id"]
    assert follow_up["via"]["source"]["rel"] == "follow_up"
    assert follow_up["via"]["source"]["from"]["ticket_id"] == parent["id"]
    assert follow_up["tags"] == ["vip", "billing"]  # ref §3: inherited when tags are not sent.
    assert emulator.ticket(parent["id"])["followup_ids"] == [follow_up["id"]]


def test_follow_up_with_own_tags_does_not_inherit(client: httpx.Client) -> None:
    parent = closed_ticket(client)

    follow_up = create(client, via_followup_source_id=parent["id"], tags=["new"])

    assert follow_up["tags"] == ["new"]


@pytest.mark.parametrize("source_status", ["open", "solved"])
def test_follow_up_needs_a_closed_source(
    client: httpx.Client, emulator: ZendeskEmulator, source_status: str
) -> None:
    source = create(client, status=source_status)

    response = client.post("/api/v2/tickets", json=new_ticket(via_followup_source_id=source["id"]))

    assert response.status_code == 422
    assert list(response.json()["details"]) == ["via_followup_source_id"]
    assert len(emulator.tickets()) == 1


# ---------------------------------------------------------------------- lookups


def test_external_id_lookup_returns_every_match(client: httpx.Client) -> None:
    first = create(client, external_id="conv-7")
    create(client, external_id="conv-8")
    second = create(client, external_id="conv-7")

    response = client.get("/api/v2/tickets", params={"external_id": "conv-7"})

    assert response.status_code == 200
    assert_zendesk_headers(response)
    body = response.json()
    assert [t["id"] for t in body["tickets"]] == [first["id"], second["id"]]
    assert body["count"] == 2
    assert body["next_page"] is None


def test_comments_ascending_and_reversible(client: httpx.Client, emulator: ZendeskEmulator) -> None:
    ticket = create(client)
    update(client, ticket["id"], comment={"body": "second"})
    emulator.act_as_agent(ticket["id"], comment="third")

    ascending = client.get(f"/api/v2/tickets/{ticket['id']}/comments").json()
    descending = client.get(
        f"/api/v2/tickets/{ticket['id']}/comments", params={"sort": "-created_at"}
    ).json()

    assert [c["body"] for c in ascending["comments"]] == ["It broke", "second", "third"]
    assert [c["body"] for c in descending["comments"]] == ["third", "second", "It broke"]
    assert set(ascending["comments"][0]) >= {"id", "body", "public", "author_id", "created_at"}


def test_comments_cursor_pagination(client: httpx.Client) -> None:
    ticket = create(client)
    for n in range(4):
        update(client, ticket["id"], comment={"body": f"reply {n}"})

    bodies, url = [], f"/api/v2/tickets/{ticket['id']}/comments?page[size]=2"
    while url:
        page = client.get(url).json()
        bodies += [c["body"] for c in page["comments"]]
        url = page["links"]["next"] if page["meta"]["has_more"] else None

    assert bodies == ["It broke", "reply 0", "reply 1", "reply 2", "reply 3"]


def test_comments_sideload_their_authors_with_roles(
    client: httpx.Client, emulator: ZendeskEmulator
) -> None:
    ticket = create(client, requester={"name": "Cy Customer", "email": "cy@example.com"})
    emulator.act_as_agent(ticket["id"], comment="On it")
    emulator.act_as_requester(ticket["id"], "Thanks")

    page = client.get(
        f"/api/v2/tickets/{ticket['id']}/comments",
        params={"include": "users", "sort": "-created_at", "page[size]": 2},
    ).json()
    plain = client.get(f"/api/v2/tickets/{ticket['id']}/comments").json()

    assert [c["body"] for c in page["comments"]] == ["Thanks", "On it"]
    roles = {user["id"]: (user["name"], user["role"]) for user in page["users"]}
    assert roles == {
        ticket["requester_id"]: ("Cy Customer", "end-user"),
        emulator.agent_id: ("Avery Agent", "agent"),
    }  # the authors of this page's comments only
    assert "users" not in plain


def test_show_ticket_sideloads_its_users_and_group(
    client: httpx.Client, emulator: ZendeskEmulator
) -> None:
    group = emulator.group_id("Billing Team")
    ticket = create(client, group_id=group, assignee_id=emulator.agent_id)

    shown = client.get(f"/api/v2/tickets/{ticket['id']}", params={"include": "users,groups"})
    plain = client.get(f"/api/v2/tickets/{ticket['id']}").json()

    assert shown.status_code == 200
    body = shown.json()
    assert body["ticket"] == plain["ticket"]
    assert {u["id"] for u in body["users"]} == {emulator.api_user_id, emulator.agent_id}
    assert [(g["id"], g["name"]) for g in body["groups"]] == [(group, "Billing Team")]
    assert set(plain) == {"ticket"}


def test_comments_of_missing_ticket_is_404(client: httpx.Client) -> None:
    assert client.get("/api/v2/tickets/999/comments").status_code == 404


def test_groups_are_the_seeded_ones(client: httpx.Client) -> None:
    response = client.get("/api/v2/groups")

    assert response.status_code == 200
    assert_zendesk_headers(response)
    body = response.json()
    assert [g["name"] for g in body["groups"]] == list(DEFAULT_GROUPS)
    assert all(isinstance(g["id"], int) for g in body["groups"])
    assert (body["count"], body["next_page"]) == (7, None)


def test_groups_offset_pagination(client: httpx.Client) -> None:
    first = client.get("/api/v2/groups", params={"per_page": 5}).json()
    second = client.get(first["next_page"]).json()

    assert [g["name"] for g in first["groups"] + second["groups"]] == list(DEFAULT_GROUPS)
    assert second["next_page"] is None


def test_users_me_is_the_api_agent(client: httpx.Client, emulator: ZendeskEmulator) -> None:
    user = client.get("/api/v2/users/me").json()["user"]

    assert user["id"] == emulator.api_user_id
    assert user["email"] == EMAIL
    assert user["role"] == "agent"


def test_user_search_by_email(client: httpx.Client, emulator: ZendeskEmulator) -> None:
    rita = emulator.add_user("Rita", "rita@example.com")
    emulator.add_user("Ron", "ron@example.com")

    response = client.get("/api/v2/users/search", params={"query": "email:Rita@example.com"})

    assert response.status_code == 200
    assert_zendesk_headers(response)
    assert [u["id"] for u in response.json()["users"]] == [rita["id"]]


def test_create_or_update_user(client: httpx.Client, emulator: ZendeskEmulator) -> None:
    created = client.post(
        "/api/v2/users/create_or_update",
        json={"user": {"name": "Rita", "email": "rita@example.com", "external_id": "CUST-1"}},
    )
    updated = client.post(
        "/api/v2/users/create_or_update",
        json={"user": {"name": "Rita R.", "external_id": "cust-1"}},
    )

    assert (created.status_code, updated.status_code) == (201, 200)
    assert_zendesk_headers(updated)
    user = updated.json()["user"]
    assert user["id"] == created.json()["user"]["id"]
    assert (user["name"], user["role"]) == ("Rita R.", "end-user")
    assert created.headers["location"].endswith(f"/api/v2/users/{user['id']}.json")
    found = client.get("/api/v2/users/search", params={"external_id": "cust-1"}).json()
    assert [u["id"] for u in found["users"]] == [user["id"]]


# ---------------------------------------------------------------------- failure injection


def test_429_with_retry_after(client: httpx.Client, emulator: ZendeskEmulator) -> None:
    emulator.fail_next(1, status=429, retry_after=7)

    limited = client.post("/api/v2/tickets", json=new_ticket())
    after = client.post("/api/v2/tickets", json=new_ticket())

    assert limited.status_code == 429
    assert_zendesk_headers(limited)
    assert limited.headers["retry-after"] == "7"
    assert limited.headers["x-rate-limit-remaining"] == "0"
    assert limited.json()["error"] == "APIRateLimitExceeded"
    assert after.status_code == 201
    assert len(emulator.tickets()) == 1


def test_503_only_for_matching_requests(client: httpx.Client, emulator: ZendeskEmulator) -> None:
    emulator.fail_next(2, status=503, method="POST", path=r"/api/v2/tickets")

    statuses = [
        client.post("/api/v2/tickets", json=new_ticket()).status_code,
        client.get("/api/v2/groups").status_code,
        client.post("/api/v2/tickets", json=new_ticket()).status_code,
        client.post("/api/v2/tickets", json=new_ticket()).status_code,
    ]

    assert statuses == [503, 200, 503, 201]
    assert len(emulator.tickets()) == 1
    assert [r.method for r in emulator.requests()] == ["POST", "GET", "POST", "POST"]


def test_injected_text_body(client: httpx.Client, emulator: ZendeskEmulator) -> None:
    # ref §5: some Zendesk errors are text/plain, so clients must not assume JSON.
    emulator.fail_next(status=429, body="You have exceeded the rate limit")

    response = client.get("/api/v2/groups")

    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == "You have exceeded the rate limit"


def test_drop_after_commit_creates_but_never_answers(
    base_url: str, emulator: ZendeskEmulator
) -> None:
    emulator.drop_after_commit(1, method="POST")
    headers = {"Idempotency-Key": "cmd-9"}

    with httpx.Client(base_url=base_url, auth=emulator.auth, timeout=0.5) as client:
        with pytest.raises(httpx.ReadTimeout):
            client.post("/api/v2/tickets", json=new_ticket(), headers=headers)
        [ticket] = emulator.tickets()
        # The retry a careful client makes replays the stored answer instead of duplicating.
        retry = client.post("/api/v2/tickets", json=new_ticket(), headers=headers)

    assert retry.headers["x-idempotency-lookup"] == "hit"
    assert retry.json()["ticket"]["id"] == ticket["id"]
    assert len(emulator.tickets()) == 1


def test_serve_stops_while_an_answer_is_withheld(emulator: ZendeskEmulator) -> None:
    emulator.drop_after_commit()
    outcome: list[object] = []

    def patient_client(url: str) -> None:
        with httpx.Client(base_url=url, auth=emulator.auth, timeout=30) as client:
            try:
                outcome.append(client.get("/api/v2/groups").status_code)
            except httpx.TransportError as error:
                outcome.append(error)

    started = time.monotonic()
    with serve(emulator) as url:
        thread = threading.Thread(target=patient_client, args=(url,))
        thread.start()
        wait_until(lambda: len(emulator.requests()) == 1)
    thread.join(timeout=5)

    assert time.monotonic() - started < 5
    assert not thread.is_alive()
    assert outcome == [503]


def test_delay_slows_answers(client: httpx.Client, emulator: ZendeskEmulator) -> None:
    emulator.delay(0.3, times=1)

    started = time.monotonic()
    slow = client.get("/api/v2/groups")
    slow_elapsed = time.monotonic() - started
    started = time.monotonic()
    client.get("/api/v2/groups")
    fast_elapsed = time.monotonic() - started

    assert slow.status_code == 200
    assert slow_elapsed >= 0.3
    assert fast_elapsed < 0.3


def test_clear_faults(client: httpx.Client, emulator: ZendeskEmulator) -> None:
    emulator.fail_next(5, status=500)
    emulator.clear_faults()

    assert client.get("/api/v2/groups").status_code == 200


# ---------------------------------------------------------------------- test helpers


def test_requests_are_recorded_in_order(client: httpx.Client, emulator: ZendeskEmulator) -> None:
    create(client)
    client.get("/api/v2/tickets", params={"external_id": "x"}, headers={"X-Trace": "t1"})

    post, get = emulator.requests()

    assert (post.method, post.path, post.json) == ("POST", "/api/v2/tickets", new_ticket())
    assert (get.method, get.path, dict(get.query)) == (
        "GET",
        "/api/v2/tickets",
        {"external_id": "x"},
    )
    assert get.headers["x-trace"] == "t1"
    assert get.json is None
    assert emulator.requests("GET") == [get]
    assert emulator.creates() == [post]


def test_act_as_agent_reports_changes(client: httpx.Client, emulator: ZendeskEmulator) -> None:
    ticket = create(client)

    audit = emulator.act_as_agent(ticket["id"], status="pending", comment="Can you send a log?")

    change, comment = audit["events"]
    assert (change["field_name"], change["previous_value"], change["value"]) == (
        "status",
        "new",
        "pending",
    )
    assert (comment["type"], comment["author_id"], comment["public"]) == (
        "Comment",
        emulator.agent_id,
        True,
    )
    seen = client.get(f"/api/v2/tickets/{ticket['id']}/comments").json()["comments"]
    assert seen[-1]["body"] == "Can you send a log?"
    assert client.get(f"/api/v2/tickets/{ticket['id']}").json()["ticket"]["status"] == "pending"


def test_act_as_requester_reopens_and_agent_cannot_touch_closed(
    client: httpx.Client, emulator: ZendeskEmulator
) -> None:
    ticket = create(client, requester={"name": "Rita", "email": "rita@example.com"})
    emulator.act_as_agent(ticket["id"], status="solved")

    emulator.act_as_requester(ticket["id"], "Not fixed")
    assert emulator.ticket(ticket["id"])["status"] == "open"

    emulator.act_as_agent(ticket["id"], status="solved")
    emulator.act_as_agent(ticket["id"], status="closed")
    with pytest.raises(ApiError) as refused:
        emulator.act_as_agent(ticket["id"], comment="late")
    assert (refused.value.status, refused.value.body) == (422, CLOSED_BODY)
