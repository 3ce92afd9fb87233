"""What a rebuild needs beside the read models: its claim, its scratch tables, the switch.

A rebuild folds the log into scratch copies of the read models, compares or switches them
with the live ones in one transaction, and holds a claim with a heartbeat meanwhile, so two
rebuilds of one projection never run at once. Its progress (events read of how many, and
its state) is kept in a table of its own, page by page and after it ends, so that any
process can tell how the running or last rebuild is doing (the metrics read it there).
"""

from __future__ import annotations

import hashlib
from typing import Any

from ticketsync.service.store.read_models import LIVE, ModelTables
from ticketsync.service.store.transaction import StoreBase, TxBase

REBUILDS = "ticketsync_rebuilds"
REBUILD_PROGRESS = "ticketsync_rebuild_progress"


def ddl(postgres: bool) -> list[str]:
    double = "DOUBLE PRECISION" if postgres else "REAL"
    return [
        f"CREATE TABLE IF NOT EXISTS {REBUILDS} (projection TEXT PRIMARY KEY, rebuild_id TEXT NOT NULL, "
        f"heartbeat {double} NOT NULL)",
        # One row per projection: its running or last rebuild (the claim above is deleted
        # when a rebuild ends; this row stays).
        f"CREATE TABLE IF NOT EXISTS {REBUILD_PROGRESS} (projection TEXT PRIMARY KEY, "
        "rebuild_id TEXT NOT NULL, state TEXT NOT NULL, events_read BIGINT NOT NULL, "
        f"position BIGINT NOT NULL, head BIGINT NOT NULL, updated_at {double} NOT NULL)",
    ]


class RebuildStatements(TxBase):
    def record_rebuild(self, projection: str, rebuild_id: str, progress: Any, now: float) -> None:
        """Keep a rebuild's progress (its state, events_read, position and head), in this
        transaction: with the page it folded, if any."""
        self.execute(
            f"INSERT INTO {REBUILD_PROGRESS} (projection, rebuild_id, state, events_read, "
            "position, head, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (projection) "
            "DO UPDATE SET rebuild_id = excluded.rebuild_id, state = excluded.state, "
            "events_read = excluded.events_read, position = excluded.position, "
            "head = excluded.head, updated_at = excluded.updated_at",
            (
                projection,
                rebuild_id,
                progress.state,
                progress.events_read,
                progress.position,
                max(progress.head, progress.position),
                now,
            ),
        )

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


class RebuildTables(StoreBase):
    def create_scratch(self, tables: ModelTables) -> None:
        with self.transaction() as tx:
            for statement in tables.ddl():
                tx.execute(statement.replace("CREATE TABLE IF NOT EXISTS", "CREATE TABLE"))

    def drop_scratch(self, tables: ModelTables) -> None:
        with self.transaction() as tx:
            for table in (tables.conversations, tables.tickets):
                tx.execute(f"DROP TABLE IF EXISTS {table}")

    def rebuild_claims(self, now: float, stale_after: float = 60.0) -> list[tuple[str, str]]:
        """(projection, rebuild id) of every rebuild that runs now, in any process."""
        with self.reading() as tx:
            rows = tx.rows(
                f"SELECT projection, rebuild_id FROM {REBUILDS} WHERE heartbeat > ? "
                "ORDER BY projection",
                (now - stale_after,),
            )
        return [(row["projection"], row["rebuild_id"]) for row in rows]

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

    def record_rebuild(self, projection: str, rebuild_id: str, progress: Any, now: float) -> None:
        """Keep a rebuild's progress, in a transaction of its own."""
        with self.transaction() as tx:
            tx.record_rebuild(projection, rebuild_id, progress, now)

    def rebuild_progress(self) -> list[dict[str, Any]]:
        """Each projection's running or last rebuild: projection, state, events_read,
        position and head."""
        with self.reading() as tx:
            rows = tx.rows(
                f"SELECT projection, state, events_read, position, head FROM {REBUILD_PROGRESS} "
                "ORDER BY projection"
            )
        return [dict(row) for row in rows]

    def release_rebuild(self, projection: str, rebuild_id: str) -> None:
        with self.transaction() as tx:
            tx.execute(
                f"DELETE FROM {REBUILDS} WHERE projection = ? AND rebuild_id = ?",
                (projection, rebuild_id),
            )
