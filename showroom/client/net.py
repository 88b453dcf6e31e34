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


class ConnectError(ShowroomError):
    """The server could not be reached or refused the join."""


class Connection:
    """One visitor's WebSocket to the event server."""

    def __init__(self, url: str, name: str, *, wallet: str | None = None, role: str = "visitor",
                 token: str = "", open_timeout_s: float = 10.0) -> None:
        self.wallet = wallet or None
        self.inbox: queue.Queue[tuple[Any, float]] = queue.Queue(maxsize=INBOX_MAX)
        seat = None
        for _hop in range(MAX_HOPS):  # an event over workers: its front door hands the visitor to a worker
            self.ws = self._open(url, open_timeout_s)
            self.ws.send(encode(msg.Join(v=PROTOCOL_VERSION, name=name, role=role, token=token, wallet=self.wallet,
                                         seat=seat)))
            try:
                first = decode_server(self.ws.recv(open_timeout_s))
            except TimeoutError:
                self.ws.close()
                raise ConnectError(f"{url} did not answer the join within {open_timeout_s:g} s") from None
            except ConnectionClosed as exc:
                raise ConnectError(f"{url} closed the connection: {exc}") from None
            if isinstance(first, dict) and first.get("type") == "handover" and isinstance(first.get("url"), str):
                self.ws.close()
                url, seat = first["url"], first.get("seat") or None
                continue
            self.inbox.put_nowait((first, time.monotonic()))
            break
        else:
            raise ConnectError(f"handed over {MAX_HOPS} times without a welcome; last {url}")
        self.url = url
        """The worker's URL after a handover (the server's otherwise)."""
        self.closed_reason: str | None = None
        self.seq = 0
        self.dropped = 0
        self._reader = threading.Thread(target=self._read, name="showroom-net", daemon=True)
        self._reader.start()

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
        try:
            for data in self.ws:
                if isinstance(data, str):
                    continue
                item = (decode_server(data), time.monotonic())
                try:
                    self.inbox.put_nowait(item)
                except queue.Full:
                    self.dropped += 1  # the frame task stalled: drop the oldest, keep the newest
                    try:
                        self.inbox.get_nowait()
                    except queue.Empty:
                        pass
                    self.inbox.put_nowait(item)
        except ConnectionClosed as exc:
            self.closed_reason = f"closed by server: {exc.rcvd.code if exc.rcvd else 1006} {exc.rcvd.reason if exc.rcvd else ''}".strip()
        except Exception as exc:  # a decode fault or a broken socket ends the session, visibly
            self.closed_reason = f"connection lost: {exc}"
        else:
            self.closed_reason = "closed"

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
        if self.closed_reason is None:
            self.send(msg.Leave())
        try:
            self.ws.close()
        except Exception:
            pass
        self._reader.join(timeout=2.0)
