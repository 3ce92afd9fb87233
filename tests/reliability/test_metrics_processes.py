"""Metrics across processes: `serve`'s /metrics shows its worker child's counters and
histograms (prometheus-client's multiprocess mode, through a private directory), and a
lone `ticketsync worker` answers its own on the listener TICKETSYNC_WORKER_METRICS_LISTEN
names, behind the admin token."""

from __future__ import annotations

import subprocess
import tempfile
import uuid
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support import (
    ADMIN_TOKEN,
    Server,
    alive,
    free_port,
    payload,
    server_env,
    signed,
    ticketsync_command,
    wait_until,
)

AUTH = {"authorization": f"Bearer {ADMIN_TOKEN}"}
FAST = {"TICKETSYNC_OUTBOX_BACKOFF_BASE": "0.01", "TICKETSYNC_OUTBOX_BACKOFF_MAX": "0.02"}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def sent_creates(found: dict) -> float:
    labels = (("operation", "create_ticket"), ("outcome", "sent"), ("system", "local"))
    return found.get(("ticketsync_outbox_attempts_total", labels), 0.0)


def escalate(url: str, cid: str) -> None:
    raw, headers = signed(payload("conversation.escalated", cid, reason="a person, please"))
    assert httpx.post(url + "/webhooks/chat", content=raw, headers=headers).status_code == 202


def metrics_folders() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("ticketsync-metrics-*"))


def test_serve_shows_its_worker_childs_attempts(tmp_path: Path) -> None:
    before = metrics_folders()
    server = Server(f"sqlite:///{tmp_path / 't.db'}", tmp_path, env=FAST).start()
    try:
        [child] = server.children()
        [folder] = metrics_folders() - before  # serve's own, private directory
        for number in range(3):
            escalate(server.url, f"c_{uuid.uuid4().hex[:6]}_{number}")
        with server.admin() as admin:
            found = wait_until(
                lambda: (s := samples(admin.get("/metrics").text)) and sent_creates(s) == 3 and s
            )
        # The calls were made by the child, in another process: only its files tell.
        assert list(folder.glob(f"*_{child}.db"))
        duration = "ticketsync_outbound_request_duration_seconds_count"
        assert found[(duration, (("operation", "create_ticket"), ("system", "local")))] == 3
        # serve's own webhook counts and ingest times, and both processes' resources.
        accepted = (("outcome", "accepted"), ("reason", ""), ("source", "chat"))
        assert found[("ticketsync_webhooks_received_total", accepted)] == 3
        assert found[("ticketsync_webhook_ingest_duration_seconds_count", (("source", "chat"),))]
        assert found[("process_resident_memory_bytes", ())] > 0
        assert found[("ticketsync_worker_process_resident_memory_bytes", ())] > 0
        assert httpx.get(server.url + "/metrics").status_code == 401
    finally:
        server.stop()
    wait_until(lambda: not alive(child), timeout=5)
    assert not folder.exists()  # removed when serve ended


def test_a_killed_serves_directory_goes_when_the_next_starts(tmp_path: Path) -> None:
    before = metrics_folders()
    url = f"sqlite:///{tmp_path / 't.db'}"
    first = Server(url, tmp_path, env=FAST).start()
    [left] = metrics_folders() - before
    first.kill()
    assert left.exists()
    second = Server(url, tmp_path, env=FAST).start()
    try:
        assert not left.exists()
    finally:
        second.stop()


def test_a_lone_worker_answers_its_metrics_on_its_listener(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 't.db'}"
    port = free_port()
    env = server_env(url, TICKETSYNC_WORKER_METRICS_LISTEN=str(port), **FAST)
    server = Server(url, tmp_path, env=FAST, args=("--no-workers",)).start()
    with (tmp_path / "worker.log").open("wb") as sink:
        worker = subprocess.Popen(
            [*ticketsync_command(), "worker"],
            cwd=tmp_path,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    listener = f"http://127.0.0.1:{port}/metrics"
    try:
        escalate(server.url, f"c_{uuid.uuid4().hex[:6]}")

        def scraped() -> dict | None:
            try:
                answer = httpx.get(listener, headers=AUTH, timeout=2)
            except httpx.TransportError:
                return None
            return samples(answer.text) if sent_creates(samples(answer.text)) == 1 else None

        found = wait_until(scraped, timeout=20)
        # The gauges of the whole service, read from the database, as serve shows them.
        assert found[("ticketsync_outbox_calls", (("state", "done"),))] >= 1
        refused = httpx.get(listener)
        assert refused.status_code == 401
        assert refused.json()["error"] == "unauthorized"
        assert httpx.get(listener.replace("/metrics", "/"), headers=AUTH).status_code == 404
        # serve --no-workers made no call: its /metrics counts none.
        with server.admin() as admin:
            assert sent_creates(samples(admin.get("/metrics").text)) == 0
    finally:
        worker.terminate()
        worker.wait(timeout=10)
        server.stop()


def test_a_worker_listener_needs_the_admin_token(tmp_path: Path) -> None:
    env = server_env(f"sqlite:///{tmp_path / 't.db'}", TICKETSYNC_WORKER_METRICS_LISTEN="9464")
    del env["TICKETSYNC_ADMIN_TOKEN"]
    done = subprocess.run(
        [*ticketsync_command(), "worker"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "TICKETSYNC_ADMIN_TOKEN" in done.stderr
    assert "TICKETSYNC_WORKER_METRICS_LISTEN" in done.stderr
