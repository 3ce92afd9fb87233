"""The directory where `serve`'s worker child keeps its metrics (prometheus-client's
multiprocess mode), for `serve` to answer them.

prometheus-client chooses when it is imported whether its values live in memory or in
files of the directory named by PROMETHEUS_MULTIPROC_DIR. `serve` makes a directory and
names it in its child's environment only: the child's counters and histograms go to its
files (`counter_<pid>.db`, ...), which a scrape of `serve` reads and sums, while `serve`'s
own stay in memory, where its webhook targets count without a lock or a file write. A
directory is private to one `serve` (its pid is in the name) and removed when it exits;
one left by a `serve` that was killed is removed by the next `serve` to start.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

logger = logging.getLogger(__name__)

# prometheus-client's own variable: set, every metric of the process lives in its files.
VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
PREFIX = "ticketsync-metrics-"


class SharedMetrics:
    """One `serve`'s metrics directory, named in this process's environment while it lives."""

    def __init__(self, parent: Path | None = None):
        self.parent = Path(parent or tempfile.gettempdir())
        remove_abandoned(self.parent)
        self.path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=self.parent))

    def environment(self) -> dict[str, str]:
        """What a child's environment adds, so that it keeps its metrics here."""
        return {VARIABLE: str(self.path)}

    def process_ended(self, pid: int) -> None:
        """A process that wrote here has ended: its live gauges go (its counts stay summed)."""
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid, str(self.path))

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def remove_abandoned(parent: Path) -> None:
    """Remove the directories of `serve`s of this user that have ended without removing them."""
    for folder in parent.glob(f"{PREFIX}*"):
        pid_text = folder.name.removeprefix(PREFIX).partition("-")[0]
        try:
            if not folder.is_dir() or folder.stat().st_uid != os.getuid():
                continue
            pid = int(pid_text)
        except (OSError, ValueError):
            continue
        if pid != os.getpid() and not _alive(pid):
            shutil.rmtree(folder, ignore_errors=True)
            logger.info("metrics.abandoned_directory_removed", extra={"path": str(folder)})


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
