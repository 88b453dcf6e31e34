"""Community files: the examples load, every mistake is one line ``FILE: key.path: reason``, and time is right."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any, get_args
from zoneinfo import ZoneInfo

import jsonschema
import pytest
from conftest import as_editor_sees_it

from showroom.community import Community, CommunityError, load_community, parse_community
from showroom.community.challenges import PHASES, Challenge, Phase, expand_challenges, weekly_series
from showroom.community.engagement import DEFAULT_POINTS, ENGAGEMENT_KINDS, UNITS, EngagementKind
from showroom.community.load import COMMUNITY_NESTING
from showroom.community.model import ABILITIES, MAX_MEMBERS, Ability, default_roles
from showroom.community.residencies import Residency
from showroom.community.schedule import challenge_phase, next_occurrence, residency_occurrences, residency_on
from showroom.errors import ShowroomError
from showroom.scene import SceneError, parse_scene
from showroom.scene.nesting import MAX_NESTING
from showroom.scene.rewards import Badge, EarlyAccess, MetaPass, Voucher

ROOT = Path(__file__).resolve().parents[1]
COMMUNITIES = ROOT / "communities"
CIRCLE = COMMUNITIES / "maison-lumen-circle.toml"
CLUB = COMMUNITIES / "weekend-residency-club.toml"
CIRCLE_SOURCE = "communities/maison-lumen-circle.toml"
CLUB_SOURCE = "communities/weekend-residency-club.toml"
PARIS = ZoneInfo("Europe/Paris")
UTC = dt.UTC


def _text(path: Path, changes: list[tuple[str, str]]) -> str:
    """The example with each ``old`` (which must occur exactly once) replaced by ``new``."""
    text = path.read_text(encoding="utf-8")
    for old, new in changes:
        assert text.count(old) == 1, f"{path.name} no longer contains exactly one {old!r}"
        text = text.replace(old, new)
    return text


def _error_lines(text: str, source: str) -> list[str]:
    with pytest.raises(CommunityError) as info:
        parse_community(text, source, COMMUNITIES)
    return info.value.lines()


def _circle_lines(*changes: tuple[str, str]) -> list[str]:
    return _error_lines(_text(CIRCLE, list(changes)), CIRCLE_SOURCE)


def _club_lines(*changes: tuple[str, str]) -> list[str]:
    return _error_lines(_text(CLUB, list(changes)), CLUB_SOURCE)


def _paris(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=PARIS)


# ---- The examples ----------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(COMMUNITIES.glob("*.toml")), ids=lambda p: p.stem)
def test_example_communities_load(path: Path) -> None:
    community = load_community(path)
    assert isinstance(community, Community)
    assert community.community.id == path.stem, "a community file is named after its id"


def test_maison_lumen_circle_is_an_invite_only_circle_of_the_anniversary_brands() -> None:
    circle = load_community(CIRCLE)
    info = circle.community
    assert (info.brand, info.time_zone, info.cap, info.entry) == ("lumen", "Asia/Shanghai", MAX_MEMBERS, "invite")
    assert [(t.name, t.points) for t in circle.loyalty.tiers] == [("Silver", 200), ("Gold", 1000), ("Black", 5000)]
    assert all(tier.perks for tier in circle.loyalty.tiers)
    assert set(circle.loyalty.tiers[-1].perks) == {"early_view", "selfie_priority", "vip_zone"}
    kinds = {type(ent) for ent in circle.entitlements}
    assert {Badge, Voucher} <= kinds
    (sketch,) = circle.challenges
    assert "rose dress" in sketch.title and sketch.repeat_weeks and sketch.repeat_weeks >= 3
    assert [c.id for c in circle.all_challenges()] == [f"rose-sketch-w{k}" for k in range(1, sketch.repeat_weeks + 1)]
    assert isinstance(circle.entitlement(sketch.feature_grant or ""), Voucher)
    anniversary_vouchers = {"lumen-scarf", "aurora-perfume"}
    assert anniversary_vouchers <= {item.entitlement for item in circle.catalogue}
    assert {item.currency for item in circle.catalogue} == {"CNY"}


def test_weekend_residency_club_plays_the_residency_scene_on_saturday_nights_all_winter() -> None:
    club = load_community(CLUB)
    assert (club.community.entry, club.community.time_zone) == ("request", "Europe/Paris")
    (studio,) = club.residencies
    assert studio.scene == "../scenes/weekend-residency.toml"
    assert (studio.weekday, studio.start, studio.entry) == ("saturday", dt.time(20, 0), "everyone")
    assert (studio.first.month, studio.last.month) == (12, 3)
    assert any(c.ballot == "ranked" for c in club.challenges)
    assert isinstance(club.entitlement(club.tier("night-owl").grant or ""), MetaPass)


def test_the_residency_scene_belongs_to_the_club_and_lets_everyone_in() -> None:
    from showroom.scene import load_scene

    event = load_scene(ROOT / "scenes" / "weekend-residency.toml").event
    assert event.community == load_community(CLUB).community.id
    assert (event.members_only, event.min_tier) == (False, None)


# ---- Broken variants ----------------------------------------------------------------------------

CIRCLE_BROKEN = [
    pytest.param("cap = 500", "cap = 600",
                 "community.cap", "Input should be less than or equal to 500 (got 600)", id="cap-over-500"),
    pytest.param('entry = "invite"', 'entry = "invitation"',
                 "community.entry", "Input should be 'invite', 'request' or 'open' (got 'invitation')", id="bad-entry"),
    pytest.param('time_zone = "Asia/Shanghai"', 'time_zone = "Asia/Shangai"',
                 "community.time_zone", "unknown time zone 'Asia/Shangai'; did you mean 'Asia/Shanghai'?",
                 id="misspelled-time-zone"),
    pytest.param("max_uses = 20", "max_uses = 150",
                 "invites.max_uses", "Input should be less than or equal to 100 (got 150)", id="invite-over-100-uses"),
    pytest.param("max_days = 3", "max_days = 10",
                 "invites.max_days", "Input should be less than or equal to 7 (got 10)", id="invite-over-7-days"),
    pytest.param('name = "Lumen ambassador"\ncan = ["invite"]', 'name = "Lumen ambassador"\ncan = ["invites"]',
                 "roles[2].can[0]",
                 "Input should be 'invite', 'approve', 'moderate', 'feature', 'poll' or 'ban' (got 'invites')",
                 id="unknown-ability"),
    pytest.param('id = "ambassador"', 'id = "curator"', "roles[2].id", "duplicate id 'curator'", id="duplicate-role"),
    pytest.param("can = []\ndefault = true", "can = []",
                 "roles", "no role has default = true: mark the one new members get", id="no-default-role"),
    pytest.param("points = 1000", "points = 200",
                 "loyalty.tiers[1].points",
                 "200 is not above the tier before ('silver' at 200): list tiers from the lowest threshold up",
                 id="tier-threshold-not-increasing"),
    pytest.param('grant = "gold-circle"', 'grant = "gold-circel"',
                 "loyalty.tiers[1].grant",
                 "unknown entitlement 'gold-circel' (known entitlements: gold-circle, rose-pocket-square, "
                 "rose-sketch-featured, spring-capsule-preview)", id="unknown-tier-grant"),
    pytest.param('perks = ["early_view"]\n', 'perks = ["early_veiw"]\n',
                 "loyalty.tiers[0].perks[0]",
                 "Input should be 'early_view', 'selfie_priority' or 'vip_zone' (got 'early_veiw')", id="unknown-perk"),
    pytest.param('perks = ["early_view"]\n', 'perks = ["early_view", "early_view"]\n',
                 "loyalty.tiers[0].perks", "'early_view' is listed 2 times", id="perk-twice"),
    pytest.param('id = "silver"', 'id = "everyone"',
                 "loyalty.tiers[0].id", "'everyone' is a residency entry of its own, not a tier id: choose another id",
                 id="tier-named-everyone"),
    pytest.param("entry = 25,", "entries = 25,",
                 "loyalty.points.entries", "unknown key; did you mean 'entry'?", id="unknown-engagement-kind"),
    pytest.param("selfie = 5,", "selfie = -5,",
                 "loyalty.points.selfie", "Input should be greater than or equal to 0 (got -5)", id="negative-points"),
    pytest.param('streak_decay = "halve"', 'streak_decay = "half"',
                 "loyalty.streak_decay", "Input should be 'reset' or 'halve' (got 'half')", id="unknown-streak-decay"),
    pytest.param("voting = 2026-12-12T10:00:00+08:00", "voting = 2026-12-10T10:00:00+08:00",
                 "challenges[0].voting",
                 "voting (2026-12-10T10:00:00+08:00) is not after review (2026-12-11T10:00:00+08:00)",
                 id="voting-before-review"),
    pytest.param("closed = 2026-12-13T22:00:00+08:00", "closed = 2026-12-15T22:00:00+08:00",
                 "challenges[0].repeat_weeks",
                 "'rose-sketch-w1' is still open when 'rose-sketch-w2' opens (8 days 12 h from submissions to closed): "
                 "a weekly challenge closes within a week", id="weekly-challenge-overlaps-the-next-week"),
    pytest.param("submissions = 2026-12-07T10:00:00+08:00", "submissions = 2026-12-07T10:00:00",
                 "challenges[0].submissions",
                 "2026-12-07T10:00:00 has no UTC offset: write 2026-12-07T10:00:00Z for UTC, or the local offset such "
                 "as 2026-12-07T10:00:00+01:00", id="phase-without-offset"),
    pytest.param("featured = 5", "featured = 0",
                 "challenges[0].featured", "Input should be greater than or equal to 1 (got 0)", id="featured-zero"),
    pytest.param('feature_grant = "rose-pocket-square"', 'feature_grant = "rose-pocket"',
                 "challenges[0].feature_grant",
                 "unknown entitlement 'rose-pocket' (known entitlements: gold-circle, rose-pocket-square, "
                 "rose-sketch-featured, spring-capsule-preview)", id="unknown-feature-grant"),
    pytest.param('entry = "gold"', 'entry = "platinum"',
                 "residencies[0].entry",
                 "'platinum' is neither 'everyone', 'members' nor a tier (known tiers: black, gold, silver)",
                 id="residency-entry-not-a-tier"),
    pytest.param('duration = "30m"', 'duration = "5m"',
                 "residencies[0].duration",
                 "5 min is shorter than the show of ../scenes/anniversary-runway.toml (8:00)",
                 id="residency-shorter-than-its-show"),
    pytest.param("first = 2026-12-06\nlast = 2027-01-31", "first = 2026-12-07\nlast = 2026-12-12",
                 "residencies[0].weekday", "no sunday from 2026-12-07 to 2026-12-12", id="no-weekday-in-the-season"),
    pytest.param('value = 450\ncurrency = "CNY"', 'value = 450\ncurrency = "EUR"',
                 "catalogue[2].currency", "EUR differs from catalogue[0]'s CNY: RFM adds values up, so use one currency",
                 id="mixed-currencies"),
    pytest.param('entitlement = "rose-pocket-square"', 'entitlement = "rose-sketch-featured"',
                 "catalogue[2].entitlement",
                 "'rose-sketch-featured' is a badge, not a voucher: only vouchers are redeemed",
                 id="catalogue-badge"),
    pytest.param('currency = "CNY"\n\n[rfm]', 'currency = "yuan"\n\n[rfm]',
                 "catalogue[2].currency", "String should match pattern '^[A-Z]{3}$' (got 'yuan')", id="bad-currency"),
    pytest.param('valid_for = "30d"', 'valid_for = "30d"\nvalid_until = 2027-01-31T23:59:59+08:00',
                 "entitlements[2]",
                 "give either valid_for (relative to the award) or valid_from/valid_until, not both",
                 id="voucher-with-two-windows"),
    pytest.param("window_days = 90", "window_days = 0",
                 "rfm.window_days", "Input should be greater than or equal to 1 (got 0)", id="rfm-window-zero"),
]

CLUB_BROKEN = [
    pytest.param('entry = "request"', 'entry = "requests"',
                 "community.entry", "Input should be 'invite', 'request' or 'open' (got 'requests')", id="bad-entry"),
    pytest.param("cap = 500", "cap = 0",
                 "community.cap", "Input should be greater than or equal to 1 (got 0)", id="cap-zero"),
    pytest.param('time_zone = "Europe/Paris"', 'time_zone = "Paris"',
                 "community.time_zone", "unknown time zone 'Paris'; did you mean 'Europe/Paris'?",
                 id="city-for-time-zone"),
    pytest.param('name = "Club member"\ncan = ["invite"]\ndefault = true', 'name = "Club member"\ncan = ["invite"]',
                 "roles", "no role has default = true: mark the one new members get", id="no-default-role"),
    pytest.param('can = ["moderate", "feature"]', 'can = ["moderate", "moderate"]',
                 "roles[2].can", "'moderate' is listed 2 times", id="ability-twice"),
    pytest.param("points = 600", "points = 150",
                 "loyalty.tiers[2].points",
                 "150 is not above the tier before ('fledgling' at 150): list tiers from the lowest threshold up",
                 id="tier-threshold-equal"),
    pytest.param('grant = "night-owl-pass"', 'grant = "night-owl"',
                 "loyalty.tiers[2].grant",
                 "unknown entitlement 'night-owl' (known entitlements: card-featured, challenge-winner, night-owl-pass, "
                 "sketch-kit-refill)", id="tier-grant-names-a-tier"),
    pytest.param('ballot = "ranked"', 'ballot = "borda"',
                 "challenges[0].ballot", "Input should be 'approval' or 'ranked' (got 'borda')", id="unknown-ballot"),
    pytest.param("review = 2026-12-10T12:00:00+01:00", "review = 2026-12-05T12:00:00+01:00",
                 "challenges[0].review",
                 "review (2026-12-05T12:00:00+01:00) is not after submissions (2026-12-06T10:00:00+01:00)",
                 id="review-before-submissions"),
    pytest.param("closed = 2026-12-12T18:00:00+01:00", "closed = 2026-12-13T18:00:00+01:00",
                 "challenges[0].repeat_weeks",
                 "'weekly-sketch-w1' is still open when 'weekly-sketch-w2' opens (7 days 8 h from submissions to "
                 "closed): a weekly challenge closes within a week", id="weekly-challenge-longer-than-a-week"),
    pytest.param('id = "new-year-card"', 'id = "weekly-sketch-w3"',
                 "challenges[1].id",
                 "duplicate id 'weekly-sketch-w3' once weekly series are numbered (challenges[0] has it too)",
                 id="id-of-a-numbered-week"),
    pytest.param('id = "weekly-sketch"', 'id = "weekly-sketch-for-the-hoot-and-hatch-creative-cl"',
                 "challenges[0].id",
                 "'weekly-sketch-for-the-hoot-and-hatch-creative-cl-w16', the id of its last week, is longer than an "
                 "id may be: shorten the id", id="numbered-id-too-long"),
    pytest.param("repeat_weeks = 16", "repeat_weeks = 53",
                 "challenges[0].repeat_weeks", "Input should be less than or equal to 52 (got 53)",
                 id="series-over-a-year"),
    pytest.param("max_entries_per_member = 1", "max_entries_per_member = 0",
                 "challenges[0].max_entries_per_member", "Input should be greater than or equal to 1 (got 0)",
                 id="no-entries-allowed"),
    pytest.param("last = 2027-03-27", "last = 2026-11-28",
                 "residencies[0].last", "the season ends (2026-11-28) before it starts (2026-12-05)",
                 id="residency-first-after-last"),
    pytest.param("last = 2027-03-27", "last = 2029-03-27",
                 "residencies[0].last", "a season lasts at most 731 days (two years): split it", id="season-too-long"),
    pytest.param("last = 2027-03-27", "last = 9999-12-31",
                 "residencies[0].last", "9999-12-31 is not between the years 1970 and 9000", id="season-at-the-end-of-time"),
    pytest.param('start = "20:00"', 'start = "8pm"',
                 "residencies[0].start", "expected a local time of day such as '20:00', got '8pm'",
                 id="start-not-a-time-of-day"),
    pytest.param('duration = "30m"', 'duration = "25h"',
                 "residencies[0].duration", "a residency show lasts at most a day ('24h') (got '25h')",
                 id="show-longer-than-a-day"),
    pytest.param('weekday = "saturday"', 'weekday = "samedi"',
                 "residencies[0].weekday",
                 "Input should be 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday' or 'sunday' "
                 "(got 'samedi')", id="weekday-in-french"),
    pytest.param('scene = "../scenes/weekend-residency.toml"', 'scene = "../scenes/weekend-residence.toml"',
                 "residencies[0].scene",
                 f"no scene file '../scenes/weekend-residence.toml' (looked for {COMMUNITIES}/../scenes/"
                 "weekend-residence.toml)", id="missing-scene"),
    pytest.param('[[entitlements]]\nkind = "badge"\nid = "card-featured"',
                 '[[entitlements]]\nkind = "badge"\nid = "challenge-winner"\nname = "Again"\n\n'
                 '[[entitlements]]\nkind = "badge"\nid = "card-featured"',
                 "entitlements[1].id", "duplicate id 'challenge-winner'", id="duplicate-entitlement"),
    pytest.param('entitlement = "sketch-kit-refill"', 'entitlement = "sketch-kit"',
                 "catalogue[1].entitlement", "a second value for 'sketch-kit'", id="catalogue-entry-twice"),
    pytest.param('entry = "everyone"\n', 'entry = "everyone"\n\n[[residencies]]\nid = "late-show"\n'
                 'title = "Late show"\nscene = "../scenes/weekend-residency.toml"\nweekday = "saturday"\n'
                 'start = "20:15"\nduration = "30m"\nfirst = 2027-01-02\nlast = 2027-01-02\n',
                 "residencies[1].start",
                 "plays at 2027-01-02 20:15 while residencies[0] ('saturday-studio') is still on (until 20:30): "
                 "one residency plays at a time", id="two-residencies-at-once"),
    pytest.param("window_days = 90", "windowdays = 90",
                 "rfm.windowdays", "unknown key; did you mean 'window_days'?", id="mistyped-rfm-key"),
]


@pytest.mark.parametrize(("old", "new", "path", "reason"), CIRCLE_BROKEN)
def test_broken_circle_reports_one_line_naming_file_key_path_and_reason(old: str, new: str, path: str,
                                                                        reason: str) -> None:
    assert _circle_lines((old, new)) == [f"{CIRCLE_SOURCE}: {path}: {reason}"]


@pytest.mark.parametrize(("old", "new", "path", "reason"), CLUB_BROKEN)
def test_broken_club_reports_one_line_naming_file_key_path_and_reason(old: str, new: str, path: str,
                                                                      reason: str) -> None:
    assert _club_lines((old, new)) == [f"{CLUB_SOURCE}: {path}: {reason}"]


def test_two_default_roles_is_one_line_at_the_second() -> None:
    assert _club_lines(('can = ["moderate", "feature"]', 'can = ["moderate", "feature"]\ndefault = true')) == [
        f"{CLUB_SOURCE}: roles[3].default: 'member' is a second default role ('mentor' is one too): new members "
        "get exactly one role"
    ]


def test_joining_by_request_needs_someone_who_can_approve() -> None:
    lines = _club_lines(
        ('can = ["invite", "approve", "moderate", "feature", "poll", "ban"]', 'can = ["invite", "moderate", "ban"]'),
        ('can = ["invite", "approve", "moderate", "feature", "poll"]', 'can = ["invite", "moderate"]'),
    )
    assert lines == [f"{CLUB_SOURCE}: community.entry: entry by request needs a role that can 'approve', and no role can"]


def test_joining_by_invite_needs_someone_who_can_invite() -> None:
    lines = _circle_lines(
        ('can = ["invite", "approve", "moderate", "feature", "poll", "ban"]', 'can = ["approve", "ban"]'),
        ('can = ["invite", "approve", "moderate", "feature", "poll"]', 'can = ["approve"]'),
        ('name = "Lumen ambassador"\ncan = ["invite"]', 'name = "Lumen ambassador"\ncan = ["poll"]'),
    )
    assert lines == [f"{CIRCLE_SOURCE}: community.entry: entry by invite needs a role that can 'invite', and no role can"]


def test_the_same_unknown_grant_in_several_places_is_one_line() -> None:
    lines = _club_lines(('grant = "sketch-kit-refill"', 'grant = "prize"'), ('grant = "night-owl-pass"', 'grant = "prize"'),
                        ('feature_grant = "challenge-winner"', 'feature_grant = "prize"'))
    assert lines == [
        f"{CLUB_SOURCE}: loyalty.tiers[1].grant, loyalty.tiers[2].grant and challenges[0].feature_grant: "
        "unknown entitlement 'prize' "
        "(known entitlements: card-featured, challenge-winner, night-owl-pass, sketch-kit-refill)"
    ]


def test_every_problem_is_reported_not_only_the_first() -> None:
    lines = _club_lines(("cap = 500", "cap = 900"), ("window_days = 90", "window_days = -1"))
    assert [line.split(": ")[1] for line in lines] == ["community.cap", "rfm.window_days"]


def test_a_residency_scene_that_is_not_valid_quotes_its_first_problem(tmp_path: Path) -> None:
    scene = (ROOT / "scenes" / "weekend-residency.toml").read_text(encoding="utf-8")
    (tmp_path / "broken.toml").write_text(scene.replace('title = "Hoot & Hatch Weekend Residency"\n', "")
                                          .replace("stock = 40", "stock = -1"), encoding="utf-8")
    text = _text(CLUB, [('scene = "../scenes/weekend-residency.toml"', 'scene = "broken.toml"')])
    with pytest.raises(CommunityError) as info:
        parse_community(text, "club.toml", tmp_path)
    assert info.value.lines() == [
        "club.toml: residencies[0].scene: broken.toml is not a valid scene: event.title: missing required key "
        f"(and 1 more problem: showroom scene validate {tmp_path / 'broken.toml'})"
    ]


def test_a_residency_scene_of_another_community_or_tier_is_refused(tmp_path: Path) -> None:
    scene = (ROOT / "scenes" / "weekend-residency.toml").read_text(encoding="utf-8")
    (tmp_path / "other.toml").write_text(
        scene.replace('community = "weekend-residency-club"', 'community = "another-club"\nmin_tier = "gold"'),
        encoding="utf-8")
    text = _text(CLUB, [('scene = "../scenes/weekend-residency.toml"', 'scene = "other.toml"')])
    with pytest.raises(CommunityError) as info:
        parse_community(text, "club.toml", tmp_path)
    assert info.value.lines() == [
        "club.toml: residencies[0].scene: other.toml is an event of community 'another-club', "
        "not 'weekend-residency-club'",
        "club.toml: residencies[0].scene: other.toml lets in members from tier 'gold', which is not a tier here "
        "(known tiers: fledgling, hatchling, night-owl)",
    ]


def test_residency_scenes_are_found_beside_the_community_file(tmp_path: Path) -> None:
    (tmp_path / "communities").mkdir()
    (tmp_path / "scenes").mkdir()
    copy = tmp_path / "communities" / "club.toml"
    copy.write_text(CLUB.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(CommunityError) as info:
        load_community(copy)
    assert info.value.lines() == [
        f"{copy}: residencies[0].scene: no scene file '../scenes/weekend-residency.toml' "
        f"(looked for {copy.parent}/../scenes/weekend-residency.toml)"
    ]
    (tmp_path / "scenes" / "weekend-residency.toml").write_text(
        (ROOT / "scenes" / "weekend-residency.toml").read_text(encoding="utf-8"), encoding="utf-8")
    assert load_community(copy).community.id == "weekend-residency-club"


def test_bad_toml_names_the_line() -> None:
    lines = _club_lines(('name = "Hoot & Hatch Creative Club"', 'name = "Hoot & Hatch Creative Club'))
    assert len(lines) == 1
    assert lines[0].startswith(f"{CLUB_SOURCE}: not valid TOML: ") and "line 14" in lines[0], lines[0]


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(CommunityError) as info:
        load_community(tmp_path / "nope.toml")
    assert info.value.lines() == [f"{tmp_path / 'nope.toml'}: no such file"]
    assert isinstance(info.value, ShowroomError) and str(info.value) == info.value.lines()[0]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("x = " + "[" * 2000 + "]" * 2000 + "\n", id="array-in-array"),
        pytest.param("[" + ".".join(["a"] * 3000) + "]\nb = 1\n", id="table-header"),
    ],
)
def test_a_deeply_nested_community_is_one_line_not_a_recursion_error(text: str) -> None:
    lines = _error_lines(text, CLUB_SOURCE)
    assert len(lines) == 1, lines
    assert re.fullmatch(
        rf"{re.escape(CLUB_SOURCE)}: (a: )?nested deeper than {MAX_NESTING} levels( \(at line \d+, column \d+\))?; "
        rf"a community file's tables and arrays nest at most {COMMUNITY_NESTING} levels deep",
        lines[0],
    ), lines[0]


# ---- Unknown keys: did you mean -------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "line"),
    [
        pytest.param('time_zone = "Europe/Paris"', 'time_zon = "Europe/Paris"',
                     "community.time_zon: unknown key; did you mean 'time_zone'?", id="required-key"),
        pytest.param("[invites]", "[invite]", "invite: unknown key; did you mean 'invites'?", id="section"),
        pytest.param("[[residencies]]", "[[residency]]", "residency: unknown key; did you mean 'residencies'?",
                     id="array-of-tables"),
        pytest.param("streak_min_points = 30", "streak_min_point = 30",
                     "loyalty.streak_min_point: unknown key; did you mean 'streak_min_points'?", id="loyalty-key"),
        pytest.param('id = "fledgling"\nname = "Fledgling"\npoints = 150',
                     'id = "fledgling"\nname = "Fledgling"\npoint = 150',
                     "loyalty.tiers[1].point: unknown key; did you mean 'points'?", id="tier-key"),
        pytest.param("residency_visit = 15", "residency_visits = 15",
                     "loyalty.points.residency_visits: unknown key; did you mean 'residency_visit'?",
                     id="engagement-kind"),
        pytest.param("max_entries_per_member = 1", "max_entry_per_member = 1",
                     "challenges[0].max_entry_per_member: unknown key; did you mean 'max_entries_per_member'?",
                     id="challenge-key"),
        pytest.param('weekday = "saturday"', 'week_day = "saturday"',
                     "residencies[0].week_day: unknown key; did you mean 'weekday'?", id="residency-key"),
    ],
)
def test_a_mistyped_key_is_one_line_suggesting_the_right_one(old: str, new: str, line: str) -> None:
    assert _club_lines((old, new)) == [f"{CLUB_SOURCE}: {line}"]


def test_an_unknown_engagement_kind_with_no_close_match_lists_the_kinds() -> None:
    assert _club_lines(("reaction = 0,", "likes = 3,")) == [
        f"{CLUB_SOURCE}: loyalty.points.likes: unknown key (known keys: {', '.join(sorted(ENGAGEMENT_KINDS))})"
    ]


# ---- Defaults ------------------------------------------------------------------------------

MINIMAL = '[community]\nid = "club"\nname = "Club"\nbrand = "house"\ntime_zone = "Europe/Paris"\n'


def test_a_minimal_community_gets_the_default_roles_invites_points_and_rfm() -> None:
    community = parse_community(MINIMAL, "club.toml")
    assert (community.community.cap, community.community.entry) == (500, "invite")
    assert [(r.id, r.default) for r in community.roles] == [("owner", False), ("admin", False), ("member", True)]
    assert community.roles == default_roles()
    assert set(community.roles[0].can) == set(ABILITIES)
    assert community.roles[2].can == ["invite"]
    assert community.default_role().id == "member"
    assert (community.invites.max_uses, community.invites.max_days) == (100, 7)
    assert community.loyalty.points == DEFAULT_POINTS
    assert (community.loyalty.streak_min_points, community.loyalty.streak_decay) == (50, "reset")
    assert community.rfm.window_days == 90
    assert community.challenges == community.residencies == community.catalogue == []


def test_a_points_table_replaces_the_defaults_whole() -> None:
    community = parse_community(MINIMAL + "[loyalty]\npoints = { selfie = 7 }\n", "club.toml")
    assert community.loyalty.points_for("selfie") == 7
    assert community.loyalty.points_for("attended_minute") == 0


def test_an_empty_roles_list_is_refused() -> None:
    with pytest.raises(CommunityError) as info:
        parse_community("roles = []\n" + MINIMAL, "club.toml")
    assert info.value.lines() == ["club.toml: roles: List should have at least 1 item after validation, not 0"]


def test_engagement_kinds_and_abilities_are_defined_once() -> None:
    assert ENGAGEMENT_KINDS == get_args(EngagementKind)
    assert set(ENGAGEMENT_KINDS) == {"attended_minute", "selfie", "reaction", "entry", "vote", "poll_answer",
                                     "redemption", "residency_visit"}
    assert set(UNITS) == set(DEFAULT_POINTS) == set(ENGAGEMENT_KINDS)
    assert ABILITIES == get_args(Ability) == ("invite", "approve", "moderate", "feature", "poll", "ban")
    assert PHASES == get_args(Phase) == ("draft", "submissions", "review", "voting", "closed")


# ---- Time: challenge phases --------------------------------------------------------------------


def _challenge(**changes: Any) -> Challenge:
    fields: dict[str, Any] = dict(
        id="sketch", title="Sketch", brief="Draw.", submissions=_paris(2027, 3, 21, 10), review=_paris(2027, 3, 25, 10),
        voting=_paris(2027, 3, 26, 10), closed=_paris(2027, 3, 27, 18),
    )
    return Challenge.model_validate({**fields, **changes})


@pytest.mark.parametrize(
    ("at", "phase"),
    [
        pytest.param(_paris(2027, 3, 21, 10) - dt.timedelta(microseconds=1), "draft", id="just-before-submissions"),
        pytest.param(_paris(2027, 3, 21, 10), "submissions", id="at-submissions"),
        pytest.param(_paris(2027, 3, 25, 9, 59), "submissions", id="minute-before-review"),
        pytest.param(_paris(2027, 3, 25, 10), "review", id="at-review"),
        pytest.param(_paris(2027, 3, 26, 10), "voting", id="at-voting"),
        pytest.param(_paris(2027, 3, 27, 17, 59), "voting", id="minute-before-closed"),
        pytest.param(_paris(2027, 3, 27, 18), "closed", id="at-closed"),
        pytest.param(dt.datetime(2027, 3, 27, 17, tzinfo=UTC), "closed", id="same-instant-in-utc"),
        pytest.param(dt.datetime(2030, 1, 1, tzinfo=UTC), "closed", id="long-after"),
    ],
)
def test_a_challenge_is_in_the_phase_whose_time_has_come(at: dt.datetime, phase: str) -> None:
    assert challenge_phase(_challenge(), at) == phase


def test_a_phase_asked_at_a_time_without_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        challenge_phase(_challenge(), dt.datetime(2027, 3, 22, 12))


def test_a_weekly_series_is_numbered_and_keeps_its_local_times_across_daylight_saving() -> None:
    series = weekly_series(_challenge(repeat_weeks=3), PARIS)
    assert [c.id for c in series] == ["sketch-w1", "sketch-w2", "sketch-w3"]
    assert all(c.repeat_weeks is None for c in series)
    assert [c.submissions.strftime("%a %H:%M %z") for c in series] == ["Sun 10:00 +0100", "Sun 10:00 +0200",
                                                                       "Sun 10:00 +0200"]
    real = series[1].submissions.astimezone(UTC) - series[0].submissions.astimezone(UTC)
    assert real == dt.timedelta(days=7) - dt.timedelta(hours=1), "the spring change takes an hour out of week 1"
    assert [c.closed.date() for c in series] == [dt.date(2027, 3, 27), dt.date(2027, 4, 3), dt.date(2027, 4, 10)]
    assert challenge_phase(series[1], _paris(2027, 3, 28, 10)) == "submissions"
    assert challenge_phase(series[1], _paris(2027, 3, 28, 9, 59)) == "draft"


def test_expanding_keeps_file_order_and_leaves_one_off_challenges_as_written() -> None:
    one_off = _challenge(id="card")
    expanded = expand_challenges([_challenge(repeat_weeks=2), one_off], PARIS)
    assert [c.id for c in expanded] == ["sketch-w1", "sketch-w2", "card"]
    assert expanded[2] is one_off
    club = load_community(CLUB)
    assert len(club.all_challenges()) == 16 + 1
    assert club.all_challenges()[-2].id == "weekly-sketch-w16"


# ---- Time: residencies ---------------------------------------------------------------------------


def _residency(**changes: Any) -> Residency:
    fields: dict[str, Any] = dict(id="studio", title="Studio", scene="s.toml", weekday="saturday", start="20:00",
                                  duration="30m", first=dt.date(2027, 3, 13), last=dt.date(2027, 11, 6))
    return Residency.model_validate({**fields, **changes})


def test_residency_shows_keep_their_local_time_across_late_march_and_late_october() -> None:
    shows = residency_occurrences(_residency(), PARIS, _paris(2027, 3, 19), _paris(2027, 4, 4))
    assert [start.astimezone(UTC).strftime("%m-%d %H:%M") for start, _ in shows] == [
        "03-20 19:00", "03-27 19:00", "04-03 18:00"]
    assert all(start.strftime("%H:%M") == "20:00" for start, _ in shows)
    assert all(end - start == dt.timedelta(minutes=30) for start, end in shows)
    autumn = residency_occurrences(_residency(), PARIS, _paris(2027, 10, 23), _paris(2027, 11, 7))
    assert [start.astimezone(UTC).strftime("%m-%d %H:%M") for start, _ in autumn] == [
        "10-23 18:00", "10-30 18:00", "11-06 19:00"]


def test_a_show_through_the_autumn_change_lasts_its_real_duration() -> None:
    (show,) = residency_occurrences(_residency(start="23:00", duration="5h"), PARIS, _paris(2027, 10, 30),
                                    _paris(2027, 10, 31, 12))
    start, end = show
    assert (start.strftime("%d %H:%M %z"), end.strftime("%d %H:%M %z")) == ("30 23:00 +0200", "31 03:00 +0100")
    assert end.astimezone(UTC) - start.astimezone(UTC) == dt.timedelta(hours=5)


def test_a_start_time_the_spring_change_skips_is_read_before_the_change_and_a_repeated_one_is_the_first() -> None:
    night = _residency(weekday="sunday", start="02:30", duration="20m")
    (spring,) = residency_occurrences(night, PARIS, _paris(2027, 3, 28), _paris(2027, 3, 29))
    assert spring[0].astimezone(UTC) == dt.datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
    assert spring[0].strftime("%H:%M %z") == "03:30 +0200"
    (autumn,) = residency_occurrences(night, PARIS, _paris(2027, 10, 31), _paris(2027, 11, 1))
    assert autumn[0].astimezone(UTC) == dt.datetime(2027, 10, 31, 0, 30, tzinfo=UTC)


def test_occurrences_are_those_on_at_some_instant_of_the_window_within_the_season() -> None:
    residency = _residency(first=dt.date(2027, 3, 14), last=dt.date(2027, 3, 27))
    assert [s.date() for s, _ in residency_occurrences(residency, PARIS, _paris(2027, 1, 1), _paris(2028, 1, 1))] == [
        dt.date(2027, 3, 20), dt.date(2027, 3, 27)]
    assert residency_occurrences(residency, "Europe/Paris", _paris(2027, 3, 20, 20, 29), _paris(2027, 3, 20, 20, 31))
    assert not residency_occurrences(residency, PARIS, _paris(2027, 3, 20, 20, 30), _paris(2027, 3, 21))
    assert not residency_occurrences(residency, PARIS, _paris(2027, 3, 20, 19), _paris(2027, 3, 20, 20))


def test_the_residency_on_is_the_one_playing_at_that_instant() -> None:
    club = load_community(CLUB)
    studio = club.residencies[0]
    assert residency_on(club, _paris(2026, 12, 5, 20)) == studio
    assert residency_on(club, _paris(2026, 12, 5, 20, 29)) == studio
    assert residency_on(club, _paris(2026, 12, 5, 20, 30)) is None
    assert residency_on(club, _paris(2026, 12, 5, 19, 59)) is None
    assert residency_on(club, _paris(2026, 12, 4, 20, 10)) is None, "a Friday"
    assert residency_on(club, _paris(2026, 11, 28, 20, 10)) is None, "before the season"
    assert residency_on(club, _paris(2027, 3, 27, 20, 10)) == studio, "the last show"
    assert residency_on(club, _paris(2027, 4, 3, 20, 10)) is None, "after the season"
    assert residency_on(club, dt.datetime(2027, 3, 27, 19, 10, tzinfo=UTC)) == studio


def test_the_next_show_is_the_first_still_on_or_to_come() -> None:
    studio = load_community(CLUB).residencies[0]
    assert next_occurrence(studio, PARIS, _paris(2026, 11, 1)) == (_paris(2026, 12, 5, 20), _paris(2026, 12, 5, 20, 30))
    assert next_occurrence(studio, PARIS, _paris(2026, 12, 5, 20, 10)) == (_paris(2026, 12, 5, 20),
                                                                         _paris(2026, 12, 5, 20, 30))
    after_the_first = next_occurrence(studio, PARIS, _paris(2026, 12, 5, 20, 30))
    assert after_the_first is not None and after_the_first[0] == _paris(2026, 12, 12, 20)
    assert next_occurrence(studio, PARIS, _paris(2027, 3, 28)) is None


# ---- The scene's link to a community ----------------------------------------------------------------

_EVENT = 'seed = 42\n'


@pytest.mark.parametrize(
    ("link", "line"),
    [
        pytest.param('min_tier = "gold"',
                     "event.min_tier: a minimum tier ('gold') needs the community it is a tier of: set event.community",
                     id="tier-without-community"),
        pytest.param("members_only = true",
                     "event.members_only: members only needs the community they are members of: set event.community",
                     id="members-only-without-community"),
        pytest.param('community = "Hoot Club"',
                     "event.community: 'Hoot Club' is not a valid id: use 1-48 lowercase letters, digits, '-' or '_', "
                     "starting with a letter or digit", id="community-not-an-id"),
        pytest.param('comunity = "club"', "event.comunity: unknown key; did you mean 'community'?", id="mistyped"),
    ],
)
def test_a_scene_limited_to_members_needs_its_community(link: str, line: str) -> None:
    text = (ROOT / "scenes" / "weekend-residency.toml").read_text(encoding="utf-8")
    text = text.replace('community = "weekend-residency-club"\n', "").replace(_EVENT, f"{_EVENT}{link}\n", 1)
    with pytest.raises(SceneError) as info:
        parse_scene(text, "scene.toml")
    assert info.value.lines() == [f"scene.toml: {line}"]


@pytest.mark.parametrize(
    ("link", "entry"),
    [
        pytest.param("", (None, False, None), id="no-community"),
        pytest.param('community = "club"', ("club", False, None), id="everyone"),
        pytest.param('community = "club"\nmembers_only = true', ("club", True, None), id="members"),
        pytest.param('community = "club"\nmin_tier = "gold"', ("club", False, "gold"), id="tier"),
    ],
)
def test_a_scene_says_who_may_enter(link: str, entry: tuple[object, ...]) -> None:
    text = (ROOT / "scenes" / "weekend-residency.toml").read_text(encoding="utf-8")
    text = text.replace('community = "weekend-residency-club"\n', "").replace(_EVENT, f"{_EVENT}{link}\n", 1)
    event = parse_scene(text, "scene.toml").event
    assert (event.community, event.members_only, event.min_tier) == entry


# ---- JSON Schema and the format document --------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(COMMUNITIES.glob("*.toml")), ids=lambda p: p.stem)
def test_json_schema_accepts_the_example_communities(path: Path) -> None:
    data = as_editor_sees_it(tomllib.loads(path.read_text(encoding="utf-8")))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in
              jsonschema.Draft202012Validator(Community.model_json_schema()).iter_errors(data)]
    assert errors == []


def test_json_schema_refuses_an_unknown_engagement_kind_and_key() -> None:
    data = as_editor_sees_it(tomllib.loads(CLUB.read_text(encoding="utf-8")))
    data["loyalty"]["points"]["likes"] = 1
    data["community"]["colour"] = "red"
    errors = list(jsonschema.Draft202012Validator(Community.model_json_schema()).iter_errors(data))
    assert len(errors) == 2


def test_format_document_names_every_key_kind_and_ability() -> None:
    doc = (ROOT / "docs" / "community-format.md").read_text(encoding="utf-8")
    schema = Community.model_json_schema()
    definitions = [schema, *schema["$defs"].values()]
    keys = {key for d in definitions for key in d.get("properties", {})}
    tags = {d["properties"]["kind"]["const"] for d in definitions if "const" in d.get("properties", {}).get("kind", {})}
    names = keys | tags | set(ENGAGEMENT_KINDS) | set(ABILITIES) | set(PHASES)
    undocumented = sorted(n for n in names if not re.search(rf"`\[*{re.escape(n)}\]*`", doc))
    assert undocumented == []
    assert f"up to {MAX_MEMBERS}" in doc
    assert re.search(rf"a\s+valid\s+community\s+file\s+needs\s+{COMMUNITY_NESTING}\b", doc)


# ---- The command line ------------------------------------------------------------------------------


def showroom(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "showroom", *args], check=False, capture_output=True, text=True,
                          timeout=120, cwd=ROOT)


def test_validate_prints_a_summary_of_each_example() -> None:
    club = showroom("community", "validate", CLUB_SOURCE, "--at", "2026-12-12T19:00:00+01:00")
    assert club.returncode == 0, club.stderr
    lines = club.stdout.splitlines()
    assert lines[0] == f"{CLUB_SOURCE}: ok"
    assert "up to 500, join by request (approved by owner, host)" in club.stdout
    assert "tiers Hatchling 0, Fledgling 150, Night Owl 600" in club.stdout
    assert ("weekly-sketch-w1..w16: ranked, top 3 -> challenge-winner: submissions Sun 2026-12-06 10:00, "
            "review Thu 2026-12-10 12:00, voting Thu 2026-12-10 20:00, closed Sat 2026-12-12 18:00; "
            "weekly until Sat 2027-03-27 18:00; now draft (weekly-sketch-w2)") in club.stdout
    assert ("saturday-studio: saturdays 20:00 for 30 min, 2026-12-05 to 2027-03-27 (17 shows), entry everyone, "
            "scene ../scenes/weekend-residency.toml; next Sat 2026-12-12 20:00") in club.stdout
    circle = showroom("community", "validate", CIRCLE_SOURCE, "--at", "2027-02-01T00:00:00Z")
    assert circle.returncode == 0, circle.stderr
    assert "join by invite (invites from owner, curator, ambassador)" in circle.stdout
    assert "rose-sketch-w1..w4: approval, top 5 -> rose-pocket-square" in circle.stdout
    assert "now closed (rose-sketch-w4)" in circle.stdout
    assert "entry gold, scene ../scenes/anniversary-runway.toml; season over" in circle.stdout


def test_validate_reports_each_error_on_one_line_and_exits_1(tmp_path: Path) -> None:
    broken = tmp_path / "club.toml"
    broken.write_text(_text(CLUB, [("cap = 500", "cap = 501"), ('time_zone = "Europe/Paris"', 'time_zone = "Paris"')]),
                      encoding="utf-8")
    result = showroom("community", "validate", str(broken))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"{broken}: community.time_zone: unknown time zone 'Paris'; did you mean 'Europe/Paris'?",
        f"{broken}: community.cap: Input should be less than or equal to 500 (got 501)",
    ]


def test_validate_refuses_a_moment_without_offset() -> None:
    result = showroom("community", "validate", CLUB_SOURCE, "--at", "2026-12-12T19:00:00")
    assert result.returncode == 2
    assert "has no UTC offset" in result.stderr


def test_schema_is_json_with_the_top_level_sections() -> None:
    result = showroom("community", "schema")
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    assert set(schema["properties"]) == {"community", "roles", "invites", "entitlements", "loyalty", "challenges",
                                         "residencies", "catalogue", "rfm"}
    assert schema["required"] == ["community"]
    assert schema["additionalProperties"] is False


def test_entitlements_are_the_scene_formats_own() -> None:
    circle = load_community(CIRCLE)
    assert {type(e) for e in circle.entitlements} == {Badge, Voucher, EarlyAccess}
