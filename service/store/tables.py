"""The store: the tables beside the log, in its database, and the one transaction over them.

Everything a projection writes for one page of the log (views, outbox calls, its own log
entries, its new position) goes through one `Store.transaction()`, so a crash never
applies an event twice or skips one, and a decision never loses the call it asked for.

Each table has a module of its own (positions, read_models, calls, desk_users, rebuilds,
alert_state)
with its statements for a transaction and its reads; `Tx` and `Store` here put them together.
"""

from __future__ import annotations

from ticketsync.service.store import alert_state, calls, desk_users, positions, rebuilds
from ticketsync.service.store.alert_state import ALERT_STATE, AlertStateStatements
from ticketsync.service.store.calls import Calls, CallStatements
from ticketsync.service.store.desk_users import DESK_USERS, DeskUsers
from ticketsync.service.store.log import EventLog
from ticketsync.service.store.positions import TRACKING, Positions, PositionStatements
from ticketsync.service.store.read_models import (
    CONVERSATIONS,
    LIVE,
    TICKETS,
    ReadModels,
    ReadModelStatements,
)
from ticketsync.service.store.rebuilds import (
    REBUILD_PROGRESS,
    REBUILDS,
    RebuildStatements,
    RebuildTables,
)
from ticketsync.service.store.transaction import table_names


class Tx(
    PositionStatements,
    ReadModelStatements,
    CallStatements,
    RebuildStatements,
    AlertStateStatements,
):
    """The statements of one transaction over every table beside the log."""


class Store(Positions, ReadModels, Calls, DeskUsers, RebuildTables):
    """The tables beside the log, on the log's own connections."""

    tx_type = Tx
    table_pattern = table_names(
        TRACKING,
        CONVERSATIONS,
        TICKETS,
        calls.OUTBOX,
        REBUILDS,
        REBUILD_PROGRESS,
        DESK_USERS,
        ALERT_STATE,
    )

    def __init__(self, log: EventLog):
        super().__init__(log)
        self._create()

    def _create(self) -> None:
        statements = [
            *positions.ddl(),
            *LIVE.ddl(),
            *calls.ddl(self.postgres),
            *desk_users.ddl(),
            *rebuilds.ddl(self.postgres),
            *alert_state.ddl(),
        ]
        with self.transaction() as tx:
            if self.postgres:
                # One process creates; others starting at the same moment wait for it.
                tx.execute("SELECT pg_advisory_xact_lock(?)", (0x7469636C,))
            for statement in statements:
                tx.execute(statement)
