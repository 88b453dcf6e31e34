"""One shard of an event: a world with up to ``capacity`` visitors, ticked at the event's rate.

Sans-I/O: a shard talks to connections only through :class:`~server.event.link.Link` objects,
so it is tested without sockets. Per tick: apply all queued inputs in one batch
(:mod:`server.event.inputs`), step the crowd and the show, run the selfie desk, then send one
payload per occupied interest cell (:mod:`server.event.frames`). Seats, inputs, reactions and
frames each keep their own slot-indexed arrays; this module wires them together.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from server.event.frames import Frames, StageTimes, TickView
from server.event.inputs import Inputs
from server.event.interest import CellGrid
from server.event.link import Link
from server.event.reactions import REACTION_CELL_M, Reactions
from server.event.seats import Member, Seats
from server.event.selfie import SelfieDesk
from server.event.visibility import Occluders
from showroom.protocol.server_messages import SelfieTaken, ServerMessage
from showroom.scene.model import Scene
from showroom.sim.crowd import Role, State
from showroom.sim.timeline import Show, compile_show
from showroom.sim.venue import VenueIndex, build_venue
from showroom.sim.world import World

MAX_SHARED_EVENTS = 64
"""Events (chat, cues, announcements…) carried per tick; past this the oldest are dropped."""


@dataclass(frozen=True)
class Stage:
    """What every shard of an event shares, built once: the scene, its venue index (navigation
    fields and obstacles), the compiled show and the selfie occluders. All immutable."""

    scene: Scene
    venue: VenueIndex
    show: Show
    occluders: Occluders

    @classmethod
    def build(cls, scene: Scene) -> Stage:
        """Index a scene (a fraction of a second: do it before serving, never during a join)."""
        return cls(scene, build_venue(scene), compile_show(scene), Occluders.from_scene(scene))

    def with_show(self, scene: Scene) -> Stage:
        """The same venue with an edited timeline (a hot reload keeps venue and mascots as they are)."""
        return Stage(scene, self.venue, compile_show(scene), self.occluders)


class Shard:
    """A mirrored stage: the same show, its own crowd of at most ``capacity`` visitors."""

    def __init__(self, number: int, stage: Stage, capacity: int, *, dt_s: float, attendance_rules: int = 0) -> None:
        self.number = number
        self.scene = stage.scene
        self.world = World(stage.scene, seed=stage.scene.event.seed + number, dt_s=dt_s, venue=stage.venue,
                           show=stage.show)
        self.desk = SelfieDesk(stage.scene, stage.occluders)
        self.grid = CellGrid.for_floor(self.world.venue.size)
        self.seats = Seats(capacity, attendance_rules)
        self.inputs = Inputs(self.seats.size)
        self.reactions = Reactions(self.seats.size, CellGrid.for_floor(self.world.venue.size, REACTION_CELL_M))
        self.frames = Frames(self.seats, self.grid)
        self.shared: deque[ServerMessage] = deque(maxlen=MAX_SHARED_EVENTS)
        self.photos: list[SelfieTaken] = []
        """The selfie_taken events of the last tick (read by the rules engine)."""
        self.times = StageTimes()

    # ---- membership ---------------------------------------------------------
    @property
    def members(self) -> dict[int, Member]:
        """Members by id, attached or waiting to resume."""
        return self.seats.members

    @property
    def occupied(self) -> int:
        """Members attached or waiting to resume."""
        return self.seats.occupied

    def has_room(self) -> bool:
        """Whether another visitor fits."""
        return self.seats.has_room()

    def admit(self, member_id: int, name: str, role: str, link: Link, resume: str, wallet: str = "",
              now: float = 0.0) -> Member:
        """Add a visitor's avatar at a spawn point."""
        member = self.seats.take(member_id, name, role, link, resume, wallet, now)
        self.inputs.reset(member.slot)
        self.reactions.reset(member.slot)
        self.frames.reset(member.slot)
        crowd_role = Role.BOT if role == "bot" else Role.VISITOR
        self.world.spawn(1, role=crowd_role, state=State.CONTROLLED, ids=np.array([member_id]))
        return member

    def detach(self, member_id: int, until: float) -> None:
        """The visitor's connection dropped: keep the avatar standing until ``until``."""
        member = self.seats.detach(member_id, until)
        if member is None:
            return
        self.desk.leave(member_id)
        self.inputs.stop(member.slot)
        row = self.world.crowd.index_of(np.array([member_id]))
        self.world.crowd.goal[row] = self.world.crowd.pos[row]

    def remove(self, member_id: int) -> Member | None:
        """Take a visitor and their avatar out of the shard."""
        member = self.seats.release(member_id)
        if member is None:
            return None
        self.inputs.stop(member.slot)  # a pending move or walk must not outlive its avatar
        self.frames.release(member.slot)
        self.desk.leave(member_id)
        self.world.crowd.remove(np.array([member_id]))
        return member

    def resume(self, member: Member) -> None:
        """A dropped visitor is back on a new connection, which holds no copy of the crowd yet."""
        self.frames.resync(member.slot)

    def expire(self, now: float) -> list[Member]:
        """Remove visitors whose resume window ran out; return them."""
        gone = self.seats.expired(now)
        for member in gone:
            self.remove(member.id)
        return gone

    # ---- inputs (called between ticks) ----------------------------------------
    def queue_move_at(self, slot: int, kind: int, seq: int, x: float, y: float) -> None:
        """Remember a (validated) movement input of the visitor in ``slot``; the latest one wins."""
        self.inputs.queue(slot, kind, seq, x, y)

    def react(self, member: Member, reaction: str, show_t: float) -> None:
        """Show a reaction above the avatar and count it for its cell."""
        self.reactions.react(member.slot, reaction, show_t)

    def present_for(self, minutes: float, rule: int, now: float) -> list[Member]:
        """Members present at least ``minutes`` not yet credited for attendance rule ``rule`` (marks them)."""
        return self.seats.present_for(minutes, rule, now)

    def announce(self, event: ServerMessage) -> None:
        """An event for every visitor of this shard in the next frame."""
        self.shared.append(event)

    def position_of(self, member_id: int) -> np.ndarray:
        """Where a visitor's avatar stands."""
        return self.world.crowd.pos[self.world.crowd.index_of(np.array([member_id]))[0]].copy()

    def use_stage(self, stage: Stage) -> None:
        """Run an edited timeline from now on (a hot reload)."""
        self.scene = stage.scene
        self.world.use_show(stage.show)

    # ---- the tick -------------------------------------------------------------------
    def tick(self, show_t: float, show: dict[str, Any], wall_time: float) -> None:
        """Advance one tick and send every attached visitor its frame; ``wall_time`` is Unix seconds."""
        clock = time.perf_counter  # measures the stages; never decides anything
        t0 = clock()
        slot_id = self.seats.slot_id
        self.reactions.count(slot_id, self.world.crowd)
        self.inputs.apply(self.world.crowd, self.world.venue.obstacles, slot_id, self.world.env.points)
        t1 = clock()
        self.world.step(show_t)
        t2 = clock()
        crowd = self.world.crowd
        outcome = self.desk.tick(show_t, self.world.frame, crowd.ids, crowd.pos)
        for m, heading in outcome.face.items():
            crowd.heading[m] = heading
        for member_id, events in outcome.personal.items():
            member = self.seats.members.get(member_id)
            if member is not None:
                member.events.extend(events)
        self.shared.extend(outcome.shared)
        self.photos = outcome.shared
        self.reactions.rotate(show_t)
        t3 = clock()
        pose = self.world.frame.pose.copy()
        pose[self.desk.serving() & (pose < 0)] = 0
        view = TickView(self.world.tick, show_t, wall_time, show, [e.wire() for e in self.shared], pose)
        self.frames.send(self.world, view, self.inputs.acked, self.reactions.shown(slot_id, show_t),
                         self.reactions.near_point, self.times)
        self.times.inputs, self.times.sim, self.times.interactions = t1 - t0, t2 - t1, t3 - t2
        self.shared.clear()
