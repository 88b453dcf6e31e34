"""``showroom bench awards``: the ledger's writes off the event loop, measured with durable commits.

Three figures, in one run, each in a fresh temporary data directory (SQLite WAL, ``synchronous=FULL``):

* **sustained**: awards per second through :class:`~server.storage.ledger_writer.LedgerWriter`
  (distinct wallets, handed over at once, counted until the last acknowledgement), beside the
  old way in the same run: one :meth:`Ledger.award` commit each (which the tick used to cap
  at 25 a tick, 500/s);
* **drop**: an :class:`~server.event.event.Event` with thousands of joined visitors whose links
  only note what they are handed; all of them qualify for one award in the same tick, the event
  ticks at its real rate (sleeping the rest of each 50 ms) and the figure is the time until the
  last visitor's ``awarded`` was handed to its link, with tick durations before and during;
* **trickle**: visitors triggering one award each at random moments between ticks; the time
  from trigger to ``awarded`` handed to the link, and how many went out on their own between
  ticks (the writer wakes the loop after each commit) rather than in a tick's frame.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from server.event.event import Event
from server.event.session import Session
from server.storage.ledger import Claim, Ledger
from server.storage.ledger_writer import LedgerWriter, Written
from showroom.errors import ShowroomError
from showroom.protocol.client_messages import Join
from showroom.protocol.codec import encode
from showroom.protocol.limits import PROTOCOL_VERSION
from showroom.scene.model import Scene
from showroom.scene.rewards import ReactedRule, Voucher
from showroom.sim.venue import sample_in_polygon

TICK_BUDGET_MS = 50.0
OLD_CAP_PER_S = 25 * 20
"""What the tick used to write at most: 25 awards a tick at 20 Hz."""
GOALS = {"sustained_awards_per_s": ">= 2000", "drop_s": "<= 3", "drop_overruns": "none caused by the drop",
         "trickle_p99_ms": "< 50"}
_AWARDED = b"\xa7awarded"
"""``"awarded"`` as msgpack writes it: found in a frame head only when that event is in it."""


class WatchLink:
    """A link that keeps no bytes: it notes when the first ``awarded`` after a trigger came, and how."""

    __slots__ = ("alone", "awarded_at", "triggered_at")

    def __init__(self) -> None:
        self.triggered_at: float | None = None
        self.awarded_at: float | None = None
        self.alone = False
        """Whether it came as a message of its own (between ticks), not in a frame."""

    def send(self, data: bytes) -> bool:
        if self.triggered_at is not None and self.awarded_at is None and _AWARDED in data:
            self.awarded_at = time.monotonic()  # on its own, between ticks, as soon as it is in the ledger
            self.alone = True
        return True

    def send_frame(self, head: bytes, shared: bytes) -> bool:
        if self.triggered_at is not None and self.awarded_at is None and _AWARDED in head:
            self.awarded_at = time.monotonic()
        return True

    def close(self, code: int, reason: str) -> None:
        pass


@dataclass
class Ticks:
    """Tick durations (ms) and overruns (over the 50 ms budget) of a stretch of ticks."""

    ticks: int = 0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    overruns: int = 0

    @classmethod
    def of(cls, durations_ms: list[float]) -> Ticks:
        """Figures of these tick durations."""
        if not durations_ms:
            return cls()
        d = np.array(durations_ms)
        return cls(len(d), round(float(np.percentile(d, 50)), 2), round(float(np.percentile(d, 99)), 2),
                   round(float(d.max()), 2), int(np.sum(d > TICK_BUDGET_MS)))


@dataclass
class Sustained:
    """Awards per second through the writer, and the old way (one ``award()`` commit each) in the same run."""

    writer_awards: int
    writer_awards_per_s: float
    single_awards: int
    single_awards_per_s: float
    old_cap_per_s: int = OLD_CAP_PER_S


@dataclass
class Drop:
    """Every present visitor earning one award in the same tick."""

    visitors: int
    seconds: float
    """From the tick that handed the awards over to the last ``awarded`` handed to its link."""
    delivered: int
    ticks_before: Ticks
    ticks_during: Ticks
    overruns_caused: int = 0
    """Overruns during the drop beyond what the ticks before it overran at the same rate."""

    def __post_init__(self) -> None:
        b, w = self.ticks_before, self.ticks_during
        self.overruns_caused = max(w.overruns - round(b.overruns * w.ticks / max(b.ticks, 1)), 0)


@dataclass
class Trickle:
    """One award per visitor, triggered at random moments between ticks: trigger to ``awarded`` at the link."""

    visitors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    alone_pct: float
    """Share of the awards sent on their own between ticks (the rest rode a tick's frame)."""
    ticks: Ticks


@dataclass
class AwardsBench:
    """Figures of one run (see the module docstring)."""

    sustained: Sustained
    drop: Drop
    trickle: Trickle
    goals: dict[str, str] = field(default_factory=lambda: dict(GOALS))

    def as_dict(self) -> dict:
        """Plain dict for JSON output."""
        return asdict(self)


def run(scene: Scene, *, awards: int = 20_000, baseline_awards: int = 1_000, drop_visitors: int = 5_000,
        trickle_visitors: int = 1_000, trickle_s: float = 10.0, seed: int = 0,
        progress: Callable[[str], None] = lambda line: None) -> AwardsBench:
    """Measure all three (see the module docstring) and return the figures."""
    rule = drop_rule(scene)
    progress(f"sustained: {awards} awards through the writer, then {baseline_awards} one commit each…")
    sustained = Sustained(awards, _through_writer(scene, rule, awards), baseline_awards,
                          _one_by_one(scene, rule, baseline_awards))
    progress(f"drop: {drop_visitors} visitors join, then all earn {rule!r} in one tick…")
    drop = _drop(scene, rule, drop_visitors, seed)
    progress(f"trickle: {trickle_visitors} visitors, one award each at random moments over {trickle_s:g} s…")
    trickle = _trickle(scene, rule, trickle_visitors, trickle_s, seed)
    return AwardsBench(sustained, drop, trickle)


def drop_rule(scene: Scene) -> str:
    """The rule a whole crowd can earn at once: a 'reacted' rule, else any whose entitlement is no limited voucher."""
    unlimited = {e.id for e in scene.entitlements if not isinstance(e, Voucher)}
    rules = sorted((not isinstance(r, ReactedRule), k, r.id)
                   for k, r in enumerate(scene.rewards) if r.grant in unlimited)
    if not rules:
        raise ShowroomError("the scene has no reward rule whose entitlement everyone can get (not a limited voucher)")
    return rules[0][2]


# ---- sustained ------------------------------------------------------------------------------------

def _through_writer(scene: Scene, rule: str, count: int) -> float:
    """Awards per second through the writer: all handed over at once, timed to the last acknowledgement."""
    with tempfile.TemporaryDirectory(prefix="showroom-bench-awards-") as data:
        ledger = Ledger(Path(data), scene)
        writer = LedgerWriter(ledger)
        acked: list[Written] = []
        start = time.perf_counter()
        for k in range(count):
            writer.submit(Claim(rule, f"w-sustained-{k}"), lambda _, outcome: acked.append(outcome))
        deadline = time.monotonic() + 60 + count / 100
        while len(acked) < count and time.monotonic() < deadline:
            writer.deliver()
            time.sleep(0.001)
        elapsed = time.perf_counter() - start
        writer.close()
        made = sum(ledger.awards_made().values())
        ledger.close()
    if made != count or len(acked) != count:
        raise ShowroomError(f"the writer made {made} awards of {count} and acknowledged {len(acked)}")
    return round(count / elapsed, 1)


def _one_by_one(scene: Scene, rule: str, count: int) -> float:
    """Awards per second the old way: one ``award()`` (one synced commit) each, on the caller's thread."""
    with tempfile.TemporaryDirectory(prefix="showroom-bench-awards-") as data:
        ledger = Ledger(Path(data), scene)
        start = time.perf_counter()
        for k in range(count):
            ledger.award(rule, f"w-single-{k}")
        elapsed = time.perf_counter() - start
        ledger.close()
    return round(count / elapsed, 1)


# ---- an event at its real rate ----------------------------------------------------------------------

class _Venue:
    """An event with a ledger in a temporary data directory and ``visitors`` joined through watching links."""

    def __init__(self, scene: Scene, visitors: int, seed: int) -> None:
        self.dir = tempfile.TemporaryDirectory(prefix="showroom-bench-awards-")
        self.ledger = Ledger(Path(self.dir.name), scene)
        self.writer = LedgerWriter(self.ledger)
        self.event = Event(scene, host_token="bench", ledger=self.ledger, writer=self.writer)
        self.woken = threading.Event()
        self.writer.on_acks = self.woken.set  # as the server's loop is woken to deliver answers between ticks
        self.links = [WatchLink() for _ in range(visitors)]
        sessions = [Session(self.event, link, f"bench-{k}") for k, link in enumerate(self.links)]
        now = time.monotonic()
        for k, session in enumerate(sessions):
            session.receive(encode(Join(v=PROTOCOL_VERSION, name=f"v{k}", role="bot")), now)
        self.wallets = [s.member.wallet if s.member is not None else "" for s in sessions]
        if not all(self.wallets):
            raise ShowroomError(f"only {sum(map(bool, self.wallets))} of {visitors} visitors could join")
        _spread(self.event, np.random.default_rng(seed))
        self.durations: list[tuple[float, float]] = []
        """(start, duration in ms) of every tick run."""

    def close(self) -> None:
        """Stop the writer and remove the data directory."""
        self.writer.close()
        self.ledger.close()
        self.dir.cleanup()

    def tick_until(self, done: Callable[[], bool], limit_s: float,
                   before_tick: Callable[[float], None] = lambda now: None,
                   between: Callable[[float], float | None] = lambda now: None) -> None:
        """Tick at the event's rate until ``done()`` (or ``limit_s``), sleeping the rest of each tick.

        ``before_tick(now)`` runs at the start of each tick (its time counts as the tick's);
        ``between(now)`` runs while waiting for the next tick and returns when it next wants to run.
        """
        dt = self.event.dt_s
        next_at = time.monotonic()
        stop_at = next_at + limit_s
        while not done() and time.monotonic() < stop_at:
            _wait_for(next_at, between, self.woken, self.event.acks_ready)
            start = time.monotonic()
            with self.writer.ticking():  # what happens "in the tick" holds the writer off, as the tick does
                before_tick(start)
                self.event.tick(time.monotonic(), time.time())
            self.durations.append((start, (time.monotonic() - start) * 1e3))
            next_at += dt
            if time.monotonic() > next_at + 5 * dt:  # far behind: skip ahead, as the server's tick loop does
                next_at = time.monotonic()

    def settle(self) -> None:
        """Tick until what joining earned (the first joiners' badge) is written and told, plus a second of ticks."""
        self.tick_until(lambda: self.writer.waiting == 0, 60.0)
        ticks = len(self.durations)
        self.tick_until(lambda: len(self.durations) >= ticks + self.event.tick_hz, 5.0)

    def ticks_since(self, start: float, until: float = float("inf")) -> list[float]:
        """Durations (ms) of the ticks that started in [start, until)."""
        return [ms for at, ms in self.durations if start <= at < until]


def _wait_for(at: float, between: Callable[[float], float | None], woken: threading.Event,
              deliver: Callable[[], None]) -> None:
    """Wait until ``at``, running ``between`` whenever it asks to and ``deliver`` whenever ``woken`` is set."""
    while True:
        now = time.monotonic()
        if now >= at:
            return
        wanted = between(now)
        wake = at if wanted is None else min(at, max(wanted, now))
        if woken.wait(max(wake - time.monotonic(), 0.0)):
            woken.clear()
            deliver()


def _spread(event: Event, rng: np.random.Generator) -> None:
    """Stand every visitor somewhere in the audience zones (as ``bench tick`` does), not all at the spawns."""
    for shard in event.shards:
        world = shard.world
        zones = list(world.venue.zones)
        rows = np.flatnonzero(world.crowd.role != 2)
        which = rng.integers(0, len(zones), rows.size)
        for z, zone in enumerate(zones):
            take = rows[which == z]
            world.crowd.pos[take] = sample_in_polygon(world.rng, zone, take.size)
            world.crowd.goal[take] = world.crowd.pos[take]
        world.venue.obstacles.push_out(world.crowd.pos, world.crowd.radius, rows)


# ---- the drop ---------------------------------------------------------------------------------------

def _drop(scene: Scene, rule: str, visitors: int, seed: int) -> Drop:
    """Every visitor earns ``rule`` in one tick; seconds until the last ``awarded`` reached its link, and ticks."""
    venue = _Venue(scene, visitors, seed)
    try:
        venue.settle()
        before = time.monotonic()
        venue.tick_until(lambda: False, 3.0)
        fired: list[float] = []

        def grant_all(now: float) -> None:
            if not fired:
                fired.append(now)
                for link, wallet in zip(venue.links, venue.wallets):
                    link.triggered_at = now
                    venue.event.rewards.grant(rule, wallet)  # type: ignore[union-attr]
        venue.tick_until(lambda: bool(fired) and all(link.awarded_at is not None for link in venue.links), 30.0,
                         before_tick=grant_all)
        told = [link.awarded_at for link in venue.links if link.awarded_at is not None]
        finished = max(told, default=time.monotonic())
        drop_s = round(finished - fired[0], 3)
        return Drop(visitors, drop_s, len(told), Ticks.of(venue.ticks_since(before, fired[0])),
                    Ticks.of(venue.ticks_since(fired[0], finished + 1e-9)))
    finally:
        venue.close()


# ---- the trickle ------------------------------------------------------------------------------------

def _trickle(scene: Scene, rule: str, visitors: int, seconds: float, seed: int) -> Trickle:
    """Each visitor earns ``rule`` once, at a random moment between ticks; latency to its link, and its parts."""
    rng = np.random.default_rng(seed + 1)
    venue = _Venue(scene, visitors, seed)
    try:
        venue.settle()
        start = time.monotonic() + 0.1
        due = sorted(zip((start + rng.uniform(0, seconds, visitors)).tolist(), range(visitors)))
        queue = list(reversed(due))

        def fire(now: float) -> float | None:
            while queue and queue[-1][0] <= now:
                k = queue.pop()[1]
                venue.links[k].triggered_at = time.monotonic()
                venue.event.rewards.grant(rule, venue.wallets[k])  # type: ignore[union-attr]
            return queue[-1][0] if queue else None
        venue.tick_until(lambda: not queue and all(link.awarded_at is not None for link in venue.links),
                         seconds + 30.0, between=fire)
        links = [link for link in venue.links if link.awarded_at is not None and link.triggered_at is not None]
        if len(links) < visitors:
            raise ShowroomError(f"only {len(links)} of {visitors} trickled awards reached their visitors")
        total = np.array([(link.awarded_at or 0) - (link.triggered_at or 0) for link in links]) * 1e3
        alone = float(np.mean([link.alone for link in links])) * 100
        return Trickle(visitors, seconds, _pct(total, 50), _pct(total, 99), round(float(total.max()), 2),
                       round(alone, 2), Ticks.of(venue.ticks_since(start)))
    finally:
        venue.close()


def _pct(values: np.ndarray, q: float) -> float:
    return round(float(np.percentile(values, q)), 2)


def summary_lines(r: AwardsBench) -> list[str]:
    """The figures as a person reads them, each goal beside its figure."""
    s, d, t = r.sustained, r.drop, r.trickle
    b, w = d.ticks_before, d.ticks_during
    return [
        (f"sustained         {s.writer_awards_per_s:,.0f} awards/s through the writer ({s.writer_awards:,} awards)"
         f"   goal >= 2,000/s  {_met(s.writer_awards_per_s >= 2000)}"),
        (f"  the old way     {s.single_awards_per_s:,.0f} awards/s, one commit each ({s.single_awards:,} awards);"
         f" the tick capped it at {s.old_cap_per_s}/s"),
        (f"drop              {d.delivered:,} of {d.visitors:,} visitors told in {d.seconds:.2f} s"
         f"   goal <= 3 s  {_met(d.delivered == d.visitors and d.seconds <= 3.0)}"),
        f"  ticks before    {_ticks(b)}",
        (f"  ticks during    {_ticks(w)} ({d.overruns_caused} more than before)   goal: no overrun caused by "
         f"the drop  {_met(d.overruns_caused == 0)}"),
        (f"trickle           {t.visitors:,} visitors over {t.seconds:g} s: trigger to awarded at the link "
         f"p50 {t.p50_ms:.1f} ms, p99 {t.p99_ms:.1f} ms, max {t.max_ms:.1f} ms   goal p99 < 50 ms  "
         f"{_met(t.p99_ms < 50)}"),
        (f"  of which        {t.alone_pct:.1f} % went out on their own between ticks, as soon as committed; "
         f"the rest in a tick's frame"),
        f"  ticks           {_ticks(t.ticks)}",
    ]


def _ticks(t: Ticks) -> str:
    return (f"{t.ticks} ticks: p50 {t.p50_ms:.1f} ms, p99 {t.p99_ms:.1f} ms, max {t.max_ms:.1f} ms, "
            f"{t.overruns} over {TICK_BUDGET_MS:g} ms")


def _met(ok: bool) -> str:
    return "met" if ok else "MISSED"
