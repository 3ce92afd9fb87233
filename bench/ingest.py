"""Ingest benchmark: signed chat webhooks from a second process into a real `ticketsync serve`.

For each store (SQLite, PostgreSQL) it starts the service on 127.0.0.1, runs a load process
that posts a bounded number of signed webhooks over many connections, and prints accepted
webhooks per second and p50/p99 latency. Only 127.0.0.1 is ever contacted.

    python bench/ingest.py [--count 3000] [--connections 32] [--stores sqlite,postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters import chat  # noqa: E402

SECRET = chat.generate_secret()
ADMIN_TOKEN = "bench-admin-token"
POSTGRES_URL = os.environ.get(
    "TICKETSYNC_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def deliveries(count: int) -> list[tuple[bytes, dict[str, str]]]:
    """Signed deliveries: conversations of ten messages each, as an agent would send them."""
    now = time.time()
    made = []
    for i in range(count):
        body = orjson.dumps(
            {
                "type": "message.created",
                "timestamp": "2026-11-25T10:00:00Z",
                "data": {
                    "conversation_id": f"bench_{i // 10}",
                    "message_id": f"m{i}",
                    "role": "user" if i % 2 == 0 else "assistant",
                    "content": "My invoice shows the same charge twice this month. " * 3,
                },
            }
        )
        headers = chat.signed_headers(SECRET, f"evt_{uuid.uuid4().hex}", body, now)
        headers["content-type"] = "application/json"
        made.append((body, headers))
    return made


async def _post(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """Send one prepared HTTP/1.1 request on a kept-alive connection; return the status."""
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


async def load(url: str, count: int, connections: int) -> dict[str, object]:
    """Post `count` webhooks over `connections` kept-alive connections; time each one.

    A few lines of asyncio HTTP/1.1 rather than an HTTP client library: the load process
    must be cheaper per request than the service it measures, or it measures itself.
    """
    host, port = url.removeprefix("http://").split(":")
    requests = [
        b"POST /webhooks/chat HTTP/1.1\r\nhost: %s\r\ncontent-length: %d\r\n%s\r\n%s"
        % (
            host.encode(),
            len(body),
            "".join(f"{name}: {value}\r\n" for name, value in headers.items()).encode(),
            body,
        )
        for body, headers in deliveries(count)
    ]
    pending = iter(requests)
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            for request in pending:
                started = time.perf_counter()
                status = await _post(reader, writer, request)
                latencies.append(time.perf_counter() - started)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    return {
        "count": count,
        "elapsed": elapsed,
        "accepted": statuses.get(202, 0),
        "statuses": {str(code): n for code, n in statuses.items()},
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "mean_ms": statistics.fmean(latencies) * 1000,
    }


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def service(database_url: str, folder: Path):
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("TICKETSYNC_")}
    env |= {
        "TICKETSYNC_DATABASE_URL": database_url,
        "TICKETSYNC_CHAT_WEBHOOK_SECRET": SECRET,
        "TICKETSYNC_ADMIN_TOKEN": ADMIN_TOKEN,
    }
    command = [str(Path(sys.executable).parent / "ticketsync"), "serve", "--port", str(port)]
    with (folder / "serve.log").open("wb") as sink:
        process = subprocess.Popen(
            command, cwd=folder, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError((folder / "serve.log").read_text())
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("service did not become healthy within 30 s")
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


def postgres_schema() -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    return f"{POSTGRES_URL}?schema={schema}", schema


def drop_schema(schema: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def run_store(store: str, count: int, connections: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="ticketsync-bench-") as folder:
        schema = None
        if store == "sqlite":
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
        else:
            url, schema = postgres_schema()
        try:
            with service(url, Path(folder)) as base:
                # The load comes from a separate process, so client and server do not share a GIL.
                result = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--load",
                        base,
                        "--count",
                        str(count),
                        "--connections",
                        str(connections),
                    ],
                    capture_output=True,
                    check=False,
                    env={**os.environ, "TICKETSYNC_BENCH_SECRET": SECRET},
                )
            if result.returncode != 0:
                raise RuntimeError(f"load process failed:\n{result.stderr.decode()[-3000:]}")
        finally:
            if schema:
                drop_schema(schema)
    return orjson.loads(result.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000, help="webhooks per store")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--load", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        global SECRET
        SECRET = os.environ["TICKETSYNC_BENCH_SECRET"]
        print(orjson.dumps(asyncio.run(load(args.load, args.count, args.connections))).decode())
        return 0
    print(
        f"ingest: {args.count} signed webhooks per store, {args.connections} connections, 127.0.0.1"
    )
    print(
        f"{'store':10} {'accepted/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'accepted':>9}  other answers"
    )
    for store in args.stores.split(","):
        figures = run_store(store, args.count, args.connections)
        rate = figures["accepted"] / figures["elapsed"]
        other = {k: v for k, v in figures["statuses"].items() if k != "202"}
        print(
            f"{store:10} {rate:11.0f} {figures['p50_ms']:8.1f} {figures['p99_ms']:8.1f} "
            f"{figures['accepted']:9d}  {other or '-'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
