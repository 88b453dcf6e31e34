"""Invite codes for the bots: checked as the protocol allows them, read from a file, shared by the bots of a
process and forgotten once the server says they admit nobody."""

from __future__ import annotations

from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from showroom.protocol import community as cm

DEAD_CODE = ("unknown_invite", "invite_expired", "invite_used_up", "invite_revoked")
"""Refusals that make a code useless to every bot (``full`` and ``banned`` are not about the code)."""

_CODE = TypeAdapter(cm.Code)


def check_code(code: str) -> str:
    """An invite code as the protocol allows it (4 to 32 letters, digits, ``-`` and ``_``); else ValueError."""
    try:
        return _CODE.validate_python(code)
    except ValidationError:
        raise ValueError(f"{code!r} is not an invite code (4 to 32 letters, digits, '-' and '_')") from None


def read_invites(path: str | Path) -> tuple[str, ...]:
    """The invite codes of a file, one a line (blank lines and ``#`` comments skipped); ValueError naming the line."""
    codes = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        code = line.split("#", 1)[0].strip()
        if code:
            try:
                codes.append(check_code(code))
            except ValueError as exc:
                raise ValueError(f"{path}:{number}: {exc}") from None
    return tuple(codes)


class InvitePool:
    """The invite codes the bots of one process share: those given to the run, and those members are handed."""

    def __init__(self, codes: tuple[str, ...] | list[str] = ()) -> None:
        self.codes = list(dict.fromkeys(codes))
        self.next = 0

    def take(self, index: int | None = None) -> str | None:
        """A code for a bot: bot ``index`` gets code ``index`` mod the codes (spreading their uses); else the next."""
        if not self.codes:
            return None
        if index is None:
            self.next += 1
            index = self.next
        return self.codes[index % len(self.codes)]

    def give(self, code: str) -> None:
        """A code a member was handed (a host's invite wave): others may use it."""
        if code not in self.codes:
            self.codes.append(code)

    def drop(self, code: str) -> None:
        """A code the server refused as unknown, expired, used up or revoked: nobody tries it again."""
        if code in self.codes:
            self.codes.remove(code)
