"""Group commit: deliveries that arrive together share one transaction.

Request handlers hand their entry to one writer thread and wait. The thread takes every
entry waiting at that moment, appends them in one transaction, and only then answers each
handler, so every acknowledgement still follows its own commit. Under load this turns
one fsync per request into one per batch; with a single request in flight it is a plain
append.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future

from ticketsync.service.store.entries import Appended, NewEntry
from ticketsync.service.store.log import EventLog

logger = logging.getLogger(__name__)

_STOP = object()


class Ingestor:
    """Appends entries to the log from one writer thread, in batches of up to `max_batch`."""

    def __init__(
        self, log: EventLog, *, max_batch: int = 256, on_commit: Callable[[], None] | None = None
    ):
        self.log = log
        self.max_batch = max_batch
        self.on_commit = on_commit
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Finish every entry already handed in, then stop the writer."""
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join()
            self._thread = None

    async def append(self, entry: NewEntry) -> Appended:
        """Append one entry; returns once its transaction has committed.

        Raises StoreUnavailable when the database could not be reached.
        """
        future: Future[Appended] = Future()
        self._queue.put((entry, future))
        return await asyncio.wrap_future(future)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            item = self._queue.get()
            if item is _STOP:
                break
            batch = [item]
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True
                    break
                batch.append(item)
            self._write(batch)  # type: ignore[arg-type]

    def _write(self, batch: list[tuple[NewEntry, Future[Appended]]]) -> None:
        try:
            outcomes = self.log.append([entry for entry, _ in batch])
        except Exception as error:
            # The writer must outlive any one failed batch: every waiting handler gets
            # the error (and answers 503), and the next batch tries again.
            logger.warning(
                "ingest.batch_failed", extra={"entries": len(batch), "error": str(error)}
            )
            for _, future in batch:
                future.set_exception(error)
            return
        if self.on_commit is not None:
            self.on_commit()
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            future.set_result(outcome)
