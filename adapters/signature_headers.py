"""What every signed webhook checks first: that its signature headers are there."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ticketsync.events.errors import Refused


def require_present(headers: Mapping[str, str], names: Sequence[str]) -> list[str]:
    """The values of the headers `names` (lower-case), in that order.

    Raises Refused `missing_signature` naming every one that is missing or empty; its
    `field` is the header when just one is.
    """
    values = [headers.get(name) or "" for name in names]
    missing = [name for name, value in zip(names, values, strict=True) if not value]
    if missing:
        raise Refused(
            "missing_signature",
            f"missing header(s): {', '.join(missing)}",
            missing[0] if len(missing) == 1 else None,
        )
    return values
