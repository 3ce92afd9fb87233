"""A conversation's page: what ticketsync knows of it, why it has (or has no) ticket, its
calls not done, and its audit trail as a timeline in which each entry links to its cause.

Pure, like pages.py, and escaped the same way: every value goes through markup.tag, and
each piece of outside text through markup.outside. The page is bounded whatever the
conversation holds (docs/behaviour.md, section "Limits"): a page of the timeline, the
newest first, each entry's data cut at DATA_LIMIT characters with a link to the whole,
and every field of the summary cut at FIELD_LIMIT.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlsplit

import orjson

from ticketsync.service.http.console.markup import Markup, outside, tag, when
from ticketsync.service.http.console.pages import (
    FIELD_LIMIT,
    conversation_href,
    customer_text,
    definitions,
    layout,
    live,
    retry_button,
    table,
)
from ticketsync.service.queries.audit import summarize

# The timeline entries a page shows, and the characters of an entry's data shown in it.
TIMELINE_PAGE = 100
DATA_LIMIT = 2000


def entry_href(position: int) -> str:
    """The console's page of one audit entry, whole."""
    return f"/ui/entries/{position}"


def listed(values: Iterable[object] | None) -> Markup | str:
    """Outside names (intents, tools), each isolated, comma-separated; "none" for none."""
    names = [outside(v, FIELD_LIMIT) for v in (values or ())]
    if not names:
        return "none"
    return Markup(", ".join(names))


def safe_href(url: object) -> str | None:
    """A link to a help desk only when it is http(s): never `javascript:` or the like."""
    if not isinstance(url, str):
        return None
    return url if urlsplit(url).scheme in ("http", "https") else None


def _ticket(ticket: Mapping[str, Any] | None) -> Markup:
    if ticket is None:
        return tag("p", None, "No ticket yet.")
    name = outside(f"{ticket['system']}:{ticket['id']}", FIELD_LIMIT)
    if ticket["system"] == "local":
        # The built-in desk's ticket has a page of its own here (its API URL asks for the
        # token, which a browser does not send).
        link: object = tag("a", {"href": local_ticket_href(ticket["id"]), "class": "desk"}, name)
    else:
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
            ("status", outside(ticket.get("status"), FIELD_LIMIT)),
            ("priority", outside(ticket.get("priority"), FIELD_LIMIT)),
            ("group", outside(ticket.get("group"), FIELD_LIMIT)),
            ("assignee", outside(ticket.get("assignee"), FIELD_LIMIT) or "nobody"),
        ]
    )


def page(
    *,
    csrf: str,
    view: Mapping[str, Any],
    explained: Mapping[str, Any],
    calls: Sequence[Mapping[str, Any]],
    events: Sequence[Mapping[str, Any]],
    older: int | None,
    newer: bool = False,
    flash: str | None = None,
) -> str:
    """The page; `events` newest first, `older` the cursor of the page before them (None
    when they reach the first entry), `newer` when this is not the newest page."""
    route = explained["route"]
    cid = view["conversation_id"]
    body = [
        tag("h1", None, "Conversation ", tag("code", None, outside(cid))),
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
                            ("subject", outside(view.get("subject"), FIELD_LIMIT)),
                            ("channel", outside(view.get("channel"), FIELD_LIMIT)),
                            ("messages", view.get("message_count")),
                            ("intents", listed(view.get("intents"))),
                            ("tools", listed(view.get("tools"))),
                            (
                                "escalation",
                                outside(view.get("escalation_reason"), FIELD_LIMIT) or "none",
                            ),
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
                        "p",
                        {"class": "control"},
                        "Answering the customer: ",
                        tag(
                            "strong",
                            None,
                            "people" if view["control"]["holder"] == "human" else "the AI agent",
                        ),
                        f" ({explained['control']})",
                    ),
                    tag(
                        "ul",
                        {"class": "reasons"},
                        [tag("li", None, outside(r, FIELD_LIMIT)) for r in explained["reasons"]],
                    ),
                    tag("h3", None, "Route"),
                    definitions(
                        [
                            ("group", outside(route["group"], FIELD_LIMIT)),
                            ("priority", outside(route["priority"], FIELD_LIMIT)),
                            ("tags", listed(route["tags"])),
                            ("because", outside(route["because"], FIELD_LIMIT)),
                        ]
                    ),
                    tag("h3", None, "Pending"),
                    tag(
                        "ul",
                        {"class": "pending"},
                        [tag("li", None, outside(p, FIELD_LIMIT)) for p in explained["pending"]],
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
                            tag(
                                "li",
                                None,
                                outside(f"{t['system']}:{t['id']}", FIELD_LIMIT),
                                " (",
                                outside(t.get("status"), FIELD_LIMIT),
                                ")",
                            )
                            for t in view["previous_tickets"]
                        ],
                    )
                    if view.get("previous_tickets")
                    else tag("p", None, "None."),
                ),
            ),
            waiting(calls, csrf=csrf) if calls else "",
            timeline(events, cid, older=older, newer=newer),
        ),
    ]
    return layout(str(cid), body, csrf=csrf, refresh=True, flash=flash)


def waiting(calls: Sequence[Mapping[str, Any]], *, csrf: str) -> Markup:
    """A conversation's calls that are not done, a parked one with its Retry button."""
    rows = [
        (
            tag("code", None, call["id"]),
            call["kind"],
            tag("span", {"class": f"state state-{call['state']}"}, call["state"]),
            call["attempts"],
            outside(call.get("last_error"), FIELD_LIMIT),
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


def timeline(
    events: Sequence[Mapping[str, Any]],
    conversation_id: str,
    *,
    older: int | None,
    newer: bool = False,
) -> Markup:
    """A page of the audit trail as a story, newest first: each entry anchored by its
    position, linked to its cause, its data cut with a link to the whole entry."""
    shown = {event["position"]: event for event in events}
    items = [_entry(event, shown) for event in events]
    here = conversation_href(conversation_id)
    pages = [
        tag("a", {"href": here, "class": "newest"}, "Newest entries") if newer else "",
        tag("a", {"href": f"{here}?before={older}", "class": "older"}, "Older entries")
        if older is not None
        else "",
    ]
    return tag(
        "section",
        {"id": "timeline"},
        tag("h2", None, "Timeline"),
        tag("ol", {"class": "timeline"}, items) if items else tag("p", None, "No entries."),
        tag("nav", {"class": "pages"}, pages) if newer or older is not None else "",
    )


def _entry(event: Mapping[str, Any], shown: Mapping[int, Mapping[str, Any]]) -> Markup:
    position = event["position"]
    cause = event.get("caused_by")
    because: object = ""
    if cause is not None:
        at = cause.get("position")
        if at in shown:
            because = tag(
                "a",
                {"href": f"#e{at}", "class": "cause"},
                f"caused by #{at} ",
                outside(shown[at]["type"], FIELD_LIMIT),
            )
        elif at is not None:
            because = tag(
                "a",
                {"href": entry_href(at), "class": "cause"},
                f"caused by #{at} ",
                outside(cause.get("id"), FIELD_LIMIT),
            )
        else:
            because = tag(
                "span", {"class": "cause"}, "caused by ", outside(cause.get("id"), FIELD_LIMIT)
            )
    ticket = event.get("ticket")
    data = orjson.dumps(event.get("data"), option=orjson.OPT_INDENT_2).decode()
    whole = tag("a", {"href": entry_href(position), "class": "whole"}, "the whole entry")
    if len(data) > DATA_LIMIT:
        data_shown: object = [
            data[:DATA_LIMIT],
            tag("span", {"class": "cut"}, f"\n… {len(data) - DATA_LIMIT:,} more characters"),
        ]
    else:
        data_shown = data
    return tag(
        "li",
        {"id": f"e{position}", "class": f"event source-{event['source']}"},
        tag(
            "div",
            {"class": "event-head"},
            tag("span", {"class": "position"}, f"#{position}"),
            when(event["occurred_at"]),
            tag("span", {"class": "source"}, event["source"]),
            tag("span", {"class": "type"}, outside(event["type"], FIELD_LIMIT)),
            tag(
                "span",
                {"class": "ticket"},
                outside(f"{ticket['system']}:{ticket['id']}", FIELD_LIMIT),
            )
            if ticket
            else "",
            because,
        ),
        tag("p", {"class": "summary"}, outside(summarize(event))),
        tag(
            "details",
            None,
            tag("summary", None, "data"),
            tag("pre", None, data_shown),
            tag("p", {"class": "entry-link"}, whole),
        ),
    )


def entry(event: Mapping[str, Any], *, csrf: str) -> str:
    """One audit entry, whole: its head and all its data, with a way back to its
    conversation's page."""
    cid = event.get("conversation_id")
    back = (
        tag("p", None, tag("a", {"href": conversation_href(cid)}, "Back to the conversation"))
        if cid
        else ""
    )
    head = definitions(
        [
            ("position", event["position"]),
            ("type", outside(event["type"], FIELD_LIMIT)),
            ("source", event["source"]),
            ("conversation", outside(cid, FIELD_LIMIT) if cid else "none"),
            ("occurred", when(event["occurred_at"])),
            ("recorded", when(event["recorded_at"])),
        ]
    )
    data = orjson.dumps(event.get("data"), option=orjson.OPT_INDENT_2).decode()
    body = [
        tag("h1", None, f"Entry #{event['position']}"),
        back,
        tag("section", {"id": "entry"}, head, tag("pre", {"class": "whole"}, data)),
    ]
    return layout(f"Entry #{event['position']}", body, csrf=csrf)


def local_ticket_href(ticket_id: object) -> str:
    """The console's page of a ticket on the built-in desk."""
    return f"/ui/tickets/local/{quote(str(ticket_id), safe='')}"


def local_ticket(ticket: Mapping[str, Any], *, csrf: str) -> str:
    """A ticket of the built-in desk, as an agent there sees it: its fields and comments."""
    cid = ticket.get("conversation_id")
    comments = ticket.get("comments") or []
    body = [
        tag("h1", None, "Ticket local:", outside(ticket["id"], FIELD_LIMIT)),
        tag("p", None, tag("a", {"href": conversation_href(cid)}, "Its conversation"))
        if cid
        else "",
        tag(
            "section",
            {"id": "ticket"},
            definitions(
                [
                    ("subject", outside(ticket.get("subject"), FIELD_LIMIT)),
                    ("status", outside(ticket.get("status"), FIELD_LIMIT)),
                    ("priority", outside(ticket.get("priority"), FIELD_LIMIT)),
                    ("group", outside(ticket.get("group"), FIELD_LIMIT)),
                    ("assignee", outside(ticket.get("assignee"), FIELD_LIMIT) or "nobody"),
                    ("tags", listed(ticket.get("tags"))),
                ]
            ),
        ),
        tag(
            "section",
            {"id": "comments"},
            tag("h2", None, "Comments"),
            tag(
                "ol",
                None,
                [
                    tag(
                        "li",
                        {"class": "public" if comment.get("public") else "internal"},
                        tag("strong", None, outside(comment.get("author"), FIELD_LIMIT)),
                        " (public)" if comment.get("public") else " (internal note)",
                        tag("pre", {"class": "whole"}, outside(comment.get("body"))),
                    )
                    for comment in comments
                ],
            )
            if comments
            else tag("p", None, "No comments."),
        ),
    ]
    return layout(f"Ticket local:{ticket['id']}", body, csrf=csrf)
