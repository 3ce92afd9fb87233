"""The workers in processes of their own (CONTRACT section 1).

- `serve` runs its workers in a child process that ends with it, SIGKILL included, and
  `serve` stops when its workers die;
- `serve --no-workers` and `ticketsync worker` share one SQLite file under load: every
  delivery is 202 (never a `database is locked`), every ticket made once;
- on PostgreSQL, two HTTP processes and two workers share one database, and a worker
  killed mid-run (and another while agents reply) costs nothing: every ticket once, every
  comment once, every reply to the chat once.
"""

from __future__ import annotations

import subprocess
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conformance.harnesses import ZENDESK_SECRET, ZendeskHarness
from tests.emulators.chat_receiver import ChatReceiver
from tests.emulators.chat_receiver import serve as serve_chat
from tests.emulators.zendesk import ZendeskEmulator, serve
from tests.reliability.test_processes import (
    assert_effects_once,
    conversation_events,
    send_all,
    settled,
    zendesk_env,
)
from tests.support import CHAT_SECRET, Server, alive, server_env, ticketsync_command, wait_until
from ticketsync.service.config import parse_database_url
from ticketsync.service.store.log import EventLog


@pytest.fixture
def zendesk() -> Iterator[tuple[ZendeskEmulator, str]]:
    emulator = ZendeskEmulator(email="sync@example.com", api_token="zd-token")
    with serve(emulator) as base_url:
        yield emulator, base_url


def cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def test_serve_runs_its_workers_in_a_child_that_ends_with_it(tmp_path: Path, zendesk) -> None:
    emulator, base_url = zendesk
    server = Server(f"sqlite:///{tmp_path / 't.db'}", tmp_path, env=zendesk_env(base_url))
    server.start()
    try:
        [child] = server.children()
        assert " worker " in cmdline(child)
        cid = f"c_{uuid.uuid4().hex[:6]}"
        assert len(send_all([server], conversation_events(cid), senders=1)) == 5
        wait_until(lambda: [t for t in emulator.tickets() if t["external_id"] == cid])
        # SIGKILL leaves no chance to clean up: the child hears the pipe close.
        server.kill()  # waits (at most 5 s) for the child to be gone
        assert not alive(child)
        assert "worker.parent_gone" in server.logs()  # its logs came out through serve's
    finally:
        server.kill()


def test_serve_stops_with_a_sigterm_and_when_its_workers_die(tmp_path: Path, zendesk) -> None:
    _, base_url = zendesk
    url = f"sqlite:///{tmp_path / 't.db'}"
    server = Server(url, tmp_path, env=zendesk_env(base_url)).start()
    [child] = server.children()
    server.stop()
    assert server.process is not None
    # uvicorn ends a graceful shutdown by raising the signal again.
    assert server.process.returncode in (0, -15)
    wait_until(lambda: not alive(child), timeout=5)
    server = Server(url, tmp_path, env=zendesk_env(base_url)).start()
    try:
        [child] = server.children()
        subprocess.run(["kill", "-9", str(child)], check=True)
        assert server.process is not None
        # Taking webhooks that no worker acts on would be worse than stopping.
        wait_until(lambda: server.process.poll() is not None, timeout=10)
        assert "serve.workers_exited" in server.logs()
    finally:
        server.kill()


def start_worker(url: str, cwd: Path, env: dict[str, str], name: str) -> subprocess.Popen[bytes]:
    sink = (cwd / f"{name}.log").open("ab")
    return subprocess.Popen(
        [*ticketsync_command(), "worker"],
        cwd=cwd,
        env=server_env(url, **env),
        stdout=sink,
        stderr=subprocess.STDOUT,
    )


def test_http_and_a_worker_on_one_sqlite_file_under_load(tmp_path: Path, zendesk) -> None:
    emulator, base_url = zendesk
    url = f"sqlite:///{tmp_path / 't.db'}"
    env = zendesk_env(base_url)
    server = Server(url, tmp_path, env=env, args=("--no-workers",)).start()
    worker = start_worker(url, tmp_path, env, "worker")
    try:
        assert server.children() == []
        conversations = [f"s_{uuid.uuid4().hex[:6]}_{n}" for n in range(30)]
        deliveries = [e for cid in conversations for e in conversation_events(cid)]
        # Every delivery answered 202: none lost to a lock the worker held.
        assert len(send_all([server], deliveries, senders=8)) == len(deliveries)
        settled(server)
        log = EventLog(parse_database_url(url))
        try:
            assert_effects_once(emulator, log, conversations)
        finally:
            log.close()
        assert "database is locked" not in server.logs()
    finally:
        worker.terminate()
        worker.wait(timeout=10)
        server.stop()


@pytest.fixture
def pg_url(postgres_server_url: str) -> str:
    return f"{postgres_server_url}?schema=nm_{uuid.uuid4().hex[:8]}"


@pytest.mark.postgres
def test_two_http_processes_and_two_workers_and_one_killed(
    pg_url: str, tmp_path: Path, zendesk
) -> None:
    emulator, base_url = zendesk
    receiver = ChatReceiver(secret=CHAT_SECRET)
    with serve_chat(receiver) as reply_url:
        env = {
            **zendesk_env(base_url),
            "TICKETSYNC_ZENDESK_WEBHOOK_SECRET": ZENDESK_SECRET,
            "TICKETSYNC_CHAT_REPLY_URL": reply_url,
            "TICKETSYNC_CHAT_REPLY_SECRET": CHAT_SECRET,
        }
        first = Server(pg_url, tmp_path, env=env, args=("--no-workers",)).start()
        second = Server(pg_url, tmp_path, env=env, args=("--no-workers",)).start()
        workers = [start_worker(pg_url, tmp_path, env, f"worker-{n}") for n in range(2)]
        try:
            conversations = [f"nm_{uuid.uuid4().hex[:6]}_{n}" for n in range(40)]
            deliveries = [e for cid in conversations for e in conversation_events(cid)]
            half = len(deliveries) // 2
            # Conversations split across both HTTP processes, delivery by delivery.
            accepted = send_all([first, second], deliveries[:half], senders=8)
            # One worker dies mid-run, with calls in flight; its supervisor starts another.
            workers[0].kill()
            workers[0].wait()
            workers.append(start_worker(pg_url, tmp_path, env, "worker-2"))
            accepted |= send_all([first, second], deliveries[half:], senders=8)
            assert len(accepted) == len(deliveries)
            settled(first)
            # Agents reply on every ticket; the webhooks land on either HTTP process, and
            # another worker dies while the replies go out.
            servers = [first, second]

            def post(path: str, body: bytes, headers: dict[str, str]) -> tuple[int, None]:
                target = servers[len(body) % 2]
                return httpx.post(
                    target.url + path, content=body, headers=headers
                ).status_code, None

            agents = ZendeskHarness(emulator, base_url, post)
            tickets = [t for t in emulator.tickets() if t["external_id"] in set(conversations)]
            for n, ticket in enumerate(tickets):
                agents.agent_reply(str(ticket["id"]), f"Reply {n} for {ticket['external_id']}")
                if n == len(tickets) // 2:
                    workers[1].kill()
                    workers[1].wait()
            wait_until(lambda: len(receiver.replies()) >= len(tickets), timeout=30)
            settled(second)
            log = EventLog(parse_database_url(pg_url))
            try:
                assert_effects_once(emulator, log, conversations)
                creates = Counter(r.json["ticket"]["external_id"] for r in emulator.creates())
                assert all(creates[cid] == 1 for cid in conversations)
            finally:
                log.close()
            # Every reply reached the chat once: one delivery per reply, each its own id.
            bodies = Counter(d.json["data"]["body"] for d in receiver.replies())
            assert len(bodies) == len(tickets)
            assert set(bodies.values()) == {1}
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.terminate()
                    worker.wait(timeout=10)
            first.stop()
            second.stop()
