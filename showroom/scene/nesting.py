"""How deeply a scene nests arrays and tables, measured without recursion.

``tomllib`` parses nested arrays and inline tables recursively, so a few thousand ``[`` end
in ``RecursionError``; a scene never needs more than a handful of levels. The text is
measured before it is parsed (brackets outside strings and comments), and the parsed data
before it is validated (dotted keys and table headers nest without brackets), so nothing
past the reader meets data deeper than :data:`MAX_NESTING`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MAX_NESTING = 32
"""Deepest nesting of arrays and tables a scene (or community) file may have."""

SCENE_NESTING = 5
"""Deepest nesting a valid scene has: ``venue.walls[i].points[j]`` (table, array, table, array, array)."""


def too_deep_reason(what: str, depth: int) -> str:
    """Why a ``what`` file nested deeper than :data:`MAX_NESTING` cannot be right, when ``depth`` levels suffice."""
    return f"a {what}'s tables and arrays nest at most {depth} levels deep"


TOO_DEEP = too_deep_reason("scene", SCENE_NESTING)
"""Why a scene nested deeper than :data:`MAX_NESTING` cannot be right (the tail of its error line)."""

_SPECIAL = re.compile(r"[\"'#\[\]{}]")
_LITERAL_END = re.compile(r"['\n]")
_BASIC_END = re.compile(r'\\.|"|\n', re.DOTALL)
_MULTILINE_BASIC_END = re.compile(r'\\.|"""', re.DOTALL)


def text_too_deep(text: str, limit: int = MAX_NESTING) -> tuple[int, int] | None:
    """Line and column (from 1) of the first ``[`` or ``{`` nested deeper than ``limit``, or None.

    Brackets inside strings and comments do not count. Text that is not valid TOML is measured
    as well as it can be; the TOML parser reports what is wrong with it.
    """
    depth = 0
    pos = 0
    while match := _SPECIAL.search(text, pos):
        char, at = match.group(), match.start()
        if char == "#":
            end = text.find("\n", at)
            pos = len(text) if end < 0 else end + 1
        elif char in "\"'":
            pos = _string_end(text, at)
        elif char in "[{":
            depth += 1
            if depth > limit:
                line = text.count("\n", 0, at) + 1
                return line, at - (text.rfind("\n", 0, at) + 1) + 1
            pos = at + 1
        else:
            depth = max(depth - 1, 0)
            pos = at + 1
    return None


def _string_end(text: str, start: int) -> int:
    """Index just past the TOML string opening at ``start`` (or the end of the text if it never closes)."""
    quote = text[start]
    if text.startswith(quote * 3, start):
        if quote == "'":
            end = text.find("'''", start + 3)
            end = len(text) if end < 0 else end + 3
        else:
            end = len(text)
            for match in _MULTILINE_BASIC_END.finditer(text, start + 3):
                if match.group() == '"""':
                    end = match.end()
                    break
        extra = 0  # the content may end in up to two quotes right before the closing three
        while extra < 2 and end < len(text) and text[end] == quote:
            end += 1
            extra += 1
        return end
    if quote == "'":
        closer = _LITERAL_END.search(text, start + 1)
        return closer.end() if closer else len(text)
    for match in _BASIC_END.finditer(text, start + 1):
        if match.group() in ('"', "\n"):
            return match.end()
    return len(text)


def data_too_deep(data: Mapping[str, Any], limit: int = MAX_NESTING) -> str | None:
    """The top-level key under which parsed data nests deeper than ``limit`` tables and arrays, or None."""
    stack: list[tuple[str, Any, int]] = [(str(key), value, 1) for key, value in data.items()]
    while stack:
        key, value, depth = stack.pop()
        if isinstance(value, Mapping):
            children: Any = value.values()
        elif isinstance(value, (list, tuple)):
            children = value
        else:
            continue
        if depth > limit:
            return key
        stack.extend((key, child, depth + 1) for child in children)
    return None
