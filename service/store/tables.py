"""Read models, projection positions and the outbox: tables beside the log, in its database.

Everything a projection writes for one page of the log (views, outbox calls, its own log
entries, its new position) goes through one `Store.transaction()`, so a crash never
applies an event twice or skips one, and a decision never loses the call it asked for.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import PersistenceError

from ticketsync.events.errors import StoreUnavailable, TicketsyncError
from ticketsync.service.store.entries import LogEntry, NewEntry
from ticketsync.service.store.log import EventLog

TRACKING = "ticketsync_tracking"
CONVERSATIONS = "ticketsync_conversations"
TICKETS = "ticketsync_tickets"
OUTBOX = "ticketsync_outbox"
REBUILDS = "ticketsync_rebuilds"
DESK_USERS = "ticketsync_desk_users"
# Statements kept translated for PostgreSQL; the fixed ones are a few dozen.
MAX_TRANSLATED = 4096
# Our tables, and the scratch copies a rebuild makes of them ("<table>__r<id>"); index
# names such as ticketsync_outbox_due do not match, since an index is never qualified.
_TABLES = re.compile(
    rf"\b(?:{TRACKING}|{CONVERSATIONS}|{TICKETS}|{OUTBOX}|{REBUILDS}|{DESK_USERS})(?:__r[0-9a-f]+)?\b"
)


@dataclass(frozen=True)
class ModelTables:
    """The tables of the conversation read models: the live ones, or a rebuild's scratch copy."""

    conversations: str = CONVERSATIONS
    tickets: str = TICKETS

    @classmethod
    def scratch(cls, rebuild_id: str) -> ModelTables:
        return cls(
            conversations=f"{CONVERSATIONS}__r{rebuild_id}", tickets=f"{TICKETS}__r{rebuild_id}"
        )

    def ddl(self) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {self.conversations} (conversation_id TEXT PRIMARY KEY, "
            "state TEXT NOT NULL, position BIGINT NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.tickets} (system TEXT NOT NULL, ticket_id TEXT NOT NULL, "
            "conversation_id TEXT NOT NULL, state TEXT NOT NULL, PRIMARY KEY (system, ticket_id))",
        ]


LIVE = ModelTables()


class PositionMoved(TicketsyncError):
    """Another runner advanced this projection first; this transaction was rolled back."""


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


_CALL_COLUMNS = (
    "call_id, conversation_id, kind, command, state, attempts, next_attempt_at, "
    "created_at, updated_at, last_error, uncertain, queued_key, claims, cause_position"
)


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


def _rowcount(cursor: Any) -> int:
    # eventsourcing's SQLite cursor wraps sqlite3's and hides its rowcount.
    rowcount = getattr(cursor, "rowcount", None)
    return cursor.sqlite_cursor.rowcount if rowcount is None else rowcount


class Tx:
    """The statements of one transaction. SQL is written with `?` and adapted per dialect."""

    def __init__(self, store: Store, cursor: Any):
        self.store = store
        self.cursor = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        self.cursor.execute(self.store.sql(sql), params)
        return self.cursor

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return self.execute(sql, params).fetchall()

    def pipeline(self) -> contextlib.AbstractContextManager[object]:
        """PostgreSQL: send the block's statements without waiting for each one's answer,
        until one whose rows are fetched. Only for statements whose row counts nobody reads;
        an error may surface at a later statement or at the block's end. SQLite: no change.
        """
        if self.store.postgres:
            return self.cursor.connection.pipeline()
        return contextlib.nullcontext()

    def append(self, entries: Sequence[NewEntry]) -> list[int]:
        """Append ticketsync's own entries to the log within this transaction."""
        return self.store.log._sql.insert_with(self.cursor, entries) if entries else []

    def read(self, after: int, limit: int) -> list[LogEntry]:
        return self.store.log._sql.read_with(self.cursor, after, limit)

    def position(self, projection: str) -> int:
        rows = self.rows(f"SELECT position FROM {TRACKING} WHERE projection = ?", (projection,))
        return rows[0]["position"] if rows else 0

    def move(self, projection: str, old: int, new: int) -> None:
        """Advance a projection from `old` to `new`; raise PositionMoved if it is not at `old`."""
        if old == 0 and not self.rows(
            f"SELECT 1 FROM {TRACKING} WHERE projection = ?", (projection,)
        ):
            self.execute(
                f"INSERT INTO {TRACKING} (projection, position) VALUES (?, ?)", (projection, new)
            )
            return
        cursor = self.execute(
            f"UPDATE {TRACKING} SET position = ? WHERE projection = ? AND position = ?",
            (new, projection, old),
        )
        if _rowcount(cursor) != 1:
            raise PositionMoved(f"projection {projection} is no longer at {old}")

    def lock_projection(self, projection: str) -> None:
        """Hold the projection for this transaction: its runner and a rebuild's switch take turns.

        PostgreSQL: a lock on the projection's tracking row. SQLite needs none: it has one
        writer at a time, and a transaction whose reads went stale cannot commit.
        """
        if not self.store.postgres:
            return
        self.execute(
            f"INSERT INTO {TRACKING} (projection, position) VALUES (?, 0) ON CONFLICT (projection) DO NOTHING",
            (projection,),
        )
        self.execute(
            f"SELECT position FROM {TRACKING} WHERE projection = ? FOR UPDATE", (projection,)
        )

    def conversations(self, ids: Iterable[str], tables: ModelTables = LIVE) -> dict[str, str]:
        wanted = list(ids)
        found: dict[str, str] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.rows(
                f"SELECT conversation_id, state FROM {tables.conversations} WHERE conversation_id IN ({marks})",
                chunk,
            ):
                found[row["conversation_id"]] = row["state"]
        return found

    def put_conversations(
        self, states: dict[str, str], position: int, tables: ModelTables = LIVE
    ) -> None:
        self.cursor.executemany(
            self.store.sql(
                f"INSERT INTO {tables.conversations} (conversation_id, state, position) VALUES (?, ?, ?) "
                "ON CONFLICT (conversation_id) DO UPDATE SET state = excluded.state, "
                "position = excluded.position"
            ),
            [(cid, state, position) for cid, state in states.items()],
        )

    def put_tickets(
        self, rows: Iterable[tuple[str, str, str, str]], tables: ModelTables = LIVE
    ) -> None:
        """Upsert (system, ticket_id, conversation_id, state JSON) rows."""
        self.cursor.executemany(
            self.store.sql(
                f"INSERT INTO {tables.tickets} (system, ticket_id, conversation_id, state) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (system, ticket_id) DO UPDATE SET conversation_id = excluded.conversation_id, "
                "state = excluded.state"
            ),
            list(rows),
        )

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

    def update_call(self, call: Call) -> None:
        self.execute(
            f"UPDATE {OUTBOX} SET state = ?, attempts = ?, next_attempt_at = ?, updated_at = ?, "
            "last_error = ?, uncertain = ?, claims = ? WHERE call_id = ?",
            (
                call.state,
                call.attempts,
                call.next_attempt_at,
                call.updated_at,
                call.last_error,
                int(call.uncertain),
                call.claims,
                call.call_id,
            ),
        )

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
        return _rowcount(cursor) == 1

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
        return _rowcount(cursor) == 1

    def release(self, calls: Sequence[Call]) -> None:
        """Give back claims taken by `claim` that were not used: the calls are as they were."""
        for call in calls:
            self.execute(
                f"UPDATE {OUTBOX} SET next_attempt_at = ?, claims = ? "
                "WHERE call_id = ? AND state = 'pending' AND claims = ?",
                (call.next_attempt_at, call.claims, call.call_id, call.claims + 1),
            )

    def calls_caused(self, after: int, upto: int) -> set[tuple[str, str]]:
        """(call id, kind) of every call decided for log positions in (after, upto]."""
        rows = self.rows(
            f"SELECT call_id, kind FROM {OUTBOX} WHERE cause_position > ? AND cause_position <= ?",
            (after, upto),
        )
        return {(row["call_id"], row["kind"]) for row in rows}

    def switch(self, scratch: ModelTables) -> None:
        """Make a rebuild's tables the live ones, in this transaction."""
        prefix = self.store.prefix
        for live, built in (
            (LIVE.conversations, scratch.conversations),
            (LIVE.tickets, scratch.tickets),
        ):
            self.cursor.execute(f"DROP TABLE {prefix}{live}")
            self.cursor.execute(f"ALTER TABLE {prefix}{built} RENAME TO {live}")

    def checksums(self, tables: ModelTables) -> dict[str, dict[str, Any]]:
        """Rows and a SHA-256 over every row, in key order, of each read model.

        Read in pages by key, so that memory stays flat however large the model is.
        """
        result = {}
        for model, table, key, columns in (
            ("conversations", tables.conversations, "conversation_id", "conversation_id, state"),
            (
                "tickets",
                tables.tickets,
                "system || ':' || ticket_id",
                "system, ticket_id, conversation_id, state",
            ),
        ):
            digest = hashlib.sha256()
            count = 0
            last = ""
            while True:
                rows = self.rows(
                    f"SELECT {key} AS k, {columns} FROM {table} WHERE {key} > ? ORDER BY {key} LIMIT 1000",
                    (last,),
                )
                if not rows:
                    break
                for row in rows:
                    values = list(row.values()) if isinstance(row, dict) else list(tuple(row))
                    digest.update(
                        "\x1f".join(str(value) for value in values[1:]).encode() + b"\x1e"
                    )
                last = rows[-1]["k"]
                count += len(rows)
            result[model] = {"rows": count, "sha256": digest.hexdigest()}
        return result

    def call(self, call_id: str) -> Call | None:
        rows = self.rows(f"SELECT {_CALL_COLUMNS} FROM {OUTBOX} WHERE call_id = ?", (call_id,))
        return _call(rows[0]) if rows else None


class Store:
    """The tables beside the log, on the log's own connections."""

    def __init__(self, log: EventLog):
        self.log = log
        self.datastore = log._sql.datastore
        self.postgres = log.database.kind == "postgres"
        self.prefix = f'"{log.database.schema}".' if self.postgres else ""
        self._translated: dict[str, str] = {}
        self._create()

    def sql(self, text: str) -> str:
        """SQL written for SQLite (`?`, bare table names) in this database's dialect."""
        if not self.postgres:
            return text
        # Translated once per statement: every transaction runs several, and the regular
        # expression cost more than some of them took to run.
        translated = self._translated.get(text)
        if translated is None:
            if len(self._translated) >= MAX_TRANSLATED:
                self._translated.clear()  # a rebuild's scratch tables add statements
            translated = _TABLES.sub(lambda m: self.prefix + m.group(0), text).replace("?", "%s")
            self._translated[text] = translated
        return translated

    def _create(self) -> None:
        serial = "BIGSERIAL" if self.postgres else "INTEGER"
        double = "DOUBLE PRECISION" if self.postgres else "REAL"
        statements = [
            f"CREATE TABLE IF NOT EXISTS {TRACKING} (projection TEXT PRIMARY KEY, position BIGINT NOT NULL)",
            *LIVE.ddl(),
            f"CREATE TABLE IF NOT EXISTS {OUTBOX} (seq {serial} PRIMARY KEY, call_id TEXT NOT NULL UNIQUE, "
            f"conversation_id TEXT NOT NULL, kind TEXT NOT NULL, command TEXT NOT NULL, state TEXT NOT NULL, "
            f"attempts INTEGER NOT NULL, next_attempt_at {double} NOT NULL, created_at {double} NOT NULL, "
            f"updated_at {double} NOT NULL, last_error TEXT, uncertain INTEGER NOT NULL, queued_key TEXT NOT NULL, "
            "claims INTEGER NOT NULL, cause_position BIGINT NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {OUTBOX}_due ON {OUTBOX} (state, next_attempt_at)",
            f"CREATE INDEX IF NOT EXISTS {OUTBOX}_cause ON {OUTBOX} (cause_position)",
            f"CREATE TABLE IF NOT EXISTS {DESK_USERS} (system TEXT NOT NULL, user_id TEXT NOT NULL, "
            "PRIMARY KEY (system, user_id))",
            f"CREATE TABLE IF NOT EXISTS {REBUILDS} (projection TEXT PRIMARY KEY, rebuild_id TEXT NOT NULL, "
            f"heartbeat {double} NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {OUTBOX}_conversation ON {OUTBOX} (conversation_id, state, seq)",
        ]
        with self.transaction() as tx:
            if self.postgres:
                # One process creates; others starting at the same moment wait for it.
                tx.execute("SELECT pg_advisory_xact_lock(?)", (0x7469636C,))
            for statement in statements:
                tx.execute(statement)

    def register(self, projections: Iterable[str]) -> None:
        """Start `projections` at the log's beginning if the log is empty (a new database).

        A projection with no position on a database whose log is not empty is new to this
        deployment, and builds itself silently from the log (service.rebuild.build_new).
        """
        with self.transaction() as tx:
            if self.log._sql.max_position_with(tx.cursor) == 0:
                for name in projections:
                    tx.execute(
                        f"INSERT INTO {TRACKING} (projection, position) VALUES (?, 0) "
                        "ON CONFLICT (projection) DO NOTHING",
                        (name,),
                    )

    def desk_users(self, system: str, learned: Iterable[str] = ()) -> tuple[str, ...]:
        """The help-desk users ticketsync has acted as on `system`, adding any `learned` now.

        Kept in the database, so that a rebuild (which calls no help desk) recognises the
        same echoes the live projection did.
        """
        with self.transaction() as tx:
            for user_id in learned:
                tx.execute(
                    f"INSERT INTO {DESK_USERS} (system, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                    (system, user_id),
                )
            rows = tx.rows(
                f"SELECT user_id FROM {DESK_USERS} WHERE system = ? ORDER BY user_id", (system,)
            )
        return tuple(row["user_id"] for row in rows)

    def create_scratch(self, tables: ModelTables) -> None:
        with self.transaction() as tx:
            for statement in tables.ddl():
                tx.execute(statement.replace("CREATE TABLE IF NOT EXISTS", "CREATE TABLE"))

    def drop_scratch(self, tables: ModelTables) -> None:
        with self.transaction() as tx:
            for table in (tables.conversations, tables.tickets):
                tx.execute(f"DROP TABLE IF EXISTS {table}")

    def claim_rebuild(
        self, projection: str, rebuild_id: str, now: float, stale_after: float = 60.0
    ) -> str | None:
        """Mark `projection` as being rebuilt; None when done, else the id of the rebuild that runs."""
        with self.transaction() as tx:
            rows = tx.rows(
                f"SELECT rebuild_id, heartbeat FROM {REBUILDS} WHERE projection = ?", (projection,)
            )
            if rows and rows[0]["heartbeat"] > now - stale_after:
                return rows[0]["rebuild_id"]
            tx.execute(f"DELETE FROM {REBUILDS} WHERE projection = ?", (projection,))
            tx.execute(
                f"INSERT INTO {REBUILDS} (projection, rebuild_id, heartbeat) VALUES (?, ?, ?)",
                (projection, rebuild_id, now),
            )
        return None

    def heartbeat_rebuild(self, projection: str, rebuild_id: str, now: float) -> None:
        with self.transaction() as tx:
            tx.execute(
                f"UPDATE {REBUILDS} SET heartbeat = ? WHERE projection = ? AND rebuild_id = ?",
                (now, projection, rebuild_id),
            )

    def release_rebuild(self, projection: str, rebuild_id: str) -> None:
        with self.transaction() as tx:
            tx.execute(
                f"DELETE FROM {REBUILDS} WHERE projection = ? AND rebuild_id = ?",
                (projection, rebuild_id),
            )

    @contextlib.contextmanager
    def transaction(self, *, durable: bool = True, pipelined: bool = False) -> Iterator[Tx]:
        """One transaction; committed when the block ends, rolled back if it raises.

        Not `durable` (PostgreSQL): the commit returns before its WAL reaches the disk. Only
        for work redone from the log if a crash of PostgreSQL loses it (see docs/reliability.md).
        `pipelined`: the whole block as in `Tx.pipeline`.
        """
        try:
            with self.datastore.transaction(commit=True) as cursor:
                tx = Tx(self, cursor)
                with tx.pipeline() if pipelined else contextlib.nullcontext():
                    if not durable and self.postgres:
                        cursor.execute("SET LOCAL synchronous_commit TO OFF")
                    yield tx
        except PersistenceError as error:
            self.log.failed()
            raise StoreUnavailable(str(error)) from error

    @contextlib.contextmanager
    def reading(self) -> Iterator[Tx]:
        try:
            with self.datastore.transaction(commit=False) as cursor:
                yield Tx(self, cursor)
        except PersistenceError as error:
            self.log.failed()
            raise StoreUnavailable(str(error)) from error

    # Reads for the API and the CLI.

    def conversation_state(self, conversation_id: str) -> str | None:
        with self.reading() as tx:
            return tx.conversations([conversation_id]).get(conversation_id)

    def ticket_state(self, system: str, ticket_id: str) -> tuple[str, str] | None:
        """The ticket's conversation id and stored state, if ticketsync knows the ticket."""
        with self.reading() as tx:
            rows = tx.rows(
                f"SELECT conversation_id, state FROM {TICKETS} WHERE system = ? AND ticket_id = ?",
                (system, ticket_id),
            )
        return (rows[0]["conversation_id"], rows[0]["state"]) if rows else None

    def pending_calls(self, conversation_id: str) -> int:
        with self.reading() as tx:
            rows = tx.rows(
                f"SELECT COUNT(*) AS n FROM {OUTBOX} WHERE conversation_id = ? AND state = 'pending'",
                (conversation_id,),
            )
        return rows[0]["n"]

    def unfinished_calls(self) -> dict[str, int]:
        """How many calls are pending and how many parked (read off the due index)."""
        with self.reading() as tx:
            rows = tx.rows(
                f"SELECT state, COUNT(*) AS n FROM {OUTBOX} "
                "WHERE state IN ('pending', 'parked') GROUP BY state"
            )
        return {"pending": 0, "parked": 0} | {row["state"]: row["n"] for row in rows}

    def calls(self, state: str | None = None, limit: int = 1000) -> list[Call]:
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
            rows = tx.rows(
                f"SELECT {_CALL_COLUMNS} FROM {OUTBOX} o WHERE o.state = 'pending' "
                "AND o.next_attempt_at <= ? AND NOT EXISTS (SELECT 1 FROM "
                f"{OUTBOX} p WHERE p.conversation_id = o.conversation_id AND p.state = 'pending' "
                "AND p.seq < o.seq AND p.next_attempt_at > ?) ORDER BY o.seq LIMIT ?",
                (now, now, limit),
            )
        taken: dict[str, int] = {}
        calls = []
        for row in rows:
            call = _call(row)
            taken[call.conversation_id] = taken.get(call.conversation_id, 0) + 1
            if taken[call.conversation_id] <= per_conversation:
                calls.append(call)
        return calls

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

    def projection_positions(self) -> dict[str, int]:
        with self.reading() as tx:
            return {
                row["projection"]: row["position"]
                for row in tx.rows(f"SELECT projection, position FROM {TRACKING}")
            }
