"""Recency, frequency and monetary (RFM) scores for a community's members, and segments.

Inputs are plain per-member arrays: ``recency_days`` (days since the member's last
engagement; ``inf`` for never), ``frequency`` (events and residencies attended in the
window) and ``monetary`` (value of the vouchers redeemed in the window, in the brand's
currency units).

Scores 1..5 are rank-based quintiles over the members, using mid-ranks: a value's
percentile is ``(below + equal / 2) / n`` (members strictly below it plus half of those
equal to it, over the population), and its score is ``1 + floor(5 * percentile)``, in exact
integer arithmetic. So equal values always get equal scores; a population of identical
values scores 3 throughout (no information, the middle); ten distinct values score
1,1,2,2,3,3,4,4,5,5; and fewer than five members spread symmetrically around 3 (one member:
3; two: 2 and 4; three: 1, 3, 5; four: 1, 2, 4, 5). Recency is reversed: fewer days is better,
so it is ranked on the negated days. NaN is refused.

Segments follow the usual R/F grid (monetary does not move a member between segments; it is
kept for targeting):

=====  ==============  ==============  ==============  ==============  ==============
R \\ F  1               2               3               4               5
=====  ==============  ==============  ==============  ==============  ==============
5      new             potential       potential       champions       champions
4      promising       potential       potential       loyal           loyal
3      about_to_sleep  about_to_sleep  need_attention  loyal           loyal
2      hibernating     hibernating     at_risk         at_risk         cannot_lose
1      lost            lost            at_risk         at_risk         cannot_lose
=====  ==============  ==============  ==============  ==============  ==============

("potential" is potential_loyalist.)
"""

# Where the grid comes from: the R/F "seg_map" that circulates in public RFM tutorials and
# notebooks (many GitHub RFM projects from the Miuul data-science bootcamp use it verbatim):
# r'[1-2][1-2]' hibernating, r'[1-2][3-4]' at risk, r'[1-2]5' can't lose, r'3[1-2]' about to
# sleep, '33' need attention, r'[3-4][4-5]' loyal, '41' promising, '51' new, r'[4-5][2-3]'
# potential loyalists, r'5[4-5]' champions. Its segment names are those of the 11-segment RFM
# scheme in Bloomreach's guide (documentation.bloomreach.com/engagement/docs/rfm-segmentation).
# The map has ten segments; our adaptation carves the eleventh, lost, out of its hibernating
# corner as the oldest row (R = 1, F <= 2), leaving hibernating at R = 2, F <= 2.

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray

IntArray = NDArray[np.int64]


class RfmError(ValueError):
    """RFM inputs that cannot be scored or an audience that cannot be selected."""


class Segment(StrEnum):
    """A named RFM segment; :data:`SEGMENTS` lists them best first."""

    CHAMPIONS = "champions"
    LOYAL = "loyal"
    POTENTIAL_LOYALIST = "potential_loyalist"
    NEW = "new"
    PROMISING = "promising"
    NEED_ATTENTION = "need_attention"
    ABOUT_TO_SLEEP = "about_to_sleep"
    AT_RISK = "at_risk"
    CANNOT_LOSE = "cannot_lose"
    HIBERNATING = "hibernating"
    LOST = "lost"


SEGMENTS: tuple[Segment, ...] = tuple(Segment)
"""Every segment in the fixed order of tables: a member's segment code indexes this."""

_S = Segment
_ROWS = {  # R score -> segments for F = 1..5, as in the module table
    5: (_S.NEW, _S.POTENTIAL_LOYALIST, _S.POTENTIAL_LOYALIST, _S.CHAMPIONS, _S.CHAMPIONS),
    4: (_S.PROMISING, _S.POTENTIAL_LOYALIST, _S.POTENTIAL_LOYALIST, _S.LOYAL, _S.LOYAL),
    3: (_S.ABOUT_TO_SLEEP, _S.ABOUT_TO_SLEEP, _S.NEED_ATTENTION, _S.LOYAL, _S.LOYAL),
    2: (_S.HIBERNATING, _S.HIBERNATING, _S.AT_RISK, _S.AT_RISK, _S.CANNOT_LOSE),
    1: (_S.LOST, _S.LOST, _S.AT_RISK, _S.AT_RISK, _S.CANNOT_LOSE),
}
GRID: NDArray[np.int8] = np.array([[SEGMENTS.index(s) for s in _ROWS[r]] for r in range(1, 6)], np.int8)
"""Segment code for each (R, F): ``GRID[r - 1, f - 1]``."""
GRID.setflags(write=False)


@dataclass(frozen=True)
class RfmScores:
    """Per-member R, F and M scores (1..5) and segment codes (indices into SEGMENTS)."""

    recency: NDArray[np.int8]
    frequency: NDArray[np.int8]
    monetary: NDArray[np.int8]
    segment: NDArray[np.int8]

    def segment_names(self) -> list[Segment]:
        """Each member's segment by name, in roster order."""
        return [SEGMENTS[code] for code in self.segment.tolist()]


def quintile_scores(values: ArrayLike, *, higher_is_better: bool = True) -> NDArray[np.int8]:
    """Scores 1..5 by mid-rank quintiles over the population; equal values score alike."""
    v = np.asarray(values, np.float64)
    if v.ndim != 1:
        raise RfmError(f"expected one value per member, got shape {v.shape}")
    if np.isnan(v).any():
        raise RfmError(f"member {int(np.argmax(np.isnan(v)))}: value is NaN")
    if not higher_is_better:
        v = -v
    ordered = np.sort(v)
    below = np.searchsorted(ordered, v, side="left")
    equal = np.searchsorted(ordered, v, side="right") - below
    n = max(len(v), 1)
    return (1 + (5 * (2 * below + equal)) // (2 * n)).astype(np.int8)


def segment_codes(recency: ArrayLike, frequency: ArrayLike) -> NDArray[np.int8]:
    """Segment code of each member from its R and F scores (1..5), by the module's grid."""
    r = np.asarray(recency, np.int64)
    f = np.asarray(frequency, np.int64)
    if r.shape != f.shape or ((r < 1) | (r > 5) | (f < 1) | (f > 5)).any():
        raise RfmError("R and F scores must be 1..5, one of each per member")
    return GRID[r - 1, f - 1]


def rfm_scores(recency_days: ArrayLike, frequency: ArrayLike, monetary: ArrayLike) -> RfmScores:
    """Score every member's recency (days, fewer is better), frequency and monetary value."""
    columns = [np.asarray(c, np.float64) for c in (recency_days, frequency, monetary)]
    if len({c.shape for c in columns}) != 1:
        raise RfmError(f"recency, frequency and monetary differ in shape {[c.shape for c in columns]}")
    r = quintile_scores(columns[0], higher_is_better=False)
    f = quintile_scores(columns[1])
    m = quintile_scores(columns[2])
    return RfmScores(r, f, m, segment_codes(r, f))


def segment_table(segments: ArrayLike) -> dict[Segment, int]:
    """How many members are in each segment, every segment listed in SEGMENTS order."""
    codes = np.asarray(segments, np.int64)
    if codes.size and (codes.min() < 0 or codes.max() >= len(SEGMENTS)):
        raise RfmError(f"segment codes must be 0..{len(SEGMENTS) - 1}")
    counts = np.bincount(codes.reshape(-1), minlength=len(SEGMENTS))
    return {segment: int(n) for segment, n in zip(SEGMENTS, counts.tolist())}


def select_audience(*, segment: ArrayLike | None = None, segments: Collection[str] | None = None,
                    tier: ArrayLike | None = None, min_tier: int | None = None,
                    streak: ArrayLike | None = None, min_streak: int | None = None) -> IntArray:
    """Indices of the members meeting every criterion given, in roster order.

    ``segments``: segment names a member's ``segment`` code must be among; ``min_tier``: the
    lowest tier index (as in loyalty standings, -1 for none) on the ``tier`` column;
    ``min_streak``: the fewest weeks on the ``streak`` column. A criterion needs its column;
    with no criterion at all, every member of the columns given is selected.
    """
    for criterion, wanted, name, column in (("segments", segments, "segment", segment),
                                            ("min_tier", min_tier, "tier", tier),
                                            ("min_streak", min_streak, "streak", streak)):
        if wanted is not None and column is None:
            raise RfmError(f"{criterion} given without the {name} column")
    given = [np.asarray(c) for c in (segment, tier, streak) if c is not None]
    if not given:
        raise RfmError("select_audience needs at least one member column")
    if len({c.shape for c in given}) != 1:
        raise RfmError("segment, tier and streak columns differ in length")
    chosen = np.ones(given[0].shape, bool)
    if segments is not None:
        unknown = sorted(set(segments) - set(SEGMENTS))
        if unknown:
            raise RfmError(f"unknown segment {unknown[0]!r} (known: {', '.join(SEGMENTS)})")
        chosen &= np.isin(np.asarray(segment, np.int64), [SEGMENTS.index(Segment(s)) for s in segments])
    if min_tier is not None:
        chosen &= np.asarray(tier, np.int64) >= min_tier
    if min_streak is not None:
        chosen &= np.asarray(streak, np.int64) >= min_streak
    return np.flatnonzero(chosen).astype(np.int64)
