"""What the dashboard's browser tests and its screenshot script share: a real server on 127.0.0.1 in a
background thread (the anniversary show as an event of the Maison Lumen Circle, with the example
communities and a data directory), visitors from :mod:`wsclient` run on the server's loop, a small
PNG made by hand, and headless Chromium from Debian driven by Playwright.

Chromium is Debian's ``/usr/bin/chromium`` (``apt-get install chromium``), never a browser that
Playwright downloads.
"""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from conftest import ANNIVERSARY, ROOT
from PIL import Image
from wsclient import Client

from server.net.app import RunningServer, start_server
from showroom.community import load_community
from showroom.scene import parse_scene

TOKEN = "dashboard-host-token"
CIRCLE = "maison-lumen-circle"
CHALLENGE = "rose-sketch-w1"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
WAIT_S = 20.0
"""Longest wait for any one thing to happen over the server."""

T = TypeVar("T")


def scene_text() -> str:
    """The anniversary scene as an event of the Maison Lumen Circle (open to everyone)."""
    text = ANNIVERSARY.read_text()
    if f'community = "{CIRCLE}"' not in text:
        text = text.replace("shard_capacity =", f'community = "{CIRCLE}"\nshard_capacity =', 1)
    return text


class Served:
    """A server on its own event loop in a background thread; ``run`` carries coroutines over to it."""

    def __init__(self, data_dir: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="dashboard-server", daemon=True)
        self.thread.start()
        text = scene_text()
        communities = [load_community(path) for path in sorted((ROOT / "communities").glob("*.toml"))]
        self.server: RunningServer = self.run(start_server(parse_scene(text, "anniversary-runway.toml"),
                                                           scene_text=text, port=0, host_token=TOKEN,
                                                           data_dir=data_dir, communities=communities))
        self.url = self.server.url
        self.page = f"http://{self.server.host}:{self.server.port}/host"
        self.clients: list[Client] = []

    def run(self, coroutine: Coroutine[Any, Any, T], limit_s: float = WAIT_S) -> T:
        """Run ``coroutine`` on the server's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(asyncio.wait_for(coroutine, limit_s), self.loop).result(limit_s + 5)

    def stop(self) -> None:
        for client in self.clients:
            try:
                self.run(client.close(), 5)
            except (OSError, TimeoutError):  # already closed by the server
                pass
        self.run(self.server.stop(), 30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    # ---- a host connection, for setting the stage -----------------------------------------------
    def host(self, message: dict[str, Any], *answers: str) -> dict[str, Any]:
        """Send one host message on a fresh host connection and return its answer (or error)."""
        async def ask() -> dict[str, Any]:
            client = await Client.connect(self.url)
            try:
                assert (await client.join("stage", role="host", token=TOKEN))["type"] == "welcome"
                await client.send(message)
                return await client.next_message(lambda m: m["type"] in (*answers, "host_ok", "error"))
            finally:
                await client.close()
        return self.run(ask())

    def phase(self, phase: str, challenge: str = CHALLENGE) -> None:
        answer = self.host({"type": "host_phase", "community": CIRCLE, "challenge": challenge, "phase": phase})
        assert answer["type"] == "host_ok", answer

    # ---- visitors -------------------------------------------------------------------------------
    def member(self, name: str) -> Client:
        """A visitor at the event who joined the circle with a fresh invite code."""
        code = self.host({"type": "host_invite", "community": CIRCLE, "max_uses": 1}, "invite")["code"]

        async def join() -> Client:
            client = await Client.connect(self.url)
            await client.send({"type": "join", "v": 3, "name": name, "role": "visitor", "invite": code})
            client.welcome = await client.next_message(lambda m: m["type"] in ("welcome", "error"))
            assert client.welcome["type"] == "welcome", client.welcome
            return client
        client = self.run(join())
        self.clients.append(client)
        return client

    def visitor(self, name: str) -> Client:
        """A visitor at the event, not a member of any community."""
        async def join() -> Client:
            client = await Client.connect(self.url)
            assert (await client.join(name))["type"] == "welcome"
            return client
        client = self.run(join())
        self.clients.append(client)
        return client

    def upload(self, client: Client, title: str, picture: bytes, challenge: str = CHALLENGE) -> dict[str, Any]:
        """Upload ``picture`` as an entry in parts; the ``entry`` answer."""
        return self.run(client.enter(CIRCLE, challenge, title, picture))

    def answer_poll(self, client: Client, option: int) -> dict[str, Any]:
        """Answer the open poll the visitor was shown; the personal ``poll_answered`` event."""
        async def answer() -> dict[str, Any]:
            def shown() -> dict[str, Any] | None:
                return next((e for e in [*client.personal, *client.events] if e.get("type") == "poll"), None)
            while shown() is None:
                await client.recv()
            poll = shown()
            assert poll is not None
            await client.send({"type": "poll_answer", "poll": poll["poll"], "option": option})
            while True:
                found = next((e for e in client.personal if e.get("type") == "poll_answered"), None)
                if found is not None:
                    return found
                value = await client.recv()
                if isinstance(value, dict) and value.get("type") == "error":
                    raise AssertionError(value)
        return self.run(answer())


def png(width: int, height: int, colour: tuple[int, int, int], seed: int = 0) -> bytes:
    """An RGB PNG of one colour with a little noise."""
    noise = np.random.default_rng(seed).integers(-12, 13, (height, width, 3))
    out = io.BytesIO()
    Image.fromarray(np.clip(np.asarray(colour) + noise, 0, 255).astype(np.uint8), "RGB").save(out, "PNG")
    return out.getvalue()


def launch(playwright: Any) -> Any:
    """Debian's headless Chromium, through Playwright."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
