"""The show as a pure function of the show clock.

:func:`compile_show` turns a scene's timeline into flat arrays once; :meth:`Show.mascots_at`
then gives every mascot's position, heading, activity, pose and walked distance at any
time, for any number of times at once, without stepping. Seeking to ``t`` and playing up to
``t`` therefore give the same state, and every shard and late joiner agrees on it.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from showroom.protocol.codes import Activity
from showroom.scene.checks import cue_duration
from showroom.scene.model import Scene
from showroom.scene.show import AnnounceCue, LightsCue, MusicCue, PauseCue, PoseCue, SelfieCue, TurnCue, WalkCue
from showroom.sim import geometry as geo

FloatArray = NDArray[np.float64]
_KEY_SPAN = 1e7  # seconds; separates mascots (and metres, paths) in the flat search keys
_SELFIE_TURN_S = 1.0


@dataclass(frozen=True)
class MascotFrame:
    """Every mascot at one show time: arrays of length M (mascots in scene order)."""

    pos: FloatArray
    heading: FloatArray
    activity: NDArray[np.uint8]
    pose: NDArray[np.int16]
    walked_m: FloatArray
    spot: NDArray[np.int16]
    cue: NDArray[np.int32]


@dataclass(frozen=True)
class ShowState:
    """The non-mascot state of the show at one time."""

    t: float
    cue: int
    look: int
    music: str | None
    announcement: str | None
    lights: dict[str, tuple[tuple[float, float, float], float]]


def _heading_of(vec: FloatArray) -> FloatArray:
    return np.arctan2(-vec[..., 0], vec[..., 1])


def _wrap(angle: FloatArray) -> FloatArray:
    return (angle + np.pi) % (2 * np.pi) - np.pi


@dataclass(frozen=True)
class Show:
    """A compiled timeline: per-mascot segments and per-path geometry in flat arrays."""

    scene: Scene
    duration_s: float
    home: FloatArray
    home_heading: FloatArray
    # segments, sorted by (mascot, start)
    seg_key: FloatArray
    seg_mascot: NDArray[np.int64]
    seg_start: FloatArray
    seg_end: FloatArray
    seg_kind: NDArray[np.uint8]
    seg_path: NDArray[np.int64]
    seg_pose: NDArray[np.int16]
    seg_spot: NDArray[np.int16]
    seg_cue: NDArray[np.int32]
    seg_pos0: FloatArray
    seg_pos1: FloatArray
    seg_h0: FloatArray
    seg_h1: FloatArray
    seg_walked0: FloatArray
    seg_length: FloatArray
    # paths, vertices flattened
    path_first: NDArray[np.int64]
    path_last: NDArray[np.int64]
    vert_key: FloatArray
    vert_pos: FloatArray
    vert_arc: FloatArray
    # cues in time order, for the show state
    cue_times: list[float]
    cue_order: list[int]

    @property
    def mascots(self) -> int:
        """Number of mascots."""
        return int(self.home.shape[0])

    def mascots_at(self, t_s: float) -> MascotFrame:
        """Every mascot's state at show time ``t_s`` seconds (before 0: at home)."""
        m = self.mascots
        who = np.arange(m)
        idx = np.searchsorted(self.seg_key, who * _KEY_SPAN + t_s, side="right") - 1
        if self.seg_key.size:
            has = (idx >= 0) & (self.seg_mascot[np.maximum(idx, 0)] == who)
        else:
            has = np.zeros(m, bool)
        pos = self.home.copy()
        heading = self.home_heading.copy()
        activity = np.full(m, Activity.IDLE, np.uint8)
        pose = np.full(m, -1, np.int16)
        spot = np.full(m, -1, np.int16)
        cue = np.full(m, -1, np.int32)
        walked = np.zeros(m)
        if not has.any():
            return MascotFrame(pos, heading, activity, pose, walked, spot, cue)
        k = idx[has]
        start, end = self.seg_start[k], self.seg_end[k]
        span = np.maximum(end - start, 1e-9)
        frac = np.clip((t_s - start) / span, 0.0, 1.0)
        running = t_s < end
        kind = self.seg_kind[k]
        walk = kind == Activity.WALK
        # walking: interpolate along the path by arc length
        arc = frac * self.seg_length[k]
        p_walk, h_walk = self._along(self.seg_path[k], arc)
        turn_frac = np.where(kind == Activity.SELFIE, np.clip((t_s - start) / _SELFIE_TURN_S, 0, 1), frac)
        h_turn = self.seg_h0[k] + _wrap(self.seg_h1[k] - self.seg_h0[k]) * turn_frac
        pos[has] = np.where(walk[:, None], p_walk, self.seg_pos1[k])
        heading[has] = _wrap(np.where(walk & running, h_walk, np.where(running, h_turn, self.seg_h1[k])))
        walked[has] = self.seg_walked0[k] + np.where(walk, arc, 0.0)
        activity[has] = np.where(running, kind, Activity.IDLE)
        pose[has] = np.where(running, self.seg_pose[k], -1)
        spot[has] = np.where(running, self.seg_spot[k], -1)
        cue[has] = np.where(running, self.seg_cue[k], -1)
        return MascotFrame(pos, heading, activity, pose, walked, spot, cue)

    def _along(self, path: NDArray[np.int64], arc: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Point and heading at arc length ``arc`` metres along each of the given paths."""
        v = np.searchsorted(self.vert_key, path * _KEY_SPAN + arc, side="right") - 1
        v = np.clip(v, self.path_first[path], self.path_last[path] - 1)
        a, b = self.vert_pos[v], self.vert_pos[v + 1]
        seg = np.maximum(self.vert_arc[v + 1] - self.vert_arc[v], 1e-9)
        u = np.clip((arc - self.vert_arc[v]) / seg, 0.0, 1.0)
        return a + (b - a) * u[:, None], _heading_of(b - a)

    def state_at(self, t_s: float) -> ShowState:
        """Current cue, look, music mark, announcement and lights at show time ``t_s``."""
        cues = self.scene.timeline
        upto = bisect.bisect_right(self.cue_times, t_s)
        current = self.cue_order[upto - 1] if upto else -1
        look = next((i for i, lk in enumerate(self.scene.looks) if lk.at <= t_s < lk.until), -1)
        music = announcement = None
        lights: dict[str, tuple[tuple[float, float, float], float]] = {
            "house": ((1.0, 1.0, 1.0), 1.0), "runway": ((1.0, 1.0, 1.0), 1.0),
        }
        for index in self.cue_order[:upto]:
            cue = cues[index]
            if isinstance(cue, MusicCue):
                music = cue.mark if cue.duration is None or t_s < cue.at + cue.duration else None
            elif isinstance(cue, AnnounceCue):
                announcement = cue.text if t_s < cue.at + cue.duration else announcement
            elif isinstance(cue, LightsCue):
                rgb = tuple(int(cue.color[i:i + 2], 16) / 255.0 for i in (1, 3, 5))
                fade = 1.0 if cue.duration <= 0 else min(1.0, (t_s - cue.at) / cue.duration)
                for target in (("house", "runway") if cue.target == "all" else (cue.target,)):
                    old_rgb, old_level = lights[target]
                    mixed = tuple(o + (n - o) * fade for o, n in zip(old_rgb, rgb))
                    lights[target] = (mixed, old_level + (cue.intensity - old_level) * fade)  # type: ignore[assignment]
        return ShowState(t_s, current, look, music, announcement, lights)


def compile_show(scene: Scene) -> Show:
    """Compile a validated scene's timeline into a :class:`Show`."""
    mascot_index = {m.id: i for i, m in enumerate(scene.mascots)}
    path_index = {p.name: i for i, p in enumerate(scene.venue.paths)}
    spot_index = {s.name: i for i, s in enumerate(scene.venue.selfie_spots)}
    paths = [geo.as_points(p.points) for p in scene.venue.paths]
    arcs = [geo.polyline_lengths(p) for p in paths]
    home = np.array([m.home for m in scene.mascots], np.float64).reshape(-1, 2)
    home_heading = np.radians([m.home_heading for m in scene.mascots]).astype(np.float64)

    rows: list[tuple] = []
    where = {i: (home[i].copy(), float(home_heading[i]), 0.0) for i in range(len(scene.mascots))}
    order = sorted(range(len(scene.timeline)), key=lambda i: (scene.timeline[i].at, i))
    for index in order:
        cue = scene.timeline[index]
        if not isinstance(cue, (WalkCue, PauseCue, PoseCue, TurnCue, SelfieCue)):
            continue
        m = mascot_index[cue.mascot]
        pos0, h0, walked0 = where[m]
        start, end = cue.at, cue.at + cue_duration(scene, cue)
        path, pose, spot, length = -1, -1, -1, 0.0
        pos1, h1 = pos0, h0
        if isinstance(cue, WalkCue):
            kind, path = Activity.WALK, path_index[cue.path]
            length = float(arcs[path][-1])
            pos1 = paths[path][-1]
            h1 = float(_heading_of(paths[path][-1] - paths[path][-2]))
        elif isinstance(cue, PoseCue):
            kind, pose = Activity.POSE, scene.mascot(cue.mascot).poses.index(cue.pose)
        elif isinstance(cue, TurnCue):
            kind, h1 = Activity.TURN, float(np.radians(cue.heading))
        elif isinstance(cue, SelfieCue):
            kind, spot = Activity.SELFIE, spot_index[cue.spot]
            s = scene.venue.selfie_spots[spot]
            h1 = float(_heading_of(np.subtract(s.queue, s.at)))
        else:
            kind = Activity.PAUSE
        rows.append((m, start, end, kind, path, pose, spot, index, pos0, pos1, h0, h1, walked0, length))
        where[m] = (np.asarray(pos1, np.float64), h1, walked0 + length)
    rows.sort(key=lambda r: (r[0], r[1]))

    def col(i: int, dtype: type) -> np.ndarray:
        return np.array([r[i] for r in rows], dtype=dtype)

    mascot = col(0, np.int64)
    seg_start = col(1, np.float64)
    verts = np.vstack(paths) if paths else np.zeros((0, 2))
    sizes = np.array([len(p) for p in paths], np.int64)
    first = np.cumsum(sizes) - sizes
    vert_path = np.repeat(np.arange(len(paths)), sizes)
    vert_arc = np.concatenate(arcs) if arcs else np.zeros(0)
    times = sorted(scene.timeline[i].at for i in order)
    return Show(
        scene=scene,
        duration_s=scene.event.duration,
        home=home,
        home_heading=home_heading,
        seg_key=mascot * _KEY_SPAN + seg_start,
        seg_mascot=mascot,
        seg_start=seg_start,
        seg_end=col(2, np.float64),
        seg_kind=col(3, np.uint8),
        seg_path=col(4, np.int64),
        seg_pose=col(5, np.int16),
        seg_spot=col(6, np.int16),
        seg_cue=col(7, np.int32),
        seg_pos0=np.array([r[8] for r in rows], np.float64).reshape(-1, 2),
        seg_pos1=np.array([r[9] for r in rows], np.float64).reshape(-1, 2),
        seg_h0=col(10, np.float64),
        seg_h1=col(11, np.float64),
        seg_walked0=col(12, np.float64),
        seg_length=col(13, np.float64),
        path_first=first,
        path_last=first + sizes - 1,
        vert_key=vert_path * _KEY_SPAN + vert_arc,
        vert_pos=verts,
        vert_arc=vert_arc,
        cue_times=times,
        cue_order=order,
    )
