"""The outbox as GET /outbox, `ticketsync outbox list` and the console read it: one page at a
time, with the cursor of the next (docs/behaviour.md, "Limits": every listing is paged)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ticketsync.service.queries import views
from ticketsync.service.queries.audit import MAX_POSITION, BadQuery
from ticketsync.service.store.tables import Store

STATES = ("pending", "parked", "done")
MAX_LIMIT = 1000
# The parameters of GET /outbox; the HTTP layer refuses any other.
FILTERS = ("state", "after", "limit")


@dataclass(frozen=True)
class OutboxQuery:
    """One page of the outbox: the calls of `state` (or all) after the cursor `after`."""

    state: str | None = None
    after: int = 0
    limit: int = MAX_LIMIT


def _whole(text: str) -> bool:
    """ASCII digits only, no longer than the largest cursor: int() also takes '²' and ' 1'."""
    return text.isascii() and text.isdigit() and len(text) <= 19


def query_from(params: Mapping[str, str | None]) -> OutboxQuery:
    """An OutboxQuery from the listing's parameters (absent ones None or left out); raises
    BadQuery naming the one at fault."""
    state = params.get("state")
    if state is not None and state not in STATES:
        raise BadQuery("state", "state must be pending, parked or done")
    after = params.get("after")
    if after is not None and (not _whole(after) or int(after) > MAX_POSITION):
        raise BadQuery("after", "after must be the 'next' cursor of a previous page")
    limit = params.get("limit")
    if limit is not None and (not _whole(limit) or not 1 <= int(limit) <= MAX_LIMIT):
        raise BadQuery("limit", f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return OutboxQuery(
        state=state,
        after=int(after) if after is not None else 0,
        limit=int(limit) if limit is not None else MAX_LIMIT,
    )


def page(store: Store, query: OutboxQuery) -> tuple[list[dict[str, Any]], str | None]:
    """One page of calls as GET /outbox shows them, and the next page's cursor (or None)."""
    calls, cursor = store.calls_page(query.state, query.after, query.limit)
    return [views.call(call) for call in calls], None if cursor is None else str(cursor)
