"""Live polls: a host starts one, every shard's visitors answer once per wallet, results go out
live (about once a second while answers come) or when the poll closes.

Sans-I/O: durable writes go through :class:`~server.event.jobs.Jobs` (the ``store`` lane);
a poll is announced only once it is stored, and an answer is confirmed only once it is
counted in the store, so a restart loses neither. Counts kept here mirror the store's.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from server.event.jobs import Jobs, Outcome, hand_over
from server.storage.community_store import CommunityRefusal, CommunityStore, Poll
from showroom.protocol.community import PollAnswered, PollResultsEvent, PollState
from showroom.protocol.errors import ErrorCode, ProtocolError
from showroom.protocol.server_messages import ServerMessage

RESULTS_EVERY_S = 1.0
"""Live results go out at most this often per poll."""
MAX_OPEN_POLLS = 32
"""Polls open at once on one event (a host's typo must not grow the server)."""

Reply = Callable[[ServerMessage], None]
Fault = Callable[[ErrorCode, str], None]


@dataclass
class LivePoll:
    """An open poll and its counts."""

    poll: Poll
    counts: list[int]
    changed: bool = False
    last_sent: float = 0.0
    closing: bool = False
    answering: set[str] = field(default_factory=set)
    """Wallets whose answer is being written (a second one meanwhile is refused at once)."""


def iso(at: float) -> str:
    """Unix seconds as RFC 3339 UTC."""
    return dt.datetime.fromtimestamp(at, dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def state_of(poll: Poll, counts: list[int] | None = None) -> PollState:
    """The ``poll`` message of a poll (with its final ``counts`` once closed)."""
    return PollState(poll=poll.id, question=poll.question, options=list(poll.options), results=poll.results,
                     closes_at=None if poll.closes_at is None else iso(poll.closes_at),
                     community=poll.owner if poll.scope == "community" else None, counts=counts)


class Polls:
    """The open polls of one event (and of the communities it serves)."""

    def __init__(self, event_id: str, store: CommunityStore, jobs: Jobs, broadcast: Callable[[ServerMessage], None],
                 may_answer: Callable[[Poll, str], str | None]) -> None:
        self.event_id = event_id
        self.store = store
        self.jobs = jobs
        self.broadcast = broadcast
        self.may_answer = may_answer
        """Why ``wallet`` may not answer ``poll`` (a community poll is for members), or None."""
        self.open: dict[str, LivePoll] = {}
        self._numbers = itertools.count(1)

    def resume(self, owners: list[str]) -> None:
        """After a restart: take up the open polls of the event and its communities, with their counts."""
        for owner in owners:
            for poll in self.store.polls(owner, open_only=True):
                self.open[poll.id] = LivePoll(poll, self.store.tally(poll.id))
        taken = [int(p[len(self._prefix()):]) for p in self.open if p.startswith(self._prefix())
                 and p[len(self._prefix()):].isdigit()]
        self._numbers = itertools.count(max(taken, default=0) + 1)

    def _prefix(self) -> str:
        return f"{self.event_id[:40]}-p"

    def start(self, question: str, options: list[str], results: str, seconds: float | None, community: str | None,
              wall: float, reply: Reply, fault: Fault) -> None:
        """Open a poll: stored first, then announced in every shard (one tick) and answered to the host."""
        if len(self.open) >= MAX_OPEN_POLLS:
            raise ProtocolError(ErrorCode.REFUSED, f"busy: {MAX_OPEN_POLLS} polls are open; close one first")
        poll_id = f"{self._prefix()}{next(self._numbers)}"
        while self.store.poll(poll_id) is not None:  # ids of polls of earlier runs are not reused
            poll_id = f"{self._prefix()}{next(self._numbers)}"
        poll = Poll(poll_id, "community" if community else "event", community or self.event_id, question,
                    tuple(options), results, wall, None if seconds is None else wall + seconds, None)  # type: ignore[arg-type]

        def opened(outcome: Outcome[Poll]) -> None:
            if outcome.error is not None:
                fault(ErrorCode.REFUSED, f"the poll could not be stored: {outcome.error}")
                return
            stored = outcome.get()
            self.open[stored.id] = LivePoll(stored, [0] * len(stored.options))
            state = state_of(stored)
            self.broadcast(state)
            reply(state)
        hand_over(self.jobs, "store", lambda: self.store.open_poll(poll), opened)

    def close(self, poll_id: str, wall: float, reply: Reply | None = None, fault: Fault | None = None) -> None:
        """Close a poll now: stored, then its final counts go to every shard."""
        live = self.open.get(poll_id)
        if live is None or live.closing:
            raise ProtocolError(ErrorCode.UNKNOWN_TARGET, f"no open poll {poll_id!r} (open: {', '.join(self.open) or 'none'})")
        live.closing = True

        def closed(outcome: Outcome[Poll]) -> None:
            if outcome.error is not None:
                live.closing = False
                if fault is not None:
                    fault(ErrorCode.REFUSED, f"the poll could not be closed: {outcome.error}")
                return
            self.open.pop(poll_id, None)
            counts = list(live.counts)
            self.broadcast(PollResultsEvent(poll=poll_id, counts=counts, final=True))
            if reply is not None:
                reply(state_of(outcome.get(), counts))
        hand_over(self.jobs, "store", lambda: self.store.close_poll(poll_id, wall), closed)

    def answer(self, poll_id: str, option: int, wallet: str, wall: float, personal: Reply, fault: Fault) -> None:
        """Count a wallet's one answer; confirm it with a personal ``poll_answered`` once stored."""
        live = self.open.get(poll_id)
        if live is None:
            raise ProtocolError(ErrorCode.UNKNOWN_TARGET, f"no open poll {poll_id!r}")
        if not 0 <= option < len(live.poll.options):
            raise ProtocolError(ErrorCode.REFUSED, f"bad_option: the poll has options 0 to {len(live.poll.options) - 1}")
        why = self.may_answer(live.poll, wallet)
        if why is not None:
            raise ProtocolError(ErrorCode.REFUSED, why)
        if wallet in live.answering:
            raise ProtocolError(ErrorCode.REFUSED, "already_answered: your answer to this poll is being counted")
        live.answering.add(wallet)

        def counted(outcome: Outcome[object]) -> None:
            live.answering.discard(wallet)
            if isinstance(outcome.error, CommunityRefusal):
                fault(ErrorCode.REFUSED, f"{outcome.error.reason}: {outcome.error}")
                return
            if outcome.error is not None:
                fault(ErrorCode.REFUSED, f"your answer could not be stored: {outcome.error}")
                return
            live.counts[option] += 1
            live.changed = True
            personal(PollAnswered(poll=poll_id, option=option))
        hand_over(self.jobs, "store", lambda: self.store.answer(poll_id, wallet, option, wall), counted)

    def tick(self, wall: float) -> None:
        """Close polls whose time is up; send live counts that changed (at most once a second each)."""
        for poll_id, live in list(self.open.items()):
            if live.closing:
                continue
            if live.poll.closes_at is not None and wall >= live.poll.closes_at:
                self.close(poll_id, wall)
            elif live.changed and live.poll.results == "live" and wall - live.last_sent >= RESULTS_EVERY_S:
                live.changed, live.last_sent = False, wall
                self.broadcast(PollResultsEvent(poll=poll_id, counts=list(live.counts), final=False))

