"""Group commit without a writer thread: concurrent callers share writes, and each gets its own result."""

from __future__ import annotations

import threading

import pytest

from tests.support import wait_until
from ticketsync.service.workers.batching import Batched


class Writer:
    """Records each batch; the first write waits until `release` is set, so others pile up."""

    def __init__(self, fail: set[str] = frozenset(), explode: bool = False):
        self.batches: list[list[str]] = []
        self.started = threading.Event()
        self.release = threading.Event()
        self.fail = fail
        self.explode = explode

    def __call__(self, items: list[str]) -> list[object]:
        self.batches.append(list(items))
        if len(self.batches) == 1:
            self.started.set()
            assert self.release.wait(10)
        if self.explode and len(self.batches) > 1:
            raise OSError("store down")
        return [ValueError(item) if item in self.fail else item.upper() for item in items]


def call_all(batched: Batched, items: list[str], writer: Writer) -> dict[str, object]:
    """Call `batched` from one thread per item: the first alone, the rest while it writes."""
    results: dict[str, object] = {}

    def run(item: str) -> None:
        try:
            results[item] = batched(item)
        except Exception as error:
            results[item] = error

    first = threading.Thread(target=run, args=(items[0],))
    first.start()
    assert writer.started.wait(10)
    others = [threading.Thread(target=run, args=(item,)) for item in items[1:]]
    for thread in others:
        thread.start()
    # Every other caller has handed its item in before the first write ends.
    wait_until(lambda: len(batched._pending) == len(others))
    writer.release.set()
    for thread in [first, *others]:
        thread.join(10)
    return results


def test_callers_waiting_on_a_write_share_the_next_one() -> None:
    writer = Writer()
    results = call_all(Batched(writer), ["a", "b", "c", "d"], writer)
    assert results == {"a": "A", "b": "B", "c": "C", "d": "D"}
    assert writer.batches[0] == ["a"]
    assert sorted(writer.batches[1]) == ["b", "c", "d"]
    assert len(writer.batches) == 2


def test_a_batch_is_at_most_max_batch_and_nobody_is_left_behind() -> None:
    writer = Writer()
    items = [f"i{n}" for n in range(10)]
    results = call_all(Batched(writer, max_batch=3), items, writer)
    assert results == {item: item.upper() for item in items}
    assert all(len(batch) <= 3 for batch in writer.batches)
    assert sorted(item for batch in writer.batches for item in batch) == sorted(items)


def test_an_item_that_fails_fails_only_its_caller() -> None:
    writer = Writer(fail={"c"})
    results = call_all(Batched(writer), ["a", "b", "c"], writer)
    assert results["b"] == "B"
    assert isinstance(results["c"], ValueError)


def test_a_failed_write_fails_every_caller_in_it_and_the_next_write_goes_on() -> None:
    writer = Writer(explode=True)
    batched = Batched(writer)
    results = call_all(batched, ["a", "b", "c"], writer)
    assert results["a"] == "A"
    assert all(isinstance(results[item], OSError) for item in ("b", "c"))
    writer.explode = False
    assert batched("d") == "D"


def test_a_lone_caller_writes_at_once() -> None:
    writer = Writer()
    writer.release.set()
    batched = Batched(writer)
    assert [batched("x"), batched("y")] == ["X", "Y"]
    assert writer.batches == [["x"], ["y"]]
    failing = Writer(fail={"z"})
    failing.release.set()
    with pytest.raises(ValueError, match="z"):
        Batched(failing)("z")
