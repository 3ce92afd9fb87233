"""The OpenAPI 3.1 description served at GET /openapi.json."""

from __future__ import annotations

from typing import Any


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


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

_ADMIN = [{"bearer": []}]

SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "ticketsync",
        "version": "0.1.0",
        "description": "Keeps AI support conversations and help-desk tickets in sync.",
    },
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
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
                    "caused_by": {"type": ["string", "null"]},
                },
            },
        },
    },
    "paths": {
        "/webhooks/chat": {
            "post": {
                "summary": "Receive a signed chat event (Standard Webhooks)",
                "parameters": _STANDARD_WEBHOOK_HEADERS,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/ChatPayload"}}
                    },
                },
                "responses": {
                    "202": _json("stored durably", {"$ref": "#/components/schemas/Stored"}),
                    "200": _json(
                        "already stored with this body", {"$ref": "#/components/schemas/Stored"}
                    ),
                    "400": _error("not JSON, not an object, or the envelope is wrong"),
                    "401": _error(
                        "missing, malformed or non-matching signature, or stale timestamp"
                    ),
                    "409": _error("this webhook-id is stored with another body"),
                    "413": _error("body over 1 MiB"),
                    "415": _error("not application/json"),
                    "422": _error("a known type whose data is invalid"),
                    "503": _error("the database is unreachable; nothing was stored"),
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
                                "projections": {"type": "object"},
                            },
                        },
                    ),
                    "503": _error("the database is unreachable"),
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
                        ("conversation_id", {"type": "string"}),
                        ("ticket", {"type": "string", "pattern": "^[^:]+:.+$"}),
                        ("type", {"type": "string"}),
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
                    "400": _error("a filter is invalid"),
                    "401": _error("no or wrong admin token"),
                    "503": _error("the database is unreachable"),
                },
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics",
                "security": _ADMIN,
                "responses": {
                    "200": {"description": "text format", "content": {"text/plain": {}}},
                    "401": _error("no or wrong admin token"),
                },
            }
        },
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "security": _ADMIN,
                "responses": {
                    "200": _json("the OpenAPI description", {"type": "object"}),
                    "401": _error("no or wrong admin token"),
                },
            }
        },
    },
}
