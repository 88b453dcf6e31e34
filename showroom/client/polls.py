"""The live poll overlay's state: the poll shown, my answer (sent once, confirmed by the server),
live or final counts, and when the overlay closes itself. Plain data, no panda3d.

A poll arrives as a ``poll`` event (a cell event when the host opens it, a personal one on
joining while it is open); ``poll_results`` bring counts (live polls about once a second,
every poll when it closes, ``final``); ``poll_answered`` confirms my answer. While the overlay
waits for my answer the number keys answer it (:attr:`PollBook.takes_keys`); after that they are
reactions again.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from showroom.protocol import community as cm

CLOSE_AFTER_S = 6.0
"""The overlay stays this long after the final results, then closes itself."""
QUEUED_MAX = 8


@dataclass
class PollView:
    """One poll as the overlay shows it."""

    poll: str
    question: str
    options: list[str]
    results: str
    """``live`` or ``on_close``."""
    community: str | None
    opened_s: float
    counts: list[int] | None = None
    final: bool = False
    chosen: int | None = None
    """The option I sent (None: not answered yet)."""
    confirmed: bool = False
    """The server counted my answer (``poll_answered``)."""
    closed_s: float | None = None
    refused: str = ""
    """Why my answer was refused (shown on the overlay)."""

    @property
    def waiting(self) -> bool:
        """Open and not answered by me yet."""
        return self.chosen is None and not self.final and not self.refused

    def shares(self) -> list[float]:
        """Each option's share of the answers (0-1), zeros before any count."""
        counts = self.counts or [0] * len(self.options)
        total = sum(counts)
        return [c / total if total else 0.0 for c in counts]

    def footer(self) -> str:
        """The line under the options: what the keys do, or where my answer stands."""
        if self.refused:
            return f"Not counted: {self.refused}"
        if self.final:
            return "Final results" + (f"  |  you answered {self.chosen + 1}" if self.chosen is not None else "")
        if self.chosen is None:
            keys = f"1-{min(len(self.options), 9)}"
            return f"Press {keys} or click to answer. Until you do, number keys answer this poll, not react."
        if not self.confirmed:
            return f"Sending your answer {self.chosen + 1}..."
        if self.results == "on_close":
            return f"Your answer {self.chosen + 1} is counted  |  results at close"
        return f"Your answer {self.chosen + 1} is counted  |  live results"

    def bars_shown(self) -> bool:
        """Whether the overlay draws result bars (live polls once counts came, every poll at close)."""
        return self.counts is not None and (self.final or self.results == "live")


@dataclass
class PollBook:
    """The poll on screen and those waiting behind it."""

    current: PollView | None = None
    waiting: deque[PollView] = field(default_factory=lambda: deque(maxlen=QUEUED_MAX))
    done: set[str] = field(default_factory=set)
    """Polls shown to the end (a repeat ``poll`` event for one of them is ignored)."""

    def opened(self, event: cm.PollState, now_s: float) -> None:
        """A ``poll`` event: show it (or queue it behind the one on screen)."""
        if event.poll in self.done or self._find(event.poll) is not None:
            return
        view = PollView(event.poll, event.question, list(event.options), event.results, event.community, now_s)
        if self.current is None:
            self.current = view
        else:
            self.waiting.append(view)

    def results(self, event: cm.PollResultsEvent, now_s: float) -> None:
        """A ``poll_results`` event: new counts (``final``: the poll closed)."""
        view = self._find(event.poll)
        if view is None:
            return
        view.counts = list(event.counts)
        if event.final and not view.final:
            view.final = True
            view.closed_s = now_s

    def answered(self, event: cm.PollAnswered) -> None:
        """A ``poll_answered`` event: my answer is counted."""
        view = self._find(event.poll)
        if view is not None:
            view.chosen = event.option
            view.confirmed = True

    def refused(self, message: str) -> None:
        """My answer was refused (an ``error`` whose ``ref`` is ``poll_answer``)."""
        view = self.current
        if view is not None and view.chosen is not None and not view.confirmed:
            view.refused = message
            if message.startswith("already_answered"):
                view.refused, view.confirmed = "", True  # counted before (another device, a resumed visit)

    def answer(self, option: int) -> cm.PollAnswer | None:
        """My answer to the poll on screen: the message to send, once; None when there is nothing to answer."""
        view = self.current
        if view is None or not view.waiting or not 0 <= option < len(view.options):
            return None
        view.chosen = option
        return cm.PollAnswer(poll=view.poll, option=option)

    @property
    def takes_keys(self) -> bool:
        """Whether the number keys answer the poll (instead of reacting)."""
        return self.current is not None and self.current.waiting

    def dismiss(self) -> None:
        """Close the overlay now (the next queued poll shows)."""
        if self.current is not None:
            self.done.add(self.current.poll)
        self.current = self.waiting.popleft() if self.waiting else None

    def tick(self, now_s: float) -> None:
        """Close the overlay a few seconds after its final results."""
        view = self.current
        if view is not None and view.closed_s is not None and now_s - view.closed_s >= CLOSE_AFTER_S:
            self.dismiss()

    def _find(self, poll: str) -> PollView | None:
        if self.current is not None and self.current.poll == poll:
            return self.current
        return next((v for v in self.waiting if v.poll == poll), None)
