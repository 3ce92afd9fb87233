"""One transaction on the log's database: SQL in its dialect, committed or rolled back whole.

`StoreBase` and `TxBase` are what every table module builds on; `service.store.tables`
composes them with the statements of each table into the `Store` and `Tx` the rest of the
service uses.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

from eventsourcing.persistence import PersistenceError

from ticketsync.events.errors import StoreUnavailable
from ticketsync.service.store.entries import LogEntry, NewEntry
from ticketsync.service.store.log import EventLog

# Statements kept translated for PostgreSQL; the fixed ones are a few dozen.
MAX_TRANSLATED = 4096


def rowcount(cursor: Any) -> int:
    """The rows the cursor's last statement changed."""
    # eventsourcing's SQLite cursor wraps sqlite3's and hides its rowcount.
    count = getattr(cursor, "rowcount", None)
    return cursor.sqlite_cursor.rowcount if count is None else count


def table_names(*names: str) -> re.Pattern[str]:
    """Matches our tables, and the scratch copies a rebuild makes of them ("<table>__r<id>").

    Index names such as ticketsync_outbox_due do not match, since an index is never qualified.
    """
    return re.compile(rf"\b(?:{'|'.join(names)})(?:__r[0-9a-f]+)?\b")


class TxBase:
    """The statements of one transaction. SQL is written with `?` and adapted per dialect."""

    def __init__(self, store: StoreBase, cursor: Any):
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


class StoreBase:
    """Transactions on the log's own connections, for the tables beside it."""

    # Set by the composed store: its transaction type and the tables it qualifies.
    tx_type: ClassVar[type[TxBase]] = TxBase
    table_pattern: ClassVar[re.Pattern[str]] = table_names("ticketsync_tracking")

    def __init__(self, log: EventLog):
        self.log = log
        self.datastore = log._sql.datastore
        self.postgres = log.database.kind == "postgres"
        self.prefix = f'"{log.database.schema}".' if self.postgres else ""
        self._translated: dict[str, str] = {}

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
            translated = self.table_pattern.sub(lambda m: self.prefix + m.group(0), text).replace(
                "?", "%s"
            )
            self._translated[text] = translated
        return translated

    @contextlib.contextmanager
    def transaction(self, *, durable: bool = True, pipelined: bool = False) -> Iterator[Any]:
        """One transaction; committed when the block ends, rolled back if it raises.

        Not `durable` (PostgreSQL): the commit returns before its WAL reaches the disk. Only
        for work redone from the log if a crash of PostgreSQL loses it (see docs/reliability.md).
        `pipelined`: the whole block as in `Tx.pipeline`.
        """
        try:
            with self.writing() as cursor:
                tx = self.tx_type(self, cursor)
                with tx.pipeline() if pipelined else contextlib.nullcontext():
                    if not durable and self.postgres:
                        cursor.execute("SET LOCAL synchronous_commit TO OFF")
                    yield tx
        except PersistenceError as error:
            self.log.failed()
            raise StoreUnavailable(str(error)) from error

    @contextlib.contextmanager
    def writing(self) -> Iterator[Any]:
        """A write transaction's cursor. On SQLite it holds the write lock from its start.

        A SQLite transaction that reads and then writes cannot take the write lock once
        another process's writer has moved past what it read: SQLite answers "database is
        locked" at once, without waiting. Taken first (BEGIN IMMEDIATE), the lock is waited
        for, up to the busy timeout, and the reads that follow see the latest commit.
        """
        with self.datastore.transaction(commit=True) as cursor:
            if not self.postgres:
                # The library has begun a deferred transaction, with nothing in it yet.
                cursor.execute("COMMIT")
                cursor.execute("BEGIN IMMEDIATE")
            yield cursor

    @contextlib.contextmanager
    def reading(self) -> Iterator[Any]:
        try:
            with self.datastore.transaction(commit=False) as cursor:
                yield self.tx_type(self, cursor)
        except PersistenceError as error:
            self.log.failed()
            raise StoreUnavailable(str(error)) from error
