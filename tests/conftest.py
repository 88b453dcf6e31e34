"""Shared fixtures: the example scenes and small synthetic venues."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
ANNIVERSARY = ROOT / "scenes" / "anniversary-runway.toml"
RESIDENCY = ROOT / "scenes" / "weekend-residency.toml"


@pytest.fixture(scope="session")
def anniversary():
    """The fifth-anniversary example scene, validated."""
    from showroom.scene import load_scene

    return load_scene(ANNIVERSARY)


def as_editor_sees_it(value: Any) -> Any:
    """TOML data as a schema-aware editor checks it: dates and times as ISO strings."""
    if isinstance(value, dict):
        return {key: as_editor_sees_it(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_editor_sees_it(item) for item in value]
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    return value


@pytest.fixture(scope="session")
def postgres_url():
    """A private PostgreSQL server for the session (see ``tests/private_postgres.py``); its URL."""
    from private_postgres import private_postgres

    with private_postgres() as url:
        yield url


@pytest.fixture(scope="session")
def seeded_circle(tmp_path_factory):
    """The Lumen Circle's seeded history (``test_community_report.seed``), written once for the session: the
    report's tests read it where it is, others copy its data directory before they write."""
    from test_community_report import seed

    return seed(tmp_path_factory.mktemp("circle") / "data")
