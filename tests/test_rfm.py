"""RFM: quintile scores, the R/F segment grid, segment tables and audiences."""

from __future__ import annotations

import math
import random
import re
from bisect import bisect_left, bisect_right

import numpy as np
import pytest

from showroom.community.rfm import (
    SEGMENTS,
    RfmError,
    Segment,
    quintile_scores,
    rfm_scores,
    segment_codes,
    segment_table,
    select_audience,
)


@pytest.mark.parametrize(("values", "scores"), [
    (list(range(10)), [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]),
    ([7, 7, 7, 7, 7, 7], [3, 3, 3, 3, 3, 3]),
    ([4.2], [3]),
    ([1, 2], [2, 4]),
    ([1, 2, 3], [1, 3, 5]),
    ([1, 2, 3, 4], [1, 2, 4, 5]),
    ([50, 10, 40, 20, 30], [5, 1, 4, 2, 3]),
    ([0, 0, 0, 0, 0, 0, 0, 0, 0, 9], [3, 3, 3, 3, 3, 3, 3, 3, 3, 5]),
    ([1, 1, 2, 2, 3, 3, 4, 4, 5, 5], [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]),
    ([], []),
])
def test_quintile_edges_give_equal_values_equal_scores(values, scores):
    assert quintile_scores(values).tolist() == scores


def test_recency_scores_are_reversed_so_fewer_days_is_better():
    scores = rfm_scores([0, 1, 2, 3, math.inf], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0])
    assert scores.recency.tolist() == [5, 4, 3, 2, 1]
    assert scores.frequency.tolist() == [3] * 5 and scores.monetary.tolist() == [3] * 5


@pytest.mark.parametrize(("r", "f", "segment"), [
    (5, 5, "champions"), (5, 4, "champions"), (4, 4, "loyal"), (3, 5, "loyal"), (3, 4, "loyal"),
    (5, 3, "potential_loyalist"), (4, 2, "potential_loyalist"), (5, 1, "new"), (4, 1, "promising"),
    (3, 3, "need_attention"), (3, 1, "about_to_sleep"), (3, 2, "about_to_sleep"),
    (2, 3, "at_risk"), (1, 4, "at_risk"), (2, 5, "cannot_lose"), (1, 5, "cannot_lose"),
    (2, 2, "hibernating"), (2, 1, "hibernating"), (1, 2, "lost"), (1, 1, "lost"),
])
def test_the_segment_grid_names_hand_picked_r_f_pairs(r, f, segment):
    assert SEGMENTS[int(segment_codes([r], [f])[0])] == segment


def test_segment_table_lists_every_segment_in_a_fixed_order():
    codes = segment_codes([5, 5, 1, 3], [5, 4, 1, 3])
    table = segment_table(codes)
    assert list(table) == list(SEGMENTS) and SEGMENTS[0] == Segment.CHAMPIONS
    assert table == {**dict.fromkeys(SEGMENTS, 0), Segment.CHAMPIONS: 2, Segment.LOST: 1, Segment.NEED_ATTENTION: 1}


SEG_MAP = {  # the public regex map over "RF" strings, plus our lost corner
    r"1[1-2]": "lost", r"2[1-2]": "hibernating", r"[1-2][3-4]": "at_risk", r"[1-2]5": "cannot_lose",
    r"3[1-2]": "about_to_sleep", r"33": "need_attention", r"[3-4][4-5]": "loyal", r"41": "promising",
    r"51": "new", r"[4-5][2-3]": "potential_loyalist", r"5[4-5]": "champions",
}


def plain_scores(values: list[float]) -> list[int]:
    ordered = sorted(values)
    n = len(values)
    out = []
    for v in values:
        below, equal = bisect_left(ordered, v), bisect_right(ordered, v) - bisect_left(ordered, v)
        out.append(min(5, 1 + math.floor(5 * (below + equal / 2) / n)))
    return out


def test_a_thousand_members_fall_into_the_segments_a_plain_count_finds():
    rng = random.Random(13)
    recency = [rng.choice([rng.randint(0, 400), math.inf]) if rng.random() < 0.05 else rng.randint(0, 400)
               for _ in range(1000)]
    frequency = [rng.randint(0, 12) for _ in range(1000)]
    monetary = [round(rng.expovariate(1 / 40), 2) if rng.random() < 0.6 else 0.0 for _ in range(1000)]
    scores = rfm_scores(recency, frequency, monetary)
    r = plain_scores([-d for d in recency])
    f = plain_scores(frequency)
    assert scores.recency.tolist() == r and scores.frequency.tolist() == f
    assert scores.monetary.tolist() == plain_scores(monetary)
    expected = dict.fromkeys(SEGMENTS, 0)
    for rs, fs in zip(r, f):
        name = next(seg for pattern, seg in SEG_MAP.items() if re.fullmatch(pattern, f"{rs}{fs}"))
        expected[Segment(name)] += 1
    assert segment_table(scores.segment) == expected
    assert sum(expected.values()) == 1000 and sum(n > 0 for n in expected.values()) >= 8


def test_an_audience_matches_segments_tier_and_streak_together():
    segment = segment_codes([5, 5, 1, 3, 4], [5, 1, 1, 3, 4])  # champions, new, lost, need_attention, loyal
    tier = np.array([2, -1, 0, 1, 1])
    streak = np.array([6, 1, 0, 3, 2])
    picks = select_audience(segment=segment, segments={"champions", "loyal"}, tier=tier, min_tier=1)
    assert picks.tolist() == [0, 4]
    assert select_audience(tier=tier, min_tier=0, streak=streak, min_streak=2).tolist() == [0, 3, 4]
    assert select_audience(segment=segment, segments=[Segment.NEW, "lost"]).tolist() == [1, 2]
    assert select_audience(streak=streak).tolist() == [0, 1, 2, 3, 4]


def test_bad_rfm_inputs_are_refused_with_the_reason():
    with pytest.raises(RfmError, match="member 1: value is NaN"):
        quintile_scores([1, math.nan])
    with pytest.raises(RfmError, match="unknown segment 'vips'"):
        select_audience(segment=[0], segments=["vips"])
    with pytest.raises(RfmError, match="min_streak given without the streak column"):
        select_audience(tier=[0], min_streak=2)
    with pytest.raises(RfmError, match="1..5"):
        segment_codes([6], [1])


def test_ten_thousand_members_each_fall_in_one_segment():
    rng = np.random.default_rng(13)
    n = 10_000
    scores = rfm_scores(rng.integers(0, 365, n), rng.poisson(3, n), rng.exponential(40, n))
    table = segment_table(scores.segment)
    assert sum(table.values()) == n
