"""What a bot needs from the scene TOML of its ``welcome``: floor, audience zones, selfie rewards, its community."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from showroom.scene import SceneError, parse_scene
from showroom.scene.rewards import SelfieRule

AUDIENCE_KINDS = ("standing", "seated")


@dataclass(frozen=True)
class SceneInfo:
    """Plain data read once per scene text and shared by every bot."""

    size_m: tuple[float, float]
    audience_boxes: tuple[tuple[float, float, float, float], ...]
    mascots: tuple[str, ...]
    selfie_grant: dict[str, str]
    stock: dict[str, int | None]
    voucher: frozenset[str]
    community: str | None = None
    """The event's home community (``event.community``)."""
    palette: tuple[str, ...] = ()
    """The colours of the community's brand: the brand whose id the community's id names, else the first brand."""


def scene_info(text: str) -> SceneInfo:
    """Parse the scene text of a ``welcome`` into :class:`SceneInfo`; raise :class:`SceneError` when it is unusable."""
    info = _read(text)
    if isinstance(info, SceneError):
        raise SceneError(info.source, info.problems)  # a fresh one: raising the cached one grows its traceback
    return info


@lru_cache(maxsize=8)
def _read(text: str) -> SceneInfo | SceneError:
    """The scene's :class:`SceneInfo`, or why there is none (cached either way: thousands of bots get the same text)."""
    try:
        scene = parse_scene(text, "welcome.scene")
    except SceneError as exc:
        return SceneError(exc.source, exc.problems)
    boxes = []
    for zone in scene.venue.zones:
        if zone.kind in AUDIENCE_KINDS:
            xs = [p[0] for p in zone.polygon]
            ys = [p[1] for p in zone.polygon]
            boxes.append((min(xs), min(ys), max(xs), max(ys)))
    grants = {r.mascot: r.grant for r in scene.rewards if isinstance(r, SelfieRule)}
    stock = {e.id: getattr(e, "stock", None) for e in scene.entitlements}
    vouchers = frozenset(e.id for e in scene.entitlements if e.kind == "voucher")
    size = (float(scene.venue.size[0]), float(scene.venue.size[1]))
    community = scene.event.community
    brands = [b for b in scene.brands if community and b.id in community.split("-")] or list(scene.brands[:1])
    palette = tuple(brands[0].palette) if brands else ()
    return SceneInfo(size, tuple(boxes), tuple(m.id for m in scene.mascots), grants, stock, vouchers, community,
                     palette)
