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
    "sustained": ["--rate", "1000", "--seconds", "60"],
    "scaling": ["--count", "20000"],
    "catch_up": ["--events", "1000000"],
}
QUICK = {
    "ingest": ["--count", "200", "--connections", "8", "--rounds", "1"],
    "ingest_wrk": ["--count", "200", "--pairs", "1"],
    "escalation": ["--conversations", "20", "--paced", "50"],
    "rebuild": ["--events", "3000"],
    "sustained": ["--rate", "200", "--seconds", "3"],
    "scaling": ["--count", "400"],
    "catch_up": ["--events", "3000"],
}
# Several processes on one database: PostgreSQL's benchmarks, run when it is among the stores.
POSTGRES_ONLY = {"sustained", "scaling"}


def arguments(name: str, extra: list[str], stores: str) -> list[str] | None:
    """The benchmark's arguments for these stores; None when it has no store among them."""
    if name in POSTGRES_ONLY:
        return extra if "postgres" in stores.split(",") else None
    return [*extra, "--stores", stores]


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


def sustained_section(row: dict | None) -> list[str]:
    """The constant-rate run into PostgreSQL, tickets to the Zendesk emulator."""
    lines = [
        "",
        "## Sustained load (PostgreSQL, constant rate, tickets to the Zendesk emulator)",
        "",
        "| target/s | achieved/s | seconds | sent | 202 | not 202 | in the log | p50 ms "
        "| p99 ms | escalations | tickets made | duplicate tickets | drained s after the load "
        "| serve peak RSS MB | its worker child MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    if row is None:
        return [*lines, "| not run (PostgreSQL was not among the stores) |"]
    tickets = row["tickets"]
    lines += [
        f"| {row['target_rate']:,.0f} | {row['achieved_rate']:,.0f} | {row['seconds']:.1f} "
        f"| {row['sent']:,} | {row['accepted']:,} | {row['not_202'] + row['socket_errors']} "
        f"| {row['logged']:,} | {row['p50_ms']:.1f} | {row['p99_ms']:.1f} "
        f"| {row['escalations']:,} | {tickets['made']:,} | {tickets['duplicates']} "
        f"| {row['drain_s']:.2f} | {row['serve_rss_mb']:.0f} | {row['worker_rss_mb']:.0f} |",
        "",
        "`bench/sustained.py`: `serve` with its workers in its child process, as in",
        "production, on a fresh schema. wrk sends the same mix as the wrk ingest table",
        "(short conversations, one in ten escalating), each request once, at a constant",
        "pace: Debian's wrk has no constant-rate mode, so bench/wrk/replay.lua holds each of",
        f"the {row['connections']} connections' next request until its thread's next slot;",
        "a thread that falls behind catches up as fast as its connections go, and the",
        "achieved rate is what was sent over the run's length. 'Not 202' counts every other",
        "answer and every socket error; 'in the log' counts the chat deliveries stored.",
        "Tickets are the emulator's, one per escalated conversation (by external id).",
        "'Drained' is from the last answer until the projection had read the whole log and",
        "no call was pending. Latency is wrk's, from a request's write to its answer.",
    ]
    return lines


def scaling_section(rows: list[dict] | None) -> list[str]:
    """HTTP processes x worker processes on one PostgreSQL database."""
    lines = [
        "",
        "## Scaling on PostgreSQL (HTTP processes x worker processes, one database)",
        "",
        "| HTTP processes | workers | webhooks | ingested/s | p99 ms | all settled s "
        "| tickets made (escalations) | duplicate tickets | machine busy under load "
        "| CPU s, HTTP | CPU s, workers |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    if not rows:
        return [*lines, "| not run (PostgreSQL was not among the stores) |"]
    for row in rows:
        tickets = row["tickets"]
        lines.append(
            f"| {row['http']} | {row['workers']} | {row['webhooks']:,} "
            f"| {row['ingest_rate']:,.0f} | {row['p99_ms']:.1f} | {row['settled_s']:.2f} "
            f"| {tickets['made']:,} ({tickets['expected']:,}) | {tickets['duplicates']} "
            f"| {row['busy_loaded']:.0%} | {row['cpu_http_s']:.1f} | {row['cpu_workers_s']:.1f} |"
        )
    busiest = max(row["busy_loaded"] for row in rows)
    lines += [
        "",
        "`bench/scaling.py`: `serve --no-workers` on ports of their own and `ticketsync",
        "worker` processes, on a fresh schema, tickets to the Zendesk emulator; the same",
        "load for each layout, each conversation to one HTTP process, one wrk per HTTP",
        "process with the connections split between them, as fast as wrk goes. 'Ingested'",
        "is the 202s over the time from the first request to the last answer; 'all",
        "settled' is from the first request until the projection had read the whole log",
        "and no call was pending. p99 is the larger of the wrk runs'. 'Machine busy' is",
        "the share of all CPUs' time in use while the load ran (/proc/stat: ticketsync,",
        "PostgreSQL, wrk, the emulator, and whatever else ran); CPU seconds are the",
        "ticketsync processes' own, from the first request until all had settled.",
        "",
        f"What bounds it: the CPUs were at most {busiest:.0%} busy under load. "
        + (
            f"With {os.cpu_count()} cores that is the machine's ceiling: a second process "
            "of either kind shares the same cores with PostgreSQL and wrk instead of adding "
            "any, and the figures say what one more process costs, not what it adds. Not "
            "measured here: on a machine with cores to spare (or processes on machines of "
            "their own), more HTTP processes should add ingest until PostgreSQL's log lock "
            "(each append holds it until its commit) is the bound, and more workers add "
            "calls in flight for as long as the help desk takes them; the projection has "
            "one active runner whatever the number of workers."
            if busiest >= 0.85
            else "The CPUs were not the bound: the figures show what the processes add."
        ),
    ]
    return lines


def memory_section(
    catch_up: list[dict] | None, ingest_wrk: list[dict], sustained: dict | None
) -> list[str]:
    """`serve` under ingest load, and a worker catching up on a long log."""
    peaks = [
        f"{row['store']} {row['mix']}: {row['ticketsync']['rss_mb']:.0f} MB" for row in ingest_wrk
    ]
    if sustained is not None:
        peaks.append(f"sustained load: {sustained['serve_rss_mb']:.0f} MB")
    lines = [
        "",
        "## Memory",
        "",
        "`serve`'s peak RSS (VmHWM of the HTTP process) under the ingest loads above, target",
        f"under 200 MB: {'; '.join(peaks) or 'not measured'}.",
        "",
        "A worker catching up on a long log (`bench/catch_up.py`): the projection registered",
        "on an empty store, the log then written straight into it (bench/rebuild.py's",
        "generator), and `ticketsync worker` started with the built-in desk: it folds the",
        "whole log live, deciding and making the tickets as it goes. Its RSS (VmRSS) is read",
        "every second until the projection has read the whole log and no call is pending;",
        "events/s is the generated log over the time until the projection had read it.",
        "",
        "| store | events | fold s | events/s | all done s | RSS first MB | peak MB | last MB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in catch_up or []:
        lines.append(
            f"| {row['store']} | {row['events']:,} | {row['fold_s']:.1f} "
            f"| {row['events_per_s']:,.0f} | {row['seconds']:.1f} | {row['rss_start_mb']:.0f} "
            f"| {row['rss_peak_mb']:.0f} | {row['rss_end_mb']:.0f} |"
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
        for arrivals, measured in (("as fast as they go", row), *row.get("paced", {}).items()):
            lines.append(
                f"| {store} | {arrivals} | {measured['created']:.0f} | {measured['p50_ms']:.1f} "
                f"| {measured['p99_ms']:.1f} | {measured['settled_s']:.2f} |"
            )
    lines += [
        "",
        "A burst sent as fast as 8 connections go arrives faster than the emulator takes",
        "creates, so its latency is the outbox queue's; paced arrivals (conversations a",
        "second, three webhooks each) measure the service's own latency at a rate the help",
        "desk keeps up with.",
    ]
    lines += sustained_section(figures.get("sustained"))  # type: ignore[arg-type]
    lines += scaling_section(figures.get("scaling"))  # type: ignore[arg-type]
    lines += memory_section(
        figures.get("catch_up"),  # type: ignore[arg-type]
        figures["ingest_wrk"],  # type: ignore[arg-type]
        figures.get("sustained"),  # type: ignore[arg-type]
    )
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
    figures = {
        name: run(name, given)
        for name, extra in sizes.items()
        if (given := arguments(name, extra, args.stores)) is not None
    }
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
