"""The `ticketsync` command as a newcomer and an operator use it."""

from __future__ import annotations

import importlib.metadata
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import pytest

from tests.emulators.jira import JiraEmulator
from tests.emulators.jira import serve as serve_jira
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
    ticketsync_command,
    unresolved_causes,
    wait_until,
)
from ticketsync.service.config import parse_database_url
from ticketsync.service.store.entries import NewEntry
from ticketsync.service.store.log import EventLog


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


def test_dev_refuses_jira_without_its_variables_before_generating_anything(
    tmp_path: Path,
) -> None:
    env = server_env(
        f"sqlite:///{tmp_path / 't.db'}",
        TICKETSYNC_TICKETING="jira",
        TICKETSYNC_JIRA_URL="https://acme.atlassian.net",
    )
    del env["TICKETSYNC_CHAT_WEBHOOK_SECRET"], env["TICKETSYNC_ADMIN_TOKEN"]
    result = run_cli(["serve", "--dev", "--port", "1"], tmp_path, env)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "ticketsync: TICKETSYNC_JIRA_EMAIL, TICKETSYNC_JIRA_API_TOKEN, TICKETSYNC_JIRA_PROJECT "
        "must be set when TICKETSYNC_TICKETING=jira"
    ]
    assert result.stdout == ""
    assert not (tmp_path / ".env").exists()
    assert not (tmp_path / "t.db").exists()


@pytest.fixture(scope="module")
def jira() -> Iterator[tuple[JiraEmulator, str]]:
    emulator = JiraEmulator(email="sync@example.com", api_token="jira-token")
    with serve_jira(emulator) as url:
        yield emulator, url


@pytest.mark.parametrize(
    ("override", "says"),
    [
        ({"TICKETSYNC_JIRA_API_TOKEN": "wrong"}, "401"),
        ({"TICKETSYNC_JIRA_PROJECT": "NOPE"}, "NOPE"),
        ({"TICKETSYNC_JIRA_ISSUE_TYPE": "Epic"}, "Epic"),
    ],
)
def test_serve_with_jira_checks_the_account_and_project_at_start(
    tmp_path: Path, jira: tuple[JiraEmulator, str], override: dict[str, str], says: str
) -> None:
    emulator, url = jira
    jira_env = {
        "TICKETSYNC_TICKETING": "jira",
        "TICKETSYNC_JIRA_URL": url,
        "TICKETSYNC_JIRA_EMAIL": emulator.email,
        "TICKETSYNC_JIRA_API_TOKEN": emulator.api_token,
        "TICKETSYNC_JIRA_PROJECT": emulator.project,
        "TICKETSYNC_JIRA_WEBHOOK_SECRET": "jira-secret",
    }
    env = server_env(f"sqlite:///{tmp_path / 't.db'}", **{**jira_env, **override})
    result = run_cli(["serve", "--port", "1"], tmp_path, env)
    assert result.returncode != 0
    [line] = result.stderr.strip().splitlines()  # one line, no traceback
    assert line.startswith("ticketsync: ")
    assert says in line


def test_serve_without_dev_refuses_the_dev_reply_inbox(tmp_path: Path) -> None:
    env = server_env(
        f"sqlite:///{tmp_path / 't.db'}",
        TICKETSYNC_CHAT_REPLY_URL="http://127.0.0.1:8000/dev/chat-replies",
        TICKETSYNC_CHAT_REPLY_SECRET=CHAT_SECRET,
    )
    result = run_cli(["serve", "--port", "1"], tmp_path, env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "TICKETSYNC_CHAT_REPLY_URL" in lines[0]
    assert "--dev" in lines[0]


def test_dev_saves_in_env_without_disturbing_its_other_lines(tmp_path: Path) -> None:
    from ticketsync.service.cli.main import _save_in_env

    env_file = tmp_path / ".env"
    env_file.write_text("# mine\n\nexport TICKETSYNC_CHAT_REPLY_URL=old\nOTHER=1", encoding="utf-8")
    _save_in_env({"TICKETSYNC_CHAT_REPLY_URL": "new", "TICKETSYNC_ADMIN_TOKEN": "t"}, env_file)
    assert env_file.read_text(encoding="utf-8") == (
        "# mine\n\nTICKETSYNC_CHAT_REPLY_URL=new\nOTHER=1\nTICKETSYNC_ADMIN_TOKEN=t\n"
    )


def test_dev_writes_env_for_its_owner_alone(tmp_path: Path) -> None:
    from ticketsync.service.cli.main import _save_in_env

    fresh = tmp_path / ".env"
    _save_in_env({"TICKETSYNC_ADMIN_TOKEN": "x" * 43}, fresh)
    assert fresh.stat().st_mode & 0o777 == 0o600
    # A file readable by others is narrowed; one already stricter stays as strict.
    shared, strict = tmp_path / "shared.env", tmp_path / "strict.env"
    shared.write_text("OTHER=1\n", encoding="utf-8")
    shared.chmod(0o644)
    strict.write_text("OTHER=1\n", encoding="utf-8")
    strict.chmod(0o400)
    for path in (shared, strict):
        _save_in_env({"TICKETSYNC_ADMIN_TOKEN": "x" * 43}, path)
        assert path.read_text(encoding="utf-8") == f"OTHER=1\nTICKETSYNC_ADMIN_TOKEN={'x' * 43}\n"
    assert shared.stat().st_mode & 0o777 == 0o600
    assert strict.stat().st_mode & 0o777 == 0o400


@pytest.mark.parametrize("args", [(), ("--dev",)])
def test_serve_refuses_a_short_admin_token_naming_it(tmp_path: Path, args: tuple[str, ...]) -> None:
    env = server_env(f"sqlite:///{tmp_path / 't.db'}", TICKETSYNC_ADMIN_TOKEN="a" * 31)
    result = run_cli(["serve", *args, "--port", "1"], tmp_path, env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "TICKETSYNC_ADMIN_TOKEN is 31 characters long" in lines[0]
    assert "at least 32" in lines[0]
    assert "serving" not in result.stdout
    assert not (tmp_path / "t.db").exists()


def test_serve_refuses_a_short_agent_token_naming_it(tmp_path: Path) -> None:
    env = server_env(f"sqlite:///{tmp_path / 't.db'}", TICKETSYNC_AGENT_TOKEN="g" * 31)
    result = run_cli(["serve", "--port", "1"], tmp_path, env)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "TICKETSYNC_AGENT_TOKEN is 31 characters long" in line
    assert "at least 32" in line
    assert not (tmp_path / "t.db").exists()


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
        assert len(token) >= 32
        assert (tmp_path / ".env").stat().st_mode & 0o777 == 0o600
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
    # The next start finds them in .env and generates nothing new; the stand-in reply inbox
    # keeps its secret and follows the service to its new port.
    again = Server("unused", tmp_path, args=("--dev",))
    again.env = env
    again.start()
    try:
        assert "generated" not in again.logs().split(f"127.0.0.1:{server.port}")[-1]
        now = dict(line.split("=", 1) for line in (tmp_path / ".env").read_text().split())
        assert now == {
            **saved,
            "TICKETSYNC_CHAT_REPLY_URL": f"{again.url}/dev/chat-replies",
            "TICKETSYNC_PUBLIC_URL": again.url,
        }
        assert saved["TICKETSYNC_CHAT_REPLY_URL"] == f"{server.url}/dev/chat-replies"
        # Where the service is reached, for simulate, the README's examples and alert links.
        assert saved["TICKETSYNC_PUBLIC_URL"] == server.url
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
    assert lines[0].split() == [
        "POSITION",
        "CAUSE",
        "RECORDED",
        "AT",
        "SOURCE",
        "TYPE",
        "SUMMARY",
    ]
    assert "ann@example.com: Refund" in lines[1]
    assert "user: I was charged twice" in lines[2]
    assert "reason: wants a human" in lines[3]
    # What ticketsync decided follows what caused it, and names it: the hand-over to
    # people, then the ticket asked for.
    assert "control.changed" in lines[4]
    assert "people hold the conversation now (escalated)" in lines[4]
    assert "ticket.requested" in lines[5]
    assert lines[4].split()[1] == lines[5].split()[1] == lines[3].split()[0]
    whole = run_cli(["audit", "--conversation", conv, "--json"], tmp_path, env)
    story = [orjson.loads(line) for line in whole.stdout.splitlines()]
    # Every cause is an entry of the same trail: a reader can follow each chain.
    assert len([e for e in story if e["caused_by"] is not None]) >= 3
    assert unresolved_causes(story) == []
    assert all(e["caused_by"] is None for e in story if e["source"] == "chat")
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


@pytest.mark.parametrize("command", ["explain", "audit"])
@pytest.mark.parametrize("conversation_id", ["a/../b", "line\nbreak", " padded"])
def test_a_conversation_id_that_could_not_have_been_accepted_is_refused(
    tmp_path: Path, command: str, conversation_id: str
) -> None:
    result = run_cli(
        [command, "--conversation", conversation_id],
        tmp_path,
        server_env(f"sqlite:///{tmp_path / 't.db'}"),
    )
    assert result.returncode == 2, result.stderr
    assert "--conversation" in result.stderr
    assert "no '.' or '..' path segment" in result.stderr


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


def test_version_prints_the_installed_version(tmp_path: Path) -> None:
    result = run_cli(["--version"], tmp_path, server_env(f"sqlite:///{tmp_path / 't.db'}"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"ticketsync {importlib.metadata.version('ticketsync')}"


@pytest.mark.parametrize("output", [["--json"], []], ids=["json-lines", "table"])
def test_a_reader_that_leaves_early_ends_the_command_quietly(
    tmp_path: Path, output: list[str]
) -> None:
    url = f"sqlite:///{tmp_path / 't.db'}"
    log = EventLog(parse_database_url(url))
    at = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    try:
        # Far more than a pipe's buffer holds, so the command is still writing when `head` leaves.
        log.append(
            [
                NewEntry(
                    source="chat",
                    delivery_id=f"evt_{n}",
                    type="message.created",
                    occurred_at=at,
                    recorded_at=at,
                    conversation_id="conv_long",
                    raw=orjson.dumps(message("conv_long", content="x" * 200)).decode(),
                )
                for n in range(2000)
            ]
        )
    finally:
        log.close()
    process = subprocess.Popen(
        [*ticketsync_command(), "audit", "--conversation", "conv_long", *output],
        cwd=tmp_path,
        env=server_env(url),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    assert process.stdout.readline()  # `| head -1`
    process.stdout.close()
    errors = process.stderr.read().decode()
    assert process.wait(timeout=30) == 141
    assert errors == ""


def test_outbox_list_help_says_that_no_state_lists_every_call(tmp_path: Path) -> None:
    result = run_cli(["outbox", "list", "--help"], tmp_path, server_env("sqlite:///unused.db"))
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "Without --state, every state is listed, done calls included." in text
    assert "default: every state, done calls included" in text


def test_explain_says_why_and_refuses_an_unknown_conversation(tmp_path: Path) -> None:
    from ticketsync.service import bootstrap, config
    from ticketsync.service.store.entries import NewEntry

    url = f"sqlite:///{tmp_path / 't.db'}"
    env = server_env(url)
    container = bootstrap.build(config.load(env), run_workers=False)
    try:
        at = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
        event = message("conv_x", content="hello")
        container.log.append(
            [
                NewEntry(
                    source="chat",
                    delivery_id="evt_x",
                    type="message.created",
                    occurred_at=at,
                    recorded_at=at,
                    conversation_id="conv_x",
                    raw=orjson.dumps(event).decode(),
                )
            ]
        )
        while container.projector.run_once():
            pass
    finally:
        container.close()
    shown = run_cli(["explain", "--conversation", "conv_x"], tmp_path, env)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[:2] == [
        "conversation conv_x needs no ticket",
        "  - no ticket: not escalated, 1 user message (a ticket needs more than 3), no tool run",
    ]
    as_json = run_cli(["explain", "--conversation", "conv_x", "--json"], tmp_path, env)
    assert orjson.loads(as_json.stdout)["needs_ticket"] is False
    unknown = run_cli(["explain", "--conversation", "nobody"], tmp_path, env)
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "ticketsync: no conversation 'nobody'"


@pytest.mark.parametrize(
    "args",
    [
        ["audit", "--conversation", "conv_42"],
        ["outbox", "list"],
        ["verify"],
        ["explain", "--conversation", "conv_42"],
        ["rebuild", "--yes"],
    ],
    ids=lambda args: args[0],
)
def test_a_command_run_where_there_is_no_database_says_so_and_makes_none(
    tmp_path: Path, args: list[str]
) -> None:
    env = server_env("sqlite:///./ticketsync.db")
    result = run_cli(args, tmp_path, env)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "no database at sqlite:///./ticketsync.db" in result.stderr
    assert f"(looked in {tmp_path})" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_serve_names_every_missing_variable_of_zendesk_in_one_line(tmp_path: Path) -> None:
    env = server_env(f"sqlite:///{tmp_path / 't.db'}", TICKETSYNC_TICKETING="zendesk")
    del env["TICKETSYNC_ADMIN_TOKEN"]
    result = run_cli(["serve", "--port", "1"], tmp_path, env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "ticketsync: TICKETSYNC_ZENDESK_URL, TICKETSYNC_ZENDESK_EMAIL, "
        "TICKETSYNC_ZENDESK_API_TOKEN, TICKETSYNC_ADMIN_TOKEN, TICKETSYNC_ZENDESK_WEBHOOK_SECRET "
        "must be set when TICKETSYNC_TICKETING=zendesk"
    ]


def test_serve_warns_once_of_a_misspelt_variable(tmp_path: Path) -> None:
    server = Server(
        f"sqlite:///{tmp_path / 't.db'}", tmp_path, env={"TICKETSYNC_TICKET_POLICIES": "always"}
    )
    server.start()
    try:
        wait_until(lambda: "workers in process" in server.logs())
    finally:
        server.stop()
    warning = (
        "ticketsync: warning: TICKETSYNC_TICKET_POLICIES is not a setting of ticketsync and is "
        "ignored; did you mean TICKETSYNC_TICKET_POLICY?"
    )
    # serve's worker child reads the same environment and says nothing of it again.
    assert server.logs().count(warning) == 1


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            ["audit", "--conversaton", "conv_42"],
            "unknown option --conversaton; did you mean --conversation?",
        ),
        (["outbox", "list", "--sate=parked"], "unknown option --sate; did you mean --state?"),
        (["serve", "--prot", "8123"], "unknown option --prot; did you mean --port?"),
        (["verify", "--zzzzzz"], "unknown option --zzzzzz"),
    ],
)
def test_an_unknown_option_is_named_first_with_the_nearest_real_one(
    tmp_path: Path, args: list[str], said: str
) -> None:
    result = run_cli(args, tmp_path, server_env(f"sqlite:///{tmp_path / 't.db'}"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == f"ticketsync: {said}"
    assert f"usage: ticketsync {args[0]}" in result.stderr


def test_dev_keeps_a_public_url_set_by_hand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ticketsync.service import config
    from ticketsync.service.cli.main import _dev_public_url

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TICKETSYNC_PUBLIC_URL", raising=False)
    settings = config.load({})
    env_file = tmp_path / ".env"
    env_file.write_text("TICKETSYNC_PUBLIC_URL=https://tickets.example.com\n")
    assert _dev_public_url(settings, "127.0.0.1", 8123) is settings
    assert env_file.read_text() == "TICKETSYNC_PUBLIC_URL=https://tickets.example.com\n"
    # One --dev saved for another port follows the service.
    env_file.write_text("TICKETSYNC_PUBLIC_URL=http://127.0.0.1:8000\n")
    moved = _dev_public_url(settings, "0.0.0.0", 8123)  # noqa: S104
    assert moved.public_url == "http://127.0.0.1:8123"
    assert env_file.read_text() == "TICKETSYNC_PUBLIC_URL=http://127.0.0.1:8123\n"


def test_serve_on_a_taken_port_says_so_before_it_serves_and_starts_no_child(
    tmp_path: Path,
) -> None:
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        env = server_env(f"sqlite:///{tmp_path / 't.db'}")
        result = run_cli(["serve", "--port", str(port)], tmp_path, env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"ticketsync: port {port} on 127.0.0.1 is taken (by another service, or a ticketsync "
        f"already running): choose another with --port, e.g. --port {port + 1}, "
        f"or `make run PORT={port + 1}`"
    ]
    assert "serving on" not in result.stdout
    assert "worker" not in result.stdout + result.stderr
