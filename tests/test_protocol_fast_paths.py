"""The hot-path readers and writers give exactly what the general codec gives, or step aside."""

from __future__ import annotations

from typing import Any

import msgpack
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from showroom.protocol.codec import (
    MoveInput,
    decode_client,
    frame,
    frame_head,
    frame_head_plain,
    plain_frame_time,
    quick_move,
)
from showroom.protocol.codes import MOVE_DIR, MOVE_TO
from showroom.protocol.errors import ProtocolError
from showroom.protocol.server_messages import Awarded
from showroom.protocol.snapshot import new_records, pack_frame, pack_mascots, quantise_rows, split_records, unpack_cell

MASCOTS = pack_mascots(np.array([[30.0, 20.0]]), np.array([0.5]), np.array([1], np.uint8), np.array([-1], np.int16),
                       np.array([0.25]))
SHOW = {"cue": 2, "look": 0, "playing": True, "music": None, "announce": None, "lights": {}}
ROWS = quantise_rows(np.array([4, 1]), np.array([[1.0, 2.0], [3.0, 4.0]]), np.zeros(2), np.zeros(2, np.uint8))


def _general(data: bytes) -> MoveInput | None:
    """What the full decoder makes of the bytes: a movement, or None for anything else or a fault."""
    try:
        value = decode_client(data)
    except ProtocolError:
        return None
    return value if isinstance(value, MoveInput) else None


@given(st.sampled_from([MOVE_TO, MOVE_DIR, 0, 3]), st.integers(0, 2**32 - 1),
       st.floats(allow_nan=True, allow_infinity=True), st.floats(allow_nan=True, allow_infinity=True))
def test_quick_move_reads_what_the_full_decoder_reads_or_steps_aside(kind, seq, x, y):
    data = msgpack.packb([kind, seq, x, y])  # Python floats always pack as float64: the common encoding
    general = _general(data)
    assert quick_move(data) == (None if general is None else (general.kind, general.seq, general.x, general.y))


@pytest.mark.parametrize("value", [[1, 5, 20, 3], [1, 5, 20.0], [1, -1, 2.0, 3.0], [1, 5, 2.0, 3.0, 4.0],
                                   {"type": "ping", "t": 1.0}, [2, 1, 0.9, 0.9], [1, 1, float("nan"), 1.0]])
def test_quick_move_leaves_other_encodings_and_faults_to_the_full_decoder(value):
    assert quick_move(msgpack.packb(value)) is None


def test_quick_move_reads_long_sequence_numbers_and_directions():
    assert quick_move(msgpack.packb([1, 2**31, 12.5, 7.25])) == (1, 2**31, 12.5, 7.25)
    assert quick_move(msgpack.packb([2, 300, 0.6, -0.8])) == (2, 300, 0.6, -0.8)


@given(st.integers(-1, 2**32 - 1), st.integers(0, 2**32 - 1))
def test_plain_frame_head_is_byte_for_byte_the_reference_head(ack, you):
    assert frame_head_plain(ack, you) == frame_head(ack, you, [])
    assert msgpack.unpackb(frame_head(ack, you, []) + b"\xc0")[0] == {"ack": ack, "you": you, "events": []}


def _cell(events: list, *, key: bool = False, show: dict | None = None) -> bytes:
    return pack_frame(tick=77, t=3.5, server_time=1767225600.125, key=key, rows=ROWS, tiers=(1, 0, 1),
                      mascots=MASCOTS, show=show, events=events, new=new_records(np.array([4]), np.array([42])),
                      gone=np.array([9], np.uint16))


@pytest.mark.parametrize("key, show", [(False, None), (True, SHOW)], ids=["plain", "keyframe_with_show"])
def test_plain_frame_time_reads_st_of_an_event_less_frame(key, show):
    assert plain_frame_time(frame(3, 42, [], _cell([], key=key, show=show))) == 1767225600.125


def test_plain_frame_time_reads_st_of_a_frame_with_no_rows():
    cell = pack_frame(tick=78, t=3.55, server_time=1767225600.175, key=False, rows=b"", cells=b"", tiers=(0, 0, 0),
                      mascots=b"", show=None, events=[])
    assert plain_frame_time(frame(-1, 0, [], cell)) == 1767225600.175


@pytest.mark.parametrize("data", [
    frame(3, 42, [Awarded(seq=1, entitlement="pass", kind="badge", name="Pass", valid_until=None)], _cell([])),
    frame(3, 42, [], _cell([{"type": "chat", "from": 42, "name": "ada", "text": "hi"}])),
    msgpack.packb({"type": "pong", "t": 1.0, "st": 2.0}),
    b"",
])
def test_plain_frame_time_steps_aside_for_frames_with_events_and_other_messages(data):
    assert plain_frame_time(data) is None


def test_a_frame_packed_from_row_bytes_equals_one_packed_from_row_records():
    """The server joins byte slices of rows and of their cell records laid out by cell; the result is the frame
    of the same records."""
    rng = np.random.default_rng(3)
    slots = rng.permutation(200)[:50]
    pos = np.sort(rng.uniform(0, 60, 50))[:, None] * np.array([1.0, 0.5])  # by cell, as the server lays them out
    rows = quantise_rows(slots, pos, rng.uniform(-7, 7, 50), rng.integers(0, 256, 50).astype(np.uint8))
    common: dict[str, Any] = {"tick": 9, "t": 0.45, "server_time": 1.7e9, "key": False, "tiers": (20, 25, 5),
                              "mascots": MASCOTS, "show": SHOW, "events": [],
                              "new": new_records(slots[:3], np.array([7, 8, 9])), "gone": np.array([250, 251], np.uint16)}
    pieces = [split_records(rows[a:b]) for a, b in ((0, 20), (20, 45), (45, 50))]
    by_bytes = pack_frame(rows=b"".join(r for r, _ in pieces), cells=b"".join(c for _, c in pieces), **common)
    # a cell cut between two pieces takes two cell records: the same rows, one record more
    whole = pack_frame(rows=rows, **common)
    snap, again = unpack_cell(msgpack.unpackb(by_bytes, raw=False)), unpack_cell(msgpack.unpackb(whole, raw=False))
    assert snap.slots.tolist() == slots.tolist()
    np.testing.assert_array_equal(snap.pos, again.pos)
    np.testing.assert_allclose(snap.pos, pos, atol=0.5 / 64)


def test_a_bot_keeps_a_show_change_of_an_older_frame_and_reads_it_when_it_next_decides():
    """A load-test bot does not decode frames as they come, not even those that change the show (a light fade
    changes it every tick): the newest show it was sent is read when a decision needs it, after later frames
    that left it out."""
    import random

    from showroom.bots.bot import Bot
    from showroom.bots.stats import Stats

    bot = Bot(0, "watch", Stats(), random.Random(1))
    for look in (1, 2):
        bot.receive(frame(3, 42, [], _cell([], show={**SHOW, "look": look})), 1767225600.2)
    for _ in range(3):
        bot.receive(frame(3, 42, [], _cell([])), 1767225600.3)
    assert bot.frames == 5 and bot.look == -1  # counted, not decoded
    bot._look_at_latest()  # what a decision (a reaction, a new goal) does first
    assert bot.look == 2
    assert bot.mascot_act.tolist() == [1]  # and the mascots of the newest frame
    bot.receive(frame(3, 42, [], _cell([], show={**SHOW, "look": 3})), 1767225600.4)
    bot._look_at_latest()  # the newest frame carries the show itself
    assert bot.look == 3
