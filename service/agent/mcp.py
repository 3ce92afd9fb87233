"""The AI agent's tools offered over MCP, with the official SDK (docs/mcp.md).

One MCPServer serves both transports: `ticketsync mcp` runs it over stdio, and `serve` mounts
its streamable HTTP app at /mcp behind the agent's token (service/http/app.py). Each tool
answers structured JSON; a refusal is a tool error (`isError`) whose text is the service's
error body, `{"error", "detail", "field"}`, so an agent can read which argument to fix.
"""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import Awaitable
from typing import Annotated, TypeVar, cast

import orjson
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field
from starlette.applications import Starlette

from ticketsync.events.chat import RESOLUTIONS
from ticketsync.events.errors import Refused, StoreUnavailable
from ticketsync.service.agent import MCP_PATH
from ticketsync.service.agent.tools import (
    DEFAULT_WAIT,
    MAX_KEY_LENGTH,
    MAX_WAIT,
    Accepted,
    Escalated,
    Explanation,
    TicketAnswer,
    Tools,
)
from ticketsync.service.bootstrap import Container

logger = logging.getLogger(__name__)

# As much as a chat webhook's body may be (CONTRACT section 2).
MAX_BODY = 1024 * 1024
INSTRUCTIONS = (
    "ticketsync keeps this AI support conversation and its help-desk ticket in sync. "
    "Escalate to hand the customer to people (the answer carries the ticket once it "
    "exists), add notes for them, resolve when done, and get_ticket or explain to see "
    "where things stand. Pass an idempotency_key when a call may be retried."
)

T = TypeVar("T")

ConversationId = Annotated[
    str, Field(description="The chat's conversation id, as its webhooks send it")
]
IdempotencyKey = Annotated[
    str | None,
    Field(
        description="Any string unique to this call: the same key again stores nothing new "
        "and answers the first call's position",
        json_schema_extra={"maxLength": MAX_KEY_LENGTH},
    ),
]


def _refusal(error: Refused | StoreUnavailable) -> CallToolResult:
    if isinstance(error, StoreUnavailable):
        body = {
            "error": "store_unavailable",
            "detail": "the database cannot be reached; nothing was stored, retry later",
        }
    else:
        body = {"error": error.code, "detail": error.detail}
        if error.field is not None:
            body["field"] = error.field
    logger.info("mcp.tool_refused", extra={"error": body["error"], "field": body.get("field")})
    return CallToolResult(
        content=[TextContent(type="text", text=orjson.dumps(body).decode())], is_error=True
    )


async def _answer(call: Awaitable[T]) -> T:
    """The tool's result, or its refusal as a tool error.

    The SDK passes a returned CallToolResult through as it is; a raised ToolError would
    reach the agent behind words of the SDK's own, and its text would no longer be JSON.
    """
    try:
        return await call
    except (Refused, StoreUnavailable) as error:
        return cast(T, _refusal(error))


def build(container: Container) -> MCPServer:
    """The MCP server of the five tools over `container`, whose ingestor must be running."""
    tools = Tools(container)
    server = MCPServer(
        "ticketsync",
        version=importlib.metadata.version("ticketsync"),
        instructions=INSTRUCTIONS,
    )
    reads = ToolAnnotations(read_only_hint=True, open_world_hint=False)
    writes = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=True)

    @server.tool(
        description="The conversation's status, its ticket ({system, id, url, status}, or "
        "null before one exists) and who should answer the customer now (control.holder: "
        "agent or human). An unknown conversation is an error.",
        annotations=reads,
    )
    async def get_ticket(conversation_id: ConversationId) -> TicketAnswer:
        return await _answer(tools.get_ticket(conversation_id))

    @server.tool(
        description="Escalate the conversation to people, as the chat's "
        "conversation.escalated webhook does: ticketsync opens (or reopens) its ticket. "
        "Waits up to wait_seconds for the ticket and returns it, or null if it is not "
        "there yet (get_ticket later shows it).",
        annotations=writes,
    )
    async def escalate(
        conversation_id: ConversationId,
        reason: Annotated[str, Field(description="Why people should take over, for the ticket")],
        wait_seconds: Annotated[
            float,
            Field(
                description=f"How long to wait for the ticket, at most {MAX_WAIT:g} seconds",
                json_schema_extra={"minimum": 0, "maximum": MAX_WAIT},
            ),
        ] = DEFAULT_WAIT,
        idempotency_key: IdempotencyKey = None,
    ) -> Escalated:
        return await _answer(tools.escalate(conversation_id, reason, wait_seconds, idempotency_key))

    @server.tool(
        description="Add an internal note for the people on the conversation's ticket (never "
        "shown to the customer). Before the ticket exists the note is kept, and posted once "
        "it does.",
        annotations=writes,
    )
    async def add_note(
        conversation_id: ConversationId,
        text: Annotated[
            str, Field(description="The note, plain text", json_schema_extra={"minLength": 1})
        ],
        idempotency_key: IdempotencyKey = None,
    ) -> Accepted:
        return await _answer(tools.add_note(conversation_id, text, idempotency_key))

    @server.tool(
        description="Resolve the conversation: resolved solves the ticket, pending_customer "
        "waits on the customer, duplicate closes it.",
        annotations=writes,
    )
    async def resolve(
        conversation_id: ConversationId,
        resolution: Annotated[
            str,
            Field(
                description="resolved, pending_customer or duplicate",
                json_schema_extra={"enum": list(RESOLUTIONS)},
            ),
        ],
    ) -> Accepted:
        return await _answer(tools.resolve(conversation_id, resolution))

    @server.tool(
        description="Why the conversation has or has no ticket, why it is routed where it "
        "is, and which calls to the help desk are still pending, in sentences.",
        annotations=reads,
    )
    async def explain(conversation_id: ConversationId) -> Explanation:
        return await _answer(tools.explain(conversation_id))

    return server


def http_app(server: MCPServer) -> Starlette:
    """The streamable HTTP transport at /mcp. Its session manager runs in the lifespan of
    whoever serves it (`server.session_manager.run()`)."""
    return server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        # Any `serve` process may answer any request (several share one PostgreSQL
        # database), so no session may live in one process's memory; each call is one
        # JSON answer, and no tool streams.
        stateless_http=True,
        json_response=True,
        max_request_body_size=MAX_BODY,
        # The SDK guards a server on 127.0.0.1 against DNS rebinding by the Host header; the
        # agent's token, required before a request reaches the protocol, guards it here,
        # whatever name the service is reached by.
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
