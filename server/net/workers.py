"""Worker threads for the event's blocking work: one thread per lane, outcomes handed back to the loop."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from server.event.jobs import Busy, Lane, Outcome

log = logging.getLogger("showroom.server")

T = TypeVar("T")

MAX_WAITING = 5000
"""Jobs one lane may hold waiting; beyond this new work is refused (:class:`Busy`), never queued without bound."""


class ThreadJobs:
    """Runs each lane's jobs in order on its own thread and calls ``done`` on the event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, max_waiting: int = MAX_WAITING) -> None:
        self.loop = loop
        self.max_waiting = max_waiting
        self.lanes: dict[str, ThreadPoolExecutor] = {}
        self.waiting: dict[str, int] = {}
        self._lock = threading.Lock()

    def submit(self, lane: Lane, work: Callable[[], T], done: Callable[[Outcome[T]], None]) -> None:
        """Queue ``work`` on ``lane``'s thread; ``done`` runs on the loop with its outcome."""
        with self._lock:
            if self.waiting.get(lane, 0) >= self.max_waiting:
                raise Busy(f"{self.waiting[lane]} {lane} jobs are waiting")
            self.waiting[lane] = self.waiting.get(lane, 0) + 1
            executor = self.lanes.get(lane)
            if executor is None:
                executor = self.lanes[lane] = ThreadPoolExecutor(1, thread_name_prefix=f"showroom-{lane}")

        def finished(future: Future[T]) -> None:
            with self._lock:
                self.waiting[lane] -= 1
            error = future.exception()
            outcome: Outcome[T] = Outcome(error=error) if error is not None else Outcome(value=future.result())
            try:
                self.loop.call_soon_threadsafe(_deliver, done, outcome)
            except RuntimeError:  # the loop is closed: the server stopped while the job ran
                log.warning("a %s job finished after the server stopped", lane)

        executor.submit(work).add_done_callback(finished)

    def close(self) -> None:
        """Finish the jobs already queued, then stop the threads."""
        for executor in self.lanes.values():
            executor.shutdown(wait=True)


def _deliver(done: Callable[[Outcome[T]], None], outcome: Outcome[T]) -> None:
    try:
        done(outcome)
    except Exception:  # a bug in one reply must not take the loop down
        log.exception("handling the outcome of a job failed")
