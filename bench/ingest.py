"""Ingest benchmark: signed chat webhooks from a second process into a real `ticketsync serve`.

For each store (SQLite, PostgreSQL) it starts the service on 127.0.0.1, runs a load process
that posts a bounded number of signed webhooks over many kept-alive connections, and
prints accepted webhooks per second and p50/p99 latency. Each run is repeated in rounds that
interleave ticketsync's runs with the ceiling's; the run with the median rate is shown. Only
127.0.0.1 is contacted.

    python bench/ingest.py [--count 3000] [--connections 32] [--rounds 3] [--stores sqlite,postgres]
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
from collections.abc import Callable
from functools import partial
from pathlib import Path

import orjson
from common import (
    ROOT,
    RUNNING,
    percentile,
    post,
    service,
    signed_request,
    store_url,
    wait_settled,
)
from procstat import peak_rss_mb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ticketsync.adapters.chat import signing


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


async def load(urls: list[str], secret: str, count: int, connections: int) -> dict[str, object]:
    """Post `count` webhooks over `connections` kept-alive connections (spread over `urls`)."""
    now = time.time()
    targets = [url.removeprefix("http://").split(":") for url in urls]
    pending = iter([signed_request(targets[0][0], secret, body, now) for body in bodies(count)])
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def worker(number: int) -> None:
        host, port = targets[number % len(targets)]
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            for request in pending:
                started = time.perf_counter()
                status = await post(reader, writer, request)
                latencies.append(time.perf_counter() - started)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    started_at = time.time()
    started = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(connections)))
    elapsed = time.perf_counter() - started
    return {
        "started_at": started_at,
        "elapsed": elapsed,
        "accepted": statuses.get(202, 0),
        "rate": statuses.get(202, 0) / elapsed,
        "statuses": {str(code): n for code, n in statuses.items()},
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "mean_ms": statistics.fmean(latencies) * 1000,
    }


def drive(urls: list[str], secret: str, count: int, connections: int) -> dict[str, object]:
    """The load, from a separate process, so that client and server do not share a GIL."""
    result = subprocess.run(
        [
            sys.executable,
            __file__,
            "--load",
            ",".join(urls),
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


def run_ticketsync(
    store: str, count: int, connections: int, processes: int = 1, *, workers: bool = True
) -> dict[str, object]:
    """ticketsync as in production (its projection and outbox work alongside), 1 or more
    processes; or, with `workers` off, the webhook path alone (`serve --no-workers`).

    With the workers on, `settled_s` is the time from the first webhook until the service has
    done everything they asked for: the projection and the calls lag behind a burst."""
    secret = signing.generate_secret()
    command = (
        None
        if workers
        else [str(Path(sys.executable).parent / "ticketsync"), "serve", "--no-workers", "--port"]
    )
    with (
        tempfile.TemporaryDirectory(prefix="ticketsync-bench-") as folder,
        store_url(store, Path(folder)) as url,
        contextlib.ExitStack() as stack,
    ):
        bases = [
            stack.enter_context(service(url, Path(folder), secret, command=command))
            for _ in range(processes)
        ]
        figures = drive(bases, secret, count, connections)
        if workers:
            figures["settled_s"] = wait_settled(bases[0]) - figures["started_at"]  # type: ignore[operator]
        figures["rss_mb"] = max(peak_rss_mb(RUNNING[base]) for base in bases)
    return figures


def median_run(runs: list[dict[str, object]]) -> dict[str, object]:
    """The run with the median rate, whole (its latencies are its own), and the rates of all."""
    ordered = sorted(runs, key=lambda run: run["rate"])  # type: ignore[arg-type, return-value]
    return {**ordered[(len(ordered) - 1) // 2], "rates": [run["rate"] for run in runs]}


# The ceiling app, served as `service()` serves ticketsync (the port comes last).
CEILING_COMMAND = [
    sys.executable,
    "-m",
    "uvicorn",
    "bench.ceiling_app:app",
    "--no-access-log",
    "--log-level",
    "warning",
    "--port",
]


def ceiling_env(url: str, secret: str) -> dict[str, str]:
    return {"BENCH_DATABASE_URL": url, "BENCH_SECRET": secret, "PYTHONPATH": str(ROOT)}


def run_ceiling(store: str, count: int, connections: int) -> dict[str, object]:
    secret = signing.generate_secret()
    with (
        tempfile.TemporaryDirectory(prefix="ticketsync-ceiling-") as folder,
        store_url(store, Path(folder)) as url,
        service(url, Path(folder), secret, ceiling_env(url, secret), CEILING_COMMAND) as base,
    ):
        return drive([base], secret, count, connections)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000, help="webhooks per run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--rounds", type=int, default=3, help="runs of each, interleaved; the median is shown"
    )
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    parser.add_argument("--load", metavar="URLS", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        figures = asyncio.run(
            load(
                args.load.split(","),
                os.environ["TICKETSYNC_BENCH_SECRET"],
                args.count,
                args.connections,
            )
        )
        print(orjson.dumps(figures).decode())
        return 0
    rows = []
    for store in args.stores.split(","):
        setup = (store, args.count, args.connections)
        variants: dict[str, Callable[[], dict[str, object]]] = {
            "ceiling": partial(run_ceiling, *setup),
            "1": partial(run_ticketsync, *setup),
        }
        if store == "postgres":
            variants["2"] = partial(run_ticketsync, *setup, processes=2)
        variants["1, workers off"] = partial(run_ticketsync, *setup, workers=False)
        # Rounds interleave the runs, so that a drift of the machine reaches every one alike.
        runs: dict[str, list[dict[str, object]]] = {name: [] for name in variants}
        for _ in range(args.rounds):
            for name, variant in variants.items():
                runs[name].append(variant())
        ceiling = median_run(runs.pop("ceiling"))
        rows.extend((store, name, median_run(found), ceiling) for name, found in runs.items())
    if args.json:
        print(
            orjson.dumps(
                [
                    {"store": r[0], "processes": r[1], "ticketsync": r[2], "ceiling": r[3]}
                    for r in rows
                ]
            ).decode()
        )
        return 0
    print(
        f"ingest: {args.count} signed webhooks per run, {args.connections} connections, 127.0.0.1, "
        f"median of {args.rounds} interleaved runs"
    )
    print(
        f"{'store':10} {'procs':>14} {'accepted/s':>11} {'p50 ms':>7} {'p99 ms':>7} {'ceiling/s':>10} "
        f"{'c.p50':>6} {'c.p99':>6} {'ratio':>6} {'RSS MB':>7} {'done s':>7}"
    )
    for store, processes, figures, ceiling in rows:
        print(
            f"{store:10} {processes:>14} {figures['rate']:11.0f} {figures['p50_ms']:7.1f} {figures['p99_ms']:7.1f} "
            f"{ceiling['rate']:10.0f} {ceiling['p50_ms']:6.1f} {ceiling['p99_ms']:6.1f} "
            f"{figures['rate'] / ceiling['rate']:6.2f} {figures['rss_mb']:7.0f} "
            f"{figures.get('settled_s', float('nan')):7.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
