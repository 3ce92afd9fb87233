"""The workers as a process: `ticketsync worker`, and the child `serve` runs beside itself.

The projection runners and the outbox dispatcher share no interpreter lock with the HTTP
process this way. A child of `serve` is told of every commit through a pipe and stops at
its end of file, so it never outlives `serve`, whatever ended it; it writes to the same
stdout and stderr, so its logs come out through `serve`'s.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from typing import Any

from ticketsync.events.errors import ConfigError, StoreUnavailable
from ticketsync.service.config import Settings
from ticketsync.service.workers.wakeups import PipeWaker, listen, watch_parent

logger = logging.getLogger(__name__)

# How long the workers get to finish their steps once told to stop; then the process ends
# regardless (a call cut short is leased, looked up and retried; nothing is lost).
STOP_GRACE = 4.0


def run_workers(settings: Settings, *, watch_fd: int | None = None) -> int:
    """Run the workers until SIGTERM, SIGINT or (with `watch_fd`) the parent's end."""
    from ticketsync.service import bootstrap

    stopping = threading.Event()

    def stop(*_: object) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if watch_fd is not None:
        watched = Watched()
        watch_parent(watch_fd, watched.wake, stopping.set)
    while True:
        try:
            container = bootstrap.build(settings, run_workers=True)
            break
        except StoreUnavailable as error:
            # The database may be down for a while; the workers start once it is back (the
            # HTTP process answers 503 meanwhile). Anything else stops them at once.
            logger.warning("worker.store_unavailable", extra={"error": str(error)})
            if stopping.wait(1.0):
                return 0
    listener = None
    if watch_fd is None and settings.worker_metrics_listen is not None:
        listener = _listen(settings, container)
    container.start()
    heard = container.log.listener()
    if heard is not None:
        connect, channel = heard
        listen(connect, channel, container.wake)
    if watch_fd is not None:
        watched.target = container.wake
    logger.info("worker.started", extra={"pid": os.getpid(), "ticketing": settings.ticketing})
    while not stopping.wait(0.5):
        pass
    # Past the grace, end at once: a process that will not stop must not keep calling.
    deadline = threading.Timer(STOP_GRACE, lambda: os._exit(0))
    deadline.daemon = True
    deadline.start()
    if listener is not None:
        listener.close()
    container.close()
    logger.info("worker.stopped", extra={"pid": os.getpid()})
    return 0


def _listen(settings: Settings, container: Any) -> Any:
    """A lone worker has no HTTP service; this listener answers GET /metrics alone."""
    from ticketsync.service.metrics.exposition import Listener, registry

    assert settings.worker_metrics_listen is not None
    assert settings.admin_token is not None  # the command refuses to start without it
    host, port = settings.worker_metrics_listen
    try:
        return Listener(host, port, registry(container), settings.admin_token)
    except OSError as error:
        container.close()
        raise ConfigError(
            f"TICKETSYNC_WORKER_METRICS_LISTEN: cannot listen on {host}:{port}: "
            f"{error.strerror or error}"
        ) from None


class Watched:
    """Wake-ups that arrive before the container exists go nowhere; the workers' first
    steps read the log anyway."""

    def __init__(self) -> None:
        self.target: Callable[[], None] | None = None

    def wake(self) -> None:
        if self.target is not None:
            self.target()


class WorkerChild:
    """`ticketsync worker` as a child of this process, woken through a pipe."""

    def __init__(
        self,
        *,
        dev: bool,
        on_exit: Callable[[int], None],
        environment: Mapping[str, str] | None = None,
        on_ended: Callable[[int], None] | None = None,
    ):
        read, write = os.pipe()
        command = [sys.executable, "-m", "ticketsync.service.cli.main", "worker"]
        command += ["--watch-fd", str(read)]
        if dev:
            command.append("--dev")
        # This process's environment, handed on whole (the child reads its settings from
        # it), with what `environment` adds for the child alone.
        env = {**os.environ, **environment} if environment else None
        self.process = subprocess.Popen(command, pass_fds=(read,), env=env)  # noqa: S603
        self.on_ended = on_ended
        os.close(read)
        self.waker = PipeWaker(write)
        self._stopping = False
        self._watch = threading.Thread(
            target=self._wait, args=(on_exit,), name="worker-child", daemon=True
        )
        self._watch.start()
        logger.info("serve.workers_started", extra={"pid": self.process.pid})

    def pid(self) -> int | None:
        """The child's process id while it runs, else None."""
        return self.process.pid if self.process.poll() is None else None

    def _wait(self, on_exit: Callable[[int], None]) -> None:
        code = self.process.wait()
        if self.on_ended is not None:
            self.on_ended(self.process.pid)
        if not self._stopping:
            logger.error("serve.workers_exited", extra={"pid": self.process.pid, "code": code})
            on_exit(code)

    def stop(self, timeout: float = 5.0) -> None:
        """Close the pipe (the child stops at its end), and make sure it has."""
        self._stopping = True
        self.waker.close()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
