"""Shared defaults of every command, in one place: flags override the environment, which
overrides a settings file, which overrides the defaults written here.

- **Flags**: whatever a command was given on its command line (only what was given).
- **Environment**: ``SHOWROOM_<NAME>``, e.g. ``SHOWROOM_PORT=9000``, ``SHOWROOM_HOST_TOKEN=…``.
- **File**: ``showroom.toml`` in the working folder, or the file named by ``$SHOWROOM_CONFIG``;
  its keys are the field names below (``port = 9000``).

The command line reads these once (:func:`load_settings`) and hands plain values to the
server, the client and the bots; nothing else reads the environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from showroom import defaults
from showroom.errors import ShowroomError
from showroom.protocol.limits import TICK_HZ

ENV_PREFIX = "SHOWROOM_"
CONFIG_ENV = ENV_PREFIX + "CONFIG"
"""Names the settings file to read instead of ``./showroom.toml``."""
CONFIG_FILE = "showroom.toml"
Port = Annotated[int, Field(ge=0, le=65535)]


class SettingsError(ShowroomError):
    """A setting with a value that cannot be used, from a flag, the environment or the settings file."""


class Settings(BaseSettings):
    """Every shared default: where the server listens and keeps its data, the tick rate, the host
    token, where the client saves photos and wallet tokens, and which display it uses."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    scene: Path = Field(Path(defaults.EXAMPLE_SCENE), description="scene file served by default")
    communities: Path = Field(Path(defaults.COMMUNITIES), description="folder of community files the server serves")
    host: str = Field(defaults.HOST, description="address the server listens on")
    port: Port = Field(defaults.PORT, description="port the server listens on (0 picks a free one)")
    data_dir: Path = Field(Path(defaults.DATA_DIR), description="where the server keeps its SQLite files and ledger key")
    database: str | None = Field(None, description="PostgreSQL URL (postgresql://…) for the ledger, shared by every "
                                 "worker of the event (default: SQLite in the data directory)")
    broker: str | None = Field(None, description="Redis URL (redis://…) of the seat registry and bus that an event "
                               "spread over workers shares (serve --workers)")
    host_token: str | None = Field(None, description="token hosts join with (a random one is printed when unset)")
    tick_hz: Annotated[int, Field(ge=5, le=60)] = Field(TICK_HZ, description="server ticks and frames per second")
    photos: Path = Field(Path.home() / "Pictures" / "Showroom", description="where the client saves selfie photos")
    wallet_dir: Path = Field(Path.home() / ".showroom", description="where the client keeps wallet tokens")
    display: str | None = Field(None, description="Panda3D display module to force (p3headlessgl, p3tinydisplay)")

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Flags, then the environment, then the settings file."""
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=config_path())

    def communities_path(self) -> Path:
        """The community folder: the setting, or the bundled examples when run away from the repository."""
        if self.communities == Path(defaults.COMMUNITIES) and not self.communities.exists():
            return defaults.BUNDLED_COMMUNITIES
        return self.communities

    def scene_path(self) -> Path:
        """The scene to use: the setting, or the bundled example when run away from the repository."""
        if self.scene == Path(defaults.EXAMPLE_SCENE) and not self.scene.exists():
            return defaults.BUNDLED_SCENE
        return self.scene


def config_path() -> Path:
    """The settings file: ``$SHOWROOM_CONFIG``, else ``./showroom.toml`` (which need not exist)."""
    return Path(os.environ.get(CONFIG_ENV) or CONFIG_FILE)


def load_settings(**flags: Any) -> Settings:
    """The settings with these flags on top (flags given as None are not given)."""
    given = {k: v for k, v in flags.items() if v is not None}
    named = os.environ.get(CONFIG_ENV)
    if named and not Path(named).is_file():
        raise SettingsError(f"${CONFIG_ENV}: {named}: no such settings file")
    try:
        return Settings(**given)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            key = ".".join(str(p) for p in error["loc"])
            where = f"--{key.replace('_', '-')}" if key in given else f"${ENV_PREFIX}{key.upper()} or {config_path()}"
            problems.append(f"settings: {key} ({where}): {error['msg']}")
        raise SettingsError("\n".join(problems)) from None
    except ValueError as exc:  # a settings file that is not valid TOML
        raise SettingsError(f"settings: {config_path()}: {exc}") from None
