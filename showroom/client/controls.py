"""The visitor's keyboard and mouse.

Click the floor to walk there; W A S D (or the arrows) walk relative to the camera;
right-drag or Q / E orbit the camera, the mouse wheel or - / = zoom; F cycles the camera
between you, each mascot and a free view (the HUD names the mode); 1-6 react; Enter opens the
chat box, Enter again sends the line and gives the keyboard back; P asks the nearest mascot
in a selfie session for a selfie, and away from one says where a session is open (P again
walks you to its queue); L leaves the queue; Tab opens the wallet, C the community panel,
Esc closes them (and gives the keyboard back from a text box). While a live poll's
overlay waits for an answer, 1-9 answer it instead of reacting.
Keys do nothing while the chat box or the invite code box has the keyboard.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from panda3d.core import Plane, Point3, Vec3

from showroom.client.camera import OrbitCamera
from showroom.protocol.codes import REACTIONS

MOVE_KEYS = ("w", "a", "s", "d", "arrow_up", "arrow_down", "arrow_left", "arrow_right", "q", "e")
ORBIT_DEG_PER_S = 60.0
POLL_KEYS = 9
"""Number keys 1-9 answer a waiting poll (a tenth option is answered with a click)."""


class Controls:
    """Binds the keys and mouse of a :class:`showroom.client.app.ClientApp` to its actions."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.keys: dict[str, bool] = {}
        self.drag: tuple[float, float] | None = None
        for key in MOVE_KEYS:
            app.accept(key, self._key, [key, True])
            app.accept(f"{key}-up", self._key, [key, False])
        for i in range(max(len(REACTIONS), POLL_KEYS)):
            app.accept(str(i + 1), self._unless_typing, [app.number_key, i])
        app.accept("mouse1", self._click)
        app.accept("mouse3", self._drag_start)
        app.accept("mouse3-up", self._drag_end)
        for key, factor in (("wheel_up", 0.9), ("wheel_down", 1.1), ("=", 0.9), ("-", 1.1)):
            app.accept(key, app.cam_ctl.zoom, [factor])
        app.accept("f", self._unless_typing, [app.cycle_follow])
        app.accept("p", self._unless_typing, [app.ask_selfie])
        app.accept("l", self._unless_typing, [app.leave_queue])
        app.accept("tab", app.open_wallet)
        app.accept("c", self._unless_typing, [app.open_community])
        app.accept("enter", self._enter)
        app.accept("escape", app.close_panels)

    def _unless_typing(self, fn: Callable[..., None], *args: Any) -> None:
        if not self.app.hud.typing:
            fn(*args)

    def _key(self, key: str, down: bool) -> None:
        self.keys[key] = down and not self.app.hud.typing

    def _enter(self) -> None:
        if not self.app.hud.typing:
            self.app.hud.focus_chat()

    def _mouse(self) -> tuple[float, float] | None:
        watcher = self.app.mouseWatcherNode
        if watcher is None or not watcher.hasMouse():
            return None
        m = watcher.getMouse()
        return (m.x, m.y)

    def _drag_start(self) -> None:
        self.drag = self._mouse()

    def _drag_end(self) -> None:
        self.drag = None

    def _click(self) -> None:
        """Walk to the floor point under the mouse."""
        app = self.app
        mouse = self._mouse()
        if app.hud.typing or mouse is None:
            return
        near, far = Point3(), Point3()
        app.camLens.extrude(mouse, near, far)
        hit = Point3()
        if Plane(Vec3(0, 0, 1), Point3(0, 0, 0)).intersectsLine(hit, app.render.getRelativePoint(app.cam, near),
                                                                app.render.getRelativePoint(app.cam, far)):
            app.walk_to(hit.x, hit.y)

    def turn_camera(self, cam: OrbitCamera, dt_s: float) -> None:
        """Orbit with Q / E held and with a right-button drag."""
        if self.keys.get("q"):
            cam.orbit(-ORBIT_DEG_PER_S * dt_s, 0)
        if self.keys.get("e"):
            cam.orbit(ORBIT_DEG_PER_S * dt_s, 0)
        mouse = self._mouse() if self.drag is not None else None
        if mouse is not None and self.drag is not None:
            cam.orbit((mouse[0] - self.drag[0]) * 120, (mouse[1] - self.drag[1]) * 60)
            self.drag = mouse

    def walk_direction(self, forward: tuple[float, float]) -> tuple[float, float]:
        """The unit walking direction the held keys ask for, relative to the camera's ``forward`` (0, 0: stop)."""
        k = self.keys
        ahead = (k.get("w") or k.get("arrow_up") or 0) - (k.get("s") or k.get("arrow_down") or 0)
        right = (k.get("d") or k.get("arrow_right") or 0) - (k.get("a") or k.get("arrow_left") or 0)
        fx, fy = forward
        dx, dy = fx * ahead + fy * right, fy * ahead - fx * right
        norm = math.hypot(dx, dy)
        return (dx / norm, dy / norm) if norm > 0 else (0.0, 0.0)
