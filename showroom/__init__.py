"""Showroom: a virtual showroom and runway event simulator."""

__version__ = "0.1.0"

EXAMPLE_SCENE = "scenes/anniversary-runway.toml"
"""The example scene every command defaults to, relative to the repository (see :mod:`showroom.settings`)."""
