"""The outbox: the calls decisions asked for, each sent by a dispatcher that claims it.

A call is written in the same transaction as the decision that asked for it, and claimed
for a lease before it is sent, so no two dispatchers (in this process or another) send the
same call at once, and one that died mid-call is seen by a claim count above its attempts.
On PostgreSQL the claiming transaction first locks the due rows it takes (SKIP LOCKED), so
dispatchers claiming at the same moment take different calls; SQLite has one writer, and a
claim there is a compare-and-set on the calls as they were read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ticketsync.service.store.transaction import StoreBase, TxBase, rowcount

OUTBOX = "ticketsync_outbox"


def ddl(postgres: bool) -> list[str]:
    serial = "BIGSERIAL" if postgres else "INTEGER"
    double = "DOUBLE PRECISION" if postgres else "REAL"
    return [
        f"CREATE TABLE IF NOT EXISTS {OUTBOX} (seq {serial} PRIMARY KEY, call_id TEXT NOT NULL UNIQUE, "
        f"conversation_id TEXT NOT NULL, kind TEXT NOT NULL, command TEXT NOT NULL, state TEXT NOT NULL, "
        f"attempts INTEGER NOT NULL, next_attempt_at {double} NOT NULL, created_at {double} NOT NULL, "
        f"updated_at {double} NOT NULL, last_error TEXT, uncertain INTEGER NOT NULL, queued_key TEXT NOT NULL, "
        "claims INTEGER NOT NULL, cause_position BIGINT NOT NULL)",
        f"CREATE INDEX IF NOT EXISTS {OUTBOX}_due ON {OUTBOX} (state, next_attempt_at)",
        f"CREATE INDEX IF NOT EXISTS {OUTBOX}_cause ON {OUTBOX} (cause_position)",
        f"CREATE INDEX IF NOT EXISTS {OUTBOX}_conversation ON {OUTBOX} (conversation_id, state, seq)",
    ]


@dataclass(frozen=True, kw_only=True)
class Call:
    """One row of the outbox."""

    call_id: str
    conversation_id: str
    kind: str
    command: str  # JSON
    state: str  # pending | done | parked
    attempts: int
    next_attempt_at: float
    created_at: float
    updated_at: float
    last_error: str | None
    uncertain: bool  # an attempt's outcome was unknown: look before sending again
    queued_key: str  # log key of the entry that queued it, for caused_by
    claims: int = 0  # times a dispatcher took it; more claims than attempts: one died mid-call
    cause_position: int = 0  # the log entry whose decision queued it


def new_call(
    *,
    call_id: str,
    conversation_id: str,
    kind: str,
    command: str,
    now: float,
    queued_key: str,
    cause_position: int,
) -> Call:
    """A call just decided: pending, due now, never tried."""
    return Call(
        call_id=call_id,
        conversation_id=conversation_id,
        kind=kind,
        command=command,
        state="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
        last_error=None,
        uncertain=False,
        queued_key=queued_key,
        cause_position=cause_position,
    )


_CALL_COLUMNS = (
    "call_id, conversation_id, kind, command, state, attempts, next_attempt_at, "
    "created_at, updated_at, last_error, uncertain, queued_key, claims, cause_position"
)


# Due pending calls, oldest first, none behind a pending call of its conversation that is
# not due (claimed, or waiting for a retry): a conversation's calls go out in order.
_DUE = (
    f"SELECT o.seq, {', '.join('o.' + c for c in _CALL_COLUMNS.split(', '))} FROM {OUTBOX} o "
    "WHERE o.state = 'pending' AND o.next_attempt_at <= ? AND NOT EXISTS (SELECT 1 FROM "
    f"{OUTBOX} p WHERE p.conversation_id = o.conversation_id AND p.state = 'pending' "
    "AND p.seq < o.seq AND p.next_attempt_at > ?) ORDER BY o.seq LIMIT ?"
)


def _at_most(calls: Sequence[Call], per_conversation: int) -> list[Call]:
    """The first `per_conversation` of each conversation's calls, in the order given."""
    taken: dict[str, int] = {}
    kept = []
    for call in calls:
        taken[call.conversation_id] = taken.get(call.conversation_id, 0) + 1
        if taken[call.conversation_id] <= per_conversation:
            kept.append(call)
    return kept


def _call(row: Any) -> Call:
    return Call(
        call_id=row["call_id"],
        conversation_id=row["conversation_id"],
        kind=row["kind"],
        command=row["command"],
        state=row["state"],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        last_error=row["last_error"],
        uncertain=bool(row["uncertain"]),
        queued_key=row["queued_key"],
        claims=row["claims"],
        cause_position=row["cause_position"],
    )


class CallStatements(TxBase):
    def add_calls(self, calls: Sequence[Call]) -> None:
        self.cursor.executemany(
            self.store.sql(
                f"INSERT INTO {OUTBOX} ({_CALL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            ),
            [
                (
                    c.call_id,
                    c.conversation_id,
                    c.kind,
                    c.command,
                    c.state,
                    c.attempts,
                    c.next_attempt_at,
                    c.created_at,
                    c.updated_at,
                    c.last_error,
                    int(c.uncertain),
                    c.queued_key,
                    c.claims,
                    c.cause_position,
                )
                for c in calls
            ],
        )

    def update_claimed(self, calls: Sequence[Call]) -> Callable[[], set[str]]:
        """Write each call's new state if the claim it was sent under is still the call's;
        returns a function that answers the ids of the calls written.

        A claim is the call's claim count as the claim left it (`Call.claims` of the call
        attempted). Once another dispatcher has claimed the call (this one's lease ran out)
        or the call has left `pending`, the count or the state no longer match and the row
        is left as it is: only the dispatcher holding the call decides what became of it.
        PostgreSQL: one statement for them all, on a cursor of its own, whose answer is read
        when asked; statements queued after it in a pipeline go out with it.
        """
        if not calls:
            return set
        if not self.store.postgres:
            written = set()
            for call in calls:
                cursor = self.execute(
                    f"UPDATE {OUTBOX} SET state = ?, attempts = ?, next_attempt_at = ?, "
                    "updated_at = ?, last_error = ?, uncertain = ? "
                    "WHERE call_id = ? AND state = 'pending' AND claims = ?",
                    (
                        call.state,
                        call.attempts,
                        call.next_attempt_at,
                        call.updated_at,
                        call.last_error,
                        int(call.uncertain),
                        call.call_id,
                        call.claims,
                    ),
                )
                if rowcount(cursor) == 1:
                    written.add(call.call_id)
            return lambda: written
        own = self.cursor.connection.cursor()
        own.execute(
            self.store.sql(
                f"UPDATE {OUTBOX} AS o SET state = c.state, attempts = c.attempts, "
                "next_attempt_at = c.next_attempt_at, updated_at = c.updated_at, "
                "last_error = c.last_error, uncertain = c.uncertain "
                "FROM unnest(?::text[], ?::text[], ?::integer[], ?::double precision[], "
                "?::double precision[], ?::text[], ?::integer[], ?::integer[]) "
                "AS c(call_id, state, attempts, next_attempt_at, updated_at, last_error, "
                "uncertain, claims) "
                "WHERE o.call_id = c.call_id AND o.state = 'pending' AND o.claims = c.claims "
                "RETURNING o.call_id"
            ),
            (
                [call.call_id for call in calls],
                [call.state for call in calls],
                [call.attempts for call in calls],
                [call.next_attempt_at for call in calls],
                [call.updated_at for call in calls],
                [call.last_error for call in calls],
                [int(call.uncertain) for call in calls],
                [call.claims for call in calls],
            ),
        )

        def written_on_postgres() -> set[str]:
            with own:
                return {row["call_id"] for row in own.fetchall()}

        return written_on_postgres

    def make_due(self, call_id: str, now: float) -> bool:
        """Make a parked call due now, with a fresh count of attempts; False if there is no
        such call or it is not parked.

        A compare-and-set on the state: of two retries at once (a double click), one finds
        the call pending. A pending call may be in flight, and making it due would let a
        second dispatcher send it again.
        """
        cursor = self.execute(
            f"UPDATE {OUTBOX} SET state = 'pending', attempts = 0, next_attempt_at = ?, "
            "updated_at = ? WHERE call_id = ? AND state = 'parked'",
            (now, now, call_id),
        )
        return rowcount(cursor) == 1

    def lock_due_calls(self, now: float, limit: int, per_conversation: int = 1) -> list[Call]:
        """PostgreSQL: the due calls `Calls.due_calls` reads, each locked until this
        transaction ends, passing over rows another transaction has locked (SKIP LOCKED).

        Two dispatchers claiming at once so take different calls instead of both reading
        the same ones and one of them waiting on the other's claim, only to find it taken.
        A conversation's calls are kept from its oldest pending one on, up to the first one
        passed over: that one is another dispatcher's, and the ones after it wait for it.
        Locked rows that are not claimed are left as they were when the transaction ends.
        """
        rows = self.rows(_DUE + " FOR UPDATE OF o SKIP LOCKED", (now, now, limit))
        if not rows:
            return []
        locked = [_call(row) for row in rows]
        # A plain read sees the rows passed over too: each conversation's pending calls in
        # order, to cut its locked ones at the first gap.
        pending = self.rows(
            f"SELECT conversation_id, call_id FROM {OUTBOX} WHERE state = 'pending' "
            "AND conversation_id = ANY(?) AND seq <= ? ORDER BY seq",
            (list({call.conversation_id for call in locked}), max(row["seq"] for row in rows)),
        )
        order: dict[str, list[str]] = {}
        for row in pending:
            order.setdefault(row["conversation_id"], []).append(row["call_id"])
        kept: list[Call] = []
        ours: dict[str, int] = {}  # how many of each conversation's oldest calls are ours
        cut: set[str] = set()
        for call in locked:
            cid = call.conversation_id
            index = ours.get(cid, 0)
            ids = order.get(cid, [])
            if cid in cut or index >= len(ids) or ids[index] != call.call_id:
                cut.add(cid)
                continue
            ours[cid] = index + 1
            kept.append(call)
        return _at_most(kept, per_conversation)

    def claim(self, call: Call, until: float) -> bool:
        """Take a due call for this dispatcher until `until`; False if another took it first.

        The claim moves the call's due time past the lease, so no other dispatcher (in this
        process or another) sends it meanwhile; should this one die mid-call, the call comes
        due again when the lease ends, with one more claim than attempts.
        """
        cursor = self.execute(
            f"UPDATE {OUTBOX} SET next_attempt_at = ?, claims = claims + 1 "
            "WHERE call_id = ? AND state = 'pending' AND next_attempt_at = ? AND claims = ?",
            (until, call.call_id, call.next_attempt_at, call.claims),
        )
        return rowcount(cursor) == 1

    def claim_all(self, calls: Sequence[Call], until: float) -> list[bool]:
        """`claim` each of `calls`, in order; whether each was taken.

        PostgreSQL: one statement for them all, the calls' keys as arrays, answering with the
        calls it took, instead of a statement per call.
        """
        if not self.store.postgres or not calls:
            return [self.claim(call, until) for call in calls]
        rows = self.rows(
            f"UPDATE {OUTBOX} AS o SET next_attempt_at = ?, claims = o.claims + 1 "
            "FROM unnest(?::text[], ?::double precision[], ?::integer[]) "
            "AS c(call_id, next_attempt_at, claims) "
            "WHERE o.call_id = c.call_id AND o.state = 'pending' "
            "AND o.next_attempt_at = c.next_attempt_at AND o.claims = c.claims "
            "RETURNING o.call_id",
            (
                until,
                [call.call_id for call in calls],
                [call.next_attempt_at for call in calls],
                [call.claims for call in calls],
            ),
        )
        taken = {row["call_id"] for row in rows}
        return [call.call_id in taken for call in calls]

    def renew(self, call: Call, until: float) -> bool:
        """Move the due time of a call claimed by `claim` to `until`; False if it is no
        longer held by that claim (another dispatcher claimed it after it ran out)."""
        cursor = self.execute(
            f"UPDATE {OUTBOX} SET next_attempt_at = ? "
            "WHERE call_id = ? AND state = 'pending' AND claims = ?",
            (until, call.call_id, call.claims + 1),
        )
        return rowcount(cursor) == 1

    def release(self, calls: Sequence[Call]) -> None:
        """Give back claims taken by `claim` that were not used: the calls are as they were."""
        for call in calls:
            self.execute(
                f"UPDATE {OUTBOX} SET next_attempt_at = ?, claims = ? "
                "WHERE call_id = ? AND state = 'pending' AND claims = ?",
                (call.next_attempt_at, call.claims, call.call_id, call.claims + 1),
            )

    def calls_page(
        self, state: str | None, after: int, limit: int
    ) -> tuple[list[Call], int | None]:
        """The calls (of `state`, or all) decided after the cursor `after`, oldest first, at
        most `limit`, and the cursor of the next page: None when there is none.

        The cursor is the outbox's own order (`seq`): a call keeps its place whatever
        becomes of it, so paging on sees every call once, none twice and none skipped.
        """
        where, params = ("AND state = ?", [state]) if state else ("", [])
        # One more than asked for, to tell whether there is a next page.
        rows = self.rows(
            f"SELECT seq, {_CALL_COLUMNS} FROM {OUTBOX} WHERE seq > ? {where} ORDER BY seq LIMIT ?",
            [after, *params, limit + 1],
        )
        page = rows[:limit]
        cursor = page[-1]["seq"] if len(rows) > limit else None
        return [_call(row) for row in page], cursor

    def calls_caused(self, after: int, upto: int) -> set[tuple[str, str]]:
        """(call id, kind) of every call decided for log positions in (after, upto]."""
        rows = self.rows(
            f"SELECT call_id, kind FROM {OUTBOX} WHERE cause_position > ? AND cause_position <= ?",
            (after, upto),
        )
        return {(row["call_id"], row["kind"]) for row in rows}

    def call(self, call_id: str) -> Call | None:
        rows = self.rows(f"SELECT {_CALL_COLUMNS} FROM {OUTBOX} WHERE call_id = ?", (call_id,))
        return _call(rows[0]) if rows else None


class Calls(StoreBase):
    def pending_calls(self, conversation_id: str) -> int:
        with self.reading() as tx:
            rows = tx.rows(
                f"SELECT COUNT(*) AS n FROM {OUTBOX} WHERE conversation_id = ? AND state = 'pending'",
                (conversation_id,),
            )
        return rows[0]["n"]

    def unfinished_calls_of(self, conversation_id: str) -> list[Call]:
        """A conversation's calls that are pending or parked, oldest first."""
        with self.reading() as tx:
            rows = tx.rows(
                f"SELECT {_CALL_COLUMNS} FROM {OUTBOX} WHERE conversation_id = ? "
                "AND state IN ('pending', 'parked') ORDER BY seq",
                (conversation_id,),
            )
        return [_call(row) for row in rows]

    def unfinished_calls(self) -> dict[str, int]:
        """How many calls are pending and how many parked (read off the due index)."""
        with self.reading() as tx:
            rows = tx.rows(
                f"SELECT state, COUNT(*) AS n FROM {OUTBOX} "
                "WHERE state IN ('pending', 'parked') GROUP BY state"
            )
        return {"pending": 0, "parked": 0} | {row["state"]: row["n"] for row in rows}

    def call_counts(self) -> dict[str, int]:
        """How many calls are in each state, done ones included (the console's overview)."""
        return self.outbox_summary()[0]

    def outbox_summary(self) -> tuple[dict[str, int], float | None]:
        """Calls by state (every state the table holds), and when the oldest pending call
        was decided (None when none is pending); both read off the (state, ...) index."""
        with self.reading() as tx:
            rows = tx.rows(f"SELECT state, COUNT(*) AS n FROM {OUTBOX} GROUP BY state")
            oldest = tx.rows(f"SELECT MIN(created_at) AS t FROM {OUTBOX} WHERE state = 'pending'")
        by_state = {"pending": 0, "parked": 0, "done": 0} | {row["state"]: row["n"] for row in rows}
        return by_state, oldest[0]["t"]

    def calls_page(
        self, state: str | None = None, after: int = 0, limit: int = 1000
    ) -> tuple[list[Call], int | None]:
        """`CallStatements.calls_page` in a transaction of its own."""
        with self.reading() as tx:
            return tx.calls_page(state, after, limit)

    def calls(self, state: str | None = None, limit: int = 1000) -> list[Call]:
        """The first `limit` calls (of `state`, or all), oldest first; listings page with
        `calls_page` instead."""
        where, params = ("WHERE state = ?", [state]) if state else ("", [])
        with self.reading() as tx:
            rows = tx.rows(
                f"SELECT {_CALL_COLUMNS} FROM {OUTBOX} {where} ORDER BY seq LIMIT ?",
                [*params, limit],
            )
        return [_call(row) for row in rows]

    def due_calls(self, now: float, limit: int, per_conversation: int = 1) -> list[Call]:
        """Due pending calls, oldest first: of each conversation, the oldest pending ones
        (at most `per_conversation`) up to the first that is not due.

        A conversation's calls go out in the order they were decided: its ticket exists
        before its comments, and its status changes land in sequence.
        """
        with self.reading() as tx:
            rows = tx.rows(_DUE, (now, now, limit))
        return _at_most([_call(row) for row in rows], per_conversation)

    def next_due(self) -> float | None:
        """When a pending call can next be taken: the soonest due time of a call with none
        of its conversation's pending calls before it (`due_calls` takes none behind one
        that is not due, such as a claimed one whose chain is in flight). None when none."""
        with self.reading() as tx:
            rows = tx.rows(
                f"SELECT MIN(o.next_attempt_at) AS t FROM {OUTBOX} o WHERE o.state = 'pending' "
                f"AND NOT EXISTS (SELECT 1 FROM {OUTBOX} p WHERE p.conversation_id = "
                "o.conversation_id AND p.state = 'pending' AND p.seq < o.seq)"
            )
        return rows[0]["t"]
