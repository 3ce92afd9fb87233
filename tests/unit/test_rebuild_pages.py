"""A rebuild folds each page with the cyclic garbage collector paused, and restores it."""

from __future__ import annotations

import gc

import pytest

from service.rebuild import collector_paused


def test_the_collector_is_paused_for_a_page_and_enabled_again() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_failed_page_enables_the_collector_again() -> None:
    with pytest.raises(ValueError, match="page failed"), collector_paused():
        raise ValueError("page failed")
    assert gc.isenabled()


def test_a_collector_disabled_by_the_host_stays_disabled() -> None:
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
