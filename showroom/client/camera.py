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

    def follow_target(self, follow: str) -> None:
        """Follow ``"me"``, ``"mascot:<index>"`` or nothing (``"free"``); mascots are framed closer."""
        self.follow = follow
        if follow.startswith("mascot:"):
            self.distance_m = min(self.distance_m, 11.0)

    def orbit(self, d_yaw_deg: float, d_pitch_deg: float) -> None:
        """Turn around the target and tilt, keeping the pitch in range."""
        self.yaw_deg = (self.yaw_deg + d_yaw_deg) % 360.0
        self.pitch_deg = min(max(self.pitch_deg + d_pitch_deg, MIN_PITCH_DEG), MAX_PITCH_DEG)

    def zoom(self, factor: float) -> None:
        """Move closer (factor < 1) or further, within limits."""
        self.distance_m = min(max(self.distance_m * factor, MIN_DISTANCE_M), MAX_DISTANCE_M)

    def track(self, point: tuple[float, float, float], dt_s: float) -> None:
        """Ease the target towards ``point`` (frame-rate independent)."""
        k = 1.0 - (1.0 - self.smoothing) ** max(dt_s * 60.0, 0.0)
        self.target = tuple(a + (b - a) * k for a, b in zip(self.target, point))  # type: ignore[assignment]

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
