"""The alert projection: reads the outbox's outcomes from the log and queues alert calls.

Each step reads the next page of the log, folds the attempts' outcomes into the open
incidents with `projections.alerts.decide_alerts`, asks `decide_overdue` about failing
runs that no new attempt has judged yet, and writes in one transaction: the incidents, the
alert calls, a log entry per alert (`alert.queued`, caused by the outcome that decided
it) and its position. Under the projection's lock, so with any number of workers each
alert is queued once. The alerts go out through the outbox as calls of their own, in a
lane apart from every conversation's calls, so a channel that is down holds up no ticket.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

import orjson

from ticketsync.events.commands import CHAT_KINDS, COMMAND_KINDS, SendAlert
from ticketsync.projections.alerts import (
    OUTCOME_ENTRIES,
    AlertPolicy,
    AlertState,
    CallOutcome,
    decide_alerts,
    decide_overdue,
)
from ticketsync.service.store import codec
from ticketsync.service.store.calls import Call, new_call
from ticketsync.service.store.entries import LogEntry, NewEntry
from ticketsync.service.store.tables import Store

logger = logging.getLogger(__name__)

NAME = "alerts"
PAGE = 500
# The outbox lane of every alert call: not a conversation, so no conversation's calls
# wait behind an alert, and the alerts go out in the order they were decided.
ALERT_LANE = "ticketsync:alerts"


def system_of(kind: str, data: dict[str, object], help_desk: str) -> str:
    """Which system a call went to: entries written before they named it are read by kind."""
    system = data.get("system")
    if isinstance(system, str):
        return system
    return "chat" if kind in CHAT_KINDS else help_desk


def call_outcome(entry: LogEntry, help_desk: str) -> CallOutcome | None:
    """The attempt's outcome an outbox entry records, or None for any other entry."""
    outcome = OUTCOME_ENTRIES.get(entry.type)
    if outcome is None or entry.source != "ticketsync" or entry.data is None:
        return None
    data = orjson.loads(entry.data)
    kind = data.get("kind")
    call_id = data.get("call_id")
    if not isinstance(kind, str) or not isinstance(call_id, str):
        return None
    error = data.get("error")
    attempt = data.get("attempt")
    return CallOutcome(
        call_id=call_id,
        kind=kind,
        system=system_of(kind, data, help_desk),
        conversation_id=entry.conversation_id,
        outcome=outcome,
        error=error if isinstance(error, str) else None,
        at=entry.occurred_at.timestamp(),
        attempt=attempt if isinstance(attempt, int) else 0,
        # Entries written before they named it: a failure counts as the system's trouble.
        transient=data.get("refusal", "transient") == "transient",
    )


def alert_call_id(alert: SendAlert) -> str:
    """Deterministic: an incident has one alert and one recovery."""
    return f"alert:{alert.incident}:{'recovered' if alert.recovered else 'raised'}"


class AlertProjector:
    """Queues the alerts the outbox's outcomes ask for, one page per transaction."""

    def __init__(
        self,
        store: Store,
        policy: AlertPolicy,
        clock: Callable[[], float],
        *,
        help_desk: str,
        name: str = NAME,
    ):
        self.store = store
        self.policy = policy
        self.clock = clock
        self.help_desk = help_desk
        self.name = name
        self.queued = 0  # alerts the last step queued (once it committed)
        self._has_position = False

    def run_once(self, limit: int = PAGE) -> int:
        """Read the next page and judge the clock; returns entries read (or 1 if only alerts)."""
        self.queued = 0
        with self.store.transaction(durable=False) as tx:
            if not self._has_position:
                tx.start_at_head(self.name)
            tx.lock_projection(self.name)
            position = tx.position(self.name)
            entries = tx.read(position, limit)
            text = tx.alert_state(self.name)
            before = codec.loads(AlertState, text) if text else AlertState()
            state = before
            decided: list[tuple[SendAlert, LogEntry | None]] = []
            for entry in entries:
                outcome = call_outcome(entry, self.help_desk)
                if outcome is None:
                    continue
                state, alerts = decide_alerts(state, outcome, self.policy)
                decided.extend((alert, entry) for alert in alerts)
            if len(entries) < limit:
                # Caught up with the log: what is overdue now is judged against the clock.
                state, alerts = decide_overdue(state, self.clock(), self.policy)
                decided.extend((alert, None) for alert in alerts)
            if entries:
                tx.move(self.name, position, entries[-1].position)
            if state != before:
                tx.put_alert_state(self.name, codec.dumps(state))
            if decided:
                calls, queued = self._queue(decided)
                tx.add_calls(calls)
                tx.append(queued)
        self._has_position = True
        self.queued = len(decided)
        for alert, _ in decided:
            logger.info(
                "alert.queued",
                extra={
                    "incident": alert.incident,
                    "recovered": alert.recovered,
                    "system": alert.system,
                    "conversation_id": alert.conversation_id,
                },
            )
        return len(entries) or (1 if decided else 0)

    def _queue(
        self, decided: list[tuple[SendAlert, LogEntry | None]]
    ) -> tuple[list[Call], list[NewEntry]]:
        now = self.clock()
        at = datetime.fromtimestamp(now, UTC)
        calls = []
        entries = []
        for alert, cause in decided:
            identifier = alert_call_id(alert)
            queued = NewEntry(
                source="ticketsync",
                delivery_id=f"{identifier}.queued",
                type="alert.queued",
                occurred_at=at,
                recorded_at=at,
                # The conversation's audit trail shows that an admin was told.
                conversation_id=alert.conversation_id,
                caused_by=cause.key if cause else None,
                data=codec.dumps(
                    {
                        "call_id": identifier,
                        "kind": COMMAND_KINDS[SendAlert],
                        "incident": alert.incident,
                        "recovered": alert.recovered,
                        "system": alert.system,
                    }
                ),
            )
            entries.append(queued)
            calls.append(
                new_call(
                    call_id=identifier,
                    conversation_id=ALERT_LANE,
                    kind=COMMAND_KINDS[SendAlert],
                    command=codec.dumps(alert),
                    now=now,
                    queued_key=queued.key,
                    # Not a conversation's decision: a rebuild's check of the calls its
                    # decisions name passes over it.
                    cause_position=0,
                )
            )
        return calls, entries
