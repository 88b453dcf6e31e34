"""Run a crowd scenario with our model (and, in :mod:`showroom.validation.jps`, with JuPedSim)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from showroom.scene.load import load_scene
from showroom.scene.model import Scene
from showroom.sim.crowd import Role
from showroom.sim.world import DT_S, World
from showroom.validation.record import Record, Recorder

SCENES = Path(__file__).resolve().parents[2] / "scenes" / "validation"


def scenario(name: str, density: float | None = None) -> Scene:
    """A validation scene by file name (without ``.toml``), its groups filled at ``density`` if given."""
    scene = load_scene(SCENES / f"{name}.toml")
    if density is None:
        return scene
    groups = [g.model_copy(update={"density": density, "count": None}) for g in scene.crowd.groups]
    return scene.model_copy(update={"crowd": scene.crowd.model_copy(update={"groups": groups})})


def run_ours(scene: Scene, seconds: float, *, seed: int = 1) -> Record:
    """Step the scene's crowd for at most ``seconds`` (until everyone has left), measuring every step."""
    world = World(scene, seed=seed)
    rec = Recorder(scene, world.venue.obstacles, world.dt_s)
    steps = int(round(seconds / DT_S))
    for _ in range(steps):
        world.step()
        crowd = world.crowd
        people = crowd.role != Role.MASCOT
        rec(world.clock, crowd.ids[people], crowd.pos[people], crowd.vel[people])
        if (world.groups_started.all() and not people.any()) or rec.record.stalled():
            break
    people = world.crowd.role != Role.MASCOT
    return rec.finish(world.crowd.ids[people], world.crowd.pos[people])


def mean_after(values: list[float], times: list[float], after_s: float) -> float:
    """Mean of a series from ``after_s`` on, ignoring gaps (NaN)."""
    v = np.asarray(values, np.float64)[np.asarray(times) >= after_s]
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else float("nan")
