"""The OpenAPI 3.1 description served at GET /openapi.json.

It names every route `service.http.app.create_app` serves (but the `--dev` stand-in chat inbox),
and every status each can answer; tests/reliability/test_schema.py keeps both true.
"""

from __future__ import annotations

from typing import Any

from ticketsync.service.http.schemas import (
    ADMIN,
    BAD_QUERY,
    COMPONENTS,
    JIRA_HEADERS,
    JSON_BODY_ERRORS,
    STANDARD_WEBHOOK_HEADERS,
    UNAUTHORIZED,
    UNAVAILABLE,
    WEBHOOK_RESPONSES,
    ZENDESK_HEADERS,
    body,
    error,
    json,
    path,
    ref,
)
from ticketsync.service.workers.rebuild import PROJECTIONS

# The ids events/conversation_ids.py takes, or most of them, as a pattern without look-arounds
# (which generators of test data do not all read): a first character that is no space, dot,
# slash or control character; then characters, each whitespace followed by a visible one and
# each slash by one that is not a dot. So no id it allows is refused, and it leaves out a few
# the app takes (`a/.b`, `/a`, `a  b`).
_VISIBLE = r"[^\s/\x00-\x1f\x7f-\x9f]"
_VISIBLE_NO_DOT = r"[^\s./\x00-\x1f\x7f-\x9f]"
_SPACE = r"[^\S\x00-\x1f\x7f-\x9f]"  # whitespace that is no control character
ID_PATTERN = rf"^{_VISIBLE_NO_DOT}(?:{_VISIBLE}|{_SPACE}{_VISIBLE}|/{_VISIBLE_NO_DOT})*$"

# A conversation id as a path parameter: every `/` in it sent as `%2F` (a literal `/explain`
# at the end asks for the explanation); see service/http/addresses.py.
CONVERSATION_ID = {
    **path(
        "conversation_id",
        "the chat's conversation id, percent-encoded: each '/' in it as %2F (an unencoded '/'"
        " is taken too, but then an id ending in '/explain' reads as that explanation)",
        "conv_42",
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": ID_PATTERN},
}
BAD_CONVERSATION = error(
    "an unknown query parameter (`invalid_query`), or a conversation id that could not have "
    "been accepted (`invalid_path`, field `conversation_id`)"
)

SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "ticketsync",
        "version": "0.1.0",
        "description": "Keeps AI support conversations and help-desk tickets in sync.",
    },
    "components": COMPONENTS,
    "paths": {
        "/webhooks/chat": {
            "post": {
                "summary": "Receive a signed chat event (Standard Webhooks)",
                "parameters": STANDARD_WEBHOOK_HEADERS,
                "requestBody": body(ref("ChatPayload")),
                "responses": WEBHOOK_RESPONSES,
            }
        },
        "/webhooks/zendesk": {
            "post": {
                "summary": "Receive a signed Zendesk webhook (event subscription or trigger)",
                "parameters": ZENDESK_HEADERS,
                "requestBody": body(ref("ZendeskPayload")),
                "responses": WEBHOOK_RESPONSES,
            }
        },
        "/webhooks/jira": {
            "post": {
                "summary": "Receive a signed Jira Cloud admin webhook",
                "parameters": JIRA_HEADERS,
                "requestBody": body(ref("JiraPayload")),
                "responses": WEBHOOK_RESPONSES,
            }
        },
        "/": {
            "get": {
                "summary": "An index: where the health, the API description and the console are",
                "responses": {
                    "200": json(
                        "the index",
                        {
                            "type": "object",
                            "required": ["service", "version", "links"],
                            "properties": {
                                "service": {"const": "ticketsync"},
                                "version": {"type": "string"},
                                "links": {
                                    "type": "object",
                                    "additionalProperties": {
                                        "type": "object",
                                        "properties": {
                                            "href": {"type": "string"},
                                            "title": {"type": "string"},
                                        },
                                    },
                                },
                                "docs": {"type": "string"},
                            },
                        },
                    ),
                    "400": BAD_QUERY,
                },
            }
        },
        "/healthz": {
            "get": {
                "summary": "Liveness, log position and projection lag",
                "parameters": [
                    {
                        "name": "detail",
                        "in": "query",
                        "required": False,
                        "schema": {"enum": ["1"]},
                        "description": "1: with the admin token, a 503 also gives the"
                        " database's own error text as `reason`",
                    }
                ],
                "responses": {
                    "200": json(
                        "healthy",
                        {
                            "type": "object",
                            "properties": {
                                "status": {"const": "ok"},
                                "position": {"type": "integer"},
                                "projections": {
                                    "type": "object",
                                    "additionalProperties": {
                                        "type": "object",
                                        "properties": {
                                            "position": {"type": "integer"},
                                            "lag": {"type": "integer"},
                                        },
                                    },
                                },
                            },
                        },
                    ),
                    "400": BAD_QUERY,
                    "401": error("`detail=1` without the admin token"),
                    "503": error(
                        "the database is unreachable (with `status: unavailable` and `position:"
                        " null`; the database's error text only as `reason`, with `detail=1`)"
                    ),
                },
            }
        },
        "/conversations/{conversation_id}": {
            "get": {
                "summary": "A conversation's read model",
                "security": ADMIN,
                "parameters": [CONVERSATION_ID],
                "responses": {
                    "200": json("the conversation", ref("Conversation")),
                    "400": BAD_CONVERSATION,
                    "401": UNAUTHORIZED,
                    "404": error("ticketsync has not heard of this conversation"),
                    "503": UNAVAILABLE,
                },
            }
        },
        "/conversations/{conversation_id}/explain": {
            "get": {
                "summary": "Why the conversation has (or has no) ticket, its route, what waits",
                "security": ADMIN,
                "parameters": [CONVERSATION_ID],
                "responses": {
                    "200": json("the explanation", ref("Explanation")),
                    "400": BAD_CONVERSATION,
                    "401": UNAUTHORIZED,
                    "404": error("ticketsync has not heard of this conversation"),
                    "503": UNAVAILABLE,
                },
            }
        },
        "/tickets/{system}/{ticket_id}": {
            "get": {
                "summary": "A ticket's read model, with its conversation",
                "operationId": "getTicket",
                "security": ADMIN,
                "parameters": [
                    path("system", "local, zendesk or jira", "local"),
                    path("ticket_id", "the help desk's ticket id", "1"),
                ],
                "responses": {
                    "200": {
                        **json("the ticket", ref("Ticket")),
                        # A ticket of the built-in desk can be acted on, as an agent would.
                        "links": {
                            "CommentOnTicket": {
                                "operationId": "commentOnLocalTicket",
                                "parameters": {"ticket_id": "$response.body#/id"},
                            },
                            "ChangeTicket": {
                                "operationId": "changeLocalTicket",
                                "parameters": {"ticket_id": "$response.body#/id"},
                            },
                        },
                    },
                    "400": BAD_QUERY,
                    "401": UNAUTHORIZED,
                    "404": error("no such ticket"),
                    "503": UNAVAILABLE,
                },
            }
        },
        "/tickets/local/{ticket_id}/comments": {
            "post": {
                "summary": "Comment on a built-in desk ticket, as an agent",
                "operationId": "commentOnLocalTicket",
                "security": ADMIN,
                "parameters": [path("ticket_id", "the built-in desk's ticket id", "1")],
                "requestBody": body(ref("LocalComment")),
                "responses": {
                    "201": json(
                        "the comment is added",
                        {
                            "type": "object",
                            "required": ["ticket", "comment_id", "public"],
                            "properties": {
                                "ticket": ref("TicketRef"),
                                "comment_id": {"type": "string"},
                                "public": {"type": "boolean"},
                            },
                        },
                    ),
                    **JSON_BODY_ERRORS,
                    "401": UNAUTHORIZED,
                    "404": error("no such ticket, or the built-in desk is not in use"),
                    "409": error("the ticket is closed (`ticket_closed`)"),
                    "422": error("a field is invalid or unknown; `field` names it"),
                    "503": UNAVAILABLE,
                },
            }
        },
        "/tickets/local/{ticket_id}": {
            "patch": {
                "summary": "Change a built-in desk ticket, as an agent",
                "operationId": "changeLocalTicket",
                "security": ADMIN,
                "parameters": [path("ticket_id", "the built-in desk's ticket id", "1")],
                "requestBody": body(ref("LocalChange")),
                "responses": {
                    "200": json("the ticket after the change", ref("LocalTicket")),
                    **JSON_BODY_ERRORS,
                    "401": UNAUTHORIZED,
                    "404": error("no such ticket, or the built-in desk is not in use"),
                    "409": error("the ticket is closed (`ticket_closed`)"),
                    "422": error("a field is invalid or unknown, or none is given"),
                    "503": UNAVAILABLE,
                },
            }
        },
        "/outbox": {
            "get": {
                "summary": "Outgoing calls, oldest first, a page at a time",
                "operationId": "listCalls",
                "security": ADMIN,
                "parameters": [
                    {"name": name, "in": "query", "required": False, **about}
                    for name, about in (
                        ("state", {"schema": {"enum": ["pending", "parked", "done"]}}),
                        (
                            "after",
                            {
                                "schema": {"type": "string", "pattern": "^[0-9]+$"},
                                "description": "the `next` cursor of the previous page",
                            },
                        ),
                        (
                            "limit",
                            {
                                "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
                                "description": "at most this many calls (default 1000)",
                            },
                        ),
                    )
                ],
                "responses": {
                    "200": {
                        **json(
                            "a page of calls",
                            {
                                "type": "object",
                                "required": ["calls", "next"],
                                "properties": {
                                    "calls": {"type": "array", "items": ref("Call")},
                                    "next": {
                                        "type": ["string", "null"],
                                        "description": "pass it back as `after` for the next "
                                        "page; null on the last",
                                    },
                                },
                            },
                        ),
                        "links": {
                            "RetryCall": {
                                "operationId": "retryCall",
                                "parameters": {"call_id": "$response.body#/calls/0/id"},
                            }
                        },
                    },
                    "400": error(
                        "state is not pending, parked or done, after is not a cursor, limit "
                        "is not from 1 to 1000, or a parameter is unknown, empty or repeated "
                        "(`invalid_query`, `field` names it)"
                    ),
                    "401": UNAUTHORIZED,
                    "503": UNAVAILABLE,
                },
            }
        },
        "/outbox/{call_id}/retry": {
            "post": {
                "summary": "Make a parked call due now, with a fresh count of attempts",
                "operationId": "retryCall",
                "security": ADMIN,
                "parameters": [path("call_id", "the call's id")],
                "responses": {
                    "200": json("the call, due now", ref("Call")),
                    "400": error("a query parameter: it takes none (`invalid_query`)"),
                    "401": UNAUTHORIZED,
                    "404": error("no such call"),
                    "409": error(
                        "the call is not parked: pending, waiting for its next attempt or "
                        "being sent (`not_parked`), or done (`already_done`); `state` says which"
                    ),
                    "503": UNAVAILABLE,
                },
            }
        },
        "/admin/rebuild": {
            "post": {
                "summary": "Rebuild read models from the whole log, in the background",
                "security": ADMIN,
                "requestBody": body(
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "projections": {
                                "type": "array",
                                "items": {"enum": list(PROJECTIONS)},
                                "description": "all when empty or left out",
                                "examples": [["conversations"]],
                            },
                            "check": {
                                "type": "boolean",
                                "description": "compare with the live models instead of switching",
                            },
                        },
                    },
                    required=False,
                ),
                "responses": {
                    "202": json("started; poll GET /admin/rebuild/{id}", ref("Rebuild")),
                    "400": error(
                        "not JSON, not an object, an unknown projection, or a query parameter"
                        " (it takes none: `invalid_query`)"
                    ),
                    "401": UNAUTHORIZED,
                    "409": error("a rebuild is running already (`rebuild_running`)"),
                    "413": error("body over 1 MiB"),
                    "415": error("a body that is not application/json"),
                    "422": error(
                        "projections is not a list of names, check is not a boolean, or an "
                        "unknown field; `field` names it (`invalid_data`)"
                    ),
                    "503": UNAVAILABLE,
                },
            }
        },
        "/admin/rebuild/{rebuild_id}": {
            "get": {
                "summary": "A rebuild's progress",
                "security": ADMIN,
                "parameters": [path("rebuild_id", "the id POST /admin/rebuild answered")],
                "responses": {
                    "200": json("its progress", ref("Rebuild")),
                    "400": BAD_QUERY,
                    "401": UNAUTHORIZED,
                    "404": error("no rebuild with that id in this process"),
                },
            }
        },
        "/audit": {
            "get": {
                "summary": "The audit trail, oldest first",
                "security": ADMIN,
                "parameters": [
                    {"name": name, "in": "query", "required": False, "schema": schema}
                    for name, schema in (
                        ("conversation_id", {"type": "string", "minLength": 1, "maxLength": 255}),
                        ("ticket", {"type": "string", "pattern": "^[^:]+:.+$"}),
                        ("type", {"type": "string", "minLength": 1}),
                        ("since", {"type": "string", "format": "date-time"}),
                        ("until", {"type": "string", "format": "date-time"}),
                        # A cursor is a position, at most 2**63 - 1 (19 digits); 18
                        # digits say that in a pattern, and reach further than any log.
                        ("after", {"type": "string", "pattern": "^[0-9]{1,18}$"}),
                        ("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
                    )
                ],
                "responses": {
                    "200": json(
                        "a page of events",
                        {
                            "type": "object",
                            "properties": {
                                "events": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/AuditEvent"},
                                },
                                "next": {"type": ["string", "null"]},
                            },
                        },
                    ),
                    "400": error(
                        "a filter is invalid, empty, unknown or repeated (`invalid_query`, "
                        "`field` names it)"
                    ),
                    "401": UNAUTHORIZED,
                    "503": UNAVAILABLE,
                },
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics",
                "description": (
                    "prometheus-client's text format (OpenMetrics when the Accept header "
                    "asks): webhooks by source, outcome and reason, ingest and outside "
                    "request latency histograms, outbox attempts, the log's position, each "
                    "projection's position and lag, the outbox by state, the oldest pending "
                    "call's age, rebuild progress and process metrics (docs/operations.md)."
                ),
                "security": ADMIN,
                "responses": {
                    "200": {"description": "text format", "content": {"text/plain": {}}},
                    "400": BAD_QUERY,
                    "401": UNAUTHORIZED,
                },
            }
        },
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "security": ADMIN,
                "responses": {
                    "200": json("the OpenAPI description", {"type": "object"}),
                    "400": BAD_QUERY,
                    "401": UNAUTHORIZED,
                },
            }
        },
    },
}
