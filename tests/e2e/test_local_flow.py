"""Conversation to ticket on the built-in help desk, and the outbox through HTTP and the CLI."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
import orjson
import pytest

from tests.support import (
    Server,
    message,
    payload,
    quiet,
    run_cli,
    running,
    server_env,
    signed,
    wait_until,
)

ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


def send(server: Server, event: dict) -> None:
    body, headers = signed(event)
    assert (
        httpx.post(server.url + "/webhooks/chat", content=body, headers=headers).status_code == 202
    )


def test_local_ticket_follows_the_conversation(server: Server) -> None:
    cid = f"conv_{uuid.uuid4().hex[:8]}"
    send(
        server,
        payload(
            "conversation.started",
            cid,
            customer={"id": "u7", "email": "bo@example.com", "name": "Bo"},
            subject="App crashes",
        ),
    )
    for text in ("It crashes on start", "Still crashing", "Any idea?", "Hello?"):
        send(server, message(cid, content=text))
    send(server, payload("intents.detected", cid, intents=["bug_report", "usage_help"]))
    with server.admin() as admin:
        wait_until(lambda: admin.get(f"/conversations/{cid}").json()["ticket"])
        # The intents may reach the log after the ticket was made; let everything settle.
        quiet(admin)
        view = admin.get(f"/conversations/{cid}").json()
        assert view["route"] == {
            "group": "Engineering",
            "priority": "high",
            "tags": ["bug", "engineering"],
        }
        assert view["message_count"] == 4
        ticket = admin.get(f"/tickets/local/{view['ticket']['id']}").json()
    assert ticket["conversation_id"] == cid
    assert (
        ticket["subject"] == "[general_inquiry] App crashes"
    )  # the ticket opened before any intent
    assert ticket["requester"]["email"] == "bo@example.com"
    assert ticket["tags"][-2:] == ["bug_report", "usage_help"]  # intents added later as tags
    assert ticket["comments"][0]["body"].startswith("CUSTOMER ISSUE:\nIt crashes on start")
    assert ticket["comments"][0]["public"] is False


def test_unknown_conversation_and_ticket_are_404(server: Server) -> None:
    with server.admin() as admin:
        assert admin.get("/conversations/nope").status_code == 404
        assert admin.get("/tickets/local/999999").json()["error"] == "not_found"
    assert httpx.get(server.url + "/conversations/nope").status_code == 401


def test_outbox_lists_and_retries(server: Server) -> None:
    with server.admin() as admin:
        listing = admin.get("/outbox", params={"state": "done"})
        assert listing.status_code == 200
        assert all(call["state"] == "done" for call in listing.json()["calls"])
        assert admin.get("/outbox", params={"state": "lost"}).status_code == 400
        assert admin.post("/outbox/no-such-call/retry").status_code == 404
        done = listing.json()["calls"]
        if done:
            assert admin.post(f"/outbox/{done[0]['id']}/retry").status_code == 409


def test_parked_call_is_retried_by_the_operator(tmp_path: Path) -> None:
    """A help desk that refuses everything parks the create; fixing it and retrying sends it."""
    url = f"sqlite:///{tmp_path / 't.db'}"
    dead_desk = {
        "TICKETSYNC_TICKETING": "zendesk",
        "TICKETSYNC_ZENDESK_URL": "http://127.0.0.1:9",  # nothing listens: connection refused
        "TICKETSYNC_ZENDESK_EMAIL": "x@example.com",
        "TICKETSYNC_ZENDESK_API_TOKEN": "t",
        "TICKETSYNC_ZENDESK_WEBHOOK_SECRET": "s",
        "TICKETSYNC_OUTBOX_MAX_ATTEMPTS": "2",
        "TICKETSYNC_OUTBOX_BACKOFF_BASE": "0.01",
        "TICKETSYNC_OUTBOX_BACKOFF_MAX": "0.02",
    }
    cid = "conv_parked"
    with running(url, tmp_path, env=dead_desk) as server:
        send(server, payload("conversation.escalated", cid, reason="human please"))
        with server.admin() as admin:
            [parked] = wait_until(
                lambda: admin.get("/outbox", params={"state": "parked"}).json()["calls"]
            )
            assert parked["attempts"] == 2
            assert parked["conversation_id"] == cid
            # Times as everywhere else in the API: ISO-8601 UTC, not unix seconds.
            for name in ("next_attempt_at", "created_at", "updated_at"):
                assert ISO_UTC.fullmatch(parked[name]), (name, parked[name])
            trail = admin.get(
                "/audit", params={"conversation_id": cid, "type": "call.parked"}
            ).json()["events"]
            # The parked call names the entry that queued it, in the same log.
            [queued] = admin.get(
                "/audit", params={"conversation_id": cid, "type": "ticket.requested"}
            ).json()["events"]
            assert trail[0]["caused_by"] == {"position": queued["position"], "id": queued["id"]}
            # What an operator alerts on: a parked call, and nothing else left to do.
            metrics = wait_until(
                lambda: (
                    (m := gauges(admin))["ticketsync_projection_lag_entries"]
                    == {"conversations": 0}
                    and m
                )
            )
            assert metrics["ticketsync_outbox_calls"] == {"pending": 0, "parked": 1, "done": 0}
            assert metrics["ticketsync_webhooks_received_total"] == {"accepted//chat": 1}
            assert metrics["ticketsync_log_position"] == {"": server_position(server)}
    env = server_env(url, **dead_desk)
    listed = run_cli(["outbox", "list", "--state", "parked", "--json"], tmp_path, env)
    assert listed.returncode == 0, listed.stderr
    assert [orjson.loads(line)["id"] for line in listed.stdout.splitlines()] == [parked["id"]]
    assert orjson.loads(listed.stdout)["created_at"] == parked["created_at"]
    table = run_cli(["outbox", "list"], tmp_path, env)
    assert table.returncode == 0, table.stderr
    assert parked["id"] in table.stdout
    assert "parked" in table.stdout
    retried = run_cli(["outbox", "retry", "--all-parked"], tmp_path, env)
    assert retried.returncode == 0, retried.stderr
    assert parked["id"] in retried.stdout
    # The operator moved to the built-in desk; the retried create goes there.
    with running(url, tmp_path) as server, server.admin() as admin:
        view = wait_until(lambda: (v := admin.get(f"/conversations/{cid}").json())["ticket"] and v)
        assert view["ticket"]["system"] == "local"
        calls = wait_until(
            lambda: (c := gauges(admin)["ticketsync_outbox_calls"])["pending"] == 0 and c
        )
        assert calls["parked"] == 0


def gauges(admin: httpx.Client) -> dict[str, dict[str, int]]:
    """The /metrics samples by name, then by their labels' values (in the order of the
    labels' names) joined with '/'."""
    answer = admin.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    samples: dict[str, dict[str, int]] = {}
    for line in answer.text.splitlines():
        if line.startswith("#"):
            continue
        name_labels, value = line.rsplit(" ", 1)
        name, _, labels = name_labels.partition("{")
        key = "/".join(
            part.split("=")[1].strip('"') for part in labels.rstrip("}").split(",") if part
        )
        samples.setdefault(name, {})[key] = int(float(value))
    return samples


def server_position(server: Server) -> int:
    return httpx.get(server.url + "/healthz").json()["position"]


def test_bad_routing_file_stops_the_service_with_key_and_reason(tmp_path: Path) -> None:
    routes = tmp_path / "routes.toml"
    routes.write_text(
        '[intents.billing_problem]\ngroup = "Billing Team"\npriority = "critical"\n',
        encoding="utf-8",
    )
    env = server_env(f"sqlite:///{tmp_path / 't.db'}", TICKETSYNC_ROUTING_FILE=str(routes))
    result = run_cli(["serve", "--port", "1"], tmp_path, env, timeout=30)
    assert result.returncode != 0
    [line] = result.stderr.strip().splitlines()
    assert "TICKETSYNC_ROUTING_FILE" in line
    assert "intents.billing_problem.priority" in line
    assert "critical" in line


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("local")
    with running(f"sqlite:///{folder / 't.db'}", folder) as started:
        yield started


def test_a_late_conversation_started_gives_the_ticket_its_requester(server: Server) -> None:
    cid = f"conv_{uuid.uuid4().hex[:8]}"
    send(server, payload("conversation.escalated", cid, reason="wants a human"))
    with server.admin() as admin:
        view = wait_until(lambda: admin.get(f"/conversations/{cid}").json()["ticket"])
        ticket_id = view["id"]
        assert admin.get(f"/tickets/local/{ticket_id}").json()["requester"] is None
        send(
            server,
            payload(
                "conversation.started",
                cid,
                customer={"id": "u9", "email": "cy@example.com", "name": "Cy"},
            ),
        )
        ticket = wait_until(
            lambda: (t := admin.get(f"/tickets/local/{ticket_id}").json())["requester"] and t
        )
    assert ticket["requester"] == {"name": "Cy", "email": "cy@example.com", "id": "u9"}
