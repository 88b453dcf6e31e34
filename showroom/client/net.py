"""The client's connection: websockets' threaded sync client, a reader thread, a bounded inbox.

Panda3D owns the main loop, so the socket is read on a background thread that decodes each
message and puts it in a bounded queue; the frame task drains it (:meth:`Connection.drain`).
Sending happens on the main thread (websockets' sync connection allows one sender and one
receiver at a time on different threads).
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from showroom.errors import ShowroomError
from showroom.protocol import client_messages as msg
from showroom.protocol.codec import decode_server, encode, encode_move
from showroom.protocol.codes import MOVE_DIR, MOVE_TO
from showroom.protocol.limits import MAX_SERVER_FRAME_BYTES, PROTOCOL_VERSION

INBOX_MAX = 256
"""Messages held for the frame task; beyond this the oldest frames are the ones to lose."""


MAX_HOPS = 3
"""Connections one join may take: the front door, the worker it names, and one more."""
REJOIN_FOR_S = 15.0
"""An event over workers: how long a visitor whose worker went away keeps trying to join again at the door."""
REJOIN_EVERY_S = 0.5
MAX_REJOINS = 5
"""Times one session joins again after losing its worker (a worker that keeps dying is reported, not chased)."""
STAY_CLOSED = (1000, 1008)
"""Close codes after which the client does not join again: a goodbye, a kick or ban (policy)."""


class ConnectError(ShowroomError):
    """The server could not be reached or refused the join."""


class Connection:
    """One visitor's WebSocket to the event server."""

    def __init__(self, url: str, name: str, *, wallet: str | None = None, role: str = "visitor",
                 token: str = "", open_timeout_s: float = 10.0) -> None:
        self.wallet = wallet or None
        self.name, self.role, self.token, self.open_timeout_s = name, role, token, open_timeout_s
        self.inbox: queue.Queue[tuple[Any, float]] = queue.Queue(maxsize=INBOX_MAX)
        self.door = url
        """The URL joined first: an event's front door when the event runs on several workers."""
        self.ws, self.url, first = self._join(url)
        """``url``: the worker's URL after a handover (the server's otherwise)."""
        self._keep(first)
        self.inbox.put_nowait((first, time.monotonic()))
        self.closed_reason: str | None = None
        self.rejoining = False
        """The worker went away: the client is joining again through the front door (the app says so)."""
        self.rejoins = 0
        self._closing = False
        self.seq = 0
        self.dropped = 0
        self._reader = threading.Thread(target=self._read, name="showroom-net", daemon=True)
        self._reader.start()

    def _join(self, url: str) -> tuple[ClientConnection, str, Any]:
        """Connect and join, following the front door's handover; the socket, its URL and the first answer."""
        seat = None
        for _hop in range(MAX_HOPS):  # an event over workers: its front door hands the visitor to a worker
            ws = self._open(url, self.open_timeout_s)
            ws.send(encode(msg.Join(v=PROTOCOL_VERSION, name=self.name, role=self.role, token=self.token,
                                    wallet=self.wallet, seat=seat)))
            try:
                first = decode_server(ws.recv(self.open_timeout_s))
            except TimeoutError:
                ws.close()
                raise ConnectError(f"{url} did not answer the join within {self.open_timeout_s:g} s") from None
            except ConnectionClosed as exc:
                raise ConnectError(f"{url} closed the connection: {exc}") from None
            if isinstance(first, dict) and first.get("type") == "handover" and isinstance(first.get("url"), str):
                ws.close()
                url, seat = first["url"], first.get("seat") or None
                continue
            return ws, url, first
        raise ConnectError(f"handed over {MAX_HOPS} times without a welcome; last {url}")

    def _keep(self, message: Any) -> None:
        """Remember the wallet a ``welcome`` names: joining again after losing a worker keeps it."""
        if isinstance(message, dict) and message.get("type") == "welcome" and message.get("wallet"):
            self.wallet = str(message["wallet"])

    @staticmethod
    def _open(url: str, open_timeout_s: float) -> ClientConnection:
        try:
            return connect(url, open_timeout=open_timeout_s, max_size=MAX_SERVER_FRAME_BYTES,
                           compression=None, proxy=None, legacy=True)
        except (OSError, TimeoutError) as exc:
            raise ConnectError(f"cannot reach {url}: {exc}") from None
        except Exception as exc:  # websockets' handshake errors (InvalidURI, InvalidStatus, ...)
            raise ConnectError(f"{url}: {exc}") from None

    def _read(self) -> None:
        while True:
            reason, code = self._read_until_closed()
            if not self._may_rejoin(code) or not self._rejoin():
                self.closed_reason = reason
                return

    def _read_until_closed(self) -> tuple[str, int | None]:
        """Read the socket until it ends; why it ended, and the close code (None: no close frame)."""
        try:
            for data in self.ws:
                if isinstance(data, str):
                    continue
                self._put((decode_server(data), time.monotonic()))
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd else None
            return f"closed by server: {code or 1006} {exc.rcvd.reason if exc.rcvd else ''}".strip(), code
        except Exception as exc:  # a decode fault or a broken socket ends the session, visibly
            return f"connection lost: {exc}", None
        return "closed", 1000

    def _put(self, item: tuple[Any, float]) -> None:
        try:
            self.inbox.put_nowait(item)
        except queue.Full:
            self.dropped += 1  # the frame task stalled: drop the oldest, keep the newest
            try:
                self.inbox.get_nowait()
            except queue.Empty:
                pass
            self.inbox.put_nowait(item)

    def _may_rejoin(self, code: int | None) -> bool:
        """Join again only a visitor of an event over workers whose worker went away (not a goodbye, a kick,
        or a server that runs the whole event itself: there the resume window and the user decide)."""
        return (not self._closing and self.role == "visitor" and self.url != self.door
                and code not in STAY_CLOSED and self.rejoins < MAX_REJOINS)

    def _rejoin(self) -> bool:
        """Join again through the front door with the wallet, for up to :data:`REJOIN_FOR_S`; the new welcome
        goes to the inbox like the first (the app starts its copy of the crowd afresh)."""
        self.rejoining = True
        deadline = time.monotonic() + REJOIN_FOR_S
        try:
            while time.monotonic() < deadline and not self._closing:
                time.sleep(REJOIN_EVERY_S)
                try:
                    ws, url, first = self._join(self.door)
                except ConnectError:
                    continue
                if not (isinstance(first, dict) and first.get("type") == "welcome"):
                    ws.close()  # e.g. event_full while the dead worker's seats lapse: try again
                    continue
                self.ws, self.url = ws, url
                self.rejoins += 1
                self._keep(first)
                self._put((first, time.monotonic()))
                return True
            return False
        finally:
            self.rejoining = False

    def drain(self, limit: int = INBOX_MAX) -> list[tuple[Any, float]]:
        """Take the received messages (decoded, with local arrival time), oldest first."""
        out = []
        for _ in range(limit):
            try:
                out.append(self.inbox.get_nowait())
            except queue.Empty:
                break
        return out

    def send(self, message: msg.Message) -> bool:
        """Send one control message; False when the connection is gone."""
        return self.send_bytes(encode(message))

    def send_bytes(self, data: bytes) -> bool:
        """Send one encoded message; False when the connection is gone."""
        if self.closed_reason is not None:
            return False
        try:
            self.ws.send(data)
            return True
        except ConnectionClosed:
            return False

    def move_to(self, x: float, y: float) -> None:
        """Ask the server to walk the avatar to the floor point ``(x, y)`` metres."""
        self.seq = (self.seq + 1) % 2**32
        self.send_bytes(encode_move(MOVE_TO, self.seq, x, y))

    def move_dir(self, dx: float, dy: float) -> None:
        """Walk in a direction (length at most 1; zero stops)."""
        self.seq = (self.seq + 1) % 2**32
        self.send_bytes(encode_move(MOVE_DIR, self.seq, dx, dy))

    def close(self) -> None:
        """Say goodbye and close the socket."""
        self._closing = True
        if self.closed_reason is None:
            self.send(msg.Leave())
        try:
            self.ws.close()
        except Exception:
            pass
        self._reader.join(timeout=2.0)
