"""Problems as a person reads them: pydantic's errors as key paths and reasons, one line per cause."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

Problem = tuple[str, str]
"""A key path such as ``timeline[3].mascot`` (empty for the file as a whole) and what is wrong there."""

TAGS = ("kind", "when")
"""Keys that tell the members of a tagged union apart."""

MISSING = "missing required key"
UNKNOWN = "unknown key"
_SHOWN_PLACES = 2
"""Places named in a merged line before the rest are counted (``a, b and 9 more``)."""
_INDEX = re.compile(r"\[\d+\]")
_KEY = "[key]"
"""The last item of a pydantic location whose error is about a table's key rather than its value."""
_QUOTED = re.compile(r"'([^']*)'")


def known(kind: str, names: Iterable[str]) -> str:
    """``(known mascots: ember, kit, teddy)``: what a reference could have named, sorted."""
    listed = ", ".join(sorted(names))
    return f"(known {kind}: {listed})" if listed else f"(no {kind} are defined)"


def duplicates(section: str, ids: Sequence[str]) -> Iterator[Problem]:
    """A problem at ``section[i].id`` for every id that an earlier entry of the section already has."""
    seen: set[str] = set()
    for index, ident in enumerate(ids):
        if ident in seen:
            yield f"{section}[{index}].id", f"duplicate id {ident!r}"
        seen.add(ident)


def format_path(loc: Sequence[int | str], data: Any) -> str:
    """Turn a pydantic error location into a key path such as ``timeline[3].mascot``.

    Tagged-union locations carry the tag right after the list index
    (``('timeline', 3, 'walk', 'mascot')``); the tag is not a key of the file, so it is dropped
    there when the data at that point has it as its kind. A pose cue has both the tag ``pose``
    and a key ``pose``, so the tag is kept only as the last item naming a real key (an unknown key).
    """
    return _locate(loc, data)[0]


def _locate(loc: Sequence[int | str], data: Any) -> tuple[str, Any]:
    """The key path of ``loc`` and the data holding its last item (None where the data has no such place)."""
    parts: list[str] = []
    node = parent = data
    after_index = False
    for position, item in enumerate(loc):
        parent = node
        if isinstance(item, int):
            parts.append(f"[{item}]")
            node = node[item] if isinstance(node, list) and -len(node) <= item < len(node) else None
            after_index = True
            continue
        is_tag = after_index and isinstance(node, Mapping) and any(node.get(t) == item for t in TAGS)
        after_index = False
        if is_tag and (item not in node or position < len(loc) - 1):
            continue
        parts.append(f".{item}" if parts else item)
        node = node.get(item) if isinstance(node, Mapping) else None
    return "".join(parts), parent


def pydantic_problems(exc: ValidationError, data: Any, root: type[BaseModel]) -> list[Problem]:
    """One problem per pydantic error of ``root``; a mistyped key is one line suggesting the right one.

    The suggestion replaces the "missing required key" that pydantic also reports for the key
    it suggests: both lines are about the same word.
    """
    problems: list[Problem] = []
    suggested: set[str] = set()
    for error in exc.errors(include_url=False):
        loc, kind, ctx = error["loc"], error["type"], error.get("ctx", {})
        if loc and loc[-1] == _KEY:  # a key of a table whose keys are a fixed set (``loyalty.points.selfy``)
            loc = loc[:-1]
            if kind == "literal_error":
                kind = "unknown_table_key"
        path = format_path(loc, data)
        if kind == "missing":
            problems.append((path, MISSING))
        elif kind == "extra_forbidden":
            message, suggestion = _unknown_key(loc, data, root)
            problems.append((path, message))
            if suggestion is not None:
                suggested.add(_join(_parent(path, str(loc[-1])), suggestion))
        elif kind == "unknown_table_key":
            problems.append((path, _unknown_table_key(loc, data, _QUOTED.findall(str(ctx.get("expected", ""))))))
        elif kind == "union_tag_invalid":
            tag, value = str(ctx.get("discriminator", "kind")).strip("'"), str(ctx.get("tag"))
            close = difflib.get_close_matches(value, [str(_tag(model)) for model in _models_at(root, loc)], n=1)
            known = f"; did you mean {close[0]!r}?" if close else f" (known: {ctx.get('expected_tags')})"
            problems.append((path, f"unknown {tag} {value!r}{known}"))
        elif kind == "union_tag_not_found":
            tag = str(ctx.get("discriminator", "kind")).strip("'")
            typo = _mistyped_tag(tag, loc, data, root)
            problems.append((path, f"missing {tag!r}") if typo is None
                            else (_join(path, typo), f"{UNKNOWN}; did you mean {tag!r}?"))
        else:
            message = error["msg"].removeprefix("Value error, ")
            value = error.get("input")
            if isinstance(value, (str, int, float, bool)) and repr(value) not in message:
                message += f" (got {value!r})"
            problems.append((path, message))
    return [(path, message) for path, message in problems if not (message == MISSING and path in suggested)]


def _unknown_key(loc: Sequence[int | str], data: Any, root: type[BaseModel]) -> tuple[str, str | None]:
    """What to say of an unknown key, and the known key it most looks like (one its table lacks), if any."""
    known = _fields(root, loc[:-1])
    table = _locate(loc, data)[1]
    present = set(table) if isinstance(table, Mapping) else set()
    close = difflib.get_close_matches(str(loc[-1]), sorted(known - present), n=1)
    if close:
        return f"{UNKNOWN}; did you mean {close[0]!r}?", close[0]
    return (f"{UNKNOWN} (known keys: {', '.join(sorted(known))})" if known else UNKNOWN), None


def _unknown_table_key(loc: Sequence[int | str], data: Any, allowed: list[str]) -> str:
    """What to say of a key outside the fixed set a table's keys come from, suggesting the closest one it lacks."""
    table = _locate(loc, data)[1]
    present = set(table) if isinstance(table, Mapping) else set()
    close = difflib.get_close_matches(str(loc[-1]), sorted(set(allowed) - present), n=1)
    if close:
        return f"{UNKNOWN}; did you mean {close[0]!r}?"
    return f"{UNKNOWN} (known keys: {', '.join(sorted(allowed))})" if allowed else UNKNOWN


def _parent(path: str, key: str) -> str:
    return path.removesuffix(key).removesuffix(".")


def _join(parent: str, key: str) -> str:
    return f"{parent}.{key}" if parent else key


def _mistyped_tag(tag: str, loc: Sequence[int | str], data: Any, root: type[BaseModel]) -> str | None:
    """A key of the table at ``loc`` that is no field of any member of its union and looks like ``tag``."""
    node = data
    for item in loc:
        if isinstance(item, int) and isinstance(node, list) and -len(node) <= item < len(node):
            node = node[item]
        elif isinstance(item, str) and isinstance(node, Mapping):
            node = node.get(item)
        else:
            return None
    if not isinstance(node, Mapping):
        return None
    known = _fields(root, loc)
    unknown = [str(key) for key in node if key not in known]
    return next((key for key in unknown if difflib.get_close_matches(key, [tag], n=1)), None)


def _fields(root: type[BaseModel], loc: Sequence[int | str]) -> set[str]:
    """Field names of the model (or of every member of the union) at a pydantic location."""
    return {name for model in _models_at(root, loc) for name in model.model_fields}


def _models_at(root: type[BaseModel], loc: Sequence[int | str]) -> list[type[BaseModel]]:
    """The model at a pydantic location, or every member of the union there."""
    models = [root]
    for item in loc:
        if isinstance(item, int):
            continue
        if len(models) > 1:
            tagged = [m for m in models if _tag(m) == item]
            if tagged:
                models = tagged
                continue
        models = [inner for m in models if item in m.model_fields
                  for inner in _models_in(m.model_fields[item].annotation)]
    return models


def _tag(model: type[BaseModel]) -> object:
    for tag in TAGS:
        field = model.model_fields.get(tag)
        if field is not None and get_args(field.annotation):
            return get_args(field.annotation)[0]
    return None


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """Model classes a field holds directly, in a union, or as the items of a list or tuple."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in get_args(annotation) for model in _models_in(arg)]


def one_line_per_cause(problems: Sequence[Problem]) -> list[Problem]:
    """Merge problems with the same reason into one line naming the places, in order of first appearance.

    ``unknown mascot 'tedy'`` at ``timeline[3].mascot`` and ten more places is one mistake, so it
    is one line: ``timeline[3].mascot, timeline[5].mascot and 9 more: unknown mascot 'tedy' ...``.
    A reason about a key itself is merged only for the same key name (``colour`` mistyped in every
    mascot), and a missing key stays one line per place: nothing in the file leads to the places
    a merged line leaves unnamed.
    """
    places: dict[tuple[str, str], list[str]] = {}
    for path, message in problems:
        if message == MISSING or not path:
            cause = (message, path)
        elif message.startswith(UNKNOWN):
            cause = (message, _last_key(path))
        else:
            cause = (message, "")
        places.setdefault(cause, []).append(path)
    return [(_places(paths), message) for (message, _), paths in places.items()]


def _last_key(path: str) -> str:
    return _INDEX.sub("", path).rpartition(".")[2]


def _places(paths: list[str]) -> str:
    if len(paths) == 1:
        return paths[0]
    if len(paths) <= _SHOWN_PLACES + 1:
        return f"{', '.join(paths[:-1])} and {paths[-1]}"
    return f"{', '.join(paths[:_SHOWN_PLACES])} and {len(paths) - _SHOWN_PLACES} more"
