"""Waking workers in another process, and stopping with the process that started them.

`serve` runs its workers in a child process and keeps one pipe to it. Each byte the HTTP
process writes says "the log moved" (a webhook committed, an agent acted, a call was made
due), so the child's workers start at once rather than at their next poll; end of file says
`serve` is gone, whatever ended it (SIGKILL included: the kernel closes its end), and the
child stops. Workers in processes of their own (`ticketsync worker`) on PostgreSQL hear
every append to the log through LISTEN on the channel the event store notifies.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)


class PipeWaker:
    """The writing end: `poke` never blocks and never fails the caller."""

    def __init__(self, fd: int):
        self.fd = fd
        os.set_blocking(fd, False)

    def poke(self) -> None:
        try:
            os.write(self.fd, b"w")
        except BlockingIOError:
            pass  # the pipe is full of wake-ups the child has yet to read: it is awake
        except OSError:
            pass  # the child is gone; `serve` notices that on its own

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)


def watch_parent(fd: int, wake: Callable[[], None], gone: Callable[[], None]) -> threading.Thread:
    """Read the pipe from `serve` in a thread: `wake` for each batch of bytes, `gone` once
    at end of file."""

    def run() -> None:
        while True:
            try:
                chunk = os.read(fd, 4096)
            except InterruptedError:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                logger.info("worker.parent_gone")
                gone()
                return
            wake()

    thread = threading.Thread(target=run, name="parent-watch", daemon=True)
    thread.start()
    return thread


def listen(
    connect: Callable[[], object], channel: str, wake: Callable[[], None]
) -> threading.Thread:
    """LISTEN on a PostgreSQL channel in a thread; `wake` on each notification. A lost
    connection is opened again after a pause; meanwhile the workers' own polls go on."""

    def run() -> None:
        import psycopg
        from psycopg import sql

        while True:
            try:
                with connect() as conn:  # type: ignore[attr-defined]
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                    logger.info("worker.listening", extra={"channel": channel})
                    for _ in conn.notifies():
                        wake()
            except psycopg.Error as error:
                logger.warning("worker.listen_failed", extra={"error": str(error)})
            threading.Event().wait(1.0)

    thread = threading.Thread(target=run, name="log-listener", daemon=True)
    thread.start()
    return thread
