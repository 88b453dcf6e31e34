"""A shard's seats: which visitor holds which slot, who is attached, who waits to resume.

Per-visitor state that the tick reads in batch lives in slot-indexed arrays (here and in
:mod:`server.event.inputs` and :mod:`server.event.reactions`); a slot is taken on admission
and freed when the visitor leaves for good.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from server.event.link import Link
from showroom.protocol.server_messages import ServerMessage

MAX_PERSONAL_EVENTS = 32
"""Personal events held for one visitor between frames; past this the oldest are dropped."""


@dataclass
class Member:
    """A visitor (or bot) of a shard, attached to a link or waiting to resume."""

    id: int
    name: str
    role: str
    slot: int
    resume: str
    link: Link | None
    wallet: str = ""
    seat: str = ""
    """The seat reservation the event's front door made for this visitor ("" when the event is one process)."""
    detached_until: float = 0.0
    events: deque[ServerMessage] = field(default_factory=lambda: deque(maxlen=MAX_PERSONAL_EVENTS))


class Seats:
    """Slots for at most ``capacity`` members (twice that, plus a margin, so that visitors within
    their resume window never run a shard out of slots)."""

    def __init__(self, capacity: int, attendance_rules: int = 0) -> None:
        self.capacity = capacity
        slots = 2 * capacity + 8
        self.size = slots
        self.slot_id = np.full(slots, -1, np.int64)
        """Member id in each slot, -1 when free."""
        self.by_slot: list[Member | None] = [None] * slots
        self.members: dict[int, Member] = {}
        self.joined_at = np.zeros(slots)
        self.credited = np.zeros((attendance_rules, slots), bool)
        """Per attendance rule and slot: already credited."""
        self.detached: set[int] = set()
        """Members whose connection dropped (some may have resumed since)."""

    @property
    def occupied(self) -> int:
        """Members attached or waiting to resume."""
        return len(self.members)

    @property
    def connected(self) -> int:
        """Members with a live connection (read on request, never per tick)."""
        return sum(1 for m in self.members.values() if m.link is not None)

    def has_room(self) -> bool:
        """Whether another visitor fits."""
        return self.occupied < self.capacity

    def take(self, member_id: int, name: str, role: str, link: Link, resume: str, wallet: str, now: float) -> Member:
        """Give a new member the first free slot."""
        slot = int(np.flatnonzero(self.slot_id < 0)[0])
        self.slot_id[slot] = member_id
        self.joined_at[slot] = now
        self.credited[:, slot] = False
        member = Member(member_id, name, role, slot, resume, link, wallet)
        self.members[member_id] = member
        self.by_slot[slot] = member
        return member

    def detach(self, member_id: int, until: float) -> Member | None:
        """The member's connection dropped: keep the seat until ``until``."""
        member = self.members.get(member_id)
        if member is None:
            return None
        member.link = None
        member.detached_until = until
        self.detached.add(member_id)
        return member

    def release(self, member_id: int) -> Member | None:
        """Free a member's slot for good."""
        member = self.members.pop(member_id, None)
        if member is None:
            return None
        self.slot_id[member.slot] = -1
        self.by_slot[member.slot] = None
        self.detached.discard(member_id)
        return member

    def expired(self, now: float) -> list[Member]:
        """Members whose resume window ran out by ``now`` (still seated: the caller removes them)."""
        gone = []
        for member_id in list(self.detached):
            member = self.members.get(member_id)
            if member is None or member.link is not None:  # left, or resumed
                self.detached.discard(member_id)
            elif member.detached_until <= now:
                gone.append(member)
        return gone

    def present_for(self, minutes: float, rule: int, now: float) -> list[Member]:
        """Members seated at least ``minutes`` and not yet credited for attendance rule ``rule`` (marks them)."""
        due = np.flatnonzero((self.slot_id >= 0) & (now - self.joined_at >= minutes * 60.0) & ~self.credited[rule])
        if due.size == 0:
            return []
        self.credited[rule, due] = True
        return [self.members[int(i)] for i in self.slot_id[due] if int(i) in self.members]

    def occupied_slots(self) -> NDArray[np.int64]:
        """Slots that hold a member."""
        return np.flatnonzero(self.slot_id >= 0)
