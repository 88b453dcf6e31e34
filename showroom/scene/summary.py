"""A short human summary of a valid scene, as ``showroom scene validate`` prints it."""

from __future__ import annotations

from collections import Counter

from showroom.scene.model import Scene
from showroom.scene.timecode import format_clock


def summarise(scene: Scene, source: str) -> str:
    """A few lines naming what the scene holds."""
    venue = scene.venue
    kinds = Counter(c.kind for c in scene.timeline)
    ents = Counter(e.kind for e in scene.entitlements)
    mascots = ", ".join(f"{m.id} ({scene.brand(m.brand).name})" for m in scene.mascots)
    event = scene.event
    entry = (f"members of tier {event.min_tier!r} and above" if event.min_tier else
             "members only" if event.members_only else "everyone may enter")
    lines = [
        f"{source}: ok",
        f"  event     {scene.event.title} ({scene.event.id}), show {format_clock(scene.event.duration)}, "
        f"{scene.event.shard_capacity} visitors per shard",
        *([f"  community {event.community}: {entry}"] if event.community else []),
        f"  venue     {venue.name}: {venue.size[0]:g} x {venue.size[1]:g} m, runway {venue.runway.width:g} m wide, "
        f"{len(venue.zones)} zones, {len(venue.booths)} booths, {len(venue.paths)} paths, "
        f"{len(venue.selfie_spots)} selfie spots",
        f"  mascots   {mascots}",
        f"  timeline  {len(scene.timeline)} cues ({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))}), "
        f"{len(scene.looks)} looks",
        f"  rewards   {len(scene.rewards)} rules granting {len(scene.entitlements)} entitlements "
        f"({', '.join(f'{n} {k}' for k, n in sorted(ents.items()))})",
    ]
    return "\n".join(lines)
