"""The visitor's whole figure for selfie photos: trousers, the visitor's gold top, skin, hair and
shoes in smooth shapes (roughly the crowd's look for one's own avatar), standing and waving.
"""

from __future__ import annotations

import math

from panda3d.core import NodePath

from showroom.client import meshes as mk
from showroom.client.crowd_view import ME_COLOR
from showroom.client.mascot_species import soft

ME_TOP = (*ME_COLOR, 1.0)
"""The visitor's gold top (the crowd's colour for the visitor's own avatar)."""
SKIN = (0.93, 0.76, 0.62, 1.0)
TROUSERS = (0.2, 0.22, 0.3, 1.0)
HAIR = (0.3, 0.2, 0.14, 1.0)
SHOES = (0.24, 0.2, 0.19, 1.0)
SHOULDER = (0.23, 1.36)
"""x (each side) and height of the visitor's shoulder joints."""


def person_parts() -> dict[str, mk.Mesh]:
    """The visitor's figure for the photo, facing +y, feet at z = 0, 1.78 m tall: trousers, gold
    top, skin, hair and shoes (the arms are :func:`arm_parts`, turned at the shoulders)."""
    legs = [mk.cylinder((x, 0, 0.07), 0.07, 0.84, TROUSERS, segments=12, top_radius=0.085) for x in (-0.1, 0.1)]
    shoes = [mk.ellipsoid((x, 0.04, 0.05), (0.06, 0.13, 0.055), SHOES, 6, 10) for x in (-0.1, 0.1)]
    face = [mk.ellipsoid((x, 0.098, 1.645), (0.013, 0.008, 0.016), (0.12, 0.08, 0.06, 1), 4, 6) for x in (-0.036, 0.036)]
    return {
        "trousers": mk.combine(legs) + mk.ellipsoid((0, 0, 0.9), (0.165, 0.1, 0.09), TROUSERS, 8, 12),
        "shoes": mk.combine(shoes),
        "top": mk.cylinder((0, 0, 0.88), 0.175, 0.48, ME_TOP, segments=18, top_radius=0.215).scaled((1, 0.62, 1))
        + mk.ellipsoid((0, 0, 1.36), (0.215, 0.133, 0.08), ME_TOP, 8, 16),
        "skin": mk.cylinder((0, 0, 1.38), 0.045, 0.16, SKIN, segments=10)
        + mk.ellipsoid((0, 0.005, 1.625), (0.088, 0.104, 0.118), SKIN, 10, 14)
        + mk.ellipsoid((0, 0.1, 1.61), (0.016, 0.018, 0.022), SKIN, 5, 8),
        "eyes": mk.combine(face),
        "smile": mk.box((0, 0.1, 1.577), (0.04, 0.01, 0.009), (0.75, 0.38, 0.36, 1)),
        "hair": mk.ellipsoid((0, -0.012, 1.672), (0.097, 0.113, 0.085), HAIR, 8, 14)
        + mk.ellipsoid((0, -0.045, 1.62), (0.092, 0.07, 0.1), HAIR, 8, 12),
    }


def arm_parts(side: int) -> dict[str, mk.Mesh]:
    """One arm hanging from its shoulder joint: gold sleeve, skin forearm and hand."""
    x = side * 0.02
    return {"sleeve": mk.ellipsoid((x, 0, -0.15), (0.055, 0.055, 0.17), ME_TOP, 8, 10),
            "forearm": mk.ellipsoid((x, 0, -0.42), (0.043, 0.043, 0.15), SKIN, 8, 10)
            + mk.ellipsoid((x, 0.005, -0.6), (0.04, 0.03, 0.06), SKIN, 6, 8)}


class PhotoPerson:
    """The visitor's whole figure, shown only while a photo is taken."""

    def __init__(self, parent: NodePath) -> None:
        self.root = parent.attachNewNode("photo-visitor")
        for name, mesh in person_parts().items():
            self.root.attachNewNode(mk.geom_node(name, soft(mesh)))
        self.arms = {}
        for side in (-1, 1):
            joint = self.root.attachNewNode("shoulder")
            joint.setPos(side * SHOULDER[0], 0, SHOULDER[1])
            for name, mesh in arm_parts(side).items():
                joint.attachNewNode(mk.geom_node(name, soft(mesh)))
            self.arms[side] = joint
        self.root.hide()

    def stand(self, at: tuple[float, float, float], heading: float, wave: int) -> None:
        """Stand at ``at`` (metres) facing ``heading`` (radians, 0 faces +y), waving with the
        right hand (``wave`` 1) or the left (-1), and show the figure."""
        self.root.setPos(*at)
        self.root.setH(math.degrees(heading))
        self.arms[wave].setR(-wave * 145)  # a roll towards -x raises a right (+x) arm outwards
        self.arms[-wave].setR(wave * 10)
        self.root.show()
