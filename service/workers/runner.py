"""Background threads: the projection runner and the outbox dispatcher.

Each worker repeats one step (`run_once`) while there is work, and otherwise sleeps until
woken (new log entries, new calls) or until its idle time passes, which also picks up work
written by other processes sharing the database. A failing step is logged and retried
after a pause; it never ends the thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from ticketsync.events.errors import StoreUnavailable

logger = logging.getLogger(__name__)


class Worker:
    """Runs `step` in a thread until stopped. `step` returns how much work it did."""

    def __init__(
        self,
        name: str,
        step: Callable[[], int],
        *,
        idle: Callable[[], float] | float = 1.0,
        after_work: Callable[[], None] | None = None,
        pace: float = 0.0,
        full: int = 0,
    ):
        self.name = name
        self.step = step
        self.idle = idle if callable(idle) else (lambda: idle)  # type: ignore[assignment,return-value]
        self.after_work = after_work
        self.pace = pace  # the least time between the starts of two steps that were not full
        self.full = full  # what a step returns when it stopped at its limit, not at the end
        self.wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self.wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _run(self) -> None:
        while not self._stopping.is_set():
            self.wake.clear()
            started = time.monotonic()
            try:
                done = self.step()
            except StoreUnavailable as error:
                logger.warning(
                    "worker.store_unavailable", extra={"worker": self.name, "error": str(error)}
                )
                self._stopping.wait(1.0)
                continue
            except Exception:
                logger.exception("worker.step_failed", extra={"worker": self.name})
                self._stopping.wait(1.0)
                continue
            if done:
                if self.after_work is not None:
                    self.after_work()
                if done < self.full:
                    # Caught up, with more arriving: let it gather for a moment, so that
                    # under load each step takes a batch instead of an entry or two.
                    self._stopping.wait(max(0.0, started + self.pace - time.monotonic()))
                continue
            self.wake.wait(max(0.0, self.idle()))
