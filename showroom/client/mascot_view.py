"""Brand mascots: procedural characters built from each mascot's body parameters and colours,
animated from the show state (walk cycle, turns, poses, selfie sessions), with name tags.

Mascots are few (a scene allows at most 64), so each is a small NodePath hierarchy whose
joints are turned per frame; the crowd, which is thousands, is instanced instead.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
from panda3d.core import NodePath, TextNode, TransparencyAttrib

from showroom.client import meshes as mk
from showroom.protocol.codes import Activity
from showroom.scene import Scene
from showroom.scene.show import Mascot
from showroom.sim import geometry as geo

POSES = ("wave", "heart", "bow", "twirl", "peek", "hop", "blow-kiss", "cheer")
"""Poses the client knows how to draw; any other name is drawn as one of these (by a hash)."""


def pose_style(name: str) -> str:
    """The drawn pose for a pose name from a scene."""
    return name if name in POSES else POSES[zlib.crc32(name.encode()) % len(POSES)]


class MascotFigure:
    """One mascot: a root placed on the floor and joints to animate."""

    def __init__(self, mascot: Mascot, brand_color: str, parent: NodePath) -> None:
        self.mascot = mascot
        b = mascot.body
        body_c = mk.rgba(mascot.colors.body)
        accent = mk.rgba(mascot.colors.accent)
        eyes = mk.rgba(mascot.colors.eyes)
        h, bw, hs = b.height, b.body_width, b.head_size
        self.leg_h = leg_h = 0.27 * h
        torso_h = max(0.4 * h, bw * 0.9)
        self.root = parent.attachNewNode(f"mascot-{mascot.id}")
        self.body = self.root.attachNewNode("body")
        self.legs = []
        for side in (-1, 1):
            hip = self.body.attachNewNode("hip")
            hip.setPos(side * bw * 0.22, 0, leg_h)
            leg = mk.ellipsoid((0, 0, -leg_h / 2), (bw * 0.16, bw * 0.16, leg_h / 2 + 0.04), body_c, 8, 10)
            foot = mk.ellipsoid((0, bw * 0.08, -leg_h + 0.05), (bw * 0.16, bw * 0.24, 0.07), accent, 6, 10)
            hip.attachNewNode(mk.geom_node("leg", leg + foot))
            self.legs.append(hip)
        # everything above the hips hangs off ``upper``, which pivots at hip height (bows, sways)
        self.upper = self.body.attachNewNode("upper")
        self.upper.setZ(leg_h)
        torso = mk.ellipsoid((0, 0, torso_h / 2), (bw / 2, bw * 0.42, torso_h / 2 + 0.05), body_c)
        belly = mk.ellipsoid((0, bw * 0.16, torso_h * 0.45), (bw * 0.33, bw * 0.3, torso_h * 0.36), accent)
        self.upper.attachNewNode(mk.geom_node("torso", torso + belly))
        shoulder_z = torso_h * 0.82
        self.arms = []
        arm_len = 0.3 * h
        for side in (-1, 1):
            sh = self.upper.attachNewNode("shoulder")
            sh.setPos(side * bw * 0.47, 0, shoulder_z)
            arm = mk.ellipsoid((side * 0.04, 0, -arm_len / 2), (bw * 0.11, bw * 0.11, arm_len / 2 + 0.03), body_c, 8, 10)
            paw = mk.ellipsoid((side * 0.04, 0, -arm_len), (bw * 0.12, bw * 0.12, bw * 0.12), accent, 6, 10)
            sh.attachNewNode(mk.geom_node("arm", arm + paw))
            self.arms.append(sh)
        self.neck = self.upper.attachNewNode("neck")
        self.neck.setPos(0, 0, torso_h)
        r = hs / 2
        head = mk.ellipsoid((0, 0, r * 0.9), (r, r * 0.95, r), body_c, 12, 16)
        parts = [head]
        if b.snout > 0:
            parts.append(mk.ellipsoid((0, r * 0.85, r * 0.7), (b.snout * 0.9, b.snout, b.snout * 0.7), accent, 8, 10))
            parts.append(mk.ellipsoid((0, r * 0.85 + b.snout * 0.95, r * 0.8), (0.05, 0.04, 0.04), eyes, 4, 6))
        for side in (-1, 1):
            parts.append(mk.ellipsoid((side * r * 0.38, r * 0.82, r * 1.1), (r * 0.13, r * 0.08, r * 0.16), eyes, 6, 8))
            parts.append(mk.ellipsoid((side * r * 0.42, r * 0.86, r * 1.16), (r * 0.04, r * 0.03, r * 0.05),
                                      (1, 1, 1, 1), 4, 6))
            parts.append(self._ear(side, r, b.ears, b.ear_size, body_c, accent))
        self.neck.attachNewNode(mk.geom_node("head", mk.combine(parts)))
        self.tail = self.upper.attachNewNode("tail")
        self.tail.setPos(0, -bw * 0.42, torso_h * 0.2)
        self.tail.attachNewNode(mk.geom_node("tail", self._tail(b.tail, b.tail_length, bw, body_c, accent)))
        self.tag = self._name_tag(mascot.name, brand_color, leg_h + torso_h + hs * 1.05 + 0.45)
        self.height = h

    @staticmethod
    def _ear(side: int, r: float, kind: str, size: float, color: tuple, inner: tuple) -> mk.Mesh:
        if kind == "none" or size <= 0:
            return mk.empty()
        x = side * r * 0.62
        if kind == "round":
            return mk.ellipsoid((x, -r * 0.05, r * 1.7), (size, size * 0.4, size), color, 8, 10) + \
                mk.ellipsoid((x, r * 0.06, r * 1.7), (size * 0.6, size * 0.2, size * 0.6), inner, 6, 8)
        if kind == "pointed":
            cone = mk.cylinder((0, 0, 0), size * 0.5, size * 1.4, color, segments=10, top_radius=0.0)
            return cone.moved((x * 0.9, 0, r * 1.35))
        if kind == "long":
            return mk.ellipsoid((x * 0.6, 0, r * 1.6 + size), (size * 0.28, size * 0.14, size), color, 8, 10) + \
                mk.ellipsoid((x * 0.6, size * 0.08, r * 1.6 + size), (size * 0.16, size * 0.08, size * 0.8), inner, 6, 8)
        # floppy: hanging down the sides of the head
        return mk.ellipsoid((side * (r + size * 0.2), 0, r * 0.9), (size * 0.25, size * 0.4, size), color, 8, 10)

    @staticmethod
    def _tail(kind: str, length: float, bw: float, color: tuple, tip: tuple) -> mk.Mesh:
        if kind == "none" or length <= 0:
            return mk.empty()
        if kind == "stub":
            return mk.ellipsoid((0, -length * 0.5, 0), (length, length, length), tip, 8, 10)
        if kind == "long":
            rod = mk.cylinder((0, 0, 0), 0.05, length, color, segments=8).rotated_x(-2.2)
            return rod
        bush = mk.ellipsoid((0, -length * 0.45, length * 0.35), (bw * 0.28, length * 0.5, bw * 0.3), color)
        end = mk.ellipsoid((0, -length * 0.9, length * 0.62), (bw * 0.16, length * 0.16, bw * 0.17), tip, 8, 10)
        return bush + end

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
             phase: float, t: float) -> None:
        """Place and animate the figure: floor point, heading (rad), show activity, pose name, walk phase, clock (s)."""
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
                arm_r[1] = 140 + 20 * math.sin(t * 7)
            elif style in ("heart", "cheer"):
                arm_r = [-150 - 10 * math.sin(t * 5), 150 + 10 * math.sin(t * 5)]
            elif style == "bow":
                body_p = 30
                arm_pitch = [15, 15]
            elif style == "twirl":
                spin = (t * 240) % 360
                arm_r = [-80, 80]
            elif style == "peek":
                head_r = 20 * math.sin(t * 2)
                arm_pitch = [70, 70]
                arm_r = [-20, 20]
            elif style == "hop":
                bob = abs(math.sin(t * 5)) * 0.3
                arm_r = [-60, 60]
            else:  # blow-kiss
                arm_pitch[1] = 80 + 20 * math.sin(t * 3)
                head_p = -8
        elif activity == Activity.SELFIE:
            arm_r[1] = 100 + 15 * math.sin(t * 3)
            head_r = 8 * math.sin(t * 1.5)
        else:
            bob = 0.015 * math.sin(t * 2.2)
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
