"""The outbox dispatcher: sends each decided call until it succeeds, or parks it.

Each attempt's outcome is written in one transaction with the call's new state, as a log
entry caused by the entry that queued the call: `call.sent` (or `ticket.created` for a
create), `call.failed` with the next attempt's time, `call.parked`. Retries wait an
exponential backoff with full jitter, or exactly what Retry-After says on 429 and 503.

A help desk's refusal is decided by `projections.refusals.decide_refusal`: a ticket closed
or deleted behind ticketsync's back is recorded (`call.refused`, then `ticket.found_closed`
or `ticket.found_gone`, caused by it), and the projection carries what the call held to
the conversation's next ticket; only a refusal that a person must look at parks the call.

Nothing creates a ticket twice: creates carry an idempotency key derived from the
conversation and the ticket's number, and once an attempt's outcome is unknown (a timeout
after sending), the help desk is asked for the ticket by external id before sending again.
A comment whose outcome is unknown is likewise looked for before it is sent again.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from ticketsync.adapters.ports import (
    AdminAlerts,
    CallFailed,
    ChatReplies,
    HelpDesk,
    OutcomeUnknown,
    Permanent,
    Retryable,
    TicketReader,
)
from ticketsync.events.commands import (
    CHAT_KINDS,
    COMMAND_TYPES,
    AddComment,
    ChangeTicket,
    CreateTicket,
    ReadTicket,
    SendAlert,
    SendReply,
    TellControlChanged,
    TellStatusChanged,
    TellTicketCreated,
)
from ticketsync.events.errors import Refused, StoreUnavailable, TicketsyncError
from ticketsync.events.outcomes import (
    TicketCreated,
    TicketFoundClosed,
    TicketFoundGone,
    TicketRead,
)
from ticketsync.events.registry import EVENT_NAMES
from ticketsync.events.tickets import TicketRef, TicketSnapshot
from ticketsync.projections.refusals import NEXT, Recovery, decide_refusal
from ticketsync.service.metrics import instruments
from ticketsync.service.store import codec
from ticketsync.service.store.calls import Call
from ticketsync.service.store.entries import NewEntry
from ticketsync.service.store.tables import Store
from ticketsync.service.workers.batching import Batched

logger = logging.getLogger(__name__)


class ClaimLost(TicketsyncError):
    """An attempt's outcome was not written: the call is no longer held by the claim it was
    sent under (the lease ran out and another dispatcher claimed it, or it left `pending`)."""


class NotParked(Refused):
    """A retry of a call that is not parked: `already_done`, or `not_parked` for a pending
    one (waiting for its next attempt, or being sent); `call` is the call as it is."""

    def __init__(self, call: Call):
        if call.state == "done":
            code, detail = "already_done", f"call {call.call_id!r} has succeeded already"
        else:
            code = "not_parked"
            detail = (
                f"call {call.call_id!r} is {call.state}, not parked: it waits for its next "
                "attempt or is being sent, and only a parked call is retried"
            )
        super().__init__(code, detail, facts={"state": call.state})
        self.call = call


class _Lost(Exception):
    """Rolls back a batch of outcomes in which some calls' claims were found lost."""

    def __init__(self, call_ids: set[str]):
        super().__init__(", ".join(sorted(call_ids)))
        self.call_ids = call_ids


@dataclass(frozen=True)
class Outcome:
    """What one attempt changed: the call's new state, and the log entries that tell it."""

    call: Call
    entries: tuple[NewEntry, ...]


def idempotency_key(command: CreateTicket) -> str:
    """The same ticket-to-create always sends the same key (at most 255 characters)."""
    key = f"ticketsync:{command.conversation_id}:{command.number}"
    if len(key) > 255:
        digest = hashlib.sha256(command.conversation_id.encode()).hexdigest()
        key = f"ticketsync:{digest}:{command.number}"
    return key


# How many calls one round claims at most.
ROUND = 256
# How many of one conversation's calls a round claims: they go out one after another, so a
# longer chain would only hold the conversation's later calls from another process longer.
MAX_CHAIN = 16


class Backoff:
    """Exponential backoff with full jitter: a random delay in [0, min(cap, base * 2^(n-1)))."""

    def __init__(self, base: float, cap: float, rng: random.Random | None = None):
        self.base = base
        self.cap = cap
        self.rng = rng or random.Random()

    def delay(self, attempt: int) -> float:
        return self.rng.uniform(0, min(self.cap, self.base * 2 ** min(attempt - 1, 62)))


# What became of a call after an attempt, as the metrics name it (docs/operations.md).
ATTEMPT_OUTCOMES = {"done": "sent", "refused": "recovered"}


class Dispatcher:
    """Sends due outbox calls through the help desk, one conversation's calls in order."""

    def __init__(
        self,
        store: Store,
        help_desk: HelpDesk,
        *,
        backoff: Backoff,
        max_attempts: int,
        max_age: float | None = None,
        clock: Callable[[], float],
        concurrency: int = 8,
        lease: float = 60.0,
        chat_replies: ChatReplies | None = None,
        closed_reopens: bool = False,
        alerts: AdminAlerts | None = None,
    ):
        self.store = store
        self.alerts = alerts
        self.closed_reopens = closed_reopens
        self.help_desk = help_desk
        self.chat_replies = chat_replies
        self.backoff = backoff
        self.max_attempts = max_attempts
        self.max_age = max_age
        self.clock = clock
        self.lease = lease
        self.on_done: Callable[[], None] | None = None
        self.concurrency = concurrency
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="outbox-call")
        self._record_batch: Batched[Outcome, None] = Batched(self._write_outcomes)
        self._lock = threading.Lock()
        self._in_flight: set[str] = set()

    def run_once(self, limit: int = ROUND, *, wait: bool = True) -> int:
        """Claim due calls (up to `limit`) and attempt them; returns how many were claimed.

        Each conversation's due calls are claimed together, oldest first, and sent one
        after another in the order they were decided; calls of different conversations go
        out side by side. A conversation with calls in flight is passed over. With `wait`,
        returns once they are done; without, `on_done` is called as each conversation's
        calls finish.
        """
        now = self.clock()
        chains = self._claim_due(now, limit)
        causes = self._causes([call for chain in chains.values() for call in chain])
        futures = [
            self._pool.submit(self._attempt_chain, chain, now, causes) for chain in chains.values()
        ]
        if wait:
            for future in futures:
                future.result()
        return sum(len(chain) for chain in chains.values())

    def _claim_due(self, now: float, limit: int) -> dict[str, list[Call]]:
        """Claim due calls for a lease, each conversation's as a chain in order.

        PostgreSQL: the claiming transaction locks the due rows it takes and passes over
        those another dispatcher is claiming (SKIP LOCKED), so dispatchers in several
        processes share the due calls instead of racing for the same ones. SQLite, which
        has one writer: the due calls are read first, and the claim is a compare-and-set.
        """
        postgres = self.store.postgres
        read = [] if postgres else self.store.due_calls(now, limit, per_conversation=MAX_CHAIN)
        if not postgres and not read:
            return {}  # no write lock taken for nothing: webhooks commit under it
        mine: set[str] = set()
        chains: dict[str, list[Call]] = {}
        try:
            with self.store.transaction() as tx:
                due = tx.lock_due_calls(now, limit, MAX_CHAIN) if postgres else read
                with self._lock:
                    due = [call for call in due if call.conversation_id not in self._in_flight]
                    mine = {call.conversation_id for call in due}
                    self._in_flight.update(mine)
                claimed = self._claim(tx, due, now) if due else {}
            chains = claimed  # only once the claims are committed
        finally:
            with self._lock:
                self._in_flight.difference_update(mine - chains.keys())
        return chains

    def _claim(self, tx: Any, due: list[Call], now: float) -> dict[str, list[Call]]:
        """Claim each conversation's calls in order, up to the first one another dispatcher holds."""
        chains: dict[str, list[Call]] = {}
        stopped: set[str] = set()
        unused: list[Call] = []
        for call, taken in zip(due, tx.claim_all(due, now + self.lease), strict=True):
            if call.conversation_id in stopped:
                if taken:
                    unused.append(call)  # behind one another dispatcher holds: not ours
                continue
            chain = chains.setdefault(call.conversation_id, [])
            if taken:
                chain.append(call)
            else:
                stopped.add(call.conversation_id)
        tx.release(unused)
        return {cid: chain for cid, chain in chains.items() if chain}

    def _causes(self, calls: list[Call]) -> dict[int, str]:
        """The log key of the entry that caused each call, by position: for the attempt lines,
        which name the delivery a call came from, so one grep follows it across processes."""
        if not calls:
            return {}
        try:
            return self.store.log.keys_at(call.cause_position for call in calls)
        except StoreUnavailable:  # a line short of one id is no reason to hold the calls back
            logger.warning("outbox.causes_unread", exc_info=True)
            return {}

    def _attempt_chain(
        self, chain: list[Call], claimed_at: float, causes: dict[int, str] | None = None
    ) -> None:
        try:
            for index, call in enumerate(chain):
                if index and self.clock() - claimed_at > self.lease / 4 and not self._renew(call):
                    # Its claim ran out and another dispatcher holds it now: it sends it.
                    with self.store.transaction() as tx:
                        tx.release(chain[index + 1 :])
                    break
                # A claim that never recorded an outcome died mid-call: it may have been applied.
                sent = self.attempt(
                    replace(
                        call,
                        claims=call.claims + 1,
                        uncertain=call.uncertain or call.claims > call.attempts,
                    ),
                    cause=(causes or {}).get(call.cause_position),
                )
                if not sent:
                    # The rest wait for this one's retry; they are free for the next round.
                    with self.store.transaction() as tx:
                        tx.release(chain[index + 1 :])
                    break
        finally:
            with self._lock:
                self._in_flight.discard(chain[0].conversation_id)
            if self.on_done is not None:
                self.on_done()

    def _renew(self, call: Call) -> bool:
        """Claim `call` for a whole lease from now, if it is still this dispatcher's.

        A chain's calls were all claimed when the round began; one that waited behind slow
        calls gets a fresh lease before it is sent, so no call is ever sent on a claim that
        may have run out. A dispatcher that dies mid-chain holds the rest for one lease.
        """
        with self.store.transaction() as tx:
            return tx.renew(call, self.clock() + self.lease)

    def attempt(self, call: Call, *, cause: str | None = None) -> bool:
        """Send one call and store the outcome; returns whether it was sent and its outcome
        written.

        `cause` is the log key of the entry whose decision queued the call, for the log line.
        An outcome found to be written under a lost claim is dropped (ClaimLost): the
        dispatcher that holds the call now decides what became of it, and this one stops.
        """
        try:
            return self._attempt(call, cause)
        except ClaimLost:
            logger.warning(
                "outbox.outcome_dropped",
                extra={"call_id": call.call_id, "kind": call.kind, "claim": call.claims},
            )
            return False

    def _attempt(self, call: Call, cause: str | None) -> bool:
        started = time.perf_counter()
        command = codec.loads(COMMAND_TYPES[call.kind], call.command)
        attempt = call.attempts + 1
        # Timed here, around whichever adapter serves the call, rather than in each adapter.
        failure: Exception | None = None
        try:
            outcome = self._send(call, command)
        except CallFailed as error:
            failure = error
            took = time.perf_counter() - started
            recovery = decide_refusal(error.refusal, command, closed_reopens=self.closed_reopens)
            if recovery == "retry":
                facts = self._retry(
                    call, attempt, error, uncertain=isinstance(error, OutcomeUnknown)
                )
            elif recovery == "park":
                facts = self._park(call, attempt, error)
            else:
                facts = self._recover(call, command, attempt, error, recovery)
        except Exception as error:  # the loop's edge: record the attempt, carry on
            failure = error
            took = time.perf_counter() - started
            logger.exception("outbox.unexpected_error", extra={"call_id": call.call_id})
            facts = self._retry(
                call, attempt, CallFailed(f"{type(error).__name__}: {error}"), uncertain=True
            )
        else:
            took = time.perf_counter() - started
            facts = self._done(call, command, attempt, outcome)
        self._log_attempt(call, command, attempt, facts, cause, started)
        became = ATTEMPT_OUTCOMES.get(str(facts["outcome"]), str(facts["outcome"]))
        instruments.outbox_attempt(self._system(call), call.kind, took, failure, became)
        return failure is None

    def _log_attempt(
        self,
        call: Call,
        command: object,
        attempt: int,
        facts: dict[str, object],
        cause: str | None,
        started: float,
    ) -> None:
        """The attempt's one line: ids and the outcome, never the call's content."""
        source, _, delivery_id = cause.partition(":") if cause else (None, "", None)
        line: dict[str, object] = {
            "call_id": call.call_id,
            "kind": call.kind,
            "system": self._system(call),
            "attempt": attempt,
            **facts,
            # An alert's lane is no conversation: it names the one it is about.
            "conversation_id": command.conversation_id
            if isinstance(command, SendAlert)
            else call.conversation_id,
            "cause_source": source,
            "delivery_id": delivery_id,
            "ms": round((time.perf_counter() - started) * 1000, 2),
        }
        level = logging.WARNING if facts.get("outcome") == "parked" else logging.INFO
        logger.log(level, "outbox.attempt", extra=line)

    def _system(self, call: Call) -> str:
        """The system a call goes to, as the alerts and the log lines name it."""
        if call.kind in CHAT_KINDS:
            return "chat"
        if call.kind == "send_alert":
            return "alerts"
        return self.help_desk.system

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def _send(self, call: Call, command: object) -> TicketRef | TicketSnapshot | None:
        if isinstance(command, CreateTicket):
            if call.uncertain:
                existing = self._created_before(command)
                if existing is not None:
                    logger.info(
                        "outbox.create_found",
                        extra={"call_id": call.call_id, "ticket_id": existing.id},
                    )
                    return existing
            return self.help_desk.create_ticket(
                command.ticket, idempotency_key=idempotency_key(command)
            )
        if isinstance(command, AddComment):
            if call.uncertain and self.help_desk.has_comment(
                command.ticket_id, command.comment.body
            ):
                return None
            self.help_desk.add_comment(command.ticket_id, command.comment)
            return None
        if isinstance(command, ChangeTicket):
            return self.help_desk.change_ticket(command.ticket_id, command.change)
        if isinstance(command, SendAlert):
            if self.alerts is None:
                raise Permanent("no TICKETSYNC_ALERT_WEBHOOK_URL is configured")
            self.alerts.send(command)
            return None
        if isinstance(command, ReadTicket):
            if not isinstance(self.help_desk, TicketReader):
                raise Permanent(f"{self.help_desk.system} tickets cannot be read back")
            # A read changes nothing, so sending it again is always safe.
            return self.help_desk.read_ticket(command.ticket_id, since=command.since)
        if isinstance(
            command, SendReply | TellTicketCreated | TellStatusChanged | TellControlChanged
        ):
            if self.chat_replies is None:
                raise Permanent("no TICKETSYNC_CHAT_REPLY_URL is configured")
            # The receiver deduplicates by webhook-id, so sending again is always safe.
            if isinstance(command, SendReply):
                self.chat_replies.send(command)
            else:
                self.chat_replies.tell(command)
            return None
        raise TypeError(f"unknown command {type(command).__name__}")

    def _created_before(self, command: CreateTicket) -> TicketRef | None:
        """The ticket an earlier attempt may have created: one with our external id we did not know."""
        known = set(command.known_tickets)
        if command.ticket.follow_up_of:
            known.add(command.ticket.follow_up_of)
        candidates = [
            t for t in self.help_desk.find_tickets(command.ticket.external_id) if t.id not in known
        ]
        if command.number > 1:
            # Earlier tickets of this conversation share its external id; ours is the newest.
            # A create decided before earlier tickets were named on it cannot tell them apart
            # unless it follows one up.
            named = bool(command.known_tickets or command.ticket.follow_up_of)
            return candidates[-1] if candidates and named else None
        return candidates[0] if candidates else None

    def _entry(
        self,
        call: Call,
        kind: str,
        data: dict[str, object],
        *,
        ticket: str | None = None,
        suffix: str = "",
        caused_by: str | None = None,
    ) -> NewEntry:
        """A log entry about `call`; `suffix` tells apart entries of one kind (one per attempt)."""
        now = datetime.fromtimestamp(self.clock(), UTC)
        return NewEntry(
            source="ticketsync",
            delivery_id=f"{call.call_id}.{kind}{suffix}",
            type=kind,
            occurred_at=now,
            recorded_at=now,
            conversation_id=call.conversation_id,
            ticket=ticket,
            caused_by=caused_by or call.queued_key,
            data=codec.dumps(
                {"call_id": call.call_id, "kind": call.kind, "system": self._system(call), **data}
            ),
        )

    def _outcome(
        self, call: Call, event: object, extra: dict[str, object], **entry: Any
    ) -> NewEntry:
        """The log entry of an outcome the conversation must learn (events/outcomes.py): the
        event's fields under its name, which the projection reads back as the event."""
        fields = {
            name: getattr(event, name)
            for name in event.__dataclass_fields__  # type: ignore[attr-defined]
            if name != "occurred_at"  # the entry's own time
        }
        return self._entry(call, EVENT_NAMES[type(event)], {**fields, **extra}, **entry)

    def _record(self, call: Call, *entries: NewEntry) -> None:
        """Store an attempt's outcome: the call's new state and its log entries, together.

        Outcomes finished at the same time by different calls share one transaction: on
        PostgreSQL each append holds the log's table lock until it commits, which webhooks
        wait for, so one append per batch rather than per call.
        """
        self._record_batch(Outcome(call, entries))

    def _write_outcomes(self, outcomes: list[Outcome]) -> list[BaseException | None]:
        """Write outcomes together; of each, the exception its caller gets, or None.

        An outcome whose claim was lost is not written, nor are its entries appended (a
        `call.sent` of a call another dispatcher holds would tell the conversation what the
        call does not say); its caller gets ClaimLost.
        """
        try:
            # Pipelined: the calls' updates and the log's lock, notification and insert go
            # to PostgreSQL together, and each call waits for this write before its next one.
            # Which updates found their claim is read after the append is sent, and a lost
            # one (rare) rolls the whole batch back to be written again without it.
            with self.store.transaction(durable=False, pipelined=True) as tx:
                written = tx.update_claimed([outcome.call for outcome in outcomes])
                tx.append([entry for outcome in outcomes for entry in outcome.entries])
                lost = {o.call.call_id for o in outcomes} - written()
                if lost:
                    raise _Lost(lost)
        except _Lost as error:
            kept = [o for o in outcomes if o.call.call_id not in error.call_ids]
            results = iter(self._write_outcomes(kept) if kept else [])
            return [
                ClaimLost(o.call.call_id) if o.call.call_id in error.call_ids else next(results)
                for o in outcomes
            ]
        except Exception as error:
            if len(outcomes) == 1:
                return [error]
            # Whatever failed, it must not cost the other calls their outcomes: one by one.
            return [self._write_outcomes([outcome])[0] for outcome in outcomes]
        return [None] * len(outcomes)

    def _ticket_key(self, ticket_id: str, command: object = None) -> str:
        system = command.system if isinstance(command, SendReply) else self.help_desk.system
        return f"{system}:{ticket_id}"

    def _done(
        self,
        call: Call,
        command: object,
        attempt: int,
        outcome: TicketRef | TicketSnapshot | None,
    ) -> dict[str, object]:
        now = self.clock()
        if isinstance(command, ReadTicket):
            # What the help desk said is recorded as a fact, so a rebuild needs no call.
            read = TicketRead(
                conversation_id=call.conversation_id,
                call_id=call.call_id,
                system=self.help_desk.system,
                ticket_id=command.ticket_id,
                snapshot=outcome if isinstance(outcome, TicketSnapshot) else None,
                awaited=command.awaited,
                occurred_at=datetime.fromtimestamp(now, UTC),
            )
            entry = self._outcome(
                call, read, {"attempt": attempt}, ticket=self._ticket_key(command.ticket_id)
            )
        elif isinstance(command, CreateTicket):
            assert isinstance(outcome, TicketRef)
            created = TicketCreated(
                conversation_id=call.conversation_id,
                call_id=call.call_id,
                ticket=outcome,
                occurred_at=datetime.fromtimestamp(now, UTC),
            )
            entry = self._outcome(
                call, created, {"attempt": attempt}, ticket=self._ticket_key(outcome.id)
            )
        else:
            ticket_id = getattr(command, "ticket_id", None)  # an alert is about no ticket
            entry = self._entry(
                call,
                "call.sent",
                {"attempt": attempt},
                ticket=None if ticket_id is None else self._ticket_key(ticket_id, command),
                suffix=f".{attempt}",
            )
        self._record(
            replace(call, state="done", attempts=attempt, updated_at=now, last_error=None), entry
        )
        return {"outcome": "done"}

    def _retry(
        self, call: Call, attempt: int, error: CallFailed, *, uncertain: bool
    ) -> dict[str, object]:
        now = self.clock()
        too_old = self.max_age is not None and now - call.created_at >= self.max_age
        if attempt >= self.max_attempts or too_old:
            return self._park(call, attempt, error, uncertain=uncertain)
        if isinstance(error, Retryable) and error.retry_after is not None:
            delay = max(0.0, error.retry_after)
        else:
            delay = self.backoff.delay(attempt)
        entry = self._entry(
            call,
            "call.failed",
            {
                "attempt": attempt,
                "error": error.detail,
                "status": error.status,
                "refusal": error.refusal,
                "retry_in": round(delay, 3),
            },
            suffix=f".{attempt}",
        )
        self._record(
            replace(
                call,
                attempts=attempt,
                next_attempt_at=now + delay,
                updated_at=now,
                last_error=error.detail,
                uncertain=call.uncertain or uncertain,
            ),
            entry,
        )
        return {"outcome": "failed", "status": error.status, "retry_in": round(delay, 3)}

    def _park(
        self,
        call: Call,
        attempt: int,
        error: CallFailed,
        *,
        uncertain: bool = False,
    ) -> dict[str, object]:
        now = self.clock()
        entry = self._entry(
            call,
            "call.parked",
            {
                "attempt": attempt,
                "error": error.detail,
                "status": error.status,
                "refusal": error.refusal,
            },
            suffix=f".{attempt}",
        )
        self._record(
            replace(
                call,
                state="parked",
                attempts=attempt,
                updated_at=now,
                last_error=error.detail,
                uncertain=call.uncertain or uncertain,
            ),
            entry,
        )
        return {"outcome": "parked", "status": error.status}

    def _recover(
        self, call: Call, command: object, attempt: int, error: CallFailed, recovery: Recovery
    ) -> dict[str, object]:
        """The ticket was closed or deleted behind our back: end the call, tell the projection.

        The call ends `done` with the help desk's words as its last error; the projection
        reads the fact (caused by the refusal) and carries what the call held on to the
        conversation's next ticket. One transaction, so a crash repeats the whole attempt
        or none of it.
        """
        ticket_id = command.ticket_id  # type: ignore[attr-defined]
        ticket = self._ticket_key(ticket_id)
        refused = self._entry(
            call,
            "call.refused",
            {
                "attempt": attempt,
                "error": error.detail,
                "status": error.status,
                "recovery": recovery,
                "next": NEXT[recovery],
            },
            ticket=ticket,
            suffix=f".{attempt}",
        )
        found_type = TicketFoundGone if recovery == "replace" else TicketFoundClosed
        found_event = found_type(
            conversation_id=call.conversation_id,
            call_id=call.call_id,
            ticket_id=ticket_id,
            item=getattr(command, "item", None),
            occurred_at=datetime.fromtimestamp(self.clock(), UTC),
        )
        found = self._outcome(
            call,
            found_event,
            {},
            ticket=ticket,
            # Per attempt: a call parked by an older release wrote this kind of entry
            # without a suffix, and a retry of it must not collide with that one.
            suffix=f".{attempt}",
            caused_by=refused.key,
        )
        now = self.clock()
        self._record(
            replace(call, state="done", attempts=attempt, updated_at=now, last_error=error.detail),
            refused,
            found,
        )
        return {"outcome": "refused", "status": error.status, "recovery": recovery}

    def retry(self, call_id: str) -> Call | None:
        """Make a parked call due now, with a fresh count of attempts; None if there is no
        such call. Raises NotParked for any other call (docs/behaviour.md, "Limits")."""
        now = self.clock()
        with self.store.transaction() as tx:
            made_due = tx.make_due(call_id, now)
            call = tx.call(call_id)
            if call is None:
                return None
            if not made_due:
                raise NotParked(call)
            entry = self._entry(
                call, "call.retried", {"by": "operator"}, suffix=f".{int(now * 1000)}"
            )
            tx.append([entry])
        return call

    def retry_parked(self, after: int = 0, limit: int = 500) -> tuple[list[Call], int | None]:
        """Make the parked calls of one page (after the cursor `after`, in the outbox's
        order) due now, as `retry` makes one; returns the calls retried and the next page's
        cursor (None at the end).

        Paging on until the end retries every call parked when it began, once, however
        many: one retried and parked again meanwhile is behind the cursor, so the paging
        ends; one parked meanwhile ahead of it is retried too.
        """
        now = self.clock()
        with self.store.transaction() as tx:
            parked, cursor = tx.calls_page("parked", after, limit)
            retried = [call for call in parked if tx.make_due(call.call_id, now)]
            suffix = f".{int(now * 1000)}"
            tx.append(
                [self._entry(c, "call.retried", {"by": "operator"}, suffix=suffix) for c in retried]
            )
        made_due = [
            replace(call, state="pending", attempts=0, next_attempt_at=now, updated_at=now)
            for call in retried
        ]
        return made_due, cursor
