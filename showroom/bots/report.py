"""The load-test report: figures from the bots and ``/metrics``, the award audit, community actions, thresholds."""

from __future__ import annotations

from collections import Counter
from typing import Any

from showroom.bots.bot import Bot
from showroom.bots.stats import Stats, percentiles_ms
from showroom.bots.swarm import SwarmResult


def audit_awards(bots: list[Bot]) -> dict[str, Any]:
    """Check that every bot photographed with a rewarding mascot got that voucher exactly once.

    A missing award counts as a known refusal (sold out) only when the bots together saw at
    least the entitlement's whole stock awarded; anything else missing, and any entitlement
    awarded twice to one bot, fails the audit.
    """
    awarded_total: Counter = Counter()
    for bot in bots:
        awarded_total.update(bot.awards)
    problems: list[str] = []
    selfies = ok = sold_out = 0
    for bot in bots:
        for entitlement, count in bot.awards.items():
            if count > 1:
                problems.append(f"bot-{bot.index} (avatar {bot.you}): {entitlement} awarded {count} times")
        if bot.scene is None:
            continue
        for mascot, taken in bot.selfies.items():
            selfies += taken
            grant = bot.scene.selfie_grant.get(mascot)
            if grant is None:
                continue
            if bot.awards[grant] >= 1:
                ok += 1
                continue
            stock = bot.scene.stock.get(grant)
            if stock is not None and awarded_total[grant] >= stock:
                sold_out += 1
            elif bot.wallet is not None and grant in bot.wallet:
                problems.append(f"bot-{bot.index} (avatar {bot.you}): {grant} is in the wallet but never announced")
            else:
                problems.append(f"bot-{bot.index} (avatar {bot.you}): selfie with {mascot} but no {grant} award")
    return {"passed": not problems, "selfies_taken": selfies, "awarded_ok": ok, "refused_sold_out": sold_out,
            "awards_by_entitlement": dict(awarded_total), "problems": problems[:50]}


def build_report(result: SwarmResult) -> dict[str, Any]:
    """Turn a finished run into the report document (JSON-ready)."""
    stats, bots = result.stats, result.bots
    p50, p95, p99 = percentiles_ms(stats.latency_s)
    bot_seconds = sum(max((b.left_at or 0) - b.joined_at, 0.0) for b in bots if b.joined_at)
    before, after = result.metrics_before, result.metrics_after
    ticks, overruns = _tick_health(before, after)
    hold_ticks, hold_overruns = _tick_health(*result.metrics_hold) if result.metrics_hold[0] else (0, 0)
    wall = max(result.wall_s, 1e-9)
    joined = sum(1 for b in bots if b.joined_at)
    return {
        "url": result.config.url,
        "clients": result.config.clients,
        "ramp_per_s": result.config.ramp_per_s,
        "duration_s": result.config.duration_s,
        "phases_s": {"ramp_up": round(result.config.clients / result.config.ramp_per_s, 2),
                     "hold": round(result.hold_s, 2), "ramp_down": round(result.ramp_down_s, 2)},
        "behaviour": result.config.mix,
        "behaviours": dict(Counter(b.behaviour for b in bots)),
        "move_hz": result.config.move_hz,
        "joins": {"ok": joined, "failed": len(bots) - joined, "connect_failed": stats.connect_failed,
                  "handovers": stats.handovers, "rejoined": stats.rejoins,
                  "refused": stats.joins_failed},
        "latency_ms": {"p50": p50, "p95": p95, "p99": p99, "samples": len(stats.latency_s)},
        "snapshots_per_s_per_client": round(stats.snapshots / bot_seconds, 2) if bot_seconds else 0.0,
        "hold": hold_figures(result),
        "server": {
            "tick_ms_p50": after.get("tick_ms_p50"),
            "tick_ms_p99": after.get("tick_ms_p99"),
            "tick_overruns": overruns,
            "ticks": ticks,
            "tick_overrun_pct": round(100.0 * overruns / ticks, 3) if ticks > 0 else 0.0,
            "frames_skipped": after.get("frames_skipped", 0) - before.get("frames_skipped", 0),
            "metrics_read": bool(after),
            "hold": {"ticks": hold_ticks, "tick_overruns": hold_overruns,
                     "tick_overrun_pct": round(100.0 * hold_overruns / hold_ticks, 3) if hold_ticks > 0 else 0.0,
                     "tick_ms_p50": result.metrics_hold[1].get("tick_ms_p50"),
                     "tick_ms_p99": result.metrics_hold[1].get("tick_ms_p99")},
        },
        # an event over workers (its front door's /metrics): each worker's figures while the bots held
        "server_workers": [{key: w.get(key) for key in ("worker", "url", "visitors", "avatars", "shards", "tick_ms_p50",
                                                  "tick_ms_p99", "tick_overrun_pct", "bytes_out_per_s", "bus_gaps",
                                                  "show_clock_late")}
                    for w in result.metrics_hold[1].get("workers", [])],
        "generator": {
            "messages_out_per_s": round(stats.messages_out / wall, 1),
            "messages_in_per_s": round(stats.messages_in / wall, 1),
            "bytes_out_per_s": round(stats.bytes_out / wall, 1),
            "bytes_in_per_s": round(stats.bytes_in / wall, 1),
            "cpu_s": round(result.cpu_s, 3),
            "wall_s": round(result.wall_s, 3),
            "cpu_pct": round(100.0 * result.cpu_s / wall, 1),
        },
        "errors": _errors(stats),
        "vouchers": {"redeemed": stats.redeemed, "refused": dict(stats.refused)},
        "award_audit": audit_awards(bots),
        "community": community_figures(result),
        "history": result.history,
        "plot": "not asked for (--plot FILE.png)",
    }


def hold_figures(result: SwarmResult) -> dict[str, Any]:
    """What each bot received per second while all were holding (ramps and settling left out), and when that was.

    The rates divide by client-seconds inside the window (each bot's time joined within it), so a bot that
    dropped out early does not dilute them; ``from_unix_s``/``to_unix_s`` let another process (``showroom bench
    live``) keep only its own samples of the same window.
    """
    first, last = result.hold_marks
    if not first or not last or last["t"] <= first["t"]:
        return {"from_unix_s": None, "to_unix_s": None, "clients_mean": 0.0, "bytes_in_per_s_per_client": 0.0,
                "messages_in_per_s_per_client": 0.0, "snapshots_per_s_per_client": 0.0}
    t0, t1 = first["t"], last["t"]
    client_s = sum(max(min(b.left_at or t1, t1) - max(b.joined_at, t0), 0.0) for b in result.bots if b.joined_at)

    def per_client_s(name: str) -> float:
        return round((last[name] - first[name]) / client_s, 2) if client_s else 0.0

    return {"from_unix_s": round(t0, 3), "to_unix_s": round(t1, 3), "clients_mean": round(client_s / (t1 - t0), 1),
            "bytes_in_per_s_per_client": per_client_s("bytes_in"),
            "messages_in_per_s_per_client": per_client_s("messages_in"),
            "snapshots_per_s_per_client": per_client_s("snapshots")}


def community_figures(result: SwarmResult) -> dict[str, Any]:
    """What the bots did in the event's community: poll answers, joins, entries and votes sent and confirmed,
    and every refusal by message and reason."""
    done = result.stats.community
    return {
        "plan": result.config.community_mix,
        "invites_given": len(result.config.invites),
        "polls": {"seen": done["polls_seen"], "answers_sent": done["poll_answers_sent"],
                  "answers_confirmed": done["poll_answers_confirmed"]},
        "members": {"join_attempts": done["join_attempts"], "joined": done["members_joined"],
                    "codes_issued": done["codes_issued"], "invites_received": done["invites_received"]},
        "entries": {"sent": done["entries_sent"], "confirmed": done["entries_confirmed"],
                    "approved": done["entries_approved"], "rejected": done["entries_rejected"],
                    "featured": done["entries_featured"]},
        "votes": {"sent": done["votes_sent"], "confirmed": done["votes_confirmed"],
                  "nothing_to_vote_for": done["votes_skipped"]},
        "refused": dict(result.stats.community_refused),
    }


def _errors(stats: Stats) -> dict[str, int]:
    """Every error the bots met, by kind: the server's error codes, bad welcomes and failed connections."""
    errors = dict(stats.errors)
    if stats.connect_failed:
        errors["connect_failed"] = stats.connect_failed
    return errors


def _tick_health(before: dict[str, Any], after: dict[str, Any]) -> tuple[int, int]:
    """Tick slots and tick overruns between two ``/metrics`` readings (zeros when the later one is missing).

    Slots are the ticks run and those skipped to catch up (each skipped one is an overrun too), so
    the overrun percentage of a server far behind is at most 100, not more."""
    if not after:
        return 0, 0
    slots = after.get("tick_slots", after.get("ticks", 0)) - before.get("tick_slots", before.get("ticks", 0))
    return slots, after.get("tick_overruns", 0) - before.get("tick_overruns", 0)


def check_thresholds(report: dict[str, Any], max_p99_ms: float | None, max_overrun_pct: float | None) -> list[str]:
    """The thresholds the report exceeds, one line each (empty when it passes)."""
    failures = []
    if report["joins"]["ok"] == 0:
        failures.append("no bot joined the event")
    p99 = report["latency_ms"]["p99"]
    if max_p99_ms is not None and (p99 > max_p99_ms or not report["latency_ms"]["samples"]):
        failures.append(f"p99 delivery latency {p99:.3f} ms exceeds --max-p99-ms {max_p99_ms:g}")
    overrun = report["server"]["tick_overrun_pct"]
    if max_overrun_pct is not None and overrun > max_overrun_pct:
        failures.append(f"tick overruns {overrun:.3f} % exceed --max-overrun-pct {max_overrun_pct:g}")
    held = report["server"]["hold"]["tick_overrun_pct"]
    if max_overrun_pct is not None and held > max_overrun_pct:
        failures.append(f"tick overruns while holding all clients {held:.3f} % exceed --max-overrun-pct {max_overrun_pct:g}")
    if not report["award_audit"]["passed"]:
        failures.append(f"award audit failed: {len(report['award_audit']['problems'])} problem(s)")
    return failures
