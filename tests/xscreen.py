"""A private X screen for window tests: Xvfb on a display it picks itself, input through
xdotool (real key presses, XTEST), and grabs of what the screen shows (Pillow over XCB).

Never uses the caller's ``$DISPLAY``. A missing tool fails the test with the Debian package to
install (``.ci/run`` installs them); nothing here skips.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from PIL import Image, ImageGrab

TOOLS = {"Xvfb": "xvfb", "xdotool": "xdotool"}
"""Each program the window tests run, and the Debian package that has it."""
START_LIMIT_S = 10.0
XDO_LIMIT_S = 5.0


def require_tools() -> None:
    """Fail (not skip) naming the Debian package for each program that is missing."""
    missing = [f"{tool} (Debian package {package})" for tool, package in TOOLS.items() if shutil.which(tool) is None]
    if missing:
        packages = " ".join(TOOLS[t] for t in TOOLS if shutil.which(t) is None)
        pytest.fail(f"window tests need {', '.join(missing)}: apt-get install {packages}  (.ci/run does)",
                    pytrace=False)


class XScreen:
    """One Xvfb server: ``size`` pixels, 24-bit, no TCP; :meth:`stop` ends it."""

    def __init__(self, size: tuple[int, int] = (1280, 800)) -> None:
        require_tools()
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (Xvfb's messages, kept until stop)
        read, write = os.pipe()
        try:
            self.proc = subprocess.Popen(
                ["Xvfb", "-displayfd", str(write), "-screen", "0", f"{size[0]}x{size[1]}x24", "-nolisten", "tcp"],
                pass_fds=(write,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.log)
        finally:
            os.close(write)
        try:
            number = self._display_number(read)
        except BaseException:
            self.stop()
            raise
        finally:
            os.close(read)
        self.display = f":{number}"
        self.size = size

    def _display_number(self, fd: int) -> int:
        """Xvfb writes the display it took to ``-displayfd`` once it accepts clients."""
        deadline = time.monotonic() + START_LIMIT_S
        data = b""
        while not data.endswith(b"\n"):
            left = deadline - time.monotonic()
            ready, _, _ = select.select([fd], [], [], max(left, 0))
            chunk = os.read(fd, 16) if ready else b""
            if not chunk:
                self.log.seek(0)
                err = self.log.read().decode(errors="replace")[-800:]
                raise RuntimeError(f"Xvfb did not start within {START_LIMIT_S:.0f} s "
                                   f"(exit {self.proc.poll()}): {err.strip() or 'no output'}")
            data += chunk
        return int(data)

    def env(self) -> dict[str, str]:
        """This process's environment, with only this screen as the display."""
        env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "SHOWROOM_DISPLAY")}
        env["DISPLAY"] = self.display
        return env

    def xdo(self, *args: str, limit_s: float = XDO_LIMIT_S) -> str:
        """Run ``xdotool args`` on this screen; its output (a failure raises with xdotool's message)."""
        done = subprocess.run(["xdotool", *args], env=self.env(), capture_output=True, text=True, timeout=limit_s,
                              check=False)
        if done.returncode != 0:
            raise RuntimeError(f"xdotool {' '.join(args)}: exit {done.returncode}: {done.stderr.strip()}")
        return done.stdout

    def find_window(self, title: str, limit_s: float, alive: subprocess.Popen | None = None) -> str:
        """The id of the window named exactly ``title``, once it is mapped (``alive``: fail early if it exits)."""
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            if alive is not None and alive.poll() is not None:
                raise RuntimeError(f"the program exited ({alive.returncode}) before its window {title!r} showed")
            done = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", f"^{title}$"], env=self.env(),
                                  capture_output=True, text=True, timeout=XDO_LIMIT_S, check=False)
            ids = done.stdout.split()
            if ids:
                return ids[0]
            time.sleep(0.2)
        raise RuntimeError(f"no window named {title!r} within {limit_s:.0f} s")

    def geometry(self, window: str) -> tuple[int, int, int, int]:
        """The window's left, top, width and height on the screen, in pixels."""
        values = dict(line.split("=", 1) for line in self.xdo("getwindowgeometry", "--shell", window).split())
        return int(values["X"]), int(values["Y"]), int(values["WIDTH"]), int(values["HEIGHT"])

    def focus(self, window: str) -> None:
        """Give ``window`` the keyboard (there is no window manager to ask)."""
        self.xdo("windowfocus", "--sync", window)

    def key(self, *keys: str) -> None:
        """Press and release each key (X keysym names: ``Return``, ``Tab``, ``p``)."""
        self.xdo("key", "--delay", "60", *keys)

    def hold(self, key: str, seconds: float) -> None:
        """Hold ``key`` down for ``seconds``."""
        self.xdo("keydown", key)
        try:
            time.sleep(seconds)
        finally:
            self.xdo("keyup", key)

    def type(self, text: str) -> None:
        """Type ``text`` a key at a time."""
        self.xdo("type", "--delay", "40", text, limit_s=XDO_LIMIT_S + 0.05 * len(text))

    def grab(self, box: tuple[int, int, int, int] | None = None, save: Path | None = None) -> Image.Image:
        """What the screen shows (``box``: left, top, width, height), saved as a PNG to ``save`` if given."""
        bbox = None if box is None else (box[0], box[1], box[0] + box[2], box[1] + box[3])
        image = ImageGrab.grab(bbox=bbox, xdisplay=self.display).convert("RGB")
        if save is not None:
            save.parent.mkdir(parents=True, exist_ok=True)
            image.save(save)
        return image

    def stop(self) -> None:
        """End the X server (and wait for it)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()
