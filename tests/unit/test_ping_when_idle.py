"""When a pooled PostgreSQL connection is pinged before use: idle, or after a failure."""

from __future__ import annotations

import pytest

from ticketsync.service.store.log import PingWhenIdle


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Pool:
    def __init__(self) -> None:
        self._check = None
        self.checked = 0

    def check(self) -> None:
        self.checked += 1


class Connection:
    pass


def setup(dead: set[Connection] | None = None) -> tuple[PingWhenIdle, Clock, list[Connection]]:
    pinged: list[Connection] = []

    def ping(conn: Connection) -> None:
        pinged.append(conn)
        if dead and conn in dead:
            raise OSError("server closed the connection")

    clock = Clock()
    return PingWhenIdle(fresh=1.0, after_failure=10.0, clock=clock, ping=ping), clock, pinged


def test_a_connection_in_use_is_not_pinged_again_an_idle_one_is() -> None:
    check, clock, pinged = setup()
    a, b = Connection(), Connection()
    check(a)
    check(b)
    assert pinged == [a, b]  # never seen: pinged
    clock.now += 0.5
    check(a)
    clock.now += 0.9
    check(a)
    assert pinged == [a, b]  # used less than a second before, each time
    check(b)
    assert pinged == [a, b, b]  # idle for 1.4 s


def test_after_a_failure_every_checkout_is_pinged_for_a_while() -> None:
    check, clock, pinged = setup()
    a = Connection()
    check(a)
    check.failed()
    for _ in range(20):  # busy, every half second, for the ten seconds after the failure
        clock.now += 0.5
        check(a)
    assert len(pinged) == 1 + 19  # the last checkout came when the ten seconds were over


def test_a_failed_ping_has_the_whole_pool_checked_and_is_raised() -> None:
    a = Connection()
    check, _, _ = setup(dead={a})
    pool = Pool()
    check.install(pool)
    assert pool._check is check
    with pytest.raises(OSError, match="closed"):
        check(a)
    assert pool.checked == 1


def test_a_pool_without_the_expected_attribute_is_refused() -> None:
    check, _, _ = setup()
    with pytest.raises(TypeError, match="psycopg_pool"):
        check.install(object())
