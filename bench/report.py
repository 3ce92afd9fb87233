"""`make bench`: every benchmark, then docs/performance.md with the figures and the machine.

    python bench/report.py [--quick]

`--quick` runs each benchmark small (seconds, not minutes) and writes nothing: it proves the
benchmarks still work, as CI does, without asserting any time.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import wrk_load  # noqa: E402

FULL = {
    "ingest": ["--count", "3000"],
    "ingest_wrk": ["--count", "6000", "--pairs", "2"],
    "escalation": ["--conversations", "500", "--paced", "100"],
    "rebuild": ["--events", "1000000"],
}
QUICK = {
    "ingest": ["--count", "200", "--connections", "8", "--rounds", "1"],
    "ingest_wrk": ["--count", "200", "--pairs", "1"],
    "escalation": ["--conversations", "20", "--paced", "50"],
    "rebuild": ["--events", "3000"],
}


def run(name: str, args: list[str]) -> object:
    result = subprocess.run(
        [sys.executable, str(HERE / f"{name}.py"), *args, "--json"],
        capture_output=True,
        check=False,
        cwd=HERE,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{result.stderr.decode()[-3000:]}")
    return orjson.loads(result.stdout.splitlines()[-1])


def machine() -> str:
    memory = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    except OSError:
        pass
    postgres = subprocess.run(
        ["psql", "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    import sqlite3

    return (
        f"{os.cpu_count()} cores, {memory} memory, {platform.machine()}, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, {postgres or 'PostgreSQL ?'}"
    )


def python_speed(iterations: int = 10_000_000) -> float:
    """Seconds for a fixed pure-Python loop: how fast this machine runs Python right now.

    Shared machines change speed from day to day; figures of two runs compare only where
    this does too.
    """
    started = time.perf_counter()
    total = 0
    for number in range(iterations):
        total += number
    return time.perf_counter() - started


def _rates(rates: list[float]) -> str:
    return ", ".join(f"{rate:,.0f}" for rate in rates)


def wrk_section(rows: list[dict]) -> list[str]:
    """The ingest table measured with wrk as the load, ticketsync beside the ceiling."""
    lines = [
        "",
        "## Ingest from wrk (signed chat webhooks, 32 connections, workers on)",
        "",
        "| store | mix | accepted/s | p50 ms | p99 ms | ceiling/s | ceiling p50 ms "
        "| ceiling p99 ms | ratio | p99 / ceiling p99 | tickets made (due) | serve peak RSS MB "
        "| all done s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        mine, ceiling = row["ticketsync"], row["ceiling"]
        tickets = min(order["ticketsync"]["tickets"] for order in row["orders"])
        lines.append(
            f"| {row['store']} | {row['mix']} | {mine['rate']:.0f} | {mine['p50_ms']:.1f} "
            f"| {mine['p99_ms']:.1f} | {ceiling['rate']:.0f} | {ceiling['p50_ms']:.1f} "
            f"| {ceiling['p99_ms']:.1f} | {row['ratio']:.2f} | {row['p99_ratio']:.2f} "
            f"| {tickets} ({row['tickets_expected']}) | {mine['rss_mb']:.0f} "
            f"| {mine['settled_s']:.2f} |"
        )
    first = rows[0] if rows else {"orders": [], "wrk_threads": "?"}
    runs = len(first["orders"])
    lines += [
        "",
        "The table above stays for comparison with earlier reports: its load process is",
        "Python and takes one of this machine's two cores from the service it measures.",
        "Here the load is wrk (C, a small part of a core for 32 connections), replaying",
        "Standard Webhooks requests signed just before each run with fresh ids and the",
        "current time (bench/wrk_load.py, bench/wrk/replay.lua), each sent once; each of",
        f"wrk's {first['wrk_threads']} threads sends whole conversations of its own, many side",
        "by side, so that one conversation's webhooks go out one after the other. Mixes:",
        "`conversations` is started, intents, two user and two assistant messages, then",
        "resolved, and one conversation in ten escalated instead, so tickets are being made",
        "on the built-in desk during the load; `messages` is plain `message.created`,",
        "conversations of ten (five user messages, so each gets a ticket too). ticketsync",
        "runs `serve` with its workers on; the ceiling is the same app as above, on a fresh",
        f"store of the same kind. Each row is the mean of {runs} runs of each, taken in both",
        "orders (ticketsync first, and the ceiling first); the ratio is ticketsync's rate",
        "over the ceiling's, and the p99 over the ceiling's p99, each taken in the same",
        "order and then averaged. 'Tickets made' is read from the service once all is done",
        "(the fewest of the runs; in brackets, the conversations the policy gives one).",
        "Each order's figures (accepted/s, p99 ms; the ceiling's; the two ratios):",
        "",
    ]
    for row in rows:
        for order in row["orders"]:
            mine, ceiling = order["ticketsync"], order["ceiling"]
            lines.append(
                f"- {row['store']}, {row['mix']}, {order['first']} first: "
                f"{mine['rate']:,.0f}/s, {mine['p99_ms']:.1f} ms; ceiling "
                f"{ceiling['rate']:,.0f}/s, {ceiling['p99_ms']:.1f} ms; "
                f"{order['ratio']:.2f}, {order['p99_ratio']:.2f}"
            )
    return lines


def markdown(figures: dict[str, object]) -> str:
    ingest, escalation, rebuild = figures["ingest"], figures["escalation"], figures["rebuild"]
    lines = [
        "# Performance",
        "",
        f"Measured by `make bench` on {datetime.now(UTC):%Y-%m-%d}: {machine()}. Only 127.0.0.1.",
        "Each figure stands beside a ceiling measured in the same run on the same machine.",
        "The machine's speed, as a fixed pure-Python loop of 10 million additions: "
        f"{figures['speed'][0]:.2f} s before the run and {figures['speed'][1]:.2f} s after it "
        "(compare figures of two runs only where these are close).",
        "",
        "## Ingest (signed chat webhooks, 32 connections, from a Python load process)",
        "",
        "| store | processes | accepted/s | p50 ms | p99 ms | ceiling/s | ceiling p50 ms | ceiling p99 ms | ratio | serve peak RSS MB | all done s | webhooks/s to all done |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in ingest:  # type: ignore[union-attr]
        mine, ceiling = row["ticketsync"], row["ceiling"]
        settled = mine.get("settled_s")
        # The webhook path alone (workers off) leaves nothing to do afterwards.
        done = f"{settled:.2f} | {mine['accepted'] / settled:.0f}" if settled else "n/a | n/a"
        lines.append(
            f"| {row['store']} | {row['processes']} | {mine['rate']:.0f} | {mine['p50_ms']:.1f} | {mine['p99_ms']:.1f} "
            f"| {ceiling['rate']:.0f} | {ceiling['p50_ms']:.1f} | {ceiling['p99_ms']:.1f} "
            f"| {mine['rate'] / ceiling['rate']:.2f} | {mine['rss_mb']:.0f} | {done} |"
        )
    lines += [
        "",
        "The ceiling is `bench/ceiling_app.py`: a bare Starlette app on the same uvicorn settings",
        "that checks the HMAC and inserts the raw body, one commit per request. ticketsync runs",
        "as configured by default (log level `info`: a line per request and per webhook).",
        "Accepted/s counts acknowledgements. The projection and the calls it decides lag",
        "behind a burst like this one and finish after it: 'all done' is the time from the",
        "first webhook until the projection has read the whole log and no call is pending,",
        "and the last column is the webhooks over that time, the rate the whole service",
        "keeps up with.",
        "Each row is the run with the median rate of several, taken in rounds that interleave",
        "ticketsync's runs with the ceiling's. The rates of every run, in webhooks/s:",
        "",
    ]
    ceilings: dict[str, list[float]] = {}
    for row in ingest:  # type: ignore[union-attr]
        ceilings[row["store"]] = row["ceiling"]["rates"]
        lines.append(f"- {row['store']}, {row['processes']}: {_rates(row['ticketsync']['rates'])}")
    lines += [f"- {store}, ceiling: {_rates(rates)}" for store, rates in ceilings.items()]
    lines += wrk_section(figures["ingest_wrk"])  # type: ignore[arg-type]
    lines += [
        "",
        "## End to end (escalation's 202 to the Zendesk emulator receiving the create)",
        "",
        "| store | arrivals | tickets | p50 ms | p99 ms | batch settled s |",
        "|---|---|---|---|---|---|",
    ]
    for store, row in escalation.items():  # type: ignore[union-attr]
        for arrivals, figures in (("as fast as they go", row), *row.get("paced", {}).items()):
            lines.append(
                f"| {store} | {arrivals} | {figures['created']:.0f} | {figures['p50_ms']:.1f} "
                f"| {figures['p99_ms']:.1f} | {figures['settled_s']:.2f} |"
            )
    lines += [
        "",
        "A burst sent as fast as 8 connections go arrives faster than the emulator takes",
        "creates, so its latency is the outbox queue's; paced arrivals (conversations a",
        "second, three webhooks each) measure the service's own latency at a rate the help",
        "desk keeps up with.",
    ]
    lines += [
        "",
        "## Rebuild and audit (a generated log of 1,000,000 events)",
        "",
        "| store | rebuild events/s | ceiling events/s | ratio | rebuild peak RSS MB | same, log a tenth as long | audit p50 ms | audit p99 ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rebuild:  # type: ignore[union-attr]
        lines.append(
            f"| {row['store']} | {row['rebuild_rate']:,.0f} | {row['ceiling_rate']:,.0f} "
            f"| {row['rebuild_rate'] / row['ceiling_rate']:.2f} | {row['rss_mb']:.0f} "
            f"| {row['small_rss_mb']:.0f} | {row['audit_p50_ms']:.2f} | {row['audit_p99_ms']:.2f} |"
        )
    lines += ["", (ROOT / "docs" / "performance-notes.md").read_text().strip(), ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--stores", default="sqlite,postgres")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    try:
        wrk_load.wrk_path()  # before minutes of the other benchmarks, not after
    except RuntimeError as missing:
        print(f"bench: {missing}", file=sys.stderr)
        return 2
    before = python_speed()
    figures = {name: run(name, [*extra, "--stores", args.stores]) for name, extra in sizes.items()}
    figures["speed"] = [before, python_speed()]
    if args.quick:
        markdown(figures)  # the page still renders from these figures; it is not written
        print(orjson.dumps(figures).decode())
        return 0
    target = ROOT / "docs" / "performance.md"
    target.write_text(markdown(figures), encoding="utf-8")
    print(target.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
