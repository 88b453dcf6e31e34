"""Brand mascots: procedural characters built from each mascot's body parameters and colours,
animated from the show state (walk cycle, turns, poses, selfie sessions), with name tags.

Mascots are few (a scene allows at most 64), so each is a small NodePath hierarchy whose
joints are turned per frame; the crowd, which is thousands, is instanced instead.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
from panda3d.core import AmbientLight, NodePath, TextNode, TransparencyAttrib

from showroom.client import mascot_parts
from showroom.client import meshes as mk
from showroom.protocol.codes import Activity
from showroom.scene import Scene
from showroom.scene.show import Mascot
from showroom.sim import geometry as geo

POSES = ("wave", "heart", "bow", "twirl", "peek", "hop", "blow-kiss", "cheer")
"""Poses the client knows how to draw; any other name is drawn as one of these (by a hash)."""


FILL = 0.22
"""Extra ambient light on the mascots, on top of the house lights."""


def pose_style(name: str) -> str:
    """The drawn pose for a pose name from a scene."""
    return name if name in POSES else POSES[zlib.crc32(name.encode()) % len(POSES)]


class MascotFigure:
    """One mascot: a root placed on the floor and joints to animate, each holding named parts
    (``head``, ``muzzle``, ``belly``, ``beak``, ``wing``...: see :mod:`showroom.client.mascot_parts`)."""

    def __init__(self, mascot: Mascot, brand_color: str, parent: NodePath) -> None:
        self.mascot = mascot
        fig = mascot_parts.build(mascot)
        self.species = fig.species
        self.leg_h = fig.leg_h
        bw = mascot.body.body_width
        self.root = parent.attachNewNode(f"mascot-{mascot.id}")
        self.body = self.root.attachNewNode("body")
        self.legs = []
        for side in (-1, 1):
            hip = self.body.attachNewNode("hip")
            hip.setPos(side * bw * 0.22, 0, fig.leg_h)
            self._attach(hip, fig.leg[side])
            self.legs.append(hip)
        # everything above the hips hangs off ``upper``, which pivots at hip height (bows, sways)
        self.upper = self.body.attachNewNode("upper")
        self.upper.setZ(fig.leg_h)
        self._attach(self.upper, fig.upper)
        self.arms = []
        for side in (-1, 1):
            sh = self.upper.attachNewNode("shoulder")
            sh.setPos(side * fig.shoulder[0], 0, fig.shoulder[1])
            self._attach(sh, fig.arm[side])
            self.arms.append(sh)
        self.neck = self.upper.attachNewNode("neck")
        self.neck.setPos(0, 0, fig.torso_h)
        self._attach(self.neck, fig.neck)
        self.tail = self.upper.attachNewNode("tail")
        self.tail.setPos(0, fig.tail_at[0], fig.tail_at[1])
        self._attach(self.tail, fig.tail)
        top = max(float(m.v[:, 2].max()) for m in fig.neck.values())
        self.top_z = fig.leg_h + fig.torso_h + top
        """Height of the figure's highest point (ears included) above its feet, metres."""
        self.tag = self._name_tag(mascot.name, brand_color, self.top_z + 0.3)
        self.height = mascot.body.height

    @staticmethod
    def _attach(joint: NodePath, parts: dict[str, mk.Mesh]) -> None:
        for name, mesh in parts.items():
            joint.attachNewNode(mk.geom_node(name, mesh))

    def _name_tag(self, name: str, color: str, z: float) -> NodePath:
        node = TextNode("name")
        node.setText(name)
        node.setAlign(TextNode.ACenter)
        node.setTextColor(1, 1, 1, 1)
        node.setCardColor(*mk.rgba(color, 0.85))
        node.setCardAsMargin(0.3, 0.3, 0.15, 0.1)
        node.setShadow(0.04, 0.04)
        node.setShadowColor(0, 0, 0, 1)
        tag = self.root.attachNewNode(node)
        tag.setPos(0, 0, z)
        tag.setScale(0.32)
        tag.setBillboardPointEye()
        tag.setLightOff()
        tag.setTransparency(TransparencyAttrib.MAlpha)
        tag.setBin("fixed", 5)
        tag.setDepthWrite(False)
        return tag

    def pose(self, x: float, y: float, z: float, heading: float, activity: int, pose: str | None,
             phase: float, t: float, mirror: bool = False) -> None:
        """Place and animate the figure: floor point, heading (rad), show activity, pose name, walk phase, clock (s);
        ``mirror`` swaps what the arms do (a selfie wave with the left hand, away from a visitor on the right).

        An arm's roll is positive towards the figure's left (-x): a right arm raised outwards rolls negative."""
        swing = math.sin(phase * 2 * math.pi)
        bob = 0.0
        leg = arm_p = 0.0
        arm_r = [0.0, 0.0]
        arm_pitch = [0.0, 0.0]
        body_p = head_r = head_p = 0.0
        spin = 0.0
        if activity == Activity.WALK:
            leg = 28 * swing
            arm_p = -24 * swing
            bob = abs(swing) * 0.06
            arm_pitch = [arm_p, -arm_p]
        elif activity == Activity.POSE and pose:
            style = pose_style(pose)
            if style == "wave":
                arm_r[1] = -140 - 20 * math.sin(t * 7)
            elif style == "heart":  # hands meeting over the head
                arm_r = [-150 - 10 * math.sin(t * 5), 150 + 10 * math.sin(t * 5)]
            elif style == "cheer":  # arms up in a V
                arm_r = [145 + 10 * math.sin(t * 5), -145 - 10 * math.sin(t * 5)]
            elif style == "bow":
                body_p = 30
                arm_pitch = [15, 15]
            elif style == "twirl":
                spin = (t * 240) % 360
                arm_r = [80, -80]
            elif style == "peek":
                head_r = 20 * math.sin(t * 2)
                arm_pitch = [70, 70]
                arm_r = [-20, 20]
            elif style == "hop":
                bob = abs(math.sin(t * 5)) * 0.3
                arm_r = [60, -60]
            else:  # blow-kiss
                arm_pitch[1] = 80 + 20 * math.sin(t * 3)
                head_p = -8
        elif activity == Activity.SELFIE:
            arm_r[1] = -110 - 15 * math.sin(t * 3)
            head_r = 8 * math.sin(t * 1.5)
        else:
            bob = 0.015 * math.sin(t * 2.2)
        if mirror:
            arm_r = [-arm_r[1], -arm_r[0]]
            arm_pitch = [arm_pitch[1], arm_pitch[0]]
        self.root.setPos(x, y, z)
        self.root.setH(math.degrees(heading) + spin)
        self.body.setPos(0, 0, bob)
        self.upper.setP(-body_p)
        self.legs[0].setP(leg)
        self.legs[1].setP(-leg)
        self.arms[0].setP(arm_pitch[0])
        self.arms[1].setP(arm_pitch[1])
        self.arms[0].setR(arm_r[0])
        self.arms[1].setR(arm_r[1])
        self.neck.setR(head_r)
        self.neck.setP(head_p)
        self.tail.setH(12 * math.sin(t * 3 + phase * 6))


class MascotsView:
    """Every mascot of the scene, in scene order (as snapshots index them)."""

    def __init__(self, scene: Scene, parent: NodePath) -> None:
        self.scene = scene
        self.root = parent.attachNewNode("mascots")
        fill = AmbientLight("mascot-fill")  # fur in shadow stays fur-coloured, never a dark hole
        fill.setColor((FILL, FILL, FILL * 0.95, 1))
        self.root.setLight(self.root.attachNewNode(fill))
        self.figures = []
        for m in scene.mascots:
            brand = scene.brand(m.brand)
            self.figures.append(MascotFigure(m, brand.palette[0], self.root))
        self.runway_z = scene.venue.runway.height
        self._centerline = geo.as_points(scene.venue.runway.centerline)
        self._half_width = scene.venue.runway.width / 2 + 0.05

    def on_runway(self, pos: np.ndarray) -> np.ndarray:
        """Whether each floor point (n, 2) is on the raised runway (so mascots stand on top of it)."""
        return geo.distance_to_polyline(pos, self._centerline) <= self._half_width

    def update(self, pos: np.ndarray, heading: np.ndarray, activity: np.ndarray, pose: np.ndarray,
               phase: np.ndarray, t: float) -> None:
        """Pose every mascot from the show state arrays (length = number of mascots)."""
        on = self.on_runway(pos)
        for i, fig in enumerate(self.figures):  # one per mascot (a handful), not per visitor
            k = int(pose[i]) if i < len(pose) else -1
            name = fig.mascot.poses[k] if 0 <= k < len(fig.mascot.poses) else None
            z = self.runway_z if on[i] else 0.0
            fig.pose(float(pos[i, 0]), float(pos[i, 1]), z, float(heading[i]), int(activity[i]), name,
                     float(phase[i]), t)
