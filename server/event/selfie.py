"""Selfie queues: visitors line up for a mascot during its selfie session and are served in order.

One desk per shard. A request is accepted while the mascot holds a selfie session (its
show activity is SELFIE) from a visitor within ``NEAR_M`` of it; whoever walks further
than ``LEAVE_M`` away leaves the queue. The head is served for the mascot's photo time:
the mascot turns to them and poses, and a ``selfie_taken`` event names everyone in frame.
Queues are bounded by each mascot's ``selfie_capacity``.

A queue position counts from the mascot: 0 is the visitor being photographed now, 1 the next
in line, and so on; ``size`` counts everyone in the line, the one being photographed included.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from server.event.visibility import Occluders, selfie_camera, visible_in_photo
from showroom.protocol.codes import Activity
from showroom.protocol.errors import ErrorCode, ProtocolError
from showroom.protocol.server_messages import SelfieLeft, SelfieQueue, SelfieTaken, ServerMessage
from showroom.scene.model import Scene
from showroom.sim.timeline import MascotFrame

NEAR_M = 8.0
LEAVE_M = 12.0


@dataclass
class Queue:
    """One mascot's line: member ids in order, and who is being photographed until when."""

    waiting: list[int] = field(default_factory=list)
    serving: int = -1
    until: float = 0.0


@dataclass
class TickOutcome:
    """What a desk tick produced: events for everyone, events per visitor, mascot headings."""

    shared: list[SelfieTaken] = field(default_factory=list)
    personal: dict[int, list[ServerMessage]] = field(default_factory=dict)
    face: dict[int, float] = field(default_factory=dict)

    def tell(self, member: int, event: ServerMessage) -> None:
        """Queue a personal event for one visitor."""
        self.personal.setdefault(member, []).append(event)


class SelfieDesk:
    """The selfie queues of every mascot in one shard."""

    def __init__(self, scene: Scene, occluders: Occluders | None = None) -> None:
        self.mascot_ids = [m.id for m in scene.mascots]
        self.capacity = [m.selfie_capacity for m in scene.mascots]
        self.photo_s = [m.photo_seconds for m in scene.mascots]
        self.queues = [Queue() for _ in scene.mascots]
        self.occluders = occluders if occluders is not None else Occluders.from_scene(scene)
        self.priority: set[int] = set()
        """Members queued with priority (bounded by the queues' total capacity)."""
        self.taken = 0

    def index(self, mascot: str) -> int:
        """The index of a mascot id, or a ProtocolError naming the known ones."""
        try:
            return self.mascot_ids.index(mascot)
        except ValueError:
            raise ProtocolError(ErrorCode.UNKNOWN_TARGET,
                                f"unknown mascot {mascot!r} (known: {', '.join(self.mascot_ids)})") from None

    def request(self, member: int, mascot: int, where: np.ndarray, frame: MascotFrame,
                priority: bool = False) -> tuple[int, int]:
        """Put ``member`` in ``mascot``'s line; return (position, size). Position 0 is being served.

        A ``priority`` member (a Meta-Pass with the selfie-priority perk) goes ahead of everyone
        without priority, behind other priority holders.
        """
        q = self.queues[mascot]
        if member == q.serving:
            return 0, len(q.waiting) + 1
        if member in q.waiting:
            return q.waiting.index(member) + 1, len(q.waiting) + (q.serving >= 0)
        if frame.activity[mascot] != Activity.SELFIE:
            raise ProtocolError(ErrorCode.NO_SESSION, f"{self.mascot_ids[mascot]} holds no selfie session now")
        if float(np.hypot(*(where - frame.pos[mascot]))) > NEAR_M:
            raise ProtocolError(ErrorCode.NOT_NEAR, f"come within {NEAR_M:g} m of {self.mascot_ids[mascot]} first")
        if len(q.waiting) >= self.capacity[mascot]:
            raise ProtocolError(ErrorCode.QUEUE_FULL, f"{self.mascot_ids[mascot]}'s selfie queue is full")
        self.leave(member)
        if priority:
            ahead = sum(1 for m in q.waiting if m in self.priority)
            q.waiting.insert(ahead, member)
            self.priority.add(member)
        else:
            q.waiting.append(member)
        return q.waiting.index(member) + 1, len(q.waiting) + (q.serving >= 0)

    def leave(self, member: int) -> str | None:
        """Take ``member`` out of any line (not out of a photo being taken); return that mascot's id."""
        for name, q in zip(self.mascot_ids, self.queues):
            if member in q.waiting:
                q.waiting.remove(member)
                self.priority.discard(member)
                return name
        return None

    def tick(self, t: float, frame: MascotFrame, ids: np.ndarray, pos: np.ndarray) -> TickOutcome:
        """Serve heads, drop those who left, and report; ``ids``/``pos`` are every avatar in the shard."""
        out = TickOutcome()
        for m, q in enumerate(self.queues):
            if not q.waiting and q.serving < 0:
                continue
            name = self.mascot_ids[m]
            open_now = frame.activity[m] == Activity.SELFIE
            before = list(q.waiting)
            if not open_now:
                for member in q.waiting:
                    out.tell(member, SelfieLeft(mascot=name, reason="session_closed"))
                    self.priority.discard(member)
                q.waiting.clear()
            else:
                where = self._positions(q.waiting, ids, pos)
                far = [mem for mem, p in zip(q.waiting, where) if p is None or np.hypot(*(p - frame.pos[m])) > LEAVE_M]
                for member in far:
                    q.waiting.remove(member)
                    self.priority.discard(member)
                    out.tell(member, SelfieLeft(mascot=name, reason="left_area"))
            served_before = q.serving
            if q.serving >= 0 and t >= q.until:
                q.serving = -1
            if q.serving < 0 and q.waiting and open_now:
                q.serving = q.waiting.pop(0)
                self.priority.discard(q.serving)
                q.until = t + self.photo_s[m]
                out.shared.append(self._photo(name, m, q.serving, t, frame, ids, pos))
            if q.serving >= 0:
                subject = self._positions([q.serving], ids, pos)[0]
                if subject is not None:
                    d = subject - frame.pos[m]
                    out.face[m] = float(np.arctan2(-d[0], d[1]))
            if q.waiting != before or q.serving != served_before:
                size = len(q.waiting) + (q.serving >= 0)
                if q.serving >= 0:
                    out.tell(q.serving, SelfieQueue(mascot=name, position=0, size=size))
                for k, member in enumerate(q.waiting):
                    out.tell(member, SelfieQueue(mascot=name, position=k + 1, size=size))
        return out

    def _photo(self, name: str, m: int, member: int, t: float, frame: MascotFrame,
               ids: np.ndarray, pos: np.ndarray) -> SelfieTaken:
        """The photo of ``member`` with mascot ``m``: every avatar in frame (mascots, the crowd's
        first rows, are the photo's subject and never listed)."""
        where = self._positions([member], ids, pos)[0]
        visible: list[int] = []
        if where is not None:
            camera, look = selfie_camera(where, frame.pos[m])
            first = len(self.mascot_ids)
            seen = visible_in_photo(camera, look, pos[first:], self.occluders)
            visible = sorted(int(i) for i in ids[first:][seen])
        self.taken += 1
        return SelfieTaken(mascot=name, visitor=member, t=round(t, 3), visible=visible)

    def serving(self) -> np.ndarray:
        """Per mascot: whether it is photographing someone now."""
        return np.array([q.serving >= 0 for q in self.queues], bool)

    @staticmethod
    def _positions(members: list[int], ids: np.ndarray, pos: np.ndarray) -> list[np.ndarray | None]:
        if not members:
            return []
        rows = np.searchsorted(ids, members)
        ok = (rows < ids.size) & (ids[np.minimum(rows, ids.size - 1)] == np.asarray(members)) if ids.size else [False] * len(members)
        return [pos[r] if good else None for r, good in zip(rows, ok)]
