"""Where name tags go on the screen, as plain math (no panda3d here).

Name tags are drawn flat on the screen, at a size a person can read at any distance, over
the point they label (a mascot's head, my own avatar). :func:`layout` places them in order
of priority: each tag tries spots above its anchor, then a little to each side, and takes
the first one inside the window that covers neither a tag already placed nor the HUD; a tag
with no free spot (tried above, then below) is not drawn this frame rather than drawn over something. Coordinates are
the 2D overlay's (``aspect2d``: x from -aspect to +aspect, y from -1 to 1).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rect:
    """An axis-aligned screen rectangle."""

    x0: float
    y0: float
    x1: float
    y1: float

    def overlaps(self, other: Rect, gap: float = 0.0) -> bool:
        """Whether the two share area (or come closer than ``gap``)."""
        return (self.x0 < other.x1 + gap and other.x0 < self.x1 + gap
                and self.y0 < other.y1 + gap and other.y0 < self.y1 + gap)

    def inside(self, other: Rect) -> bool:
        """Whether this rectangle lies wholly within ``other``."""
        return self.x0 >= other.x0 and self.x1 <= other.x1 and self.y0 >= other.y0 and self.y1 <= other.y1


GAP = 0.01
"""Minimum space between two tags, or a tag and the HUD (aspect2d units)."""
LIFT = 0.02
"""A tag's first spot: its bottom edge this far above the anchor."""
STEP_Y = 0.075
"""How far each further spot is above the last (about one tag's height)."""
TRIES_UP = 3
TRIES_DOWN = 3
SHIFTS_X = (0.0, -0.5, 0.5)
"""Horizontal shifts tried at each height, in tag widths."""


def layout(anchors: list[tuple[float, float] | None], sizes: list[tuple[float, float]], blocked: list[Rect],
           window: Rect) -> list[Rect | None]:
    """Place one tag per anchor, in the order given (the most important first).

    ``anchors`` are screen points (None: the labelled thing is not in view), ``sizes`` each
    tag's (width, height), ``blocked`` the HUD's rectangles. Returns each tag's rectangle,
    or None where the tag is not drawn.
    """
    placed: list[Rect] = []
    out: list[Rect | None] = []
    for anchor, (w, h) in zip(anchors, sizes):
        spot = None if anchor is None else _first_free(anchor, w, h, placed, blocked, window)
        out.append(spot)
        if spot is not None:
            placed.append(spot)
    return out


def _first_free(anchor: tuple[float, float], w: float, h: float, placed: list[Rect], blocked: list[Rect],
                window: Rect) -> Rect | None:
    ax, ay = anchor
    above = [ay + LIFT + k * STEP_Y for k in range(TRIES_UP)]
    below = [ay - LIFT - h - k * STEP_Y for k in range(TRIES_DOWN)]
    heights = above[:2] + below[:1] + above[2:] + below[1:]  # near the anchor first, above rather than below
    for y0 in heights:
        for shift in SHIFTS_X:
            x0 = ax - w / 2 + shift * w
            spot = Rect(x0, y0, x0 + w, y0 + h)
            if not spot.inside(window):
                continue
            if any(spot.overlaps(r, GAP) for r in placed) or any(spot.overlaps(r, GAP) for r in blocked):
                continue
            return spot
    return None
