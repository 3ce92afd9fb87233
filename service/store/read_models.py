"""The conversation read models: each conversation's state and its tickets', as JSON rows.

A rebuild writes the same tables under other names (`ModelTables.scratch`), so every
statement here takes the tables it works on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ticketsync.service.store.transaction import StoreBase, TxBase

CONVERSATIONS = "ticketsync_conversations"
TICKETS = "ticketsync_tickets"


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


class ReadModelStatements(TxBase):
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


class ReadModels(StoreBase):
    """Reads for the API and the CLI."""

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

    def find_conversations(self, text: str, limit: int = 50) -> list[tuple[str, str]]:
        """(conversation id, state) of the conversations whose id or customer's name, email
        or id holds `text` (any case), the most recently changed first."""
        pattern = "%" + _like_escaped(text.lower()) + "%"
        if self.postgres:
            fields = [
                f"(state::jsonb) #>> '{{customer,{name}}}'" for name in ("id", "email", "name")
            ]
        else:
            fields = [
                f"json_extract(state, '$.customer.{name}')" for name in ("id", "email", "name")
            ]
        where = " OR ".join(
            f"LOWER(COALESCE({field}, '')) LIKE ? ESCAPE '\\'"
            for field in ["conversation_id", *fields]
        )
        with self.reading() as tx:
            rows = tx.rows(
                f"SELECT conversation_id, state FROM {CONVERSATIONS} WHERE {where} "
                "ORDER BY position DESC, conversation_id LIMIT ?",
                [pattern] * 4 + [limit],
            )
        return [(row["conversation_id"], row["state"]) for row in rows]


def _like_escaped(text: str) -> str:
    """`text` matched literally by LIKE ... ESCAPE '\\': its wildcards escaped."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
