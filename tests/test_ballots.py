"""Counting a weekly challenge's votes: approval and sequential instant run-off."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from showroom.community.ballots import MAX_CHOICES, BallotError, count_approval, count_irv, encode_ballots


def reference_irv(ballots: list[list[str]], order: list[str], top: int) -> tuple[list[str], list[tuple]]:
    """Sequential IRV the slow, obvious way: a dict of votes per round, ballot by ballot."""
    position = {entry: i for i, entry in enumerate(order)}
    ranking: list[str] = []
    rounds: list[tuple] = []
    for place in range(1, min(top, len(order)) + 1):
        standing = [entry for entry in order if entry not in ranking]
        previous: dict[str, int] | None = None
        while True:
            votes = {entry: 0 for entry in standing}
            for ballot in ballots:
                for choice in ballot:
                    if choice in votes:
                        votes[choice] += 1
                        break
            active = sum(votes.values())
            best = max(votes.values())
            if 2 * best > active or len(standing) == 1:
                winner = next(entry for entry in standing if votes[entry] == best)
                rounds.append((place, votes, None, winner))
                ranking.append(winner)
                break
            fewest = min(votes.values())
            tied = [entry for entry in standing if votes[entry] == fewest]
            if previous is not None and len(tied) > 1:
                low = min(previous[entry] for entry in tied)
                tied = [entry for entry in tied if previous[entry] == low]
            loser = max(tied, key=lambda entry: position[entry])
            rounds.append((place, votes, loser, None))
            standing.remove(loser)
            previous = votes
    return ranking, rounds


def published(result) -> list[tuple]:
    return [(r.place, dict(r.tallies), r.eliminated, r.elected) for r in result.rounds]


CLASSIC = [["A"]] * 8 + [["C", "B"]] * 5 + [["B", "C"]] * 7


def test_the_plurality_leader_can_lose_the_run_off():
    result = count_irv(CLASSIC, ["A", "B", "C"], top=1)
    assert result.ranking == ("B",)
    assert published(result) == [
        (1, {"A": 8, "B": 7, "C": 5}, "C", None),
        (1, {"A": 8, "B": 12}, None, "B"),
    ]
    assert result.tallies["C"] == (5, None)


def test_exhausted_ballots_drop_out_of_the_majority():
    ballots = [["A"]] * 4 + [["B"]] * 3 + [["C"]] * 2 + [["D", "B"]] * 2
    result = count_irv(ballots, ["A", "B", "C", "D"], top=1)
    assert [r.eliminated for r in result.rounds] == ["D", "C", None]  # D and C tie at 2: D came later
    last = result.rounds[-1]
    assert dict(last.tallies) == {"A": 4, "B": 5}
    assert (last.active, last.exhausted, last.elected) == (9, 2, "B")  # 5 of 9 is a majority; 5 of 11 was not


def test_a_tie_for_last_goes_by_the_previous_round_then_the_latest_submission():
    ballots = ([["A"]] * 10 + [["B"]] * 6 + [["C", "B"]] * 4 + [["D"]] * 5 + [["E", "C"]])
    result = count_irv(ballots, ["A", "B", "C", "D", "E"], top=1)
    assert [r.eliminated for r in result.rounds] == ["E", "C", "D", "B", None]
    # round 2: C and D both have 5; C had 4 in round 1, D had 5, so C goes although D came later
    assert dict(result.rounds[1].tallies) == {"A": 10, "B": 6, "C": 5, "D": 5}
    # round 4: A and B both have 10 now and had 10 before; B was submitted later
    assert dict(result.rounds[3].tallies) == {"A": 10, "B": 10}
    assert result.ranking == ("A",)


def test_sequential_run_off_fills_the_top_three():
    result = count_irv(CLASSIC, ["A", "B", "C"])
    assert result.ranking == ("B", "C", "A")  # once B is struck, its voters' C beats A
    assert [(r.place, dict(r.tallies)) for r in result.rounds[2:]] == [
        (2, {"A": 8, "C": 12}),
        (3, {"A": 8}),
    ]
    assert count_irv(CLASSIC, ["A", "B", "C"], top=None).ranking == result.ranking


def test_the_last_entry_standing_wins_when_every_ballot_is_exhausted():
    result = count_irv([["A"], ["B"]], ["A", "B", "C"], top=3)
    assert result.ranking == ("A", "B", "C")
    assert result.rounds[-1].active == 0


def test_approval_ties_go_to_the_earlier_submission():
    ballots = [{"x", "y"}, {"y", "z"}, {"z", "x"}, {"w"}]
    result = count_approval(ballots, ["z", "x", "y", "w", "v"])
    assert result.ranking == ("z", "x", "y", "w", "v")
    assert dict(result.rounds[0].tallies) == {"z": 2, "x": 2, "y": 2, "w": 1, "v": 0}
    assert result.tallies["v"] == (0,)


def test_bad_ballots_are_refused_with_the_ballot_named():
    order = ["a", "b"]
    with pytest.raises(BallotError, match="ballot 1: unknown entry 'c'"):
        count_irv([["a"], ["c"]], order)
    with pytest.raises(BallotError, match="ballot 0: names an entry more than once"):
        count_irv([["a", "a"]], order)
    with pytest.raises(BallotError, match=f"at most {MAX_CHOICES}"):
        count_approval([[str(i) for i in range(9)]], [str(i) for i in range(9)])
    with pytest.raises(BallotError, match="a choice after a blank"):
        count_irv(np.array([[-1, 0]]), order)
    with pytest.raises(BallotError, match="needs an order"):
        count_irv([{"a", "b"}], order)
    with pytest.raises(BallotError, match="listed twice"):
        count_irv([], ["a", "a"])


def test_an_encoded_array_counts_like_the_ballots_it_came_from():
    order = ["A", "B", "C"]
    grid = encode_ballots(CLASSIC, order, ranked=True)
    assert grid.shape == (20, MAX_CHOICES) and grid[8].tolist()[:3] == [2, 1, -1]
    assert published(count_irv(grid, order)) == published(count_irv(CLASSIC, order))


@st.composite
def elections(draw) -> tuple[list[str], list[list[str]]]:
    n = draw(st.integers(2, 12))
    order = draw(st.permutations([f"e{i:02d}" for i in range(n)]))
    ballot = st.lists(st.sampled_from(order), unique=True, max_size=min(MAX_CHOICES, n))
    return order, draw(st.lists(ballot, min_size=1, max_size=200))


@settings(max_examples=150, deadline=None)
@given(elections())
def test_run_off_matches_a_plain_round_by_round_count(election):
    order, ballots = election
    ranking, rounds = reference_irv(ballots, order, top=3)
    result = count_irv(ballots, order, top=3)
    assert list(result.ranking) == ranking
    assert published(result) == rounds


@settings(max_examples=150, deadline=None)
@given(elections())
def test_approval_never_ranks_an_unvoted_entry_above_a_voted_one(election):
    order, ballots = election
    result = count_approval([set(b) for b in ballots], order)
    approvals = {entry: sum(entry in b for b in ballots) for entry in order}
    assert dict(result.rounds[0].tallies) == approvals
    keys = [(-approvals[e], order.index(e)) for e in result.ranking]
    assert keys == sorted(keys)
    voted = [approvals[e] > 0 for e in result.ranking]
    assert voted == sorted(voted, reverse=True)


def test_five_thousand_ballots_over_thirty_entries_fill_the_top_three():
    rng = np.random.default_rng(13)
    order = [f"look-{i}" for i in range(30)]
    ballots = [[order[j] for j in rng.choice(30, size=rng.integers(1, MAX_CHOICES + 1), replace=False)]
               for _ in range(5000)]
    result = count_irv(ballots, order)
    assert len(result.ranking) == 3 and len(set(result.ranking)) == 3
