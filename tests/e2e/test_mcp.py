"""The AI agent's tools over MCP (CONTRACT section 7), driven by the official SDK's own client:
over streamable HTTP against a real `serve`, and over stdio against `ticketsync mcp` beside it."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import orjson
import pytest
from mcp import ClientSession, MCPError, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client

from tests.e2e.test_zendesk_flow import zendesk_env
from tests.emulators.zendesk import ZendeskEmulator
from tests.support import (
    ADMIN_TOKEN,
    Server,
    payload,
    running,
    server_env,
    signed,
    ticketsync_command,
    wait_until,
)

AGENT_TOKEN = "test-agent-token-0123456789abcdefghijk"
TOOLS = {"get_ticket", "escalate", "add_note", "resolve", "explain"}


@pytest.fixture(scope="module")
def server(database: tuple[str, Path]) -> Iterator[Server]:
    """`serve` on the built-in desk, with the agent's token set."""
    url, folder = database
    with running(url, folder, env={"TICKETSYNC_AGENT_TOKEN": AGENT_TOKEN}) as started:
        yield started


@contextlib.asynccontextmanager
async def over_http(url: str, token: str = AGENT_TOKEN) -> AsyncIterator[ClientSession]:
    client = create_mcp_http_client(headers={"authorization": f"Bearer {token}"})
    async with (
        client,
        streamable_http_client(url + "/mcp", http_client=client) as streams,
        ClientSession(streams[0], streams[1]) as session,
    ):
        await session.initialize()
        yield session


async def call(session: ClientSession, tool: str, **arguments: Any) -> Any:
    return await session.call_tool(tool, arguments)


def refusal(result: Any) -> dict[str, Any]:
    """A tool error's body: the service's `{"error", "detail", "field"}`."""
    assert result.is_error, result
    return orjson.loads(result.content[0].text)


def send(server: Server, event: dict[str, Any]) -> None:
    body, headers = signed(event)
    answer = httpx.post(server.url + "/webhooks/chat", content=body, headers=headers, timeout=10)
    assert answer.status_code == 202, answer.text


def new_conversation(server: Server) -> str:
    cid = f"conv_{uuid.uuid4().hex[:10]}"
    send(server, payload("conversation.started", cid, customer={"id": "c1", "name": "Ann"}))
    return cid


def audit(server: Server, cid: str, kind: str | None = None) -> list[dict[str, Any]]:
    params = {"conversation_id": cid} | ({"type": kind} if kind else {})
    with server.admin() as admin:
        return admin.get("/audit", params=params).json()["events"]


# -- over streamable HTTP -----------------------------------------------------------------------


def test_the_five_tools_are_listed_with_their_schemas(server: Server) -> None:
    async def listed() -> dict[str, Any]:
        async with over_http(server.url) as session:
            return {tool.name: tool for tool in (await session.list_tools()).tools}

    tools = anyio.run(listed)
    assert set(tools) == TOOLS
    required = {name: set(tool.input_schema.get("required", ())) for name, tool in tools.items()}
    assert required == {
        "get_ticket": {"conversation_id"},
        "escalate": {"conversation_id", "reason"},
        "add_note": {"conversation_id", "text"},
        "resolve": {"conversation_id", "resolution"},
        "explain": {"conversation_id"},
    }
    escalate = tools["escalate"].input_schema["properties"]
    assert escalate["wait_seconds"]["default"] == 5
    assert escalate["wait_seconds"]["maximum"] == 30
    assert "idempotency_key" in escalate
    assert "idempotency_key" in tools["add_note"].input_schema["properties"]
    resolution = tools["resolve"].input_schema["properties"]["resolution"]
    assert resolution["enum"] == ["resolved", "pending_customer", "duplicate"]
    outputs = {name: set(tool.output_schema["properties"]) for name, tool in tools.items()}
    assert outputs == {
        "get_ticket": {"conversation_id", "status", "ticket", "control"},
        "escalate": {"accepted", "position", "ticket"},
        "add_note": {"accepted", "position"},
        "resolve": {"accepted", "position"},
        "explain": {"conversation_id", "needs_ticket", "reasons", "route", "pending", "control"},
    }


def test_escalate_answers_with_the_ticket_on_the_built_in_desk(server: Server) -> None:
    cid = new_conversation(server)

    async def escalated() -> tuple[Any, Any]:
        async with over_http(server.url) as session:
            result = await call(session, "escalate", conversation_id=cid, reason="wants a human")
            return result, await call(session, "get_ticket", conversation_id=cid)

    result, shown = anyio.run(escalated)
    assert not result.is_error, result
    answer = result.structured_content
    assert answer["accepted"] is True
    assert answer["ticket"]["system"] == "local"
    assert answer["ticket"]["id"]
    assert set(answer["ticket"]) == {"system", "id", "url", "status"}
    assert shown.structured_content == {
        "conversation_id": cid,
        "status": "escalated",
        "ticket": answer["ticket"] | {"status": shown.structured_content["ticket"]["status"]},
        "control": shown.structured_content["control"],
    }
    # The escalation handed the conversation to people: the AI agent knows to stay quiet.
    control = shown.structured_content["control"]
    assert (control["holder"], control["reason"]) == ("human", "escalated")
    assert control["since"]
    [stored] = audit(server, cid, "conversation.escalated")
    assert stored["source"] == "chat"
    assert stored["position"] == answer["position"]
    assert stored["data"]["reason"] == "wants a human"


def test_a_tool_stores_an_event_once_per_idempotency_key(server: Server) -> None:
    cid = new_conversation(server)

    async def noted() -> list[Any]:
        async with over_http(server.url) as session:
            return [
                await call(session, "add_note", conversation_id=cid, text="VIP", idempotency_key=k)
                for k in ("note-1", "note-1", "note-2")
            ]

    first, again, other = anyio.run(noted)
    assert first.structured_content["accepted"] is True
    assert again.structured_content == first.structured_content
    assert other.structured_content["position"] != first.structured_content["position"]
    stored = audit(server, cid, "note.added")
    assert [event["position"] for event in stored] == [
        first.structured_content["position"],
        other.structured_content["position"],
    ]
    assert {event["source"] for event in stored} == {"chat"}


def test_a_key_used_again_for_another_call_is_refused(server: Server) -> None:
    cid = new_conversation(server)

    async def noted() -> list[Any]:
        async with over_http(server.url) as session:
            return [
                await call(session, "add_note", conversation_id=cid, text=text, idempotency_key="k")
                for text in ("first", "second")
            ]

    first, second = anyio.run(noted)
    assert not first.is_error
    assert refusal(second) | {"detail": ""} == {
        "error": "conflict",
        "detail": "",
        "field": "idempotency_key",
    }
    assert len(audit(server, cid, "note.added")) == 1


@pytest.mark.parametrize(
    ("tool", "arguments", "field"),
    [
        pytest.param("resolve", {"resolution": "maybe"}, "resolution", id="resolution-maybe"),
        pytest.param("add_note", {"text": "  "}, "text", id="blank-note"),
        pytest.param("escalate", {"reason": "x", "wait_seconds": 31}, "wait_seconds", id="wait-31"),
        pytest.param("escalate", {"reason": 7}, "reason", id="reason-not-text"),
        pytest.param(
            "escalate", {"conversation_id": "", "reason": "x"}, "conversation_id", id="empty-id"
        ),
        pytest.param(
            "add_note",
            {"text": "x", "idempotency_key": "k" * 201},
            "idempotency_key",
            id="key-too-long",
        ),
    ],
)
def test_a_bad_argument_is_a_tool_error_naming_it(
    server: Server, tool: str, arguments: dict[str, Any], field: str
) -> None:
    cid = new_conversation(server)

    async def refused() -> Any:
        async with over_http(server.url) as session:
            return await session.call_tool(tool, {"conversation_id": cid, **arguments})

    result = anyio.run(refused)
    assert result.is_error
    text = result.content[0].text
    assert field in text
    if text.startswith("{"):
        assert refusal(result)["field"] == field
    assert [event["type"] for event in audit(server, cid)] == ["conversation.started"]


@pytest.mark.parametrize("tool", ["get_ticket", "explain", "resolve", "add_note"])
def test_an_unknown_conversation_is_a_tool_error_that_says_so(server: Server, tool: str) -> None:
    cid = f"never_{uuid.uuid4().hex[:8]}"
    extra = {"resolve": {"resolution": "resolved"}, "add_note": {"text": "hello"}}.get(tool, {})

    async def asked() -> Any:
        async with over_http(server.url) as session:
            return await session.call_tool(tool, {"conversation_id": cid, **extra})

    body = refusal(anyio.run(asked))
    assert body["error"] == "not_found"
    assert cid in body["detail"]
    assert audit(server, cid) == []  # nothing stored


def test_explain_answers_what_the_api_answers(server: Server) -> None:
    cid = new_conversation(server)

    async def explained() -> Any:
        async with over_http(server.url) as session:
            return await call(session, "explain", conversation_id=cid)

    with server.admin() as admin:
        wait_until(lambda: admin.get(f"/conversations/{cid}").status_code == 200)
        expected = admin.get(f"/conversations/{cid}/explain").json()
    assert anyio.run(explained).structured_content == expected


@pytest.mark.parametrize("token", ["not-the-agent-token-0123456789abcdef", ADMIN_TOKEN, None])
def test_mcp_refuses_any_other_token_with_401(server: Server, token: str | None) -> None:
    headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    answer = httpx.post(server.url + "/mcp", json=body, headers=headers, timeout=10)
    assert answer.status_code == 401
    assert answer.json()["error"] == "unauthorized"
    assert answer.headers["www-authenticate"] == "Bearer"


def test_a_call_with_the_admin_token_stores_nothing(server: Server) -> None:
    cid = new_conversation(server)
    call = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "escalate", "arguments": {"conversation_id": cid, "reason": "x"}},
    }
    answer = httpx.post(
        server.url + "/mcp",
        json=call,
        headers={
            "authorization": f"Bearer {ADMIN_TOKEN}",
            "accept": "application/json, text/event-stream",
        },
        timeout=10,
    )
    assert answer.status_code == 401
    assert [event["type"] for event in audit(server, cid)] == ["conversation.started"]


def test_a_body_over_1_mib_is_refused(server: Server) -> None:
    cid = new_conversation(server)
    call = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "add_note", "arguments": {"conversation_id": cid, "text": "x" * 2**21}},
    }
    answer = httpx.post(
        server.url + "/mcp",
        json=call,
        headers={
            "authorization": f"Bearer {AGENT_TOKEN}",
            "accept": "application/json, text/event-stream",
        },
        timeout=10,
    )
    assert answer.status_code == 413
    assert audit(server, cid, "note.added") == []


def test_the_sdk_client_is_refused_with_the_admin_token(server: Server) -> None:
    async def listed() -> None:
        async with over_http(server.url, ADMIN_TOKEN) as session:
            await session.list_tools()

    # The SDK's client says only that the server answered with an error; the raw answer
    # is tested above.
    with pytest.raises(ExceptionGroup) as raised:
        anyio.run(listed)
    assert raised.group_contains(MCPError)


def test_the_agent_token_opens_nothing_else(server: Server) -> None:
    cid = new_conversation(server)
    agent = {"authorization": f"Bearer {AGENT_TOKEN}"}
    with server.client(headers=agent) as client:
        for path in ("/audit", f"/conversations/{cid}", f"/conversations/{cid}/explain", "/outbox"):
            answer = client.get(path)
            assert answer.status_code == 401, path
            assert answer.json()["error"] == "unauthorized"
        # The console signs people in with the admin token alone.
        assert client.post("/ui/sign-in", data={"token": AGENT_TOKEN}).status_code == 401
        assert client.get("/ui/outbox").status_code == 303  # sent to sign in


def test_without_an_agent_token_there_is_no_mcp(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from ticketsync.service import bootstrap, config
    from ticketsync.service.http import app as http

    settings = config.load(
        {
            "TICKETSYNC_DATABASE_URL": f"sqlite:///{tmp_path / 't.db'}",
            "TICKETSYNC_ADMIN_TOKEN": ADMIN_TOKEN,
        }
    )
    container = bootstrap.build(settings, run_workers=False)
    try:
        with TestClient(http.create_app(container)) as client:
            for token in (AGENT_TOKEN, ADMIN_TOKEN):
                answer = client.post("/mcp", json={}, headers={"authorization": f"Bearer {token}"})
                assert answer.status_code == 404
                assert answer.json()["error"] == "not_found"
    finally:
        container.close()


# -- on the Zendesk emulator --------------------------------------------------------------------


def test_escalate_answers_with_the_zendesk_ticket(
    zendesk: tuple[ZendeskEmulator, str], database_url: str, tmp_path: Path
) -> None:
    emulator, base_url = zendesk
    env = zendesk_env(base_url, TICKETSYNC_AGENT_TOKEN=AGENT_TOKEN)
    with running(database_url, tmp_path, env=env) as started:
        cid = new_conversation(started)

        async def escalated() -> Any:
            async with over_http(started.url) as session:
                return await call(
                    session, "escalate", conversation_id=cid, reason="refund", wait_seconds=15
                )

        answer = anyio.run(escalated).structured_content
    assert answer["ticket"]["system"] == "zendesk"
    [ticket] = [t for t in emulator.tickets() if t.get("external_id") == cid]
    assert answer["ticket"]["id"] == str(ticket["id"])


# -- over stdio ---------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def over_stdio(
    database_url: str, cwd: Path, errors: Any, **env: str
) -> AsyncIterator[ClientSession]:
    command, *args = ticketsync_command()
    parameters = StdioServerParameters(
        command=command, args=[*args, "mcp"], env=server_env(database_url, **env), cwd=cwd
    )
    async with (
        stdio_client(parameters, errlog=errors) as streams,
        ClientSession(streams[0], streams[1]) as session,
    ):
        await session.initialize()
        yield session


def test_over_stdio_beside_serve_escalate_answers_with_the_ticket(
    database_url: str, tmp_path: Path
) -> None:
    """`ticketsync mcp` stores and reads; `serve` beside it, on the same database, runs the
    workers that make the ticket."""
    with running(database_url, tmp_path) as started:
        cid = new_conversation(started)
        errors_path = tmp_path / "mcp-stderr.log"

        async def escalated() -> tuple[set[str], Any, Any, Any]:
            with errors_path.open("w") as errors:
                async with over_stdio(database_url, tmp_path, errors) as session:
                    names = {tool.name for tool in (await session.list_tools()).tools}
                    result = await call(session, "escalate", conversation_id=cid, reason="human")
                    unknown = await call(session, "get_ticket", conversation_id="no_such")
                    noted = [
                        await call(
                            session, "add_note", conversation_id=cid, text="n", idempotency_key="k"
                        )
                        for _ in range(2)
                    ]
                    return names, result, unknown, noted

        names, result, unknown, noted = anyio.run(escalated)
        assert names == TOOLS
        assert result.structured_content["ticket"]["system"] == "local"
        assert refusal(unknown)["error"] == "not_found"
        assert noted[0].structured_content == noted[1].structured_content
        [note] = audit(started, cid, "note.added")
        assert note["source"] == "chat"
        assert note["position"] == noted[0].structured_content["position"]
    # Its log lines went to stderr (stdout carried the protocol, which worked).
    logged = [orjson.loads(line) for line in errors_path.read_text().splitlines() if line]
    assert any(line.get("event") == "mcp.tool_refused" for line in logged), logged


def test_mcp_refuses_a_sqlite_store_that_does_not_exist(tmp_path: Path) -> None:
    from tests.support import run_cli

    env = server_env(f"sqlite:///{tmp_path / 'missing.db'}")
    result = run_cli(["mcp"], tmp_path, env)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "no database at" in result.stderr
    assert not (tmp_path / "missing.db").exists()
