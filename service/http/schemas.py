"""The parts of the OpenAPI description that its operations share: the component
schemas, the webhook headers, the common answers and the helpers that build them."""

from __future__ import annotations

from typing import Any


def error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def body(schema: dict[str, Any], *, required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def path(name: str, description: str, example: str | None = None) -> dict[str, Any]:
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


def nullable(type_: str) -> dict[str, Any]:
    return {"type": [type_, "null"]}


STANDARD_WEBHOOK_HEADERS = [
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

ZENDESK_HEADERS = [
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

JIRA_HEADERS = [
    {
        "name": name,
        "in": "header",
        "required": True,
        "schema": {"type": "string"},
        "description": text,
    }
    for name, text in (
        ("X-Hub-Signature", "sha256=<lowercase hex of HMAC-SHA256(secret, raw body)>"),
        (
            "X-Atlassian-Webhook-Identifier",
            "the deduplication key; a retry of a delivery carries the same value",
        ),
    )
]

# What every webhook target answers (CONTRACT sections 2 and 3).
WEBHOOK_RESPONSES = {
    "202": json("stored durably", ref("Stored")),
    "200": json("already stored with this body", ref("Stored")),
    "400": error(
        "not JSON, not an object, or the envelope is wrong; or a query parameter, which no "
        "webhook target takes (`invalid_query`)"
    ),
    "401": error(
        "missing or malformed signature header (field names it), malformed or stale "
        "timestamp, or no matching signature"
    ),
    "409": error("this delivery id is stored with another body"),
    "413": error("body over 1 MiB"),
    "415": error("not application/json"),
    "422": error("a known type whose data is invalid"),
    "503": error("the database is unreachable; nothing was stored"),
}

ADMIN = [{"bearer": []}]
UNAUTHORIZED = error("no or wrong admin token")
UNAVAILABLE = error("the database is unreachable")
# Every GET refuses a query parameter it does not know (service.http.check_query).
BAD_QUERY = error("an unknown query parameter, or one given twice (`invalid_query`)")

# The answers of every endpoint that reads a JSON body (service.http.Api._json_body).
JSON_BODY_ERRORS = {
    "400": error("not JSON, or not an object; or a query parameter, which it takes none of"),
    "413": error("body over 1 MiB"),
    "415": error("not application/json"),
}

TICKET_STATUSES = ["new", "open", "pending", "hold", "solved", "closed"]
PRIORITIES = ["low", "medium", "high", "urgent"]


COMPONENTS: dict[str, Any] = {
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
                "state": {
                    "enum": ["pending", "parked", "done"],
                    "description": "a refused retry's call, as it is (`not_parked`, `already_done`)",
                },
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
                "duplicate); note.added: text (an internal note for the ticket). An unknown type is "
                "stored and answered 202 ignored."
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
                        "note.added",
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
        "Explanation": {
            "type": "object",
            "required": ["conversation_id", "needs_ticket", "reasons", "route", "pending"],
            "properties": {
                "conversation_id": {"type": "string"},
                "needs_ticket": {"type": "boolean"},
                "reasons": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "sentences naming each rule's figures",
                },
                "route": {
                    "type": "object",
                    "required": ["group", "priority", "tags", "because"],
                    "properties": {
                        "group": {"type": "string"},
                        "priority": {"type": "string"},
                        "tags": {"type": "array", "items": {"type": "string"}},
                        "because": {"type": "string"},
                    },
                },
                "pending": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "each call not done yet, in a sentence",
                },
                "control": {
                    "type": "string",
                    "description": "who answers the customer, the AI agent or people, and why",
                },
            },
        },
        "JiraPayload": {
            "description": (
                "A Jira Cloud admin webhook delivery: `jira:issue_updated` (its changelog's "
                "status, priority and assignee) and `comment_created` are acted on; other "
                "events are stored and answered `ignored`. A delivery whose changelog `id` "
                "or comment `id` was stored already, under any identifier header, is "
                "answered 200 `duplicate` with the first delivery's position; a change "
                "older than one already applied to its field is stored and not applied."
            ),
            "type": "object",
            "required": ["webhookEvent", "timestamp"],
            "properties": {
                "webhookEvent": {"type": "string"},
                "timestamp": {"type": "integer", "description": "epoch milliseconds"},
                "issue": {"type": "object"},
                "comment": {"type": "object"},
                "changelog": {"type": "object"},
                "user": {"type": "object"},
            },
        },
        "ZendeskPayload": {
            "description": (
                "A Zendesk event-subscription payload (deduplicated by `id`), or the "
                "trigger body of docs/zendesk-webhooks.md (`ticketsync: trigger/2`, or the "
                "earlier `trigger/1`; deduplicated by X-Zendesk-Webhook-Invocation-Id). A "
                "trigger body is a notice that the ticket changed: what changed is read "
                "from Zendesk's API."
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
                        "ticketsync": {"enum": ["trigger/1", "trigger/2"]},
                        "ticket_id": {"type": "string"},
                        "updated_at": {"type": "string"},
                        "comment_id": {"type": "string"},
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
                "url": nullable("string"),
                "status": {
                    "type": ["string", "null"],
                    "description": "one of " + ", ".join(TICKET_STATUSES) + "; on Jira, the "
                    "issue's status name (CONTRACT section 4)",
                },
                "priority": nullable("string"),
                "group": nullable("string"),
                "assignee": nullable("string"),
            },
        },
        "Conversation": {
            "type": "object",
            "required": ["conversation_id", "status", "ticket", "pending_calls", "control"],
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
                        "email": nullable("string"),
                        "name": nullable("string"),
                    },
                },
                "subject": nullable("string"),
                "channel": nullable("string"),
                "intents": {"type": "array", "items": {"type": "string"}},
                "route": {
                    "type": "object",
                    "properties": {
                        "group": {"type": "string"},
                        "priority": {"enum": PRIORITIES},
                        "tags": {"type": "array", "items": {"type": "string"}},
                    },
                },
                "message_count": {"type": "integer"},
                "tools": {"type": "array", "items": {"type": "string"}},
                "escalation_reason": nullable("string"),
                "resolution": nullable("string"),
                "ticket": {"anyOf": [ref("TicketRef"), {"type": "null"}]},
                "ticket_requested": {
                    "type": "boolean",
                    "description": "a create is on its way",
                },
                "previous_tickets": {"type": "array", "items": ref("TicketRef")},
                "pending_calls": {"type": "integer"},
                "control": {
                    "type": "object",
                    "description": "who should answer the customer: the AI agent or people",
                    "required": ["holder", "reason", "since"],
                    "properties": {
                        "holder": {"enum": ["agent", "human"]},
                        "reason": {
                            "enum": [
                                None,
                                "escalated",
                                "agent_replied",
                                "reopened",
                                "ticket_solved",
                                "ticket_closed",
                                "conversation_resolved",
                            ]
                        },
                        "since": {"type": ["string", "null"], "format": "date-time"},
                    },
                },
            },
        },
        "Ticket": {
            "type": "object",
            "required": ["system", "id", "conversation_id"],
            "description": "The ticket's read model; the built-in desk (`local`) adds the rest.",
            "properties": {
                "system": {"type": "string"},
                "id": {"type": "string"},
                "url": nullable("string"),
                "status": {
                    "type": ["string", "null"],
                    "description": "one of " + ", ".join(TICKET_STATUSES) + "; on Jira, the "
                    "issue's status name (CONTRACT section 4)",
                },
                "conversation_id": nullable("string"),
                "subject": nullable("string"),
                "priority": nullable("string"),
                "group": nullable("string"),
                "assignee": nullable("string"),
                "tags": {"type": "array", "items": {"type": "string"}},
                "requester": {"type": ["object", "null"]},
                "follow_up_of": nullable("string"),
                "comments": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "id": {"type": "integer"},
                            "author": nullable("string"),
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
                "status": {"enum": [*TICKET_STATUSES[1:], None]},
                "priority": {"enum": [*PRIORITIES, None]},
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
                "status": {"enum": TICKET_STATUSES},
                "priority": nullable("string"),
                "group": nullable("string"),
                "assignee": nullable("string"),
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
                "last_error": nullable("string"),
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
                "eta_seconds": nullable("number"),
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
                "matches": nullable("boolean"),
                "error": nullable("string"),
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
}
