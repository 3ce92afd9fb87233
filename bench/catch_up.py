"""A worker catching up on a long log: its memory, sampled each second, and events/s.

For each store it registers the projection on an empty store (as a new deployment does),
writes a log of EVENTS generated events straight into it (bench/rebuild.py's generator:
conversations that escalate, run tools, resolve), then starts `ticketsync worker` with the
built-in help desk. The worker folds the whole log live, deciding as it goes and making
the tickets on the built-in desk, until the projection has read the whole log and no call
is pending. Its resident memory (VmRSS) is read every second meanwhile; it prints the
first, peak and last readings, the events folded a second (until the projection had read
the generated log) and the time until all was done. Only 127.0.0.1 is contacted.

    python bench/catch_up.py [--events 1000000] [--stores sqlite,postgres] [--json]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import orjson
from common import ROOT, store_url, worker
from procstat import peak_rss_mb, rss_mb
from rebuild import generate

sys.path.insert(0, str(ROOT))
from ticketsync.adapters.chat import signing
from ticketsync.service import bootstrap, config

SAMPLE_S = 1.0


def caught_up(container: bootstrap.Container) -> tuple[bool, int]:
    """Whether every projection has read the whole log and no call is pending; the position."""
    store = container.store
    head = store.log.position()
    positions = store.projection_positions()
    pending = store.unfinished_calls()["pending"]
    read = min(positions.values(), default=0)
    return bool(positions) and read >= head and pending == 0, read


def measure(store: str, events: int, timeout: float) -> dict[str, object]:
    secret = signing.generate_secret()
    with (
        tempfile.TemporaryDirectory(prefix="ticketsync-catch-up-") as folder,
        store_url(store, Path(folder)) as url,
    ):
        settings = config.load({"TICKETSYNC_DATABASE_URL": url})
        # Registered on the empty store, the projection folds what follows live, deciding
        # (a projection that first meets a long log builds itself silently instead).
        watcher = bootstrap.build(settings, run_workers=False)
        try:
            conversations = generate(url, events, lambda _: None)
            head_before = watcher.store.log.position()
            samples: list[float] = []
            started = time.monotonic()
            folded: float | None = None  # when the projection had read the generated log
            with worker(url, Path(folder), secret) as pid:
                deadline = started + timeout
                while True:
                    samples.append(rss_mb(pid))
                    done, read = caught_up(watcher)
                    if folded is None and read >= head_before:
                        folded = time.monotonic() - started
                    if done:
                        break
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"not caught up after {timeout:.0f} s: at {read:,}")
                    time.sleep(SAMPLE_S)
                elapsed = time.monotonic() - started
                samples.append(rss_mb(pid))
                peak = peak_rss_mb(pid)
            head_after = watcher.store.log.position()
        finally:
            watcher.close()
    return {
        "store": store,
        "events": head_before,
        "conversations": conversations,
        # Read once a second: the fold's time is known to a second, a long log's to a few %.
        "fold_s": folded or elapsed,
        "events_per_s": head_before / (folded or elapsed),
        "seconds": elapsed,
        # What the worker wrote on the way: its calls' outcomes, the built-in desk's entries.
        "entries_added": head_after - head_before,
        "rss_start_mb": samples[0],
        "rss_peak_mb": max(peak, *samples),
        "rss_end_mb": samples[-1],
        "samples_mb": samples,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds to catch up")
    parser.add_argument("--smoke", action="store_true", help="20,000 events")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    args = parser.parse_args()
    if args.smoke:
        args.events = 20_000
    rows = [measure(store, args.events, args.timeout) for store in args.stores.split(",")]
    if args.json:
        print(orjson.dumps(rows).decode())
        return 0
    print(
        f"a worker catching up on a log of about {args.events:,} events (built-in desk), "
        f"RSS sampled every {SAMPLE_S:g} s"
    )
    print(
        f"{'store':10} {'events':>10} {'fold s':>7} {'events/s':>9} {'all done s':>10} {'added':>7} "
        f"{'RSS start MB':>12} {'peak MB':>8} {'end MB':>7}"
    )
    for row in rows:
        print(
            f"{row['store']:10} {row['events']:10,} {row['fold_s']:7.1f} "
            f"{row['events_per_s']:9,.0f} {row['seconds']:10.1f} {row['entries_added']:7,} "
            f"{row['rss_start_mb']:12.0f} "
            f"{row['rss_peak_mb']:8.0f} {row['rss_end_mb']:7.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
