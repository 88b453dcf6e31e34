"""Every code the wire carries, defined once: movement kinds, mascot activities, reactions,
the avatar animation byte, roles, and the reasons named in events and refusals.

The server, the bots, the desktop client and the scene format all take these from here;
docs/protocol.md documents each of them.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Literal

import numpy as np
from numpy.typing import NDArray

MOVE_TO = 1
"""Movement kind: walk to the floor point ``(x, y)``, in metres."""
MOVE_DIR = 2
"""Movement kind: walk in the direction ``(x, y)`` (length at most 1; zero stops)."""


class Activity(IntEnum):
    """What a mascot is doing at a moment of the show (a snapshot's ``mascots.act`` byte)."""

    IDLE = 0
    WALK = 1
    PAUSE = 2
    POSE = 3
    TURN = 4
    SELFIE = 5
    """Holding a selfie session: visitors near it may queue with ``selfie``."""


Reaction = Literal["applause", "heart", "wow", "laugh", "fire", "camera"]
"""The fixed set of reactions, in wire order."""
REACTIONS: tuple[str, ...] = Reaction.__args__  # type: ignore[attr-defined]

ANIM_WALKING = 0x01
"""Bit 0 of an avatar's animation byte: the avatar walks (faster than ``WALKING_MPS``)."""
ANIM_REACTION_SHIFT = 4
"""Bits 4-7 of the animation byte hold ``1 + index`` into :data:`REACTIONS` of a reaction shown now (0: none)."""
WALKING_MPS = 0.1
"""Speed above which an avatar counts as walking."""
STRIDE_M = 1.4
"""Metres per walk cycle (two steps). Snapshots carry no gait phase for avatars: a client advances each
walker's phase by the distance it walked over this."""
REACTION_SHOW_S = 2.0
"""How long a reaction is shown above the avatar that sent it."""


def reaction_code(reaction: str) -> int:
    """The animation-byte value (``1 + index``) of a reaction name."""
    return REACTIONS.index(reaction) + 1


def anim_bytes(walking: NDArray[np.bool_], reaction: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Animation bytes from walking flags and reaction codes (0 none, else ``1 + index``)."""
    anim = reaction.astype(np.uint8) << np.uint8(ANIM_REACTION_SHIFT)
    anim[walking] |= np.uint8(ANIM_WALKING)
    return anim


def anim_reaction(anim: NDArray[np.uint8]) -> NDArray[np.int64]:
    """Index into :data:`REACTIONS` of the reaction each animation byte shows, -1 for none."""
    return (anim.astype(np.int64) >> ANIM_REACTION_SHIFT) - 1


def anim_walking(anim: NDArray[np.uint8]) -> NDArray[np.bool_]:
    """Whether each animation byte says the avatar walks."""
    return (anim & ANIM_WALKING) != 0


Role = Literal["visitor", "host", "bot"]
"""Who joins: a person, a host's console or dashboard, or a load-test bot."""
SelfieLeftReason = Literal["left_area", "session_closed", "requested"]
"""Why a visitor is out of a selfie queue (``selfie_left.reason``)."""
RefusalReason = Literal["unknown", "expired", "capped", "sold_out", "not_redeemable", "spent", "not_yet_valid"]
"""Why the ledger refuses a claim or a redemption: the start of a ``refused`` error's message."""
ReloadStatus = Literal["scheduled", "applied", "rejected", "unchanged"]
"""What became of an edit of the scene file (``reload.status``)."""
