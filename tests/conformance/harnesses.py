"""A harness per help desk: the built-in desk and Zendesk, on event subscriptions or on
trigger webhooks (Jira's is in jira_harness.py)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import orjson

from tests.conformance.desks import (
    FAST_OUTBOX,
    DeskTicket,
    Faulty,
    Note,
    Webhooks,
    rate_limited,
    unavailable,
)
from tests.emulators.zendesk import DEFAULT_GROUPS, ZendeskEmulator
from ticketsync.adapters.local import TICKETS
from ticketsync.adapters.ports import HelpDesk
from ticketsync.adapters.zendesk import signature as zendesk_signature
from ticketsync.adapters.zendesk import trigger as zendesk_trigger

ZENDESK_SECRET = "zendesk-conformance-secret"

LOCAL_STATE = {"new": "open", "open": "open", "hold": "open", "pending": "pending"}
LOCAL_STATE.update(solved="done", closed="done")


class LocalHarness:
    """The built-in desk: agents act through ticketsync's own API (CONTRACT section 6), and
    the faults a remote desk has are injected in front of the adapter."""

    name = "local"
    closed_opens_follow_up = True
    pending_state = "pending"

    def __init__(self, admin: Callable[[], httpx.Client]):
        self.admin = admin
        self.desk: Faulty | None = None

    def env(self) -> dict[str, str]:
        return {"TICKETSYNC_TICKETING": "local", **FAST_OUTBOX}

    def wrap(self, desk: HelpDesk) -> HelpDesk:
        self.desk = Faulty(desk)
        return self.desk  # type: ignore[return-value]

    def _local(self) -> Any:
        assert self.desk is not None, "the service was not started"
        return self.desk.desk

    def tickets(self, conversation_id: str) -> list[DeskTicket]:
        local = self._local()
        found = []
        for ref in local.find_tickets(conversation_id):
            ticket = local.ticket(ref.id)
            found.append(
                DeskTicket(
                    id=str(ticket.id),
                    subject=ticket.subject,
                    state=LOCAL_STATE[ticket.status],
                    priority=ticket.priority,
                    group=ticket.group,
                    tags=frozenset(ticket.tags),
                    notes=tuple(Note(c.public, c.body) for c in ticket.comments),
                )
            )
        return found

    def agent_reply(self, ticket_id: str, body: str, *, public: bool = True) -> None:
        with self.admin() as admin:
            answer = admin.post(
                f"/tickets/local/{ticket_id}/comments",
                json={"author": "Dana Agent", "body": body, "public": public},
            )
        assert answer.status_code == 201, answer.text

    def agent_state(self, ticket_id: str, state: str) -> None:
        status = {"open": "open", "pending": "pending", "done": "solved"}[state]
        with self.admin() as admin:
            answer = admin.patch(f"/tickets/local/{ticket_id}", json={"status": status})
        assert answer.status_code == 200, answer.text

    def forged_reply(self, ticket_id: str, body: str) -> tuple[int, str]:
        with self.admin() as admin:
            answer = admin.post(
                f"/tickets/local/{ticket_id}/comments",
                json={"author": "Mallory", "body": body, "public": True},
                headers={"authorization": "Bearer not-the-token"},
            )
        return answer.status_code, answer.json()["error"]

    def close_quietly(self, ticket_id: str) -> None:
        local = self._local()
        with local._tx() as run:
            run(
                f"UPDATE {TICKETS} SET status = 'closed' WHERE id = ?",
                (int(ticket_id),),
            )

    def lose_next_create_answer(self) -> None:
        assert self.desk is not None
        self.desk.lose_create += 1

    def rate_limit_next(self, retry_after: int) -> None:
        assert self.desk is not None
        self.desk.faults.append(rate_limited(retry_after))

    def outage(self, calls: int) -> None:
        assert self.desk is not None
        self.desk.faults.extend([unavailable] * calls)


ZENDESK_STATE = {"new": "open", "open": "open", "hold": "open", "pending": "pending"}
ZENDESK_STATE.update(solved="done", closed="done")
ZENDESK_PRIORITY = {"low": "low", "normal": "medium", "high": "high", "urgent": "urgent"}


class ZendeskHarness:
    """Zendesk, as the emulator plays it; its webhooks are event-subscription payloads signed
    as Zendesk signs them."""

    name = "zendesk"
    closed_opens_follow_up = True
    pending_state = "pending"

    def __init__(self, emulator: ZendeskEmulator, base_url: str, webhooks: Webhooks):
        self.emulator = emulator
        self.base_url = base_url
        self.webhooks = webhooks

    def env(self) -> dict[str, str]:
        return {
            "TICKETSYNC_TICKETING": "zendesk",
            "TICKETSYNC_ZENDESK_URL": self.base_url,
            "TICKETSYNC_ZENDESK_EMAIL": self.emulator.email,
            "TICKETSYNC_ZENDESK_API_TOKEN": self.emulator.api_token,
            "TICKETSYNC_ZENDESK_WEBHOOK_SECRET": ZENDESK_SECRET,
            **FAST_OUTBOX,
        }

    def wrap(self, desk: HelpDesk) -> HelpDesk:
        return desk

    def _group(self, group_id: int | None) -> str | None:
        if group_id is None:
            return None
        for name in DEFAULT_GROUPS:
            if self.emulator.group_id(name) == group_id:
                return name
        return str(group_id)

    def tickets(self, conversation_id: str) -> list[DeskTicket]:
        return [
            DeskTicket(
                id=str(ticket["id"]),
                subject=ticket["subject"],
                state=ZENDESK_STATE[ticket["status"]],
                priority=ZENDESK_PRIORITY[ticket["priority"] or "normal"],
                group=self._group(ticket["group_id"]),
                tags=frozenset(ticket["tags"]),
                notes=tuple(
                    Note(c["public"], c["body"]) for c in self.emulator.comments(ticket["id"])
                ),
            )
            for ticket in self.emulator.tickets()
            if ticket["external_id"] == conversation_id
        ]

    def _tell(
        self, kind: str, ticket_id: int, event: dict[str, Any], *, secret: str = ZENDESK_SECRET
    ) -> tuple[int, str | None]:
        ticket = self.emulator.ticket(ticket_id)
        body = orjson.dumps(
            {
                "account_id": 1234,
                "detail": {
                    "actor_id": str(self.emulator.agent_id),
                    "external_id": ticket.get("external_id"),
                    "id": str(ticket["id"]),
                    "status": str(ticket["status"]).upper(),
                    "priority": str(ticket.get("priority") or "normal").upper(),
                    "requester_id": str(ticket["requester_id"]),
                    "subject": ticket["subject"],
                    "tags": ticket.get("tags", []),
                },
                "event": event,
                "id": f"01J{uuid.uuid4().hex[:23].upper()}",
                "subject": f"zen:ticket:{ticket['id']}",
                "time": "2026-11-25T10:00:00.123456789Z",
                "type": f"zen:event-type:ticket.{kind}",
                "zendesk_event_version": "2022-11-06",
            }
        )
        headers = zendesk_signature.signed_headers(secret, body, time.time())
        headers["content-type"] = "application/json"
        return self.webhooks("/webhooks/zendesk", body, headers)

    def agent_reply(self, ticket_id: str, body: str, *, public: bool = True) -> None:
        audit = self.emulator.act_as_agent(int(ticket_id), comment=body, public=public)
        [added] = [e for e in audit["events"] if e["type"] == "Comment"]
        comment = {
            "id": str(added["id"]),
            "body": body,
            "is_public": public,
            "author": {"id": str(self.emulator.agent_id), "is_staff": True, "name": "Dana Agent"},
        }
        assert self._tell("comment_added", int(ticket_id), {"comment": comment})[0] == 202

    def forged_reply(self, ticket_id: str, body: str) -> tuple[int, str]:
        comment = {
            "id": "990001",
            "body": body,
            "is_public": True,
            "author": {"id": str(self.emulator.agent_id), "is_staff": True, "name": "Mallory"},
        }
        status, error = self._tell(
            "comment_added", int(ticket_id), {"comment": comment}, secret="not-the-secret"
        )
        return status, error or ""

    def agent_state(self, ticket_id: str, state: str) -> None:
        status = {"open": "open", "pending": "pending", "done": "solved"}[state]
        previous = self.emulator.ticket(int(ticket_id))["status"]
        self.emulator.act_as_agent(int(ticket_id), status=status)
        assert (
            self._tell(
                "status_changed",
                int(ticket_id),
                {"current": status.upper(), "previous": str(previous).upper()},
            )[0]
            == 202
        )

    def close_quietly(self, ticket_id: str) -> None:
        # Zendesk closes solved tickets by automation, and tells nobody.
        if self.emulator.ticket(int(ticket_id))["status"] != "solved":
            self.emulator.act_as_agent(int(ticket_id), status="solved")
        assert int(ticket_id) in self.emulator.close_solved_tickets()

    def lose_next_create_answer(self) -> None:
        self.emulator.drop_after_commit(1, method="POST", path=r"/api/v2/tickets(\.json)?")

    def rate_limit_next(self, retry_after: int) -> None:
        self.emulator.fail_next(1, 429, retry_after=retry_after)

    def outage(self, calls: int) -> None:
        self.emulator.fail_next(calls, 503)


class ZendeskTriggerHarness(ZendeskHarness):
    """Zendesk on an account that sends trigger webhooks: each delivery is the published
    body (a notice naming the ticket), and ticketsync reads what changed from the emulator."""

    def _notice(self, ticket_id: int, *, secret: str = ZENDESK_SECRET) -> tuple[int, str | None]:
        ticket = self.emulator.ticket(ticket_id)
        comments = self.emulator.comments(ticket_id)
        values = {
            "ticket.id": str(ticket_id),
            "ticket.external_id": ticket.get("external_id") or "",
            "ticket.updated_at_with_timestamp": ticket["updated_at"][:16] + "Z",
            "ticket.latest_comment.id": str(comments[-1]["id"]) if comments else "",
        }
        body = re.sub(
            r"\{\{([a-z_.]+)\}\}",
            lambda match: values[match[1]],
            zendesk_trigger.TRIGGER_BODY,
        ).encode()
        headers = zendesk_signature.signed_headers(
            secret, body, time.time(), invocation_id=uuid.uuid4().hex
        )
        headers["content-type"] = "application/json"
        return self.webhooks("/webhooks/zendesk", body, headers)

    def agent_reply(self, ticket_id: str, body: str, *, public: bool = True) -> None:
        self.emulator.act_as_agent(int(ticket_id), comment=body, public=public)
        assert self._notice(int(ticket_id))[0] == 202

    def agent_state(self, ticket_id: str, state: str) -> None:
        status = {"open": "open", "pending": "pending", "done": "solved"}[state]
        self.emulator.act_as_agent(int(ticket_id), status=status)
        assert self._notice(int(ticket_id))[0] == 202

    def forged_reply(self, ticket_id: str, body: str) -> tuple[int, str]:
        # A forger cannot put a comment on the ticket; all they can send is a notice.
        status, error = self._notice(int(ticket_id), secret="not-the-secret")
        return status, error or ""
