"""The console's sign-in throttle: five wrong tokens a minute per address, bounded state."""

from __future__ import annotations

from ticketsync.service.http.console.throttle import SignInThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_five_wrong_tokens_in_a_minute_make_the_address_wait() -> None:
    clock = Clock()
    throttle = SignInThrottle(clock)
    for _ in range(4):
        throttle.failed("10.0.0.1")
        clock.now += 1
    assert throttle.wait("10.0.0.1") is None
    throttle.failed("10.0.0.1")
    # The first failure was at 1000 and the clock reads 1004: it ages out at 1060.
    assert throttle.wait("10.0.0.1") == 56
    assert throttle.wait("10.0.0.2") is None


def test_the_wait_ends_as_the_oldest_failure_leaves_the_window() -> None:
    clock = Clock()
    throttle = SignInThrottle(clock)
    for _ in range(5):
        throttle.failed("a")
    clock.now += 59.5
    assert throttle.wait("a") == 1
    clock.now += 0.5
    assert throttle.wait("a") is None
    assert len(throttle) == 0


def test_failures_spread_over_more_than_a_minute_never_make_anyone_wait() -> None:
    clock = Clock()
    throttle = SignInThrottle(clock)
    for _ in range(20):
        throttle.failed("a")
        assert throttle.wait("a") is None
        clock.now += 15


def test_state_is_bounded_however_many_addresses_fail() -> None:
    clock = Clock()
    throttle = SignInThrottle(clock, addresses=100)
    for number in range(10_000):
        throttle.failed(f"10.{number}")
        throttle.failed("kept")
    assert len(throttle) == 100
    # The address failing all along is the most recent one, so it is never forgotten.
    assert throttle.wait("kept") is not None
