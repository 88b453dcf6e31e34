"""Panda3D configuration: a window, or offscreen rendering on a machine with no display.

Offscreen uses ``p3headlessgl`` (EGL; Mesa's llvmpipe here, real GLSL) and falls back to
``p3tinydisplay`` (software, no shaders), in which case the views draw simpler visuals.
Must run before ShowBase is created.
"""

from __future__ import annotations

import os

from panda3d.core import loadPrcFileData


def has_display() -> bool:
    """Whether a window can be opened here (an X or Wayland display is set)."""
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def configure(*, offscreen: bool, size: tuple[int, int] = (1280, 720), title: str = "Showroom",
              display: str | None = None) -> None:
    """Set Panda3D's config for a window or an offscreen buffer of ``size`` pixels.

    ``display`` forces a display module (``p3headlessgl`` or ``p3tinydisplay``; the setting
    ``display``, ``$SHOWROOM_DISPLAY``).
    """
    lines = [
        f"win-size {size[0]} {size[1]}",
        f"window-title {title}",
        "audio-library-name null",
        "sync-video false",
        "notify-level-device fatal",
        "notify-level-egldisplay error",
        "notify-level-glgsg error",
        "default-directnotify-level warning",
        "print-pipe-types false",
    ]
    if offscreen:
        lines.append("window-type offscreen")
        first = display or "p3headlessgl"
        lines.append(f"load-display {first}")
        if first != "p3tinydisplay":
            lines.append("aux-display p3tinydisplay")
    elif display:
        lines.append(f"load-display {display}")
    loadPrcFileData("showroom", "\n".join(lines))


def supports_shaders(base: object) -> bool:
    """Whether the graphics backend runs GLSL 3.30 with buffer textures and instancing."""
    win = getattr(base, "win", None)
    if win is None:
        return False
    gsg = win.getGsg()
    try:
        version = (gsg.getDriverShaderVersionMajor(), gsg.getDriverShaderVersionMinor())
    except AttributeError:
        return False
    return bool(gsg.getSupportsBasicShaders() and gsg.getSupportsBufferTexture()
                and gsg.getSupportsGeometryInstancing() and version >= (3, 3))
