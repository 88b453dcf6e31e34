"""Reading a community file: TOML, then the models, then the scenes its residencies play, then the cross-checks.

The reading steps are the scene format's own (``showroom.scene.load``), so a community file's
mistakes read like a scene's: ``FILE: key.path: reason``, one line per cause.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from showroom.community.checks import check_community
from showroom.community.model import Community
from showroom.scene.load import FileError, SceneError, load_scene, parse_toml, read_source, validate_data
from showroom.scene.model import Scene
from showroom.scene.nesting import too_deep_reason
from showroom.scene.problems import one_line_per_cause

__all__ = ["COMMUNITY_NESTING", "CommunityError", "community_from_data", "load_community", "parse_community"]

COMMUNITY_NESTING = 4
"""Deepest nesting a valid community file has: ``loyalty.tiers[i].perks`` (table, array, table, array)."""

_TOO_DEEP = too_deep_reason("community file", COMMUNITY_NESTING)


class CommunityError(FileError):
    """A community file that cannot be used; each problem names the file, the key path and the reason."""


def load_community(path: str | Path) -> Community:
    """Read, validate and cross-check a community file, raising :class:`CommunityError` on any problem.

    The scenes its residencies play are found relative to the file's folder.
    """
    return parse_community(read_source(path, CommunityError), str(path), Path(path).parent)


def parse_community(text: str, source: str = "<community>", base_dir: str | Path | None = None) -> Community:
    """Parse community TOML text; ``source`` names it in errors, ``base_dir`` (default: the working folder) holds its scenes."""
    return community_from_data(parse_toml(text, source, CommunityError, _TOO_DEEP), source, base_dir)


def community_from_data(data: Mapping[str, Any], source: str = "<community>",
                        base_dir: str | Path | None = None) -> Community:
    """Validate already-parsed community data (a dict as ``tomllib`` returns it)."""
    community = validate_data(Community, data, source, CommunityError, _TOO_DEEP)
    problems = check_community(community, _residency_scenes(community, Path(base_dir or ".")))
    if problems:
        raise CommunityError(source, one_line_per_cause(problems))
    return community


def _residency_scenes(community: Community, base_dir: Path) -> dict[str, Scene | str]:
    """Each residency's scene as written -> the scene, or one line saying why it cannot play."""
    scenes: dict[str, Scene | str] = {}
    for residency in community.residencies:
        if residency.scene not in scenes:
            scenes[residency.scene] = _scene(residency.scene, base_dir)
    return scenes


def _scene(written: str, base_dir: Path) -> Scene | str:
    path = base_dir / written
    if not path.is_file():
        return f"no scene file {written!r} (looked for {path})"
    try:
        return load_scene(path)
    except SceneError as exc:
        first = exc.lines()[0].removeprefix(f"{exc.source}: ")
        more = len(exc.lines()) - 1
        tail = f" (and {more} more problem{'s' if more > 1 else ''}: showroom scene validate {path})" if more else ""
        return f"{written} is not a valid scene: {first}{tail}"
