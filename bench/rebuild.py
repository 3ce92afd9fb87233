"""Rebuild and audit benchmark over a generated log (1,000,000 events by default).

For each store it generates conversations with a realistic mix of events straight into the
log, then, each in a fresh process so that peak memory is its own:
- rebuilds the conversation projection and prints events/s and peak RSS (also for a log a
  tenth as long, to show that memory does not grow with the log);
- runs a ceiling beside it: the same rows read in the same pages with a trivial fold
  (counting events per conversation), and the rebuild's ratio to it;
- times one conversation's audit trail (p50/p99 over 200 conversations).

    python bench/rebuild.py [--events 1000000] [--stores sqlite,postgres]
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import orjson
from common import ROOT, percentile, store_url

sys.path.insert(0, str(ROOT))
from ticketsync.service import config
from ticketsync.service.store.entries import NewEntry
from ticketsync.service.store.log import AuditQuery, EventLog
from ticketsync.service.workers.rebuild import REBUILD_PAGE

AT = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
INTENTS = ["billing_problem", "bug_report", "usage_help", "feature_request", "cancellation_intent"]


def conversation_events(n: int, rng: random.Random) -> list[dict]:
    """One conversation: started, a few turns, intents, sometimes a tool, an escalation, a resolution."""
    cid = f"bench_{n}"
    events = [
        {
            "type": "conversation.started",
            "data": {
                "customer": {"id": f"u{n}", "email": f"u{n}@example.com", "name": "Customer"},
                "subject": "Help",
            },
        }
    ]
    for turn in range(rng.randint(2, 6)):
        events.append(
            {
                "type": "message.created",
                "data": {
                    "message_id": f"u{turn}",
                    "role": "user",
                    "content": "I have a problem with my account. " * 3,
                },
            }
        )
        events.append(
            {
                "type": "message.created",
                "data": {
                    "message_id": f"a{turn}",
                    "role": "assistant",
                    "content": "Let me check that for you. " * 3,
                },
            }
        )
    events.append({"type": "intents.detected", "data": {"intents": [rng.choice(INTENTS)]}})
    if rng.random() < 0.3:
        events.append(
            {
                "type": "tool.executed",
                "data": {
                    "tool": "lookup",
                    "input": {"id": n},
                    "output": {"ok": True},
                    "status": "ok",
                },
            }
        )
    if rng.random() < 0.3:
        events.append({"type": "conversation.escalated", "data": {"reason": "needs a human"}})
    if rng.random() < 0.5:
        events.append({"type": "conversation.resolved", "data": {"resolution": "resolved"}})
    for event in events:
        event["data"]["conversation_id"] = cid
        event["timestamp"] = "2026-11-25T10:00:00Z"
    return events


def generate(url: str, total: int, say: Callable[[str], None] = print) -> int:
    """Append about `total` events in batches; returns the number of conversations."""
    log = EventLog(config.parse_database_url(url))
    rng = random.Random(7)
    batch: list[NewEntry] = []
    written = conversations = 0
    started = time.perf_counter()
    while written < total:
        for event in conversation_events(conversations, rng):
            batch.append(
                NewEntry(
                    source="chat",
                    delivery_id=f"evt_{written}",
                    type=event["type"],
                    occurred_at=AT,
                    recorded_at=AT,
                    conversation_id=event["data"]["conversation_id"],
                    raw=orjson.dumps(event).decode(),
                )
            )
            written += 1
        conversations += 1
        if len(batch) >= 2000:
            log.append(batch)
            batch = []
    if batch:
        log.append(batch)
    log.close()
    say(
        f"  generated {written:,} events in {conversations:,} conversations in {time.perf_counter() - started:.1f} s"
    )
    return conversations


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase_rebuild(url: str) -> dict:
    from ticketsync.service import bootstrap
    from ticketsync.service.workers.rebuild import Rebuild

    settings = config.load({"TICKETSYNC_DATABASE_URL": url})
    container = bootstrap.build(settings, run_workers=False)
    try:
        started = time.perf_counter()
        # The log was written directly: the projection has never run, so it builds as a new one.
        progress = Rebuild(
            container.store,
            container.projector.policy,
            initial=True,
            parse_stored=container.projector.parse_stored,
        ).run()
        elapsed = time.perf_counter() - started
    finally:
        container.close()
    return {
        "events": progress.events_read,
        "seconds": elapsed,
        "rss_mb": peak_rss_mb(),
        "rows": progress.rows,
    }


def phase_ceiling(url: str) -> dict:
    """The same rows, the same pages, a trivial fold: what reading the log costs at most."""
    log = EventLog(config.parse_database_url(url))
    counts: Counter[str] = Counter()
    after = read = 0
    started = time.perf_counter()
    while page := log.read(after, REBUILD_PAGE):
        for entry in page:
            counts[orjson.loads(entry.raw or "{}")["data"]["conversation_id"]] += 1
        read += len(page)
        after = page[-1].position
    elapsed = time.perf_counter() - started
    log.close()
    return {"events": read, "seconds": elapsed, "rss_mb": peak_rss_mb()}


def phase_audit(url: str, conversations: int) -> dict:
    log = EventLog(config.parse_database_url(url))
    rng = random.Random(11)
    timings = []
    for _ in range(200):
        started = time.perf_counter()
        entries, _ = log.query(
            AuditQuery(conversation_id=f"bench_{rng.randrange(conversations)}", limit=1000)
        )
        timings.append(time.perf_counter() - started)
        assert entries
    log.close()
    return {"p50_ms": percentile(timings, 0.5) * 1000, "p99_ms": percentile(timings, 0.99) * 1000}


def in_process(phase: str, url: str, *extra: str) -> dict:
    """Run a phase in a fresh interpreter, so that its peak memory is its own."""
    result = subprocess.run(
        [sys.executable, __file__, "--phase", phase, "--url", url, *extra],
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        # A phase killed by a signal (the kernel's OOM killer, say) leaves no stderr.
        how = (
            f"was killed by signal {-result.returncode}"
            if result.returncode < 0
            else f"exited {result.returncode}"
        )
        raise RuntimeError(f"phase {phase} {how}: {result.stderr.decode()[-3000:]}")
    return orjson.loads(result.stdout.splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--conversations", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    args = parser.parse_args()
    if args.phase:
        phases = {
            "rebuild": lambda: phase_rebuild(args.url),
            "ceiling": lambda: phase_ceiling(args.url),
            "audit": lambda: phase_audit(args.url, args.conversations),
        }
        print(orjson.dumps(phases[args.phase]()).decode())
        return 0
    say = (lambda text: None) if args.json else print
    say(f"rebuild and audit over a generated log of about {args.events:,} events")
    small = max(1, args.events // 10)
    rows = []
    for store in args.stores.split(","):
        say(f"{store}:")
        # A tenth of the log first: peak memory must not grow with the log.
        with (
            tempfile.TemporaryDirectory(prefix="ticketsync-bench-") as folder,
            store_url(store, Path(folder)) as url,
        ):
            generate(url, small, say)
            small_rss = in_process("rebuild", url)["rss_mb"]
        with (
            tempfile.TemporaryDirectory(prefix="ticketsync-bench-") as folder,
            store_url(store, Path(folder)) as url,
        ):
            conversations = generate(url, args.events, say)
            rebuild = in_process("rebuild", url)
            ceiling = in_process("ceiling", url)
            audit = in_process("audit", url, "--conversations", str(conversations))
        rows.append(
            {
                "store": store,
                "rebuild_rate": rebuild["events"] / rebuild["seconds"],
                "ceiling_rate": ceiling["events"] / ceiling["seconds"],
                "rss_mb": rebuild["rss_mb"],
                "small_events": small,
                "small_rss_mb": small_rss,
                "audit_p50_ms": audit["p50_ms"],
                "audit_p99_ms": audit["p99_ms"],
            }
        )
    if args.json:
        print(orjson.dumps(rows).decode())
        return 0
    print(
        f"{'store':10} {'rebuild ev/s':>13} {'ceiling ev/s':>13} {'ratio':>6} "
        f"{'peak RSS MB':>12} {f'at {small:,}':>12} {'audit p50 ms':>13} {'p99 ms':>7}"
    )
    for row in rows:
        print(
            f"{row['store']:10} {row['rebuild_rate']:13,.0f} {row['ceiling_rate']:13,.0f} "
            f"{row['rebuild_rate'] / row['ceiling_rate']:6.2f} {row['rss_mb']:12.0f} "
            f"{row['small_rss_mb']:12.0f} {row['audit_p50_ms']:13.2f} {row['audit_p99_ms']:7.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
