"""The help-desk users ticketsync has acted as, kept so that their changes coming back
are recognised as echoes, by the live projection and by a rebuild (which calls no help desk)."""

from __future__ import annotations

from collections.abc import Iterable

from ticketsync.service.store.transaction import StoreBase

DESK_USERS = "ticketsync_desk_users"


def ddl() -> list[str]:
    return [
        f"CREATE TABLE IF NOT EXISTS {DESK_USERS} (system TEXT NOT NULL, user_id TEXT NOT NULL, "
        "PRIMARY KEY (system, user_id))"
    ]


class DeskUsers(StoreBase):
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
