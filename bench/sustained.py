"""Sustained load: signed webhooks at a constant rate into PostgreSQL, tickets to Zendesk.

`ticketsync serve` (its workers in its child process, as in production) on a fresh
PostgreSQL schema, pointed at the Zendesk emulator, takes RATE webhooks a second for
SECONDS, paced by wrk (bench/wrk/replay.lua), each sent once: short conversations, one in
ten escalating (bench/ingest_wrk.py's mix). It prints the rate achieved, every answer that
was not 202, whether every webhook is in the log, p50/p99, whether every escalated
conversation got exactly one ticket, and how long the backlog took to drain once the load
stopped. Only 127.0.0.1 is contacted.

    python bench/sustained.py [--rate 1000] [--seconds 60] [--connections 32] [--threads 2] [--json]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import orjson
import psycopg
import wrk_load
from common import POSTGRES_URL, ROOT, RUNNING, service, store_url, wait_settled
from ingest_wrk import conversations, escalates
from procstat import children, peak_rss_mb
from zendesk_desk import tickets_once, zendesk

sys.path.insert(0, str(ROOT))
from ticketsync.adapters.chat import signing


def logged_webhooks(url: str) -> int:
    """Chat deliveries stored in the log of the PostgreSQL schema of `url`."""
    schema = parse_qs(urlsplit(url).query)["schema"][0]
    with psycopg.connect(POSTGRES_URL) as conn:
        row = conn.execute(
            f'SELECT COUNT(*) FROM "{schema}".ticketsync_audit WHERE source = %s', ("chat",)
        ).fetchone()
    return row[0] if row else 0


def measure(rate: float, seconds: float, connections: int, threads: int) -> dict[str, object]:
    load = conversations("conversations", round(rate * seconds))
    escalated = [
        orjson.loads(webhooks[0])["data"]["conversation_id"]
        for number, webhooks in enumerate(load)
        if escalates(number)
    ]
    secret = signing.generate_secret()
    with (
        zendesk() as (emulator, desk_env),
        tempfile.TemporaryDirectory(prefix="ticketsync-sustained-") as folder,
        store_url("postgres", Path(folder)) as url,
        service(url, Path(folder), secret, desk_env) as base,
    ):
        figures = wrk_load.run(
            base,
            secret,
            load,
            connections=connections,
            threads=threads,
            rate=rate,
            # Past the load's own length, room to fall behind; under the signatures' 300 s.
            limit_s=min(240.0, 2 * seconds + 30),
        )
        settled_at = wait_settled(base, timeout=600)
        serve_pid = RUNNING[base]
        worker_rss = max((peak_rss_mb(pid) for pid in children(serve_pid)), default=0.0)
        logged = logged_webhooks(url)
        tickets = tickets_once(emulator, escalated)
        serve_rss = peak_rss_mb(serve_pid)
    statuses: dict[str, int] = figures["statuses"]  # type: ignore[assignment]
    errors: dict[str, int] = figures["errors"]  # type: ignore[assignment]
    return {
        "target_rate": rate,
        "seconds": figures["elapsed"],
        "sent": figures["sent"],
        "answered": figures["answered"],
        "achieved_rate": figures["sent"] / figures["elapsed"],  # type: ignore[operator]
        "accepted": figures["accepted"],
        "not_202": sum(count for status, count in statuses.items() if status != "202"),
        "socket_errors": sum(errors.values()),
        "logged": logged,
        "p50_ms": figures["p50_ms"],
        "p99_ms": figures["p99_ms"],
        "max_ms": figures["max_ms"],
        "escalations": len(escalated),
        "tickets": tickets,
        "drain_s": max(0.0, settled_at - figures["ended_at"]),  # type: ignore[operator]
        "serve_rss_mb": serve_rss,
        "worker_rss_mb": worker_rss,
        "connections": connections,
        "wrk_threads": threads,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=1000.0, help="webhooks a second")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk's threads")
    parser.add_argument("--smoke", action="store_true", help="200 a second for 5 s: proves it runs")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    args = parser.parse_args()
    if args.smoke:
        args.rate, args.seconds = 200.0, 5.0
    wrk_load.wrk_path()
    row = measure(args.rate, args.seconds, args.connections, args.threads)
    if args.json:
        print(orjson.dumps(row).decode())
        return 0
    tickets = row["tickets"]
    print(
        f"sustained: {args.rate:g} signed webhooks/s for {args.seconds:g} s into PostgreSQL, "
        f"one conversation in ten escalating to the Zendesk emulator, {args.connections} "
        "connections, serve with its worker child, 127.0.0.1"
    )
    print(
        f"  achieved {row['achieved_rate']:,.0f}/s over {row['seconds']:.1f} s; sent "
        f"{row['sent']:,}, answered {row['answered']:,}, 202 {row['accepted']:,}, other "
        f"{row['not_202']}, socket errors {row['socket_errors']}; in the log {row['logged']:,}"
    )
    print(
        f"  latency p50 {row['p50_ms']:.1f} ms, p99 {row['p99_ms']:.1f} ms, max {row['max_ms']:.1f} ms"
    )
    print(
        f"  escalations {row['escalations']}: tickets made {tickets['made']}, duplicates "
        f"{tickets['duplicates']}, unexpected {tickets['unexpected']}; drained "
        f"{row['drain_s']:.2f} s after the load stopped"
    )
    print(
        f"  peak RSS: serve {row['serve_rss_mb']:.0f} MB, its worker child {row['worker_rss_mb']:.0f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
