"""The append-only event log, stored through the eventsourcing library's recorders.

Each entry is one stored event: `originator_id` is "<source>:<delivery id>" and
`originator_version` is 1, so the recorder's primary key is the deduplication key and two
racing inserts of one delivery cannot both commit. The notification id (SQLite `rowid`,
PostgreSQL `notification_id`) is the entry's position; both recorders hand out positions
in commit order (PostgreSQL by an exclusive table lock per insert), so a reader that tails
the log never passes an entry that commits later. Positions may have gaps (rolled-back
inserts).

Beside the recorder's table, `ticketsync_audit` indexes each entry by conversation,
ticket and type, and `ticketsync_content_keys` holds the content key of each delivery that
names one (`NewEntry.content_key`), unique: a source whose delivery id is not signed (Jira's
identifier header) is also deduplicated by what its signed body names, so a captured
delivery sent again under a new id is a duplicate of the first (docs/behaviour.md,
"Limits"); entries stored before content keys were kept get theirs once per database
(`backfill_content_keys`). Both are written in the same transaction as the entry.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from eventsourcing.persistence import (
    InfrastructureFactory,
    IntegrityError,
    PersistenceError,
    StoredEvent,
)
from eventsourcing.utils import Environment
from psycopg_pool import ConnectionPool

from ticketsync.events.errors import StoreUnavailable
from ticketsync.service.config import Database, eventsourcing_env
from ticketsync.service.store.entries import Appended, LogEntry, NewEntry

logger = logging.getLogger(__name__)

APP_NAME = "ticketsync"
AUDIT_TABLE = "ticketsync_audit"
CONTENT_TABLE = "ticketsync_content_keys"
# How often to retry a batch that lost a race with another writer of the same delivery.
MAX_CONFLICT_ROUNDS = 5


def encode(entry: NewEntry) -> StoredEvent:
    """The stored form of an entry (JSON state, topic "<source>:<type>")."""
    state = {
        "source": entry.source,
        "delivery_id": entry.delivery_id,
        "type": entry.type,
        "occurred_at": entry.occurred_at.isoformat(),
        "recorded_at": entry.recorded_at.isoformat(),
        "conversation_id": entry.conversation_id,
        "ticket": entry.ticket,
        "caused_by": entry.caused_by,
        "raw": entry.raw,
        "data": entry.data,
    }
    return StoredEvent(
        originator_id=entry.key,
        originator_version=1,
        topic=f"{entry.source}:{entry.type}",
        state=orjson.dumps(state),
    )


def decode(position: int, state: bytes) -> LogEntry:
    """An entry from its stored state."""
    fields = orjson.loads(state)
    # Built without the frozen dataclass's __init__ (one object.__setattr__ per field): a
    # rebuild decodes every entry of the log, and this was a tenth of its time.
    entry = object.__new__(LogEntry)
    entry.__dict__.update(
        position=position,
        source=fields["source"],
        delivery_id=fields["delivery_id"],
        type=fields["type"],
        occurred_at=datetime.fromisoformat(fields["occurred_at"]),
        recorded_at=datetime.fromisoformat(fields["recorded_at"]),
        conversation_id=fields["conversation_id"],
        ticket=fields["ticket"],
        caused_by=fields["caused_by"],
        raw=fields["raw"],
        data=fields["data"],
    )
    return entry


# Stored entries by key: their position and the body they carried.
Found = dict[str, tuple[int, str]]
# Stored content keys (`NewEntry.named`): the position of the entry that named each.
Named = dict[str, int]


def _fingerprint(entry: NewEntry) -> bytes:
    """What makes two deliveries under one id the same delivery: the body they carried."""
    return hashlib.sha256((entry.raw or entry.data or "").encode()).digest()


class PingWhenIdle:
    """The PostgreSQL pool's check of a connection before handing it out, made cheap under load.

    Pinging every connection on every checkout (the library's pre-ping) costs a round trip
    per transaction. A connection used within the last `fresh` seconds is handed out as it
    is; one idle for longer, and every one for `after_failure` seconds after the database
    failed us, is pinged first, so a server restart still costs no request its answer.
    """

    def __init__(
        self,
        fresh: float = 1.0,
        after_failure: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        ping: Callable[[Any], None] = ConnectionPool.check_connection,
    ):
        self.ping = ping
        self.fresh = fresh
        self.after_failure = after_failure
        self.clock = clock
        self._used: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()
        self._failed_at = -math.inf
        self._pool: Any = None

    def install(self, pool: Any) -> None:
        # psycopg_pool takes its check at construction, and the library builds the pool; this
        # is the same attribute that construction sets.
        if not hasattr(pool, "_check"):
            raise TypeError("this psycopg_pool keeps its connection check elsewhere")
        pool._check = self
        self._pool = pool

    def failed(self) -> None:
        self._failed_at = self.clock()

    def __call__(self, conn: Any) -> None:
        now = self.clock()
        used = self._used.get(conn)
        if used is None or now - used > self.fresh or now - self._failed_at < self.after_failure:
            try:
                self.ping(conn)
            except Exception:
                self.failed()
                # The others idle in the pool are most likely dead too (a restart): have them
                # all checked and replaced now, rather than one failed checkout at a time.
                if self._pool is not None:
                    self._pool.check()
                raise
        self._used[conn] = now


@dataclass(frozen=True, kw_only=True)
class AuditQuery:
    """Filters of GET /audit. `after` is a position; the result is oldest first, or with
    `newest_first` newest first, below `before` when it is given (the console's timeline
    shows a conversation's latest entries)."""

    conversation_id: str | None = None
    ticket: str | None = None
    type: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    after: int = 0
    limit: int = 100
    before: int | None = None
    newest_first: bool = False


class EventLog:
    """Append entries (deduplicated by source and delivery id), read them back in order."""

    def __init__(self, database: Database):
        env = Environment(name=APP_NAME, env={**eventsourcing_env(database), "CREATE_TABLE": "no"})
        self.database = database
        try:
            self.factory = InfrastructureFactory.construct(env)
            self.recorder: Any = self.factory.application_recorder()
            self._sql = (
                _Postgres(self.recorder) if database.kind == "postgres" else _SQLite(self.recorder)
            )
            self.check: PingWhenIdle | None = None
            if database.kind == "postgres":
                self.check = PingWhenIdle()
                self.check.install(self.recorder.datastore.pool)
            self._sql.create_tables()
        except PersistenceError as error:
            reason = str(error)
            if database.kind == "postgres":
                from ticketsync.service.store.diagnose import why_unreachable

                reason = why_unreachable(database) or reason
            raise StoreUnavailable(
                f"cannot open the log at {database.describe()}: {reason}"
            ) from error

    def close(self) -> None:
        self.factory.close()

    def listener(self) -> tuple[Callable[[], Any], str] | None:
        """How another process hears this log grow: a function that opens a connection fit
        for LISTEN, and the channel every append notifies; None on SQLite, which has none."""
        if self.database.kind != "postgres":
            return None
        import psycopg

        db = self.database

        def connect() -> Any:
            return psycopg.connect(
                host=db.host,
                port=db.port,
                user=db.user,
                password=db.password,
                dbname=db.dbname,
                autocommit=True,
                connect_timeout=5,
            )

        return connect, self.recorder.channel_name

    @contextlib.contextmanager
    def _store_errors(self) -> Iterator[None]:
        try:
            yield
        except IntegrityError:
            raise
        except PersistenceError as error:
            self.failed()
            raise StoreUnavailable(str(error)) from error
        except OSError as error:  # psycopg's pool raises plain timeouts when the server is gone
            self.failed()
            raise StoreUnavailable(str(error)) from error

    def failed(self) -> None:
        """The database failed us: check every pooled connection before its next use."""
        if self.check is not None:
            self.check.failed()

    def append(self, entries: Sequence[NewEntry]) -> list[Appended]:
        """Append entries in one transaction; each gets its own outcome, in order.

        An entry whose key is already stored (or earlier in `entries`) is not stored again:
        it is a "duplicate" when it carries the same body, a "conflict" when not.
        Raises StoreUnavailable when the database cannot be reached; then nothing is stored.
        """
        with self._store_errors():
            for _ in range(MAX_CONFLICT_ROUNDS):
                try:
                    return self._append_once(entries)
                except IntegrityError:
                    # Another process stored one of these keys between our look-up and our
                    # insert; the transaction rolled back whole, so look again.
                    logger.info("log.append_race", extra={"entries": len(entries)})
            raise StoreUnavailable("the log kept losing insert races; giving up on this batch")

    def _append_once(self, entries: Sequence[NewEntry]) -> list[Appended]:
        first_index: dict[str, int] = {}
        for index, entry in enumerate(entries):
            first_index.setdefault(entry.key, index)
        named = sorted({entry.named for entry in entries if entry.named is not None})

        def pick(found: Found, seen: Named) -> list[NewEntry]:
            """The entries to insert: new keys, each naming content nothing else holds."""
            taken: set[str] = set()
            fresh = []
            for key, index in first_index.items():
                entry = entries[index]
                if key in found or entry.named in seen or entry.named in taken:
                    continue
                if entry.named is not None:
                    taken.add(entry.named)
                fresh.append(entry)
            return fresh

        existing, seen, fresh, positions = self._sql.find_then_insert(
            list(first_index), named, pick
        )
        stored: dict[str, tuple[int, bytes]] = {
            key: (position, hashlib.sha256(raw.encode()).digest())
            for key, (position, raw) in existing.items()
        }
        holders = dict(seen)
        for entry, position in zip(fresh, positions, strict=True):
            stored[entry.key] = (position, _fingerprint(entry))
            if entry.named is not None:
                holders[entry.named] = position
        outcomes = []
        for index, entry in enumerate(entries):
            if entry.key not in stored:
                # Not stored: another delivery that names the same content holds it.
                assert entry.named is not None
                outcomes.append(Appended(status="duplicate", position=holders[entry.named]))
                continue
            position, fingerprint = stored[entry.key]
            if first_index[entry.key] == index and entry.key not in existing:
                outcomes.append(Appended(status="accepted", position=position))
            elif fingerprint == _fingerprint(entry):
                outcomes.append(Appended(status="duplicate", position=position))
            else:
                outcomes.append(Appended(status="conflict", position=position))
        return outcomes

    def backfill_content_keys(
        self, source: str, types: Sequence[str], key_of: Callable[[str, str], str | None]
    ) -> int:
        """Give `source`'s entries of `types` that were stored before content keys were kept
        their keys (`key_of(type, raw body)`), the earliest holding each; once per database.
        Returns how many keys were added (0 when done before)."""
        with self._store_errors():
            return self._sql.backfill(
                source, list(types), key_of, f"ticketsync:backfilled:{source}"
            )

    def position(self) -> int:
        """The position of the newest entry (0 when the log is empty)."""
        with self._store_errors():
            return self._sql.max_position()

    def read(self, after: int, limit: int) -> list[LogEntry]:
        """Up to `limit` entries after position `after`, in log order."""
        with self._store_errors():
            return [
                decode(n.id, n.state)
                for n in self.recorder.select_notifications(
                    start=after, limit=limit, inclusive_of_start=False
                )
            ]

    def query(self, query: AuditQuery) -> tuple[list[LogEntry], int | None]:
        """Entries matching `query`, oldest first, and the cursor for the next page (or None)."""
        with self._store_errors():
            rows = self._sql.audit(query, query.limit + 1)
        entries = [decode(position, state) for position, state in rows[: query.limit]]
        cursor = entries[-1].position if len(rows) > query.limit else None
        return entries, cursor

    def positions(self, keys: Iterable[str]) -> dict[str, int]:
        """The position of each entry of `keys` (`<source>:<delivery id>`) that is stored.

        How an audit reader follows `caused_by` to the entry it names: one indexed look-up
        for a page of entries.
        """
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        with self._store_errors():
            return self._sql.positions(wanted)

    def keys_at(self, positions: Iterable[int]) -> dict[int, str]:
        """The key (`<source>:<delivery id>`) of the entry at each of `positions`.

        What the outbox's attempt lines name as their calls' causes: one indexed look-up
        per round of calls, reading no entry's body.
        """
        wanted = sorted(set(positions))
        if not wanted:
            return {}
        with self._store_errors():
            return self._sql.keys_at(wanted)


def _audit_row(entry: NewEntry, position: int) -> tuple[Any, ...]:
    return (
        position,
        entry.conversation_id,
        entry.ticket,
        entry.type,
        entry.source,
        entry.recorded_at.timestamp(),
    )


def _stored_keys(
    source: str, rows: Sequence[Any], key_of: Callable[[str, str], str | None]
) -> list[tuple[str, int]]:
    """The content keys of stored entries, as (key, position) rows: (position, type, state)."""
    keyed = []
    for position, kind, state in rows:
        raw = orjson.loads(state)["raw"]
        key = key_of(kind, raw) if raw is not None else None
        if key is not None:
            keyed.append((f"{source}:{key}", position))
    return keyed


def _named_rows(entries: Sequence[NewEntry], positions: Sequence[int]) -> list[tuple[str, int]]:
    return [
        (entry.named, position)
        for entry, position in zip(entries, positions, strict=True)
        if entry.named is not None
    ]


def _audit_where(query: AuditQuery, placeholder: str) -> tuple[str, list[Any]]:
    clauses = ["a.position > " + placeholder]
    params: list[Any] = [query.after]
    for column, value in (
        ("conversation_id", query.conversation_id),
        ("ticket", query.ticket),
        ("type", query.type),
    ):
        if value is not None:
            clauses.append(f"a.{column} = {placeholder}")
            params.append(value)
    if query.since is not None:
        clauses.append(f"a.recorded_at >= {placeholder}")
        params.append(query.since.timestamp())
    if query.until is not None:
        clauses.append(f"a.recorded_at < {placeholder}")
        params.append(query.until.timestamp())
    if query.before is not None:
        clauses.append(f"a.position < {placeholder}")
        params.append(query.before)
    return " AND ".join(clauses), params


def _audit_order(query: AuditQuery) -> str:
    return "DESC" if query.newest_first else "ASC"


class _SQLite:
    """SQL for the SQLite recorder: table `stored_events`, position = rowid."""

    def __init__(self, recorder: Any):
        self.recorder = recorder
        self.datastore = recorder.datastore
        self.table = recorder.events_table_name

    def create_tables(self) -> None:
        with self.datastore.transaction(commit=True) as c:
            self.recorder._create_table(c)
            c.execute(
                f"CREATE TABLE IF NOT EXISTS {AUDIT_TABLE} ("
                "position INTEGER PRIMARY KEY, conversation_id TEXT, ticket TEXT, "
                "type TEXT NOT NULL, source TEXT NOT NULL, recorded_at REAL NOT NULL)"
            )
            for column in ("conversation_id", "ticket", "type"):
                c.execute(
                    f"CREATE INDEX IF NOT EXISTS {AUDIT_TABLE}_{column} "
                    f"ON {AUDIT_TABLE} ({column}, position)"
                )
            c.execute(
                f"CREATE TABLE IF NOT EXISTS {CONTENT_TABLE} ("
                "content_key TEXT PRIMARY KEY, position INTEGER NOT NULL)"
            )

    def find_then_insert(
        self, keys: list[str], named: list[str], pick: Callable[[Found, Named], list[NewEntry]]
    ) -> tuple[Found, Named, list[NewEntry], list[int]]:
        """Look `keys` and the content keys `named` up, then insert what `pick` chooses.

        Two transactions: SQLite cannot turn a read that another writer has overtaken into
        a write (it answers "database is locked" at once), while a lost race on the insert
        is an IntegrityError, which the caller retries.
        """
        with self.datastore.transaction(commit=False) as c:
            existing = self.find_with(c, keys)
            seen = self.named_with(c, named)
        fresh = pick(existing, seen)
        if not fresh:
            return existing, seen, fresh, []
        with self.datastore.transaction(commit=True) as c:
            return existing, seen, fresh, self.insert_with(c, fresh)

    def backfill(
        self,
        source: str,
        types: list[str],
        key_of: Callable[[str, str], str | None],
        marker: str,
    ) -> int:
        with self.datastore.transaction(commit=False) as c:
            if self.named_with(c, [marker]):
                return 0
        added = 0
        with self.datastore.transaction(commit=True) as c:
            # A write first, so the transaction holds the write lock from its start: a read
            # overtaken by another writer could not become a write later ("database is
            # locked"). A second process doing the same waits here, then finds the marker.
            c.execute(f"INSERT OR IGNORE INTO {CONTENT_TABLE} VALUES (?, 0)", (marker,))
            c.execute("SELECT changes()")
            if c.fetchone()[0] == 0:
                return 0
            after = 0
            while True:
                c.execute(
                    f"SELECT a.position, a.type, e.state FROM {AUDIT_TABLE} a "
                    f"JOIN {self.table} e ON e.rowid = a.position "
                    f"WHERE a.type IN ({','.join('?' * len(types))}) AND a.source = ? "
                    "AND a.position > ? ORDER BY a.position LIMIT 500",
                    [*types, source, after],
                )
                rows = c.fetchall()
                if not rows:
                    break
                keyed = _stored_keys(source, rows, key_of)
                before = self.changes_with(c)
                # The earliest entry naming a key holds it: rows come in log order.
                c.executemany(f"INSERT OR IGNORE INTO {CONTENT_TABLE} VALUES (?, ?)", keyed)
                added += self.changes_with(c) - before
                after = rows[-1][0]
        return added

    def changes_with(self, c: Any) -> int:
        c.execute("SELECT total_changes()")
        return c.fetchone()[0]

    def named_with(self, c: Any, named: list[str]) -> Named:
        """The position of the entry holding each of the content keys `named`."""
        seen: Named = {}
        for start in range(0, len(named), 500):
            chunk = named[start : start + 500]
            c.execute(
                f"SELECT content_key, position FROM {CONTENT_TABLE} "
                f"WHERE content_key IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            seen.update((row[0], row[1]) for row in c.fetchall())
        return seen

    def find_with(self, c: Any, keys: list[str]) -> Found:
        """Position and body of each of `keys` already stored."""
        found: Found = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            c.execute(
                f"SELECT rowid, originator_id, state FROM {self.table} "
                f"WHERE originator_version = 1 AND originator_id IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            for row in c.fetchall():
                fields = orjson.loads(row["state"])
                found[row["originator_id"]] = (
                    row["rowid"],
                    fields["raw"] or fields["data"] or "",
                )
        return found

    def insert_with(self, c: Any, entries: Sequence[NewEntry]) -> list[int]:
        positions = list(self.recorder._insert_events(c, [encode(e) for e in entries]))
        c.executemany(
            f"INSERT INTO {AUDIT_TABLE} VALUES (?, ?, ?, ?, ?, ?)",
            [_audit_row(e, p) for e, p in zip(entries, positions, strict=True)],
        )
        named = _named_rows(entries, positions)
        if named:
            c.executemany(f"INSERT INTO {CONTENT_TABLE} VALUES (?, ?)", named)
        return positions

    def read_with(self, c: Any, after: int, limit: int) -> list[LogEntry]:
        c.execute(
            f"SELECT rowid, state FROM {self.table} WHERE rowid > ? ORDER BY rowid LIMIT ?",
            (after, limit),
        )
        return [decode(row["rowid"], row["state"]) for row in c.fetchall()]

    def max_position(self) -> int:
        with self.datastore.transaction(commit=False) as c:
            return self.max_position_with(c)

    def positions(self, keys: list[str]) -> dict[str, int]:
        rows = self._rows_in("originator_version = 1 AND originator_id", keys)
        return {row["originator_id"]: row["rowid"] for row in rows}

    def keys_at(self, positions: list[int]) -> dict[int, str]:
        return {row["rowid"]: row["originator_id"] for row in self._rows_in("rowid", positions)}

    def _rows_in(self, column: str, values: Sequence[object]) -> list[Any]:
        """The (rowid, originator_id) rows whose `column` is one of `values`, asked for 500 at
        a time to stay under SQLite's limit on a statement's parameters."""
        rows: list[Any] = []
        with self.datastore.transaction(commit=False) as c:
            for start in range(0, len(values), 500):
                chunk = values[start : start + 500]
                c.execute(
                    f"SELECT rowid, originator_id FROM {self.table} "
                    f"WHERE {column} IN ({','.join('?' * len(chunk))})",
                    chunk,
                )
                rows += c.fetchall()
        return rows

    def max_position_with(self, c: Any) -> int:
        c.execute(f"SELECT MAX(rowid) FROM {self.table}")
        return c.fetchone()[0] or 0

    def audit(self, query: AuditQuery, limit: int) -> list[tuple[int, bytes]]:
        where, params = _audit_where(query, "?")
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT a.position, e.state FROM {AUDIT_TABLE} a "
                f"JOIN {self.table} e ON e.rowid = a.position "
                f"WHERE {where} ORDER BY a.position {_audit_order(query)} LIMIT ?",
                [*params, limit],
            )
            return [(row[0], row[1]) for row in c.fetchall()]


class _Postgres:
    """SQL for the PostgreSQL recorder: table `ticketsync_events`, position = notification_id."""

    # Any constant will do: it only has to be the same in every ticketsync process.
    SCHEMA_LOCK = 0x7469636B  # "tick"

    def __init__(self, recorder: Any):
        self.recorder = recorder
        self.datastore = recorder.datastore
        self.schema = self.datastore.schema
        self.table = f'"{self.schema}".{recorder.events_table_name}'
        self.audit_table = f'"{self.schema}".{AUDIT_TABLE}'
        self.content_table = f'"{self.schema}".{CONTENT_TABLE}'

    def create_tables(self) -> None:
        # Processes starting together would race on the library's DDL (CREATE TYPE,
        # CREATE OR REPLACE FUNCTION); a session lock lets one create while the others wait.
        with self.datastore.get_connection() as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (self.SCHEMA_LOCK,))
            try:
                conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
                self.recorder.create_table()
                conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {self.audit_table} ("
                    "position bigint PRIMARY KEY, conversation_id text, ticket text, "
                    "type text NOT NULL, source text NOT NULL, "
                    "recorded_at double precision NOT NULL)"
                )
                for column in ("conversation_id", "ticket", "type"):
                    conn.execute(
                        f"CREATE INDEX IF NOT EXISTS {AUDIT_TABLE}_{column} "
                        f"ON {self.audit_table} ({column}, position)"
                    )
                conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {self.content_table} ("
                    "content_key text PRIMARY KEY, position bigint NOT NULL)"
                )
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (self.SCHEMA_LOCK,))

    def find_then_insert(
        self, keys: list[str], named: list[str], pick: Callable[[Found, Named], list[NewEntry]]
    ) -> tuple[Found, Named, list[NewEntry], list[int]]:
        """Look `keys` and the content keys `named` up, then insert what `pick` chooses, in
        one transaction."""
        with self.datastore.transaction(commit=True) as curs:
            existing = self.find_with(curs, keys)
            seen = self.named_with(curs, named)
            fresh = pick(existing, seen)
            if not fresh:
                return existing, seen, fresh, []
            # The log's lock, notification and insert go to the server together: webhooks
            # wait for this lock, so it is held for fewer round trips.
            with curs.connection.pipeline():
                return existing, seen, fresh, self.insert_with(curs, fresh)

    def backfill(
        self,
        source: str,
        types: list[str],
        key_of: Callable[[str, str], str | None],
        marker: str,
    ) -> int:
        with self.datastore.transaction(commit=False) as curs:
            if self.named_with(curs, [marker]):
                return 0
        added = 0
        with self.datastore.transaction(commit=True) as curs:
            # Processes starting together: one fills, the others wait here, then find the marker.
            curs.execute("SELECT pg_advisory_xact_lock(%s)", (self.SCHEMA_LOCK + 1,))
            if self.named_with(curs, [marker]):
                return 0
            after = 0
            while True:
                curs.execute(
                    f"SELECT a.position, a.type, e.state FROM {self.audit_table} a "
                    f"JOIN {self.table} e ON e.notification_id = a.position "
                    "WHERE a.type = ANY(%s) AND a.source = %s AND a.position > %s "
                    "ORDER BY a.position LIMIT 500",
                    (types, source, after),
                )
                rows = [(r["position"], r["type"], bytes(r["state"])) for r in curs.fetchall()]
                if not rows:
                    break
                keyed = _stored_keys(source, rows, key_of)
                if keyed:
                    # The earliest entry naming a key holds it: rows come in log order.
                    curs.execute(
                        f"INSERT INTO {self.content_table} "
                        "SELECT k, p FROM unnest(%s::text[], %s::bigint[]) "
                        "WITH ORDINALITY AS t(k, p, n) ORDER BY n "
                        "ON CONFLICT (content_key) DO NOTHING",
                        ([key for key, _ in keyed], [position for _, position in keyed]),
                    )
                    added += curs.rowcount
                after = rows[-1][0]
            curs.execute(
                f"INSERT INTO {self.content_table} VALUES (%s, 0) ON CONFLICT DO NOTHING",
                (marker,),
            )
        return added

    def named_with(self, curs: Any, named: list[str]) -> Named:
        """The position of the entry holding each of the content keys `named`."""
        if not named:
            return {}
        curs.execute(
            f"SELECT content_key, position FROM {self.content_table} WHERE content_key = ANY(%s)",
            (named,),
        )
        return {row["content_key"]: row["position"] for row in curs.fetchall()}

    def find_with(self, curs: Any, keys: list[str]) -> Found:
        """Position and body of each of `keys` already stored."""
        curs.execute(
            f"SELECT notification_id, originator_id, state FROM {self.table} "
            "WHERE originator_id = ANY(%s) AND originator_version = 1",
            (keys,),
        )
        found = {}
        for row in curs.fetchall():
            fields = orjson.loads(bytes(row["state"]))
            found[row["originator_id"]] = (
                row["notification_id"],
                fields["raw"] or fields["data"] or "",
            )
        return found

    def insert_with(self, curs: Any, entries: Sequence[NewEntry]) -> list[int]:
        # The recorder's own statements lock the table, notify listeners and insert
        # (RETURNING notification_id); the audit rows join the same transaction. They get a
        # cursor of their own: in pipeline mode, a shared cursor's fetch could be handed the
        # result of a statement queued on it earlier ("the last operation didn't produce
        # records (command status: INSERT 0 1)"), seen under bursts in the projector.
        with curs.connection.cursor() as own:
            self.recorder._insert_stored_events(own, [encode(e) for e in entries])
            positions = [row["notification_id"] for row in own.fetchall()]
        curs.executemany(
            f"INSERT INTO {self.audit_table} VALUES (%s, %s, %s, %s, %s, %s)",
            [_audit_row(e, p) for e, p in zip(entries, positions, strict=True)],
        )
        named = _named_rows(entries, positions)
        if named:
            curs.executemany(f"INSERT INTO {self.content_table} VALUES (%s, %s)", named)
        return positions

    def read_with(self, curs: Any, after: int, limit: int) -> list[LogEntry]:
        curs.execute(
            f"SELECT notification_id, state FROM {self.table} "
            "WHERE notification_id > %s ORDER BY notification_id LIMIT %s",
            (after, limit),
        )
        return [decode(row["notification_id"], bytes(row["state"])) for row in curs.fetchall()]

    def max_position(self) -> int:
        with self.datastore.get_connection() as conn:
            row = conn.execute(f"SELECT MAX(notification_id) AS m FROM {self.table}").fetchone()
        return row["m"] or 0

    def keys_at(self, positions: list[int]) -> dict[int, str]:
        with self.datastore.get_connection() as conn:
            rows = conn.execute(
                f"SELECT notification_id, originator_id FROM {self.table} "
                "WHERE notification_id = ANY(%s)",
                (positions,),
            ).fetchall()
        return {row["notification_id"]: str(row["originator_id"]) for row in rows}

    def max_position_with(self, curs: Any) -> int:
        curs.execute(f"SELECT MAX(notification_id) AS m FROM {self.table}")
        return curs.fetchone()["m"] or 0

    def positions(self, keys: list[str]) -> dict[str, int]:
        with self.datastore.get_connection() as conn:
            rows = conn.execute(
                f"SELECT notification_id, originator_id FROM {self.table} "
                "WHERE originator_id = ANY(%s) AND originator_version = 1",
                (keys,),
            ).fetchall()
        return {row["originator_id"]: row["notification_id"] for row in rows}

    def audit(self, query: AuditQuery, limit: int) -> list[tuple[int, bytes]]:
        where, params = _audit_where(query, "%s")
        with self.datastore.get_connection() as conn:
            rows = conn.execute(
                f"SELECT a.position, e.state FROM {self.audit_table} a "
                f"JOIN {self.table} e ON e.notification_id = a.position "
                f"WHERE {where} ORDER BY a.position {_audit_order(query)} LIMIT %s",
                [*params, limit],
            ).fetchall()
        return [(row["position"], bytes(row["state"])) for row in rows]
