"""Group commit without a thread of its own: callers that arrive together share one write.

The first caller to find no write in progress writes everything handed in so far, its own
item and the others', in one call of `write`; the rest wait for that write and return its
result for their item. A caller whose item came in after the write began waits for it to
end, then one of the waiting callers writes the next batch. Nobody returns before their own
item is written, so "returned" still means "committed".
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class _Slot(Generic[T, R]):
    __slots__ = ("done", "error", "item", "result")

    def __init__(self, item: T):
        self.item = item
        self.result: R | None = None
        self.error: BaseException | None = None
        self.done = False


class Batched(Generic[T, R]):
    """Calls `write(items)` for batches of items handed to `__call__` by concurrent callers.

    `write` returns one result per item, in order; a result that is an exception is raised
    to that item's caller only. An exception from `write` itself is raised to every caller
    of the batch.
    """

    def __init__(self, write: Callable[[list[T]], list[R | BaseException]], max_batch: int = 64):
        self.write = write
        self.max_batch = max_batch
        self._changed = threading.Condition()
        self._pending: list[_Slot[T, R]] = []
        self._writing = False

    def __call__(self, item: T) -> R:
        slot: _Slot[T, R] = _Slot(item)
        with self._changed:
            self._pending.append(slot)
        while True:
            with self._changed:
                while self._writing and not slot.done:
                    self._changed.wait()
                if slot.done:
                    return self._outcome(slot)
                # No write in progress and ours not written: lead the next one. With more
                # than max_batch waiting, ours may not be in it; then the loop goes again.
                self._writing = True
                batch = self._pending[: self.max_batch]
                del self._pending[: self.max_batch]
            try:
                self._write(batch)
            finally:
                with self._changed:
                    self._writing = False
                    self._changed.notify_all()

    def _write(self, batch: list[_Slot[T, R]]) -> None:
        try:
            results = self.write([slot.item for slot in batch])
        except BaseException as error:
            results = [error] * len(batch)
        for slot, result in zip(batch, results, strict=True):
            if isinstance(result, BaseException):
                slot.error = result
            else:
                slot.result = result
            slot.done = True

    @staticmethod
    def _outcome(slot: _Slot[T, R]) -> R:
        if slot.error is not None:
            raise slot.error
        return slot.result  # type: ignore[return-value]
