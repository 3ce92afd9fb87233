"""The webhook targets' counts and ingest times: plain numbers on the event loop, a
prometheus-client collector when scraped.

Every delivery passes here, on the event loop's one thread, which alone writes these
numbers; so they take no lock (prometheus-client's own counters take one on every
increment, and in multiprocess mode write a file as well). A scrape, from another thread,
reads copies and hands prometheus-client metric families. One process's webhooks are
counted by that process: `serve`'s scrape answers them, and each `serve --no-workers` is
scraped for its own.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

# Ingest is a few milliseconds; a slow disk or a group commit under load, tens to hundreds.
INGEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class WebhookMetrics(Collector):
    """Deliveries by source, outcome and reason, and the ingest time of accepted ones."""

    def __init__(self, buckets: tuple[float, ...] = INGEST_BUCKETS):
        self.buckets = buckets
        self._counts: dict[tuple[str, str, str], int] = {}
        # Per source: a count per bucket (the last is +Inf), then the sum of the seconds.
        self._times: dict[str, list[float]] = {}

    def count(self, source: str, outcome: str, reason: str = "") -> None:
        """One delivery answered: accepted, duplicate, refused or failed (with the error code)."""
        key = (source, outcome, reason)
        self._counts[key] = self._counts.get(key, 0) + 1

    def ingested(self, source: str, seconds: float) -> None:
        """One accepted delivery took `seconds` from its request headers to its 202."""
        times = self._times.get(source)
        if times is None:
            times = self._times[source] = [0.0] * (len(self.buckets) + 2)
        # A bound is inclusive (`le`): bisect_left finds the first bound >= seconds.
        times[bisect_left(self.buckets, seconds)] += 1
        times[-1] += seconds

    def collect(self) -> Iterator[Metric]:
        # Copies, each taken whole while the event loop may be counting: a scrape may miss
        # a delivery still being answered, never half of one in a histogram's buckets.
        counts = dict(self._counts)
        times = {source: list(values) for source, values in list(self._times.items())}
        received = CounterMetricFamily(
            "ticketsync_webhooks_received",
            "Webhook deliveries by source and outcome (accepted, duplicate, refused, failed); "
            "reason is the error code of a refused or failed one.",
            labels=("source", "outcome", "reason"),
        )
        for labels, value in sorted(counts.items()):
            received.add_metric(labels, value)
        yield received
        ingest = HistogramMetricFamily(
            "ticketsync_webhook_ingest_duration_seconds",
            "From a delivery's request headers read to its 202 sent, for accepted deliveries.",
            labels=("source",),
        )
        for source, values in sorted(times.items()):
            cumulative, buckets = 0.0, []
            for bound, count in zip((*self.buckets, float("inf")), values[:-1], strict=True):
                cumulative += count
                buckets.append((floatToGoString(bound), cumulative))
            ingest.add_metric([source], buckets, values[-1])
        yield ingest
