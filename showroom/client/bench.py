"""``showroom bench client``: N animated avatars in the venue, offscreen at 1280 x 720, drawn
the client's way (interpolate two snapshots, pack, one buffer-texture upload, one instanced
draw) and the naive way (one NodePath per avatar, moved from Python), in the same run.

``update_ms`` is the per-frame CPU work of the crowd before drawing: interpolation between
two snapshots, level-of-detail split and packing into the buffer texture (instanced), or
the per-avatar ``setPosHpr`` loop (NodePaths). ``fps`` counts whole frames, drawing
included: each frame is read back, so a driver that queues work cannot flatter the figure.
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any

import numpy as np

from showroom.client.display import configure, supports_shaders
from showroom.defaults import BUNDLED_SCENE
from showroom.protocol.codes import ANIM_REACTION_SHIFT, ANIM_WALKING, reaction_code
from showroom.protocol.limits import TICK_HZ

SCENE = BUNDLED_SCENE
TICK_S = 1.0 / TICK_HZ


def _walkers(n: int, size: tuple[float, float], seed: int = 7) -> dict[str, np.ndarray]:
    """Avatars walking circles spread over the floor."""
    rng = np.random.default_rng(seed)
    return {
        "centre": np.column_stack([rng.uniform(3, size[0] - 3, n), rng.uniform(3, size[1] - 3, n)]),
        "radius": rng.uniform(0.5, 2.5, n),
        "angle": rng.uniform(0, 2 * math.pi, n),
        "speed": rng.uniform(0.6, 1.4, n),
        "ids": np.arange(1000, 1000 + n, dtype=np.int64),
    }


def _snapshot(w: dict[str, np.ndarray], t: float) -> Any:
    """The crowd at time ``t`` as the client holds it after a snapshot."""
    from showroom.client.interp import CrowdFrame

    ang = w["angle"] + w["speed"] / w["radius"] * t
    pos = w["centre"] + w["radius"][:, None] * np.column_stack([np.cos(ang), np.sin(ang)])
    heading = (ang + math.pi) % (2 * math.pi)  # walking counter-clockwise along the circle
    phase = (w["speed"] * t / 1.4) % 1.0
    anim = np.full(len(pos), ANIM_WALKING, np.uint8)
    anim[::9] |= np.uint8(reaction_code("heart") << ANIM_REACTION_SHIFT)  # every ninth shows a heart
    return CrowdFrame(t, w["ids"], pos.astype(np.float32), heading.astype(np.float32), anim, phase.astype(np.float32))


def run_bench(avatars: int, *, frames: int = 120, baseline_frames: int = 20, size: tuple[int, int] = (1280, 720),
              progress: bool = True, display: str | None = None) -> dict[str, Any]:
    """Render ``avatars`` both ways and return the figures (``display``: a Panda3D display module to force)."""
    configure(offscreen=True, size=size, display=display)
    from direct.showbase.ShowBase import ShowBase

    from showroom.client import meshes as mk
    from showroom.client.crowd_view import CrowdView, avatar_mesh, outfit_colors
    from showroom.client.interp import interpolate
    from showroom.client.venue_view import VenueView
    from showroom.scene import load_scene

    scene = load_scene(SCENE)
    base = ShowBase()
    base.disableMouse()
    renderer = base.win.getGsg().getDriverRenderer()
    VenueView(scene, base.render)
    w, d = scene.venue.size
    base.camera.setPos(w / 2, -18, 34)
    base.camera.lookAt(w / 2, d / 2, 0)
    base.camLens.setFov(62)
    walkers = _walkers(avatars, (w, d))
    shaders = supports_shaders(base)
    crowd = CrowdView(base.render, capacity=avatars, shaders=shaders)
    crowd.set_eye(base.camera.getPos())

    probe = base.win.makeDisplayRegion(0, 4 / size[0], 0, 4 / size[1])  # 4 x 4 pixels, draws nothing itself

    def draw() -> None:
        """Render one frame and wait for it: reading pixels back makes the driver finish drawing."""
        base.graphicsEngine.renderFrame()
        probe.getScreenshot()

    def log(text: str) -> None:
        if progress:
            print(text, file=sys.stderr, flush=True)

    log(f"{avatars:,} avatars, {size[0]}x{size[1]} offscreen, {renderer}")
    update_ms, frame_ms = [], []
    clock = time.perf_counter
    for k in range(frames + 10):
        t = k / 60.0
        a, b = _snapshot(walkers, math.floor(t / TICK_S) * TICK_S), _snapshot(walkers, (math.floor(t / TICK_S) + 1) * TICK_S)
        t0 = clock()
        f = interpolate(a, b, t)
        crowd.update(f.ids, f.pos, f.heading, f.phase, f.anim)
        t1 = clock()
        draw()
        t2 = clock()
        if k >= 10:  # the first frames compile shaders and upload the venue
            update_ms.append((t1 - t0) * 1000)
            frame_ms.append((t2 - t0) * 1000)
    crowd.root.removeNode()
    log(f"instanced: {1000 / np.median(frame_ms):.1f} fps, update {np.median(update_ms):.3f} ms")

    template = base.render.attachNewNode(mk.geom_node("avatar", avatar_mesh()))
    template.detachNode()
    root = base.render.attachNewNode("nodepath-crowd")
    nodes = []
    colors = outfit_colors(walkers["ids"])
    for i in range(avatars):  # the baseline: one NodePath per avatar
        node = template.copyTo(root)
        node.setColorScale(*colors[i], 1)
        nodes.append(node)
    base_update, base_frame = [], []
    for k in range(baseline_frames + 3):
        t = k / 60.0
        a, b = _snapshot(walkers, math.floor(t / TICK_S) * TICK_S), _snapshot(walkers, (math.floor(t / TICK_S) + 1) * TICK_S)
        t0 = clock()
        f = interpolate(a, b, t)
        hdeg = np.degrees(f.heading)
        for node, (x, y), h in zip(nodes, f.pos.tolist(), hdeg.tolist()):
            node.setPosHpr(x, y, 0, h, 0, 0)
        t1 = clock()
        draw()
        t2 = clock()
        if k >= 3:
            base_update.append((t1 - t0) * 1000)
            base_frame.append((t2 - t0) * 1000)
    log(f"NodePath per avatar: {1000 / np.median(base_frame):.1f} fps, update {np.median(base_update):.1f} ms")
    base.destroy()
    fps = 1000 / float(np.median(frame_ms))
    baseline_fps = 1000 / float(np.median(base_frame))
    return {
        "avatars": avatars,
        "size": f"{size[0]}x{size[1]}",
        "renderer": renderer,
        "instanced": shaders,
        "frames": frames,
        "fps": round(fps, 2),
        "frame_ms": round(float(np.median(frame_ms)), 3),
        "frame_ms_p95": round(float(np.percentile(frame_ms, 95)), 3),
        "update_ms": round(float(np.median(update_ms)), 4),
        "update_ms_p95": round(float(np.percentile(update_ms, 95)), 4),
        "baseline_frames": baseline_frames,
        "baseline_fps": round(baseline_fps, 2),
        "baseline_frame_ms": round(float(np.median(base_frame)), 3),
        "baseline_update_ms": round(float(np.median(base_update)), 3),
        "ratio": round(fps / baseline_fps, 2),
    }
