"""Loyalty: points per engagement, tiers reached once, weekly streaks in the community's zone."""

from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from showroom.community.loyalty import KINDS, EngagementLog, LoyaltyError, LoyaltyRules, Tier, member_indices, standings

NEW_YORK = ZoneInfo("America/New_York")
PARIS = ZoneInfo("Europe/Paris")
ROSTER = ["ada", "bo", "cy", "dee"]
POINTS = {"attended_minute": 1, "selfie": 10, "reaction": 0.5, "entry": 25, "vote": 2,
          "poll_answer": 3, "redemption": 5, "residency_visit": 15}
TIERS = [Tier("bronze", 50, ("badge",)), Tier("silver", 150, ("front-row",)), Tier("gold", 400, ("backstage",))]


def local(when: str, zone: ZoneInfo = NEW_YORK) -> float:
    return datetime.fromisoformat(when).replace(tzinfo=zone).timestamp()


# ISO weeks 10..14 of 2025 (Mon 3 March .. Sun 6 April) in New York; now is Wed 2 April noon.
# Streak minimum: 20 points a week. Running totals in the comments.
SEASON = [
    ("ada", "attended_minute", 30, "2025-03-03 19:00"),  # W10 30
    ("ada", "selfie", 1, "2025-03-04 19:10"),  # W10 40 (week 40)
    ("ada", "entry", 1, "2025-03-12 20:00"),  # W11 65: bronze
    ("ada", "vote", 3, "2025-03-20 20:00"),  # W12 71
    ("ada", "poll_answer", 5, "2025-03-20 20:05"),  # W12 86 (week 21)
    ("ada", "residency_visit", 2, "2025-03-30 23:30"),  # W13, Sunday night (Monday in UTC): 116
    ("ada", "reaction", 10, "2025-04-01 10:00"),  # W14 121 (week 5 so far)
    ("bo", "residency_visit", 1, "2025-03-03 12:00"),  # W10 15
    ("bo", "attended_minute", 10, "2025-03-03 12:30"),  # W10 25
    ("bo", "entry", 2, "2025-03-14 18:00"),  # W11 75: bronze
    ("bo", "reaction", 4, "2025-03-22 10:00"),  # W12 77 (week 2: missed)
    ("bo", "redemption", 1, "2025-03-24 09:00"),  # W13 82
    ("bo", "selfie", 2, "2025-03-24 09:30"),  # W13 102 (week 25)
    ("bo", "attended_minute", 50, "2025-04-01 20:00"),  # W14 152: silver (week 50)
    ("cy", "poll_answer", 7, "2025-03-06 21:00"),  # W10 21
    ("cy", "vote", 10, "2025-03-13 21:00"),  # W11 41 (week exactly 20)
    ("cy", "attended_minute", 20, "2025-03-23 22:00"),  # W12, Sunday night: 61: bronze
    ("cy", "reaction", 6, "2025-04-02 09:00"),  # W14 64 (W13 missed)
    ("cy", "entry", 1, "2025-04-02 18:00"),  # after now: not counted yet
]
NOW = local("2025-04-02 12:00")


def log_of(rows, zone: ZoneInfo = NEW_YORK) -> EngagementLog:
    wallet, kind, amount, when = zip(*rows)
    return EngagementLog(member_indices(list(wallet), ROSTER), np.array(kind), np.array(amount, float),
                         np.array([local(w, zone) for w in when]))


def rules(decay: str = "reset", streak_min_points: float = 20) -> LoyaltyRules:
    return LoyaltyRules(POINTS, TIERS, streak_min_points, decay)  # type: ignore[arg-type]


def test_a_season_earns_the_points_and_tiers_worked_out_by_hand():
    result = standings(log_of(SEASON), rules(), n_members=4, now_s=NOW, zone=NEW_YORK)
    assert result.points.tolist() == [121, 152, 64, 0]
    assert [result.tier_id(m) for m in range(4)] == ["bronze", "silver", "bronze", None]
    reached = [local("2025-03-12 20:00"), local("2025-04-01 20:00"), local("2025-03-23 22:00")]
    assert result.tier_reached_s[:3].tolist() == reached
    assert math.isnan(result.tier_reached_s[3])


def test_missed_weeks_reset_streaks_and_the_current_week_counts_once_it_reaches_the_minimum():
    result = standings(log_of(SEASON), rules("reset"), n_members=4, now_s=NOW, zone=NEW_YORK)
    assert result.streak.tolist() == [4, 2, 0, 0]  # ada's unfinished week 14 does not break hers
    assert result.longest_streak.tolist() == [4, 2, 3, 0]


def test_missed_weeks_halve_streaks_rounding_down():
    result = standings(log_of(SEASON), rules("halve"), n_members=4, now_s=NOW, zone=NEW_YORK)
    assert result.streak.tolist() == [4, 3, 1, 0]  # bo 1,2,(1),2,3; cy 1,2,3,(1), unfinished
    assert result.longest_streak.tolist() == [4, 3, 3, 0]


def test_standings_replay_the_season_as_of_any_moment():
    later = standings(log_of(SEASON), rules(), n_members=4, now_s=local("2025-04-02 19:00"), zone=NEW_YORK)
    assert later.points[2] == 89 and later.streak[2] == 1  # cy's entry lands, week 14 reaches 28
    early = standings(log_of(SEASON), rules(), n_members=4, now_s=local("2025-03-12 19:59"), zone=NEW_YORK)
    assert early.points[0] == 40 and early.tier[0] == -1 and early.streak[0] == 1


def test_an_engagement_at_2330_sunday_local_time_belongs_to_that_week():
    rows = [("ada", "selfie", 2, "2025-03-16 12:00"),  # W11
            ("ada", "selfie", 2, "2025-03-23 23:30")]  # W12 locally, W13 in UTC
    result = standings(log_of(rows), rules(), n_members=4, now_s=local("2025-03-26 09:00"), zone=NEW_YORK)
    assert result.streak[0] == 2  # W11, W12 and the unfinished W13


def test_half_past_midnight_monday_east_of_utc_starts_the_new_week():
    rows = [("ada", "selfie", 2, "2025-03-23 12:00"),  # W12
            ("ada", "selfie", 2, "2025-03-31 00:30")]  # W14 in Paris, still Sunday W13 in UTC
    result = standings(log_of(rows, PARIS), rules(), n_members=4, now_s=local("2025-04-02 12:00", PARIS), zone=PARIS)
    assert result.streak[0] == 1 and result.longest_streak[0] == 1  # W13 was missed


def test_bad_rules_and_logs_are_refused_with_the_reason():
    with pytest.raises(LoyaltyError, match="unknown kind 'hug'"):
        LoyaltyRules({"hug": 1}, TIERS, 20)
    with pytest.raises(LoyaltyError, match="strictly increasing"):
        LoyaltyRules(POINTS, [Tier("a", 10), Tier("b", 10)], 20)
    with pytest.raises(LoyaltyError, match="wallet 'eve' is not a member"):
        member_indices(["ada", "eve"], ROSTER)
    log = EngagementLog([0], ["hug"], [1], [NOW])
    with pytest.raises(LoyaltyError, match="row 0: unknown kind 'hug'"):
        standings(log, rules(), n_members=1, now_s=NOW, zone=NEW_YORK)
    with pytest.raises(LoyaltyError, match="columns differ in length"):
        EngagementLog([0, 1], ["selfie"], [1], [NOW])


@st.composite
def logs(draw, integral: bool = False):
    n = draw(st.integers(1, 60))
    member = draw(st.lists(st.integers(0, 5), min_size=n, max_size=n))
    kind = draw(st.lists(st.sampled_from(KINDS), min_size=n, max_size=n))
    amounts = st.integers(0, 90) if integral else st.floats(0, 1e4, allow_nan=False)
    amount = draw(st.lists(amounts, min_size=n, max_size=n))
    when = draw(st.lists(st.floats(1.74e9, 1.75e9), min_size=n, max_size=n))
    points = draw(st.fixed_dictionaries({k: st.integers(0, 20) if integral else st.floats(0, 50) for k in KINDS}))
    return EngagementLog(member, kind, amount, when), points


@settings(max_examples=120, deadline=None)
@given(logs(), st.floats(1.74e9, 1.75e9))
def test_points_equal_a_plain_sum_over_rows(drawn, now_s):
    log, points = drawn
    result = standings(log, LoyaltyRules(points, TIERS, 20), n_members=6, now_s=now_s, zone=PARIS)
    expected = [0.0] * 6
    for m, k, a, t in zip(log.member.tolist(), log.kind.tolist(), log.amount.tolist(), log.time_s.tolist()):
        if t <= now_s:
            expected[m] += points[k] * a
    assert np.allclose(result.points, expected, rtol=1e-9, atol=1e-6)


@settings(max_examples=120, deadline=None)
@given(logs(integral=True), st.floats(1.74e9, 1.75e9))
def test_a_tier_is_reached_at_the_engagement_that_crossed_its_threshold(drawn, now_s):
    log, points = drawn
    result = standings(log, LoyaltyRules(points, TIERS, 20), n_members=6, now_s=now_s, zone=PARIS)
    for m in range(6):
        rows = sorted((t, points[k] * a) for mm, k, a, t in zip(log.member.tolist(), log.kind.tolist(),
                                                                 log.amount.tolist(), log.time_s.tolist())
                      if mm == m and t <= now_s)
        running, crossed = 0, {}
        for t, p in rows:
            running += p
            for i, tier in enumerate(TIERS):
                if running >= tier.points_threshold:
                    crossed.setdefault(i, t)
        top = max(crossed, default=-1)
        assert result.tier[m] == top
        assert (math.isnan(result.tier_reached_s[m]) if top < 0 else result.tier_reached_s[m] == crossed[top])


def test_a_hundred_thousand_rows_over_half_a_year_give_every_streak():
    rng = np.random.default_rng(13)
    n = 100_000
    start_s, now_s = local("2025-01-06 00:00"), local("2025-07-05 12:00")  # 26 ISO weeks, W2..W27
    log = EngagementLog(rng.integers(0, 500, n), rng.choice(np.array(KINDS), n), rng.integers(1, 30, n),
                        rng.uniform(start_s, now_s, n))
    result = standings(log, rules("halve"), n_members=500, now_s=now_s, zone=NEW_YORK)
    assert result.points.sum() > 0 and result.longest_streak.max() == 26
