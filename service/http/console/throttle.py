"""How often one address may get the admin token wrong at the console's sign-in.

After `limit` wrong tokens from one address within `window` seconds, every sign-in from
that address is refused (429, with the seconds until the oldest of them ages out) until
the window has passed (docs/behaviour.md, Limits). The state is bounded: at most
`limit` times per address, and at most `addresses` addresses, the one whose last
failure is oldest forgotten first, so a flood of addresses costs memory it cannot grow.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from collections.abc import Callable


class SignInThrottle:
    """Wrong sign-ins counted per address over a sliding window."""

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        limit: int = 5,
        window: float = 60.0,
        addresses: int = 4096,
    ):
        self.clock = clock
        self.limit = limit
        self.window = window
        self.addresses = addresses
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def wait(self, address: str) -> int | None:
        """Seconds the address must wait before trying again, or None when it may try now."""
        failures = self._recent(address)
        if failures is None or len(failures) < self.limit:
            return None
        return max(1, math.ceil(failures[0] + self.window - self.clock()))

    def failed(self, address: str) -> None:
        """Count one wrong token from the address."""
        failures = self._recent(address)
        if failures is None:
            failures = self._failures[address] = deque(maxlen=self.limit)
            while len(self._failures) > self.addresses:
                self._failures.popitem(last=False)
        failures.append(self.clock())
        self._failures.move_to_end(address)

    def _recent(self, address: str) -> deque[float] | None:
        """The address's failures still inside the window (None when there are none)."""
        failures = self._failures.get(address)
        if failures is None:
            return None
        horizon = self.clock() - self.window
        while failures and failures[0] <= horizon:
            failures.popleft()
        if not failures:
            del self._failures[address]
            return None
        return failures

    def __len__(self) -> int:
        return len(self._failures)
