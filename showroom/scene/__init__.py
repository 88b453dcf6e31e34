"""Scene files: an event written as TOML, validated by pydantic models and cross-checked."""

from showroom.scene.load import SceneError, load_event, load_scene, parse_scene, scene_from_data
from showroom.scene.model import Event, Scene

__all__ = ["Event", "Scene", "SceneError", "load_event", "load_scene", "parse_scene", "scene_from_data"]
