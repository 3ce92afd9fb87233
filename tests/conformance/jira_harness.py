"""Jira Cloud, as the emulator plays it: a Task workflow (To Do / In Progress / Done), a
search that lags behind a fresh create, and a webhook for every change, ticketsync's own
included, each signed as Jira signs an admin webhook and forwarded to ticketsync."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tests.conformance.desks import FAST_OUTBOX, DeskTicket, Note, Webhooks
from tests.emulators.jira import JiraEmulator, serve
from ticketsync.adapters.jira.adf import to_text
from ticketsync.adapters.jira.api import CUSTOMER_LEAD, INTERNAL_LEAD
from ticketsync.adapters.ports import HelpDesk

JIRA_SECRET = "jira-conformance-secret"
PRIORITY = {"Highest": "urgent", "High": "high", "Medium": "medium", "Low": "low"}
# An agent's move in the Task workflow, by the neutral state it reaches.
STATUS = {"open": "In Progress", "done": "Done"}


class JiraHarness:
    name = "jira"
    closed_opens_follow_up = False  # a done issue takes comments and is reopened
    pending_state = "open"  # no status category means "waiting for the customer"

    def __init__(self, emulator: JiraEmulator, base_url: str, webhooks: Webhooks):
        self.emulator = emulator
        self.base_url = base_url
        self.webhooks = webhooks

    def env(self) -> dict[str, str]:
        return {
            "TICKETSYNC_TICKETING": "jira",
            "TICKETSYNC_JIRA_URL": self.base_url,
            "TICKETSYNC_JIRA_EMAIL": self.emulator.email,
            "TICKETSYNC_JIRA_API_TOKEN": self.emulator.api_token,
            "TICKETSYNC_JIRA_PROJECT": self.emulator.project,
            "TICKETSYNC_JIRA_WEBHOOK_SECRET": JIRA_SECRET,
            **FAST_OUTBOX,
        }

    def wrap(self, desk: HelpDesk) -> HelpDesk:
        return desk

    def pump(self) -> None:
        """Deliver every webhook Jira has made since the last pump, as Jira would."""
        for body, headers in self.emulator.deliveries():
            status, error = self.webhooks("/webhooks/jira", body, headers)
            assert status in (200, 202), (status, error)

    def tickets(self, conversation_id: str) -> list[DeskTicket]:
        self.pump()
        found = []
        for issue in self.emulator.issues():
            fields = issue["fields"]
            if f"ticketsync-{conversation_id}" not in fields.get("labels", []):
                continue
            components = fields.get("components") or []
            notes = [Note(False, to_text(fields["description"]))]
            for comment in self.emulator.comments(issue["key"]):
                internal = comment.get("jsdPublic") is False or "visibility" in comment
                body = to_text(comment["body"])
                # Without a service project or a visibility, a note is a public comment
                # that says it is internal: to the agents, it is one.
                internal = internal or body.startswith(INTERNAL_LEAD)
                # A customer's words are posted by ticketsync's account, under a lead.
                body = body.removeprefix(CUSTOMER_LEAD).lstrip("\n")
                notes.append(Note(not internal, body))
            found.append(
                DeskTicket(
                    id=issue["key"],
                    subject=fields["summary"],
                    state="done" if fields["status"]["statusCategory"]["key"] == "done" else "open",
                    priority=PRIORITY[fields["priority"]["name"]],
                    group=components[0]["name"] if components else None,
                    tags=frozenset(fields.get("labels", [])),
                    notes=tuple(notes),
                )
            )
        return sorted(found, key=lambda ticket: int(ticket.id.split("-")[1]))

    def agent_reply(self, ticket_id: str, body: str, *, public: bool = True) -> None:
        self.pump()
        self.emulator.act_as_agent(ticket_id, comment=body, internal=not public)
        self.pump()

    def agent_state(self, ticket_id: str, state: str) -> None:
        self.pump()
        self.emulator.act_as_agent(ticket_id, status=STATUS[state])
        self.pump()

    def forged_reply(self, ticket_id: str, body: str) -> tuple[int, str]:
        self.pump()
        self.emulator.act_as_agent(ticket_id, comment=body)
        [(raw, headers)] = self.emulator.deliveries()
        headers = {**headers, "X-Hub-Signature": "sha256=" + "0" * 64}
        status, error = self.webhooks("/webhooks/jira", raw, headers)
        return status, error or ""

    def close_quietly(self, ticket_id: str) -> None:
        self.pump()
        self.emulator.act_as_agent(ticket_id, status="Done")
        self.emulator.deliveries()  # the webhook is lost

    def lose_next_create_answer(self) -> None:
        self.emulator.drop_after_commit(1, method="POST", path="/rest/api/3/issue")
        self.emulator.search_lag = 1  # and the first search after it does not see the issue

    def rate_limit_next(self, retry_after: int) -> None:
        self.emulator.fail_next(1, 429, retry_after=retry_after)

    def outage(self, calls: int) -> None:
        self.emulator.fail_next(calls, 503)


@contextmanager
def open_jira(webhooks: Webhooks) -> Iterator[JiraHarness]:
    # A Jira Service Management project, where support teams keep their queues: agents
    # and ticketsync alike write internal comments (other projects: test_jira_adapter_emulator).
    emulator = JiraEmulator(email="sync@example.com", api_token="jira-token", service_desk=True)
    emulator.webhook_secret = JIRA_SECRET
    with serve(emulator) as url:
        yield JiraHarness(emulator, url, webhooks)
