"""``showroom bench tick``: one event's tick with thousands of visitors, without sockets.

Every visitor is a session whose link only counts the bytes it is given, so the figures
are the server's own work: decoding each visitor's 10 Hz movement input, then the tick's
stages (inputs, sim, interactions, interest, encode, send-side framing). The socket
write itself (picows) is not in these figures; DESIGN.md measures it separately.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np

from server.event.event import Event
from server.event.metrics import STAGES
from server.event.session import Session
from showroom.protocol.client_messages import Join
from showroom.protocol.codec import encode, encode_move
from showroom.protocol.codes import MOVE_TO
from showroom.protocol.limits import PROTOCOL_VERSION
from showroom.scene.model import Scene
from showroom.sim.venue import sample_in_polygon

TICK_BUDGET_MS = 50.0


class CountingLink:
    """A link that keeps no bytes, only counts them."""

    def __init__(self) -> None:
        self.messages = 0
        self.bytes = 0

    def send(self, data: bytes) -> bool:
        self.messages += 1
        self.bytes += len(data)
        return True

    def send_frame(self, head: bytes, shared: bytes) -> bool:
        self.messages += 1
        self.bytes += len(head) + len(shared)
        return True

    def close(self, code: int, reason: str) -> None:
        pass


@dataclass
class TickBench:
    """Figures of one run."""

    visitors: int
    shards: int
    ticks: int
    input_hz: float
    tick_ms_p50: float
    tick_ms_p99: float
    decode_ms_per_tick: float
    total_ms_p50: float
    total_ms_p99: float
    overrun_pct: float
    stage_ms_p50: dict[str, float]
    bytes_out_per_s: float
    frames_out_per_s: float

    def as_dict(self) -> dict:
        """Plain dict for JSON output."""
        return asdict(self)


def run(scene: Scene, visitors: int, ticks: int = 200, input_hz: float = 10.0, seed: int = 0) -> TickBench:
    """Join ``visitors`` spread over the audience zones, then time ``ticks`` ticks."""
    rng = np.random.default_rng(seed)
    event = Event(scene, host_token="bench")
    links = [CountingLink() for _ in range(visitors)]
    sessions = [Session(event, link, f"bench-{k}") for k, link in enumerate(links)]
    now = 0.0
    for k, session in enumerate(sessions):
        session.receive(encode(Join(v=PROTOCOL_VERSION, name=f"v{k}", role="bot")), now)
    zones = [z for z in event.shards[0].world.venue.zones]
    for shard in event.shards:
        world = shard.world
        rows = np.flatnonzero(world.crowd.role != 2)
        which = rng.integers(0, len(zones), rows.size)
        for z in range(len(zones)):  # place avatars in the audience zones, one batch per zone
            take = rows[which == z]
            world.crowd.pos[take] = sample_in_polygon(world.rng, zones[z], take.size)
            world.crowd.goal[take] = world.crowd.pos[take]
        world.venue.obstacles.push_out(world.crowd.pos, world.crowd.radius, rows)
    for _ in range(40):  # let the first overlaps settle
        now += event.dt_s
        event.tick(now, time.time())
    per_tick = input_hz * event.dt_s
    tick_ms, decode_ms, total_ms = [], [], []
    seq = 0
    bytes_before = sum(link.bytes for link in links)
    frames_before = sum(link.messages for link in links)
    for k in range(ticks):
        now += event.dt_s
        senders = np.flatnonzero(rng.random(visitors) < per_tick)
        messages = _moves(event, sessions, senders, rng, seq)
        seq += len(messages)
        t0 = time.perf_counter()
        for s, data in messages:  # one message per sending visitor, as the transport would deliver
            sessions[s].receive(data, now)
        t1 = time.perf_counter()
        event.tick(now, time.time())
        t2 = time.perf_counter()
        decode_ms.append((t1 - t0) * 1e3)
        tick_ms.append((t2 - t1) * 1e3)
        total_ms.append((t2 - t0) * 1e3)
    stage = {s: round(float(np.median(list(event.metrics.stage_ms[s])[-ticks * len(event.shards):])) *
                      len(event.shards), 3) for s in STAGES}
    total = np.array(total_ms)
    sim_seconds = ticks * event.dt_s
    return TickBench(
        visitors=visitors,
        shards=len(event.shards),
        ticks=ticks,
        input_hz=input_hz,
        tick_ms_p50=round(float(np.percentile(tick_ms, 50)), 3),
        tick_ms_p99=round(float(np.percentile(tick_ms, 99)), 3),
        decode_ms_per_tick=round(float(np.median(decode_ms)), 3),
        total_ms_p50=round(float(np.percentile(total, 50)), 3),
        total_ms_p99=round(float(np.percentile(total, 99)), 3),
        overrun_pct=round(100.0 * float(np.mean(total > TICK_BUDGET_MS)), 2),
        stage_ms_p50=stage,
        bytes_out_per_s=round((sum(link.bytes for link in links) - bytes_before) / sim_seconds, 1),
        frames_out_per_s=round((sum(link.messages for link in links) - frames_before) / sim_seconds, 1),
    )


def _moves(event: Event, sessions: list[Session], senders: np.ndarray, rng: np.random.Generator,
           seq: int) -> list[tuple[int, bytes]]:
    """Encoded 'walk to a point near you' inputs for the senders (prepared outside the timing)."""
    width, depth = event.scene.venue.size
    out = []
    for shard in event.shards:
        mine = [s for s in senders.tolist() if sessions[s].shard is shard and sessions[s].member is not None]
        if not mine:
            continue
        ids = np.array([sessions[s].member.id for s in mine])  # type: ignore[union-attr]
        where = shard.world.crowd.pos[shard.world.crowd.index_of(ids)]
        target = np.clip(where + rng.uniform(-1.5, 1.5, where.shape), 0.5, [width - 0.5, depth - 0.5])
        for k, (s, (x, y)) in enumerate(zip(mine, target.tolist())):
            out.append((s, encode_move(MOVE_TO, seq + k + 1, x, y)))
        seq += len(mine)
    return out
