"""`ticketsync simulate`: a signed example conversation sent to a running service, narrated.

It plays the AI agent's chat platform (signed webhooks, sent with ticketsync.client as an
agent sends them) and, on the built-in help desk, the human agent (the local ticket API),
then reads back what ticketsync did: the conversation, its ticket, and the audit trail.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from ticketsync.client import ChatClient, Refused, Unavailable
from ticketsync.events.errors import TicketsyncError
from ticketsync.service.config import Settings

SCENARIOS = (
    "escalation",
    "long",
    "tool",
    "follow-up",
    "follow-up-closed",
    "agent-reply",
    "handover",
)
# Each scenario in one line, for `simulate --help`.
ABOUT = {
    "escalation": "the AI agent escalates: one ticket, routed by intent, with its summary",
    "long": "four user messages: the conversation needs a ticket without an escalation",
    "tool": "a tool run: the conversation needs a ticket",
    "follow-up": "resolved, then the customer writes again: the ticket reopens",
    "follow-up-closed": "closed as a duplicate, then the customer writes: a follow-up ticket",
    "agent-reply": "an agent replies on the built-in desk: the reply reaches the chat",
    "handover": "who answers the customer: people after the escalation, the AI agent after the solve",
}
# The command as it runs after `make run`, which installs it in the project's .venv.
COMMAND = ".venv/bin/ticketsync"
WAIT = 15.0


class SimulationFailed(TicketsyncError):
    """The service did not do what the scenario expects in time."""


class Simulation:
    def __init__(self, url: str, settings: Settings, say: Callable[[str], None] = print):
        if not settings.chat_webhook_secrets:
            raise SimulationFailed(
                "TICKETSYNC_CHAT_WEBHOOK_SECRET is not set here (run where `serve --dev` wrote .env)"
            )
        if not settings.admin_token:
            raise SimulationFailed(
                "TICKETSYNC_ADMIN_TOKEN is not set here (run where `serve --dev` wrote .env)"
            )
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            raise SimulationFailed(
                f"the service's URL must start with http:// or https://, got {url!r} "
                "(e.g. --url http://127.0.0.1:8123)"
            )
        self.url = url.rstrip("/")
        self.heard_ids: set[str] = set()
        # The chat's side sends as an AI agent does, through the client it would use.
        try:
            self.chat = ChatClient(self.url, settings.chat_webhook_secrets[0])
        except ValueError as error:
            raise SimulationFailed(f"cannot send to {self.url}: {error}") from None
        self.http = httpx.Client(
            base_url=self.url,
            timeout=10,
            headers={"authorization": f"Bearer {settings.admin_token}"},
        )
        self.say = say
        self.conversation_id = f"sim_{uuid.uuid4().hex[:8]}"
        self.steps = 0

    def close(self) -> None:
        self.chat.close()
        self.http.close()

    # The chat platform's side.

    def told(self, event_type: str, shown: object, send: Callable[[], dict[str, Any]]) -> None:
        """Send one chat event (`send` calls the client) and narrate ticketsync's answer."""
        try:
            answer = send()
        except Unavailable as error:
            if error.status is None:
                raise SimulationFailed(
                    f"cannot reach {self.url}: {error} (is `make run` running? The URL is "
                    "TICKETSYNC_PUBLIC_URL from .env, which `serve --dev` saves; --url chooses "
                    "another)"
                ) from None
            raise SimulationFailed(f"{event_type} answered {error.status}: {error}") from None
        except Refused as error:
            raise SimulationFailed(f"{event_type} answered {error.status}: {error}") from None
        self.steps += 1
        # A retry of an event already stored is answered 200 duplicate: stored all the same.
        status = 202 if answer.get("status") == "accepted" else 200
        self.say(
            f"  chat -> {event_type:24} {str(shown)[:60]!r:64} {status}, position {answer['position']}"
        )

    def user(self, text: str) -> None:
        message_id = f"m{self.steps}"
        self.told(
            "message.created",
            text,
            lambda: self.chat.message(self.conversation_id, "user", text, message_id=message_id),
        )

    def assistant(self, text: str) -> None:
        message_id = f"m{self.steps}"
        self.told(
            "message.created",
            text,
            lambda: self.chat.message(
                self.conversation_id, "assistant", text, message_id=message_id
            ),
        )

    def start(self, subject: str) -> None:
        self.say(f"Conversation {self.conversation_id}:")
        customer = {
            "id": "sim_customer",
            "email": "sim.customer@example.com",
            "name": "Sam Customer",
        }
        self.told(
            "conversation.started",
            subject,
            lambda: self.chat.started(
                self.conversation_id, customer=customer, subject=subject, channel="web"
            ),
        )

    def intents(self, intents: list[str]) -> None:
        self.told(
            "intents.detected",
            ", ".join(intents),
            lambda: self.chat.intents(self.conversation_id, intents),
        )

    def tool(self, name: str, *, input: dict[str, Any], output: Any, status: str) -> None:
        self.told(
            "tool.executed",
            name,
            lambda: self.chat.tool(
                self.conversation_id, name, input=input, output=output, status=status
            ),
        )

    def escalate(self, reason: str) -> None:
        self.told(
            "conversation.escalated",
            reason,
            lambda: self.chat.escalate(self.conversation_id, reason),
        )

    def resolve(self, resolution: str) -> None:
        self.told(
            "conversation.resolved",
            resolution,
            lambda: self.chat.resolve(self.conversation_id, resolution),
        )

    # Reading back.

    def conversation(self) -> dict[str, Any]:
        answer = self.http.get(f"/conversations/{self.conversation_id}")
        return answer.json() if answer.status_code == 200 else {}

    def wait(self, what: str, ready: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            view = self.conversation()
            if view and ready(view):
                return view
            time.sleep(0.1)
        raise SimulationFailed(
            f"waited {WAIT:.0f} s for {what}; see `{COMMAND} audit --conversation {self.conversation_id}`"
        )

    def settled(self, what: str, ready: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        return self.wait(what, lambda v: ready(v) and v["pending_calls"] == 0)

    def ticket(self, view: dict[str, Any]) -> dict[str, Any]:
        ticket = view["ticket"]
        return self.http.get(f"/tickets/{ticket['system']}/{ticket['id']}").json()

    def show_ticket(self, view: dict[str, Any], verb: str = "created") -> None:
        ticket = self.ticket(view)
        self.say(
            f"  ticketsync {verb} ticket {ticket['system']}:{ticket['id']} ({ticket.get('status')})"
        )
        for name in ("subject", "group", "priority"):
            if ticket.get(name):
                self.say(f"    {name:9} {ticket[name]}")
        if ticket.get("tags"):
            self.say(f"    tags      {', '.join(ticket['tags'])}")
        for comment in ticket.get("comments", [])[:1]:
            self.say("    first note (internal):")
            for line in comment["body"].splitlines():
                self.say(f"      {line}")

    def trail(self) -> None:
        events = self.http.get(
            "/audit", params={"conversation_id": self.conversation_id, "limit": 1000}
        ).json()["events"]
        own = [e for e in events if e["source"] != "chat"]
        self.say(
            f"  the audit trail holds {len(events)} events, {len(own)} of them ticketsync's own decisions and calls"
        )
        self.say(f"  see them all: {COMMAND} audit --conversation {self.conversation_id}")

    # What the chat is told.

    def heard(self, *types: str, wait: bool = True) -> list[dict[str, Any]]:
        """What the stand-in chat of `serve --dev` was told since last asked, narrated; with
        `wait`, until one of each of `types` has come. Without the stand-in (a real chat
        platform), the conversation's read model says who holds it instead."""
        deadline = time.monotonic() + (WAIT if wait else 0)
        fresh: list[dict[str, Any]] = []
        while True:
            answer = self.http.get(
                "/dev/chat-replies", params={"conversation_id": self.conversation_id}
            )
            if answer.status_code != 200:
                view = self.conversation()
                held = view.get("control") or {}
                self.say(f"  (the chat platform is told; the conversation's control: {held})")
                return []
            for told in answer.json()["replies"]:
                if told["webhook_id"] not in self.heard_ids:
                    self.heard_ids.add(told["webhook_id"])
                    fresh.append(told)
                    self.say(f"  chat <- {told['type']:24} {describe(told)}")
            if not wait or {t["type"] for t in fresh} >= set(types):
                return fresh
            if time.monotonic() > deadline:
                raise SimulationFailed(
                    f"waited {WAIT:.0f} s for the chat to be told {', '.join(types)}"
                )
            time.sleep(0.1)

    # The help desk's side (built-in desk only).

    def agent(self, view: dict[str, Any]) -> str:
        ticket = view["ticket"]
        if ticket["system"] != "local":
            raise SimulationFailed(
                f"the ticket is in {ticket['system']}: reply to ticket {ticket['id']} there as an agent, "
                "and the reply comes back to the chat; this scenario acts as the agent only on the built-in desk"
            )
        return ticket["id"]

    def agent_comment(self, ticket_id: str, text: str) -> None:
        answer = self.http.post(
            f"/tickets/local/{ticket_id}/comments",
            json={"author": "Dana (agent)", "body": text, "public": True},
        )
        if answer.status_code != 201:
            raise SimulationFailed(
                f"the agent's comment answered {answer.status_code}: {answer.text}"
            )
        self.say(f"  agent -> public reply on local:{ticket_id}: {text!r}")

    def agent_status(self, ticket_id: str, status: str) -> None:
        answer = self.http.patch(f"/tickets/local/{ticket_id}", json={"status": status})
        if answer.status_code != 200:
            raise SimulationFailed(
                f"the agent's change answered {answer.status_code}: {answer.text}"
            )
        self.say(f"  agent -> sets local:{ticket_id} to {status}")


def escalation(sim: Simulation) -> None:
    sim.start("Charged twice this month")
    sim.user("Hi, I was charged twice for my November invoice.")
    sim.intents(["billing_problem"])
    sim.assistant("I can see two charges of $49. Refunds need a person, let me get one.")
    sim.escalate("refund requested above the agent's limit")
    sim.show_ticket(sim.settled("the ticket", lambda v: v["ticket"]))


def long(sim: Simulation) -> None:
    sim.start("How do I export my data?")
    for text in (
        "How do I export my data?",
        "The button is greyed out.",
        "I am an admin.",
        "Still greyed out.",
    ):
        sim.user(text)
        sim.assistant("Let me look into that.")
    sim.say("  (a fourth user message: the conversation now needs a ticket)")
    sim.show_ticket(sim.settled("the ticket", lambda v: v["ticket"]))


def tool(sim: Simulation) -> None:
    sim.start("Order not delivered")
    sim.user("My order #1042 never arrived.")
    sim.tool("order_lookup", input={"order": "1042"}, output={"status": "lost"}, status="ok")
    sim.say("  (a tool ran: the conversation now needs a ticket)")
    sim.show_ticket(sim.settled("the ticket", lambda v: v["ticket"]))


# The waits below read the conversation's status, which every help desk shares; a ticket's
# status is the help desk's own word for it (Jira's "Done", "In Progress").


def follow_up(sim: Simulation) -> None:
    escalation(sim)
    sim.resolve("resolved")
    view = sim.settled("the ticket to be solved", lambda v: v["status"] == "resolved")
    ticket = view["ticket"]
    sim.say(f"  ticketsync set ticket {ticket['system']}:{ticket['id']} to {ticket['status']}")
    sim.user("The second charge is still on my card.")
    view = sim.settled("the ticket to reopen", lambda v: v["status"] != "resolved")
    ticket = view["ticket"]
    sim.say(
        f"  the customer wrote again: ticketsync reopened {ticket['system']}:{ticket['id']} "
        f"({ticket['status']})"
    )


def follow_up_closed(sim: Simulation) -> None:
    escalation(sim)
    sim.resolve("duplicate")
    first = sim.settled("the ticket to close", lambda v: v["status"] == "duplicate")["ticket"]
    sim.say(f"  ticketsync closed ticket {first['system']}:{first['id']} ({first['status']})")
    sim.user("Sorry, one more question about this.")
    if first["system"] == "jira":
        view = sim.settled("the issue to reopen", lambda v: v["status"] != "duplicate")
        sim.say(
            f"  a done Jira issue takes comments, so ticketsync reopened {first['id']} "
            f"({view['ticket']['status']}) rather than opening a follow-up"
        )
        return
    view = sim.settled("a follow-up ticket", lambda v: v["ticket"]["id"] != first["id"])
    sim.say(
        f"  a closed ticket takes no changes, so the customer's message opened a follow-up of #{first['id']}:"
    )
    sim.show_ticket(view)


def agent_reply(sim: Simulation) -> None:
    escalation(sim)
    view = sim.conversation()
    ticket_id = sim.agent(view)
    sim.agent_comment(ticket_id, "Hi Sam, I have refunded the second charge; it shows in 3-5 days.")

    def agents_replies(answer: httpx.Response) -> list[dict[str, Any]]:
        # The stand-in chat also hears of the ticket and of who holds the conversation.
        return [r for r in answer.json()["replies"] if r["type"] == "agent.replied"]

    replies = sim.http.get("/dev/chat-replies", params={"conversation_id": sim.conversation_id})
    if replies.status_code == 200:
        deadline = time.monotonic() + WAIT
        while not agents_replies(replies) and time.monotonic() < deadline:
            time.sleep(0.1)
            replies = sim.http.get(
                "/dev/chat-replies", params={"conversation_id": sim.conversation_id}
            )
        if not agents_replies(replies):
            raise SimulationFailed("the agent's reply did not reach the chat")
        reply = agents_replies(replies)[0]
        sim.say(
            f"  chat <- agent.replied from {reply['data']['author']['name']}: {reply['data']['body']!r}"
        )
        sim.say(f"          webhook-id {reply['webhook_id']} (the same on every retry)")
    else:
        sim.settled("the reply to be sent", lambda v: True)
        sim.say("  ticketsync sent the reply to TICKETSYNC_CHAT_REPLY_URL (see the audit trail)")
    sim.agent_status(ticket_id, "solved")
    sim.wait("the conversation to show it", lambda v: v["status"] == "resolved_by_agent")
    sim.say("  the conversation now reads: resolved_by_agent")
    sim.user("Thanks! Actually, one more thing...")
    sim.settled("the ticket to reopen", lambda v: v["status"] != "resolved_by_agent")
    sim.say(f"  the customer wrote again: ticketsync reopened local:{ticket_id}")


def describe(told: dict[str, Any]) -> str:
    """One fact the chat was told, in words."""
    data = told["data"]
    ticket = data.get("ticket") or {}
    where = f"{ticket.get('system')}:{ticket.get('id')}" if ticket else "no ticket"
    if told["type"] == "control.changed":
        who = "people answer" if data["holder"] == "human" else "the AI agent answers"
        quiet = ": the AI agent stays quiet" if data["holder"] == "human" else ""
        return f"{who} ({data['reason']}){quiet}"
    if told["type"] == "ticket.created":
        follows = data.get("follows")
        after = f", following {follows['system']}:{follows['id']}" if follows else ""
        return f"the ticket is {where} ({ticket.get('status')}){after}"
    if told["type"] == "ticket.status_changed":
        return f"{where} is {ticket.get('status')} (was {data.get('previous_status')})"
    author = (data.get("author") or {}).get("name")
    return f"from {author}: {str(data.get('body'))[:60]!r}"


def handover(sim: Simulation) -> None:
    escalation(sim)
    sim.heard("ticket.created", "control.changed")
    ticket_id = sim.agent(sim.conversation())
    sim.agent_comment(ticket_id, "Hi Sam, I am looking at the double charge now.")
    sim.heard("agent.replied")
    sim.say("  (people hold the conversation already: the reply changes no hands)")
    sim.agent_status(ticket_id, "solved")
    sim.heard("control.changed")
    sim.user("Thanks! But I see a third charge now.")
    sim.heard("control.changed")
    view = sim.conversation()
    held = view["control"]
    sim.say(f"  GET /conversations/{quote(sim.conversation_id, safe='')}: control {held}")


RUNS = {
    "escalation": escalation,
    "long": long,
    "tool": tool,
    "follow-up": follow_up,
    "follow-up-closed": follow_up_closed,
    "agent-reply": agent_reply,
    "handover": handover,
}


def run(url: str, scenario: str, settings: Settings, say: Callable[[str], None] = print) -> str:
    """Play one scenario against the service at `url`, sending as the chat with
    ticketsync.client; returns the conversation id."""
    sim = Simulation(url, settings, say)
    try:
        say(f"Scenario {scenario}, against {url}")
        RUNS[scenario](sim)
        sim.trail()
        say("Done.")
        return sim.conversation_id
    finally:
        sim.close()
