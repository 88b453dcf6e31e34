"""Work that must not run on the event loop (durable store writes, image decoding), as seen by the
sans-I/O event logic: hand it over with :meth:`Jobs.submit` and get its outcome back, later, on
the loop. The network layer runs it on worker threads (:class:`server.net.workers.ThreadJobs`);
tests and benchmarks run it at once (:class:`InlineJobs`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Literal, Protocol, TypeVar

T = TypeVar("T")

Lane = Literal["store", "images"]
"""Jobs of one lane run one at a time, in order: ``store`` writes are serialised (one writer),
``images`` are decoded apart so a large upload never delays a vote."""


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What a job gave: its value, or the exception it raised."""

    value: T | None = None
    error: BaseException | None = None

    def get(self) -> T:
        """The value, or the job's exception raised again."""
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]


class Busy(Exception):
    """A lane has too many jobs waiting: the request is refused rather than queued without bound."""


class Jobs(Protocol):
    """Somewhere to run blocking work."""

    def submit(self, lane: Lane, work: Callable[[], T], done: Callable[[Outcome[T]], None]) -> None:
        """Run ``work`` in ``lane``; call ``done`` with its outcome on the event loop. Raises
        :class:`Busy` when the lane is full."""


def hand_over(jobs: Jobs, lane: Lane, work: Callable[[], T], done: Callable[[Outcome[T]], None]) -> None:
    """Submit ``work``; a full lane is answered as a refusal the client may retry."""
    from showroom.protocol.errors import ErrorCode, ProtocolError

    try:
        jobs.submit(lane, work, done)
    except Busy as exc:
        raise ProtocolError(ErrorCode.REFUSED, f"busy: {exc}; try again in a moment") from None


class InlineJobs:
    """Runs every job at once, in the caller's thread (tests, benchmarks, tools)."""

    def submit(self, lane: Lane, work: Callable[[], T], done: Callable[[Outcome[T]], None]) -> None:
        """Run ``work`` now and hand its outcome to ``done``."""
        try:
            outcome: Outcome[T] = Outcome(value=work())
        except Exception as exc:  # the job's own failure is its outcome
            outcome = Outcome(error=exc)
        done(outcome)
