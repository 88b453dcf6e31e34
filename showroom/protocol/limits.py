"""Hard limits of the wire protocol; everything a client sends is checked against these."""

from __future__ import annotations

PROTOCOL_VERSION = 3
"""Sent in ``join`` and ``welcome``; a server refuses a client speaking another version."""

MAX_CLIENT_FRAME_BYTES = 4096
"""Largest WebSocket message a client may send (the transport closes with 1009 above it)."""
MAX_SERVER_FRAME_BYTES = 4 * 1024 * 1024
"""Largest message a client should expect from a server (snapshots of crowded cells)."""
MAX_STR_BYTES = 1120
"""Longest string anywhere in a client message, checked before it is allocated: four UTF-8
bytes for each character of the longest text (``MAX_ANNOUNCE_CHARS``), so the character
limits below hold for any script."""
MAX_PART_BYTES = 3072
"""Longest binary value in a client message: one part of an uploaded image (``entry_part``)."""
MAX_BIN_BYTES = MAX_PART_BYTES
"""Clients send binary values only as upload parts."""
MAX_ARRAY_LEN = 10
"""Longest array in a client message (a poll's options)."""
MAX_MAP_LEN = 9
"""Most keys in a client map."""
MAX_DEPTH = 3
"""Deepest nesting of arrays and maps in a client message."""

TICK_HZ = 20
"""Server ticks, and snapshot frames, per second (the default of the server's settings; a
``welcome`` says what the server runs at)."""

CM_PER_M = 100.0
"""Mascot positions in snapshots are whole centimetres (avatars': 1/64 m, see :mod:`showroom.protocol.snapshot`)."""
MAX_COORD_M = 655.35
"""The largest floor coordinate a snapshot can carry (uint16 centimetres): no venue may be larger."""

INTEREST_CELL_M = 4.0
"""Side of a square interest cell: the tiers of a visitor's view are counted in cells around its own."""
TIER_EVERY = (1, 5, 20)
"""Ticks between refreshes of the near, mid and far tiers of a visitor's view (20, 4 and 1 per second)."""

MAX_NAME_CHARS = 32
MAX_TOKEN_CHARS = 128
MAX_SEAT_CHARS = 1024
"""A seat token (``join.seat``): a signed seat reservation from an event's front door."""
MAX_CHAT_CHARS = 200
MAX_ANNOUNCE_CHARS = 280
MAX_TITLE_CHARS = 80
"""An entry's title, a poll option, a moderator's reason."""
MAX_QUESTION_CHARS = 200
"""A poll's question."""
MAX_POLL_OPTIONS = 10
MAX_BALLOT_CHOICES = 8
"""Entries one ballot may approve or rank."""
MAX_IMAGE_BYTES = 4 * 1024 * 1024
"""Largest image a member may upload as a challenge entry."""
MAX_IMAGE_PIXELS = 24_000_000
"""Largest image (width x height) the server decodes."""
STORED_IMAGE_MAX_SIDE = 1600
"""Entries are kept re-encoded, at most this many pixels on their longer side."""
UPLOAD_RATE_HZ = 200.0
"""Upload parts a client may send per second (a burst of as many is tolerated): about 600 KB/s."""

INPUT_RATE_HZ = float(TICK_HZ)
"""Movement inputs a client may send per second, one per tick (a burst of twice that is tolerated)."""
CONTROL_RATE_HZ = 10.0
"""Control messages (everything but movement) per second, with a burst of twice that."""
CHAT_RATE_HZ = 1.0
"""Chat lines per second, with a burst of three."""
ABUSE_LIMIT = 20
"""Errors within ``ABUSE_WINDOW_S`` after which a connection is closed (close code 1008)."""
ABUSE_WINDOW_S = 10.0

RESUME_WINDOW_S = 30.0
"""How long a dropped visitor's avatar waits for a reconnect with its resume token."""
