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
from showroom.scene.nesting import MAX_NESTING, TOO_DEEP, data_too_deep, text_too_deep
from showroom.scene.problems import format_path, one_line_per_cause, pydantic_problems

__all__ = ["SceneError", "format_path", "load_scene", "parse_scene", "scene_from_data"]


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
    deep = text_too_deep(text)
    if deep is not None:
        line, column = deep
        where = f"at line {line}, column {column}"
        raise SceneError(source, [("", f"nested deeper than {MAX_NESTING} levels ({where}); {TOO_DEEP}")])
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SceneError(source, [("", f"not valid TOML: {exc}")]) from None
    return scene_from_data(data, source)


def scene_from_data(data: Mapping[str, Any], source: str = "<scene>") -> Scene:
    """Validate already-parsed scene data (a dict as ``tomllib`` returns it)."""
    deep = data_too_deep(data)
    if deep is not None:
        raise SceneError(source, [(deep, f"nested deeper than {MAX_NESTING} levels; {TOO_DEEP}")])
    try:
        scene = Scene.model_validate(data)
    except ValidationError as exc:
        raise SceneError(source, one_line_per_cause(pydantic_problems(exc, data, Scene))) from None
    problems = check_scene(scene)
    if problems:
        raise SceneError(source, one_line_per_cause(problems))
    return scene
