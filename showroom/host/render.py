"""The host console's answers as text for people (``--json`` prints the server's maps instead)."""

from __future__ import annotations

from typing import Any

from showroom.scene.timecode import format_clock

_DONE = {
    "host_start": "playing",
    "host_pause": "paused",
    "host_seek": "show moved",
    "host_cue": "jumped to the cue",
    "host_next": "jumped to the next cue",
    "host_announce": "announced in every shard",
}


def answer_text(sent: dict[str, Any], answer: dict[str, Any]) -> str:
    """One answer from the server to the command that ``sent`` it."""
    kind = answer.get("type")
    if kind == "error":
        return refusal_text(answer)
    if kind == "status":
        return status_text(answer)
    if kind != "host_ok":
        return f"unexpected answer: {answer}"
    ref = answer.get("ref", "")
    where = f"show at {format_clock(answer.get('t', 0.0))}"
    if answer.get("cue", -1) >= 0:
        where += f", cue {answer['cue']}"
    if ref == "host_drop":
        done = f"drop {sent['entitlement']} {'opened' if sent['open'] else 'closed'}"
    elif ref in ("host_kick", "host_ban"):
        done = f"visitor {sent['visitor']} {'kicked' if ref == 'host_kick' else 'banned'}"
    else:
        done = _DONE.get(ref, ref)
    return f"ok: {done} ({where})"


def refusal_text(error: dict[str, Any]) -> str:
    """A refused command: the server's code and message."""
    return f"refused ({error.get('code')}): {error.get('message')}"


def notice_text(notice: dict[str, Any]) -> str:
    """A message the server sent on its own: a hot-reload outcome, or anything newer."""
    if notice.get("type") != "reload":
        return f"server: {notice}"
    lines = [f"scene {notice['status']}: {notice['message']}"]
    lines += [f"  {line}" for line in notice.get("errors", [])]
    return "\n".join(lines)


def status_text(status: dict[str, Any]) -> str:
    """The live status as a few aligned lines."""
    clock = f"{format_clock(status['t'])} / {format_clock(status['duration'])}"
    cue = f"cue {status['cue']} ({status['cue_kind']})" if status["cue"] >= 0 else "before the first cue"
    upcoming = (f", next cue {status['next_cue']} at {format_clock(status['next_at'])}"
                if status["next_cue"] >= 0 else ", no cue after this one")
    look = f", look {status['look']}" if status.get("look") else ""
    scene = f"version {status['scene_version']}"
    if status.get("pending"):
        pending = status["pending"]
        scene += f"; version {pending['version']} waits for {format_clock(pending['at'])}"
    shards = status["shards"]
    lines = [
        f"show      {clock}  {'playing' if status['playing'] else 'paused'}  {cue}{upcoming}{look}",
        f"scene     {scene}",
        (f"visitors  {status['visitors']} in {len(shards)} shard{'s' if len(shards) != 1 else ''}, "
         f"{status['hosts']} host{'s' if status['hosts'] != 1 else ''} connected"),
    ]
    for shard in shards:
        queues = "; ".join(_queue_text(q) for q in shard["selfies"])
        lines.append(f"  shard {shard['shard']}  {shard['visitors']} visitors ({shard['connected']} connected)  "
                     f"selfies: {queues}")
    if status["awards"] is None:
        lines.append("awards    not kept (the server runs without a data directory)")
    else:
        each = ", ".join(f"{ent} {n}" for ent, n in status["awarded"].items())
        lines.append(f"awards    {status['awards']}" + (f" ({each})" if each else ""))
    stock = ", ".join(
        f"{s['entitlement']} {'?' if s['left'] is None else s['left']}/{s['total']} left"
        f" ({'open' if s['open'] else 'closed'})" for s in status["stock"])
    lines.append(f"stock     {stock or 'no limited vouchers'}")
    return "\n".join(lines)


def _queue_text(queue: dict[str, Any]) -> str:
    serving = f", photographing {queue['serving']}" if queue["serving"] >= 0 else ""
    return f"{queue['mascot']} {queue['waiting']} waiting{serving}"
