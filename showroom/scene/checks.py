"""Cross-reference, time and continuity checks that a single field's validator cannot see (geometry: floor.py)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Protocol

import numpy as np

from showroom.scene.floor import check_floor, check_runway, fmt, on_runway
from showroom.scene.model import Scene
from showroom.scene.problems import Problem, duplicates, known
from showroom.scene.rewards import Entitlement, ReactedRule, SelfieRule, Voucher
from showroom.scene.show import MASCOT_CUES, PoseCue, SelfieCue, WalkCue
from showroom.scene.timecode import format_clock
from showroom.sim import geometry as geo

__all__ = ["Problem", "check_scene", "check_voucher_windows", "cue_duration", "on_runway", "walk_duration"]

_CONTINUITY_M = 0.5


def check_scene(scene: Scene) -> list[Problem]:
    """Return every cross-reference and geometry problem of a validated scene."""
    problems: list[Problem] = []
    checks = (_check_ids, _check_entry, check_floor, check_runway, _check_brands, _check_looks, _check_timeline,
              _check_rewards, _check_crowd)
    for check in checks:
        problems.extend(check(scene))
    return problems


class Named(Protocol):
    """A venue item referred to by its name (a zone, a spot, a path...)."""

    @property
    def name(self) -> str: ...


def _check_ids(scene: Scene) -> Iterator[Problem]:
    yield from duplicates("brands", [b.id for b in scene.brands])
    yield from duplicates("mascots", [m.id for m in scene.mascots])
    yield from duplicates("looks", [lk.id for lk in scene.looks])
    yield from duplicates("entitlements", [e.id for e in scene.entitlements])
    yield from duplicates("rewards", [r.id for r in scene.rewards])
    venue = scene.venue
    named: tuple[tuple[str, Sequence[Named]], ...] = (
        ("zones", venue.zones), ("booths", venue.booths), ("spawns", venue.spawns),
        ("exits", venue.exits), ("paths", venue.paths), ("selfie_spots", venue.selfie_spots),
        ("obstacles", venue.obstacles),
    )
    for section, items in named:
        for path, message in duplicates(f"venue.{section}", [item.name for item in items]):
            yield path.replace(".id", ".name"), message.replace("id", "name", 1)


def _check_entry(scene: Scene) -> Iterator[Problem]:
    """Entry limited to members needs the community they are members of."""
    event = scene.event
    if event.community is not None:
        return
    if event.min_tier is not None:
        yield "event.min_tier", (f"a minimum tier ({event.min_tier!r}) needs the community it is a tier of: "
                                 "set event.community")
    if event.members_only:
        yield "event.members_only", "members only needs the community they are members of: set event.community"


def _check_brands(scene: Scene) -> Iterator[Problem]:
    brands = {b.id for b in scene.brands}
    owners: list[tuple[str, str | None]] = [
        *((f"venue.booths[{i}].brand", booth.brand) for i, booth in enumerate(scene.venue.booths)),
        *((f"mascots[{i}].brand", mascot.brand) for i, mascot in enumerate(scene.mascots)),
        *((f"looks[{i}].brand", look.brand) for i, look in enumerate(scene.looks)),
    ]
    for path, brand in owners:
        if brand is not None and brand not in brands:
            yield path, f"unknown brand {brand!r} {known('brands', brands)}"


def _check_looks(scene: Scene) -> Iterator[Problem]:
    for index, look in enumerate(scene.looks):
        if look.until <= look.at:
            yield f"looks[{index}].until", (
                f"look ends ({format_clock(look.until)}) before it starts ({format_clock(look.at)})"
            )
        if look.at > scene.event.duration:
            yield f"looks[{index}].at", f"starts after the show ends ({format_clock(scene.event.duration)})"


def walk_duration(scene: Scene, cue: WalkCue) -> float:
    """Seconds a walk cue takes: its duration, or the path length over its (or the mascot's) speed."""
    if cue.duration is not None:
        return cue.duration
    path = next(p for p in scene.venue.paths if p.name == cue.path)
    length = float(geo.polyline_lengths(geo.as_points(path.points))[-1])
    speed = cue.speed if cue.speed is not None else scene.mascot(cue.mascot).walk_speed
    return length / speed


def cue_duration(scene: Scene, cue: object) -> float:
    """Seconds a cue lasts (0 for an instant cue)."""
    if isinstance(cue, WalkCue):
        return walk_duration(scene, cue)
    duration = getattr(cue, "duration", None)
    return float(duration) if duration else 0.0


def _check_timeline(scene: Scene) -> Iterator[Problem]:
    mascots = {m.id: m for m in scene.mascots}
    paths = {p.name: p for p in scene.venue.paths}
    spots = {s.name: s for s in scene.venue.selfie_spots}
    show_end = scene.event.duration
    busy: dict[str, list[tuple[float, float, int]]] = {}
    refs_ok: list[int] = []
    lost: dict[str, float] = {}  # mascot id -> start of its first walk along an unknown path
    for index, cue in enumerate(scene.timeline):
        here = f"timeline[{index}]"
        if cue.at > show_end:
            yield f"{here}.at", f"cue at {format_clock(cue.at)} is after the show ends ({format_clock(show_end)})"
        if not isinstance(cue, MASCOT_CUES):
            continue
        ok = True
        if cue.mascot not in mascots:
            yield f"{here}.mascot", f"unknown mascot {cue.mascot!r} {known('mascots', mascots)}"
            continue
        if isinstance(cue, WalkCue) and cue.path not in paths:
            yield f"{here}.path", f"unknown path {cue.path!r} {known('paths', paths)}"
            lost[cue.mascot] = min(cue.at, lost.get(cue.mascot, cue.at))
            ok = False
        if isinstance(cue, SelfieCue) and cue.spot not in spots:
            yield f"{here}.spot", f"unknown selfie spot {cue.spot!r} {known('selfie spots', spots)}"
            ok = False
        if isinstance(cue, PoseCue) and cue.pose not in mascots[cue.mascot].poses:
            yield f"{here}.pose", f"mascot {cue.mascot!r} has no pose {cue.pose!r} {known('poses', mascots[cue.mascot].poses)}"
        if not ok:
            continue
        refs_ok.append(index)
        end = cue.at + cue_duration(scene, cue)
        for start, other_end, other in busy.get(cue.mascot, []):
            if cue.at < other_end - 1e-6 and start < end - 1e-6:
                yield f"{here}.at", (
                    f"{cue.kind} of {cue.mascot!r} at {format_clock(cue.at)}-{format_clock(end)} overlaps "
                    f"timeline[{other}] ({format_clock(start)}-{format_clock(other_end)})"
                )
        busy.setdefault(cue.mascot, []).append((cue.at, end, index))
    yield from _check_continuity(scene, refs_ok, lost)


def _check_continuity(scene: Scene, indices: list[int], lost: dict[str, float]) -> Iterator[Problem]:
    """A mascot never teleports: each walk starts, and each selfie happens, where it stands.

    After a walk along an unknown path (``lost``: mascot id -> its start) nobody knows where the
    mascot stands, so its later cues are not judged: the unknown path is the one mistake to report.
    """
    where = {m.id: np.array(m.home, dtype=float) for m in scene.mascots}
    paths = {p.name: geo.as_points(p.points) for p in scene.venue.paths}
    spots = {s.name: np.array(s.at, dtype=float) for s in scene.venue.selfie_spots}
    for index in sorted(indices, key=lambda i: scene.timeline[i].at):
        cue = scene.timeline[index]
        if not isinstance(cue, (WalkCue, SelfieCue)) or cue.at >= lost.get(cue.mascot, math.inf):
            continue
        here = f"timeline[{index}]"
        if isinstance(cue, WalkCue):
            start = paths[cue.path][0]
            if np.linalg.norm(start - where[cue.mascot]) > _CONTINUITY_M:
                yield f"{here}.path", (
                    f"mascot {cue.mascot!r} stands at {fmt(where[cue.mascot])} when this walk starts, "
                    f"but path {cue.path!r} starts at {fmt(start)}"
                )
            where[cue.mascot] = paths[cue.path][-1]
        elif np.linalg.norm(spots[cue.spot] - where[cue.mascot]) > _CONTINUITY_M:
            yield f"{here}.spot", (
                f"mascot {cue.mascot!r} stands at {fmt(where[cue.mascot])}, "
                f"but selfie spot {cue.spot!r} is at {fmt(spots[cue.spot])}; walk it there first"
            )


def check_voucher_windows(entitlements: Sequence[Entitlement], section: str = "entitlements") -> Iterator[Problem]:
    """A voucher's fixed window ends after it starts (``section[i].valid_until``)."""
    for index, ent in enumerate(entitlements):
        if isinstance(ent, Voucher) and ent.valid_from and ent.valid_until and ent.valid_until <= ent.valid_from:
            yield f"{section}[{index}].valid_until", (
                f"window ends ({ent.valid_until.isoformat()}) before it starts ({ent.valid_from.isoformat()})"
            )


def _check_rewards(scene: Scene) -> Iterator[Problem]:
    granted = {e.id for e in scene.entitlements}
    mascots = {m.id for m in scene.mascots}
    looks = {lk.id for lk in scene.looks}
    yield from check_voucher_windows(scene.entitlements)
    for index, rule in enumerate(scene.rewards):
        if rule.grant not in granted:
            yield f"rewards[{index}].grant", f"unknown entitlement {rule.grant!r} {known('entitlements', granted)}"
        if isinstance(rule, SelfieRule) and rule.mascot not in mascots:
            yield f"rewards[{index}].mascot", f"unknown mascot {rule.mascot!r} {known('mascots', mascots)}"
        if isinstance(rule, ReactedRule) and rule.look not in looks:
            yield f"rewards[{index}].look", f"unknown look {rule.look!r} {known('looks', looks)}"


def _check_crowd(scene: Scene) -> Iterator[Problem]:
    """Groups walk routes of known places, start on the floor in an area with room, and a loop has no exit."""
    crowd = scene.crowd
    yield from duplicates("crowd.waypoints", [w.name for w in crowd.waypoints])
    yield from duplicates("crowd.groups", [g.name for g in crowd.groups])
    exits = {e.name for e in scene.venue.exits}
    places = {w.name for w in crowd.waypoints} | exits
    width, depth = scene.venue.size
    for index, group in enumerate(crowd.groups):
        path = f"crowd.groups[{index}]"
        for k, name in enumerate(group.route):
            if name not in places:
                yield f"{path}.route[{k}]", f"unknown place {name!r} {known('waypoints or exits', places)}"
        if group.loop and any(name in exits for name in group.route):
            yield f"{path}.route", "a loop walks round and round: it cannot pass an exit (leave out loop, or the exit)"
        area = geo.as_points(group.area)
        if (area < 0).any() or (area[:, 0] > width).any() or (area[:, 1] > depth).any():
            yield f"{path}.area", f"group {group.name!r} starts outside the {width:g} x {depth:g} m floor"
        elif geo.polygon_area(area) < 0.01:
            yield f"{path}.area", f"group {group.name!r} starts in an area with no room"
        elif group.count is not None and group.count / geo.polygon_area(area) > 5.0:
            yield f"{path}.count", (f"{group.count} people in {geo.polygon_area(area):.1f} m² is more than "
                                    "5 persons/m²: they do not fit")
    for index, line in enumerate(crowd.lines):
        if math.dist(line.a, line.b) < 0.1:
            yield f"crowd.lines[{index}]", f"counting line {line.name!r} has no length"
