"""``showroom validate crowd``: the crowd model against published pedestrian data.

Each check runs scenes from ``scenes/validation/`` and compares a measured figure with
its reference: RiMEA test cases 1, 4, 6 and 9 (RiMEA 4.1.1, Richtlinie für
Mikroskopische Entfluchtungsanalysen), Weidmann's fundamental diagram (1993), the
specific flow through bottlenecks (Seyfried et al. 2009, Kretz et al. 2006: about 1.3 to
1.9 persons per metre and second), counterflow (lanes form, no standstill), body
overlap, and routing through narrow doors at any alignment. When JuPedSim is installed
the same scenes run with its collision-free speed model and its figures stand beside ours.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from showroom.sim.navigation import NAV_CELL_M, build_navigation, cell_centres
from showroom.sim.obstacles import Obstacles
from showroom.sim.spatial_hash import Grid
from showroom.validation.record import Record
from showroom.validation.run import mean_after, run_ours, scenario

FD_DENSITIES = (0.5, 1.0, 2.0, 3.0, 4.0)
FD_CHECKED = (0.5, 1.0, 2.0, 3.0)
FD_TOLERANCE = 0.25
DOOR_WIDTHS = (0.8, 1.0, 1.2)
FLOW_BAND = (1.3, 1.9)
FLOW_SEEDS = (1, 2, 3)
"""Each bottleneck runs with three different starting crowds; the flow is their mean."""
MAX_OVERLAP_M = 0.02
STANDSTILL_MPS = 0.1
MAX_STANDSTILL_S = 2.0
MIN_LANE_ORDER = 0.6
MIN_EACH_WAY = 10
RIMEA1_S = (26.0, 34.0)
RIMEA9_RATIO = (1.6, 2.4)
ROUTED_DOOR_M = 0.7
JPS_RIMEA9_S = 60.0
"""JuPedSim's collision-free speed model jams at RiMEA 9's corner doors (people pressed along the
wall beside each door, a few getting out); its runs there stop after this many seconds."""

Runner = Callable[..., Record]


def weidmann_speed(density: float | np.ndarray) -> np.ndarray:
    """Weidmann's (1993) mean walking speed (m/s) at a density (persons/m²)."""
    rho = np.asarray(density, np.float64)
    return 1.34 * (1.0 - np.exp(-1.913 * (1.0 / rho - 1.0 / 5.4)))


@dataclass
class Check:
    """One line of the table: what, against what, our figure, JuPedSim's, and whether ours passes."""

    name: str
    reference: str
    ours: str
    jupedsim: str | None
    passed: bool


@dataclass
class Report:
    """Every check and the series behind the plots."""

    checks: list[Check] = field(default_factory=list)
    fd: dict[str, list[float | None]] = field(default_factory=dict)
    bottleneck: dict[str, list[float | None]] = field(default_factory=dict)
    jupedsim: str | None = None
    max_overlap_m: float = 0.0

    @property
    def passed(self) -> bool:
        """Whether every check passed."""
        return all(c.passed for c in self.checks)

    def as_dict(self) -> dict:
        """Plain dict for JSON output."""
        out = asdict(self)
        out["passed"] = self.passed
        return out


PARTS = ("rimea1", "fd", "corner", "rimea9", "bottleneck", "counterflow", "doors", "overlap")
"""The groups of checks, in the order they run (``--only`` picks some)."""


def validate(*, jupedsim: bool = True, only: tuple[str, ...] = PARTS,
             progress: Callable[[str], None] = lambda _: None) -> Report:
    """Run the validation scenes of the parts ``only`` with our model (and JuPedSim when installed and wanted)."""
    unknown = sorted(set(only) - set(PARTS))
    if unknown:
        raise ValueError(f"unknown part {', '.join(unknown)}: choose from {', '.join(PARTS)}")
    report = Report()
    jps_run: Runner | None = None
    if jupedsim:
        from showroom.validation import jps

        report.jupedsim = jps.available()
        if report.jupedsim is not None:
            jps_run = jps.run_jupedsim
    runs: list[tuple[str, Runner | None]] = [("ours", run_ours), ("jupedsim", jps_run)]
    overlaps: list[float] = []

    def each(name: str, seconds: float, density: float | None = None, seed: int = 1,
             theirs_s: float | None = None) -> dict[str, Record | None]:
        out: dict[str, Record | None] = {}
        for who, run in runs:
            if run is None:
                out[who] = None
                continue
            progress(f"{name}{'' if density is None else f' at {density:g}/m²'}{'' if seed == 1 else f', seed {seed}'} ({who})")
            limit = theirs_s if who == "jupedsim" and theirs_s is not None else seconds
            out[who] = run(scenario(name, density), limit, seed=seed)
        ours = out["ours"]
        assert ours is not None
        overlaps.append(ours.max_overlap_m)
        return out

    if "rimea1" in only:
        _rimea1(report, each("rimea-01-corridor", 60))
    if "fd" in only:
        _fundamental(report, {rho: each("rimea-04-fundamental-diagram", 60, rho) for rho in FD_DENSITIES})
    if "corner" in only:
        _corner(report, each("rimea-06-corner", 60))
    if "rimea9" in only:
        _rimea9(report, each("rimea-09-four-exits", 600, theirs_s=JPS_RIMEA9_S),
                each("rimea-09-two-exits", 900, theirs_s=JPS_RIMEA9_S))
    if "bottleneck" in only:
        _bottlenecks(report, {w: [each(f"bottleneck-{int(round(w * 100)):03d}", 300, seed=seed) for seed in FLOW_SEEDS]
                              for w in DOOR_WIDTHS})
    if "counterflow" in only:
        _counterflow(report, each("counterflow", 180))
    if "doors" in only:
        progress("doors at every alignment")
        _doors(report)
    if "overlap" in only:
        pressed = each("bottleneck-pressed", 300)
        report.max_overlap_m = max(overlaps)
        _overlap(report, pressed, report.max_overlap_m)
    return report


def _fmt(value: float | None, unit: str = "", digits: int = 2) -> str:
    return "-" if value is None or not np.isfinite(value) else f"{value:.{digits}f}{unit}"


def _both(runs: dict[str, Record | None], figure: Callable[[Record], float]) -> tuple[float, float | None]:
    ours = runs["ours"]
    assert ours is not None
    theirs = runs["jupedsim"]
    return figure(ours), (figure(theirs) if theirs is not None else None)


def _rimea1(report: Report, runs: dict[str, Record | None]) -> None:
    def took(r: Record) -> float:
        start, finish = r.first_crossings("start"), r.first_crossings("finish")
        return float(finish[0] - start[0]) if start.size and finish.size else float("nan")

    ours, theirs = _both(runs, took)
    lo, hi = RIMEA1_S
    report.checks.append(Check("RiMEA 1: 40 m of corridor at 1.33 m/s", f"{lo:g}-{hi:g} s",
                               _fmt(ours, " s", 1), None if theirs is None else _fmt(theirs, " s", 1),
                               bool(lo <= ours <= hi)))


def _fundamental(report: Report, runs: dict[float, dict[str, Record | None]]) -> None:
    def speed(r: Record) -> float:
        s = r.areas["sector"]
        return mean_after(s.speed, s.time, 20.0)

    def density(r: Record) -> float:
        s = r.areas["sector"]
        return mean_after(s.density, s.time, 20.0)

    ours = {rho: _both(r, speed) for rho, r in runs.items()}
    dens = {rho: _both(r, density) for rho, r in runs.items()}
    report.fd = {
        "density": list(FD_DENSITIES),
        "measured_density": [dens[rho][0] for rho in FD_DENSITIES],
        "ours": [ours[rho][0] for rho in FD_DENSITIES],
        "jupedsim_density": [dens[rho][1] for rho in FD_DENSITIES],
        "jupedsim": [ours[rho][1] for rho in FD_DENSITIES],
        "weidmann": [float(weidmann_speed(rho)) for rho in FD_DENSITIES],
    }
    for rho in FD_CHECKED:
        v, theirs = ours[rho]
        d, jd = dens[rho]
        ref = float(weidmann_speed(d))  # at the density measured where the speed was: the curve's own terms
        jref = None if jd is None else float(weidmann_speed(jd))
        report.checks.append(Check(
            f"RiMEA 4: speed at {rho:g} persons/m²", f"Weidmann ±{FD_TOLERANCE:.0%}",
            f"{v:.2f} m/s at {d:.2f}/m² ({v / ref:.0%} of {ref:.2f})",
            None if theirs is None or jref is None else f"{theirs:.2f} m/s at {jd:.2f}/m² ({theirs / jref:.0%})",
            bool(abs(v - ref) <= FD_TOLERANCE * ref)))
    speeds = [ours[rho][0] for rho in FD_DENSITIES]
    theirs_all = [ours[rho][1] for rho in FD_DENSITIES]
    falling = all(a > b for a, b in zip(speeds, speeds[1:]))
    report.checks.append(Check(
        "RiMEA 4: speed falls as density rises", "falling from 0.5 to 4 /m²",
        " > ".join(f"{v:.2f}" for v in speeds),
        None if None in theirs_all else " > ".join(f"{v:.2f}" for v in theirs_all if v is not None), falling))


def _corner(report: Report, runs: dict[str, Record | None]) -> None:
    ours = runs["ours"]
    assert ours is not None
    turned = len(ours.crossings["round-the-corner"])
    theirs = runs["jupedsim"]
    report.checks.append(Check(
        "RiMEA 6: 20 people round a corner", "all 20 turn, none through a wall",
        f"{turned} turned, {ours.max_wall_m * 100:.1f} cm into walls",
        None if theirs is None else f"{len(theirs.crossings['round-the-corner'])} turned, "
                                    f"{theirs.max_wall_m * 100:.1f} cm into walls",
        turned == 20 and ours.max_wall_m <= 0.001))


def _rimea9(report: Report, four: dict[str, Record | None], two: dict[str, Record | None]) -> None:
    def emptied(r: Record) -> float:
        return r.end_s if r.present and r.present[-1] == 0 else float("nan")

    def says(r4: Record, r2: Record) -> str:
        t4, t2 = emptied(r4), emptied(r2)
        if np.isfinite(t4) and np.isfinite(t2):
            return f"{t4:.0f} s -> {t2:.0f} s ({t2 / t4:.2f}x)"
        out4, out2 = (1000 - (r.present[-1] if r.present else 0) for r in (r4, r2))
        return f"jammed: {out4} and {out2} of 1000 out in {r4.end_s:.0f} and {r2.end_s:.0f} s"

    ours4, ours2, theirs4, theirs2 = four["ours"], two["ours"], four["jupedsim"], two["jupedsim"]
    assert ours4 is not None and ours2 is not None
    ratio = emptied(ours2) / emptied(ours4)
    lo, hi = RIMEA9_RATIO
    report.checks.append(Check(
        "RiMEA 9: 1,000 leave a room, 2 of 4 exits closed", f"about twice as long ({lo:g}-{hi:g}x)",
        says(ours4, ours2), None if theirs4 is None or theirs2 is None else says(theirs4, theirs2),
        bool(lo <= ratio <= hi)))


def specific_flow(r: Record, line: str, width_m: float) -> float:
    """Persons per metre and second over a counting line, between the 10th and 90th percentile crossings."""
    times = r.first_crossings(line)
    n = times.size
    if n < 10:
        return float("nan")
    k0, k1 = int(0.1 * n), int(0.9 * n) - 1
    return float((k1 - k0) / max(times[k1] - times[k0], 1e-9) / width_m)


def _bottlenecks(report: Report, runs: dict[float, list[dict[str, Record | None]]]) -> None:
    def mean_flow(seeds: list[dict[str, Record | None]], w: float) -> tuple[float, float | None]:
        each = [_both(r, lambda rec: specific_flow(rec, "door", w)) for r in seeds]
        theirs = [t for _, t in each if t is not None]
        return float(np.mean([o for o, _ in each])), (float(np.mean(theirs)) if theirs else None)

    flows = {w: mean_flow(seeds, w) for w, seeds in runs.items()}
    report.bottleneck = {
        "width": list(DOOR_WIDTHS),
        "ours": [flows[w][0] for w in DOOR_WIDTHS],
        "jupedsim": [flows[w][1] for w in DOOR_WIDTHS],
        "band": list(FLOW_BAND),
    }
    lo, hi = FLOW_BAND
    for w in DOOR_WIDTHS:
        ours, theirs = flows[w]
        report.checks.append(Check(
            f"Bottleneck {w:g} m: specific flow (3 runs)", f"{lo:g}-{hi:g} /(m s)", _fmt(ours, " /(m s)"),
            None if theirs is None else _fmt(theirs, " /(m s)"), bool(lo <= ours <= hi)))


def _counterflow(report: Report, runs: dict[str, Record | None]) -> None:
    def standstill(r: Record) -> float:
        moving = np.asarray(r.mean_speed) >= STANDSTILL_MPS
        present = np.asarray(r.present) > 0
        still = ~moving & present
        longest = run = 0
        for s in still:
            run = run + 1 if s else 0
            longest = max(longest, run)
        return longest * r.dt_s

    def lanes(r: Record) -> float:
        s = r.areas["middle"]
        forward, count = np.asarray(s.forward), np.asarray(s.count)
        both = np.minimum(forward, count - forward) >= MIN_EACH_WAY  # while the two groups pass each other
        v = np.asarray(s.lanes)[both]
        v = v[np.isfinite(v)]
        return float(v.mean()) if v.size else float("nan")

    still, jstill = _both(runs, standstill)
    order, jorder = _both(runs, lanes)
    report.checks.append(Check(
        "Counterflow, 80 + 80 in 4 m: longest standstill", f"≤ {MAX_STANDSTILL_S:g} s",
        f"{still:.2f} s", None if jstill is None else f"{jstill:.2f} s", still <= MAX_STANDSTILL_S))
    report.checks.append(Check(
        "Counterflow: lane order while passing (Rex & Löwen)", f"≥ {MIN_LANE_ORDER:g} (mixed: ~0.25)", _fmt(order),
        None if jorder is None else _fmt(jorder), bool(order >= MIN_LANE_ORDER)))


def door_routed(width_m: float, offset_m: float, angle_deg: float) -> bool:
    """Whether a route leads through a door ``width_m`` wide in a 0.2 m wall, its edge ``offset_m``
    past a cell boundary, the wall turned by ``angle_deg``."""
    size = 20.0
    centre = np.array([10.0, 10.0 + offset_m])
    a = np.radians(angle_deg)
    along = np.array([-np.sin(a), np.cos(a)])
    half, gap = 0.1, width_m / 2 + 0.1
    ends = [(centre - along * 30, centre - along * gap), (centre + along * gap, centre + along * 30)]
    obstacles = Obstacles.build(np.array([e[0] for e in ends]), np.array([e[1] for e in ends]), np.full(2, half),
                                (size, size))
    grid = Grid.covering((0.0, 0.0), (size, size), NAV_CELL_M)
    across = np.array([np.cos(a), np.sin(a)])
    goal = centre + across * 6
    nav = build_navigation(obstacles, [np.linalg.norm(cell_centres(grid) - goal, axis=1) < 1.0], grid)
    start = grid.keys((centre - across * 6)[None])[0]
    return bool(np.isfinite(nav.distance[0].reshape(-1)[start]))


def _doors(report: Report) -> None:
    offsets = np.linspace(0.0, NAV_CELL_M, 11)
    angles = (0.0, 30.0, 45.0)
    tried = [(o, a) for o in offsets for a in angles]
    routed = sum(door_routed(ROUTED_DOOR_M, float(o), a) for o, a in tried)
    report.checks.append(Check(
        f"A {ROUTED_DOOR_M:g} m door is routed at any alignment", f"{len(tried)} of {len(tried)} "
        f"(11 offsets x 3 angles)", f"{routed} of {len(tried)}", None, routed == len(tried)))


def _overlap(report: Report, pressed: dict[str, Record | None], worst: float) -> None:
    ours, theirs = _both(pressed, lambda r: r.max_overlap_m)
    report.checks.append(Check(
        "Pressed 0.8 m bottleneck (2 m/s, 3 /m²): deepest overlap", f"≤ {MAX_OVERLAP_M * 100:g} cm",
        f"{ours * 100:.1f} cm (all runs so far {worst * 100:.1f})", None if theirs is None else f"{theirs * 100:.1f} cm",
        ours <= MAX_OVERLAP_M and worst <= MAX_OVERLAP_M))


def table(report: Report) -> str:
    """The checks as an aligned text table."""
    rows = [("check", "reference", "Showroom", "JuPedSim" if report.jupedsim else "JuPedSim (not installed)", "")]
    rows += [(c.name, c.reference, c.ours, c.jupedsim or "-", "pass" if c.passed else "FAIL") for c in report.checks]
    widths = [max(len(r[k]) for r in rows) for k in range(5)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    done = sum(c.passed for c in report.checks)
    lines.append(f"\n{done} of {len(report.checks)} checks pass" +
                 (f"; JuPedSim {report.jupedsim} (collision-free speed model, default parameters)" if report.jupedsim else ""))
    return "\n".join(lines)
