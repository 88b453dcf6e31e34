"""Default values shared by the commands, importable without loading anything heavy.

:mod:`showroom.settings` lets flags, the environment and a settings file override them; the
command line's help texts and examples quote them from here.
"""

from __future__ import annotations

from pathlib import Path

EXAMPLE_SCENE = "scenes/anniversary-runway.toml"
"""The example scene every command defaults to, relative to the repository."""
BUNDLED_SCENE = Path(__file__).resolve().parents[1] / EXAMPLE_SCENE
"""The example scene beside the package, for commands run from another folder."""
COMMUNITIES = "communities"
"""The folder of community files a server serves, relative to the repository."""
BUNDLED_COMMUNITIES = Path(__file__).resolve().parents[1] / COMMUNITIES
"""The example communities beside the package."""
HOST = "127.0.0.1"
"""Where the server listens."""
PORT = 8765
"""The server's port."""
DATA_DIR = "data"
"""Where the server keeps its SQLite files and ledger key, relative to the working folder."""
EXAMPLE_URL = f"ws://{HOST}:{PORT}/"
"""The URL of a server run with the defaults, for examples."""
