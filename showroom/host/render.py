"""The host console's answers as text for people (``--json`` prints the server's maps instead).

The community commands' answers are drawn by :mod:`showroom.host.community_render`.
"""

from __future__ import annotations

from showroom.host import community_render as community
from showroom.protocol import client_messages as msg
from showroom.protocol import community as cm
from showroom.protocol.server_messages import ErrorReply, HostOk, Reload, SelfieLine, ServerMessage, Status
from showroom.scene.timecode import format_clock

_DONE = {
    "host_start": "playing",
    "host_pause": "paused",
    "host_seek": "show moved",
    "host_cue": "jumped to the cue",
    "host_next": "jumped to the next cue",
    "host_announce": "announced in every shard",
}


def answer_text(sent: msg.Message, answer: ServerMessage) -> str:
    """One answer from the server to the command that ``sent`` it."""
    if isinstance(answer, ErrorReply):
        return refusal_text(answer)
    if isinstance(answer, Status):
        return status_text(answer)
    if isinstance(answer, cm.InviteIssued):
        return community.invite_text(answer)
    if isinstance(answer, cm.Requests):
        return community.requests_text(answer)
    if isinstance(answer, cm.Members):
        return community.members_text(answer)
    if isinstance(answer, cm.Gallery):
        return community.gallery_text(answer)
    if isinstance(answer, cm.ReportMessage):
        return community.report_text(answer)
    if isinstance(answer, cm.Targeted):
        return community.targeted_text(sent, answer)
    if isinstance(answer, cm.PollState):
        return community.poll_text(sent, answer)
    if not isinstance(answer, HostOk):
        return f"unexpected answer: {answer.wire()}"
    done = community.done_text(sent)
    if done is not None:
        return f"ok: {done}"  # the show clock says nothing about a community
    where = f"show at {format_clock(answer.t)}"
    if answer.cue >= 0:
        where += f", cue {answer.cue}"
    if isinstance(sent, msg.HostDrop):
        done = f"drop {sent.entitlement} {'opened' if sent.open else 'closed'}"
    elif isinstance(sent, (msg.HostKick, msg.HostBan)):
        done = f"visitor {sent.visitor} {'kicked' if isinstance(sent, msg.HostKick) else 'banned'}"
    else:
        done = _DONE.get(answer.ref, answer.ref)
    return f"ok: {done} ({where})"


def refusal_text(error: ErrorReply) -> str:
    """A refused command: the server's code and message."""
    return f"refused ({error.code}): {error.message}"


def notice_text(notice: ServerMessage) -> str:
    """A message the server sent on its own: a hot-reload outcome, or anything newer."""
    if not isinstance(notice, Reload):
        return f"server: {notice.wire()}"
    lines = [f"scene {notice.status}: {notice.message}"]
    lines += [f"  {line}" for line in notice.errors]
    return "\n".join(lines)


def status_text(status: Status) -> str:
    """The live status as a few aligned lines."""
    clock = f"{format_clock(status.t)} / {format_clock(status.duration)}"
    cue = f"cue {status.cue} ({status.cue_kind})" if status.cue >= 0 else "before the first cue"
    upcoming = (f", next cue {status.next_cue} at {format_clock(status.next_at or 0.0)}"
                if status.next_cue >= 0 else ", no cue after this one")
    look = f", look {status.look}" if status.look else ""
    scene = f"version {status.scene_version}"
    if status.pending is not None:
        scene += f"; version {status.pending.version} waits for {format_clock(status.pending.at)}"
    shards = status.shards
    lines = [
        f"show      {clock}  {'playing' if status.playing else 'paused'}  {cue}{upcoming}{look}",
        f"scene     {scene}",
        (f"visitors  {status.visitors} in {len(shards)} shard{'s' if len(shards) != 1 else ''}, "
         f"{status.hosts} host{'s' if status.hosts != 1 else ''} connected"),
    ]
    for shard in shards:
        queues = "; ".join(_queue_text(q) for q in shard.selfies)
        lines.append(f"  shard {shard.shard}  {shard.visitors} visitors ({shard.connected} connected)  "
                     f"selfies: {queues}")
    if status.awards is None or status.awarded is None:
        lines.append("awards    not kept (the server runs without a data directory)")
    else:
        each = ", ".join(f"{ent} {n}" for ent, n in status.awarded.items())
        lines.append(f"awards    {status.awards}" + (f" ({each})" if each else ""))
    stock = ", ".join(
        f"{s.entitlement} {'?' if s.left is None else s.left}/{s.total} left"
        f" ({'open' if s.open else 'closed'})" for s in status.stock)
    lines.append(f"stock     {stock or 'no limited vouchers'}")
    return "\n".join(lines)


def _queue_text(queue: SelfieLine) -> str:
    serving = f", photographing {queue.serving}" if queue.serving >= 0 else ""
    return f"{queue.mascot} {queue.waiting} waiting{serving}"
