"""What Linux's /proc says about a process and the machine: memory, CPU time, children.

Each reader answers 0 (or nothing) where /proc cannot tell, as on macOS: the figures are
then missing from a report, and the benchmarks still run.
"""

from __future__ import annotations

import os
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _status_mb(pid: int, field: str) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def rss_mb(pid: int) -> float:
    """A process's resident memory now (VmRSS), in MiB."""
    return _status_mb(pid, "VmRSS")


def peak_rss_mb(pid: int) -> float:
    """A process's peak resident memory so far (VmHWM), in MiB."""
    return _status_mb(pid, "VmHWM")


def cpu_seconds(pid: int) -> float:
    """CPU time a process has used so far, user and system."""
    try:
        # The command name (field 2) may hold spaces; the fields after its ")" do not.
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def alive(pid: int) -> bool:
    """Whether a process still runs (a zombie, ended and not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def children(pid: int) -> list[int]:
    """A process's child processes (of its main thread)."""
    try:
        return [int(n) for n in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def machine_ticks() -> tuple[int, int]:
    """All CPUs' (busy, total) clock ticks since boot; two readings give the share busy."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
    except OSError:
        return (0, 0)
    # user nice system idle iowait irq softirq steal; guest time is counted in user already.
    ticks = [int(value) for value in first[1:9]]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle, iowait
    return (sum(ticks) - idle, sum(ticks))


def busy_share(before: tuple[int, int], after: tuple[int, int]) -> float:
    """The share of all CPUs' time that was busy between two `machine_ticks` readings."""
    total = after[1] - before[1]
    return (after[0] - before[0]) / total if total > 0 else 0.0
