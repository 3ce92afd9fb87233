"""Ingest benchmark with wrk as the load: ticketsync beside the ceiling app, in one run.

For each store (SQLite, PostgreSQL) and each mix of webhooks it runs `ticketsync serve`
(workers on, the built-in help desk) and bench/ceiling_app.py, each on a fresh store of
that kind, under the same pre-signed load from wrk (bench/wrk_load.py), in both orders:
ticketsync then the ceiling, and the ceiling then ticketsync. It prints the rates, p50 and
p99 of each, averaged over the runs, and ticketsync's share of the ceiling's rate and its
p99 over the ceiling's; with --json, also serve's CPU per accepted webhook (the serve
process alone, during the load). Only 127.0.0.1 is contacted.

Mixes:
- `conversations`: conversations of a few webhooks (started, intents, two user and two
  assistant messages, then resolved), one in ten escalated instead of resolved, so tickets
  are being made on the built-in desk during the load;
- `messages`: plain `message.created`, conversations of ten (bench/ingest.py's bodies).

    python bench/ingest_wrk.py [--count 6000] [--connections 32] [--threads 2] [--pairs 1]
        [--mixes conversations,messages] [--stores sqlite,postgres] [--json]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import httpx
import orjson
import wrk_load
from common import ADMIN_TOKEN, ROOT, RUNNING, service, store_url, wait_settled
from ingest import CEILING_COMMAND, bodies, ceiling_env
from procstat import cpu_seconds, peak_rss_mb

sys.path.insert(0, str(ROOT))
from ticketsync.adapters.chat import signing

AT = "2026-12-07T10:00:00Z"
ESCALATES_ONE_IN = 10


def _webhook(kind: str, data: dict[str, object]) -> bytes:
    return orjson.dumps({"type": kind, "timestamp": AT, "data": data})


def conversation(cid: str, escalates: bool) -> list[bytes]:
    """A short support conversation; it ends escalated, or resolved without a ticket."""
    said = [
        ("user", "My invoice shows the same charge twice this month."),
        ("assistant", "I can see two charges on the 3rd. Was one of them a trial?"),
        ("user", "No, I only have the one plan, and both went through."),
        ("assistant", "Thank you. I will look at whether one of them can be refunded."),
    ]
    end = (
        _webhook("conversation.escalated", {"conversation_id": cid, "reason": "refund"})
        if escalates
        else _webhook("conversation.resolved", {"conversation_id": cid, "resolution": "resolved"})
    )
    return [
        _webhook(
            "conversation.started",
            {
                "conversation_id": cid,
                "customer": {"id": f"u_{cid}", "email": f"{cid}@example.com", "name": "Bench"},
                "subject": "Charged twice",
                "channel": "web",
            },
        ),
        _webhook("intents.detected", {"conversation_id": cid, "intents": ["billing_problem"]}),
        *(
            _webhook(
                "message.created",
                {"conversation_id": cid, "message_id": f"m{n}", "role": role, "content": text},
            )
            for n, (role, text) in enumerate(said)
        ),
        end,
    ]


def escalates(number: int) -> bool:
    return number % ESCALATES_ONE_IN == ESCALATES_ONE_IN - 1


def conversations(mix: str, count: int) -> list[list[bytes]]:
    """About `count` webhooks of `mix`, as whole conversations."""
    if mix == "messages":
        flat = bodies(count)
        return [flat[start : start + 10] for start in range(0, len(flat), 10)]
    if mix == "conversations":
        size = len(conversation("c", False))
        return [
            conversation(f"bench_{n}", escalates(n))
            for n in range(max(ESCALATES_ONE_IN, round(count / size)))
        ]
    raise ValueError(f"unknown mix {mix!r}")


def tickets_made(base: str, load: list[list[bytes]]) -> int:
    """How many of the load's conversations have a ticket, read from the service."""
    ids = {orjson.loads(webhooks[0])["data"]["conversation_id"] for webhooks in load}
    headers = {"authorization": f"Bearer {ADMIN_TOKEN}"}
    made = 0
    with httpx.Client(base_url=base, headers=headers, timeout=10) as admin:
        for cid in sorted(ids):
            answer = admin.get(f"/conversations/{cid}")
            made += answer.status_code == 200 and answer.json().get("ticket") is not None
    return made


def run_ticketsync(store: str, load: list[list[bytes]], args: argparse.Namespace) -> dict:
    """`ticketsync serve` as in production, workers on; then waits until they are done."""
    secret = signing.generate_secret()
    with (
        tempfile.TemporaryDirectory(prefix="ticketsync-wrk-") as folder,
        store_url(store, Path(folder)) as url,
        service(url, Path(folder), secret) as base,
    ):
        busy = cpu_seconds(RUNNING[base])
        figures = wrk_load.run(
            base, secret, load, connections=args.connections, threads=args.threads
        )
        # serve's own CPU (HTTP and the ingest writer; its workers have a process of their
        # own) per webhook: steadier than the rate on a machine that others share.
        busy = cpu_seconds(RUNNING[base]) - busy
        figures["cpu_us_per_webhook"] = busy * 1e6 / max(1, figures["accepted"])
        figures["settled_s"] = wait_settled(base) - figures.pop("started_at")
        figures["rss_mb"] = peak_rss_mb(RUNNING[base])
        figures["tickets"] = tickets_made(base, load)
    return figures


def run_ceiling(store: str, load: list[list[bytes]], args: argparse.Namespace) -> dict:
    secret = signing.generate_secret()
    with (
        tempfile.TemporaryDirectory(prefix="ticketsync-wrk-ceiling-") as folder,
        store_url(store, Path(folder)) as url,
        service(url, Path(folder), secret, ceiling_env(url, secret), CEILING_COMMAND) as base,
    ):
        figures = wrk_load.run(
            base, secret, load, connections=args.connections, threads=args.threads
        )
        figures.pop("started_at")
        return figures


def mean_of(runs: list[dict], key: str) -> float:
    return statistics.fmean(run[key] for run in runs)


def measure(store: str, mix: str, args: argparse.Namespace) -> dict[str, object]:
    """Both orders, `args.pairs` times; each order's ratios, and the means over all runs."""
    load = conversations(mix, args.count)
    orders = []
    for _ in range(args.pairs):
        for first in ("ticketsync", "ceiling"):
            if first == "ticketsync":
                mine = run_ticketsync(store, load, args)
                ceiling = run_ceiling(store, load, args)
            else:
                ceiling = run_ceiling(store, load, args)
                mine = run_ticketsync(store, load, args)
            orders.append(
                {
                    "first": first,
                    "ticketsync": mine,
                    "ceiling": ceiling,
                    "ratio": mine["rate"] / ceiling["rate"],
                    "p99_ratio": mine["p99_ms"] / ceiling["p99_ms"],
                }
            )
    row: dict[str, object] = {
        "store": store,
        "mix": mix,
        "webhooks": sum(len(webhooks) for webhooks in load),
        "conversations": len(load),
        # Every conversation of ten messages has five user messages, more than the three
        # that make a ticket (CONTRACT section 4); of the others, the escalated ones.
        "tickets_expected": (
            len(load) if mix == "messages" else sum(map(escalates, range(len(load))))
        ),
        "connections": args.connections,
        "wrk_threads": args.threads,
        "orders": orders,
        "ratio": mean_of(orders, "ratio"),
        "p99_ratio": mean_of(orders, "p99_ratio"),
    }
    means = ("rate", "p50_ms", "p99_ms")
    for name, keys in (
        ("ticketsync", (*means, "settled_s", "rss_mb", "cpu_us_per_webhook")),
        ("ceiling", means),
    ):
        runs = [order[name] for order in orders]
        row[name] = {key: mean_of(runs, key) for key in keys} | {
            "accepted": min(run["accepted"] for run in runs),
            "rates": [run["rate"] for run in runs],
        }
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=6000, help="webhooks per run, about")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk's threads")
    parser.add_argument(
        "--pairs", type=int, default=1, help="runs in both orders; the figures are their means"
    )
    parser.add_argument("--mixes", default="conversations,messages")
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    args = parser.parse_args()
    wrk_load.wrk_path()
    rows = [
        measure(store, mix, args)
        for store in args.stores.split(",")
        for mix in args.mixes.split(",")
    ]
    if args.json:
        print(orjson.dumps(rows).decode())
        return 0
    print(
        f"ingest from wrk: about {args.count} signed webhooks per run, {args.connections} "
        f"connections, {args.threads} wrk threads, 127.0.0.1, workers on; means of "
        f"{2 * args.pairs} runs of each, both orders"
    )
    print(
        f"{'store':9} {'mix':14} {'accepted/s':>10} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'ceiling/s':>9} {'c.p50':>6} {'c.p99':>6} {'ratio':>6} {'p99/c':>6} "
        f"{'tickets':>8} {'done s':>7}"
    )
    for row in rows:
        mine, ceiling = row["ticketsync"], row["ceiling"]
        tickets = min(order["ticketsync"]["tickets"] for order in row["orders"])
        print(
            f"{row['store']:9} {row['mix']:14} {mine['rate']:10.0f} {mine['p50_ms']:7.1f} "
            f"{mine['p99_ms']:7.1f} {ceiling['rate']:9.0f} {ceiling['p50_ms']:6.1f} "
            f"{ceiling['p99_ms']:6.1f} {row['ratio']:6.2f} {row['p99_ratio']:6.2f} "
            f"{tickets:>8} {mine['settled_s']:7.2f}"
        )
        for order in row["orders"]:
            print(
                f"{'':9} {order['first'] + ' first':14} {order['ticketsync']['rate']:10.0f} "
                f"{order['ticketsync']['p50_ms']:7.1f} {order['ticketsync']['p99_ms']:7.1f} "
                f"{order['ceiling']['rate']:9.0f} {order['ceiling']['p50_ms']:6.1f} "
                f"{order['ceiling']['p99_ms']:6.1f} {order['ratio']:6.2f} {order['p99_ratio']:6.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
