"""What the benchmarks share: a service on 127.0.0.1, a fresh store, a lean HTTP client."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import procstat

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ticketsync.adapters.chat import signing  # noqa: E402

ADMIN_TOKEN = "bench-admin-token-0123456789abcdefghij"  # serve asks for 32 or more
POSTGRES_URL = os.environ.get(
    "TICKETSYNC_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def store_url(store: str, folder: Path) -> Iterator[str]:
    """A fresh, empty store: a SQLite file in `folder`, or a PostgreSQL schema dropped afterwards."""
    if store == "sqlite":
        yield f"sqlite:///{folder / 'bench.db'}"
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    try:
        yield f"{POSTGRES_URL}?schema={schema}"
    finally:
        import psycopg

        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


RUNNING: dict[str, int] = {}  # base URL -> pid of the service behind it


def _environment(database_url: str, secret: str, env: Mapping[str, str] | None) -> dict[str, str]:
    """This process's environment with ticketsync's own variables set for the benchmark only."""
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("TICKETSYNC_")
    }
    return environment | {
        "TICKETSYNC_DATABASE_URL": database_url,
        "TICKETSYNC_CHAT_WEBHOOK_SECRET": secret,
        "TICKETSYNC_ADMIN_TOKEN": ADMIN_TOKEN,
        **(env or {}),
    }


@contextlib.contextmanager
def service(
    database_url: str,
    folder: Path,
    secret: str,
    env: Mapping[str, str] | None = None,
    command: list[str] | None = None,
) -> Iterator[str]:
    """`ticketsync serve` (or `command` + a port) on a free port of 127.0.0.1; yields its URL."""
    port = free_port()
    environment = _environment(database_url, secret, env)
    argv = [
        *(command or [str(Path(sys.executable).parent / "ticketsync"), "serve", "--port"]),
        str(port),
    ]
    log = folder / f"serve-{port}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            argv, cwd=folder, env=environment, stdout=sink, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    RUNNING[url] = process.pid
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(log.read_text())
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("service did not become healthy within 30 s")
            time.sleep(0.05)
        yield url
    finally:
        # serve's worker child ends a moment after serve does; a store dropped before it
        # has gone would deadlock with the child's last transaction.
        children = procstat.children(process.pid)
        process.terminate()
        process.wait(timeout=15)
        deadline = time.monotonic() + 10
        while any(map(procstat.alive, children)):
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)


@contextlib.contextmanager
def worker(
    database_url: str, folder: Path, secret: str, env: Mapping[str, str] | None = None
) -> Iterator[int]:
    """`ticketsync worker` on the store, once it says it started; yields its pid."""
    environment = _environment(database_url, secret, env)
    log = folder / f"worker-{uuid.uuid4().hex[:8]}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "ticketsync"), "worker"],
            cwd=folder,
            env=environment,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while b"worker.started" not in log.read_bytes():
            if process.poll() is not None:
                raise RuntimeError(log.read_text())
            if time.monotonic() > deadline:
                raise RuntimeError("the worker did not start within 30 s")
            time.sleep(0.05)
        yield process.pid
    finally:
        process.terminate()
        process.wait(timeout=15)


def wait_settled(base: str, timeout: float = 120.0) -> float:
    """Wait until the service behind `base` has nothing left to do; returns when that was.

    Nothing left, read off /metrics (a few counts, cheap for the service to answer): no
    projection lag and no pending call, in two looks in a row with the log's position
    unchanged between them. Raises RuntimeError after `timeout` seconds.
    """
    headers = {"authorization": f"Bearer {ADMIN_TOKEN}"}
    deadline = time.monotonic() + timeout
    last: dict[str, float] | None = None
    with httpx.Client(base_url=base, headers=headers, timeout=10) as admin:
        while time.monotonic() < deadline:
            look = idle_gauges(admin.get("/metrics").text)
            if last is not None and look == last and look["busy"] == 0:
                return time.time()
            last = look
            time.sleep(0.02)
    raise RuntimeError(f"{base} still had work after {timeout:.0f} s")


def idle_gauges(metrics: str) -> dict[str, float]:
    """The log's position, and what is left to do: projection lag plus pending calls."""
    found = {"position": -1.0, "busy": 0.0}
    for line in metrics.splitlines():
        name, _, value = line.rpartition(" ")
        if name == "ticketsync_log_position":
            found["position"] = float(value)
        elif name.startswith(
            ("ticketsync_projection_lag_entries{", 'ticketsync_outbox_calls{state="pending"}')
        ):
            found["busy"] += float(value)
    return found


def signed_request(host: str, secret: str, body: bytes, now: float | None = None) -> bytes:
    """A complete HTTP/1.1 POST /webhooks/chat, signed, ready to write to a socket."""
    headers = signing.signed_headers(
        secret, f"evt_{uuid.uuid4().hex}", body, time.time() if now is None else now
    )
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return (
        f"POST /webhooks/chat HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n{head}\r\n"
    ).encode() + body


async def post(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """Send one prepared request on a kept-alive connection; return the status.

    A few lines of asyncio HTTP/1.1 rather than an HTTP client library: the load must be
    cheaper per request than the service it measures, or it measures itself.
    """
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status
