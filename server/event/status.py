"""The hosts' live status of an event: show clock, visitors per shard, selfie queues, awards, stock.

Built on request (``host_status``), never per tick: it reads the shards and asks the
ledger two small questions, so its cost is paid only when a host looks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.event.reload import next_cue_start
from showroom.protocol.server_messages import CueRow, PendingEdit, SelfieLine, ShardStatus, Status, StockLevel
from showroom.scene.model import Scene
from showroom.scene.rewards import Voucher
from showroom.scene.show import AnnounceCue, Cue, LightsCue, MusicCue, PauseCue, PoseCue, SelfieCue, TurnCue, WalkCue

if TYPE_CHECKING:
    from server.event.event import Event


def describe(scene: Scene, cue: Cue) -> str:
    """A cue in a few words, for a host's cue list."""
    def name(mascot_id: str) -> str:
        return scene.mascot(mascot_id).name
    if isinstance(cue, WalkCue):
        return f"{name(cue.mascot)} walks {cue.path}"
    if isinstance(cue, PauseCue):
        return f"{name(cue.mascot)} holds {cue.duration:g} s"
    if isinstance(cue, PoseCue):
        return f"{name(cue.mascot)} poses: {cue.pose}"
    if isinstance(cue, TurnCue):
        return f"{name(cue.mascot)} turns to {cue.heading:g}°"
    if isinstance(cue, SelfieCue):
        return f"{name(cue.mascot)} selfies at {cue.spot} for {cue.duration:g} s"
    if isinstance(cue, LightsCue):
        return f"lights {cue.color} ×{cue.intensity:g} ({cue.target})"
    if isinstance(cue, MusicCue):
        return f"music: {cue.mark}"
    if isinstance(cue, AnnounceCue):
        return cue.text if len(cue.text) <= 60 else cue.text[:59] + "…"
    return cue.kind


def cue_rows(scene: Scene) -> list[CueRow]:
    """The timeline as a host's cue list."""
    return [CueRow(index=i, at=float(cue.at), kind=cue.kind, what=describe(scene, cue))
            for i, cue in enumerate(scene.timeline)]


def host_status(event: Event, wall: float) -> Status:
    """The ``status`` message answering a host's ``host_status`` at Unix time ``wall``."""
    scene = event.scene
    state = event.shards[0].world.show.state_at(event.show_t)
    next_at, next_cue = next_cue_start(scene, event.show_t)
    pending = event.reloader.pending
    awarded = event.ledger.awards_made() if event.ledger is not None else None
    communities = event.communities
    return Status(
        event=scene.event.id,
        t=round(event.show_t, 3),
        playing=event.playing,
        duration=scene.event.duration,
        cue=state.cue,
        cue_kind=scene.timeline[state.cue].kind if state.cue >= 0 else None,
        next_cue=next_cue,
        next_at=round(next_at, 3) if next_cue >= 0 else None,
        look=scene.looks[state.look].id if state.look >= 0 else None,
        scene_version=event.reloader.version,
        pending=None if pending is None else PendingEdit(version=pending.version, at=round(pending.at_s, 3)),
        visitors=event.visitors if event.peer_counts is None else event.peer_counts()["avatars"],
        hosts=len(event.hosts),
        shards=[ShardStatus(shard=shard.number, visitors=shard.occupied, connected=shard.seats.connected,
                            selfies=[SelfieLine(mascot=mascot, waiting=len(q.waiting), serving=q.serving)
                                     for mascot, q in zip(shard.desk.mascot_ids, shard.desk.queues)])
                for shard in event.shards]
        + [ShardStatus(shard=number, visitors=occupied, connected=connected, selfies=[])  # other workers' shards
           for number, occupied, connected in (event.peer_shards() if event.peer_shards is not None else [])],
        awards=None if awarded is None else sum(awarded.values()),
        awarded=awarded,
        stock=[StockLevel(entitlement=e.id, left=event.ledger.stock_left(e.id) if event.ledger is not None else None,
                          total=e.stock, open=event.drops.get(e.id, True))
               for e in scene.entitlements if isinstance(e, Voucher)],
        cues=cue_rows(scene),
        polls=[] if communities is None else communities.live_polls(),
        communities=[] if communities is None else communities.briefs(wall),
    )
