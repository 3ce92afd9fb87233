"""The outbox's counters and histogram, in prometheus-client's default registry.

They are made at import. In `serve`'s worker child prometheus-client keeps them in files
of the directory `serve` named in the child's environment (shared.py), which a scrape of
`serve` sums. Label values come from bounded sets only: systems, operations (the calls'
kinds), outcomes; never a conversation's or a ticket's id. The webhook targets count in
webhook_metrics.py.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from ticketsync.adapters.ports import CallFailed, OutcomeUnknown

# A help desk answers in tens of milliseconds to seconds; the client gives up after its timeout.
REQUEST_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

ATTEMPTS = Counter(
    "ticketsync_outbox_attempts",
    "Outbox attempts by the system called, the operation (the call's kind) and what "
    "became of the call: sent, failed (retried later), parked, recovered.",
    ("system", "operation", "outcome"),
)
REQUESTS = Histogram(
    "ticketsync_outbound_request_duration_seconds",
    "Time an outside system (help desk, chat) took over one outbox attempt.",
    ("system", "operation"),
    buckets=REQUEST_BUCKETS,
)
RESULTS = Counter(
    "ticketsync_outbound_requests",
    "Outbox attempts by system, operation and what the outside system answered: ok, "
    "transient, unknown (no answer), refused, closed, gone, error (a fault of ours).",
    ("system", "operation", "outcome"),
)


def request_outcome(error: BaseException | None) -> str:
    """What an outside system answered, in the bounded words of RESULTS."""
    if error is None:
        return "ok"
    if isinstance(error, OutcomeUnknown):
        return "unknown"
    if isinstance(error, CallFailed):
        return error.refusal
    return "error"


def outbox_attempt(
    system: str, operation: str, seconds: float, error: BaseException | None, outcome: str
) -> None:
    """Record one outbox attempt: the request's time and answer, and what became of the call."""
    REQUESTS.labels(system, operation).observe(seconds)
    RESULTS.labels(system, operation, request_outcome(error)).inc()
    ATTEMPTS.labels(system, operation, outcome).inc()
