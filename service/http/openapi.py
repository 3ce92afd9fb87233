"""The OpenAPI 3.1 description served at GET /openapi.json.

It names every route `service.http.create_app` serves (but the `--dev` stand-in chat inbox),
and every status each can answer; tests/reliability/test_schema.py keeps both true.
"""

from __future__ import annotations

from typing import Any


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _body(schema: dict[str, Any], *, required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def _path(name: str, description: str, example: str | None = None) -> dict[str, Any]:
    parameter = {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "string", "minLength": 1},
        "description": description,
    }
    if example is not None:
        parameter["example"] = example
    return parameter


def _nullable(type_: str) -> dict[str, Any]:
    return {"type": [type_, "null"]}


_STANDARD_WEBHOOK_HEADERS = [
    {
        "name": name,
        "in": "header",
        "required": True,
        "schema": {"type": "string"},
        "description": text,
    }
    for name, text in (
        ("webhook-id", "unique id of the event; retries carry the same id"),
        ("webhook-timestamp", "unix seconds; refused when more than 300 s from the server clock"),
        ("webhook-signature", "space-separated 'v1,<base64 HMAC-SHA256>' entries"),
    )
]

_ZENDESK_HEADERS = [
    {
        "name": name,
        "in": "header",
        "required": required,
        "schema": {"type": "string"},
        "description": text,
    }
    for name, required, text in (
        (
            "X-Zendesk-Webhook-Signature",
            True,
            "base64 of HMAC-SHA256(secret, timestamp header value + raw body)",
        ),
        (
            "X-Zendesk-Webhook-Signature-Timestamp",
            True,
            "ISO-8601 time, e.g. 2026-11-25T10:00:00Z; refused when more than 300 s away",
        ),
        (
            "X-Zendesk-Webhook-Invocation-Id",
            False,
            "the deduplication key of a trigger delivery (required for trigger bodies)",
        ),
    )
]

# What both webhook targets answer (CONTRACT sections 2 and 3).
_WEBHOOK_RESPONSES = {
    "202": _json("stored durably", _ref("Stored")),
    "200": _json("already stored with this body", _ref("Stored")),
    "400": _error("not JSON, not an object, or the envelope is wrong"),
    "401": _error(
        "missing or malformed signature header (field names it), malformed or stale "
        "timestamp, or no matching signature"
    ),
    "409": _error("this delivery id is stored with another body"),
    "413": _error("body over 1 MiB"),
    "415": _error("not application/json"),
    "422": _error("a known type whose data is invalid"),
    "503": _error("the database is unreachable; nothing was stored"),
}

_ADMIN = [{"bearer": []}]
_UNAUTHORIZED = _error("no or wrong admin token")
_UNAVAILABLE = _error("the database is unreachable")
# Every GET refuses a query parameter it does not know (service.http.check_query).
_BAD_QUERY = _error("an unknown query parameter, or one given twice (`invalid_query`)")

# The answers of every endpoint that reads a JSON body (service.http.Api._json_body).
_JSON_BODY_ERRORS = {
    "400": _error("not JSON, or not an object"),
    "413": _error("body over 1 MiB"),
    "415": _error("not application/json"),
}

_TICKET_STATUSES = ["new", "open", "pending", "hold", "solved", "closed"]
_PRIORITIES = ["low", "medium", "high", "urgent"]

SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "ticketsync",
        "version": "0.1.0",
        "description": "Keeps AI support conversations and help-desk tickets in sync.",
    },
    "components": {
        "securitySchemes": {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "TICKETSYNC_ADMIN_TOKEN",
            }
        },
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error", "detail"],
                "properties": {
                    "error": {"type": "string", "description": "stable code for machines"},
                    "detail": {"type": "string", "description": "what is wrong, for a person"},
                    "field": {"type": "string", "description": "the JSON path at fault"},
                },
            },
            "Stored": {
                "type": "object",
                "required": ["status", "event_id", "position"],
                "properties": {
                    "status": {"enum": ["accepted", "duplicate"]},
                    "event_id": {"type": "string"},
                    "position": {"type": "integer"},
                    "ignored": {"type": "boolean"},
                },
            },
            "ChatPayload": {
                "type": "object",
                "required": ["type", "timestamp", "data"],
                "description": (
                    "A Standard Webhooks payload; `data` has `conversation_id` and, by `type`: "
                    "conversation.started: customer {id, email?, name?}, subject?, channel?; "
                    "message.created: message_id, role (user|assistant), content; "
                    "tool.executed: tool, input (object), status (ok|error), output?; "
                    "intents.detected: intents (primary first); conversation.escalated: "
                    "reason; conversation.resolved: resolution (resolved|pending_customer|"
                    "duplicate). An unknown type is stored and answered 202 ignored."
                ),
                "properties": {
                    "type": {
                        "type": "string",
                        "examples": [
                            "conversation.started",
                            "message.created",
                            "tool.executed",
                            "intents.detected",
                            "conversation.escalated",
                            "conversation.resolved",
                        ],
                    },
                    "timestamp": {"type": "string", "format": "date-time"},
                    "data": {
                        "type": "object",
                        "required": ["conversation_id"],
                        "properties": {"conversation_id": {"type": "string"}},
                    },
                },
            },
            "ZendeskPayload": {
                "description": (
                    "A Zendesk event-subscription payload (deduplicated by `id`), or the "
                    "trigger body of docs/zendesk-webhooks.md (`ticketsync: trigger/1`, "
                    "deduplicated by X-Zendesk-Webhook-Invocation-Id)."
                ),
                "anyOf": [
                    {
                        "type": "object",
                        "required": ["id", "type", "time", "detail"],
                        "properties": {
                            "id": {"type": "string"},
                            "type": {
                                "type": "string",
                                "examples": [
                                    "zen:event-type:ticket.comment_added",
                                    "zen:event-type:ticket.status_changed",
                                ],
                            },
                            "time": {"type": "string", "format": "date-time"},
                            "detail": {
                                "type": "object",
                                "required": ["id"],
                                "properties": {"id": {"type": ["string", "integer"]}},
                            },
                            "event": {"type": "object"},
                        },
                    },
                    {
                        "type": "object",
                        "required": ["ticketsync", "ticket_id", "updated_at"],
                        "properties": {
                            "ticketsync": {"const": "trigger/1"},
                            "ticket_id": {"type": "string"},
                            "updated_at": {"type": "string"},
                            "comment": {"type": "object"},
                        },
                    },
                ],
            },
            "TicketRef": {
                "type": "object",
                "required": ["system", "id"],
                "properties": {
                    "system": {"type": "string"},
                    "id": {"type": "string"},
                    "url": _nullable("string"),
                    "status": {"enum": [*_TICKET_STATUSES, None]},
                    "priority": _nullable("string"),
                    "group": _nullable("string"),
                    "assignee": _nullable("string"),
                },
            },
            "Conversation": {
                "type": "object",
                "required": ["conversation_id", "status", "ticket", "pending_calls"],
                "properties": {
                    "conversation_id": {"type": "string"},
                    "status": {
                        "enum": [
                            "open",
                            "escalated",
                            "resolved",
                            "pending_customer",
                            "duplicate",
                            "resolved_by_agent",
                            "awaiting_customer",
                            "with_agent",
                            "closed",
                        ]
                    },
                    "customer": {
                        "type": ["object", "null"],
                        "properties": {
                            "id": {"type": "string"},
                            "email": _nullable("string"),
                            "name": _nullable("string"),
                        },
                    },
                    "subject": _nullable("string"),
                    "channel": _nullable("string"),
                    "intents": {"type": "array", "items": {"type": "string"}},
                    "route": {
                        "type": "object",
                        "properties": {
                            "group": {"type": "string"},
                            "priority": {"enum": _PRIORITIES},
                            "tags": {"type": "array", "items": {"type": "string"}},
                        },
                    },
                    "message_count": {"type": "integer"},
                    "tools": {"type": "array", "items": {"type": "string"}},
                    "escalation_reason": _nullable("string"),
                    "resolution": _nullable("string"),
                    "ticket": {"anyOf": [_ref("TicketRef"), {"type": "null"}]},
                    "ticket_requested": {
                        "type": "boolean",
                        "description": "a create is on its way",
                    },
                    "previous_tickets": {"type": "array", "items": _ref("TicketRef")},
                    "pending_calls": {"type": "integer"},
                },
            },
            "Ticket": {
                "type": "object",
                "required": ["system", "id", "conversation_id"],
                "description": "The ticket's read model; the built-in desk (`local`) adds the rest.",
                "properties": {
                    "system": {"type": "string"},
                    "id": {"type": "string"},
                    "url": _nullable("string"),
                    "status": {"enum": [*_TICKET_STATUSES, None]},
                    "conversation_id": _nullable("string"),
                    "subject": _nullable("string"),
                    "priority": _nullable("string"),
                    "group": _nullable("string"),
                    "assignee": _nullable("string"),
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "requester": {"type": ["object", "null"]},
                    "follow_up_of": _nullable("string"),
                    "comments": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "id": {"type": "integer"},
                                "author": _nullable("string"),
                                "body": {"type": "string"},
                                "public": {"type": "boolean"},
                            },
                        },
                    },
                },
            },
            "LocalComment": {
                "type": "object",
                "required": ["author", "body"],
                "additionalProperties": False,
                "properties": {
                    "author": {"type": "string", "minLength": 1, "maxLength": 255},
                    "body": {"type": "string", "minLength": 1, "maxLength": 65536},
                    "public": {"type": "boolean", "default": True},
                },
                "example": {"author": "Dana", "body": "On it!", "public": True},
            },
            "LocalChange": {
                "type": "object",
                "minProperties": 1,
                "additionalProperties": False,
                "description": "At least one field; null or left out keeps the value.",
                "properties": {
                    "status": {"enum": [*_TICKET_STATUSES[1:], None]},
                    "priority": {"enum": [*_PRIORITIES, None]},
                    "group": {"type": ["string", "null"], "maxLength": 255},
                    "assignee": {"type": ["string", "null"], "maxLength": 255},
                },
                "example": {"status": "pending", "assignee": "Dana"},
            },
            "LocalTicket": {
                "type": "object",
                "required": ["system", "id", "status"],
                "properties": {
                    "system": {"const": "local"},
                    "id": {"type": "string"},
                    "status": {"enum": _TICKET_STATUSES},
                    "priority": _nullable("string"),
                    "group": _nullable("string"),
                    "assignee": _nullable("string"),
                },
            },
            "Call": {
                "type": "object",
                "required": ["id", "kind", "state", "attempts"],
                "properties": {
                    "id": {"type": "string"},
                    "conversation_id": {"type": "string"},
                    "kind": {"type": "string"},
                    "state": {"enum": ["pending", "parked", "done"]},
                    "attempts": {"type": "integer"},
                    "next_attempt_at": {"type": "string", "format": "date-time"},
                    "last_error": _nullable("string"),
                    "created_at": {"type": "string", "format": "date-time"},
                    "updated_at": {"type": "string", "format": "date-time"},
                    "command": {"description": "the call, as decided"},
                },
            },
            "Rebuild": {
                "type": "object",
                "required": ["id", "state"],
                "properties": {
                    "id": {"type": "string"},
                    "projections": {"type": "array", "items": {"type": "string"}},
                    "check": {"type": "boolean"},
                    "state": {"enum": ["running", "done", "failed", "cancelled"]},
                    "events_read": {"type": "integer"},
                    "position": {"type": "integer"},
                    "head": {"type": "integer"},
                    "events_per_second": {"type": "number"},
                    "eta_seconds": _nullable("number"),
                    "elapsed_seconds": {"type": "number"},
                    "rows": {"type": "object", "additionalProperties": {"type": "integer"}},
                    "differences": {
                        "type": "integer",
                        "description": "decisions that differ from those made live",
                    },
                    "differences_shown": {
                        "type": "array",
                        "items": {"type": "object"},
                        "description": "the first 100 of them",
                    },
                    "checksums": {"type": "object"},
                    "matches": _nullable("boolean"),
                    "error": _nullable("string"),
                },
            },
            "AuditEvent": {
                "type": "object",
                "properties": {
                    "position": {"type": "integer"},
                    "id": {"type": "string"},
                    "type": {"type": "string"},
                    "source": {"enum": ["chat", "zendesk", "jira", "ticketsync"]},
                    "occurred_at": {"type": "string", "format": "date-time"},
                    "recorded_at": {"type": "string", "format": "date-time"},
                    "conversation_id": {"type": ["string", "null"]},
                    "ticket": {
                        "type": ["object", "null"],
                        "properties": {"system": {"type": "string"}, "id": {"type": "string"}},
                    },
                    "data": {},
                    "caused_by": {
                        "description": "The entry of this log that caused this one; null for deliveries from outside.",
                        "type": ["object", "null"],
                        "properties": {
                            "position": {"type": ["integer", "null"]},
                            "id": {"type": "string"},
                        },
                        "required": ["position", "id"],
                    },
                },
            },
        },
    },
    "paths": {
        "/webhooks/chat": {
            "post": {
                "summary": "Receive a signed chat event (Standard Webhooks)",
                "parameters": _STANDARD_WEBHOOK_HEADERS,
                "requestBody": _body(_ref("ChatPayload")),
                "responses": _WEBHOOK_RESPONSES,
            }
        },
        "/webhooks/zendesk": {
            "post": {
                "summary": "Receive a signed Zendesk webhook (event subscription or trigger)",
                "parameters": _ZENDESK_HEADERS,
                "requestBody": _body(_ref("ZendeskPayload")),
                "responses": _WEBHOOK_RESPONSES,
            }
        },
        "/": {
            "get": {
                "summary": "An index: where the health, the API description and the console are",
                "responses": {
                    "200": _json(
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
                },
            }
        },
        "/healthz": {
            "get": {
                "summary": "Liveness, log position and projection lag",
                "responses": {
                    "200": _json(
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
                    "400": _BAD_QUERY,
                    "503": _error("the database is unreachable (with `status: unavailable`)"),
                },
            }
        },
        "/conversations/{conversation_id}": {
            "get": {
                "summary": "A conversation's read model",
                "security": _ADMIN,
                "parameters": [
                    _path("conversation_id", "the chat's conversation id (may hold '/')", "conv_42")
                ],
                "responses": {
                    "200": _json("the conversation", _ref("Conversation")),
                    "400": _BAD_QUERY,
                    "401": _UNAUTHORIZED,
                    "404": _error("ticketsync has not heard of this conversation"),
                    "503": _UNAVAILABLE,
                },
            }
        },
        "/tickets/{system}/{ticket_id}": {
            "get": {
                "summary": "A ticket's read model, with its conversation",
                "operationId": "getTicket",
                "security": _ADMIN,
                "parameters": [
                    _path("system", "local, zendesk or jira", "local"),
                    _path("ticket_id", "the help desk's ticket id", "1"),
                ],
                "responses": {
                    "200": {
                        **_json("the ticket", _ref("Ticket")),
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
                    "400": _BAD_QUERY,
                    "401": _UNAUTHORIZED,
                    "404": _error("no such ticket"),
                    "503": _UNAVAILABLE,
                },
            }
        },
        "/tickets/local/{ticket_id}/comments": {
            "post": {
                "summary": "Comment on a built-in desk ticket, as an agent",
                "operationId": "commentOnLocalTicket",
                "security": _ADMIN,
                "parameters": [_path("ticket_id", "the built-in desk's ticket id", "1")],
                "requestBody": _body(_ref("LocalComment")),
                "responses": {
                    "201": _json(
                        "the comment is added",
                        {
                            "type": "object",
                            "required": ["ticket", "comment_id", "public"],
                            "properties": {
                                "ticket": _ref("TicketRef"),
                                "comment_id": {"type": "string"},
                                "public": {"type": "boolean"},
                            },
                        },
                    ),
                    **_JSON_BODY_ERRORS,
                    "401": _UNAUTHORIZED,
                    "404": _error("no such ticket, or the built-in desk is not in use"),
                    "409": _error("the ticket is closed (`ticket_closed`)"),
                    "422": _error("a field is invalid or unknown; `field` names it"),
                    "503": _UNAVAILABLE,
                },
            }
        },
        "/tickets/local/{ticket_id}": {
            "patch": {
                "summary": "Change a built-in desk ticket, as an agent",
                "operationId": "changeLocalTicket",
                "security": _ADMIN,
                "parameters": [_path("ticket_id", "the built-in desk's ticket id", "1")],
                "requestBody": _body(_ref("LocalChange")),
                "responses": {
                    "200": _json("the ticket after the change", _ref("LocalTicket")),
                    **_JSON_BODY_ERRORS,
                    "401": _UNAUTHORIZED,
                    "404": _error("no such ticket, or the built-in desk is not in use"),
                    "409": _error("the ticket is closed (`ticket_closed`)"),
                    "422": _error("a field is invalid or unknown, or none is given"),
                    "503": _UNAVAILABLE,
                },
            }
        },
        "/outbox": {
            "get": {
                "summary": "Outgoing calls, oldest first",
                "operationId": "listCalls",
                "security": _ADMIN,
                "parameters": [
                    {
                        "name": "state",
                        "in": "query",
                        "required": False,
                        "schema": {"enum": ["pending", "parked", "done"]},
                    }
                ],
                "responses": {
                    "200": {
                        **_json(
                            "the calls",
                            {
                                "type": "object",
                                "required": ["calls"],
                                "properties": {"calls": {"type": "array", "items": _ref("Call")}},
                            },
                        ),
                        "links": {
                            "RetryCall": {
                                "operationId": "retryCall",
                                "parameters": {"call_id": "$response.body#/calls/0/id"},
                            }
                        },
                    },
                    "400": _error(
                        "state is not pending, parked or done, or an unknown or repeated "
                        "parameter (`invalid_query`, `field` names it)"
                    ),
                    "401": _UNAUTHORIZED,
                    "503": _UNAVAILABLE,
                },
            }
        },
        "/outbox/{call_id}/retry": {
            "post": {
                "summary": "Make a parked (or waiting) call due now, with a fresh count",
                "operationId": "retryCall",
                "security": _ADMIN,
                "parameters": [_path("call_id", "the call's id")],
                "responses": {
                    "200": _json("the call, due now", _ref("Call")),
                    "401": _UNAUTHORIZED,
                    "404": _error("no such call"),
                    "409": _error("the call has succeeded already (`already_done`)"),
                    "503": _UNAVAILABLE,
                },
            }
        },
        "/admin/rebuild": {
            "post": {
                "summary": "Rebuild read models from the whole log, in the background",
                "security": _ADMIN,
                "requestBody": _body(
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "projections": {
                                "type": "array",
                                "items": {"type": "string"},
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
                    "202": _json("started; poll GET /admin/rebuild/{id}", _ref("Rebuild")),
                    "400": _error("not JSON, not an object, or an unknown projection"),
                    "401": _UNAUTHORIZED,
                    "409": _error("a rebuild is running already (`rebuild_running`)"),
                    "413": _error("body over 1 MiB"),
                    "415": _error("a body that is not application/json"),
                    "422": _error(
                        "projections is not a list of names, check is not a boolean, or an "
                        "unknown field; `field` names it (`invalid_data`)"
                    ),
                    "503": _UNAVAILABLE,
                },
            }
        },
        "/admin/rebuild/{rebuild_id}": {
            "get": {
                "summary": "A rebuild's progress",
                "security": _ADMIN,
                "parameters": [_path("rebuild_id", "the id POST /admin/rebuild answered")],
                "responses": {
                    "200": _json("its progress", _ref("Rebuild")),
                    "400": _BAD_QUERY,
                    "401": _UNAUTHORIZED,
                    "404": _error("no rebuild with that id in this process"),
                },
            }
        },
        "/audit": {
            "get": {
                "summary": "The audit trail, oldest first",
                "security": _ADMIN,
                "parameters": [
                    {"name": name, "in": "query", "required": False, "schema": schema}
                    for name, schema in (
                        ("conversation_id", {"type": "string", "minLength": 1}),
                        ("ticket", {"type": "string", "pattern": "^[^:]+:.+$"}),
                        ("type", {"type": "string", "minLength": 1}),
                        ("since", {"type": "string", "format": "date-time"}),
                        ("until", {"type": "string", "format": "date-time"}),
                        ("after", {"type": "string", "pattern": "^[0-9]+$"}),
                        ("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
                    )
                ],
                "responses": {
                    "200": _json(
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
                    "400": _error(
                        "a filter is invalid, empty, unknown or repeated (`invalid_query`, "
                        "`field` names it)"
                    ),
                    "401": _UNAUTHORIZED,
                    "503": _UNAVAILABLE,
                },
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics",
                "description": (
                    "Webhooks by source and outcome (counter), the log's position, each "
                    "projection's lag and the outbox's pending and parked calls (gauges)."
                ),
                "security": _ADMIN,
                "responses": {
                    "200": {"description": "text format", "content": {"text/plain": {}}},
                    "400": _BAD_QUERY,
                    "401": _UNAUTHORIZED,
                },
            }
        },
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "security": _ADMIN,
                "responses": {
                    "200": _json("the OpenAPI description", {"type": "object"}),
                    "400": _BAD_QUERY,
                    "401": _UNAUTHORIZED,
                },
            }
        },
    },
}
