"""Cross-reference and geometry checks that a single field's validator cannot see."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from showroom.scene.model import Scene
from showroom.scene.rewards import ReactedRule, SelfieRule, Voucher
from showroom.scene.show import MASCOT_CUES, PoseCue, SelfieCue, WalkCue
from showroom.scene.timecode import format_clock
from showroom.sim import geometry as geo

Problem = tuple[str, str]
"""A key path such as ``timeline[3].mascot`` and what is wrong there."""

_TOLERANCE_M = 0.05
_CONTINUITY_M = 0.5


def check_scene(scene: Scene) -> list[Problem]:
    """Return every cross-reference and geometry problem of a validated scene."""
    problems: list[Problem] = []
    for check in (_check_ids, _check_venue, _check_mascots, _check_looks, _check_timeline, _check_rewards):
        problems.extend(check(scene))
    return problems


def _known(kind: str, names: Iterable[str]) -> str:
    listed = ", ".join(sorted(names))
    return f"(known {kind}: {listed})" if listed else f"(no {kind} are defined)"


def _duplicates(section: str, ids: list[str]) -> Iterator[Problem]:
    seen: set[str] = set()
    for index, ident in enumerate(ids):
        if ident in seen:
            yield f"{section}[{index}].id", f"duplicate id {ident!r}"
        seen.add(ident)


def _check_ids(scene: Scene) -> Iterator[Problem]:
    yield from _duplicates("brands", [b.id for b in scene.brands])
    yield from _duplicates("mascots", [m.id for m in scene.mascots])
    yield from _duplicates("looks", [lk.id for lk in scene.looks])
    yield from _duplicates("entitlements", [e.id for e in scene.entitlements])
    yield from _duplicates("rewards", [r.id for r in scene.rewards])
    venue = scene.venue
    for section, items in (
        ("zones", venue.zones), ("booths", venue.booths), ("spawns", venue.spawns),
        ("exits", venue.exits), ("paths", venue.paths), ("selfie_spots", venue.selfie_spots),
        ("obstacles", venue.obstacles),
    ):
        for path, message in _duplicates(f"venue.{section}", [item.name for item in items]):
            yield path.replace(".id", ".name"), message.replace("id", "name", 1)


def _on_floor(scene: Scene, points: np.ndarray) -> np.ndarray:
    width, depth = scene.venue.size
    return (
        (points[:, 0] >= -_TOLERANCE_M) & (points[:, 0] <= width + _TOLERANCE_M)
        & (points[:, 1] >= -_TOLERANCE_M) & (points[:, 1] <= depth + _TOLERANCE_M)
    )


def on_runway(scene: Scene, points: np.ndarray) -> np.ndarray:
    """Which floor points lie on the runway (within half its width of the centreline)."""
    runway = scene.venue.runway
    dist = geo.distance_to_polyline(geo.as_points(points), geo.as_points(runway.centerline))
    return dist <= runway.width / 2 + _TOLERANCE_M


def _fmt(point: np.ndarray) -> str:
    return f"({point[0]:.2f}, {point[1]:.2f})"


def _check_venue(scene: Scene) -> Iterator[Problem]:
    venue = scene.venue
    width, depth = venue.size
    runway = venue.runway
    outline = geo.sample_polyline(geo.as_points(runway.centerline), 0.25)
    a, b = geo.polyline_segments(geo.as_points(runway.centerline))
    direction = (b - a) / np.maximum(np.linalg.norm(b - a, axis=1, keepdims=True), 1e-9)
    normal = np.stack([-direction[:, 1], direction[:, 0]], axis=1) * runway.width / 2
    corners = np.vstack([a + normal, a - normal, b + normal, b - normal])
    edge = np.vstack([outline, corners])
    bad = ~_on_floor(scene, edge)
    if bad.any():
        yield "venue.runway", (
            f"runway reaches outside the {width:g} x {depth:g} m floor at {_fmt(edge[bad][0])}"
        )
    for index, path in enumerate(venue.paths):
        pts = geo.sample_polyline(geo.as_points(path.points), 0.25)
        off = ~on_runway(scene, pts)
        if off.any():
            yield f"venue.paths[{index}].points", (
                f"path {path.name!r} leaves the runway at {_fmt(pts[off][0])}; mascots walk only on the runway"
            )
    for section, spots in (("spawns", venue.spawns), ("exits", venue.exits)):
        for index, spot in enumerate(spots):
            at = geo.as_points(spot.at)
            if not _on_floor(scene, at)[0]:
                yield f"venue.{section}[{index}].at", f"{_fmt(at[0])} is outside the {width:g} x {depth:g} m floor"
            elif on_runway(scene, at)[0]:
                yield f"venue.{section}[{index}].at", f"{_fmt(at[0])} is on the runway; visitors stay off it"
    for index, spot in enumerate(venue.selfie_spots):
        if not on_runway(scene, geo.as_points(spot.at))[0]:
            yield f"venue.selfie_spots[{index}].at", f"{_fmt(np.array(spot.at))} is not on the runway"
        queue = geo.as_points(spot.queue)
        if not _on_floor(scene, queue)[0] or on_runway(scene, queue)[0]:
            yield f"venue.selfie_spots[{index}].queue", (
                f"{_fmt(queue[0])} must be on the floor beside the runway, not on it or outside the floor"
            )
    for section, items in (("zones", venue.zones), ("booths", venue.booths), ("obstacles", venue.obstacles)):
        for index, item in enumerate(items):
            pts = geo.sample_polygon(geo.as_points(item.polygon), 0.5)
            if not _on_floor(scene, pts).all():
                yield f"venue.{section}[{index}].polygon", f"{item.name!r} reaches outside the floor"
            elif on_runway(scene, pts).any():
                yield f"venue.{section}[{index}].polygon", f"{item.name!r} overlaps the runway"
            if geo.polygon_area(geo.as_points(item.polygon)) < 0.01:
                yield f"venue.{section}[{index}].polygon", f"{item.name!r} has no area"
    brands = {b.id for b in scene.brands}
    for index, booth in enumerate(venue.booths):
        if booth.brand is not None and booth.brand not in brands:
            yield f"venue.booths[{index}].brand", f"unknown brand {booth.brand!r} {_known('brands', brands)}"


def _check_mascots(scene: Scene) -> Iterator[Problem]:
    brands = {b.id for b in scene.brands}
    for index, mascot in enumerate(scene.mascots):
        if mascot.brand not in brands:
            yield f"mascots[{index}].brand", f"unknown brand {mascot.brand!r} {_known('brands', brands)}"
        if not on_runway(scene, geo.as_points(mascot.home))[0]:
            yield f"mascots[{index}].home", f"{_fmt(np.array(mascot.home))} is not on the runway"


def _check_looks(scene: Scene) -> Iterator[Problem]:
    brands = {b.id for b in scene.brands}
    for index, look in enumerate(scene.looks):
        if look.brand is not None and look.brand not in brands:
            yield f"looks[{index}].brand", f"unknown brand {look.brand!r} {_known('brands', brands)}"
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
    for index, cue in enumerate(scene.timeline):
        here = f"timeline[{index}]"
        if cue.at > show_end:
            yield f"{here}.at", f"cue at {format_clock(cue.at)} is after the show ends ({format_clock(show_end)})"
        if not isinstance(cue, MASCOT_CUES):
            continue
        ok = True
        if cue.mascot not in mascots:
            yield f"{here}.mascot", f"unknown mascot {cue.mascot!r} {_known('mascots', mascots)}"
            continue
        if isinstance(cue, WalkCue) and cue.path not in paths:
            yield f"{here}.path", f"unknown path {cue.path!r} {_known('paths', paths)}"
            ok = False
        if isinstance(cue, SelfieCue) and cue.spot not in spots:
            yield f"{here}.spot", f"unknown selfie spot {cue.spot!r} {_known('selfie spots', spots)}"
            ok = False
        if isinstance(cue, PoseCue) and cue.pose not in mascots[cue.mascot].poses:
            yield f"{here}.pose", f"mascot {cue.mascot!r} has no pose {cue.pose!r} {_known('poses', mascots[cue.mascot].poses)}"
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
    yield from _check_continuity(scene, refs_ok)


def _check_continuity(scene: Scene, indices: list[int]) -> Iterator[Problem]:
    """A mascot never teleports: each walk starts, and each selfie happens, where it stands."""
    where = {m.id: np.array(m.home, dtype=float) for m in scene.mascots}
    paths = {p.name: geo.as_points(p.points) for p in scene.venue.paths}
    spots = {s.name: np.array(s.at, dtype=float) for s in scene.venue.selfie_spots}
    for index in sorted(indices, key=lambda i: scene.timeline[i].at):
        cue = scene.timeline[index]
        here = f"timeline[{index}]"
        if isinstance(cue, WalkCue):
            start = paths[cue.path][0]
            if np.linalg.norm(start - where[cue.mascot]) > _CONTINUITY_M:
                yield f"{here}.path", (
                    f"mascot {cue.mascot!r} stands at {_fmt(where[cue.mascot])} when this walk starts, "
                    f"but path {cue.path!r} starts at {_fmt(start)}"
                )
            where[cue.mascot] = paths[cue.path][-1]
        elif isinstance(cue, SelfieCue):
            if np.linalg.norm(spots[cue.spot] - where[cue.mascot]) > _CONTINUITY_M:
                yield f"{here}.spot", (
                    f"mascot {cue.mascot!r} stands at {_fmt(where[cue.mascot])}, "
                    f"but selfie spot {cue.spot!r} is at {_fmt(spots[cue.spot])}; walk it there first"
                )


def _check_rewards(scene: Scene) -> Iterator[Problem]:
    granted = {e.id for e in scene.entitlements}
    mascots = {m.id for m in scene.mascots}
    looks = {lk.id for lk in scene.looks}
    for index, ent in enumerate(scene.entitlements):
        if isinstance(ent, Voucher) and ent.valid_from and ent.valid_until and ent.valid_until <= ent.valid_from:
            yield f"entitlements[{index}].valid_until", (
                f"window ends ({ent.valid_until.isoformat()}) before it starts ({ent.valid_from.isoformat()})"
            )
    for index, rule in enumerate(scene.rewards):
        if rule.grant not in granted:
            yield f"rewards[{index}].grant", f"unknown entitlement {rule.grant!r} {_known('entitlements', granted)}"
        if isinstance(rule, SelfieRule) and rule.mascot not in mascots:
            yield f"rewards[{index}].mascot", f"unknown mascot {rule.mascot!r} {_known('mascots', mascots)}"
        if isinstance(rule, ReactedRule) and rule.look not in looks:
            yield f"rewards[{index}].look", f"unknown look {rule.look!r} {_known('looks', looks)}"
