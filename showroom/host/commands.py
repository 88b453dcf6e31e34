"""The host console's commands: a typed line (or command-line words) to a protocol message.

Pure: no sockets. Each command maps to one ``host_*`` message of docs/protocol.md, so a
script, a typed line and ``showroom host URL COMMAND …`` send exactly the same thing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from showroom.errors import ShowroomError
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


def _no_args(kind: type[msg.Message]) -> Callable[[str], msg.Message]:
    def build(rest: str) -> msg.Message:
        if rest:
            raise ValueError(f"takes no arguments, got {rest!r}")
        return kind()
    return build


def _seek(rest: str) -> msg.Message:
    return msg.HostSeek(t=parse_seconds(_one(rest, "a time such as 1:30")))


def _cue(rest: str) -> msg.Message:
    return msg.HostCue(index=_whole(_one(rest, "a cue number"), "cue number"))


def _announce(rest: str) -> msg.Message:
    text = rest
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    if not text:
        raise ValueError("needs the text to show")
    if len(text) > MAX_ANNOUNCE_CHARS:
        raise ValueError(f"the text is {len(text)} characters; at most {MAX_ANNOUNCE_CHARS}")
    return msg.HostAnnounce(text=text)


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
        return kind(visitor=_whole(_one(rest, "a visitor id"), "visitor id"))
    return build


def _one(rest: str, what: str) -> str:
    words = rest.split()
    if len(words) != 1:
        raise ValueError(f"needs {what}" if not words else f"takes one argument ({what}), got {len(words)}")
    return words[0]


def _whole(word: str, what: str) -> int:
    if not word.isdigit():
        raise ValueError(f"the {what} must be a whole number >= 0, got {word!r}")
    return int(word)


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
)}
"""Every command the console sends to the server, by name."""


def parse_command(name: str, rest: str = "") -> msg.Message:
    """The protocol message for command ``name`` with its arguments ``rest`` (raises CommandError)."""
    command = COMMANDS.get(name.lower())
    if command is None:
        raise CommandError(f"unknown command {name!r} (known: {', '.join(COMMANDS)})")
    try:
        return command.build(rest.strip())
    except ValueError as exc:
        raise CommandError(f"{command.name}: {exc} (usage: {command.usage})") from None


def parse_line(line: str) -> msg.Message | None:
    """The protocol message for a typed or scripted line; None for a blank line or a ``#`` comment."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    name, _, rest = text.partition(" ")
    return parse_command(name, rest)


def help_text(extra: Sequence[tuple[str, str]] = ()) -> str:
    """One line per command: how to write it and what it does (``extra``: more (usage, summary) rows)."""
    rows = [(c.usage, c.summary) for c in COMMANDS.values()] + list(extra)
    width = max(len(usage) for usage, _ in rows)
    return "\n".join(f"  {usage.ljust(width)}  {summary}" for usage, summary in rows)
