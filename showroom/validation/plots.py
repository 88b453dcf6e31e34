"""The validation's pictures: the fundamental diagram against Weidmann's, and flow against door width."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from showroom.validation.crowd import FD_TOLERANCE, Report, weidmann_speed


def draw(report: Report, folder: Path) -> list[Path]:
    """Write ``fundamental-diagram.png`` and ``bottleneck-flow.png`` to ``folder``; return their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    if report.fd:
        out.append(_fundamental(report, folder, plt))
    if report.bottleneck:
        out.append(_flow(report, folder, plt))
    return out


def _fundamental(report: Report, folder: Path, plt: Any) -> Path:
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    rho = np.linspace(0.3, 5.0, 200)
    ref = weidmann_speed(rho)
    ax.plot(rho, ref, color="#333333", label="Weidmann (1993)")
    ax.fill_between(rho, ref * (1 - FD_TOLERANCE), ref * (1 + FD_TOLERANCE), color="#333333", alpha=0.12,
                    label=f"±{FD_TOLERANCE:.0%}")
    fd = report.fd
    ax.plot(fd["measured_density"], fd["ours"], "o-", color="#c0392b", label="Showroom")
    if report.jupedsim and None not in fd["jupedsim"]:
        ax.plot(fd["jupedsim_density"], fd["jupedsim"], "s--", color="#2471a3",
                label=f"JuPedSim {report.jupedsim} (CSM)")
    return _finish(plt, fig, ax, folder / "fundamental-diagram.png", "Fundamental diagram: ring corridor 3 m wide (RiMEA test 4)",
                   ("density in the measurement sector (persons/m²)", "mean speed along the corridor (m/s)"),
                   ((0, 5), (0, 1.6)), "upper right")


def _flow(report: Report, folder: Path, plt: Any) -> Path:
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    bn = report.bottleneck
    lo, hi = bn["band"]
    ax.axhspan(lo, hi, color="#333333", alpha=0.12, label="literature (Seyfried 2009, Kretz 2006)")
    ax.plot(bn["width"], bn["ours"], "o-", color="#c0392b", label="Showroom")
    if report.jupedsim and None not in bn["jupedsim"]:
        ax.plot(bn["width"], bn["jupedsim"], "s--", color="#2471a3", label=f"JuPedSim {report.jupedsim} (CSM)")
    return _finish(plt, fig, ax, folder / "bottleneck-flow.png", "Flow through a bottleneck, 150 people waiting",
                   ("bottleneck width (m)", "specific flow (persons / (m s))"), ((0.7, 1.3), (0, 2.6)), "lower right")


def _finish(plt: Any, fig: Any, ax: Any, path: Path, title: str, labels: tuple[str, str],
            limits: tuple[tuple[float, float], tuple[float, float]], legend: str) -> Path:
    """Title, axes, grid and legend; save to ``path`` and close."""
    ax.set_title(title)
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_xlim(*limits[0])
    ax.set_ylim(*limits[1])
    ax.grid(alpha=0.3)
    ax.legend(loc=legend)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
