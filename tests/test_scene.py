"""Scene files: the examples load, and every mistake is reported as ``FILE: key.path: reason``."""

from __future__ import annotations

import json
import math
import re
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import as_editor_sees_it
from hypothesis import given, settings
from hypothesis import strategies as st

from showroom.errors import ShowroomError
from showroom.protocol.limits import MAX_COORD_M
from showroom.scene import Scene, SceneError, load_scene, parse_scene, scene_from_data
from showroom.scene.nesting import MAX_NESTING, SCENE_NESTING, text_too_deep
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
                 "entitlements[2].valid_until", r"no UTC offset", id="voucher-date-without-utc-offset"),
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


def _anniversary_text(replacements: list[tuple[str, str]]) -> str:
    """The anniversary scene with every ``old`` (which must occur) replaced by ``new``."""
    text = ANNIVERSARY.read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text, f"the example scene no longer contains {old!r}"
        text = text.replace(old, new)
    return text


def _anniversary_lines(replacements: list[tuple[str, str]]) -> list[str]:
    return _error_lines(_anniversary_text(replacements))


# ---- Nesting ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("x = " + "[" * 2000 + "]" * 2000 + "\n", id="array-in-array"),
        pytest.param("x = " + "{a = " * 2000 + "1" + "}" * 2000 + "\n", id="inline-table-in-inline-table"),
        pytest.param("x = " + "[{a = " * 1000 + "1" + "}]" * 1000 + "\n", id="tables-in-arrays"),
        pytest.param("[event]\ntitle = " + "[" * 300 + "]" * 300 + "\n", id="inside-a-section"),
        pytest.param("x." + ".".join(["a"] * 3000) + " = 1\n", id="dotted-key"),
        pytest.param("[" + ".".join(["a"] * 3000) + "]\nb = 1\n", id="table-header"),
    ],
)
def test_a_deeply_nested_scene_is_one_line_not_a_recursion_error(text: str) -> None:
    lines = _error_lines(text)
    assert len(lines) == 1, lines
    assert re.fullmatch(
        rf"{re.escape(SOURCE)}: (x: |a: )?nested deeper than {MAX_NESTING} levels"
        r"( \(at line \d+, column \d+\))?; .*",
        lines[0],
    ), lines[0]


def test_brackets_inside_strings_and_comments_are_not_nesting() -> None:
    deep = "[{" * MAX_NESTING
    scene = parse_scene(_anniversary_text([
        ('host = "Maison Galleria"', f'host = "{deep}"  # {deep}\n# {deep}'),
        ('text = "The finale! Teddy, Ember and Kit take the runway together."',
         f"text = '''\n{deep}'''\n# and \"\"\"{deep}"),
    ]), SOURCE)
    assert scene.event.host == deep
    assert scene.timeline[30].text == deep


_TRICKY = st.lists(
    st.sampled_from(["[", "]", "{", "}", "#", "\\", "\n", "a", " = ", ",", "'", "''", '"', '""', '\\"']), max_size=8
).map("".join)


@st.composite
def _toml_string(draw: st.DrawFn) -> str:
    """A TOML string literal, in any of the four kinds of string, holding brackets, quotes and hashes."""
    text = draw(_TRICKY)
    style = draw(st.sampled_from(["basic", "literal", "multiline-basic", "multiline-literal"]))
    if style == "literal" and "'" not in text and "\n" not in text:
        return f"'{text}'"
    if style == "multiline-literal" and "'''" not in text:
        return f"'''{text}'''"
    if style == "multiline-basic":
        escaped = text.replace("\\", "\\\\")
        escaped = escaped.replace('"', '\\"') if draw(st.booleans()) else escaped.replace('"""', '""\\"')
        return '"""' + escaped + '"""'
    return json.dumps(text)


def _toml_array(items: list[str], comment: bool) -> str:
    return "[" + (", # [{'\"\n" if comment else ", ").join(items) + "]"


_TOML_VALUES = st.recursive(
    _toml_string(),
    lambda inner: st.one_of(
        st.builds(_toml_array, st.lists(inner, max_size=3), st.booleans()),
        st.lists(inner, min_size=1, max_size=3).map(
            lambda items: "{" + ", ".join(f"k{i} = {item}" for i, item in enumerate(items)) + "}"
        ),
    ),
    max_leaves=12,
)


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


@settings(max_examples=500)
@given(_TOML_VALUES)
def test_nesting_is_measured_as_tomllib_nests_whatever_strings_and_comments_hold(value: str) -> None:
    text = f"x = {value}  # ]]]}}}}\n"
    depth = _depth(tomllib.loads(text)["x"])
    assert text_too_deep(text, depth) is None
    if depth:
        assert text_too_deep(text, depth - 1) is not None


def test_data_nested_too_deep_is_refused_without_recursion() -> None:
    deep: Any = 1
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(SceneError) as info:
        scene_from_data({"venue": {"size": deep}}, SOURCE)
    assert len(info.value.lines()) == 1
    assert info.value.lines()[0].startswith(f"{SOURCE}: venue: nested deeper than {MAX_NESTING} levels; ")


# ---- Venue size and the floor -------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "path"),
    [
        pytest.param("[1e308, 40]", "venue.size[0]", id="1e308-wide"),
        pytest.param("[700, 40]", "venue.size[0]", id="wider-than-the-wire"),
        pytest.param(f"[60, {MAX_COORD_M + 0.01}]", "venue.size[1]", id="a-centimetre-too-deep"),
    ],
)
def test_a_venue_larger_than_the_wire_can_address_is_refused_at_its_size(size: str, path: str) -> None:
    lines = _error_lines(_variant("size = [60.0, 40.0]", f"size = {size}"))
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{SOURCE}: {path}: "), lines[0]
    assert f"{MAX_COORD_M:g} m" in lines[0], lines[0]


def test_a_venue_as_large_as_the_wire_can_address_is_accepted() -> None:
    scene = parse_scene(_variant("size = [60.0, 40.0]", f"size = [{MAX_COORD_M}, {MAX_COORD_M}]"), SOURCE)
    assert scene.venue.size == (MAX_COORD_M, MAX_COORD_M)


def test_json_schema_bounds_the_venue_size_by_the_wire() -> None:
    size = Scene.model_json_schema()["$defs"]["Venue"]["properties"]["size"]
    assert [item["maximum"] for item in size["prefixItems"]] == [MAX_COORD_M, MAX_COORD_M]


_RUNWAY_TO_THE_BACK_WALL = ("centerline = [[30, 38], [30, 12]]", "centerline = [[30, 39.9], [30, 12]]")


@pytest.mark.parametrize(
    ("changes", "path", "reason"),
    [
        pytest.param([("points = [[25, 40], [25, 36], [28.2, 36]]", "points = [[25, 40], [25, 36], [70, 36]]")],
                     "venue.walls[1].points", r"\(70.00, 36.00\) is outside the 60 x 40 m floor", id="wall"),
        pytest.param([_RUNWAY_TO_THE_BACK_WALL,
                      ('[[venue.selfie_spots]]\nname = "east-end"',
                       '[[venue.paths]]\nname = "edge"\npoints = [[30, 39], [30, 41]]\n\n'
                       '[[venue.selfie_spots]]\nname = "east-end"')],
                     "venue.paths[14].points", r"path 'edge' leaves the 60 x 40 m floor at \(30.00, 40.25\)",
                     id="path-on-the-runway-past-the-back-wall"),
        pytest.param([_RUNWAY_TO_THE_BACK_WALL,
                      ('[[venue.selfie_spots]]\nname = "west-end"',
                       '[[venue.selfie_spots]]\nname = "tip"\nat = [30, 41]\nqueue = [33, 38]\n\n'
                       '[[venue.selfie_spots]]\nname = "west-end"')],
                     "venue.selfie_spots[1].at", r"\(30.00, 41.00\) is outside the 60 x 40 m floor",
                     id="selfie-spot-on-the-runway-past-the-back-wall"),
    ],
)
def test_every_point_of_the_scene_lies_on_the_floor(changes: list[tuple[str, str]], path: str, reason: str) -> None:
    lines = _anniversary_lines(changes)
    assert len(lines) == 1, lines
    prefix = f"{SOURCE}: {path}: "
    assert lines[0].startswith(prefix), lines[0]
    assert re.search(reason, lines[0].removeprefix(prefix)), lines[0]


# ---- Unknown keys -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "line"),
    [
        pytest.param('title = "Fifth', 'titel = "Fifth', "event.titel: unknown key; did you mean 'title'?",
                     id="required-key"),
        pytest.param("shard_capacity = 1500", "shard_capcity = 1500",
                     "event.shard_capcity: unknown key; did you mean 'shard_capacity'?", id="key-with-a-default"),
        pytest.param("[event]", "[evnt]", "evnt: unknown key; did you mean 'event'?", id="section"),
        pytest.param('path = "teddy-out"', 'paht = "teddy-out"',
                     "timeline[5].paht: unknown key; did you mean 'path'?", id="key-of-a-walk-cue"),
        pytest.param('kind = "walk"\nmascot = "teddy"\npath = "teddy-out"',
                     'knid = "walk"\nmascot = "teddy"\npath = "teddy-out"',
                     "timeline[5].knid: unknown key; did you mean 'kind'?", id="kind-of-a-cue"),
        pytest.param("body = { height = 1.9,", "body = { heigth = 1.9,",
                     "mascots[0].body.heigth: unknown key; did you mean 'height'?", id="key-of-an-inline-table"),
        pytest.param("valid_until = 2027", "valid_untill = 2027",
                     "entitlements[2].valid_untill: unknown key; did you mean 'valid_until'?", id="key-of-a-voucher"),
    ],
)
def test_a_mistyped_key_is_one_line_suggesting_the_right_one(old: str, new: str, line: str) -> None:
    assert _error_lines(_variant(old, new)) == [f"{SOURCE}: {line}"]


@pytest.mark.parametrize(
    ("old", "new", "line"),
    [
        pytest.param('kind = "walk"\nmascot = "teddy"\npath = "teddy-out"',
                     'kind = "walks"\nmascot = "teddy"\npath = "teddy-out"',
                     "timeline[5]: unknown kind 'walks'; did you mean 'walk'?", id="cue-kind"),
        pytest.param('when = "attended"', 'when = "atended"',
                     "rewards[0]: unknown when 'atended'; did you mean 'attended'?", id="reward-trigger"),
    ],
)
def test_a_mistyped_kind_is_one_line_suggesting_the_right_one(old: str, new: str, line: str) -> None:
    assert _error_lines(_variant(old, new)) == [f"{SOURCE}: {line}"]


def test_an_unknown_key_with_no_close_match_lists_the_known_keys() -> None:
    assert _error_lines(_variant("seed = 5\n", 'seed = 5\ncolour = "red"\n')) == [
        f"{SOURCE}: event.colour: unknown key (known keys: community, duration, host, id, members_only, min_tier, seed, shard_capacity, title)"
    ]


def test_a_key_the_table_already_has_is_not_suggested() -> None:
    assert _error_lines(_variant("seed = 5\n", "seed = 5\nsede = 6\n")) == [
        f"{SOURCE}: event.sede: unknown key (known keys: community, duration, host, id, members_only, min_tier, seed, shard_capacity, title)"
    ]


# ---- One line per cause ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "line"),
    [
        pytest.param([('id = "teddy"', 'id = "tedy"')],
                     "timeline[5].mascot, timeline[6].mascot and 9 more: "
                     "unknown mascot 'teddy' (known mascots: ember, kit, tedy)", id="renamed-mascot"),
        pytest.param([('mascot = "kit"', 'mascot = "kitt"')],
                     "timeline[20].mascot, timeline[22].mascot and 7 more: "
                     "unknown mascot 'kitt' (known mascots: ember, kit, teddy)", id="misspelled-in-every-cue"),
        pytest.param([('id = "lumen"', 'id = "lumens"')],
                     "venue.booths[0].brand, mascots[0].brand and looks[0].brand: "
                     "unknown brand 'lumen' (known brands: aurora, lumens, velluto)", id="renamed-brand"),
        pytest.param([('name = "east-end"', 'name = "east"')],
                     "timeline[10].spot and timeline[25].spot: "
                     "unknown selfie spot 'east-end' (known selfie spots: east, west-end)", id="renamed-selfie-spot"),
    ],
)
def test_an_unknown_name_used_in_many_places_is_one_line_naming_them(
    changes: list[tuple[str, str]], line: str
) -> None:
    assert _anniversary_lines(changes) == [f"{SOURCE}: {line}"]


def test_a_floor_too_small_for_the_scene_is_one_line_naming_the_places_off_it() -> None:
    lines = _error_lines(_variant("size = [60.0, 40.0]", "size = [20, 20]"))
    assert len(lines) == 1, "\n".join(lines)
    assert re.fullmatch(
        rf"{re.escape(SOURCE)}: venue\.runway, venue\.walls\[0\]\.points and \d+ more: outside the 20 x 20 m floor "
        r"\(the furthest point is \(60\.00, 40\.00\)\); is venue\.size right\?",
        lines[0],
    ), lines[0]


def test_an_unknown_path_does_not_cascade_into_a_mascot_standing_in_the_wrong_place() -> None:
    lines = _anniversary_lines([('name = "teddy-out"', 'name = "teddy-walk"')])
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{SOURCE}: timeline[5].path: unknown path 'teddy-out' (known paths: "), lines[0]


def test_different_problems_stay_on_their_own_lines() -> None:
    text = _variant('title = "Fifth Anniversary Runway"\n', "").replace('id = "anniversary-runway"\n', "")
    assert _error_lines(text) == [f"{SOURCE}: event.id: missing required key",
                                  f"{SOURCE}: event.title: missing required key"]


# ---- Voucher dates -------------------------------------------------------------------


@pytest.mark.parametrize("key", ["valid_from", "valid_until"])
def test_a_voucher_date_without_utc_offset_is_reported_at_that_date(key: str) -> None:
    old = {"valid_from": "valid_from = 2026-11-01T00:00:00Z", "valid_until": "valid_until = 2027-01-31T23:59:59Z"}[key]
    lines = _error_lines(_variant(old, old.removesuffix("Z")))
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{SOURCE}: entitlements[2].{key}: "), lines[0]
    assert re.search(r"no UTC offset: write .*Z for UTC", lines[0]), lines[0]


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

TOP_LEVEL = {"event", "venue", "brands", "mascots", "looks", "timeline", "entitlements", "rewards", "crowd"}


def test_json_schema_is_a_dict_with_the_top_level_sections() -> None:
    schema = Scene.model_json_schema()
    assert isinstance(schema, dict)
    assert set(schema["properties"]) == TOP_LEVEL
    assert set(schema["required"]) == {"event", "venue"}  # a crowd scenario has no brands or mascots
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize("path", sorted(SCENES.glob("*.toml")), ids=lambda p: p.stem)
def test_json_schema_accepts_the_example_scenes(path: Path) -> None:
    data = as_editor_sees_it(tomllib.loads(path.read_text(encoding="utf-8")))
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


def test_format_document_states_the_limits_the_code_enforces() -> None:
    doc = (SCENES.parent / "docs" / "scene-format.md").read_text(encoding="utf-8")
    assert f"≤ {MAX_COORD_M:g} |" in doc and f"at most {MAX_COORD_M:g} m on a side" in doc
    assert re.search(rf"nest\s+at\s+most\s+{MAX_NESTING}\s+levels\s+deep\s+\(a\s+valid\s+scene\s+needs\s+{SCENE_NESTING}\b", doc)
