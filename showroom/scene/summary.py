"""A short human summary of a valid scene, as ``showroom scene validate`` prints it."""

from __future__ import annotations

from collections import Counter

from showroom.scene.floor import narrow_passages
from showroom.scene.model import Scene
from showroom.scene.timecode import format_clock


def summarise(scene: Scene, source: str) -> str:
    """A few lines naming what the scene holds."""
    venue = scene.venue
    kinds = Counter(c.kind for c in scene.timeline)
    ents = Counter(e.kind for e in scene.entitlements)
    mascots = ", ".join(f"{m.id} ({scene.brand(m.brand).name})" for m in scene.mascots)
    event = scene.event
    crowd = scene.crowd
    entry = (f"members of tier {event.min_tier!r} and above" if event.min_tier else
             "members only" if event.members_only else "everyone may enter")
    lines = [
        f"{source}: ok",
        f"  event     {scene.event.title} ({scene.event.id}), show {format_clock(scene.event.duration)}, "
        f"{scene.event.shard_capacity} visitors per shard",
        *([f"  community {event.community}: {entry}"] if event.community else []),
        f"  venue     {venue.name}: {venue.size[0]:g} x {venue.size[1]:g} m, "
        f"{f'runway {venue.runway.width:g} m wide' if venue.runway else 'no runway'}, "
        f"{len(venue.zones)} zones, {len(venue.booths)} booths, {len(venue.paths)} paths, "
        f"{len(venue.selfie_spots)} selfie spots",
        f"  mascots   {mascots or 'none'}",
        *([f"  crowd     {len(crowd.groups)} groups ({sum(g.count or 0 for g in crowd.groups)} people by count"
             f"{', more by density' if any(g.density for g in crowd.groups) else ''}), {len(crowd.waypoints)} waypoints, "
             f"{len(crowd.measure)} measurement areas, {len(crowd.lines)} counting lines"] if crowd.groups else []),
        f"  timeline  {len(scene.timeline)} cues ({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))}), "
        f"{len(scene.looks)} looks" if scene.timeline else "  timeline  none (a crowd scenario, no show)",
        f"  rewards   {len(scene.rewards)} rules granting {len(scene.entitlements)} entitlements "
        f"({', '.join(f'{n} {k}' for k, n in sorted(ents.items()))})" if scene.rewards else "  rewards   none",
        *(f"  warning   {line}" for line in narrow_passages(scene)),
    ]
    return "\n".join(lines)
