"""A connection as the event logic sees it: bytes out and a way to hang up."""

from __future__ import annotations

from typing import Protocol


class Link(Protocol):
    """One client connection; the network layer implements it (:class:`server.net.transport.PicowsLink`)."""

    def send(self, data: bytes) -> bool:
        """Send a control message (never skipped)."""

    def send_frame(self, head: bytes, shared: bytes) -> bool:
        """Send one snapshot message: a per-visitor head, then the cell's shared payload; may be
        skipped for a slow reader."""

    def close(self, code: int, reason: str) -> None:
        """Close the connection with a WebSocket close code."""
