"""A shard's frames without sockets: heads, reactions per cell, goals, resume windows;
and the transport's in-place frame buffer."""

from __future__ import annotations

from typing import Any

import msgpack
import numpy as np
import pytest

from server.event.metrics import Metrics
from server.event.shard import Shard, Stage
from server.net.transport import HEAD_ROOM, SLOW_READER_BYTES, FrameBuffer, PicowsLink
from showroom.protocol.codec import frame_head
from showroom.protocol.codes import MOVE_TO
from showroom.protocol.server_messages import SelfieQueue
from showroom.sim.world import DT_S

SHOW = {"cue": -1, "look": -1, "playing": True, "music": None, "announce": None, "lights": {}}


class FrameLink:
    """A link that keeps the frames it is given."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []

    def send(self, data: bytes) -> bool:
        return True

    def send_frame(self, head: bytes, shared: bytes) -> bool:
        self.frames.append(head + shared)
        return True

    def close(self, code: int, reason: str) -> None:
        pass

    def last(self) -> tuple[dict[str, Any], dict[str, Any]]:
        personal, cell = msgpack.unpackb(self.frames[-1], raw=False)
        return personal, cell


def _shard_with(scene, places: list[tuple[float, float]]) -> tuple[Shard, list, list[FrameLink]]:
    """A shard with one visitor standing at each place."""
    shard = Shard(0, Stage.build(scene), 50, dt_s=DT_S)
    links = [FrameLink() for _ in places]
    members = [shard.admit(1000 + k, f"v{k}", "visitor", link, f"r{k}") for k, link in enumerate(links)]
    crowd = shard.world.crowd
    rows = crowd.index_of(np.array([m.id for m in members]))
    crowd.pos[rows] = crowd.goal[rows] = np.array(places, float)
    return shard, members, links


def test_each_frame_head_acknowledges_the_latest_input_byte_for_byte(anniversary):
    shard, (ada, bob), (ada_link, bob_link) = _shard_with(anniversary, [(20.0, 20.0), (22.0, 20.0)])
    shard.queue_move_at(ada.slot, MOVE_TO, 5, 21.0, 21.0)
    shard.tick(0.0, SHOW, 1.7e9)
    assert ada_link.last()[0] == {"ack": 5, "you": ada.id, "events": []}
    assert bob_link.last()[0] == {"ack": -1, "you": bob.id, "events": []}
    shard.queue_move_at(ada.slot, MOVE_TO, 9, 21.0, 21.0)
    bob.events.append(SelfieQueue(mascot="teddy", position=1, size=1))
    shard.tick(DT_S, SHOW, 1.7e9 + DT_S)
    personal = {"ack": 9, "you": ada.id, "events": []}
    assert ada_link.frames[-1].startswith(frame_head(9, ada.id, [])) and ada_link.last()[0] == personal
    assert bob_link.last()[0]["events"] == [{"type": "selfie_queue", "mascot": "teddy", "position": 1, "size": 1}]
    assert not bob.events  # sent once
    shard.tick(0.1, SHOW, 1.7e9 + 0.1)
    assert bob_link.last()[0]["events"] == []


def test_reactions_are_counted_for_the_cells_they_came_from(anniversary):
    shard, (ada, bob), (ada_link, bob_link) = _shard_with(anniversary, [(5.0, 5.0), (55.0, 37.0)])
    shard.react(ada, "heart", 0.0)
    shard.react(ada, "heart", 0.0)
    shard.react(bob, "wow", 0.0)
    shard.tick(0.0, SHOW, 1.7e9)
    counts = [[e["counts"] for e in link.last()[1]["events"] if e["type"] == "reactions"] for link in (ada_link, bob_link)]
    assert counts == [[{"heart": 2}], [{"wow": 1}]]  # each hears its own corner of the hall
    shard.tick(0.05, SHOW, 1.7e9)
    assert not [e for e in ada_link.last()[1]["events"] if e["type"] == "reactions"]


def test_a_reaction_from_a_visitor_who_left_before_the_tick_is_not_counted(anniversary):
    shard, (ada, bob), (ada_link, _) = _shard_with(anniversary, [(5.0, 5.0), (6.0, 5.0)])
    shard.react(bob, "fire", 0.0)
    shard.remove(bob.id)
    shard.tick(0.0, SHOW, 1.7e9)
    assert not [e for e in ada_link.last()[1]["events"] if e["type"] == "reactions"]


def test_a_repeated_walk_goal_is_pushed_out_of_obstacles_once(anniversary, monkeypatch):
    shard, (ada,), _ = _shard_with(anniversary, [(5.0, 5.0)])
    obstacles = shard.world.venue.obstacles
    middles = (obstacles.a + obstacles.b) / 2
    inside = middles[np.flatnonzero((middles[:, 0] > 5) & (middles[:, 0] < 55) & (middles[:, 1] > 5))[0]]
    pushed: list[int] = []
    real = type(obstacles).push_out

    def counted(self, pos, radius, rows, **kw):
        pushed.append(rows.size)
        return real(self, pos, radius, rows, **kw)

    monkeypatch.setattr(type(obstacles), "push_out", counted)
    row = shard.world.crowd.index_of(np.array([ada.id]))[0]
    shard.queue_move_at(ada.slot, MOVE_TO, 1, float(inside[0]), float(inside[1]))
    shard.inputs.apply(shard.world.crowd, obstacles, shard.seats.slot_id)
    goal = shard.world.crowd.goal[row].copy()
    expected = inside[None].copy()
    real(obstacles, expected, shard.world.crowd.radius[row:row + 1], np.arange(1))
    assert pushed == [1] and np.array_equal(goal, expected[0]) and not np.array_equal(goal, inside)
    shard.world.crowd.goal[row] = (1.0, 1.0)
    shard.queue_move_at(ada.slot, MOVE_TO, 2, float(inside[0]), float(inside[1]))
    shard.inputs.apply(shard.world.crowd, obstacles, shard.seats.slot_id)
    assert pushed == [1] and np.array_equal(shard.world.crowd.goal[row], goal)
    shard.queue_move_at(ada.slot, MOVE_TO, 3, 30.0, 30.0)
    shard.inputs.apply(shard.world.crowd, obstacles, shard.seats.slot_id)
    assert pushed == [1, 1]


def test_a_dropped_visitor_expires_after_its_window_unless_it_resumed(anniversary):
    shard, (ada, bob), (ada_link, _) = _shard_with(anniversary, [(5.0, 5.0), (6.0, 5.0)])
    shard.detach(ada.id, until=10.0)
    shard.detach(bob.id, until=10.0)
    ada.link, ada.detached_until = ada_link, 0.0  # resumed (as Event.rejoin does)
    assert shard.expire(9.0) == []
    assert [m.id for m in shard.expire(10.0)] == [bob.id]
    assert set(shard.members) == {ada.id} and not shard.seats.detached


class FakeTransport:
    """What PicowsLink uses of a picows transport, keeping the messages it is asked to send."""

    is_disconnected = False
    is_close_frame_sent = False

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.waiting = 0
        self.underlying_transport = self

    def get_write_buffer_size(self) -> int:
        return self.waiting

    def send(self, msg_type: Any, message: bytes) -> None:
        self.sent.append(bytes(message))

    def send_reuse_external_bytearray(self, msg_type: Any, buffer: bytearray, offset: int) -> None:
        assert offset >= 14  # room for the WebSocket header
        self.sent.append(bytes(buffer[offset:]))


class _Event:
    metrics = Metrics()


@pytest.mark.parametrize("head_size", [1, 28, HEAD_ROOM - 14, HEAD_ROOM - 13, 4000])
def test_a_frame_leaves_the_link_as_its_head_then_the_shared_payload(head_size):
    frames = FrameBuffer()
    links = [(PicowsLink(t, _Event(), frames), t) for t in (FakeTransport(), FakeTransport())]
    for shared in (b"payload-one" * 100, b"payload-two"):
        for k, (link, transport) in enumerate(links):
            head = bytes([k + 1]) * head_size
            assert link.send_frame(head, shared)
            assert transport.sent[-1] == head + shared


def test_a_slow_reader_skips_frames_instead_of_queueing_them():
    transport, event = FakeTransport(), _Event()
    link = PicowsLink(transport, event, FrameBuffer())
    transport.waiting = SLOW_READER_BYTES + 1
    skipped = event.metrics.frames_skipped
    assert not link.send_frame(b"\x01", b"\x02")
    assert transport.sent == [] and event.metrics.frames_skipped == skipped + 1


def test_the_visitor_who_opens_a_new_shard_waits_for_no_venue_or_show_build(anniversary, monkeypatch):
    """The venue's navigation fields and the compiled show are built once per event and shared:
    the join that opens a shard builds neither (it used to take 0.3-0.45 s on the event loop)."""
    import server.event.shard as shard_module
    import showroom.sim.world as world_module
    from server.event.event import Event

    small = anniversary.model_copy(update={"event": anniversary.event.model_copy(update={"shard_capacity": 1})})
    event = Event(small, host_token="t")

    def built(*args, **kwargs):
        raise AssertionError("built during a join")
    for module in (shard_module, world_module):
        monkeypatch.setattr(module, "build_venue", built)
        monkeypatch.setattr(module, "compile_show", built)
    event.join("ada", "visitor", FrameLink(), "", 0.0)
    event.join("bob", "visitor", FrameLink(), "", 0.0)
    first, second = event.shards
    assert second.world.venue is first.world.venue and second.world.show is first.world.show
    assert second.desk.occluders is first.desk.occluders
