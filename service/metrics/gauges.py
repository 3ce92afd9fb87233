"""The gauges that describe the whole service, read from the database when scraped.

The log's position, each projection's position and lag, the outbox by state and the age
of its oldest pending call, and each projection's running or last rebuild are facts of
the database, not of a process: read there at scrape time, every process scraped (`serve`,
`serve --no-workers`, a `worker`'s listener) tells the same truth for all of them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ticketsync.events.errors import StoreUnavailable
from ticketsync.service.store.log import EventLog
from ticketsync.service.store.tables import Store

logger = logging.getLogger(__name__)

# The rebuild states of workers/rebuild.py's Progress, each a series of its own.
REBUILD_STATES = ("running", "done", "failed", "cancelled")


class StoreCollector(Collector):
    """Reads the gauges from the store each time it is collected; `store_up` 0 when it cannot."""

    def __init__(
        self,
        log: EventLog,
        store: Store,
        projections: tuple[str, ...],
        clock: Callable[[], float],
    ):
        self.log = log
        self.store = store
        # Projections that have not stored a position yet still show, at 0.
        self.projections = projections
        self.clock = clock

    def describe(self) -> list[Metric]:
        # Nothing read at registration: the database may not be up yet.
        return []

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "ticketsync_store_up", "1 when the database answered this scrape, else 0."
        )
        try:
            read = self._read()
        except StoreUnavailable as error:
            logger.warning("metrics.store_unavailable", extra={"error": str(error)})
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from read

    def _read(self) -> list[Metric]:
        position = self.log.position()
        positions = dict.fromkeys(self.projections, 0) | self.store.projection_positions()
        by_state, oldest = self.store.outbox_summary()
        rebuilds = self.store.rebuild_progress()
        now = self.clock()

        head = GaugeMetricFamily(
            "ticketsync_log_position", "Position of the newest entry in the event log."
        )
        head.add_metric([], position)
        at = GaugeMetricFamily(
            "ticketsync_projection_position",
            "Log position up to which a projection has applied the log.",
            labels=["projection"],
        )
        lag = GaugeMetricFamily(
            "ticketsync_projection_lag_entries",
            "Log entries a projection has still to apply.",
            labels=["projection"],
        )
        for name, applied in sorted(positions.items()):
            at.add_metric([name], applied)
            lag.add_metric([name], max(0, position - applied))
        calls = GaugeMetricFamily(
            "ticketsync_outbox_calls",
            "Outgoing calls in the outbox, by state (pending, parked, done).",
            labels=["state"],
        )
        for state, count in sorted(by_state.items()):
            calls.add_metric([state], count)
        age = GaugeMetricFamily(
            "ticketsync_outbox_oldest_pending_age_seconds",
            "Seconds since the oldest pending call was decided; 0 when none is pending.",
        )
        age.add_metric([], 0 if oldest is None else max(0.0, now - oldest))
        read = GaugeMetricFamily(
            "ticketsync_rebuild_events_read",
            "Log entries the running or last rebuild of a projection has read.",
            labels=["projection"],
        )
        done = GaugeMetricFamily(
            "ticketsync_rebuild_position",
            "Log position the running or last rebuild of a projection has reached.",
            labels=["projection"],
        )
        target = GaugeMetricFamily(
            "ticketsync_rebuild_target_position",
            "Log position the running or last rebuild of a projection reads up to "
            "(position / target = its progress).",
            labels=["projection"],
        )
        state = GaugeMetricFamily(
            "ticketsync_rebuild_state",
            "1 for the state the running or last rebuild of a projection is in, else 0.",
            labels=["projection", "state"],
        )
        for row in rebuilds:
            name = row["projection"]
            read.add_metric([name], row["events_read"])
            done.add_metric([name], row["position"])
            target.add_metric([name], row["head"])
            for each in REBUILD_STATES:
                state.add_metric([name, each], 1 if row["state"] == each else 0)
        return [head, at, lag, calls, age, read, done, target, state]
