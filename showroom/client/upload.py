"""A challenge entry's upload in parts, and the pacing of what the community views send.

The server takes at most 10 control messages a second (burst 20) and 200 upload parts a second
(docs/protocol.md, "Rates"); a message beyond a bucket is refused, and refusals count towards
closing the connection. So community requests and parts leave through :class:`Pacer`, under
those rates with room to spare for the visitor's own clicks. Plain data, no panda3d.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from showroom.protocol import community as cm
from showroom.protocol.base import Message
from showroom.protocol.limits import MAX_IMAGE_BYTES

CONTROL_PER_S = 4.0
CONTROL_BURST = 6.0
PARTS_PER_S = 150.0
PARTS_BURST = 60.0
PNG = b"\x89PNG\r\n\x1a\n"
JPEG = b"\xff\xd8\xff"


class EntryFileError(ValueError):
    """A file that cannot be a challenge entry (not a PNG or JPEG, empty, or over 4 MiB)."""


def check_entry_file(data: bytes, name: str) -> None:
    """Refuse, with a reason a person can act on, a file the server would refuse."""
    if not data:
        raise EntryFileError(f"{name}: the file is empty")
    if len(data) > MAX_IMAGE_BYTES:
        raise EntryFileError(f"{name}: {len(data) / 2**20:.1f} MiB is over the 4 MiB an entry may be")
    if not data.startswith((PNG, JPEG)):
        raise EntryFileError(f"{name}: not a PNG or JPEG file")


@dataclass
class Upload:
    """One entry on its way: started, then its parts in order, then done."""

    community: str
    challenge: str
    title: str
    data: bytes
    upload: int | None = None
    part_bytes: int = 0
    next_part: int = 0
    parts: int = 0
    done_sent: bool = False

    def start(self) -> cm.EntryStart:
        """The ``entry_start`` that opens the upload."""
        return cm.EntryStart(community=self.community, challenge=self.challenge, title=self.title, size=len(self.data))

    def ready(self, reply: cm.UploadReady) -> None:
        """The server's ``upload`` answer: where and how to send the parts."""
        self.upload, self.part_bytes, self.parts, self.next_part = reply.upload, reply.part_bytes, reply.parts, 0

    def take_parts(self, count: int) -> list[Message]:
        """Up to ``count`` next parts, then ``entry_done`` once every part is out."""
        if self.upload is None or self.done_sent:
            return []
        out: list[Message] = []
        while len(out) < count and self.next_part < self.parts:
            k = self.next_part
            chunk = self.data[k * self.part_bytes:(k + 1) * self.part_bytes]
            out.append(cm.EntryPart(upload=self.upload, index=k, data=chunk))
            self.next_part += 1
        if self.next_part >= self.parts and len(out) < count:
            out.append(cm.EntryDone(upload=self.upload))
            self.done_sent = True
        return out

    @property
    def progress(self) -> float:
        """The share of parts sent (0-1)."""
        return self.next_part / self.parts if self.parts else 0.0


@dataclass
class Bucket:
    """A token bucket: ``rate`` tokens a second, at most ``burst`` saved."""

    rate: float
    burst: float
    tokens: float = -1.0
    at: float | None = None

    def take(self, now_s: float, want: int) -> int:
        """How many of ``want`` may go now (and spend them)."""
        if self.at is None:
            self.tokens, self.at = self.burst, now_s
        self.tokens = min(self.burst, self.tokens + (now_s - self.at) * self.rate)
        self.at = now_s
        n = max(0, min(want, int(self.tokens)))
        self.tokens -= n
        return n


@dataclass
class Pacer:
    """The community views' outgoing messages, let out under the server's rates."""

    queue: deque[Message] = field(default_factory=deque)
    control: Bucket = field(default_factory=lambda: Bucket(CONTROL_PER_S, CONTROL_BURST))
    parts: Bucket = field(default_factory=lambda: Bucket(PARTS_PER_S, PARTS_BURST))

    def send(self, message: Message) -> None:
        """Queue a control message (a repeat of one already waiting is dropped)."""
        if message not in self.queue:
            self.queue.append(message)

    def due(self, now_s: float, upload: Upload | None) -> list[Message]:
        """The messages to send now: queued requests, then the upload's next parts."""
        out = [self.queue.popleft() for _ in range(self.control.take(now_s, len(self.queue)))]
        if upload is not None and upload.upload is not None and not upload.done_sent:
            wanted = upload.parts - upload.next_part + 1
            out += upload.take_parts(self.parts.take(now_s, wanted))
        return out
