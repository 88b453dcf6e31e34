"""``showroom client --trace FILE``: what the client shows, one JSON line each time it changes.

A line holds what a person at the screen could report: your avatar's position (to 0.1 m),
the camera mode, whether a text box has the keyboard, whether the wallet is open, the
connection's close reason, and the text of every visible HUD, community-panel and poll
element (``texts``, keyed by where the element lives, e.g. ``hud.selfie``). The status line
is left out of ``texts`` because its clock and frame rate change every frame; ``show_t``
carries the clock, and a clock change alone writes no line. For automation (a test driving
the window reads it) and for bug reports (attach the file).

Each line is appended and the file closed again, so a crash loses nothing. No panda3d
import: widgets are read through their own methods.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

POS_STEP_DP = 1
"""Positions are rounded to this many decimals (0.1 m), so standing still writes no lines."""
UI_PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("hud", ("hud",)), ("community", ("community", "panel")), ("poll", ("community", "overlay")))
"""Where the app keeps on-screen widgets: the prefix in ``texts``, and the attribute path from the app."""
SKIP = frozenset({"status"})
"""Widgets whose text changes every frame (the status line: clock and fps)."""
MAX_DEPTH = 3


def widget_text(widget: Any) -> str | None:
    """The text a visible DirectGUI widget or OnscreenText shows (an entry: what is typed), else None."""
    if not hasattr(widget, "isHidden") or widget.isEmpty() or widget.isHidden():
        return None
    if hasattr(widget, "enterText"):  # DirectEntry
        text = widget.get()
    elif hasattr(widget, "getText"):  # OnscreenText
        text = widget.getText()
    elif hasattr(widget, "guiItem"):  # DirectButton, DirectFrame, ...
        try:
            text = widget["text"]
        except KeyError:
            return None
        if isinstance(text, (list, tuple)):  # one text per button state: the first is the one at rest
            text = text[0] if text else None
    else:
        return None
    return text if isinstance(text, str) and text else None


def visible_texts(ui: object, prefix: str) -> dict[str, str]:
    """Every visible, non-empty text among ``ui``'s attributes (lists and tuples of widgets too), keyed
    ``prefix.attribute[.index...]``."""
    out: dict[str, str] = {}

    def collect(value: Any, key: str, depth: int) -> None:
        if isinstance(value, (list, tuple)):
            if depth < MAX_DEPTH:
                for i, item in enumerate(value):
                    collect(item, f"{key}.{i}", depth + 1)
            return
        text = widget_text(value)
        if text is not None:
            out[key] = text

    for name, value in vars(ui).items():
        if not name.startswith("_") and name not in SKIP:
            collect(value, f"{prefix}.{name}", 0)
    return out


def client_view(app: Any) -> dict[str, Any]:
    """What the client shows now (see the module docstring), as plain JSON-ready values."""
    state = app.state
    me = state.me()
    texts: dict[str, str] = {}
    for prefix, path in UI_PARTS:
        part = app
        for attr in path:
            part = getattr(part, attr, None)
        if part is not None:
            texts.update(visible_texts(part, prefix))
    return {
        "you": state.you,
        "me": None if me is None else [round(float(me[0]), POS_STEP_DP), round(float(me[1]), POS_STEP_DP)],
        "camera": app.cam_ctl.follow,
        "typing": bool(app.hud.typing),
        "wallet_open": bool(app.wallet_open),
        "closed": app.conn.closed_reason,
        "texts": texts,
    }


class Trace:
    """Appends a JSON line to ``path`` whenever the view it is given differs from the last one."""

    def __init__(self, path: Path, started_s: float) -> None:
        self.path = path
        self.started_s = started_s
        self.last: dict[str, Any] | None = None
        self.lines = 0

    def record(self, view: dict[str, Any], now_s: float, show_t: float) -> bool:
        """Write ``view`` with the seconds since the start and the show clock, unless nothing changed."""
        if view == self.last:
            return False
        self.last = view
        line = {"t": round(now_s - self.started_s, 3), "show_t": round(show_t, 2), **view}
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
        self.lines += 1
        return True


def attach(app: Any, path: str) -> Trace:
    """Trace ``app`` into ``path`` from now on: a task after each frame's work records the view."""
    trace = Trace(Path(path), time.monotonic())

    def task(t: Any) -> Any:
        trace.record(client_view(app), time.monotonic(), float(app.state.show_t))
        return t.cont

    app.taskMgr.add(task, "showroom-trace", sort=10)
    return trace
