"""The Zendesk emulator (tests/emulators/zendesk.py) as the benchmarks' help desk.

It runs on a thread of the benchmark's own process, on 127.0.0.1; ticketsync is pointed at
it through its Zendesk settings, and its tickets tell which conversations got one, and
whether any got two.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator

from common import ROOT

sys.path.insert(0, str(ROOT))
from tests.emulators.zendesk import ZendeskEmulator, serve

EMAIL = "bench@example.com"
TOKEN = "bench-token"


@contextlib.contextmanager
def zendesk() -> Iterator[tuple[ZendeskEmulator, dict[str, str]]]:
    """A fresh emulator, served; yields it and the settings that point ticketsync at it."""
    emulator = ZendeskEmulator(email=EMAIL, api_token=TOKEN)
    with serve(emulator) as url:
        yield (
            emulator,
            {
                "TICKETSYNC_TICKETING": "zendesk",
                "TICKETSYNC_ZENDESK_URL": url,
                "TICKETSYNC_ZENDESK_EMAIL": EMAIL,
                "TICKETSYNC_ZENDESK_API_TOKEN": TOKEN,
                "TICKETSYNC_ZENDESK_WEBHOOK_SECRET": "bench-zendesk-secret",
            },
        )


def ticket_counts(emulator: ZendeskEmulator) -> Counter[str]:
    """How many tickets each conversation has in the emulator (by the ticket's external id)."""
    return Counter(
        ticket["external_id"] for ticket in emulator.tickets() if ticket.get("external_id")
    )


def tickets_once(emulator: ZendeskEmulator, expected: Iterable[str]) -> dict[str, int]:
    """The emulator's tickets against the conversations that should each have one."""
    counts = ticket_counts(emulator)
    wanted = set(expected)
    return {
        "expected": len(wanted),
        "made": sum(1 for cid in wanted if counts[cid]),
        "duplicates": sum(n - 1 for n in counts.values() if n > 1),
        "unexpected": sum(1 for cid in counts if cid not in wanted),
        "creates_received": len(emulator.creates()),
    }


def wait_for_tickets(
    emulator: ZendeskEmulator, expected: Iterable[str], timeout: float
) -> float | None:
    """Wait until every expected conversation has a ticket; when that was, or None."""
    wanted = set(expected)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = ticket_counts(emulator)
        if all(counts[cid] for cid in wanted):
            return time.time()
        time.sleep(0.05)
    return None
