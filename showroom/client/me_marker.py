"""The ring of light on the floor around my own avatar, so I can tell myself in a crowd.

A gold annulus under my feet that breathes slowly (scale and brightness), unlit and drawn
over the floor and over whoever stands between the camera and me: with my gold outfit and
my name tag, my avatar is unmistakable among thousands. One node, moved once per frame.
"""

from __future__ import annotations

import math

import numpy as np
from panda3d.core import NodePath, TransparencyAttrib

from showroom.client import meshes as mk
from showroom.client.crowd_view import ME_COLOR

INNER_M = 0.42
OUTER_M = 0.62
SEGMENTS = 48
BREATH_S = 1.6
"""One slow pulse of the ring."""


def ring(inner: float = INNER_M, outer: float = OUTER_M, segments: int = SEGMENTS) -> mk.Mesh:
    """A flat annulus in the floor plane, opaque at its inner edge and fading out at its outer one."""
    a = np.linspace(0, 2 * math.pi, segments, endpoint=False)
    c, s = np.cos(a), np.sin(a)
    v = np.concatenate([np.stack([c * inner, s * inner, np.zeros_like(a)], 1),
                        np.stack([c * outer, s * outer, np.zeros_like(a)], 1)]).astype(np.float32)
    n = np.tile(np.array([0, 0, 1], np.float32), (len(v), 1))
    col = np.ones((len(v), 4), np.float32)
    col[:, :3] = ME_COLOR
    col[segments:, 3] = 0.15
    i = np.arange(segments, dtype=np.uint32)
    j = (i + 1) % segments
    tri = np.concatenate([np.stack([i, j, j + segments], 1), np.stack([i, j + segments, i + segments], 1)])
    return mk.Mesh(v, n, col, tri.astype(np.uint32))


class MeMarker:
    """The ring under my avatar."""

    def __init__(self, parent: NodePath) -> None:
        self.root = parent.attachNewNode(mk.geom_node("me-ring", ring()))
        self.root.setLightOff()
        self.root.setTransparency(TransparencyAttrib.MAlpha)
        self.root.setDepthWrite(False)
        self.root.setDepthTest(False)  # seen through the people in front of me: I find myself in a crowd
        self.root.setTwoSided(True)
        self.root.setBin("fixed", 0)  # after the crowd
        self.root.hide()

    def place(self, at: tuple[float, float, float] | None, t: float) -> None:
        """Around my feet at ``at`` (metres; None hides it), breathing with the clock ``t`` (s)."""
        if at is None:
            self.root.hide()
            return
        breath = 0.5 + 0.5 * math.sin(t * 2 * math.pi / BREATH_S)
        self.root.setPos(at[0], at[1], at[2] + 0.03)
        self.root.setScale(1.0 + 0.12 * breath)
        self.root.setColorScale(1, 1, 1, 0.65 + 0.35 * breath)
        self.root.show()
