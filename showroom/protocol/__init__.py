"""The wire protocol, sans-I/O: bytes to typed messages and back, with hard limits.

``client_messages`` and ``server_messages`` hold a typed model for every message in each
direction, ``codes`` every code the wire carries, ``limits`` every size and rate, and
``snapshot`` the packed frames.
"""

from showroom.protocol.codec import MoveInput, decode_client, decode_server, encode, encode_error, encode_move, frame
from showroom.protocol.codes import MOVE_DIR, MOVE_TO, Activity
from showroom.protocol.errors import CloseCode, ErrorCode, ProtocolError
from showroom.protocol.limits import PROTOCOL_VERSION, TICK_HZ

__all__ = [
    "Activity", "CloseCode", "ErrorCode", "MOVE_DIR", "MOVE_TO", "MoveInput", "PROTOCOL_VERSION", "ProtocolError",
    "TICK_HZ", "decode_client", "decode_server", "encode", "encode_error", "encode_move", "frame",
]
