"""Reading a scene file: TOML through ``tomllib``, then the models, then the cross-checks."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from showroom.errors import ShowroomError
from showroom.scene.checks import Problem, check_scene
from showroom.scene.model import Scene

_TAGS = ("kind", "when")


class SceneError(ShowroomError):
    """A scene file that cannot be used; each problem names the file, the key path and the reason."""

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = list(problems)
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """One line per problem: ``file: key.path: reason``."""
        return [f"{self.source}: {path}: {message}" if path else f"{self.source}: {message}"
                for path, message in self.problems]


def load_scene(path: str | Path) -> Scene:
    """Read, validate and cross-check a scene file, raising :class:`SceneError` on any problem."""
    source = str(path)
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise SceneError(source, [("", "no such file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SceneError(source, [("", f"cannot read: {exc}")]) from None
    return parse_scene(text, source)


def parse_scene(text: str, source: str = "<scene>") -> Scene:
    """Parse scene TOML text; ``source`` names it in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SceneError(source, [("", f"not valid TOML: {exc}")]) from None
    return scene_from_data(data, source)


def scene_from_data(data: Mapping[str, Any], source: str = "<scene>") -> Scene:
    """Validate already-parsed scene data (a dict as ``tomllib`` returns it)."""
    try:
        scene = Scene.model_validate(data)
    except ValidationError as exc:
        raise SceneError(source, _pydantic_problems(exc, data)) from None
    problems = check_scene(scene)
    if problems:
        raise SceneError(source, problems)
    return scene


def format_path(loc: Sequence[int | str], data: Any) -> str:
    """Turn a pydantic error location into a key path such as ``timeline[3].mascot``.

    Tagged-union locations carry the tag right after the list index
    (``('timeline', 3, 'walk', 'mascot')``); the tag is not a key of the file, so it is dropped
    there when the data at that point has it as its kind. A pose cue has both the tag ``pose``
    and a key ``pose``, so the tag is kept only as the last item naming a real key (an unknown key).
    """
    parts: list[str] = []
    node = data
    after_index = False
    for position, item in enumerate(loc):
        if isinstance(item, int):
            parts.append(f"[{item}]")
            node = node[item] if isinstance(node, list) and -len(node) <= item < len(node) else None
            after_index = True
            continue
        is_tag = after_index and isinstance(node, Mapping) and any(node.get(t) == item for t in _TAGS)
        after_index = False
        if is_tag and (item not in node or position < len(loc) - 1):
            continue
        parts.append(f".{item}" if parts else item)
        node = node.get(item) if isinstance(node, Mapping) else None
    return "".join(parts)


def _pydantic_problems(exc: ValidationError, data: Any) -> list[Problem]:
    problems: list[Problem] = []
    for error in exc.errors(include_url=False):
        path = format_path(error["loc"], data)
        kind = error["type"]
        if kind == "missing":
            message = "missing required key"
        elif kind == "extra_forbidden":
            message = "unknown key"
        elif kind == "union_tag_invalid":
            ctx = error.get("ctx", {})
            message = f"unknown {ctx.get('discriminator', 'kind').strip(chr(39))} {ctx.get('tag')!r} (known: {ctx.get('expected_tags')})"
        elif kind == "union_tag_not_found":
            ctx = error.get("ctx", {})
            message = f"missing {ctx.get('discriminator', 'kind')}"
        else:
            message = error["msg"].removeprefix("Value error, ")
            value = error.get("input")
            if isinstance(value, (str, int, float, bool)) and repr(value) not in message:
                message += f" (got {value!r})"
        problems.append((path, message))
    return problems
