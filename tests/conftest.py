"""Shared fixtures: the example scenes and small synthetic venues."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ANNIVERSARY = ROOT / "scenes" / "anniversary-runway.toml"
RESIDENCY = ROOT / "scenes" / "weekend-residency.toml"


@pytest.fixture(scope="session")
def anniversary():
    """The fifth-anniversary example scene, validated."""
    from showroom.scene import load_scene

    return load_scene(ANNIVERSARY)
