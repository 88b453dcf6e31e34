"""Live polls: a host starts one, every shard's visitors answer once per wallet, results go out
live (about once a second while answers come) or when the poll closes.

Sans-I/O: durable writes go through :class:`~server.event.jobs.Jobs` (the ``store`` lane);
a poll is announced only once it is stored, and an answer is confirmed only once it is
counted in the store, so a restart loses neither. Counts kept here mirror the store's.

An event spread over workers shares one store (:meth:`Polls.share`): the worker where a host opens
or closes a poll tells the others over the event's bus, and each reads the open polls again from the
store (:meth:`Polls.refresh`); while a poll is open, each reads its counts from the store once a
second, so every visitor sees the event-wide counts, and final counts are always the store's.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from server.event.jobs import Jobs, Outcome, hand_over
from server.storage.community_store import CommunityRefusal, CommunityStore, Poll
from showroom.protocol.community import PollAnswered, PollResultsEvent, PollState
from showroom.protocol.errors import ErrorCode, ProtocolError
from showroom.protocol.server_messages import ServerMessage

log = logging.getLogger("showroom.server")

RESULTS_EVERY_S = 1.0
"""Live results go out at most this often per poll; over workers, also how often counts are read from the store."""
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
        self.owners: list[str] = [event_id]
        """The event and the communities it serves: whose open polls are taken up."""
        self.tell_others: Callable[[], None] | None = None
        """Over workers: tell the event's other workers that the open polls changed (None alone)."""
        self.tag = ""
        """Over workers: this worker's part of new poll ids, so two workers never pick the same id."""
        self._reading = False
        self._next_read = 0.0

    def share(self, tell_others: Callable[[], None], tag: str) -> None:
        """An event spread over workers that share the store: see the module's notes."""
        self.tell_others, self.tag = tell_others, tag

    def resume(self, owners: list[str]) -> None:
        """After a restart: take up the open polls of the event and its communities, with their counts."""
        self.owners = list(owners)
        for poll, counts in self._stored_open(self.owners).values():
            self.open[poll.id] = LivePoll(poll, counts)
        taken = [int(p[len(self._prefix()):]) for p in self.open if p.startswith(self._prefix())
                 and p[len(self._prefix()):].isdigit()]
        self._numbers = itertools.count(max(taken, default=0) + 1)

    def _stored_open(self, owners: list[str]) -> dict[str, tuple[Poll, list[int]]]:
        """The store's open polls of these owners, with their counts, by id (blocking: the store lane's)."""
        return {poll.id: (poll, self.store.tally(poll.id))
                for owner in owners for poll in self.store.polls(owner, open_only=True)}

    def _prefix(self) -> str:
        return f"{self.event_id[:40]}-{self.tag}p"

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
            if self.tell_others is not None:
                self.tell_others()
        hand_over(self.jobs, "store", lambda: self.store.open_poll(poll), opened)

    def close(self, poll_id: str, wall: float, reply: Reply | None = None, fault: Fault | None = None) -> None:
        """Close a poll now: stored, then its final counts go to every shard."""
        live = self.open.get(poll_id)
        if live is None or live.closing:
            raise ProtocolError(ErrorCode.UNKNOWN_TARGET, f"no open poll {poll_id!r} (open: {', '.join(self.open) or 'none'})")
        live.closing = True

        def closed(outcome: Outcome[tuple[Poll, list[int]]]) -> None:
            if outcome.error is not None:
                live.closing = False
                if fault is not None:
                    fault(ErrorCode.REFUSED, f"the poll could not be closed: {outcome.error}")
                return
            poll, counts = outcome.get()
            if self.open.pop(poll_id, None) is not None:
                self.broadcast(PollResultsEvent(poll=poll_id, counts=counts, final=True))
            if reply is not None:
                reply(state_of(poll, counts))
                if self.tell_others is not None:  # a poll's own time closes it on every worker
                    self.tell_others()

        def close_and_count() -> tuple[Poll, list[int]]:
            return self.store.close_poll(poll_id, wall), self.store.tally(poll_id)
        hand_over(self.jobs, "store", close_and_count, closed)

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

    def refresh(self) -> None:
        """Over workers: another worker opened or closed a poll. Read the open polls from the store; announce
        the new ones, and the final counts of those closed elsewhere."""
        known = [poll_id for poll_id, live in self.open.items() if not live.closing]
        owners = list(self.owners)

        def read() -> tuple[dict[str, tuple[Poll, list[int]]], dict[str, list[int]]]:
            now_open = self._stored_open(owners)
            return now_open, {poll_id: self.store.tally(poll_id) for poll_id in known if poll_id not in now_open}

        def done(outcome: Outcome[tuple[dict[str, tuple[Poll, list[int]]], dict[str, list[int]]]]) -> None:
            if outcome.error is not None:
                log.warning("could not read the open polls again: %s", outcome.error)
                return
            now_open, closed = outcome.get()
            for poll_id, (poll, counts) in now_open.items():
                if poll_id not in self.open and len(self.open) < MAX_OPEN_POLLS:
                    self.open[poll_id] = LivePoll(poll, counts)
                    self.broadcast(state_of(poll))
            for poll_id, counts in closed.items():
                live = self.open.get(poll_id)
                if live is not None and not live.closing:  # one closing here announces itself
                    del self.open[poll_id]
                    self.broadcast(PollResultsEvent(poll=poll_id, counts=counts, final=True))
        try:
            hand_over(self.jobs, "store", read, done)
        except ProtocolError as exc:  # the store's lane is full: the next change or resync reads them
            log.warning("could not read the open polls again: %s", exc.message)

    def _read_counts(self, wall: float) -> None:
        """Over workers: the counts of the open live polls, as the store has them (every worker's answers; a
        poll whose results wait for its close is counted then, from the store)."""
        wanted = [poll_id for poll_id, live in self.open.items() if not live.closing and live.poll.results == "live"]
        if self._reading or not wanted or wall < self._next_read:
            return
        self._reading, self._next_read = True, wall + RESULTS_EVERY_S

        def read() -> dict[str, list[int]]:
            return {poll_id: self.store.tally(poll_id) for poll_id in wanted}

        def done(outcome: Outcome[dict[str, list[int]]]) -> None:
            self._reading = False
            if outcome.error is not None:
                log.warning("could not read the polls' counts: %s", outcome.error)
                return
            for poll_id, counts in outcome.get().items():
                live = self.open.get(poll_id)
                if live is not None and counts != live.counts and sum(counts) >= sum(live.counts):
                    live.counts, live.changed = list(counts), True
        try:
            hand_over(self.jobs, "store", read, done)
        except ProtocolError:
            self._reading = False

    def tick(self, wall: float) -> None:
        """Close polls whose time is up; send live counts that changed (at most once a second each)."""
        if self.tell_others is not None:
            self._read_counts(wall)
        for poll_id, live in list(self.open.items()):
            if live.closing:
                continue
            if live.poll.closes_at is not None and wall >= live.poll.closes_at:
                self.close(poll_id, wall)
            elif live.changed and live.poll.results == "live" and wall - live.last_sent >= RESULTS_EVERY_S:
                live.changed, live.last_sent = False, wall
                self.broadcast(PollResultsEvent(poll=poll_id, counts=list(live.counts), final=False))

