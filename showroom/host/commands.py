"""The host console's commands: a typed line (or command-line words) to a protocol message.

Pure: no sockets. Each command maps to one ``host_*`` message of docs/protocol.md, so a
script, a typed line and ``showroom host URL COMMAND …`` send exactly the same thing. The
show's commands are built here, the community manager's in :mod:`showroom.host.community_commands`.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import ValidationError

from showroom.errors import ShowroomError
from showroom.host import arguments
from showroom.host import community_commands as cc
from showroom.protocol import client_messages as msg
from showroom.protocol.limits import MAX_ANNOUNCE_CHARS
from showroom.scene.timecode import parse_seconds


class CommandError(ShowroomError):
    """A console command that cannot be sent as written; the message shows its usage."""


@dataclass(frozen=True)
class Command:
    """One console command: its name, how to write it, what it does, how its message is built."""

    name: str
    usage: str
    summary: str
    build: Callable[[str], msg.Message]
    group: Literal["show", "community"] = "show"
    """Where ``help`` lists it: ``show`` or ``community``."""
    quoted: bool = False
    """Whether its arguments are words a shell would split (quotes group words, as in ``poll``);
    otherwise ``build`` gets the rest of the line as written (so ``announce Don't miss it`` works)."""


def _no_args(kind: type[msg.Message]) -> Callable[[str], msg.Message]:
    def build(rest: str) -> msg.Message:
        if rest:
            raise ValueError(f"takes no arguments, got {rest!r}")
        return kind()
    return build


def _seek(rest: str) -> msg.Message:
    (time,) = arguments.words(rest, "a time such as 1:30")
    return msg.HostSeek(t=parse_seconds(time))


def _cue(rest: str) -> msg.Message:
    (index,) = arguments.words(rest, "a cue number")
    return msg.HostCue(index=arguments.whole(index, "cue number"))


def _announce(rest: str) -> msg.Message:
    shown = arguments.text(rest)
    if not shown:
        raise ValueError("needs the text to show")
    if len(shown) > MAX_ANNOUNCE_CHARS:
        raise ValueError(f"the text is {len(shown)} characters; at most {MAX_ANNOUNCE_CHARS}")
    return msg.HostAnnounce(text=shown)


def _drop(rest: str) -> msg.Message:
    words = rest.split()
    if len(words) != 2 or words[1] not in ("open", "close"):
        raise ValueError("needs a voucher id and open or close")
    try:
        return msg.HostDrop(entitlement=words[0], open=words[1] == "open")
    except ValidationError:
        raise ValueError(f"{words[0]!r} is not an entitlement id") from None


def _visitor(kind: type[msg.HostKick] | type[msg.HostBan]) -> Callable[[str], msg.Message]:
    def build(rest: str) -> msg.Message:
        (visitor,) = arguments.words(rest, "a visitor id")
        return kind(visitor=arguments.whole(visitor, "visitor id"))
    return build


def _community(name: str, usage: str, summary: str, build: Callable[[str], msg.Message],
               quoted: bool = False) -> Command:
    return Command(name, usage, summary, build, "community", quoted)


COMMANDS: dict[str, Command] = {c.name: c for c in (
    Command("start", "start", "start (or resume) the show clock", _no_args(msg.HostStart)),
    Command("pause", "pause", "hold the show clock", _no_args(msg.HostPause)),
    Command("seek", "seek TIME", "move the show clock to TIME (m:ss, h:mm:ss or seconds)", _seek),
    Command("next", "next", "jump to the start of the next cue", _no_args(msg.HostNext)),
    Command("cue", "cue N", "jump to the start of timeline cue N (0 is the first in the scene file)", _cue),
    Command("announce", "announce TEXT", "show TEXT to every visitor in every shard", _announce),
    Command("drop", "drop VOUCHER open|close", "open or close a voucher drop", _drop),
    Command("kick", "kick VISITOR", "disconnect a visitor by avatar id (they may come back)", _visitor(msg.HostKick)),
    Command("ban", "ban VISITOR", "disconnect a visitor and refuse their name from now on", _visitor(msg.HostBan)),
    Command("status", "status", "visitors per shard, selfie queues, awards, stock, show clock, scene version",
            _no_args(msg.HostStatus)),
    _community("invite", "invite COMMUNITY [USES] [DAYS]",
               "issue an invite code for USES people, valid DAYS days (the community file caps both)", cc.invite),
    _community("requests", "requests COMMUNITY", "the pending join requests: name, wallet, when", cc.requests),
    _community("approve", "approve COMMUNITY WALLET", "let a pending request in (under the member cap)", cc.approve),
    _community("refuse", "refuse COMMUNITY WALLET [REASON...]", "turn a pending request down", cc.refuse),
    _community("role", "role COMMUNITY WALLET ROLE", "give a member another role of the community file", cc.role),
    _community("expel", "expel COMMUNITY WALLET",
               "ban a wallet from the community for good: membership ended, requests refused", cc.expel),
    _community("members", "members COMMUNITY", "the members (role, tier, points) and the invite codes", cc.members),
    _community("revoke", "revoke COMMUNITY CODE", "withdraw an invite code (who joined with it stays)", cc.revoke),
    _community("report", "report COMMUNITY", "members by RFM segment: counts, mean recency, frequency, value, tier",
               cc.report),
    _community("target", "target COMMUNITY [--segment S,S] [--tier T] [--streak WEEKS] [--grant ENT] [--invites USES]",
               "give an audience (every criterion must hold) an entitlement, each member an invite code, or both",
               cc.target),
    _community("phase", "phase COMMUNITY CHALLENGE PHASE",
               f"move a challenge to a phase now ({'|'.join(cc.PHASES)})", cc.phase),
    _community("entries", "entries COMMUNITY CHALLENGE", "every entry: id, title, by, status, rank, reason",
               cc.entries),
    _community("accept", "accept ENTRY", "approve an entry for the gallery", cc.accept),
    _community("reject", "reject ENTRY REASON...", "reject an entry; its author reads the reason", cc.reject),
    _community("feature", "feature COMMUNITY CHALLENGE",
               "count a closed challenge's ballots, publish and award its featured entries", cc.feature),
    _community("poll", 'poll "QUESTION" OPTION OPTION... [--for TIME] [--on-close] [--community C]',
               "start a poll in every shard (--for: closes by itself, --on-close: results only then, "
               "--community: its members answer)", cc.poll, quoted=True),
    _community("close-poll", "close-poll POLL", "close a poll now; final results go to every shard", cc.close_poll),
)}
"""Every command the console sends to the server, by name."""


def find_command(name: str) -> Command:
    """The command called ``name`` (any case); raise CommandError listing the known ones."""
    command = COMMANDS.get(name.lower())
    if command is None:
        raise CommandError(f"unknown command {name!r} (known: {', '.join(COMMANDS)})")
    return command


def parse_command(name: str, rest: str = "") -> msg.Message:
    """The protocol message for command ``name`` with its arguments ``rest`` as typed (raises CommandError)."""
    command = find_command(name)
    try:
        return command.build(rest.strip())
    except ValueError as exc:
        raise CommandError(f"{command.name}: {exc} (usage: {command.usage})") from None


def parse_words(words: Sequence[str]) -> msg.Message:
    """The protocol message for a command given as command-line words (``["poll", "Which colour?", …]``).

    The words are put back together as they would be typed: quoted where a shell split them,
    for commands whose arguments are quoted words, so both ways give the same message.
    """
    if not words:
        raise CommandError(f"no command given (known: {', '.join(COMMANDS)})")
    command = find_command(words[0])
    rest = shlex.join(words[1:]) if command.quoted else " ".join(words[1:])
    return parse_command(command.name, rest)


def parse_line(line: str) -> msg.Message | None:
    """The protocol message for a typed or scripted line; None for a blank line or a ``#`` comment."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    name, _, rest = text.partition(" ")
    return parse_command(name, rest)


HELP_USAGE_WIDTH = 36
"""A usage longer than this has its summary on the next line, so the rest stay in one column."""


def help_text(extra: Sequence[tuple[str, str]] = ()) -> str:
    """The commands by group, one line each: how to write it and what it does (``extra``: more rows, last)."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for command in COMMANDS.values():
        groups.setdefault(command.group, []).append((command.usage, command.summary))
    if extra:
        groups["console"] = list(extra)
    lines = []
    for group, rows in groups.items():
        width = max((len(usage) for usage, _ in rows if len(usage) <= HELP_USAGE_WIDTH), default=0)
        lines.append(f"{group}:")
        for usage, summary in rows:
            if len(usage) > HELP_USAGE_WIDTH:
                lines += [f"  {usage}", f"  {' ' * width}  {summary}"]
            else:
                lines.append(f"  {usage.ljust(width)}  {summary}")
    return "\n".join(lines)
