"""The ledger's writes on a thread of their own, in batches: the event loop never waits on a disk sync.

The event loop (the tick and the sessions) hands requests over with :meth:`LedgerWriter.submit`
(a lock held for a deque append, never a wait on SQLite) and, once a tick, runs the
acknowledgements that came back with :meth:`LedgerWriter.deliver`. The thread takes everything
waiting, up to ``max_batch`` requests, and commits it as one durable transaction
(:meth:`Ledger.write_many`: one ``BEGIN IMMEDIATE`` … ``COMMIT`` with ``synchronous=FULL``, so one
sync per batch instead of one per award). A request's ``done`` runs only after its batch
committed, so whatever it tells a visitor (``awarded``, ``redeemed``) is already on disk.

The thread writes on its own SQLite connection (:meth:`Ledger.reopen`); WAL lets the loop keep
reading on its connection (wallets, stock, perks) while a batch is being written, and what a
delivered acknowledgement announces is visible to the loop's next read.

Nothing waits here without bound: the event hands each (rule, wallet) award over at most once
(:attr:`server.event.rewards.Rewards.done`), a session has at most
:data:`~server.event.session.MAX_REDEEMS_IN_FLIGHT` redemptions waiting, and checkpoints are one
flag, so what is waiting is at most rules × wallets + 8 × sessions + 1.

The writer and the loop share one GIL, so the writer works between ticks: the tick holds it
off (:meth:`LedgerWriter.ticking`) and the writer waits before each request while the tick
runs, unless the ticks have left it no time for a whole tick's length (then it writes for a
short slice regardless, so a saturated loop delays awards but never starves them).

A failed batch is never dropped silently. An ``sqlite3.OperationalError`` (disk full, I/O
error, the database locked past the busy timeout) may pass, so the batch is tried again after
a pause, ``RETRIES`` times; any other error is a fault of one request, so the batch is written
again one request at a time to find it. A request that still fails is logged and acknowledged
as :class:`WriteFailed`, so its sender can say so or try again.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager

from server.storage.ledger import Award, Ledger, LedgerRefusal, Request
from showroom.errors import ShowroomError

log = logging.getLogger("showroom.server")

MAX_BATCH = 2000
"""Requests written in one transaction at most: a batch's sync and signatures take ~0.15 s here."""
RETRIES = 5
"""Attempts at a batch that fails with an ``sqlite3.OperationalError`` before its requests fail."""
RETRY_PAUSE_S = 0.1
"""Pause before the first new attempt; it doubles with each attempt."""
YIELD_S = 0.05
"""Longest the writer waits for a tick to end (one tick at 20 Hz) before it writes regardless."""
SLICE_S = 0.01
"""How long it then writes without waiting: a loop that ticks back to back still leaves the ledger
~1/6 of the time (about 1,000 awards a second here), so awards are late but never starved."""


class WriteFailed(ShowroomError):
    """The ledger could not write a request (logged with its cause); nothing of it was written."""


Written = Award | LedgerRefusal | WriteFailed
"""A request's outcome: what the ledger holds now, why the rules refuse it, or why it was not written."""
Done = Callable[[Request, Written], None]
"""Runs on the event loop (in :meth:`LedgerWriter.deliver`) with a request and its outcome, once known.
Given the request, one handler serves many requests: a drop's thousands make no closure each."""


class LedgerWriter:
    """Owns a ledger's writes: one thread, one connection, batched durable commits, acknowledgements handed back."""

    def __init__(self, ledger: Ledger, *, max_batch: int = MAX_BATCH) -> None:
        """Write to ``ledger``'s database on a connection and thread of its own (the caller reads on ``ledger``)."""
        self._store = ledger.reopen()
        self.max_batch = max_batch
        self._lock = threading.Lock()
        """Guards the inbox against a close, and the acknowledgements between the two threads."""
        self._work = threading.Event()
        """Set when there may be something for the thread to do."""
        self._inbox: deque[tuple[Request, Done]] = deque()
        self._acks: deque[tuple[Done, Request, Written]] = deque()
        self._writing = 0
        self._checkpoint = False
        self._closing = False
        self._loop_free = threading.Event()
        self._loop_free.set()
        self._ticking = 0
        """How deep the loop is in :meth:`ticking` (the loop's thread alone touches it)."""
        self._slice_until = 0.0
        self.on_acks: Callable[[], None] | None = None
        """Called on the writer's thread when acknowledgements came back (the server schedules a
        :meth:`deliver` between ticks with it, so answers need not wait for the next tick)."""
        self._thread = threading.Thread(target=self._run, name="showroom-ledger", daemon=True)
        self._thread.start()

    @property
    def grants(self) -> Mapping[str, str]:
        """Every rule this ledger can award, by id: the entitlement it grants."""
        return self._store.grants

    @property
    def waiting(self) -> int:
        """Requests handed over whose acknowledgement has not been delivered yet."""
        with self._lock:
            return len(self._inbox) + self._writing + len(self._acks)

    # ---- the event loop's side ------------------------------------------------------------
    def submit(self, request: Request, done: Done) -> None:
        """Hand a request to the writer; ``done`` gets it and its outcome in a later :meth:`deliver`.

        About a microsecond: a finale drop hands thousands over in one tick. Raises
        :class:`WriteFailed` once the writer is closing.
        """
        with self._lock:
            if self._closing:
                raise WriteFailed("the ledger writer is closed")
            self._inbox.append((request, done))
        if not self._work.is_set():
            self._work.set()

    @contextmanager
    def ticking(self) -> Iterator[None]:
        """Hold the writer's own work while the event's tick runs: it uses the time between ticks.

        CPython runs one thread's Python at a time, and a writer signing and inserting thousands of
        awards would otherwise take the GIL from the tick every few milliseconds (a 30 ms tick
        became 100 ms during a 5,000-visitor drop). The writer finishes the request at hand (~0.1
        ms) and waits; a disk sync already under way goes on, since it does not hold the GIL. If
        the ticks leave it no time for ``YIELD_S``, it writes for ``SLICE_S`` all the same.
        The loop must not write to the ledger itself meanwhile: it would wait on the writer's lock.
        Nests (the outermost decides), so a caller may hold the writer off around a tick of its own.
        """
        self._ticking += 1
        self._loop_free.clear()
        try:
            yield
        finally:
            self._ticking -= 1
            if not self._ticking:
                self._loop_free.set()

    def checkpoint(self) -> None:
        """Ask for a signed checkpoint after the next batch (one is reused if the log has not grown)."""
        self._checkpoint = True
        self._work.set()

    def deliver(self, limit: int | None = None) -> int:
        """Run the ``done`` of up to ``limit`` (default: all) acknowledgements that came back; return how many."""
        with self._lock:
            count = len(self._acks) if limit is None else min(limit, len(self._acks))
            acks = [self._acks.popleft() for _ in range(count)]
        for done, request, outcome in acks:
            try:
                done(request, outcome)
            except Exception:  # a bug in one reply must not keep the others from their visitors
                log.exception("acknowledging a ledger write failed")
        return count

    def close(self) -> None:
        """Write everything already handed over, sign a last checkpoint if asked, stop the thread, close its connection.

        Acknowledgements still waiting can be delivered afterwards. Blocks: call it off the loop.
        """
        with self._lock:
            self._closing = True
        self._work.set()
        self._thread.join()

    # ---- the thread ---------------------------------------------------------------------------
    def _run(self) -> None:
        """The thread: batches until closed and drained, then the connection is closed."""
        try:
            while True:
                batch, checkpoint = self._next_batch()
                if not batch and not checkpoint:
                    return
                outcomes = self._commit([request for request, _ in batch]) if batch else []
                acks = [(done, request, outcome) for (request, done), outcome in zip(batch, outcomes)]
                with self._lock:
                    self._acks.extend(acks)
                    self._writing = 0
                if acks and self.on_acks is not None:
                    self.on_acks()
                if checkpoint:
                    self._sign_checkpoint()
        finally:
            self._store.close()

    def _next_batch(self) -> tuple[list[tuple[Request, Done]], bool]:
        """Wait for work; take up to ``max_batch`` requests and the checkpoint flag (nothing of either: stop)."""
        while True:
            with self._lock:
                if self._inbox or self._checkpoint or self._closing:
                    count = min(self.max_batch, len(self._inbox))
                    self._writing = count
                    batch = [self._inbox.popleft() for _ in range(count)]
                    checkpoint = self._checkpoint and not self._inbox  # after the last batch of a backlog
                    if checkpoint:
                        self._checkpoint = False
                    return batch, checkpoint
            self._work.wait()
            self._work.clear()

    def _commit(self, requests: Sequence[Request]) -> list[Written]:
        """One transaction for the batch; on failure, the retries and isolation the module docstring describes."""
        attempt = 1
        while True:
            try:
                return [*self._store.write_many(requests, pace=self._pace)]
            except sqlite3.OperationalError as exc:
                log.error("the ledger could not write a batch of %d (attempt %d of %d): %s",
                          len(requests), attempt, RETRIES, exc)
                if attempt == RETRIES:
                    return [WriteFailed(f"the ledger could not write it: {exc}")] * len(requests)
                time.sleep(RETRY_PAUSE_S * 2 ** (attempt - 1))
                attempt += 1
            except Exception:
                log.exception("a ledger batch of %d failed; writing its requests one at a time", len(requests))
                return [self._one(request) for request in requests]

    def _one(self, request: Request) -> Written:
        """A request alone, after its batch failed: its outcome, or :class:`WriteFailed` if it is the fault."""
        try:
            return self._store.write_many([request], pace=self._pace)[0]
        except Exception as exc:
            log.exception("the ledger could not write %s", request)
            return WriteFailed(f"the ledger could not write it: {exc}")

    def _pace(self) -> None:
        """Before each request: wait while the tick runs (see :meth:`ticking`), unless that has already taken a tick."""
        if self._loop_free.is_set() or time.monotonic() < self._slice_until:
            return
        if not self._loop_free.wait(YIELD_S):
            self._slice_until = time.monotonic() + SLICE_S

    def _sign_checkpoint(self) -> None:
        """Sign a checkpoint of the log as committed (a failure is logged: the log itself is intact)."""
        try:
            self._store.checkpoint()
        except Exception:  # the next checkpoint asked for signs one
            log.exception("signing a ledger checkpoint failed")
