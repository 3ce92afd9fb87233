"""Projection rebuilds: replay the whole log into fresh read models, with no outside effects.

A rebuild folds the log, page by page, into scratch tables beside the live ones, with the
same pure `apply` the live projection uses. Nothing is sent, queued or appended: the calls
it decides are compared with the ones decided live (the outbox), and the differences are
reported (a changed routing file, say), not acted on. Once it has caught up with the live
projection, it takes the projection's turn, reads the last entries the live one has
applied, and swaps the tables in that same transaction, so the service answers from the
old models throughout and never from half-built ones. A check (`verify`) does all of this
but compares checksums instead of swapping. Memory stays flat: one page at a time.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from ticketsync.events.errors import TicketsyncError
from ticketsync.projections.conversation import Conversation, Policy
from ticketsync.service.store.entries import LogEntry
from ticketsync.service.store.read_models import LIVE, ModelTables
from ticketsync.service.store.tables import Store, Tx
from ticketsync.service.workers.projector import (
    NAME,
    ConversationProjector,
    Page,
    ParseStored,
    write_models,
)

logger = logging.getLogger(__name__)

PROJECTIONS = (NAME,)
MAX_REPORTED = 100
# Bigger than the live projection's pages: fewer commits, and memory is still one page.
REBUILD_PAGE = 2000
# Pages folded between two passes of the garbage collector over the young objects.
COLLECT_EVERY = 10


class RebuildRefused(TicketsyncError):
    """A rebuild cannot start: an unknown projection, or one being rebuilt already."""


class RebuildCancelled(TicketsyncError):
    """The rebuild was stopped before it switched; the live models are as they were."""


@dataclass
class Progress:
    """What a rebuild has done so far; read by the CLI's progress bar and GET /admin/rebuild."""

    rebuild_id: str
    projections: tuple[str, ...]
    check: bool = False
    state: str = "running"  # running | done | failed | cancelled
    events_read: int = 0
    head: int = 0
    position: int = 0
    started: float = field(default_factory=time.monotonic)
    elapsed: float = 0.0
    differences: list[dict[str, Any]] = field(default_factory=list)
    difference_count: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    checksums: dict[str, Any] = field(default_factory=dict)
    matches: bool | None = None
    error: str | None = None

    @property
    def rate(self) -> float:
        spent = self.elapsed or (time.monotonic() - self.started)
        return self.events_read / spent if spent > 0 else 0.0

    @property
    def eta(self) -> float | None:
        rate = self.rate
        return max(0.0, (self.head - self.position) / rate) if rate > 0 else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.rebuild_id,
            "projections": list(self.projections),
            "check": self.check,
            "state": self.state,
            "events_read": self.events_read,
            "position": self.position,
            "head": self.head,
            "events_per_second": round(self.rate, 1),
            "eta_seconds": None if self.eta is None else round(self.eta, 1),
            "elapsed_seconds": round(self.elapsed or (time.monotonic() - self.started), 3),
            "rows": self.rows,
            "differences": self.difference_count,
            "differences_shown": self.differences,
            "checksums": self.checksums,
            "matches": self.matches,
            "error": self.error,
        }


class PausedCollector:
    """The cyclic garbage collector paused while a rebuild folds its pages, then restored.

    A page allocates hundreds of thousands of small objects and frees nearly all of them by
    reference counting. Left running, the collector passed over them every 700 allocations;
    let back on after each page, its first pass over what the page still held cost as much
    again. Paused for the whole fold, it runs only on the young objects every
    `every` pages (`page_done`), so that cycles a page leaves cannot pile up and memory stays
    a few pages' worth. A collector the host had disabled stays disabled.
    """

    def __init__(self, every: int = COLLECT_EVERY):
        self.every = every
        self.pages = 0
        self._was_enabled = False

    def __enter__(self) -> PausedCollector:
        self._was_enabled = gc.isenabled()
        gc.disable()
        return self

    def page_done(self) -> None:
        self.pages += 1
        if self._was_enabled and self.pages % self.every == 0:
            gc.collect(1)

    def __exit__(self, *exc_info: object) -> None:
        if self._was_enabled:
            gc.enable()


def check_names(names: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The projections to rebuild (all when none is named); raises RebuildRefused for an unknown name."""
    unknown = [name for name in names if name not in PROJECTIONS]
    if unknown:
        raise RebuildRefused(
            f"unknown projection {unknown[0]!r}; projections are: {', '.join(PROJECTIONS)}"
        )
    return tuple(dict.fromkeys(names)) or PROJECTIONS


class Rebuild:
    """One rebuild (or check) of the conversation projection."""

    def __init__(
        self,
        store: Store,
        policy: Policy,
        *,
        check: bool = False,
        clock: Callable[[], float] = time.time,
        page: int = REBUILD_PAGE,
        on_progress: Callable[[Progress], None] | None = None,
        cancel: threading.Event | None = None,
        initial: bool = False,
        parse_stored: Mapping[str, ParseStored],
    ):
        self.store = store
        # `parse_stored`: as the live projector reads them, entries stored before ingest
        # kept the typed event (bootstrap's PARSE_STORED).
        self.projector = ConversationProjector(store, policy, clock, parse_stored=parse_stored)
        self.clock = clock
        self.page = page
        self.rebuild_id = uuid.uuid4().hex[:12]
        self.tables = ModelTables.scratch(self.rebuild_id)
        self.progress = Progress(rebuild_id=self.rebuild_id, projections=PROJECTIONS, check=check)
        self.on_progress = on_progress
        self.cancel = cancel or threading.Event()
        self.initial = initial

    def claim(self) -> None:
        """Take the projection for this rebuild; raises RebuildRefused when another has it."""
        running = self.store.claim_rebuild(NAME, self.rebuild_id, self.clock())
        if running is not None:
            raise RebuildRefused(
                f"projection {NAME!r} is being rebuilt already (rebuild {running})"
            )
        self.store.record_rebuild(NAME, self.rebuild_id, self.progress, self.clock())

    def run(self) -> Progress:
        """Rebuild (or check); returns the final progress. Raises RebuildCancelled."""
        progress = self.progress
        try:
            self.store.create_scratch(self.tables)
            position = self._catch_up()
            self._finish(position)
            progress.state = "done"
        except RebuildCancelled:
            progress.state = "cancelled"
            raise
        except BaseException as error:
            progress.state = "cancelled" if isinstance(error, KeyboardInterrupt) else "failed"
            progress.error = f"{type(error).__name__}: {error}"
            raise
        finally:
            progress.elapsed = time.monotonic() - progress.started
            self.store.drop_scratch(self.tables)
            self.store.release_rebuild(NAME, self.rebuild_id)
            self._record(progress)
            self._report()
        return progress

    def _record(self, progress: Progress) -> None:
        """Keep how the rebuild ended where every process can read it (the metrics do)."""
        try:
            self.store.record_rebuild(NAME, self.rebuild_id, progress, self.clock())
        except Exception:
            # Only the figures are lost; the rebuild's own outcome stands.
            logger.warning("rebuild.progress_not_recorded", extra={"rebuild_id": self.rebuild_id})

    def _report(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.progress)

    def _entries(self, tx: Tx, after: int, upto: int) -> list[LogEntry]:
        """The entries in (after, upto], at most one page of them."""
        return [e for e in tx.read(after, self.page) if e.position <= upto]

    def _page(self, tx: Tx, after: int, upto: int) -> int:
        """Fold the entries in (after, upto] (at most one page) into the scratch tables."""
        entries = self._entries(tx, after, upto)
        if not entries:
            return after
        page = self.projector.fold(tx, entries, self.tables, record=False)
        self._store(tx, page, after, entries[-1].position, len(entries))
        return entries[-1].position

    def _store(self, tx: Tx, page: Page, after: int, upto: int, count: int) -> None:
        """Write a folded page of (after, upto] to the scratch tables and compare its calls."""
        write_models(tx, page, upto, self.tables)
        self._compare(tx, page.decided, after, upto)
        self.progress.events_read += count
        self.progress.position = upto
        # One row per page, with the page: a scrape in any process sees how far it is.
        tx.record_rebuild(NAME, self.rebuild_id, self.progress, self.clock())

    def _compare(self, tx: Tx, decided: list[tuple[str, str]], after: int, upto: int) -> None:
        """Report calls decided now but not live, or live but not now, for positions in (after, upto]."""
        rebuilt = set(decided)
        live = tx.calls_caused(after, upto)
        if rebuilt == live:
            return
        for side, found in (("rebuild", rebuilt - live), ("live", live - rebuilt)):
            for call_id, kind in sorted(found):
                self.progress.difference_count += 1
                if len(self.progress.differences) < MAX_REPORTED:
                    self.progress.differences.append(
                        {"call_id": call_id, "kind": kind, "decided_by": side}
                    )

    def _catch_up(self) -> int:
        """Fold pages until within one page of the live projection; returns the position reached.

        Each page is folded while the one before it is being written, by a thread of its own:
        on PostgreSQL most of a write is waiting for the server. The conversations the page
        being written changed are taken from memory instead of being read back. The live
        position is looked up again only once the fold has come within a page of the one
        seen last, in the transaction that reads the page.
        """
        position = live = 0
        last_beat = self.clock()
        with (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="rebuild-writer") as writer,
            PausedCollector() as collector,
        ):
            writing: Future[None] | None = None
            written: dict[str, Conversation] = {}
            try:
                while True:
                    if self.cancel.is_set():
                        raise RebuildCancelled("rebuild cancelled; the live models are unchanged")
                    with self.store.reading() as tx:
                        if live - position <= self.page:
                            live = self._target(tx)
                            self.progress.head = max(live, self.progress.head)
                            if live - position <= self.page:
                                break
                        entries = self._entries(tx, position, live)
                        if not entries:
                            break
                        page = self.projector.fold(
                            tx, entries, self.tables, record=False, known=written
                        )
                    if writing is not None:
                        writing.result()  # the page before: written, or its error raised
                    upto = entries[-1].position
                    writing = writer.submit(self._write, page, position, upto, len(entries))
                    written, position = page.conversations, upto
                    collector.page_done()
                    if self.clock() - last_beat > 10:
                        self.store.heartbeat_rebuild(NAME, self.rebuild_id, self.clock())
                        last_beat = self.clock()
                    self._report()
            except BaseException:
                if writing is not None:
                    wait([writing])  # the scratch tables are dropped next; let it end first
                raise
            if writing is not None:
                writing.result()
        return position

    def _write(self, page: Page, after: int, upto: int, count: int) -> None:
        """`_store` in a transaction of its own (the writer thread's)."""
        with self.store.transaction() as tx:
            self._store(tx, page, after, upto, count)

    def _finish(self, position: int) -> None:
        """Take the projection's turn, apply what the live one has, then switch (or compare)."""
        progress = self.progress
        for _ in range(50):
            before = (
                progress.events_read,
                progress.position,
                progress.difference_count,
                len(progress.differences),
            )
            try:
                with self.store.transaction() as tx:
                    tx.lock_projection(NAME)
                    target = self._target(tx)
                    reached = position
                    while reached < target:
                        reached = self._page(tx, reached, target)
                    progress.head = target
                    scratch = tx.checksums(self.tables)
                    progress.rows = {model: sums["rows"] for model, sums in scratch.items()}
                    if progress.check:
                        current = tx.checksums(LIVE)
                        progress.checksums = {"rebuilt": scratch, "live": current}
                        progress.matches = scratch == current
                    else:
                        tx.switch(self.tables)
                        if self.initial:
                            tx.move(NAME, tx.position(NAME), reached)
                return
            except TicketsyncError as error:
                # SQLite: the live projection committed after this transaction began reading;
                # nothing of it was kept, so read again. (PostgreSQL waits for its turn.)
                logger.info(
                    "rebuild.retry_switch",
                    extra={"rebuild_id": self.rebuild_id, "error": str(error)},
                )
                progress.events_read, progress.position, progress.difference_count, kept = before
                del progress.differences[kept:]
                time.sleep(0.05)
        raise TicketsyncError("the live projection kept moving; the rebuild could not switch")

    def _target(self, tx: Tx) -> int:
        """Where the rebuild must end: the live projection's position, or for a new one the log's head."""
        return (
            self.store.log._sql.max_position_with(tx.cursor) if self.initial else tx.position(NAME)
        )


def build_new(
    store: Store,
    policy: Policy,
    parse_stored: Mapping[str, ParseStored],
    clock: Callable[[], float] = time.time,
) -> Progress | None:
    """Build the projection silently from the whole log when it has never run on this database.

    A projection added to the code starts here: it folds the existing log without deciding
    anything anew (those decisions were made, or not, before it existed), then goes live.
    Returns None when there was nothing to build.
    """
    with store.reading() as tx:
        known = NAME in {
            row["projection"] for row in tx.rows("SELECT projection FROM ticketsync_tracking")
        }
    if known or store.log.position() == 0:
        return None
    rebuild = Rebuild(store, policy, clock=clock, initial=True, parse_stored=parse_stored)
    rebuild.claim()
    logger.info("projection.building", extra={"projection": NAME})
    progress = rebuild.run()
    logger.info("projection.built", extra={"projection": NAME, "events": progress.events_read})
    return progress
