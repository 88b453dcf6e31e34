"""The community manager's console commands: typed arguments to ``host_*`` community messages.

Pure like :mod:`showroom.host.commands`, which lists these builders with their usage. Each
builder takes the arguments as typed (the rest of the line after the command's name) and
raises ValueError saying what is wrong; values are checked by the protocol's own models, so
a typo is caught before anything is sent.
"""

from __future__ import annotations

import math
import shlex
from typing import Any, get_args

from pydantic import TypeAdapter, ValidationError

from showroom.host import arguments
from showroom.protocol import community as cm
from showroom.protocol.base import Message
from showroom.protocol.limits import MAX_POLL_OPTIONS, MAX_QUESTION_CHARS, MAX_TITLE_CHARS
from showroom.scene.rewards import Duration
from showroom.scene.timecode import parse_seconds

PHASES: tuple[str, ...] = get_args(cm.Phase)
"""A challenge's phases, in calendar order."""
POLL_OPTIONS = "--for TIME, --on-close, --community C"
SEGMENTS: tuple[str, ...] = get_args(cm.Segment)
"""The RFM segments an audience may name."""
TARGET_OPTIONS = "--segment S[,S...], --tier T, --streak WEEKS, --grant ENTITLEMENT, --invites USES"

_EXPECTED = {
    "community": "a community id such as weekend-residency-club",
    "challenge": "a challenge id such as weekly-sketch-w1",
    "role": "a role id of the community file such as curator",
    "wallet": "a wallet as requests lists it (w- and 32 hex digits)",
    "poll": "a poll id as poll printed it",
    "max_uses": "USES, a whole number from 1 to 100",
    "days": "DAYS, more than 0 and at most 7",
    "reason": f"a reason of at most {MAX_TITLE_CHARS} characters",
    "question": f"a question of at most {MAX_QUESTION_CHARS} characters",
    "options": f"2 to {MAX_POLL_OPTIONS} options of at most {MAX_TITLE_CHARS} characters each",
    "seconds": "--for a time above 0 and up to 7 days",
    "segments": f"--segment with up to {MAX_POLL_OPTIONS} of {', '.join(SEGMENTS)}",
    "min_tier": "--tier with a tier id of the community file such as gold",
    "min_streak": "--streak with a number of weeks from 1 to 520",
    "grant": "--grant with an entitlement id of the community file such as rose-pocket-square",
    "invites": "--invites with the uses of each member's code, from 1 to 100",
}
"""What each field of a community message must be, as the error for a bad value says it."""
_DURATION: TypeAdapter[float] = TypeAdapter(Duration)


def invite(rest: str) -> Message:
    """``invite COMMUNITY [USES] [DAYS]``: an invite code (the community file caps both)."""
    given = rest.split()
    if not 1 <= len(given) <= 3:
        raise ValueError("needs a community id, then optionally how many uses and how many days"
                         if not given else f"takes at most three arguments, got {len(given)}")
    uses = arguments.whole(given[1], "number of uses") if len(given) > 1 else None
    days = _number(given[2], "DAYS") if len(given) > 2 else None
    return _message(cm.HostInvite, community=given[0], max_uses=uses, days=days)


def requests(rest: str) -> Message:
    """``requests COMMUNITY``: the pending join requests."""
    (community,) = arguments.words(rest, "a community id")
    return _message(cm.HostRequests, community=community)


def approve(rest: str) -> Message:
    """``approve COMMUNITY WALLET``: let a pending request in."""
    community, wallet = arguments.words(rest, "a community id", "a wallet")
    return _message(cm.HostDecide, community=community, wallet=wallet, approve=True)


def refuse(rest: str) -> Message:
    """``refuse COMMUNITY WALLET [REASON...]``: turn a pending request down."""
    given = rest.split(maxsplit=2)
    if len(given) < 2:
        raise ValueError("needs a community id and a wallet, then optionally a reason")
    reason = arguments.text(given[2]) if len(given) > 2 else ""
    return _message(cm.HostDecide, community=given[0], wallet=given[1], approve=False, reason=reason or None)


def role(rest: str) -> Message:
    """``role COMMUNITY WALLET ROLE``: give a member another role."""
    community, wallet, name = arguments.words(rest, "a community id", "a wallet", "a role")
    return _message(cm.HostRole, community=community, wallet=wallet, role=name)


def expel(rest: str) -> Message:
    """``expel COMMUNITY WALLET``: ban a wallet from the community for good."""
    community, wallet = arguments.words(rest, "a community id", "a wallet")
    return _message(cm.HostExpel, community=community, wallet=wallet)


def members(rest: str) -> Message:
    """``members COMMUNITY``: the members with role, tier and points, and the invite codes."""
    (community,) = arguments.words(rest, "a community id")
    return _message(cm.HostMembers, community=community)


def revoke(rest: str) -> Message:
    """``revoke COMMUNITY CODE``: withdraw an invite code."""
    community, code = arguments.words(rest, "a community id", "an invite code")
    return _message(cm.HostRevoke, community=community, code=code)


def report(rest: str) -> Message:
    """``report COMMUNITY``: the members by RFM segment, with loyalty."""
    (community,) = arguments.words(rest, "a community id")
    return _message(cm.HostReport, community=community)


def target(rest: str) -> Message:
    """``target COMMUNITY [--segment S,S] [--tier T] [--streak WEEKS] [--grant ENT] [--invites USES]``."""
    given = rest.split()
    if not given or given[0].startswith("--"):
        raise ValueError("needs a community id first")
    fields: dict[str, Any] = {}
    names = {"--segment": "segments", "--tier": "min_tier", "--streak": "min_streak", "--grant": "grant",
             "--invites": "invites"}
    at = 1
    while at < len(given):
        name, equals, value = given[at].partition("=")
        if name not in names:
            raise ValueError(f"unknown option {given[at]!r} (options: {TARGET_OPTIONS})")
        if not equals:
            at += 1
            if at == len(given):
                raise ValueError(f"{name} needs a value")
            value = given[at]
        if names[name] in fields:
            raise ValueError(f"{name} is given twice (give several segments as --segment a,b)")
        if name == "--segment":
            fields["segments"] = [s.strip().lower() for s in value.split(",") if s.strip()]
        elif name in ("--streak", "--invites"):
            fields[names[name]] = arguments.whole(value, "number of weeks" if name == "--streak" else "number of uses")
        else:
            fields[names[name]] = value
        at += 1
    if "grant" not in fields and "invites" not in fields:
        raise ValueError("says what to give: --grant ENTITLEMENT, --invites USES, or both")
    return _message(cm.HostTarget, community=given[0], **fields)


def phase(rest: str) -> Message:
    """``phase COMMUNITY CHALLENGE PHASE``: move a challenge to a phase now."""
    community, challenge, name = arguments.words(rest, "a community id", "a challenge id", "a phase")
    if name.lower() not in PHASES:
        raise ValueError(f"the phase must be one of {', '.join(PHASES)}, got {name!r}")
    return _message(cm.HostPhase, community=community, challenge=challenge, phase=name.lower())


def entries(rest: str) -> Message:
    """``entries COMMUNITY CHALLENGE``: every entry of a challenge with its status."""
    community, challenge = arguments.words(rest, "a community id", "a challenge id")
    return _message(cm.HostEntries, community=community, challenge=challenge)


def accept(rest: str) -> Message:
    """``accept ENTRY``: approve an entry for the gallery."""
    (entry,) = arguments.words(rest, "an entry number")
    return _message(cm.HostModerate, entry=arguments.whole(entry, "entry number"), approve=True)


def reject(rest: str) -> Message:
    """``reject ENTRY REASON...``: reject an entry; its author reads the reason."""
    given = rest.split(maxsplit=1)
    reason = arguments.text(given[1]) if len(given) > 1 else ""
    if not reason:
        raise ValueError("needs an entry number and the reason its author will read")
    return _message(cm.HostModerate, entry=arguments.whole(given[0], "entry number"), approve=False, reason=reason)


def feature(rest: str) -> Message:
    """``feature COMMUNITY CHALLENGE``: publish a closed challenge's featured entries."""
    community, challenge = arguments.words(rest, "a community id", "a challenge id")
    return _message(cm.HostFeature, community=community, challenge=challenge)


def poll(rest: str) -> Message:
    """``poll QUESTION OPTION OPTION... [--for TIME] [--on-close] [--community C]``, split as a shell would."""
    try:
        given = shlex.split(rest)
    except ValueError as exc:  # shlex says "No closing quotation"
        raise ValueError(f"{str(exc).lower()}; put the question, and any option of several words, "
                         "in quotes") from None
    plain: list[str] = []
    fields: dict[str, Any] = {}
    at = 0
    while at < len(given):
        word = given[at]
        name, equals, value = word.partition("=")
        if name in ("--for", "--community"):
            if not equals:
                at += 1
                if at == len(given):
                    raise ValueError(f"{name} needs a value")
                value = given[at]
            fields["seconds" if name == "--for" else "community"] = _seconds(value) if name == "--for" else value
        elif word == "--on-close":
            fields["results"] = "on_close"
        elif word.startswith("--"):
            raise ValueError(f"unknown option {word!r} (options: {POLL_OPTIONS})")
        else:
            plain.append(word)
        at += 1
    if len(plain) < 3:
        raise ValueError("needs a question and at least two options")
    return _message(cm.HostPoll, question=plain[0], options=plain[1:], **fields)


def close_poll(rest: str) -> Message:
    """``close-poll POLL``: close a poll now; its final counts go to every shard."""
    (poll_id,) = arguments.words(rest, "a poll id")
    return _message(cm.HostPollClose, poll=poll_id)


def _number(word: str, what: str) -> float:
    try:
        value = float(word)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ValueError(f"{what} must be a number such as 3 or 0.5, got {word!r}")
    return value


def _seconds(word: str) -> float:
    """A time for ``--for``: ``90``, ``90s``, ``1:30``, or ``10m``, ``2h``, ``1d``."""
    try:
        seconds = parse_seconds(word)
    except ValueError:
        try:
            seconds = _DURATION.validate_python(word)
        except ValidationError:
            raise ValueError(f"--for takes a time such as 90, 1:30, 10m or 2h, got {word!r}") from None
    if seconds <= 0:
        raise ValueError(f"--for takes a time above 0, got {word!r}")
    return seconds


def _message(kind: type[Message], **fields: Any) -> Message:
    """The message with these fields (None: left at its default); a bad value says what was expected."""
    try:
        return kind(**{name: value for name, value in fields.items() if value is not None})
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = str(error["loc"][0]) if error["loc"] else ""
        raise ValueError(f"expected {_EXPECTED.get(field, field or 'other values')}, got {error['input']!r}") from None
