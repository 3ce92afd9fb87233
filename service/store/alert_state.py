"""The alert decision's state: the incidents open now (projections/alerts.py), one row.

Written in the same transaction as the alert projection's position and the alert calls it
queued, so a crash neither loses an alert nor sends one twice.
"""

from __future__ import annotations

from ticketsync.service.store.positions import TRACKING
from ticketsync.service.store.transaction import TxBase

ALERT_STATE = "ticketsync_alert_state"


def ddl() -> list[str]:
    return [
        f"CREATE TABLE IF NOT EXISTS {ALERT_STATE} (name TEXT PRIMARY KEY, state TEXT NOT NULL)"
    ]


class AlertStateStatements(TxBase):
    def alert_state(self, name: str) -> str | None:
        rows = self.rows(f"SELECT state FROM {ALERT_STATE} WHERE name = ?", (name,))
        return rows[0]["state"] if rows else None

    def put_alert_state(self, name: str, state: str) -> None:
        self.execute(
            f"INSERT INTO {ALERT_STATE} (name, state) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET state = excluded.state",
            (name, state),
        )

    def start_at_head(self, projection: str) -> None:
        """Give `projection` a position at the log's newest entry, unless it has one.

        Alerts are about what happens from now on: an alert projection new to a database
        with a history must not tell of every call that was ever parked.
        """
        head = self.store.log._sql.max_position_with(self.cursor)
        self.execute(
            f"INSERT INTO {TRACKING} (projection, position) VALUES (?, ?) "
            "ON CONFLICT (projection) DO NOTHING",
            (projection, head),
        )
