"""Bytes to typed client messages and server messages to bytes; no sockets here.

A client WebSocket message is one msgpack value:

* a **map** with a ``type`` key: a control message (:mod:`showroom.protocol.messages`);
* an **array** ``[kind, seq, x, y]``: movement input, ``kind`` 1 = walk to the floor point
  ``(x, y)`` in metres, 2 = walk in direction ``(x, y)`` (length at most 1, 0 = stop);
  ``seq`` is the client's input counter (0 .. 2**32-1), echoed back as ``ack``.

Limits on sizes, lengths and nesting are enforced by the msgpack unpacker before any
string, array or map is allocated, then nesting depth is checked.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgpack
from pydantic import ValidationError

from showroom.protocol.client_messages import CLIENT_MESSAGE, CLIENT_TYPES, Message
from showroom.protocol.codes import MOVE_DIR, MOVE_TO
from showroom.protocol.errors import ErrorCode, ProtocolError
from showroom.protocol.limits import (
    MAX_ARRAY_LEN,
    MAX_BIN_BYTES,
    MAX_CLIENT_FRAME_BYTES,
    MAX_DEPTH,
    MAX_MAP_LEN,
    MAX_STR_BYTES,
)
from showroom.protocol.server_messages import ErrorReply, ServerMessage


@dataclass(frozen=True)
class MoveInput:
    """A movement input: ``kind`` MOVE_TO (a point) or MOVE_DIR (a direction), and the client's ``seq``."""

    kind: int
    seq: int
    x: float
    y: float


def decode_client(data: bytes | bytearray | memoryview) -> Message | MoveInput:
    """Decode one client message, raising :class:`ProtocolError` with a code on any fault."""
    if len(data) > MAX_CLIENT_FRAME_BYTES:
        raise ProtocolError(ErrorCode.TOO_LARGE, f"message of {len(data)} bytes; the limit is {MAX_CLIENT_FRAME_BYTES}")
    value = _unpack(data)
    if type(value) is list and len(value) == 4 and not any(type(v) in (list, dict) for v in value):
        return _move(value)  # the hot path: a flat movement array needs no depth walk
    if _depth(value) > MAX_DEPTH:
        raise ProtocolError(ErrorCode.TOO_DEEP, f"nesting deeper than {MAX_DEPTH}")
    if isinstance(value, list):
        return _move(value)
    if not isinstance(value, dict):
        raise ProtocolError(ErrorCode.INVALID, f"expected a map or a movement array, got {type(value).__name__}")
    kind = value.get("type")
    if kind not in CLIENT_TYPES:
        shown = repr(kind) if isinstance(kind, str) else f"a {type(kind).__name__}"
        raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"unknown message type {shown}")
    try:
        return CLIENT_MESSAGE.validate_python(value)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"][1:]) or "message"
        raise ProtocolError(ErrorCode.INVALID, f"{kind}: {where}: {first['msg']}") from None


_LIMITS = dict(
    max_str_len=MAX_STR_BYTES,
    max_bin_len=MAX_BIN_BYTES,
    max_array_len=MAX_ARRAY_LEN,
    max_map_len=MAX_MAP_LEN,
    max_ext_len=0,
    strict_map_key=True,
    use_list=True,
    raw=False,
)


def _unpack(data: bytes | bytearray | memoryview) -> Any:
    try:
        value = msgpack.unpackb(data, **_LIMITS)
    except msgpack.ExtraData:
        raise ProtocolError(ErrorCode.BAD_FRAME, "trailing bytes after the message") from None
    except msgpack.StackError:  # nesting past msgpack's own stack (1024 levels)
        raise ProtocolError(ErrorCode.TOO_DEEP, f"nesting deeper than {MAX_DEPTH}") from None
    except ValueError as exc:  # limits (ValueError subclasses), bad UTF-8, bad keys, truncation
        text = str(exc)
        if "exceeds" in text:
            code = ErrorCode.TOO_LARGE
        elif "incomplete" in text.lower() or isinstance(exc, msgpack.OutOfData):
            code, text = ErrorCode.BAD_FRAME, "truncated msgpack"
        else:
            code = ErrorCode.BAD_FRAME
        raise ProtocolError(code, text if text == "truncated msgpack" else f"cannot decode msgpack: {text or type(exc).__name__}") from None
    except Exception as exc:  # msgpack raises a few other types for malformed input
        raise ProtocolError(ErrorCode.BAD_FRAME, f"cannot decode msgpack: {type(exc).__name__}") from None
    return value


def _depth(value: Any, level: int = 1) -> int:
    """Nesting depth; bounded work since the frame size and lengths are already bounded."""
    if not isinstance(value, (dict, list)):
        return level - 1
    if level > MAX_DEPTH:
        return level
    items = value.values() if isinstance(value, dict) else value
    return max((_depth(v, level + 1) for v in items), default=level)


def _move(value: list[Any]) -> MoveInput:
    if len(value) != 4:
        raise ProtocolError(ErrorCode.INVALID, f"movement is [kind, seq, x, y], got {len(value)} items")
    kind, seq, x, y = value
    if type(kind) is not int or kind not in (MOVE_TO, MOVE_DIR):
        raise ProtocolError(ErrorCode.INVALID, f"movement kind must be {MOVE_TO} (to a point) or {MOVE_DIR} (direction)")
    if type(seq) is not int or not 0 <= seq < 2**32:
        raise ProtocolError(ErrorCode.INVALID, "movement seq must be an integer in 0 .. 2**32-1")
    if not all(type(c) in (int, float) for c in (x, y)):
        raise ProtocolError(ErrorCode.INVALID, "movement x and y must be numbers")
    x, y = float(x), float(y)
    if not (math.isfinite(x) and math.isfinite(y)):
        raise ProtocolError(ErrorCode.OUT_OF_BOUNDS, "movement coordinates must be finite")
    if kind == MOVE_DIR and x * x + y * y > 1.0 + 1e-6:
        raise ProtocolError(ErrorCode.INVALID, "a movement direction may be at most 1 long")
    return MoveInput(kind, seq, x, y)


_F64_PAIR = struct.Struct(">xdxd")


def quick_move(data: bytes) -> tuple[int, int, float, float] | None:
    """``(kind, seq, x, y)`` of a valid movement array in its usual encoding, read straight from the bytes.

    The usual encoding is what msgpack writes for ``[kind, seq, x, y]`` with float
    coordinates: a fixint kind, an unsigned seq, two float64. Anything else (integer or
    float32 coordinates, a fault) gives None, and :func:`decode_client` judges it. Movement is
    most of what clients send, and this skips building the list and the checks around it.
    """
    n = len(data)
    if n < 21 or n > 25 or data[0] != 0x94:
        return None
    kind = data[1]
    if kind != MOVE_TO and kind != MOVE_DIR:
        return None
    tag = data[2]
    if tag < 0x80:
        seq, at = tag, 3
    elif tag == 0xCC:
        seq, at = data[3], 4
    elif tag == 0xCD:
        seq, at = int.from_bytes(data[3:5], "big"), 5
    elif tag == 0xCE:
        seq, at = int.from_bytes(data[3:7], "big"), 7
    else:
        return None
    if n != at + 18 or data[at] != 0xCB or data[at + 9] != 0xCB:
        return None
    x, y = _F64_PAIR.unpack_from(data, at)
    if x - x != 0.0 or y - y != 0.0:  # inf or nan
        return None
    if kind == MOVE_DIR and x * x + y * y > 1.0 + 1e-6:
        return None
    return kind, seq, x, y


def encode(message: Message | ServerMessage) -> bytes:
    """Encode a control message (client -> server) or a server message as one msgpack value."""
    return msgpack.packb(message.wire(), use_bin_type=True)


def encode_move(kind: int, seq: int, x: float, y: float) -> bytes:
    """A movement input ``[kind, seq, x, y]`` (:data:`MOVE_TO` or :data:`MOVE_DIR`) as a client sends it."""
    return msgpack.packb([kind, seq, float(x), float(y)])


def encode_error(code: ErrorCode, message: str, ref: str | None = None) -> bytes:
    """An ``error`` message: a code from :class:`ErrorCode`, a human message, the offending type."""
    return encode(ErrorReply(code=code, message=message, ref=ref))


def frame_head(ack: int, you: int, events: Sequence[ServerMessage]) -> bytes:
    """The per-visitor start of a snapshot frame; the shared cell payload follows it unchanged."""
    personal = {"ack": ack, "you": you, "events": [e.wire() for e in events]}
    return b"\x92" + msgpack.packb(personal, use_bin_type=True)


_HEAD_ACK = b"\x92\x83\xa3ack"
_HEAD_YOU = b"\xa3you"
_HEAD_NO_EVENTS = b"\xa6events\x90"


_INT = msgpack.Packer().pack


def frame_head_plain(ack: int, you: int) -> bytes:
    """The head of a frame with no personal events: the same bytes as :func:`frame_head`, built without a dict."""
    return b"".join((_HEAD_ACK, _INT(ack), _HEAD_YOU, _INT(you), _HEAD_NO_EVENTS))


def frame(ack: int, you: int, events: Sequence[ServerMessage], cell_payload: bytes) -> bytes:
    """A snapshot frame: ``[personal, cell]`` where ``cell`` is already-encoded msgpack.

    The cell part is encoded once per viewer cell (or group catching up from the same tick) and
    shared by every visitor who needs it; only the small personal part (acknowledgement,
    personal events) is encoded per visitor.
    """
    return frame_head(ack, you, events) + cell_payload


_PLAIN_HEAD_END = b"\xa6events\x90"
_ST = b"\xa2st\xcb"
_F64 = struct.Struct(">d")


def plain_frame_time(data: bytes) -> float | None:
    """``st`` of a snapshot frame with no personal and no cell events, read without decoding it.

    None for any other message (decode those with :func:`decode_server`). Most frames are
    plain; a client that only needs their timing (a load-test bot) skips the full decode.
    """
    if data[:2] != b"\x92\x83":
        return None
    end = data.find(_PLAIN_HEAD_END, 2, 40)
    if end < 0 or not data.endswith(_PLAIN_HEAD_END):
        return None
    at = data.find(_ST, end + 8, end + 64)
    return None if at < 0 else _F64.unpack_from(data, at + 4)[0]


def decode_server(data: bytes) -> Any:
    """Decode a server message (used by clients and bots): a map, or a frame ``[personal, cell]``."""
    return msgpack.unpackb(data, raw=False, strict_map_key=False)
