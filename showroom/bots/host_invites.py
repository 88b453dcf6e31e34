"""Invite codes for a run, asked of the server as its host: ``--host-token`` instead of codes made beforehand.

One host connection (picows, like the bots) joins, reads the event's community from the scene of its
``welcome``, asks ``host_invite`` as often as the members wanted need (each code admits the community's
``max_uses``), and leaves. A refusal is counted in the run's community refusals, not raised: the bots
then come as plain visitors.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from typing import Any

from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from showroom.bots.scene_info import scene_info
from showroom.bots.stats import Stats
from showroom.protocol import client_messages as msg
from showroom.protocol import community as cm
from showroom.protocol.codec import decode_server, encode
from showroom.protocol.limits import CONTROL_RATE_HZ, MAX_SERVER_FRAME_BYTES, PROTOCOL_VERSION
from showroom.scene import SceneError

MAX_MEMBERS = 500
"""A community has at most this many members (DESIGN.md): no run needs codes for more."""
ANSWER_TIMEOUT_S = 10.0
ASK_USES = 100
"""The uses asked of each code; the server grants at most the community's ``invites.max_uses``."""


class _HostListener(WSListener):
    """Whole server messages of one host connection, decoded, in a queue."""

    def __init__(self) -> None:
        self.messages: asyncio.Queue[Any] = asyncio.Queue()
        self.parts: list[bytes] = []
        self.transport: WSTransport | None = None

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type == WSMsgType.BINARY:
            self.parts = [frame.get_payload_as_bytes()]
        elif frame.msg_type == WSMsgType.CONTINUATION:
            self.parts.append(frame.get_payload_as_bytes())
        elif frame.msg_type == WSMsgType.CLOSE:
            transport.disconnect()
            return
        else:
            return
        if frame.fin:
            data, self.parts = b"".join(self.parts), []
            with contextlib.suppress(ValueError):  # msgpack's errors are ValueErrors: a broken message is skipped
                self.messages.put_nowait(decode_server(data))

    def send(self, message: msg.Message) -> None:
        assert self.transport is not None
        self.transport.send(WSMsgType.BINARY, encode(message))

    async def answer(self, *kinds: str) -> dict[str, Any]:
        """The next top-level message of one of ``kinds`` (or an ``error``)."""
        while True:
            value = await asyncio.wait_for(self.messages.get(), ANSWER_TIMEOUT_S)
            if isinstance(value, dict) and value.get("type") in (*kinds, "error"):
                return value


async def host_invites(url: str, token: str, members: int, stats: Stats) -> tuple[str, ...]:
    """Invite codes of the event's community for ``members`` bots, issued by the host; none when it cannot be done
    (no community, a wrong token, no answer), each reason counted in ``stats.community_refused``."""
    listener = _HostListener()
    try:
        await asyncio.wait_for(ws_connect(lambda: listener, url, max_frame_size=MAX_SERVER_FRAME_BYTES),
                               ANSWER_TIMEOUT_S)
        if listener.transport is None:
            raise ConnectionError
        return await _issue(listener, token, members, stats)
    except (TimeoutError, OSError, ConnectionError):
        stats.community_refused["host_invite: no answer from the server"] += 1
        return ()
    finally:
        if listener.transport is not None:
            listener.transport.disconnect()


async def _issue(host: _HostListener, token: str, members: int, stats: Stats) -> tuple[str, ...]:
    host.send(msg.Join(v=PROTOCOL_VERSION, name="loadtest-host", role="host", token=token))
    welcome = await host.answer("welcome")
    if welcome["type"] == "error":
        stats.community_refused[f"host_invite: {welcome['code']}"] += 1
        return ()
    try:
        community = scene_info(str(welcome.get("scene", ""))).community
    except SceneError:
        community = None
    if community is None:
        stats.community_refused["host_invite: the event has no community"] += 1
        return ()
    codes: list[str] = []
    needed = 1
    while len(codes) < needed:
        host.send(cm.HostInvite(community=community, max_uses=ASK_USES))
        answer = await host.answer("invite")
        if answer["type"] == "error":
            reason = answer["message"].split(":", 1)[0] if answer["code"] == "refused" else answer["code"]
            stats.community_refused[f"host_invite: {reason}"] += 1
            break
        codes.append(str(answer["code"]))
        stats.community["codes_issued"] += 1
        needed = math.ceil(min(members, MAX_MEMBERS) / max(int(answer["max_uses"]), 1))
        await asyncio.sleep(1.0 / CONTROL_RATE_HZ)  # within a host's rate of control messages
    return tuple(codes)
