"""The load test's picture: clients, delivery latency and server tick time over the run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from showroom.errors import ShowroomError


def plot_report(report: dict[str, Any], path: str | Path) -> str:
    """Draw the report's per-second history into a PNG at ``path``; return a one-line description."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ShowroomError("--plot needs matplotlib: pip install 'showroom[plot]'") from None
    history = report.get("history") or []
    if not history:
        raise ShowroomError("--plot: the run recorded no history to draw")
    t = [h["t_s"] for h in history]
    ticks = [(h["t_s"], h["tick_ms_p99"]) for h in history if h.get("tick_ms_p99") is not None]
    fig, (ax_clients, ax_latency, ax_tick) = plt.subplots(3, 1, figsize=(9, 8), sharex=True)
    held = [h["t_s"] for h in history if h.get("phase") == "hold"]
    if held:
        for ax in (ax_clients, ax_latency, ax_tick):  # the hold: ramp up before it, ramp down after
            ax.axvspan(held[0] - 1.0, held[-1], color="#ececec", zorder=0)
    ax_clients.plot(t, [h["connected"] for h in history], color="#1c2340")
    ax_clients.set_ylabel("connected bots")
    ax_latency.plot(t, [h["p99_ms"] for h in history], color="#d4af37", label="p99 delivery (last second)")
    lat = report["latency_ms"]
    ax_latency.axhline(lat["p50"], color="#888888", linestyle=":", label=f"run p50 {lat['p50']:.0f} ms")
    ax_latency.set_ylabel("latency, ms")
    ax_latency.legend(loc="upper left", fontsize=8)
    if ticks:
        ax_tick.plot([x for x, _ in ticks], [y for _, y in ticks], color="#ff8c42", label="server tick p99")
    ax_tick.axhline(50.0, color="#cc0000", linestyle="--", label="50 ms budget")
    ax_tick.set_ylabel("tick, ms")
    ax_tick.set_xlabel("seconds since start")
    ax_tick.legend(loc="upper left", fontsize=8)
    srv = report["server"]
    fig.suptitle(f"showroom loadtest: {report['clients']} bots, p99 {lat['p99']:.0f} ms, "
                 f"tick overruns {srv['tick_overrun_pct']} %")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return f"written to {path}"
