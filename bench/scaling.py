"""Scaling on PostgreSQL: 1 and 2 HTTP processes, 1 and 2 worker processes, one database.

For each layout (HTTP processes x workers) it starts that many `ticketsync serve
--no-workers` on ports of their own and `ticketsync worker` processes on a fresh schema,
pointed at the Zendesk emulator, and sends the same load: about COUNT signed webhooks of
bench/ingest_wrk.py's mix (one conversation in ten escalating), each conversation to one
HTTP process, one wrk per HTTP process, as fast as wrk goes (or paced at --rate, in total).
It prints, per layout, the webhooks ingested a second, the time until all was done (every
ticket made, nothing pending), the tickets against the escalations, and where the CPU went
(the machine's share busy, and CPU seconds of the HTTP and worker processes), which says
what bounds the figures. Only 127.0.0.1 is contacted.

    python bench/scaling.py [--count 20000] [--layouts 1x1,2x1,1x2,2x2] [--connections 32]
        [--rate R] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import orjson
import wrk_load
from common import ROOT, RUNNING, service, store_url, wait_settled, worker
from ingest_wrk import conversations, escalates
from procstat import busy_share, cpu_seconds, machine_ticks
from zendesk_desk import tickets_once, zendesk

sys.path.insert(0, str(ROOT))
from ticketsync.adapters.chat import signing

HTTP_ONLY = [str(Path(sys.executable).parent / "ticketsync"), "serve", "--no-workers", "--port"]


def layout(text: str) -> tuple[int, int]:
    """ "2x1": two HTTP processes and one worker."""
    http, _, workers = text.partition("x")
    return int(http), int(workers)


def measure(http: int, workers: int, args: argparse.Namespace) -> dict[str, object]:
    load = conversations("conversations", args.count)
    escalated = [
        orjson.loads(webhooks[0])["data"]["conversation_id"]
        for number, webhooks in enumerate(load)
        if escalates(number)
    ]
    secret = signing.generate_secret()
    with (
        zendesk() as (emulator, desk_env),
        tempfile.TemporaryDirectory(prefix="ticketsync-scaling-") as folder,
        store_url("postgres", Path(folder)) as url,
        contextlib.ExitStack() as processes,
    ):
        bases = [
            processes.enter_context(service(url, Path(folder), secret, desk_env, HTTP_ONLY))
            for _ in range(http)
        ]
        worker_pids = [
            processes.enter_context(worker(url, Path(folder), secret, desk_env))
            for _ in range(workers)
        ]
        http_pids = [RUNNING[base] for base in bases]
        pids = {"http": http_pids, "workers": worker_pids}
        cpu_before = {role: sum(map(cpu_seconds, found)) for role, found in pids.items()}
        ticks_before = machine_ticks()

        def drive(index: int) -> dict[str, object]:
            return wrk_load.run(
                bases[index],
                secret,
                load[index::http],
                connections=max(1, args.connections // http),
                threads=max(1, args.threads // http),
                rate=args.rate / http if args.rate else None,
            )

        with ThreadPoolExecutor(max_workers=http) as pool:
            runs = list(pool.map(drive, range(http)))
        ticks_loaded = machine_ticks()
        settled_at = wait_settled(bases[0], timeout=600)
        ticks_after = machine_ticks()
        cpu = {
            role: sum(map(cpu_seconds, found)) - cpu_before[role] for role, found in pids.items()
        }
        tickets = tickets_once(emulator, escalated)
    started = min(run["started_at"] for run in runs)  # type: ignore[type-var]
    ended = max(run["ended_at"] for run in runs)  # type: ignore[type-var]
    accepted = sum(run["accepted"] for run in runs)  # type: ignore[misc]
    return {
        "http": http,
        "workers": workers,
        "webhooks": sum(len(webhooks) for webhooks in load),
        "sent": sum(run["sent"] for run in runs),  # type: ignore[misc]
        "accepted": accepted,
        "not_202": sum(
            count
            for run in runs
            for status, count in run["statuses"].items()  # type: ignore[attr-defined]
            if status != "202"
        ),
        "ingest_s": ended - started,
        "ingest_rate": accepted / (ended - started),
        # Each wrk's p99; the larger is the layout's (an upper bound of the merged one).
        "p99_ms": max(run["p99_ms"] for run in runs),  # type: ignore[type-var]
        "settled_s": settled_at - started,
        "busy_loaded": busy_share(ticks_before, ticks_loaded),
        "busy_all": busy_share(ticks_before, ticks_after),
        "cpu_http_s": cpu["http"],
        "cpu_workers_s": cpu["workers"],
        "escalations": len(escalated),
        "tickets": tickets,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20000, help="webhooks per layout, about")
    parser.add_argument(
        "--layouts", default="1x1,2x1,1x2,2x2", help="HTTPxWORKERS, comma-separated"
    )
    parser.add_argument("--connections", type=int, default=32, help="in all, split between ports")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads in all")
    parser.add_argument("--rate", type=float, default=None, help="webhooks a second in all")
    parser.add_argument("--smoke", action="store_true", help="600 webhooks a layout")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    args = parser.parse_args()
    if args.smoke:
        args.count = 600
    wrk_load.wrk_path()
    rows = []
    for text in args.layouts.split(","):
        rows.append(measure(*layout(text), args))
    if args.json:
        print(orjson.dumps(rows).decode())
        return 0
    pace = f"paced at {args.rate:g}/s" if args.rate else "as fast as wrk goes"
    print(
        f"scaling on PostgreSQL: about {args.count:,} webhooks a layout, {pace}, "
        f"{args.connections} connections in all, Zendesk emulator, 127.0.0.1"
    )
    print(
        f"{'HTTP':>4} {'workers':>7} {'ingested/s':>10} {'p99 ms':>7} "
        f"{'settled s':>9} {'tickets':>9} {'dup':>4} {'busy load':>9} {'busy all':>8} "
        f"{'cpu HTTP s':>10} {'cpu workers s':>13}"
    )
    for row in rows:
        tickets = row["tickets"]
        print(
            f"{row['http']:>4} {row['workers']:>7} {row['ingest_rate']:10,.0f} "
            f"{row['p99_ms']:7.1f} {row['settled_s']:9.2f} "
            f"{tickets['made']:>4}/{tickets['expected']:<4} {tickets['duplicates']:>4} "
            f"{row['busy_loaded']:9.0%} {row['busy_all']:8.0%} {row['cpu_http_s']:10.1f} "
            f"{row['cpu_workers_s']:13.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
