"""Lean frames without sockets: each visitor's copy of the crowd, kept by applying every frame it was
given, matches the server's avatars however it moves, falls behind, or sees others come and go; and a
standing crowd costs nothing after the first frame."""

from __future__ import annotations

import msgpack
import numpy as np
import pytest
from test_shard_frames import SHOW

from server.event.interest import FAR_EVERY
from server.event.shard import Shard, Stage
from showroom.protocol.snapshot import UNITS_PER_M, CrowdCopy, unpack_cell
from showroom.sim.world import DT_S


class CopyLink:
    """A visitor's connection that applies every frame it takes to its own copy of the crowd;
    ``refuse`` makes it refuse frames (a reader whose buffer is full: the server skips them)."""

    def __init__(self) -> None:
        self.copy = CrowdCopy()
        self.refuse = False
        self.sizes: list[int] = []
        self.keys = 0
        self.rows: list[int] = []

    def send(self, data: bytes) -> bool:
        return True

    def send_frame(self, head: bytes, shared: bytes) -> bool:
        if self.refuse:
            return False
        snap = unpack_cell(msgpack.unpackb(head + shared, raw=False)[1])
        self.copy.apply(snap)
        self.sizes.append(len(head) + len(shared))
        self.keys += snap.key
        self.rows.append(int(snap.slots.size))
        return True

    def close(self, code: int, reason: str) -> None:
        pass


def _truth(shard: Shard) -> dict[int, np.ndarray]:
    """Every seated avatar's position, by id."""
    crowd = shard.world.crowd
    ids = shard.seats.slot_id[shard.seats.occupied_slots()]
    return dict(zip(ids.tolist(), crowd.pos[crowd.index_of(ids)]))


def _held(link: CopyLink) -> dict[int, np.ndarray]:
    slots = link.copy.present()
    return dict(zip(link.copy.ids[slots].tolist(), link.copy.pos[slots]))


def _tick(shard: Shard, t: float) -> None:
    shard.tick(t, SHOW, 1.7e9 + t)


def _admit(shard: Shard, member_id: int, at: tuple[float, float]) -> CopyLink:
    link = CopyLink()
    member = shard.admit(member_id, f"v{member_id}", "visitor", link, f"r{member_id}")
    crowd = shard.world.crowd
    row = crowd.index_of(np.array([member.id]))
    crowd.pos[row] = crowd.goal[row] = at
    return link


def test_every_copy_matches_the_server_after_moves_skips_leavers_and_newcomers(anniversary):
    """The property behind the tiers: no change is ever missed, so a copy is never more than one far
    refresh behind: every record that changed before the last far refresh is in every copy as sent."""
    rng = np.random.default_rng(4)
    shard = Shard(0, Stage.build(anniversary), 200, dt_s=DT_S)
    links = {1000 + k: _admit(shard, 1000 + k, (rng.uniform(5, 55), rng.uniform(5, 35))) for k in range(60)}
    crowd = shard.world.crowd
    next_id, t = 1060, 0.0
    for tick in range(400):
        if tick % 20 == 0:  # some walk somewhere else (across viewer cells), some stop
            ids = np.array(list(links))
            rows = crowd.index_of(ids)
            crowd.goal[rows] = np.column_stack([rng.uniform(3, 57, ids.size), rng.uniform(3, 37, ids.size)])
        if tick % 37 == 5:  # one leaves for good, one comes (its slot may be reused)
            gone = int(rng.choice(list(links)))
            shard.remove(gone)
            del links[gone]
            links[next_id] = _admit(shard, next_id, (rng.uniform(5, 55), rng.uniform(5, 35)))
            next_id += 1
        lagging = list(links.values())[tick % 7]  # a slow reader misses a few frames now and then
        lagging.refuse = tick % 50 < 3 or tick % 90 < 50 and tick % 90 > 45
        _tick(shard, t)
        t += DT_S
        for link in links.values():
            link.refuse = False
    for link in links.values():
        link.refuse = False
    rows = crowd.index_of(np.array(list(links)))
    crowd.goal[rows] = crowd.pos[rows]  # most stop (changes still trickle in from those pressed together)...
    crowd.goal[rows[:12]] = np.column_stack([rng.uniform(3, 57, 12), rng.uniform(3, 37, 12)])  # ...a few walk on
    for _ in range(5 * FAR_EVERY):
        _tick(shard, t)
        t += DT_S
    frames, tick = shard.frames, shard.world.tick
    slots = shard.seats.occupied_slots()
    settled = slots[frames.changed_at[slots] <= tick - FAR_EVERY]  # changed before the last far refresh
    assert settled.size >= 20
    for member_id, link in links.items():
        copy = link.copy
        assert set(copy.ids[copy.present()].tolist()) == set(shard.seats.slot_id[slots].tolist()), \
            f"visitor {member_id} holds another crowd"
        held = np.rint(copy.pos[settled] * UNITS_PER_M).astype(int)
        sent = np.column_stack([frames.rec["x"][settled], frames.rec["y"][settled]])
        assert np.array_equal(held, sent), f"visitor {member_id} missed a change"
    truth = _truth(shard)
    held = _held(links[next(iter(links))])
    assert max(float(np.hypot(*(held[i] - truth[i]))) for i in truth) < 1.5  # at most a far refresh behind


def test_a_standing_crowd_costs_a_few_bytes_a_frame_after_the_first(anniversary):
    shard = Shard(0, Stage.build(anniversary), 300, dt_s=DT_S)
    spots = [(x, y) for x in [*np.arange(12.5, 27.0, 1.5), *np.arange(33.5, 48.0, 1.5)] for y in np.arange(17.5, 34.0, 1.5)]
    links = [_admit(shard, 1000 + k, spot) for k, spot in enumerate(spots)]  # apart: nobody nudges anybody
    t = 0.0
    for _ in range(60):  # let them settle where they stand
        _tick(shard, t)
        t += DT_S
    before = [len(link.sizes) for link in links]
    for _ in range(40):
        _tick(shard, t)
        t += DT_S
    rows = [sum(link.rows[n:]) for link, n in zip(links, before)]
    sizes = [np.mean(link.sizes[n:]) for link, n in zip(links, before)]
    assert max(rows) == 0  # nobody moved: no avatar is sent again
    assert max(sizes) < 160  # the frame's own fields: tick, clocks, mascots
    assert len(links) > 150 and all(link.keys == 1 for link in links)  # one keyframe each, when they came


@pytest.mark.parametrize("far_away", [False, True])
def test_a_walker_is_refreshed_every_tick_near_and_once_a_second_far(anniversary, far_away):
    shard = Shard(0, Stage.build(anniversary), 10, dt_s=DT_S)
    watcher = _admit(shard, 1000, (10.0, 20.0))
    _admit(shard, 1001, (50.0 if far_away else 12.0, 22.0))
    crowd = shard.world.crowd
    row = crowd.index_of(np.array([1001]))
    crowd.goal[row] = (50.0 if far_away else 12.0, 26.0)  # walks north, staying in its cells' column
    t = 0.0
    for _ in range(10):
        _tick(shard, t)
        t += DT_S
    start = len(watcher.rows)
    for _ in range(40):
        _tick(shard, t)
        t += DT_S
    sent = [n for n in watcher.rows[start:] if n]
    assert len(sent) == (40 // FAR_EVERY if far_away else 40)


def test_a_visitor_who_moves_right_after_a_change_far_away_still_gets_it(anniversary):
    """A change made after the old viewer cell's far refresh and before the move is in the catch-up
    (else only the new cell's far refresh could bring it, and it may come too late to include it)."""
    shard = Shard(0, Stage.build(anniversary), 40, dt_s=DT_S)
    watcher = _admit(shard, 1000, (6.0, 6.0))
    spots = [(44.0 + (k % 4) * 3.0, 20.0 + (k // 4) * 3.0) for k in range(20)]
    for k, spot in enumerate(spots):
        _admit(shard, 1001 + k, spot)
    crowd = shard.world.crowd
    t = 0.0
    for _ in range(30):
        _tick(shard, t)
        t += DT_S
    me = crowd.index_of(np.array([1000]))
    for k in range(40):
        if k < 20:  # changer k steps aside now, one tick after the other
            row = crowd.index_of(np.array([1001 + k]))
            crowd.pos[row] += (0.0, 0.5)
            crowd.goal[row] = crowd.pos[row]
        if k % 3 == 2:  # the watcher hops between two viewer cells
            crowd.pos[me] = crowd.goal[me] = (6.0, 6.0) if k % 6 == 5 else (14.0, 6.0)
        _tick(shard, t)
        t += DT_S
    crowd.goal[me] = crowd.pos[me]
    for _ in range(3):
        _tick(shard, t)
        t += DT_S
    held = _held(watcher)
    for k, (x, y) in enumerate(spots):
        assert held[1001 + k][1] == pytest.approx(y + 0.5, abs=0.03), f"changer {k}'s step never reached the watcher"


def test_the_client_draws_near_walkers_within_a_tick_and_far_ones_within_a_second_of_walking(anniversary):
    """Frames fed to the client's crowd buffer as they would arrive: what it draws, against the server's
    avatars at the same moment. Near walkers stray no more than interpolating between ticks does; far
    ones, refreshed once a second, glide about a second behind, so they stray at most a second of walking."""
    from showroom.client.interp import SnapshotBuffer

    rng = np.random.default_rng(8)
    shard = Shard(0, Stage.build(anniversary), 60, dt_s=DT_S)
    buffer = SnapshotBuffer((60.0, 40.0))

    class Feed(CopyLink):
        def send_frame(self, head: bytes, shared: bytes) -> bool:
            snap = unpack_cell(msgpack.unpackb(head + shared, raw=False)[1])
            buffer.push(snap, snap.tick * DT_S, 1000.0 + snap.tick * DT_S + 0.004)
            return True

    watcher = Feed()
    shard.admit(1000, "watcher", "visitor", watcher, "r")
    crowd = shard.world.crowd
    crowd.pos[crowd.index_of(np.array([1000]))] = crowd.goal[crowd.index_of(np.array([1000]))] = (14.0, 24.0)
    near = [_admit(shard, 1001 + k, (14.0 + k % 2, 22.5 + k)) for k in range(3)]
    far = [_admit(shard, 1010 + k, (rng.uniform(34, 56), rng.uniform(4, 36))) for k in range(40)]
    assert near and far
    history: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    errors: dict[str, list[float]] = {"near": [], "far": []}
    t = 0.0
    for tick in range(400):
        if tick % 60 == 0:  # the far crowd wanders; the near ones pace up and down beside the watcher
            ids = np.arange(1010, 1050)
            crowd.goal[crowd.index_of(ids)] = np.column_stack([rng.uniform(34, 56, 40), rng.uniform(4, 36, 40)])
            ids = np.arange(1001, 1004)
            crowd.goal[crowd.index_of(ids)] = np.column_stack([np.full(3, 15.0), np.full(3, 21.0 if tick % 120 else 27.0)])
        _tick(shard, t)
        t += DT_S
        history[shard.world.tick] = (crowd.ids.copy(), crowd.pos.copy())
        if tick < 60:
            continue
        for lag in (0.0, 0.025):  # drawn at two moments within the tick
            when = buffer.render_time(1000.0 + shard.world.tick * DT_S + 0.004 + lag)
            drawn = buffer.sample(when)
            k = int(np.floor(when / DT_S + 1e-9))
            w = when / DT_S - k
            (ids0, pos0), (ids1, pos1) = history[k], history[k + 1]
            for name, lo, hi in (("near", 1001, 1004), ("far", 1010, 1050)):
                pick = (drawn.ids >= lo) & (drawn.ids < hi)
                ids = drawn.ids[pick]
                expect = pos0[np.searchsorted(ids0, ids)] * (1 - w) + pos1[np.searchsorted(ids1, ids)] * w
                errors[name].extend(np.hypot(*(drawn.pos[pick] - expect).T).tolist())
    near_err, far_err = np.array(errors["near"]), np.array(errors["far"])
    assert near_err.size > 1000 and far_err.size > 10000
    assert near_err.max() <= 0.09, f"a near walker strays {near_err.max():.3f} m"
    walk = 1.34 * (FAR_EVERY + 1) * DT_S  # a far refresh and a tick of walking at the visitors' pace
    assert np.percentile(far_err, 99) <= walk, f"far walkers stray {np.percentile(far_err, 99):.2f} m (p99)"
    assert far_err.max() <= walk + 0.5, f"a far walker strays {far_err.max():.2f} m"
