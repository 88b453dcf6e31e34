"""The HUD's words: counts with the right plural, the status line, the look and music caption
said once, and the camera mode F chose. Plain functions over plain values (no panda3d), so
what the visitor reads is tested without a window.
"""

from __future__ import annotations

from typing import Any

from showroom.scene import Scene

SEP = "  |  "
DASH = "  \u2014  "
"""Between the look and the music mark (an em dash: Panda3D's default font has no bullet or note sign)."""


def plural(count: int, one: str, many: str | None = None) -> str:
    """``count`` and the noun, singular for exactly one: ``1 visitor``, ``2 visitors``, ``0 places``."""
    return f"{count:,} {one if count == 1 else (many if many is not None else one + 's')}"


def clock(t_s: float) -> str:
    """A show time as ``m:ss``."""
    t = max(int(t_s), 0)
    return f"{t // 60}:{t % 60:02d}"


def status_line(*, title: str, show_t: float, playing: bool, seen: int, shard: int, fps: float,
                closed: str | None = None, at_event: int | None = None) -> str:
    """The top-left line: event, show clock, visitors in view (and at the whole event, once the server has
    told), shard and frame rate."""
    parts = [title, clock(show_t) + ("" if playing else " (paused)"), f"{plural(seen, 'visitor')} in view"]
    if at_event is not None:
        parts.append(f"{at_event:,} at the event")
    parts += [f"shard {shard}", f"{fps:.0f} fps"]
    if closed:
        parts.append(closed)
    return SEP.join(parts)


def look_caption(scene: Scene | None, show: dict[str, Any]) -> str:
    """The current look's name, then the music mark only when it says something else."""
    look = int(show.get("look", -1))
    name = scene.looks[look].name.strip() if scene is not None and 0 <= look < len(scene.looks) else ""
    music = str(show.get("music") or "").strip()
    if not music or music.casefold() == name.casefold():
        return name
    return f"{name}{DASH}Music: {music}" if name else f"Music: {music}"


def camera_label(follow: str, scene: Scene | None) -> str:
    """What the camera follows, and the key that changes it."""
    if follow == "me":
        what = "following you"
    elif follow.startswith("mascot:"):
        k = int(follow.split(":", 1)[1])
        mascots = scene.mascots if scene is not None else []
        what = mascots[k].name if 0 <= k < len(mascots) else "a mascot"
    else:
        what = "free"
    return f"Camera: {what} (F)"


def wallet_label(count: int) -> str:
    """The wallet button: how many passes and vouchers it holds."""
    return f"Wallet ({count})" if count else "Wallet"


WALLET_ROW_H = 0.105
"""Height of one wallet row (title and detail lines), in the HUD's corner units."""
WALLET_MAX_ROWS = 8


def wallet_panel_bottom(rows: int) -> float:
    """Where the wallet panel ends (its top is at -0.33): below the title and holder lines and the rows it shows,
    and no further (an empty wallet is a title only)."""
    shown = min(max(rows, 0), WALLET_MAX_ROWS)
    return -0.5 if shown == 0 else -0.55 - (shown - 1) * WALLET_ROW_H - 0.09


HOLDER_CHARS = 16
"""A wallet holder id longer than this is shortened in the wallet panel (it would run past its edge)."""


def short_holder(owner: str) -> str:
    """The wallet holder's id as the panel shows it: whole when short, else its start and end (``w-07be8a…a091``)."""
    if len(owner) <= HOLDER_CHARS:
        return owner
    return f"{owner[:9]}…{owner[-4:]}"


def reaction_total(count: int) -> str:
    """A reaction's event-wide total above its button: ``""`` for none, ``"980"``, ``"12.3k"``, ``"1.2M"``."""
    if count <= 0:
        return ""
    if count < 10_000:
        return f"{count:,}"
    if count < 1_000_000:
        return f"{count / 1000:.1f}k"
    return f"{count / 1_000_000:.1f}M"
