"""How far the service has got: the log's position and each projection's lag.

Shared by GET /healthz and the console's overview.
"""

from __future__ import annotations

from ticketsync.service.bootstrap import Container


def positions(container: Container) -> tuple[int, dict[str, int]]:
    """The log's position, and each projection's (one not started yet is at 0)."""
    at = {container.projector.name: 0}
    at.update(container.store.projection_positions())
    return container.log.position(), at


def lags(position: int, projections: dict[str, int]) -> dict[str, dict[str, int]]:
    """Each projection's position and how many log entries it has still to read."""
    return {
        name: {"position": at, "lag": max(0, position - at)} for name, at in projections.items()
    }
