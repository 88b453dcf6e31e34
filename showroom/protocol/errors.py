"""Error codes a server answers with, and the close codes it ends a connection with."""

from __future__ import annotations

from enum import Enum


class ErrorCode(str, Enum):
    """The ``code`` of an ``error`` message; each comes with a human ``message``."""

    BAD_FRAME = "bad_frame"              # not msgpack, truncated, or a text frame
    TOO_LARGE = "too_large"              # a string, array or map over the limits
    TOO_DEEP = "too_deep"                # nesting deeper than the limit
    UNKNOWN_TYPE = "unknown_type"        # a map whose "type" names no message
    INVALID = "invalid"                  # a known message with missing or wrong fields
    BAD_VERSION = "bad_version"          # join with another protocol version
    NOT_JOINED = "not_joined"            # anything but join before joining
    ALREADY_JOINED = "already_joined"    # join twice on one connection
    BAD_TOKEN = "bad_token"              # host role without the host token
    FORBIDDEN = "forbidden"              # a host command from a visitor or bot
    BANNED = "banned"                    # this name is banned from the event
    EVENT_FULL = "event_full"            # every shard is at capacity
    OUT_OF_BOUNDS = "out_of_bounds"      # a move target outside the venue or not finite
    RATE_LIMITED = "rate_limited"        # faster than the documented rates
    NOT_NEAR = "not_near"                # a selfie asked for from too far away
    NO_SESSION = "no_session"            # the mascot holds no selfie session now
    QUEUE_FULL = "queue_full"            # the mascot's selfie queue is full
    UNKNOWN_TARGET = "unknown_target"    # an unknown mascot, visitor, cue or entitlement
    RESUME_FAILED = "resume_failed"      # a resume token that is unknown or expired
    REFUSED = "refused"                  # a redemption the ledger refuses (spent, expired, capped…)
    NO_LEDGER = "no_ledger"              # this server keeps no ledger (run it with a data directory)
    NO_STORE = "no_store"                # this server runs no communities
    MEMBERS_ONLY = "members_only"        # an event for members of its community (or of a tier) only
    SEAT_REFUSED = "seat_refused"        # an event over workers: no seat token, or one this worker cannot honour


class CloseCode:
    """WebSocket close codes the server uses."""

    NORMAL = 1000
    GOING_AWAY = 1001
    POLICY_VIOLATION = 1008   # repeated abuse, kicked or banned
    MESSAGE_TOO_BIG = 1009
    TRY_AGAIN_LATER = 1013    # event full


class ProtocolError(Exception):
    """A client message that cannot be accepted; carries the code the server answers with."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(f"{code.value}: {message}")
        self.code = code
        self.message = message
