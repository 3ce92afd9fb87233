"""A rebuild folds its pages with the cyclic garbage collector paused, and restores it."""

from __future__ import annotations

import gc

import pytest

from ticketsync.service.workers.rebuild import PausedCollector


@pytest.fixture
def collections(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The generations the collector was asked to collect, instead of collecting them."""
    asked: list[int] = []
    monkeypatch.setattr(gc, "collect", asked.append)
    return asked


def test_the_collector_is_paused_for_the_fold_and_enabled_again() -> None:
    assert gc.isenabled()
    with PausedCollector():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_young_objects_are_collected_every_few_pages(collections: list[int]) -> None:
    with PausedCollector(every=3) as collector:
        for _ in range(7):
            collector.page_done()
            assert not gc.isenabled()
    assert collections == [1, 1]


def test_a_failed_fold_enables_the_collector_again() -> None:
    with pytest.raises(ValueError, match="page failed"), PausedCollector():
        raise ValueError("page failed")
    assert gc.isenabled()


def test_a_collector_disabled_by_the_host_stays_disabled(collections: list[int]) -> None:
    gc.disable()
    try:
        with PausedCollector(every=1) as collector:
            collector.page_done()
        assert not gc.isenabled()
        assert collections == []
    finally:
        gc.enable()
