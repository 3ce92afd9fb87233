"""`ticketsync simulate` against a `serve --dev` service, as a newcomer runs it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.emulators.jira import JiraEmulator
from tests.emulators.jira import serve as serve_jira
from tests.support import Server, run_cli, server_env
from ticketsync.service import config


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    folder = tmp_path_factory.mktemp("simulate")
    env = server_env(f"sqlite:///{folder / 'ticketsync.db'}")
    del env["TICKETSYNC_CHAT_WEBHOOK_SECRET"], env["TICKETSYNC_ADMIN_TOKEN"]
    server = Server("unused", folder, args=("--dev",))
    server.env = env
    server.start()
    try:
        yield server, folder
    finally:
        server.stop()


def simulate(server: Server, folder: Path, scenario: str) -> str:
    env = {k: v for k, v in server.env.items() if k != "TICKETSYNC_DATABASE_URL"}
    result = run_cli(
        ["simulate", "--url", server.url, "--scenario", scenario], folder, env, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


EXPECTED = {
    "escalation": [
        "chat -> conversation.started     'Charged twice this month'",
        "ticketsync created ticket local:",
        "group     Billing Team",
        "ESCALATION REASON: refund",
    ],
    "long": ["a fourth user message", "ticketsync created ticket local:", "[general_inquiry]"],
    "tool": ["a tool ran", "TOOLS USED: order_lookup"],
    "follow-up": ["to solved", "ticketsync reopened local:"],
    "follow-up-closed": ["ticketsync closed ticket", "opened a follow-up of #"],
    "agent-reply": [
        "chat <- agent.replied from Dana (agent)",
        "resolved_by_agent",
        "ticketsync reopened local:",
    ],
    "handover": [
        "chat <- ticket.created           the ticket is local:",
        "chat <- control.changed          people answer (escalated): the AI agent stays quiet",
        "chat <- agent.replied            from Dana (agent)",
        "chat <- control.changed          the AI agent answers (ticket_solved)",
        "chat <- control.changed          people answer (reopened)",
        "control {'holder': 'human', 'reason': 'reopened'",
    ],
}


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_scenario_narrates_what_happened(dev_server: tuple[Server, Path], scenario: str) -> None:
    server, folder = dev_server
    output = simulate(server, folder, scenario)
    for line in EXPECTED[scenario]:
        assert line in output
    assert output.rstrip().endswith("Done.")
    # The hint names the command as it is after `make run`, so it can be pasted as it is.
    assert "see them all: .venv/bin/ticketsync audit --conversation sim_" in output


def test_simulate_explains_an_unreachable_service(tmp_path: Path) -> None:
    env = server_env(f"sqlite:///{tmp_path / 't.db'}")
    result = run_cli(["simulate", "--url", "http://127.0.0.1:9"], tmp_path, env, timeout=60)
    assert result.returncode != 0
    assert "is `make run` running?" in result.stderr
    assert "--url" in result.stderr


def test_simulate_finds_the_service_where_dev_saved_its_url(
    dev_server: tuple[Server, Path],
) -> None:
    server, folder = dev_server
    env = {k: v for k, v in server.env.items() if k != "TICKETSYNC_DATABASE_URL"}
    # No --url: the port the service took is in .env, as TICKETSYNC_PUBLIC_URL.
    result = run_cli(["simulate", "--scenario", "tool"], folder, env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert f"Scenario tool, against {server.url}" in result.stdout


def test_simulate_says_a_url_needs_its_scheme(tmp_path: Path) -> None:
    env = server_env(f"sqlite:///{tmp_path / 't.db'}")
    result = run_cli(["simulate", "--url", "127.0.0.1:8123"], tmp_path, env, timeout=60)
    assert result.returncode == 1
    assert "must start with http:// or https://, got '127.0.0.1:8123'" in result.stderr


def test_commands_in_the_folder_decide_as_the_dev_service_does(
    dev_server: tuple[Server, Path],
) -> None:
    server, folder = dev_server
    saved = config.read_dotenv(folder / ".env")
    # What --dev chose for agents' replies is in .env, for every command run here.
    assert saved["TICKETSYNC_CHAT_REPLY_URL"] == f"{server.url}/dev/chat-replies"
    assert saved["TICKETSYNC_CHAT_REPLY_SECRET"].startswith("whsec_")
    simulate(server, folder, "agent-reply")  # an agent's reply went to the chat
    verify = run_cli(["verify"], folder, server.env, timeout=120)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "matches: the rebuilt models and every decision equal the live ones" in verify.stdout
    assert "differ" not in verify.stdout
    rebuilt = run_cli(["rebuild", "--yes"], folder, server.env, timeout=120)
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert "every decision matches the one made live" in rebuilt.stdout
    assert "differ" not in rebuilt.stdout


@pytest.fixture(scope="module")
def jira_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    """A service on Jira (the emulator), with no webhook from Jira set up yet."""
    folder = tmp_path_factory.mktemp("simulate-jira")
    emulator = JiraEmulator(email="sync@example.com", api_token="jira-token")
    with serve_jira(emulator) as url:
        env = server_env(
            f"sqlite:///{folder / 'ticketsync.db'}",
            TICKETSYNC_TICKETING="jira",
            TICKETSYNC_JIRA_URL=url,
            TICKETSYNC_JIRA_EMAIL=emulator.email,
            TICKETSYNC_JIRA_API_TOKEN=emulator.api_token,
            TICKETSYNC_JIRA_PROJECT=emulator.project,
            TICKETSYNC_JIRA_WEBHOOK_SECRET="jira-secret",
        )
        server = Server("unused", folder)
        server.env = env
        server.start()
        try:
            yield server, folder
        finally:
            server.stop()


JIRA_EXPECTED = {
    "escalation": ["ticketsync created ticket jira:OPS-", "group     Billing Team"],
    "follow-up": ["to solved", "ticketsync reopened jira:OPS-"],
    "follow-up-closed": ["ticketsync closed ticket jira:OPS-", "rather than opening a follow-up"],
}


@pytest.mark.parametrize("scenario", sorted(JIRA_EXPECTED))
def test_scenarios_on_jira(jira_server: tuple[Server, Path], scenario: str) -> None:
    server, folder = jira_server
    output = simulate(server, folder, scenario)
    for line in JIRA_EXPECTED[scenario]:
        assert line in output
    assert output.rstrip().endswith("Done.")


def test_on_jira_the_agent_scenario_says_where_to_act(jira_server: tuple[Server, Path]) -> None:
    server, folder = jira_server
    env = {k: v for k, v in server.env.items() if k != "TICKETSYNC_DATABASE_URL"}
    result = run_cli(
        ["simulate", "--url", server.url, "--scenario", "agent-reply"], folder, env, timeout=60
    )
    assert result.returncode != 0
    assert "the ticket is in jira: reply to ticket OPS-" in result.stdout + result.stderr
