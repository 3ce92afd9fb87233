"""The `ticketsync` command as a newcomer and an operator use it."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import orjson
import pytest

from tests.support import (
    CHAT_SECRET,
    Server,
    message,
    payload,
    quiet,
    run_cli,
    running,
    server_env,
    signed,
    wait_until,
)


@pytest.mark.parametrize(
    "missing",
    [
        ["TICKETSYNC_CHAT_WEBHOOK_SECRET"],
        ["TICKETSYNC_ADMIN_TOKEN"],
        ["TICKETSYNC_CHAT_WEBHOOK_SECRET", "TICKETSYNC_ADMIN_TOKEN"],
    ],
)
def test_serve_refuses_to_start_without_secrets(tmp_path: Path, missing: list[str]) -> None:
    env = server_env(f"sqlite:///{tmp_path / 't.db'}")
    for name in missing:
        del env[name]
    result = run_cli(["serve", "--port", "1"], tmp_path, env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    for name in missing:
        assert name in lines[0]


def test_serve_refuses_zendesk_without_its_webhook_secret(tmp_path: Path) -> None:
    env = server_env(f"sqlite:///{tmp_path / 't.db'}", TICKETSYNC_TICKETING="zendesk")
    result = run_cli(["serve", "--port", "1"], tmp_path, env)
    assert result.returncode != 0
    assert "TICKETSYNC_ZENDESK_WEBHOOK_SECRET" in result.stderr


def test_serve_refuses_a_bad_setting_naming_it(tmp_path: Path) -> None:
    env = server_env(f"sqlite:///{tmp_path / 't.db'}", TICKETSYNC_OUTBOX_MAX_ATTEMPTS="many")
    result = run_cli(["serve", "--port", "1"], tmp_path, env)
    assert result.returncode != 0
    assert "TICKETSYNC_OUTBOX_MAX_ATTEMPTS" in result.stderr


def test_serve_refuses_a_chat_secret_without_whsec_in_one_line(tmp_path: Path) -> None:
    env = server_env(
        f"sqlite:///{tmp_path / 't.db'}",
        TICKETSYNC_CHAT_WEBHOOK_SECRET=CHAT_SECRET.removeprefix("whsec_"),
    )
    result = run_cli(["serve", "--port", "1"], tmp_path, env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "TICKETSYNC_CHAT_WEBHOOK_SECRET" in lines[0]
    assert "Standard Webhooks" in lines[0]


def test_dev_generates_prints_and_keeps_the_secrets(tmp_path: Path) -> None:
    env = server_env(f"sqlite:///{tmp_path / 't.db'}")
    del env["TICKETSYNC_CHAT_WEBHOOK_SECRET"], env["TICKETSYNC_ADMIN_TOKEN"]
    server = Server("unused", tmp_path, args=("--dev",))
    server.env = env
    server.start()
    try:
        printed = server.logs()
        saved = dict(line.split("=", 1) for line in (tmp_path / ".env").read_text().split())
        secret, token = saved["TICKETSYNC_CHAT_WEBHOOK_SECRET"], saved["TICKETSYNC_ADMIN_TOKEN"]
        assert f"TICKETSYNC_CHAT_WEBHOOK_SECRET={secret}" in printed
        assert f"TICKETSYNC_ADMIN_TOKEN={token}" in printed
        body, headers = signed(message("conv_dev"), secret=secret)
        assert (
            httpx.post(server.url + "/webhooks/chat", content=body, headers=headers).status_code
            == 202
        )
        assert (
            httpx.get(
                server.url + "/audit", headers={"authorization": f"Bearer {token}"}
            ).status_code
            == 200
        )
    finally:
        server.stop()
    # The next start finds them in .env and generates nothing new.
    again = Server("unused", tmp_path, args=("--dev",))
    again.env = env
    again.start()
    try:
        assert "generated" not in again.logs().split(f"127.0.0.1:{server.port}")[-1]
        assert dict(line.split("=", 1) for line in (tmp_path / ".env").read_text().split()) == saved
    finally:
        again.stop()


def test_audit_command_prints_a_table_and_json_lines(database_url: str, tmp_path: Path) -> None:
    conv = f"conv_{uuid.uuid4().hex[:8]}"
    with running(database_url, tmp_path) as server:
        for event in (
            payload(
                "conversation.started",
                conv,
                customer={"id": "u1", "email": "ann@example.com"},
                subject="Refund",
            ),
            message(conv, content="I was charged twice"),
            payload("conversation.escalated", conv, reason="wants a human"),
            message("someone_else"),
        ):
            body, headers = signed(event)
            assert (
                httpx.post(server.url + "/webhooks/chat", content=body, headers=headers).status_code
                == 202
            )
        with server.admin() as admin:
            ticket_id = wait_until(lambda: admin.get(f"/conversations/{conv}").json()["ticket"])[
                "id"
            ]
            quiet(admin)
    env = server_env(database_url)
    table = run_cli(["audit", "--conversation", conv], tmp_path, env)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.strip().splitlines()
    assert lines[0].split() == ["POSITION", "RECORDED", "AT", "SOURCE", "TYPE", "SUMMARY"]
    assert "ann@example.com: Refund" in lines[1]
    assert "user: I was charged twice" in lines[2]
    assert "reason: wants a human" in lines[3]
    # What ticketsync decided follows what caused it.
    assert "ticket.requested" in lines[4]
    as_json = run_cli(
        ["audit", "--conversation", conv, "--json", "--type", "message.created"], tmp_path, env
    )
    events = [orjson.loads(line) for line in as_json.stdout.splitlines()]
    assert [e["data"]["content"] for e in events] == ["I was charged twice"]
    by_ticket = run_cli(["audit", "--ticket", f"local:{ticket_id}", "--json"], tmp_path, env)
    trail = [orjson.loads(line) for line in by_ticket.stdout.splitlines()]
    assert trail
    assert all(e["ticket"] == {"system": "local", "id": ticket_id} for e in trail)
    assert {e["type"] for e in trail} >= {"ticket.created", "call.sent"}
    assert set(events[0]) >= {
        "position",
        "id",
        "type",
        "source",
        "occurred_at",
        "recorded_at",
        "conversation_id",
        "ticket",
        "data",
        "caused_by",
    }


def test_audit_command_refuses_a_bad_filter(tmp_path: Path) -> None:
    result = run_cli(
        ["audit", "--ticket", "123"], tmp_path, server_env(f"sqlite:///{tmp_path / 't.db'}")
    )
    assert result.returncode != 0
    assert "SYSTEM:ID" in result.stderr


@pytest.mark.postgres
def test_database_outage_answers_503_and_recovers(postgres_server_url: str, tmp_path: Path) -> None:
    from urllib.parse import urlsplit

    from tests.support import TcpProxy

    target = urlsplit(postgres_server_url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432).start()
    url = f"postgresql://{target.username}@127.0.0.1:{proxy.port}{target.path}?schema=outage_{uuid.uuid4().hex[:8]}"
    with running(url, tmp_path) as server:
        body, headers = signed(message("conv_outage"))
        assert (
            httpx.post(server.url + "/webhooks/chat", content=body, headers=headers).status_code
            == 202
        )
        proxy.cut()
        lost_body, lost_headers = signed(message("conv_outage", content="sent while down"))
        refused = httpx.post(
            server.url + "/webhooks/chat", content=lost_body, headers=lost_headers, timeout=30
        )
        assert refused.status_code == 503
        assert refused.json()["error"] == "store_unavailable"
        assert httpx.get(server.url + "/healthz", timeout=30).status_code == 503
        proxy.start()
        wait_until(
            lambda: httpx.get(server.url + "/healthz", timeout=30).status_code == 200, timeout=30
        )
        # The refused delivery was not stored; the sender's retry is accepted now, once.
        retry = httpx.post(
            server.url + "/webhooks/chat", content=lost_body, headers=lost_headers, timeout=30
        )
        assert retry.status_code == 202
        with server.admin() as admin:
            trail = admin.get("/audit", params={"conversation_id": "conv_outage"}).json()["events"]
        assert [e["data"]["content"] for e in trail] == ["hello", "sent while down"]
