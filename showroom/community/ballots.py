"""Count a weekly creative challenge's votes: approval ballots, or ranked ballots by
instant run-off (IRV), round by round so a host can publish how the result came about.

Entries are identified by their id strings; ``submitted_order`` lists every entry of the
challenge once, earliest submission first. Inside, an entry is its position in that list
and a set of ballots is an ``(n, 8)`` integer array padded with -1 (see
:func:`encode_ballots`), so a round is one fancy-index, one ``argmax`` and one
``np.bincount`` over all ballots, whatever their number.

Approval: each ballot approves up to :data:`MAX_CHOICES` entries. Entries are ranked by
approvals, ties broken by the earlier submission (then by id, which the submission order
already decides because every entry has its own place in it).

Instant run-off: each ballot ranks up to :data:`MAX_CHOICES` distinct entries, best first;
it may stop early. In every round each active ballot (one with a standing preference left)
counts for its highest standing preference. An entry with a strict majority of the active
ballots wins. Otherwise one entry is eliminated and its ballots pass to their next standing
preference; ballots with none left are exhausted and drop out of the count (so the majority
is taken of fewer ballots). The last entry standing wins even without a majority (this
happens when every ballot is exhausted).

Elimination ties are broken, in this order, by (1) fewest votes this round, (2) fewest votes
in the previous round of the same count (skipped in a count's first round), (3) the latest
submission. Rule (3) always decides, so a further rule by highest id never comes into play.

Places after the first are filled by sequential IRV: the winner takes place 1, is struck
from every ballot (a ballot then counts for its next preference) and IRV runs again on the
same ballots for place 2, and so on. A voter's lower preferences therefore decide the
runner-up places, which a single IRV's elimination order would not.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

import numpy as np
from numpy.typing import NDArray

IntArray = NDArray[np.int64]
MAX_CHOICES = 8
"""The most entries one ballot may approve or rank."""

BallotsIn = Iterable[Sequence[str]] | Iterable[Collection[str]] | NDArray[np.integer]


class BallotError(ValueError):
    """A ballot names an unknown entry, names one twice, or lists too many."""


@dataclass(frozen=True)
class Round:
    """One round of one count: the votes of every entry still standing and what it decided.

    ``place`` is the place this count fills (1 for the winner; approval has one round for
    place 1). ``active`` ballots were counted; ``exhausted`` had no standing preference left
    (for approval: ballots that approved nothing).
    """

    place: int
    number: int
    tallies: Mapping[str, int]
    active: int
    exhausted: int
    eliminated: str | None
    elected: str | None


@dataclass(frozen=True)
class ChallengeResult:
    """The outcome of a count: the ranking, each entry's votes per round, and the rounds.

    ``tallies[entry][i]`` is the entry's votes in ``rounds[i]``, or None where it was no
    longer standing (already placed or eliminated in that count).
    """

    method: Literal["approval", "irv"]
    ranking: tuple[str, ...]
    rounds: tuple[Round, ...]
    tallies: Mapping[str, tuple[int | None, ...]]


def encode_ballots(ballots: BallotsIn, submitted_order: Sequence[str], *, ranked: bool) -> IntArray:
    """Ballots as an ``(n, MAX_CHOICES)`` array of entry positions, padded with -1.

    A ranked ballot keeps its order; an approval ballot is stored sorted. An array passed
    in is checked (known positions, no repeats, padding only at the end) and returned as
    int64. Raises :class:`BallotError` naming the first bad ballot.
    """
    entries = _entry_positions(submitted_order)
    if isinstance(ballots, np.ndarray):
        return _checked_array(ballots, len(entries))
    rows: list[list[int]] = []
    for i, ballot in enumerate(ballots):
        if isinstance(ballot, str):
            raise BallotError(f"ballot {i}: expected a collection of entry ids, got the string {ballot!r}")
        if ranked and isinstance(ballot, (set, frozenset)):
            raise BallotError(f"ballot {i}: a ranked ballot needs an order (a list), got a set")
        if len(ballot) > MAX_CHOICES:
            raise BallotError(f"ballot {i}: {len(ballot)} choices, at most {MAX_CHOICES} allowed")
        try:
            row = [entries[entry] for entry in ballot]
        except KeyError as err:
            known = ", ".join(submitted_order)
            raise BallotError(f"ballot {i}: unknown entry {err.args[0]!r} (known: {known})") from None
        if len(set(row)) != len(row):
            raise BallotError(f"ballot {i}: names an entry more than once")
        rows.append(row if ranked else sorted(row))
    out = np.full((len(rows), MAX_CHOICES), -1, np.int64)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out


def count_approval(ballots: BallotsIn, submitted_order: Sequence[str]) -> ChallengeResult:
    """Rank every entry by approvals, ties by earlier submission; one published round."""
    grid = encode_ballots(ballots, submitted_order, ranked=False)
    n_entries = len(submitted_order)
    marks = grid[grid >= 0]
    votes = np.bincount(marks, minlength=n_entries)
    order = np.argsort(-votes, kind="stable")  # positions are submission order
    ranking = tuple(submitted_order[i] for i in order)
    voted = int(np.count_nonzero((grid >= 0).any(axis=1)))
    tallies = {entry: int(votes[i]) for i, entry in enumerate(submitted_order)}
    only = Round(1, 1, MappingProxyType(tallies), voted, len(grid) - voted, None,
                 ranking[0] if ranking else None)
    return _result("approval", ranking, [only], submitted_order)


def count_irv(ballots: BallotsIn, submitted_order: Sequence[str], *, top: int | None = 3) -> ChallengeResult:
    """Fill the first ``top`` places (all places when None) by sequential instant run-off.

    Place 1 is the IRV winner; each later place is the IRV winner once the entries already
    placed are struck from every ballot. Every round of every count is kept in order.
    """
    grid = encode_ballots(ballots, submitted_order, ranked=True)
    n_entries = len(submitted_order)
    places = n_entries if top is None else min(max(top, 0), n_entries)
    standing = np.ones(n_entries + 1, bool)  # the last slot is the -1 padding
    standing[-1] = False
    ranking: list[str] = []
    rounds: list[Round] = []
    for place in range(1, places + 1):
        winner, count_rounds = _irv_count(grid, standing.copy(), place, submitted_order)
        ranking.append(submitted_order[winner])
        rounds.extend(count_rounds)
        standing[winner] = False
    return _result("irv", tuple(ranking), rounds, submitted_order)


def _first_choices(grid: IntArray, standing: NDArray[np.bool_]) -> IntArray:
    """Each ballot's highest preference still standing, or -1 for an exhausted ballot.

    ``standing`` has one flag per entry plus a final False that the -1 padding indexes.
    """
    live = standing[grid]
    col = live.argmax(axis=1)
    pick = grid[np.arange(len(grid)), col]
    return np.where(live.any(axis=1), pick, -1)


def _irv_count(grid: IntArray, standing: NDArray[np.bool_], place: int,
               submitted_order: Sequence[str]) -> tuple[int, list[Round]]:
    """One IRV count among the standing entries: the winner's position and every round."""
    rounds: list[Round] = []
    previous: IntArray | None = None
    while True:
        picks = _first_choices(grid, standing)
        counted = picks[picks >= 0]
        votes = np.bincount(counted, minlength=len(standing) - 1)
        alive = np.flatnonzero(standing[:-1])
        leader = int(alive[np.argmax(votes[alive])])
        active = len(counted)
        tallies = MappingProxyType({submitted_order[i]: int(votes[i]) for i in alive.tolist()})
        number = len(rounds) + 1
        if 2 * votes[leader] > active or len(alive) == 1:
            rounds.append(Round(place, number, tallies, active, len(grid) - active, None,
                                submitted_order[leader]))
            return leader, rounds
        loser = _loser(alive, votes, previous)
        rounds.append(Round(place, number, tallies, active, len(grid) - active,
                            submitted_order[loser], None))
        standing[loser] = False
        previous = votes


def _loser(alive: IntArray, votes: IntArray, previous: IntArray | None) -> int:
    """The entry to eliminate: fewest votes, then fewest last round, then latest submitted."""
    tied = alive[votes[alive] == votes[alive].min()]
    if previous is not None and len(tied) > 1:
        tied = tied[previous[tied] == previous[tied].min()]
    return int(tied.max())


def _entry_positions(submitted_order: Sequence[str]) -> dict[str, int]:
    """Each entry id's submission position; repeated ids are refused."""
    positions = {entry: i for i, entry in enumerate(submitted_order)}
    if len(positions) != len(submitted_order):
        twice = next(e for e, n in Counter(submitted_order).items() if n > 1)
        raise BallotError(f"submitted_order: entry {twice!r} is listed twice")
    return positions


def _checked_array(grid: NDArray[np.integer], n_entries: int) -> IntArray:
    """Validate an already encoded ballot array and return it as int64."""
    out = np.asarray(grid, np.int64)
    if out.ndim != 2 or out.shape[1] > MAX_CHOICES:
        raise BallotError(f"ballot array: expected shape (n, <= {MAX_CHOICES}), got {out.shape}")
    if out.shape[1] < MAX_CHOICES:
        out = np.pad(out, ((0, 0), (0, MAX_CHOICES - out.shape[1])), constant_values=-1)
    bad = (out < -1) | (out >= n_entries)
    gap = (out[:, :-1] == -1) & (out[:, 1:] >= 0)
    ordered = np.sort(out, axis=1)
    twice = (ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] >= 0)
    for what, rows in (("unknown entry position", bad), ("a choice after a blank", gap),
                       ("an entry more than once", twice)):
        if rows.any():
            i = int(np.flatnonzero(rows.any(axis=1))[0])
            raise BallotError(f"ballot {i}: {what} in {out[i].tolist()}")
    return out


def _result(method: Literal["approval", "irv"], ranking: tuple[str, ...], rounds: list[Round],
            submitted_order: Sequence[str]) -> ChallengeResult:
    """Bundle the rounds with each entry's votes per round (None when not standing)."""
    tallies = {entry: tuple(r.tallies.get(entry) for r in rounds) for entry in submitted_order}
    return ChallengeResult(method, ranking, tuple(rounds), MappingProxyType(tallies))
