"""Reading a console command's arguments: a fixed number of words, whole numbers, free text.

Each reader raises ValueError saying what is wrong; the command table adds the usage.
"""

from __future__ import annotations

_COUNTS = {1: "one", 2: "two", 3: "three"}


def words(rest: str, *what: str) -> list[str]:
    """Exactly one word of ``rest`` per ``what`` (``"a community id"``, ``"a wallet"``)."""
    found = rest.split()
    if len(found) != len(what):
        wanted = what[0] if len(what) == 1 else f"{', '.join(what[:-1])} and {what[-1]}"
        count = _COUNTS.get(len(what), str(len(what)))
        raise ValueError(f"needs {wanted}" if len(found) < len(what) else
                         f"takes {count} argument{'s' if len(what) > 1 else ''} ({wanted}), got {len(found)}")
    return found


def whole(word: str, what: str) -> int:
    """A whole number >= 0 written in digits."""
    if not word.isdigit():
        raise ValueError(f"the {what} must be a whole number >= 0, got {word!r}")
    return int(word)


def text(rest: str) -> str:
    """Free text as typed, without one pair of quotes around it (``"Doors close at 9 # sharp"``)."""
    rest = rest.strip()
    if len(rest) >= 2 and rest[0] == rest[-1] and rest[0] in "\"'":
        rest = rest[1:-1].strip()
    return rest
