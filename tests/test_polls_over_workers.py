"""Live polls of one event spread over workers: each worker keeps its own open polls, all share one store,
and the worker where a host acts tells the others over the event's bus (here: a list of calls, in order,
as the bus delivers them). Every worker's visitors see the poll open, the event-wide counts, and the
same final counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.event.community.polls import RESULTS_EVERY_S, Polls
from server.event.jobs import InlineJobs
from server.storage.community_sqlite import SqliteCommunityStore
from showroom.protocol.community import PollResultsEvent, PollState

EVENT = "fifth-anniversary"


class Worker:
    """One worker's polls over its own connection to the shared store, and what its visitors were sent."""

    def __init__(self, data: Path, index: int, bus: list[Worker]) -> None:
        self.store = SqliteCommunityStore(data)
        self.sent: list[object] = []
        self.polls = Polls(EVENT, self.store, InlineJobs(), self.sent.append, lambda poll, wallet: None)
        self.polls.resume([EVENT])
        self.polls.share(lambda: [worker.polls.refresh() for worker in bus], f"w{index}-")

    def results(self) -> list[PollResultsEvent]:
        return [m for m in self.sent if isinstance(m, PollResultsEvent)]


@pytest.fixture
def workers(tmp_path):
    bus: list[Worker] = []
    bus.extend(Worker(tmp_path, i, bus) for i in range(3))
    yield bus
    for worker in bus:
        worker.store.close()


def test_a_poll_opened_on_one_worker_is_answered_on_all_and_every_worker_shows_the_event_wide_counts(workers):
    a, b, c = workers
    replies: list[object] = []
    a.polls.start("Which look closes the show?", ["gold", "silver", "pearl"], "live", None, None, 1_000.0,
                  replies.append, pytest.fail)
    (state,) = replies
    assert isinstance(state, PollState) and state.poll.startswith(f"{EVENT}-w0-p")
    for worker in workers:  # every worker's visitors were told, once
        assert [m.poll for m in worker.sent if isinstance(m, PollState)] == [state.poll]

    answered: list[object] = []
    a.polls.answer(state.poll, 0, "wallet-1", 1_001.0, answered.append, pytest.fail)
    b.polls.answer(state.poll, 2, "wallet-2", 1_001.0, answered.append, pytest.fail)
    c.polls.answer(state.poll, 2, "wallet-3", 1_001.0, answered.append, pytest.fail)
    assert len(answered) == 3
    faults: list[tuple] = []  # a wallet that answered on one worker answers again on another: refused by the store
    b.polls.answer(state.poll, 1, "wallet-1", 1_002.0, pytest.fail, lambda *fault: faults.append(fault))
    assert len(faults) == 1 and "already_answered" in faults[0][1], faults

    wall = 1_001.0 + RESULTS_EVERY_S
    for worker in workers:
        worker.polls.tick(wall)  # reads the store's counts
        worker.polls.tick(wall + RESULTS_EVERY_S)  # and sends them
        assert worker.results()[-1].counts == [1, 0, 2], worker.results()

    closed: list[object] = []
    b.polls.close(state.poll, 1_010.0, closed.append, pytest.fail)  # a host on another worker closes it
    assert closed[0].counts == [1, 0, 2]
    for worker in workers:
        finals = [m for m in worker.results() if m.final]
        assert [(m.poll, m.counts) for m in finals] == [(state.poll, [1, 0, 2])]
        assert worker.polls.open == {}


def test_two_workers_opening_polls_at_once_never_pick_the_same_id(workers):
    a, b, _ = workers
    ids: list[str] = []
    for worker in (a, b):
        worker.polls.start("Encore?", ["yes", "no"], "on_close", None, None, 1_000.0,
                           lambda state: ids.append(state.poll), pytest.fail)
    assert len(set(ids)) == 2, ids
    for worker in workers:
        assert sorted(worker.polls.open) == sorted(ids)


def test_a_timed_poll_closes_on_every_worker_with_the_same_final_counts(workers):
    a, b, c = workers
    opened: list[PollState] = []
    a.polls.start("Best entrance?", ["left", "right"], "on_close", 30.0, None, 1_000.0, opened.append, pytest.fail)
    poll = opened[0].poll
    c.polls.answer(poll, 1, "wallet-9", 1_005.0, lambda m: None, pytest.fail)
    for worker in workers:
        worker.polls.tick(1_031.0)
    for worker in workers:
        finals = [m for m in worker.results() if m.final]
        assert [(m.poll, m.counts) for m in finals] == [(poll, [0, 1])], worker.sent
        assert worker.polls.open == {}
