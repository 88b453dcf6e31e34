"""Timeline hot reload: judge an edited scene file and schedule it at the next cue boundary.

Sans-I/O: the server's file watcher (:mod:`server.net.app`) reads the file and hands its text
to :func:`read_edit` (pure, safe to run in a thread), then to :meth:`SceneReloader.offer`
on the event loop. An edit is applied only when it is a valid scene *and* a change the
running show can take: the venue, brands, mascots, entitlements, reward rules and the
event's id, capacity and seed must stay as they are (shards, the selfie desks and the
ledger were built from them); the timeline, the looks and the event's title, host and
duration may change. A valid change waits for the next cue start, of the running timeline
or of the edited one, whichever comes first: every shard switches in the same tick, at a
moment the show changes anyway (the edited timeline starting a cue there is the change
taking effect; a cue of the running one starting there is where the two part).

Every outcome is a ``reload`` message for hosts (see docs/protocol.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from showroom.protocol.codes import ReloadStatus
from showroom.protocol.server_messages import Reload
from showroom.scene.checks import Problem
from showroom.scene.load import SceneError, parse_scene
from showroom.scene.model import Scene
from showroom.scene.timecode import format_clock

LIVE_EVENT_KEYS = ("title", "host", "duration")
"""Keys of ``[event]`` that may change while the show runs."""
LIVE_SECTIONS = ("timeline", "looks")
"""Top-level sections that may change while the show runs."""
MAX_DIFFERENCES = 5
"""Differences named in one refusal; the rest are counted."""
LIVE_ONLY = ("a running show can change only its timeline, looks and event title, host and duration "
             "(restart the server for the rest)")
"""The reason given with every difference a running show cannot take."""
EPSILON_S = 1e-6
"""Slack for a show clock that sums ticks and lands a hair before a cue's start."""


@dataclass(frozen=True)
class Edit:
    """One version of the scene file as read from disk: its text, and the scene or why it is unusable."""

    text: str
    scene: Scene | None
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Pending:
    """A valid edit waiting for its cue boundary."""

    scene: Scene
    text: str
    version: int
    at_s: float
    """Show time it applies at: a cue start, or (``on_cue`` false) the show time it was offered at."""
    on_cue: bool = True


def read_edit(text: str, source: str) -> Edit:
    """Parse and validate an edited scene's text (the loader's model and cross-checks)."""
    try:
        return Edit(text, parse_scene(text, source))
    except SceneError as exc:
        return Edit(text, None, tuple(exc.lines()))


def unreadable(source: str, reason: str) -> Edit:
    """An edit whose file could not be read (gone, unreadable, not UTF-8)."""
    return Edit("", None, (f"{source}: {reason}",))


def live_change_problems(old: Scene, new: Scene) -> list[Problem]:
    """Key paths where ``new`` differs from ``old`` outside what a running show can change."""
    before, after = old.model_dump(mode="json"), new.model_dump(mode="json")
    for dump in (before, after):
        for section in LIVE_SECTIONS:
            dump.pop(section, None)
        for key in LIVE_EVENT_KEYS:
            dump["event"].pop(key, None)
    found: list[Problem] = []
    _differences(before, after, "", found)
    problems = [(path, f"{what}; {LIVE_ONLY}") for path, what in found[:MAX_DIFFERENCES]]
    if len(found) > MAX_DIFFERENCES:
        problems.append(("", f"and {len(found) - MAX_DIFFERENCES} more differences"))
    return problems


def _differences(old: Any, new: Any, path: str, out: list[Problem]) -> None:
    if old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            _differences(old.get(key), new.get(key), f"{path}.{key}" if path else key, out)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (a, b) in enumerate(zip(old, new)):
            _differences(a, b, f"{path}[{index}]", out)
    elif isinstance(old, list) and isinstance(new, list):
        out.append((path, f"{len(new)} entries instead of {len(old)}"))
    else:
        out.append((path, f"changed from {_short(old)} to {_short(new)}"))


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def next_cue_start(scene: Scene, t_s: float, *, inclusive: bool = False) -> tuple[float, int]:
    """The first cue start after ``t_s`` (or at it, when ``inclusive``) as (time, cue index); (t_s, -1) if none."""
    later = [(cue.at, index) for index, cue in enumerate(scene.timeline)
             if cue.at > t_s + EPSILON_S or (inclusive and cue.at >= t_s - EPSILON_S)]
    return min(later) if later else (t_s, -1)


def next_boundary(scenes: tuple[Scene, ...], t_s: float, *, inclusive: bool = False) -> float | None:
    """The first cue start after ``t_s`` (or at it) in any of ``scenes``; None when none is left."""
    starts = [next_cue_start(scene, t_s, inclusive=inclusive) for scene in scenes]
    later = [at for at, index in starts if index >= 0]
    return min(later) if later else None


class SceneReloader:
    """The running scene and its version, and at most one valid edit waiting for its cue boundary."""

    def __init__(self, scene: Scene, text: str, source: str) -> None:
        self.scene = scene
        self.text = text
        self.source = source
        self.version = 1
        """Version of the running scene: 1 at start, +1 for each applied edit."""
        self.pending: Pending | None = None

    def offer(self, edit: Edit, show_t: float) -> Reload:
        """Judge an edit at show time ``show_t``: schedule, drop or refuse it; return the hosts' message."""
        if edit.scene is None:
            return self._rejected(show_t, list(edit.errors))
        new = edit.scene
        problems = live_change_problems(self.scene, new)
        if not problems and new == self.scene:
            dropped = self.pending is not None
            self.pending = None
            return self._message("unchanged", show_t, text="matches the running show"
                                 + ("; the change waiting for its cue is dropped" if dropped else ""))
        boundary = next_boundary((self.scene, new), show_t)
        at_s = show_t if boundary is None else boundary
        if not problems and new.event.duration < at_s:
            ends = format_clock(new.event.duration)
            problems.append(("event.duration", f"{ends} ends before the change could apply at {format_clock(at_s)}"))
        if problems:
            return self._rejected(show_t, SceneError(self.source, problems).lines())
        self.pending = Pending(new, edit.text, self.version + 1, at_s, boundary is not None)
        return self._scheduled(show_t)

    def due(self, show_t: float) -> Pending | None:
        """The waiting edit if its boundary has come at ``show_t`` (it becomes the running scene), else None."""
        pending = self.pending
        if pending is None or show_t < pending.at_s - EPSILON_S:
            return None
        self.pending = None
        self.scene, self.text, self.version = pending.scene, pending.text, pending.version
        return pending

    def reschedule(self, show_t: float) -> Reload | None:
        """After a seek, move a waiting edit to the first cue start at or after ``show_t``; the hosts' message."""
        pending = self.pending
        if pending is None:
            return None
        boundary = next_boundary((self.scene, pending.scene), show_t, inclusive=True)
        at_s = show_t if boundary is None else boundary
        if at_s == pending.at_s:
            return None
        self.pending = Pending(pending.scene, pending.text, pending.version, at_s, boundary is not None)
        return self._scheduled(show_t)

    def applied(self, pending: Pending, show_t: float) -> Reload:
        """The hosts' message once ``pending`` runs in every shard."""
        return self._message("applied", show_t, at_s=show_t,
                             text=f"version {pending.version} now runs in every shard (from {format_clock(show_t)})")

    def _rejected(self, show_t: float, errors: list[str]) -> Reload:
        waiting = self.pending
        text = "rejected; the show goes on unchanged"
        if waiting is not None:
            text += f" (the earlier valid version {waiting.version} still applies at {format_clock(waiting.at_s)})"
        return self._message("rejected", show_t, errors=errors, text=text)

    def _scheduled(self, show_t: float) -> Reload:
        pending = self.pending
        assert pending is not None
        when = (f"applies at {format_clock(pending.at_s)}, where the next cue starts" if pending.on_cue
                else "applies at the next tick (no cue starts later)")
        return self._message("scheduled", show_t, at_s=pending.at_s, version=pending.version,
                             text=f"valid; version {pending.version} {when}")

    def _message(self, status: ReloadStatus, show_t: float, *, text: str, errors: list[str] | None = None,
                 at_s: float | None = None, version: int | None = None) -> Reload:
        return Reload(status=status, version=self.version if version is None else version,
                      at=None if at_s is None else round(at_s, 3), t=round(show_t, 3), errors=errors or [],
                      pending=None if self.pending is None else self.pending.version,
                      message=f"{self.source}: {text}")
