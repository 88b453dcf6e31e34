"""The client's camera as plain math: an orbit around a target that follows the visitor, a
mascot, or stays free. No panda3d here; the app copies :meth:`OrbitCamera.eye` onto its camera.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MIN_PITCH_DEG = 8.0
MAX_PITCH_DEG = 85.0
MIN_DISTANCE_M = 3.0
MAX_DISTANCE_M = 80.0
FOLLOW_PITCH_DEG = 35.0
FOLLOW_DISTANCE_M = 18.0
"""Following a visitor who walks: high enough to see over booths and the runway."""
ARRIVAL_LEAD = 0.25
"""On arrival the camera looks this fraction of the way from the visitor to the stage…"""
ARRIVAL_LEAD_MAX_M = 10.0
"""…but never further ahead than this."""
ARRIVAL_BEHIND_M = 12.0
"""How far behind the visitor the arrival camera stands (metres, on the ground)."""
ARRIVAL_EYE_M = 6.5
"""How high the arrival camera stands: over the crowd's heads, under a hall's ceiling."""


@dataclass
class OrbitCamera:
    """Orbit camera: ``yaw`` 0 looks towards +y; ``pitch`` looks down; ``distance`` from the target."""

    target: tuple[float, float, float] = (30.0, 20.0, 1.0)
    yaw_deg: float = 0.0
    pitch_deg: float = 35.0
    distance_m: float = 22.0
    follow: str = "me"
    """``"me"``, ``"mascot:<index>"`` or ``"free"``."""
    smoothing: float = 0.15
    goal: tuple[float, float] | None = None
    """Tilt (degrees) and distance (metres) the camera eases to while tracking, if any."""
    lead: tuple[float, float] = (0.0, 0.0)
    """Metres added to the visitor's position when following ``"me"``: on arrival it points
    towards the runway so the show is in the picture; the first step clears it."""

    def frame_arrival(self, me: tuple[float, float], stage: tuple[float, float]) -> None:
        """Frame a visitor who just arrived at ``me`` with the show at ``stage`` (the runway's middle).

        The camera stands a few metres behind the visitor, on the line from the stage, high
        enough to see over the crowd, and looks at a point part of the way to the stage: the
        avatar in the lower part of the picture, the runway filling the upper part.
        """
        dx, dy = stage[0] - me[0], stage[1] - me[1]
        gap = math.hypot(dx, dy)
        if gap < 1e-6:
            dx, dy, gap = 0.0, 1.0, 1.0
        ahead = min(ARRIVAL_LEAD * gap, ARRIVAL_LEAD_MAX_M)
        self.lead = (dx / gap * ahead, dy / gap * ahead)
        self.yaw_deg = math.degrees(math.atan2(-dx, dy)) % 360.0
        flat = ahead + ARRIVAL_BEHIND_M
        rise = ARRIVAL_EYE_M - 1.0
        self.pitch_deg = min(max(math.degrees(math.atan2(rise, flat)), MIN_PITCH_DEG), MAX_PITCH_DEG)
        self.distance_m = min(max(math.hypot(flat, rise), MIN_DISTANCE_M), MAX_DISTANCE_M)
        self.target = (me[0] + self.lead[0], me[1] + self.lead[1], 1.0)

    def settle(self) -> None:
        """The visitor walks: follow the avatar itself from now on, from the usual height (the target,
        tilt and distance ease there: the low arrival view would have booths and the runway in the way)."""
        if self.lead != (0.0, 0.0):
            self.lead = (0.0, 0.0)
            self.goal = (FOLLOW_PITCH_DEG, FOLLOW_DISTANCE_M)

    def me_point(self, me: tuple[float, float]) -> tuple[float, float, float]:
        """The point to track when following the visitor at ``me``."""
        return (me[0] + self.lead[0], me[1] + self.lead[1], 1.0)

    def follow_target(self, follow: str) -> None:
        """Follow ``"me"``, ``"mascot:<index>"`` or nothing (``"free"``); mascots are framed closer."""
        self.follow = follow
        if follow.startswith("mascot:"):
            self.distance_m = min(self.distance_m, 11.0)

    def orbit(self, d_yaw_deg: float, d_pitch_deg: float) -> None:
        """Turn around the target and tilt, keeping the pitch in range."""
        if d_pitch_deg:
            self.goal = None  # the visitor tilts by hand: no easing against them
        self.yaw_deg = (self.yaw_deg + d_yaw_deg) % 360.0
        self.pitch_deg = min(max(self.pitch_deg + d_pitch_deg, MIN_PITCH_DEG), MAX_PITCH_DEG)

    def zoom(self, factor: float) -> None:
        """Move closer (factor < 1) or further, within limits."""
        self.goal = None
        self.distance_m = min(max(self.distance_m * factor, MIN_DISTANCE_M), MAX_DISTANCE_M)

    def track(self, point: tuple[float, float, float], dt_s: float) -> None:
        """Ease the target towards ``point`` (frame-rate independent)."""
        k = 1.0 - (1.0 - self.smoothing) ** max(dt_s * 60.0, 0.0)
        self.target = tuple(a + (b - a) * k for a, b in zip(self.target, point))  # type: ignore[assignment]
        if self.goal is not None:
            pitch, distance = self.goal
            self.pitch_deg += (pitch - self.pitch_deg) * k
            self.distance_m += (distance - self.distance_m) * k
            if abs(pitch - self.pitch_deg) < 0.05 and abs(distance - self.distance_m) < 0.05:
                self.pitch_deg, self.distance_m, self.goal = pitch, distance, None

    def eye(self) -> tuple[float, float, float]:
        """Where the camera stands (metres)."""
        yaw, pitch = math.radians(self.yaw_deg), math.radians(self.pitch_deg)
        x, y, z = self.target
        back = self.distance_m * math.cos(pitch)
        return (x + math.sin(yaw) * back, y - math.cos(yaw) * back, z + self.distance_m * math.sin(pitch))

    def forward_xy(self) -> tuple[float, float]:
        """The ground direction the camera looks along (unit vector), for WASD movement."""
        yaw = math.radians(self.yaw_deg)
        return (-math.sin(yaw), math.cos(yaw))
