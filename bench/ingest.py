"""Ingest benchmark: signed chat webhooks from a second process into a real `ticketsync serve`.

For each store (SQLite, PostgreSQL) it starts the service on 127.0.0.1, runs a load process
that posts a bounded number of signed webhooks over many kept-alive connections, and
prints accepted webhooks per second and p50/p99 latency. Only 127.0.0.1 is contacted.

    python bench/ingest.py [--count 3000] [--connections 32] [--stores sqlite,postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
from common import percentile, post, service, signed_request, store_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from adapters import chat


def bodies(count: int) -> list[bytes]:
    """Conversations of ten messages each, as an agent would send them."""
    return [
        orjson.dumps(
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
        for i in range(count)
    ]


async def load(url: str, secret: str, count: int, connections: int) -> dict[str, object]:
    """Post `count` webhooks over `connections` kept-alive connections; time each one."""
    host, port = url.removeprefix("http://").split(":")
    now = time.time()
    pending = iter([signed_request(host, secret, body, now) for body in bodies(count)])
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            for request in pending:
                started = time.perf_counter()
                status = await post(reader, writer, request)
                latencies.append(time.perf_counter() - started)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    return {
        "elapsed": elapsed,
        "accepted": statuses.get(202, 0),
        "statuses": {str(code): n for code, n in statuses.items()},
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "mean_ms": statistics.fmean(latencies) * 1000,
    }


def run_store(store: str, count: int, connections: int) -> dict[str, object]:
    secret = chat.generate_secret()
    with (
        tempfile.TemporaryDirectory(prefix="ticketsync-bench-") as folder,
        store_url(store, Path(folder)) as url,
        # The service runs as in production: its projection and outbox work alongside.
        service(url, Path(folder), secret) as base,
    ):
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
            env={**os.environ, "TICKETSYNC_BENCH_SECRET": secret},
        )
    if result.returncode != 0:
        raise RuntimeError(f"load process failed:\n{result.stderr.decode()[-3000:]}")
    return orjson.loads(result.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000, help="webhooks per store")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--load", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        figures = asyncio.run(
            load(args.load, os.environ["TICKETSYNC_BENCH_SECRET"], args.count, args.connections)
        )
        print(orjson.dumps(figures).decode())
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
