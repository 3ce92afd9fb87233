"""The one place that picks real collaborators. Tests call `build` with fakes."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from service.config import Settings
from service.ingest import Ingestor
from service.log import EventLog


@dataclass
class Container:
    """Everything a running service holds: settings, the log, and the workers around it."""

    settings: Settings
    log: EventLog
    ingestor: Ingestor
    clock: Callable[[], float]

    def start(self) -> None:
        self.ingestor.start()

    def stop(self) -> None:
        self.ingestor.stop()

    def close(self) -> None:
        self.stop()
        self.log.close()


def build(settings: Settings, *, clock: Callable[[], float] | None = None) -> Container:
    """Open the log and wire the service. Raises StoreUnavailable when the database is down."""
    log = EventLog(settings.database)
    return Container(settings=settings, log=log, ingestor=Ingestor(log), clock=clock or time.time)
