"""Load from wrk: a file of pre-signed webhooks, each sent once, and wrk's figures back.

wrk is C and spends a small part of a core on 32 connections, where a Python client takes
a whole one from the server it measures. The requests are signed here, before the run
(Standard Webhooks, with fresh ids and the current time, so a file is good for 300 s), and
bench/wrk/replay.lua sends them as they are.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import orjson
from common import signed_request

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "wrk" / "replay.lua"
INSTALL_HINT = (
    "wrk is missing: install it with `apt-get install wrk` (Debian, Ubuntu) or "
    "`brew install wrk` (macOS); `make bench` installs it where it can"
)
MARKER = "wrk-figures "


def wrk_path() -> str:
    """The wrk executable; raises RuntimeError, saying how to install it, when there is none."""
    found = shutil.which("wrk")
    if found is None:
        raise RuntimeError(INSTALL_HINT)
    return found


def write_requests(path: Path, slices: list[list[bytes]]) -> None:
    """One file of complete requests, each record tagged with the wrk thread that sends it."""
    with path.open("wb") as sink:
        for number, requests in enumerate(slices):
            for request in requests:
                sink.write(b"%d %d\n" % (number, len(request)))
                sink.write(request)


def in_waves(conversations: list[list[bytes]], width: int) -> list[bytes]:
    """The bodies of `width` conversations at a time, one step of each in turn.

    A chat platform sends a conversation's webhooks seconds apart, not back to back: with
    `width` above the connections in flight, a conversation's next webhook is sent after
    its last one was answered, as it would be.
    """
    ordered: list[bytes] = []
    for start in range(0, len(conversations), width):
        wave = conversations[start : start + width]
        for step in range(max(len(c) for c in wave)):
            ordered.extend(c[step] for c in wave if step < len(c))
    return ordered


def run(
    url: str,
    secret: str,
    conversations: list[list[bytes]],
    *,
    connections: int = 32,
    threads: int = 2,
    limit_s: float = 240.0,
    rate: float | None = None,
) -> dict[str, object]:
    """Sign every body now, send each once with wrk, return its figures (rates in /s, ms,
    and `started_at` and `ended_at`, the wall times wrk was started and was done).

    With `rate`, the requests go out at that many a second, for the whole run, instead of
    as fast as the connections go (bench/wrk/replay.lua paces them); `rate` in the figures
    is what was achieved.

    The conversations are dealt to wrk's threads whole, each thread's in waves. Raises
    RuntimeError when wrk is missing or fails; a run that reaches `limit_s` (kept under the
    300 s a signature's timestamp is good for) returns what was answered (`answered` below
    `sent`).
    """
    if not 0 < threads <= min(connections, len(conversations)):
        raise ValueError("need 1 to min(connections, conversations) threads")
    host = url.removeprefix("http://").split(":")[0]
    width = 2 * max(1, connections // threads)
    slices = [
        [signed_request(host, secret, body) for body in in_waves(conversations[n::threads], width)]
        for n in range(threads)
    ]
    with tempfile.TemporaryDirectory(prefix="ticketsync-wrk-") as folder:
        requests, done = Path(folder) / "requests", Path(folder) / "done"
        write_requests(requests, slices)
        started_at = time.time()
        result = subprocess.run(
            [
                wrk_path(),
                f"--threads={threads}",
                f"--connections={connections}",
                f"--duration={max(1, round(limit_s))}s",
                "--timeout=30s",
                f"--script={SCRIPT}",
                url + "/webhooks/chat",
                "--",
                str(requests),
                str(done),
                str(threads),
                *([f"{rate:g}"] if rate else []),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        ended_at = time.time()
    lines = [line for line in result.stdout.splitlines() if line.startswith(MARKER)]
    if result.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    raw = orjson.loads(lines[-1].removeprefix(MARKER))
    seconds = raw["duration_us"] / 1e6
    accepted = raw["statuses"].get("202", 0)
    return {
        "started_at": started_at,
        "ended_at": ended_at,
        "sent": raw["sent"],
        "answered": raw["answered"],
        "accepted": accepted,
        "statuses": raw["statuses"],
        "errors": raw["errors"],
        "elapsed": seconds,
        "rate": accepted / seconds,
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "mean_ms": raw["mean_us"] / 1000,
    }
