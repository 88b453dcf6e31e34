"""The wire protocol, sans-I/O: bytes to typed messages and back, with hard limits."""

from showroom.protocol.codec import MOVE_DIR, MOVE_TO, MoveInput, decode_client, decode_server, encode, encode_error, frame
from showroom.protocol.errors import CloseCode, ErrorCode, ProtocolError
from showroom.protocol.limits import PROTOCOL_VERSION

__all__ = [
    "CloseCode", "ErrorCode", "MOVE_DIR", "MOVE_TO", "MoveInput", "PROTOCOL_VERSION", "ProtocolError",
    "decode_client", "decode_server", "encode", "encode_error", "frame",
]
