"""A conversation's page: what ticketsync knows of it, why it has (or has no) ticket, its
calls not done, and its audit trail as a timeline in which each entry links to its cause.

Pure, like pages.py, and escaped the same way: every value goes through markup.tag.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import orjson

from ticketsync.service.http.console.markup import Markup, tag
from ticketsync.service.http.console.pages import (
    customer_text,
    definitions,
    layout,
    live,
    retry_button,
    table,
)
from ticketsync.service.queries.audit import summarize


def safe_href(url: object) -> str | None:
    """A link to a help desk only when it is http(s): never `javascript:` or the like."""
    if not isinstance(url, str):
        return None
    return url if urlsplit(url).scheme in ("http", "https") else None


def _ticket(ticket: Mapping[str, Any] | None) -> Markup:
    if ticket is None:
        return tag("p", None, "No ticket yet.")
    name = f"{ticket['system']}:{ticket['id']}"
    href = safe_href(ticket.get("url"))
    link = (
        tag(
            "a",
            {"href": href, "rel": "noreferrer noopener", "target": "_blank", "class": "desk"},
            name,
            " ↗",
        )
        if href
        else name
    )
    return definitions(
        [
            ("ticket", link),
            ("status", ticket.get("status")),
            ("priority", ticket.get("priority")),
            ("group", ticket.get("group")),
            ("assignee", ticket.get("assignee") or "nobody"),
        ]
    )


def page(
    *,
    csrf: str,
    view: Mapping[str, Any],
    explained: Mapping[str, Any],
    calls: Sequence[Mapping[str, Any]],
    events: Sequence[Mapping[str, Any]],
    more: bool,
    flash: str | None = None,
) -> str:
    route = explained["route"]
    body = [
        tag("h1", None, "Conversation ", tag("code", None, view["conversation_id"])),
        live(
            tag(
                "div",
                {"class": "columns"},
                tag(
                    "section",
                    {"id": "summary"},
                    tag("h2", None, "Conversation"),
                    definitions(
                        [
                            ("status", view.get("status")),
                            ("customer", customer_text(view.get("customer"))),
                            ("subject", view.get("subject")),
                            ("channel", view.get("channel")),
                            ("messages", view.get("message_count")),
                            ("intents", ", ".join(view.get("intents") or ()) or "none"),
                            ("tools", ", ".join(view.get("tools") or ()) or "none"),
                            ("escalation", view.get("escalation_reason") or "none"),
                        ]
                    ),
                ),
                tag(
                    "section",
                    {"id": "explanation"},
                    tag("h2", None, "Why"),
                    tag(
                        "p",
                        {"class": "needs-ticket"},
                        "Needs a ticket: ",
                        tag("strong", None, "yes" if explained["needs_ticket"] else "no"),
                    ),
                    tag(
                        "ul",
                        {"class": "reasons"},
                        [tag("li", None, r) for r in explained["reasons"]],
                    ),
                    tag("h3", None, "Route"),
                    definitions(
                        [
                            ("group", route["group"]),
                            ("priority", route["priority"]),
                            ("tags", ", ".join(route["tags"])),
                            ("because", route["because"]),
                        ]
                    ),
                    tag("h3", None, "Pending"),
                    tag(
                        "ul",
                        {"class": "pending"},
                        [tag("li", None, p) for p in explained["pending"]],
                    )
                    if explained["pending"]
                    else tag("p", None, "Nothing waits."),
                ),
                tag(
                    "section",
                    {"id": "ticket"},
                    tag("h2", None, "Ticket"),
                    _ticket(view.get("ticket")),
                    tag("h3", None, "Previous tickets"),
                    tag(
                        "ul",
                        {"class": "previous"},
                        [
                            tag("li", None, f"{t['system']}:{t['id']} ({t.get('status')})")
                            for t in view["previous_tickets"]
                        ],
                    )
                    if view.get("previous_tickets")
                    else tag("p", None, "None."),
                ),
            ),
            waiting(calls, csrf=csrf) if calls else "",
            timeline(events, more=more),
        ),
    ]
    return layout(str(view["conversation_id"]), body, csrf=csrf, refresh=True, flash=flash)


def waiting(calls: Sequence[Mapping[str, Any]], *, csrf: str) -> Markup:
    """A conversation's calls that are not done, a parked one with its Retry button."""
    rows = [
        (
            tag("code", None, call["id"]),
            call["kind"],
            tag("span", {"class": f"state state-{call['state']}"}, call["state"]),
            call["attempts"],
            call.get("last_error") or "",
            retry_button(call, csrf, back={"from": "conversation"})
            if call["state"] == "parked"
            else "",
        )
        for call in calls
    ]
    return tag(
        "section",
        {"id": "calls"},
        tag("h2", None, "Calls not done"),
        table(("call", "kind", "state", "attempts", "reason", ""), rows),
    )


def timeline(events: Sequence[Mapping[str, Any]], *, more: bool) -> Markup:
    """The audit trail as a story: each entry anchored by its position, linked to its cause."""
    shown = {event["position"]: event for event in events}
    items = []
    for event in events:
        cause = event.get("caused_by")
        because: object = ""
        if cause is not None:
            at = cause.get("position")
            if at in shown:
                because = tag(
                    "a",
                    {"href": f"#e{at}", "class": "cause"},
                    f"caused by #{at} {shown[at]['type']}",
                )
            else:
                because = tag("span", {"class": "cause"}, f"caused by #{at} {cause.get('id')}")
        ticket = event.get("ticket")
        items.append(
            tag(
                "li",
                {"id": f"e{event['position']}", "class": f"event source-{event['source']}"},
                tag(
                    "div",
                    {"class": "event-head"},
                    tag("span", {"class": "position"}, f"#{event['position']}"),
                    tag("time", {"datetime": event["occurred_at"]}, event["occurred_at"]),
                    tag("span", {"class": "source"}, event["source"]),
                    tag("span", {"class": "type"}, event["type"]),
                    tag("span", {"class": "ticket"}, f"{ticket['system']}:{ticket['id']}")
                    if ticket
                    else "",
                    because,
                ),
                tag("p", {"class": "summary"}, summarize(event)),
                tag(
                    "details",
                    None,
                    tag("summary", None, "data"),
                    tag(
                        "pre",
                        None,
                        orjson.dumps(event.get("data"), option=orjson.OPT_INDENT_2).decode(),
                    ),
                ),
            )
        )
    note = (
        tag("p", None, "Only the first entries are shown; `ticketsync audit` has them all.")
        if more
        else ""
    )
    return tag(
        "section",
        {"id": "timeline"},
        tag("h2", None, "Timeline"),
        tag("ol", {"class": "timeline"}, items) if items else tag("p", None, "No entries."),
        note,
    )
