"""Scene files: the examples load, and every mistake is reported as ``FILE: key.path: reason``."""

from __future__ import annotations

import datetime as dt
import math
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from showroom.errors import ShowroomError
from showroom.scene import Scene, SceneError, load_scene, parse_scene
from showroom.scene.rewards import AttendedRule, FirstJoinersRule, MetaPass, SelfieRule, Voucher
from showroom.scene.show import PauseCue, PoseCue, SelfieCue, TurnCue, WalkCue
from showroom.scene.timecode import format_clock, parse_seconds

SCENES = Path(__file__).resolve().parents[1] / "scenes"
ANNIVERSARY = SCENES / "anniversary-runway.toml"
RESIDENCY = SCENES / "weekend-residency.toml"
SOURCE = "scenes/anniversary-runway.toml"


def _variant(old: str, new: str) -> str:
    """The anniversary scene with ``old`` (which must occur exactly once) replaced by ``new``."""
    text = ANNIVERSARY.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"the example scene no longer contains exactly one {old!r}"
    return text.replace(old, new)


def _error_lines(text: str) -> list[str]:
    with pytest.raises(SceneError) as info:
        parse_scene(text, SOURCE)
    return info.value.lines()


# ---- The example scenes ----------------------------------------------------


@pytest.mark.parametrize("path", sorted(SCENES.glob("*.toml")), ids=lambda p: p.stem)
def test_example_scenes_load(path: Path) -> None:
    scene = load_scene(path)
    assert isinstance(scene, Scene)
    assert scene.timeline, "an example scene should have a show"


def test_weekend_residency_is_a_different_kind_of_show() -> None:
    scene = load_scene(RESIDENCY)
    assert scene.venue.size == (24.0, 18.0)
    assert [m.id for m in scene.mascots] == ["olive"]
    assert sorted(z.kind for z in scene.venue.zones) == ["seated", "standing"]
    assert (len(scene.venue.booths), len(scene.venue.spawns), len(scene.venue.exits)) == (1, 1, 1)
    (a, b, c) = scene.venue.runway.centerline
    cross = (b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0])
    assert abs(cross) > 1.0, "the residency runway bends"
    assert scene.event.duration == 15 * 60
    kinds = {type(cue) for cue in scene.timeline}
    assert {WalkCue, PoseCue, TurnCue, PauseCue, SelfieCue} <= kinds
    assert {cue.kind for cue in scene.timeline} >= {"music", "lights", "announce"}


def test_weekend_residency_rewards_early_joiners_stayers_and_selfies() -> None:
    scene = load_scene(RESIDENCY)
    ents = {e.id: e for e in scene.entitlements}
    rules = {type(r): r for r in scene.rewards}
    first = rules[FirstJoinersRule]
    assert first.count == 20 and isinstance(ents[first.grant], MetaPass)
    assert ents[first.grant].tier == "silver"
    assert rules[AttendedRule].minutes == 10
    voucher = ents[rules[SelfieRule].grant]
    assert isinstance(voucher, Voucher)
    assert voucher.valid_for == 7 * 86400 and voucher.stock <= 100


# ---- Broken variants of the anniversary scene --------------------------------

BROKEN = [
    pytest.param('shard_capacity = 1500', 'shard_capacity = "lots"',
                 "event.shard_capacity", r"valid integer.*'lots'", id="wrong-type"),
    pytest.param('title = "Fifth Anniversary Runway"\n', "",
                 "event.title", r"missing required key", id="missing-key"),
    pytest.param("seed = 5\n", 'seed = 5\ncolour = "red"\n',
                 "event.colour", r"unknown key", id="unknown-key"),
    pytest.param('mascot = "teddy"\npose = "wave"', 'mascot = "tedy"\npose = "wave"',
                 "timeline[6].mascot", r"unknown mascot 'tedy' \(known mascots: ember, kit, teddy\)",
                 id="unknown-mascot-in-cue"),
    pytest.param('path = "kit-finale-back"', 'path = "kit-finale-home"',
                 "timeline[39].path", r"unknown path 'kit-finale-home' \(known paths: .*kit-finale-back",
                 id="unknown-path-in-walk"),
    pytest.param('spot = "east-end"\nduration = 140', 'spot = "north-end"\nduration = 140',
                 "timeline[10].spot", r"unknown selfie spot 'north-end' \(known selfie spots: east-end, west-end\)",
                 id="unknown-selfie-spot"),
    pytest.param('pose = "wave"', 'pose = "moonwalk"',
                 "timeline[6].pose", r"'teddy' has no pose 'moonwalk' \(known poses: bow, heart, wave\)",
                 id="unknown-pose"),
    pytest.param('pose = "wave"', 'pose = "Wave"',
                 "timeline[6].pose", r"'Wave' is not a valid id", id="pose-name-not-an-id"),
    pytest.param("centerline = [[30, 38], [30, 12]]", "centerline = [[30, 41], [30, 12]]",
                 "venue.runway", r"outside the 60 x 40 m floor", id="runway-outside-venue"),
    pytest.param("points = [[31, 14.5], [31, 37.2]]", "points = [[31, 14.5], [34, 25], [31, 37.2]]",
                 "venue.paths[7].points", r"path 'kit-back' leaves the runway", id="path-leaves-runway"),
    pytest.param('at = "0:56"', 'at = "0:40"',
                 "timeline[9].at", r"walk of 'teddy' at 0:40-0:42 overlaps timeline\[5\] \(0:20-0:44\)",
                 id="overlapping-walks-on-one-mascot"),
    pytest.param('at = "0:46"', 'at = "0:40"',
                 "timeline[6].at", r"pose of 'teddy' .* overlaps timeline\[5\]", id="pose-during-a-walk"),
    pytest.param("stock = 150", "stock = -1",
                 "entitlements[1].stock", r"greater than or equal to 0", id="negative-stock"),
    pytest.param("valid_until = 2027-01-31T23:59:59Z", "valid_until = 2026-10-01T00:00:00Z",
                 "entitlements[2].valid_until", r"window ends \(2026-10-01.*\) before it starts \(2026-11-01",
                 id="voucher-window-ends-before-it-starts"),
    pytest.param("valid_until = 2027-01-31T23:59:59Z", "valid_until = 2027-01-31T23:59:59",
                 "entitlements[2]", r"valid_until needs a UTC offset", id="voucher-date-without-utc-offset"),
    pytest.param('valid_for = "72h"', 'valid_for = "72h"\nvalid_from = 2026-11-01T00:00:00Z',
                 "entitlements[1]", r"either valid_for .* or valid_from/valid_until", id="voucher-with-two-windows"),
    pytest.param('valid_for = "72h"', 'valid_for = "3 weeks"',
                 "entitlements[1].valid_for", r"expected a duration such as '30m'", id="voucher-bad-duration"),
    pytest.param('at = "0:18"\nuntil = "1:30"', 'at = "0:18"\nuntil = "0:10"',
                 "looks[0].until", r"look ends \(0:10\) before it starts \(0:18\)", id="look-ends-before-it-starts"),
    pytest.param('grant = "lumen-scarf"', 'grant = "lumen-scarff"',
                 "rewards[1].grant", r"unknown entitlement 'lumen-scarff' \(known entitlements: .*lumen-scarf",
                 id="unknown-entitlement-in-rule"),
    pytest.param('look = "finale"', 'look = "encore"',
                 "rewards[3].look",
                 r"unknown look 'encore' \(known looks: aurora-look, finale, lumen-look, velluto-look\)",
                 id="unknown-look-in-reacted-rule"),
    pytest.param('mascot = "ember"\ngrant', 'mascot = "emberr"\ngrant',
                 "rewards[2].mascot", r"unknown mascot 'emberr'", id="unknown-mascot-in-selfie-rule"),
    pytest.param('when = "attended"', 'when = "stayed"',
                 "rewards[0]", r"unknown when 'stayed' \(known: 'attended', 'selfie', 'reacted', 'first_joiners'\)",
                 id="unknown-reward-trigger"),
    pytest.param('kind = "announce"\ntext = "The finale!', 'kind = "shout"\ntext = "The finale!',
                 "timeline[30]", r"unknown kind 'shout' \(known: 'walk', .*'selfie'\)", id="unknown-cue-kind"),
    pytest.param('kind = "music"\nmark = "Velluto', 'mark = "Velluto',
                 "timeline[18]", r"missing 'kind'", id="cue-without-kind"),
    pytest.param('at = "7:02"', 'at = "9:02"',
                 "timeline[41].at", r"cue at 9:02 is after the show ends \(8:00\)", id="cue-after-the-show-ends"),
    pytest.param('id = "velluto-look"', 'id = "aurora-look"',
                 "looks[2].id", r"duplicate id 'aurora-look'", id="duplicate-id"),
    pytest.param('name = "side-door"\nat = [1.2, 20]', 'name = "main-entrance"\nat = [1.2, 20]',
                 "venue.exits[1].name", r"duplicate name 'main-entrance'", id="duplicate-venue-name"),
    pytest.param("at = [30, 1.6]", "at = [nan, 1.6]",
                 "venue.spawns[0].at[0]", r"finite number", id="nan-coordinate"),
    pytest.param('duration = "8:00"', 'duration = "8:70"',
                 "event.duration", r"seconds must be below 60 in '8:70'", id="bad-time-code"),
    pytest.param('at = "0:46"', 'at = "0:4x"',
                 "timeline[6].at", r"expected a time such as '1:30'.*'0:4x'", id="bad-time-code-in-pose-cue"),
    pytest.param("points = [[29, 37.2], [29, 14]]", "points = [[29, 30], [29, 14]]",
                 "timeline[31].path",
                 r"'teddy' stands at \(29.00, 37.20\) when this walk starts, but path 'teddy-finale-out' "
                 r"starts at \(29.00, 30.00\)",
                 id="walk-starts-where-the-mascot-is-not"),
    pytest.param('spot = "east-end"\nduration = 140', 'spot = "west-end"\nduration = 140',
                 "timeline[10].spot", r"selfie spot 'west-end' is at \(29.00, 14.50\); walk it there first",
                 id="selfie-where-the-mascot-is-not"),
    pytest.param('path = "teddy-out"\nspeed = 1.0', 'path = "teddy-out"\nspeed = 1.0\nduration = 20',
                 "timeline[5]", r"either speed or duration", id="walk-with-speed-and-duration"),
    pytest.param('color = "#2a2340"', 'color = "purple"',
                 "timeline[0].color", r"'purple' is not a colour", id="bad-colour"),
    pytest.param('id = "kit"\n', 'id = "Kit"\n',
                 "mascots[2].id", r"'Kit' is not a valid id", id="id-with-capitals"),
    pytest.param('brand = "lumen"\nname = "Teddy', 'brand = "lumens"\nname = "Teddy',
                 "mascots[0].brand", r"unknown brand 'lumens' \(known brands: aurora, lumen, velluto\)",
                 id="mascot-of-unknown-brand"),
    pytest.param("at = [30, 1.6]", "at = [30, 20]",
                 "venue.spawns[0].at", r"\(30.00, 20.00\) is on the runway", id="spawn-on-the-runway"),
    pytest.param("queue = [33.6, 14.5]", "queue = [30.5, 14.5]",
                 "venue.selfie_spots[0].queue", r"beside the runway, not on it", id="selfie-queue-on-the-runway"),
    pytest.param('[[venue.selfie_spots]]\nname = "west-end"',
                 '[[venue.selfie_spots]]\nname = "bar"\nat = [40, 20]\nqueue = [42, 20]\n\n'
                 '[[venue.selfie_spots]]\nname = "west-end"',
                 "venue.selfie_spots[1].at", r"\(40.00, 20.00\) is not on the runway", id="selfie-spot-off-the-runway"),
    pytest.param("polygon = [[12, 17], [27.3, 17], [27.3, 34], [12, 34]]",
                 "polygon = [[12, 17], [29, 17], [29, 34], [12, 34]]",
                 "venue.zones[0].polygon", r"'west-floor' overlaps the runway", id="zone-overlaps-the-runway"),
    pytest.param("polygon = [[50, 4], [56, 4], [56, 8], [50, 8]]",
                 "polygon = [[50, 4], [66, 4], [66, 8], [50, 8]]",
                 "venue.booths[1].polygon", r"'aurora-booth' reaches outside the floor", id="booth-outside-the-floor"),
]


@pytest.mark.parametrize(("old", "new", "path", "reason"), BROKEN)
def test_broken_scene_reports_one_line_naming_file_key_path_and_reason(
    old: str, new: str, path: str, reason: str
) -> None:
    lines = _error_lines(_variant(old, new))
    assert len(lines) == 1, "\n".join(lines)
    prefix = f"{SOURCE}: {path}: "
    assert lines[0].startswith(prefix), lines[0]
    assert re.search(reason, lines[0].removeprefix(prefix)), lines[0]


def test_bad_toml_names_the_line() -> None:
    lines = _error_lines(_variant('title = "Fifth Anniversary Runway"', 'title = "Fifth Anniversary Runway'))
    assert len(lines) == 1
    assert lines[0].startswith(f"{SOURCE}: not valid TOML: ")
    assert "line 9" in lines[0]


def test_every_problem_is_reported_not_only_the_first() -> None:
    text = _variant("stock = 150", "stock = -1").replace("shard_capacity = 1500", 'shard_capacity = "lots"')
    lines = _error_lines(text)
    assert [line.split(": ")[1] for line in lines] == ["event.shard_capacity", "entitlements[1].stock"]


def test_errors_name_the_file_they_came_from(tmp_path: Path) -> None:
    broken = tmp_path / "gala.toml"
    broken.write_text(_variant('look = "finale"', 'look = "encore"'), encoding="utf-8")
    with pytest.raises(SceneError) as info:
        load_scene(broken)
    assert info.value.lines() == [
        f"{broken}: rewards[3].look: unknown look 'encore' (known looks: aurora-look, finale, lumen-look, velluto-look)"
    ]
    assert str(info.value) == info.value.lines()[0]
    assert isinstance(info.value, ShowroomError)


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(SceneError) as info:
        load_scene(missing)
    assert info.value.lines() == [f"{missing}: no such file"]


# ---- Time codes ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "seconds"),
    [
        pytest.param("1:30", 90.0, id="mm:ss"),
        pytest.param("0:05.5", 5.5, id="fractional-seconds"),
        pytest.param("12:00", 720.0, id="minutes-past-ten"),
        pytest.param("1:02:03", 3723.0, id="h:mm:ss"),
        pytest.param("90s", 90.0, id="seconds-suffix"),
        pytest.param("90", 90.0, id="seconds-as-text"),
        pytest.param(" 2:00 ", 120.0, id="surrounding-spaces"),
        pytest.param(90, 90.0, id="integer"),
        pytest.param(12.5, 12.5, id="float"),
        pytest.param("0:00", 0.0, id="zero"),
    ],
)
def test_time_codes_parse_to_seconds(written: object, seconds: float) -> None:
    assert parse_seconds(written) == seconds


@pytest.mark.parametrize(
    "written",
    [
        pytest.param("8:70", id="seconds-past-59"),
        pytest.param("1:30:", id="trailing-colon"),
        pytest.param("soon", id="words"),
        pytest.param("-5", id="negative-text"),
        pytest.param(-1, id="negative-number"),
        pytest.param(float("nan"), id="nan"),
        pytest.param("inf", id="infinite"),
        pytest.param(True, id="boolean"),
        pytest.param(None, id="none"),
        pytest.param([1, 30], id="list"),
    ],
)
def test_bad_time_codes_are_refused(written: object) -> None:
    with pytest.raises(ValueError):
        parse_seconds(written)


@pytest.mark.parametrize(
    ("seconds", "clock"),
    [(0, "0:00"), (59, "0:59"), (61.9, "1:01"), (600, "10:00"), (3600, "1:00:00"), (3723, "1:02:03")],
)
def test_clock_format_rounds_down_to_whole_seconds(seconds: float, clock: str) -> None:
    assert format_clock(seconds) == clock


@given(st.integers(min_value=0, max_value=100 * 3600))
def test_whole_seconds_round_trip_through_the_clock_format(seconds: int) -> None:
    assert parse_seconds(format_clock(seconds)) == seconds


@given(st.floats(min_value=0, max_value=1e6, allow_nan=False))
def test_clock_format_of_any_time_parses_back_to_its_whole_seconds(seconds: float) -> None:
    assert parse_seconds(format_clock(seconds)) == math.floor(seconds)


# ---- JSON Schema for editors ------------------------------------------------------

TOP_LEVEL = {"event", "venue", "brands", "mascots", "looks", "timeline", "entitlements", "rewards"}


def test_json_schema_is_a_dict_with_the_top_level_sections() -> None:
    schema = Scene.model_json_schema()
    assert isinstance(schema, dict)
    assert set(schema["properties"]) == TOP_LEVEL
    assert {"event", "venue", "brands", "mascots"} <= set(schema["required"])
    assert schema["additionalProperties"] is False


def _as_editor_sees_it(value: Any) -> Any:
    """TOML data as a schema-aware editor checks it: dates and times as ISO strings."""
    if isinstance(value, dict):
        return {key: _as_editor_sees_it(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_editor_sees_it(item) for item in value]
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    return value


@pytest.mark.parametrize("path", sorted(SCENES.glob("*.toml")), ids=lambda p: p.stem)
def test_json_schema_accepts_the_example_scenes(path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    data = _as_editor_sees_it(tomllib.loads(path.read_text(encoding="utf-8")))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in
              jsonschema.Draft202012Validator(Scene.model_json_schema()).iter_errors(data)]
    assert errors == []


@pytest.mark.parametrize(
    ("written", "accepted"),
    [("1:30", True), ("1:02:03", True), ("0:05.5", True), ("90s", True), ("90", True),
     ("8:70", False), ("soon", False)],
)
def test_json_schema_time_pattern_agrees_with_the_parser(written: str, accepted: bool) -> None:
    look = Scene.model_json_schema()["$defs"]["Look"]["properties"]["at"]
    pattern = next(option["pattern"] for option in look["anyOf"] if option.get("type") == "string")
    assert bool(re.fullmatch(pattern, written)) is accepted
    if accepted:
        parse_seconds(written)
    else:
        with pytest.raises(ValueError):
            parse_seconds(written)


# ---- The format document ----------------------------------------------------------


def test_format_document_names_every_key_and_every_kind() -> None:
    doc = (SCENES.parent / "docs" / "scene-format.md").read_text(encoding="utf-8")
    schema = Scene.model_json_schema()
    definitions = [schema, *schema["$defs"].values()]
    keys = {key for d in definitions for key in d.get("properties", {})}
    tags = {d["properties"][t]["const"] for d in definitions for t in ("kind", "when")
            if "const" in d.get("properties", {}).get(t, {})}
    undocumented = sorted(n for n in keys | tags if not re.search(rf"`\[*{re.escape(n)}\]*`", doc))
    assert undocumented == []
