"""A small test client over a real WebSocket (the `websockets` library) on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgpack
import numpy as np
import websockets

from showroom.protocol.limits import PROTOCOL_VERSION
from showroom.protocol.snapshot import CellSnapshot, CrowdCopy, unpack_cell

TIMEOUT_S = 10.0
CLOSE_WAIT_S = 1.0
"""How long ``close`` waits for the closing handshake before it hangs up."""


@dataclass(frozen=True)
class Seen:
    """What the client holds after a frame: every avatar it knows of (ids ascending) and the show."""

    tick: int
    t: float
    ids: np.ndarray
    pos: np.ndarray
    show: dict[str, Any]
    events: list[dict[str, Any]]
    snap: CellSnapshot

    def __getattr__(self, name: str) -> Any:
        return getattr(self.snap, name)  # the frame's own fields: mascots, tiers, rows…


class Client:
    """One connection: join, send, and wait for messages or frames matching a condition."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self.welcome: dict[str, Any] = {}
        self.errors: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.personal: list[dict[str, Any]] = []
        self.last: Seen | None = None
        self.crowd = CrowdCopy()
        self.seq = 0

    @classmethod
    async def connect(cls, url: str) -> Client:
        return cls(await websockets.connect(url, compression=None, max_size=2**22, open_timeout=TIMEOUT_S))

    @property
    def id(self) -> int:
        return int(self.welcome["you"])

    async def send(self, message: Any) -> None:
        await self.ws.send(msgpack.packb(message, use_bin_type=True))

    async def join(self, name: str, role: str = "visitor", token: str = "", resume: str | None = None,
                   wallet: str | None = None) -> dict:
        message = {"type": "join", "v": PROTOCOL_VERSION, "name": name, "role": role, "token": token}
        if resume:
            message["resume"] = resume
        if wallet:
            message["wallet"] = wallet
        await self.send(message)
        self.welcome = await self.next_message(lambda m: m.get("type") in ("welcome", "error"))
        return self.welcome

    async def move_to(self, x: float, y: float) -> None:
        self.seq += 1
        await self.send([1, self.seq, float(x), float(y)])

    async def recv(self) -> Any:
        data = await asyncio.wait_for(self.ws.recv(), TIMEOUT_S)
        value = msgpack.unpackb(data, raw=False, strict_map_key=False)
        if isinstance(value, list):
            personal, cell = value
            snap = unpack_cell(cell)
            self.crowd.apply(snap)
            slots = self.crowd.present()
            self.last = Seen(snap.tick, snap.t, self.crowd.ids[slots], self.crowd.pos[slots], self.crowd.show,
                             snap.events, snap)
            self.personal.extend(personal["events"])
            self.events.extend(snap.events)
        elif value.get("type") == "error":
            self.errors.append(value)
        elif value.get("type") == "awarded":  # on its own as soon as it is in the ledger, or in a frame
            self.personal.append(value)
        return value

    async def next_message(self, test: Callable[[dict], bool], limit_s: float = TIMEOUT_S) -> dict:
        """The next control message (a map) that passes ``test``."""
        async def wait() -> dict:
            while True:
                value = await self.recv()
                if isinstance(value, dict) and test(value):
                    return value
        return await asyncio.wait_for(wait(), limit_s)

    async def next_frame(self, test: Callable[[Seen], bool] = lambda s: True,
                         limit_s: float = TIMEOUT_S) -> Seen:
        """The next frame after which what the client holds passes ``test``."""
        async def wait() -> Seen:
            while True:
                value = await self.recv()
                if isinstance(value, list) and self.last is not None and test(self.last):
                    return self.last
        return await asyncio.wait_for(wait(), limit_s)

    async def enter(self, community: str, challenge: str, title: str, data: bytes, size: int | None = None) -> dict:
        """Upload ``data`` as a challenge entry in the parts the server asks for; the ``entry`` answer, or the
        first error (``size``: the size to declare, when not ``len(data)``)."""
        await self.send({"type": "entry_start", "community": community, "challenge": challenge, "title": title,
                         "size": len(data) if size is None else size})
        ready = await self.next_message(lambda m: m["type"] in ("upload", "error"))
        if ready["type"] == "error":
            return ready
        step = ready["part_bytes"]
        for index in range(ready["parts"]):
            await self.send({"type": "entry_part", "upload": ready["upload"], "index": index,
                             "data": data[index * step:(index + 1) * step]})
        await self.send({"type": "entry_done", "upload": ready["upload"]})
        return await self.next_message(lambda m: m["type"] in ("entry", "error"))

    def where(self, snap: Seen, avatar: int) -> np.ndarray | None:
        hit = np.flatnonzero(snap.ids == avatar)
        return snap.pos[hit[0]] if hit.size else None

    async def close(self) -> None:
        """Close; a client that stopped reading has a full receive queue and would never read the server's close
        frame, so after a second it hangs up instead of waiting for the closing handshake."""
        try:
            await asyncio.wait_for(self.ws.close(), CLOSE_WAIT_S)
        except TimeoutError:
            self.ws.transport.abort()
