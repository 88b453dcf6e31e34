"""Reading a scene file: TOML through ``tomllib``, then the models, then the cross-checks.

The steps before the cross-checks (reading, the nesting guard, TOML, the models and their
problems as key paths) are shared with the other TOML formats (community files), so every
format reports its mistakes the same way.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from showroom.errors import ShowroomError
from showroom.scene.checks import Problem, check_scene
from showroom.scene.model import Scene
from showroom.scene.nesting import MAX_NESTING, TOO_DEEP, data_too_deep, text_too_deep
from showroom.scene.problems import format_path, one_line_per_cause, pydantic_problems

__all__ = [
    "FileError", "SceneError", "format_path", "load_scene", "parse_scene", "parse_toml", "read_source",
    "scene_from_data", "validate_data",
]


class FileError(ShowroomError):
    """A file that cannot be used; each problem names the file, the key path and the reason."""

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = list(problems)
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """One line per problem: ``file: key.path: reason``."""
        return [f"{self.source}: {path}: {message}" if path else f"{self.source}: {message}"
                for path, message in self.problems]


class SceneError(FileError):
    """A scene file that cannot be used; each problem names the file, the key path and the reason."""


M = TypeVar("M", bound=BaseModel)


def read_source(path: str | Path, error: type[FileError]) -> str:
    """The UTF-8 text of a file, raising ``error`` (one line) when it is missing or unreadable."""
    source = str(path)
    try:
        return Path(path).read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise error(source, [("", "no such file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(source, [("", f"cannot read: {exc}")]) from None


def parse_toml(text: str, source: str, error: type[FileError], too_deep: str) -> dict[str, Any]:
    """TOML text as data, refusing nesting past :data:`MAX_NESTING` (``too_deep`` says why) before parsing it."""
    deep = text_too_deep(text)
    if deep is not None:
        line, column = deep
        where = f"at line {line}, column {column}"
        raise error(source, [("", f"nested deeper than {MAX_NESTING} levels ({where}); {too_deep}")])
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(source, [("", f"not valid TOML: {exc}")]) from None


def validate_data(model: type[M], data: Mapping[str, Any], source: str, error: type[FileError], too_deep: str) -> M:
    """Parsed data as ``model``, raising ``error`` with one line per cause (types, limits, unknown keys)."""
    deep = data_too_deep(data)
    if deep is not None:
        raise error(source, [(deep, f"nested deeper than {MAX_NESTING} levels; {too_deep}")])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(source, one_line_per_cause(pydantic_problems(exc, data, model))) from None


def load_scene(path: str | Path) -> Scene:
    """Read, validate and cross-check a scene file, raising :class:`SceneError` on any problem."""
    return parse_scene(read_source(path, SceneError), str(path))


def load_event(path: str | Path) -> Scene:
    """:func:`load_scene` for a scene to serve: a crowd scenario (no runway) is refused, naming what to do instead."""
    scene = load_scene(path)
    if scene.venue.runway is None:
        raise SceneError(str(path), [("venue.runway", "this is a crowd scenario (no runway, no show): run it with "
                                                      f"`showroom sim {path}`, or `showroom validate crowd`")])
    return scene


def parse_scene(text: str, source: str = "<scene>") -> Scene:
    """Parse scene TOML text; ``source`` names it in error messages."""
    return scene_from_data(parse_toml(text, source, SceneError, TOO_DEEP), source)


def scene_from_data(data: Mapping[str, Any], source: str = "<scene>") -> Scene:
    """Validate already-parsed scene data (a dict as ``tomllib`` returns it)."""
    scene = validate_data(Scene, data, source, SceneError, TOO_DEEP)
    problems = check_scene(scene)
    if problems:
        raise SceneError(source, one_line_per_cause(problems))
    return scene
