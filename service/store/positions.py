"""Projection positions: how far each projection has read the log (the tracking table).

A projection moves its position in the same transaction as what it wrote for the entries
it read, so a crash never applies an entry twice or skips one.
"""

from __future__ import annotations

from collections.abc import Iterable

from ticketsync.events.errors import TicketsyncError
from ticketsync.service.store.transaction import StoreBase, TxBase, rowcount

TRACKING = "ticketsync_tracking"


class PositionMoved(TicketsyncError):
    """Another runner advanced this projection first; this transaction was rolled back."""


def ddl() -> list[str]:
    return [
        f"CREATE TABLE IF NOT EXISTS {TRACKING} (projection TEXT PRIMARY KEY, position BIGINT NOT NULL)"
    ]


class PositionStatements(TxBase):
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
        if rowcount(cursor) != 1:
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


class Positions(StoreBase):
    def register(self, projections: Iterable[str]) -> None:
        """Start `projections` at the log's beginning if the log is empty (a new database).

        A projection with no position on a database whose log is not empty is new to this
        deployment, and builds itself silently from the log
        (service.workers.rebuild.build_new).
        """
        with self.transaction() as tx:
            if self.log._sql.max_position_with(tx.cursor) == 0:
                for name in projections:
                    tx.execute(
                        f"INSERT INTO {TRACKING} (projection, position) VALUES (?, 0) "
                        "ON CONFLICT (projection) DO NOTHING",
                        (name,),
                    )

    def projection_positions(self) -> dict[str, int]:
        with self.reading() as tx:
            return {
                row["projection"]: row["position"]
                for row in tx.rows(f"SELECT projection, position FROM {TRACKING}")
            }
