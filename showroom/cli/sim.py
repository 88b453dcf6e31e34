"""``showroom sim``: run a scene's show without a server or window, with a live status line."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from showroom.cli.args import add_json, add_scene, count, positive_float
from showroom.defaults import EXAMPLE_SCENE

_STATUS_EVERY_S = 0.25
DEFAULT_VISITORS = 2000


def register(sub: Any) -> None:
    """Add ``sim``."""
    sim = sub.add_parser("sim", help="run a scene's show headless with ambient visitors and a live status line",
                         formatter_class=argparse.RawDescriptionHelpFormatter,
                         epilog=f"examples:\n  showroom sim {EXAMPLE_SCENE} --visitors 3000 --seconds 60\n"
                                "  showroom sim scenes/validation/rimea-09-four-exits.toml")
    add_scene(sim)
    sim.add_argument("--seconds", type=positive_float, default=None,
                     help="show seconds to simulate (default: the whole show)")
    sim.add_argument("--visitors", type=count, default=None,
                     help=f"ambient visitors (default {DEFAULT_VISITORS}; none for a crowd scenario, "
                          "whose [[crowd.groups]] bring their own people)")
    sim.add_argument("--seed", type=int, default=None, help="random seed (default: the scene's)")
    sim.add_argument("--realtime", action="store_true", help="pace the simulation to the wall clock")
    add_json(sim, "print the final figures as one JSON line")
    sim.set_defaults(handler=_sim)


def _sim(args: argparse.Namespace) -> int:
    from showroom.settings import load_settings

    path = load_settings(scene=args.scene).scene_path()
    return run_headless(str(path), seconds=args.seconds, visitors=args.visitors, seed=args.seed,
                        realtime=args.realtime, as_json=args.json)


def run_headless(path: str, *, seconds: float | None, visitors: int | None, seed: int | None,
                 realtime: bool, as_json: bool) -> int:
    """Simulate ``seconds`` of the show (default: all of it) and print figures; return 0."""
    import numpy as np

    from showroom.errors import ShowroomError
    from showroom.scene import load_scene
    from showroom.scene.timecode import format_clock
    from showroom.sim.world import World

    scene = load_scene(path)
    world = World(scene, seed=seed)
    if visitors is None:
        visitors = 0 if scene.crowd.groups else DEFAULT_VISITORS  # a crowd scenario brings its own people
    if visitors and (not scene.venue.zones or not scene.venue.spawns):
        raise ShowroomError(f"{path}: ambient visitors need audience zones and spawns; this scene has "
                            f"{len(scene.venue.zones)} zones and {len(scene.venue.spawns)} spawns (--visitors 0)")
    if visitors:
        world.populate(visitors * 2 // 3)
    late = visitors - visitors * 2 // 3
    arrivals_per_tick = max(1, late // 600)
    total = seconds if seconds is not None else scene.event.duration + 30.0
    ticks = int(round(total / world.dt_s))
    live = sys.stderr.isatty()
    times = np.empty(ticks)
    per_second = int(round(1.0 / world.dt_s))
    out_by_second: list[np.ndarray] = []
    last_print = 0.0
    start_wall = time.perf_counter()
    for k in range(ticks):
        if late > 0:
            world.spawn(min(arrivals_per_tick, late))
            late -= arrivals_per_tick
        t0 = time.perf_counter()
        world.step()
        times[k] = time.perf_counter() - t0
        if (k + 1) % per_second == 0:
            out_by_second.append(world.left_at_exit.copy())
        now = time.perf_counter()
        if realtime:
            ahead = start_wall + world.clock - now
            if ahead > 0:
                time.sleep(ahead)
        if not as_json and (now - last_print > (_STATUS_EVERY_S if live else 5.0) or k == ticks - 1):
            last_print = now
            line = _status(world, times[max(0, k - 19):k + 1])
            print(f"\r{line}\033[K" if live else line, end="" if live else "\n", file=sys.stderr, flush=True)
    if live and not as_json:
        print(file=sys.stderr)
    figures = {
        "scene": path,
        "show_seconds": round(world.clock, 2),
        "ticks": ticks,
        "agents": world.crowd.n,
        "median_ms": float(np.median(times)) * 1e3 if ticks else 0.0,
        "p95_ms": float(np.percentile(times, 95)) * 1e3 if ticks else 0.0,
        "selfies_served": world.selfies_served,
        "wall_seconds": round(time.perf_counter() - start_wall, 2),
        "exits": _exit_figures(scene, out_by_second),
    }
    if as_json:
        print(json.dumps(figures))
    else:
        print(f"simulated {format_clock(world.clock)} of '{scene.event.title}' in {figures['wall_seconds']} s: "
              f"{figures['agents']} agents, {figures['median_ms']:.2f} ms median per step"
              + (f", {figures['selfies_served']} selfies served" if scene.mascots else ""))
        for name, e in figures["exits"].items():
            if e["left"]:
                print(f"  exit {name}: {e['left']} left; busiest {EXIT_WINDOW_S} s {e['peak_per_s']:.2f} persons/s, "
                      f"{e['peak_per_m_s']:.2f} per metre of its open rim ({e['rim_m']:.1f} m)")
    return 0


EXIT_WINDOW_S = 10
"""Exit flows are averaged over this many seconds (the busiest such window is reported)."""


def _exit_figures(scene: Any, out_by_second: list[Any]) -> dict[str, dict[str, float]]:
    """Per exit: people who left, and the busiest flow into it per metre of its open rim.

    An exit is a circle that people step into; against a wall, the half of its rim that faces
    the floor (``pi * radius``) is where they cross, as the width of a door is for a door.
    """
    import numpy as np

    out: dict[str, dict[str, float]] = {}
    counts = np.array(out_by_second, np.float64).reshape(len(out_by_second), len(scene.venue.exits))
    for k, exit_ in enumerate(scene.venue.exits):
        series = np.concatenate([[0.0], counts[:, k]]) if counts.size else np.zeros(1)
        window = min(EXIT_WINDOW_S, series.size - 1)
        peak = float((series[window:] - series[:-window]).max() / window) if window > 0 else 0.0
        rim = float(np.pi * exit_.radius)
        out[exit_.name] = {"left": int(series[-1]), "rim_m": round(rim, 3), "peak_per_s": round(peak, 3),
                           "peak_per_m_s": round(peak / rim, 3)}
    return out


def _status(world: Any, recent: Any) -> str:
    import numpy as np

    from showroom.scene.timecode import format_clock

    state = world.show.state_at(world.clock)
    cue = world.scene.timeline[state.cue] if state.cue >= 0 else None
    look = world.scene.looks[state.look].name if state.look >= 0 else "-"
    cue_text = f"{cue.kind}{' ' + getattr(cue, 'mascot', '') if hasattr(cue, 'mascot') else ''}" if cue else "-"
    return (f"show {format_clock(world.clock)}  cue {cue_text:<14} look {look[:28]:<28} "
            f"agents {world.crowd.n:>6}  {float(np.median(recent)) * 1e3:6.2f} ms/step")
