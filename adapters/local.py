"""The built-in help desk: tickets kept in ticketsync's own database.

It makes the whole flow work with no outside help desk (`TICKETSYNC_TICKETING=local`, the
default). It follows the same rules as Zendesk where they matter to ticketsync: a closed
ticket refuses changes, and an idempotency key never creates a second ticket.

The adapter is handed a way to open a transaction (a context manager yielding a DB-API
cursor) and the SQL dialect's placeholder, so it works on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from typing import Any

import orjson

from ticketsync.adapters.ports import NotFound, TicketClosed
from ticketsync.events.tickets import Comment, NewTicket, Requester, TicketChange, TicketRef

TICKETS = "ticketsync_local_tickets"
COMMENTS = "ticketsync_local_comments"
_TABLES = re.compile(rf"\b(?:{TICKETS}|{COMMENTS})\b")


def _requester_json(requester: Requester | None) -> str | None:
    if requester is None:
        return None
    return orjson.dumps(
        {"name": requester.name, "email": requester.email, "id": requester.external_id}
    ).decode()


def _number(ticket_id: str) -> int | None:
    """A ticket id as the integer it must be, or None (not ASCII digits, or out of range)."""
    if ticket_id.isascii() and ticket_id.isdigit() and len(ticket_id) <= 18:
        return int(ticket_id)
    return None


@dataclass(frozen=True, kw_only=True)
class LocalComment:
    id: int
    author: str
    body: str
    public: bool
    created_at: float


@dataclass(frozen=True, kw_only=True)
class LocalTicket:
    id: int
    external_id: str
    subject: str
    status: str
    priority: str
    group: str | None
    assignee: str | None
    tags: tuple[str, ...]
    requester: dict[str, Any] | None
    follow_up_of: int | None
    created_at: float
    updated_at: float
    comments: tuple[LocalComment, ...] = ()


class LocalHelpDesk:
    """Tickets in the service's own database (see the module docstring)."""

    system = "local"

    def __init__(
        self,
        transaction: Callable[[], AbstractContextManager[Any]],
        *,
        postgres: bool = False,
        schema: str = "public",
        clock: Callable[[], float] = time.time,
    ):
        self._transaction = transaction
        self._translated: dict[str, str] = {}  # the statements are a fixed few
        self.postgres = postgres
        self.prefix = f'"{schema}".' if postgres else ""
        self.clock = clock
        serial = "BIGSERIAL" if postgres else "INTEGER"
        double = "DOUBLE PRECISION" if postgres else "REAL"
        with self._tx() as run:
            run(
                f"CREATE TABLE IF NOT EXISTS {TICKETS} (id {serial} PRIMARY KEY, idempotency_key TEXT UNIQUE, "
                "external_id TEXT NOT NULL, subject TEXT NOT NULL, status TEXT NOT NULL, priority TEXT NOT NULL, "
                f'"group" TEXT, assignee TEXT, tags TEXT NOT NULL, requester TEXT, follow_up_of BIGINT, '
                f"created_at {double} NOT NULL, updated_at {double} NOT NULL)"
            )
            run(
                f"CREATE TABLE IF NOT EXISTS {COMMENTS} (id {serial} PRIMARY KEY, ticket_id BIGINT NOT NULL, "
                f"author TEXT NOT NULL, body TEXT NOT NULL, public INTEGER NOT NULL, created_at {double} NOT NULL)"
            )
            run(f"CREATE INDEX IF NOT EXISTS {COMMENTS}_ticket ON {COMMENTS} (ticket_id, id)")
            run(f"CREATE INDEX IF NOT EXISTS {TICKETS}_external ON {TICKETS} (external_id)")

    def _dialect(self, sql: str) -> str:
        """The statement for this database: PostgreSQL's placeholders and schema."""
        if not self.postgres:
            return sql
        translated = self._translated.get(sql)
        if translated is None:
            translated = _TABLES.sub(lambda m: self.prefix + m.group(0), sql).replace("?", "%s")
            self._translated[sql] = translated
        return translated

    def _tx(self) -> AbstractContextManager[Callable[..., list[Any]]]:
        store = self

        class _Run:
            def __enter__(self) -> Callable[..., list[Any]]:
                self.context = store._transaction()
                cursor = self.context.__enter__()

                def run(sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
                    """Execute one statement; its rows, if it returns any."""
                    cursor.execute(store._dialect(sql), params)
                    # eventsourcing's SQLite cursor wraps sqlite3's and hides its description.
                    if getattr(cursor, "sqlite_cursor", cursor).description is None:
                        return []  # a statement without rows
                    return list(cursor.fetchall())

                run.cursor = cursor  # type: ignore[attr-defined]
                return run

            def __exit__(self, *exc: Any) -> Any:
                return self.context.__exit__(*exc)

        return _Run()

    # HelpDesk

    def create_ticket(self, ticket: NewTicket, *, idempotency_key: str) -> TicketRef:
        now = self.clock()
        with self._tx() as run:
            existing = run(
                f"SELECT id, status FROM {TICKETS} WHERE idempotency_key = ?", (idempotency_key,)
            )
            if existing:
                return self._ref(existing[0]["id"], existing[0]["status"])
            requester = _requester_json(ticket.requester)
            rows = run(
                f"INSERT INTO {TICKETS} (idempotency_key, external_id, subject, status, priority, "
                '"group", assignee, tags, requester, follow_up_of, created_at, updated_at) '
                "VALUES (?, ?, ?, 'new', ?, ?, NULL, ?, ?, ?, ?, ?) RETURNING id",
                (
                    idempotency_key,
                    ticket.external_id,
                    ticket.subject,
                    ticket.priority,
                    ticket.group,
                    orjson.dumps(list(ticket.tags)).decode(),
                    requester,
                    int(ticket.follow_up_of) if ticket.follow_up_of else None,
                    now,
                    now,
                ),
            )
            ticket_id = rows[0]["id"]
            self._comment(run, ticket_id, "ticketsync", ticket.summary, public=False, now=now)
        return self._ref(ticket_id, "new")

    def find_tickets(self, external_id: str) -> list[TicketRef]:
        with self._tx() as run:
            rows = run(
                f"SELECT id, status FROM {TICKETS} WHERE external_id = ? ORDER BY id",
                (external_id,),
            )
        return [self._ref(row["id"], row["status"]) for row in rows]

    def add_comment(self, ticket_id: str, comment: Comment) -> None:
        now = self.clock()
        with self._tx() as run:
            ticket = self._open_ticket(run, ticket_id)
            author = "requester" if comment.by_requester else "ticketsync"
            self._comment(run, ticket["id"], author, comment.body, public=comment.public, now=now)

    def has_comment(self, ticket_id: str, body: str) -> bool:
        number = _number(ticket_id)
        if number is None:
            return False
        with self._tx() as run:
            rows = run(f"SELECT 1 FROM {COMMENTS} WHERE ticket_id = ? AND body = ?", (number, body))
        return bool(rows)

    def change_ticket(self, ticket_id: str, change: TicketChange) -> TicketRef:
        now = self.clock()
        with self._tx() as run:
            ticket = self._open_ticket(run, ticket_id)
            tags = list(orjson.loads(ticket["tags"]))
            tags += [tag for tag in change.add_tags if tag not in tags]
            status = change.status or ticket["status"]
            run(
                f'UPDATE {TICKETS} SET status = ?, priority = ?, "group" = ?, assignee = ?, tags = ?, '
                "requester = ?, updated_at = ? WHERE id = ?",
                (
                    status,
                    change.priority or ticket["priority"],
                    change.group or ticket["group"],
                    change.assignee or ticket["assignee"],
                    orjson.dumps(tags).decode(),
                    _requester_json(change.requester) or ticket["requester"],
                    now,
                    ticket["id"],
                ),
            )
        return self._ref(ticket["id"], status)

    # Acting as an agent (POST /tickets/local/{id}/comments, PATCH /tickets/local/{id})

    def agent_comment(
        self,
        ticket_id: str,
        *,
        author: str,
        body: str,
        public: bool,
        also: Callable[[Any, LocalTicket, int], None],
    ) -> int:
        """Add an agent's comment; `also(cursor, ticket, comment_id)` runs in the same transaction.

        Raises NotFound or TicketClosed.
        """
        now = self.clock()
        with self._tx() as run:
            row = self._open_ticket(run, ticket_id)
            rows = run(
                f"INSERT INTO {COMMENTS} (ticket_id, author, body, public, created_at) "
                "VALUES (?, ?, ?, ?, ?) RETURNING id",
                (row["id"], author, body, int(public), now),
            )
            run(f"UPDATE {TICKETS} SET updated_at = ? WHERE id = ?", (now, row["id"]))
            also(run.cursor, self._ticket_of(row), rows[0]["id"])  # type: ignore[attr-defined]
            return rows[0]["id"]

    def agent_change(
        self,
        ticket_id: str,
        change: TicketChange,
        *,
        also: Callable[[Any, LocalTicket, LocalTicket], None],
    ) -> LocalTicket:
        """Change fields as an agent; `also(cursor, before, after)` runs in the same transaction.

        As in Zendesk, a closed ticket takes no changes: raises TicketClosed, or NotFound.
        """
        now = self.clock()
        with self._tx() as run:
            row = self._open_ticket(run, ticket_id)
            before = self._ticket_of(row)
            run(
                f'UPDATE {TICKETS} SET status = ?, priority = ?, "group" = ?, assignee = ?, updated_at = ? '
                "WHERE id = ?",
                (
                    change.status or row["status"],
                    change.priority or row["priority"],
                    change.group if change.group is not None else row["group"],
                    change.assignee if change.assignee is not None else row["assignee"],
                    now,
                    row["id"],
                ),
            )
            after = self._ticket_of(run(f"SELECT * FROM {TICKETS} WHERE id = ?", (row["id"],))[0])
            also(run.cursor, before, after)  # type: ignore[attr-defined]
            return after

    # Reading, for GET /tickets/local/{id}

    def ticket(self, ticket_id: str) -> LocalTicket | None:
        number = _number(ticket_id)
        if number is None:
            return None
        with self._tx() as run:
            rows = run(f"SELECT * FROM {TICKETS} WHERE id = ?", (number,))
            if not rows:
                return None
            comments = run(
                f"SELECT id, author, body, public, created_at FROM {COMMENTS} WHERE ticket_id = ? ORDER BY id",
                (number,),
            )
        return replace(
            self._ticket_of(rows[0]),
            comments=tuple(
                LocalComment(
                    id=c["id"],
                    author=c["author"],
                    body=c["body"],
                    public=bool(c["public"]),
                    created_at=c["created_at"],
                )
                for c in comments
            ),
        )

    def _ticket_of(self, row: Any) -> LocalTicket:
        return LocalTicket(
            id=row["id"],
            external_id=row["external_id"],
            subject=row["subject"],
            status=row["status"],
            priority=row["priority"],
            group=row["group"],
            assignee=row["assignee"],
            tags=tuple(orjson.loads(row["tags"])),
            requester=orjson.loads(row["requester"]) if row["requester"] else None,
            follow_up_of=row["follow_up_of"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    # Helpers

    def _ref(self, ticket_id: int, status: str) -> TicketRef:
        return TicketRef(
            system="local", id=str(ticket_id), url=f"/tickets/local/{ticket_id}", status=status
        )  # type: ignore[arg-type]

    def _open_ticket(self, run: Callable[..., list[Any]], ticket_id: str) -> Any:
        number = _number(ticket_id)
        rows = run(f"SELECT * FROM {TICKETS} WHERE id = ?", (number,)) if number is not None else []
        if not rows:
            raise NotFound(f"local ticket {ticket_id} does not exist", status=404)
        if rows[0]["status"] == "closed":
            raise TicketClosed(f"local ticket {ticket_id} is closed", status=422)
        return rows[0]

    def _comment(
        self,
        run: Callable[..., list[Any]],
        ticket_id: int,
        author: str,
        body: str,
        *,
        public: bool,
        now: float,
    ) -> None:
        run(
            f"INSERT INTO {COMMENTS} (ticket_id, author, body, public, created_at) VALUES (?, ?, ?, ?, ?)",
            (ticket_id, author, body, int(public), now),
        )
