"""Wire protocol: every client message decodes or is refused with a code; snapshots round-trip."""

from __future__ import annotations

import math
import re
import struct
import threading
import time
import tracemalloc
from typing import Any

import msgpack
import numpy as np
import pytest
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from showroom.protocol import (
    MOVE_DIR,
    MOVE_TO,
    PROTOCOL_VERSION,
    ErrorCode,
    MoveInput,
    ProtocolError,
    decode_client,
    decode_server,
    encode,
    frame,
)
from showroom.protocol.client_messages import CLIENT_TYPES, Join, Message
from showroom.protocol.codes import REACTIONS, STRIDE_M
from showroom.protocol.limits import MAX_CLIENT_FRAME_BYTES
from showroom.protocol.server_messages import EventInfo, SelfieQueue, Welcome
from showroom.protocol.snapshot import (
    CELL,
    MASCOT,
    NEW,
    ROW,
    TURN,
    UNITS_PER_M,
    CrowdCopy,
    new_records,
    pack_cell,
    pack_frame,
    pack_mascots,
    quantise_rows,
    unpack_cell,
    unpack_mascots,
)

DOC = ROOT / "docs" / "protocol.md"
JOIN = {"type": "join", "v": 3, "name": "ada", "role": "visitor", "token": ""}


def pack(value: Any) -> bytes:
    return msgpack.packb(value, use_bin_type=True)


def code_of(data: bytes) -> ErrorCode:
    with pytest.raises(ProtocolError) as caught:
        decode_client(data)
    assert isinstance(caught.value.code, ErrorCode)
    assert caught.value.message
    return caught.value.code


def decodes_or_refuses(data: bytes) -> None:
    """The codec's promise: a message, or a ProtocolError carrying an ErrorCode; nothing else."""
    try:
        result = decode_client(data)
    except ProtocolError as exc:
        assert isinstance(exc.code, ErrorCode)
    else:
        assert isinstance(result, (Message, MoveInput))


# --- whatever arrives, the decoder answers with a message or a coded refusal ---------------

def _mutations(valid: bytes) -> st.SearchStrategy[bytes]:
    """Valid messages cut short, with bytes flipped, or with bytes appended."""
    cut = st.integers(0, len(valid)).map(lambda n: valid[:n])
    flipped = st.tuples(st.integers(0, len(valid) - 1), st.integers(0, 255)).map(
        lambda p: valid[:p[0]] + bytes([p[1]]) + valid[p[0] + 1:])
    grown = st.binary(min_size=1, max_size=16).map(lambda tail: valid + tail)
    return st.one_of(cut, flipped, grown)


VALID_SAMPLES = [pack(JOIN), pack([1, 3, 12.5, 4.0]), pack({"type": "chat", "text": "hello"}),
                 pack({"type": "host_seek", "t": 12.5})]
any_bytes = st.one_of(st.binary(max_size=5000), *(_mutations(v) for v in VALID_SAMPLES))


@given(any_bytes)
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_arbitrary_bytes_decode_or_are_refused_with_a_code(data):
    decodes_or_refuses(data)


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1),
    st.floats(allow_nan=True, allow_infinity=True), st.floats(width=32),
    st.text(max_size=40), st.binary(max_size=20),
    st.sampled_from(CLIENT_TYPES), st.sampled_from(REACTIONS),
)
keys = st.one_of(st.text(max_size=10), st.sampled_from(["type", "v", "name", "role", "token", "text",
                                                          "t", "visitor", "mascot", "open"]),
                 st.integers(-5, 5))
nested = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=10), st.dictionaries(keys, inner, max_size=10)),
    max_leaves=25,
)
message_like = st.builds(
    lambda kind, fields: {"type": kind, **fields},
    st.sampled_from(CLIENT_TYPES), st.dictionaries(keys.filter(lambda k: k != "type"), nested, max_size=6),
)
coordinates = st.floats() | st.floats(width=32) | st.integers(-(2**63), 2**64 - 1)
movement_like = st.lists(nested, min_size=0, max_size=6) | st.tuples(
    st.integers(-1, 3) | st.booleans(), st.integers(-2, 2**33) | st.floats(), coordinates, coordinates,
).map(list)


@given(st.one_of(nested, message_like, movement_like))
@settings(max_examples=300, deadline=None)
def test_any_msgpack_value_decodes_or_is_refused_with_a_code(value):
    decodes_or_refuses(pack(value))


# --- malformed messages and the code each one gets -------------------------------------------

def _str8(text: str) -> bytes:
    raw = text.encode()
    return bytes([0xD9, len(raw)]) + raw


MALFORMED = [
    # framing
    ("empty_message", b"", ErrorCode.BAD_FRAME),
    ("truncated_join", pack(JOIN)[:-3], ErrorCode.BAD_FRAME),
    ("header_only_map", b"\x85", ErrorCode.BAD_FRAME),
    ("never_used_byte_c1", b"\xc1", ErrorCode.BAD_FRAME),
    ("c1_inside_a_map", b"\x81\xa4type\xc1", ErrorCode.BAD_FRAME),
    ("two_values_in_one_message", pack(JOIN) + pack(JOIN), ErrorCode.BAD_FRAME),
    ("trailing_garbage_byte", pack(JOIN) + b"\xc1", ErrorCode.BAD_FRAME),
    ("trailing_incomplete_value", pack(JOIN) + b"\xa5ab", ErrorCode.BAD_FRAME),
    ("invalid_utf8_string", b"\x82\xa4type\xa4chat\xa4text\xa2\xff\xfe", ErrorCode.BAD_FRAME),
    ("int_map_keys", pack({1: 2}), ErrorCode.BAD_FRAME),
    ("int_key_beside_type", b"\x82\xa4type\xa4ping\x01\x02", ErrorCode.BAD_FRAME),
    ("nil_map_key", b"\x81\xc0\x01", ErrorCode.BAD_FRAME),
    # sizes, declared in headers far beyond the data
    ("str32_declares_4GiB", b"\xdb\xff\xff\xff\xffabc", ErrorCode.BAD_FRAME),
    ("bin32_declares_4GiB", b"\xc6\xff\xff\xff\xffabc", ErrorCode.BAD_FRAME),
    ("array32_declares_4G_items", b"\xdd\xff\xff\xff\xff\x01", ErrorCode.TOO_LARGE),
    ("map32_declares_4G_keys", b"\xdf\xff\xff\xff\xff\xa4type", ErrorCode.TOO_LARGE),
    ("ext32_declares_4GiB", b"\xc9\xff\xff\xff\xff\x01", ErrorCode.TOO_LARGE),
    ("array16_of_11", b"\xdc\x00\x0b" + b"\x01" * 11, ErrorCode.TOO_LARGE),
    ("map16_of_10", pack({f"k{i}": i for i in range(10)}), ErrorCode.TOO_LARGE),
    ("string_over_1120_bytes", pack({"type": "chat", "text": "é" * 561}), ErrorCode.TOO_LARGE),
    ("frame_over_4096_bytes", b"\x90" * (MAX_CLIENT_FRAME_BYTES + 1), ErrorCode.TOO_LARGE),
    ("valid_chat_padded_over_4096", pack({"type": "chat", "text": "a"}) + b" " * 4096, ErrorCode.TOO_LARGE),
    # nesting
    ("arrays_nested_4_deep", b"\x91\x91\x91\x91\x01", ErrorCode.TOO_DEEP),
    ("maps_nested_4_deep", pack({**JOIN, "x": {"a": {"b": {"c": 1}}}}), ErrorCode.TOO_DEEP),
    ("arrays_nested_2000_deep", b"\x91" * 2000 + b"\x01", ErrorCode.TOO_DEEP),
    # binary and extension types
    ("bytes_where_a_string_is_expected", pack({**JOIN, "name": b"ada"}), ErrorCode.INVALID),
    ("bytes_over_an_upload_part", pack({"type": "entry_part", "upload": 1, "index": 0, "data": b"x" * 3073}),
     ErrorCode.TOO_LARGE),
    ("empty_bytes_where_a_string_is_expected", pack({"type": "chat", "text": b""}), ErrorCode.INVALID),
    ("fixext_value", pack({"type": "chat", "text": msgpack.ExtType(5, b"x")}), ErrorCode.TOO_LARGE),
    ("timestamp_ext", b"\xd6\xff\x00\x00\x00\x00", ErrorCode.TOO_LARGE),
    # top level and type
    ("top_level_int", pack(7), ErrorCode.INVALID),
    ("top_level_string", pack("join"), ErrorCode.INVALID),
    ("top_level_nil", pack(None), ErrorCode.INVALID),
    ("unknown_type", pack({"type": "dance"}), ErrorCode.UNKNOWN_TYPE),
    ("type_in_capitals", pack({**JOIN, "type": "JOIN"}), ErrorCode.UNKNOWN_TYPE),
    ("type_not_a_string", pack({"type": 1}), ErrorCode.UNKNOWN_TYPE),
    ("missing_type", pack({"name": "ada", "v": 1}), ErrorCode.UNKNOWN_TYPE),
    # join
    ("join_name_int", pack({**JOIN, "name": 1}), ErrorCode.INVALID),
    ("join_name_empty", pack({**JOIN, "name": ""}), ErrorCode.INVALID),
    ("join_name_33_chars", pack({**JOIN, "name": "a" * 33}), ErrorCode.INVALID),
    ("join_missing_name", pack({"type": "join", "v": 3}), ErrorCode.INVALID),
    ("join_version_string", pack({**JOIN, "v": "1"}), ErrorCode.INVALID),
    ("join_version_bool", pack({**JOIN, "v": True}), ErrorCode.INVALID),
    ("join_version_float", pack({**JOIN, "v": 1.0}), ErrorCode.INVALID),
    ("join_unknown_role", pack({**JOIN, "role": "admin"}), ErrorCode.INVALID),
    ("join_token_129_chars", pack({**JOIN, "token": "t" * 129}), ErrorCode.INVALID),
    ("join_resume_65_chars", pack({**JOIN, "resume": "r" * 65}), ErrorCode.INVALID),
    ("join_unknown_extra_key", pack({**JOIN, "colour": "red"}), ErrorCode.INVALID),
    ("join_nested_extra_key_within_depth", pack({**JOIN, "x": {"a": [1]}}), ErrorCode.INVALID),
    # other control messages
    ("chat_201_chars", pack({"type": "chat", "text": "a" * 201}), ErrorCode.INVALID),
    ("chat_empty", pack({"type": "chat", "text": ""}), ErrorCode.INVALID),
    ("unknown_reaction", pack({"type": "react", "reaction": "boo"}), ErrorCode.INVALID),
    ("selfie_mascot_not_an_id", pack({"type": "selfie", "mascot": "Teddy Bear"}), ErrorCode.INVALID),
    ("selfie_leave_with_a_field", pack({"type": "selfie_leave", "mascot": "teddy"}), ErrorCode.INVALID),
    ("ping_time_string", pack({"type": "ping", "t": "now"}), ErrorCode.INVALID),
    ("host_seek_nan", pack({"type": "host_seek", "t": math.nan}), ErrorCode.INVALID),
    ("host_seek_inf", pack({"type": "host_seek", "t": math.inf}), ErrorCode.INVALID),
    ("host_seek_negative", pack({"type": "host_seek", "t": -1.0}), ErrorCode.INVALID),
    ("host_cue_negative", pack({"type": "host_cue", "index": -1}), ErrorCode.INVALID),
    ("host_announce_281_chars", pack({"type": "host_announce", "text": "a" * 281}), ErrorCode.INVALID),
    ("host_kick_negative_visitor", pack({"type": "host_kick", "visitor": -1}), ErrorCode.INVALID),
    ("host_ban_visitor_string", pack({"type": "host_ban", "visitor": "7"}), ErrorCode.INVALID),
    ("host_drop_open_int", pack({"type": "host_drop", "entitlement": "vip", "open": 1}), ErrorCode.INVALID),
    # movement
    ("move_x_nan", pack([MOVE_TO, 0, math.nan, 1.0]), ErrorCode.OUT_OF_BOUNDS),
    ("move_y_inf", pack([MOVE_TO, 0, 1.0, math.inf]), ErrorCode.OUT_OF_BOUNDS),
    ("move_direction_minus_inf", pack([MOVE_DIR, 0, -math.inf, 0.0]), ErrorCode.OUT_OF_BOUNDS),
    ("move_float32_nan", b"\x94\x01\x00\xca" + struct.pack(">f", math.nan) + b"\x00", ErrorCode.OUT_OF_BOUNDS),
    ("move_empty_array", pack([]), ErrorCode.INVALID),
    ("move_3_items", pack([MOVE_TO, 0, 1.0]), ErrorCode.INVALID),
    ("move_5_items", pack([MOVE_TO, 0, 1.0, 2.0, 3.0]), ErrorCode.INVALID),
    ("move_kind_0", pack([0, 0, 1.0, 1.0]), ErrorCode.INVALID),
    ("move_kind_3", pack([3, 0, 1.0, 1.0]), ErrorCode.INVALID),
    ("move_kind_bool", pack([True, 0, 1.0, 1.0]), ErrorCode.INVALID),
    ("move_kind_float", pack([1.0, 0, 1.0, 1.0]), ErrorCode.INVALID),
    ("move_seq_2_pow_32", pack([MOVE_TO, 2**32, 1.0, 1.0]), ErrorCode.INVALID),
    ("move_seq_negative", pack([MOVE_TO, -1, 1.0, 1.0]), ErrorCode.INVALID),
    ("move_seq_float", pack([MOVE_TO, 1.0, 1.0, 1.0]), ErrorCode.INVALID),
    ("move_x_string", pack([MOVE_TO, 1, "1", 1.0]), ErrorCode.INVALID),
    ("move_y_bool", pack([MOVE_TO, 1, 1.0, False]), ErrorCode.INVALID),
    ("move_x_nil", pack([MOVE_TO, 1, None, 1.0]), ErrorCode.INVALID),
    ("move_direction_longer_than_1", pack([MOVE_DIR, 1, 1.0, 1.0]), ErrorCode.INVALID),
    ("move_direction_huge", pack([MOVE_DIR, 1, 1e300, 0.0]), ErrorCode.INVALID),
]


@pytest.mark.parametrize("data, expected", [pytest.param(d, c, id=name) for name, d, c in MALFORMED])
def test_malformed_message_is_refused_with_its_code(data, expected):
    assert code_of(data) is expected


@pytest.mark.parametrize("header", [
    pytest.param(b"\xdb\xff\xff\xff\xff", id="str32"),
    pytest.param(b"\xc6\xff\xff\xff\xff", id="bin32"),
    pytest.param(b"\xdd\xff\xff\xff\xff", id="array32"),
    pytest.param(b"\xdf\xff\xff\xff\xff", id="map32"),
    pytest.param(b"\xc9\xff\xff\xff\xff\x01", id="ext32"),
    pytest.param(b"\x81\xa4type\xdb\x7f\xff\xff\xff", id="str32_as_a_map_value"),
])
def test_huge_declared_length_fails_fast_without_allocating(header):
    data = header + b"x" * 64
    tracemalloc.start()
    started = time.perf_counter()
    try:
        code_of(data)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 0.05
    assert peak < 256 * 1024


# --- what is accepted ------------------------------------------------------------------------

CONTROL_SAMPLES = {
    "join": {"type": "join", "v": PROTOCOL_VERSION, "name": "Ada Lovelace", "role": "host",
             "token": "s3cret", "resume": "r-123"},
    "react": {"type": "react", "reaction": "applause"},
    "chat": {"type": "chat", "text": "Bravo! 👏"},
    "selfie": {"type": "selfie", "mascot": "teddy"},
    "selfie_leave": {"type": "selfie_leave"},
    "ping": {"type": "ping", "t": 1234.5},
    "leave": {"type": "leave"},
    "wallet": {"type": "wallet"},
    "redeem": {"type": "redeem", "award": 3},
    "scene": {"type": "scene"},
    "host_start": {"type": "host_start"},
    "host_pause": {"type": "host_pause"},
    "host_seek": {"type": "host_seek", "t": 90.25},
    "host_cue": {"type": "host_cue", "index": 3},
    "host_announce": {"type": "host_announce", "text": "The finale starts in five minutes"},
    "host_kick": {"type": "host_kick", "visitor": 17},
    "host_ban": {"type": "host_ban", "visitor": 18},
    "host_drop": {"type": "host_drop", "entitlement": "voucher-20", "open": True},
    "host_next": {"type": "host_next"},
    "host_status": {"type": "host_status"},
    "community_join": {"type": "community_join", "community": "maison-lumen-circle", "invite": "Xy7-abc_12"},
    "community_request": {"type": "community_request", "community": "weekend-residency-club"},
    "community_leave": {"type": "community_leave", "community": "maison-lumen-circle"},
    "community": {"type": "community", "community": "maison-lumen-circle"},
    "invite_create": {"type": "invite_create", "community": "maison-lumen-circle", "max_uses": 5, "days": 2.5},
    "entry_start": {"type": "entry_start", "community": "c", "challenge": "rose-sketch-w1", "title": "Rose", "size": 9000},
    "entry_part": {"type": "entry_part", "upload": 3, "index": 0, "data": b"\x89PNG" * 768},
    "entry_done": {"type": "entry_done", "upload": 3},
    "vote": {"type": "vote", "community": "c", "challenge": "rose-sketch-w1", "choices": [4, 9, 2, 7, 1, 3, 8, 6]},
    "gallery": {"type": "gallery", "community": "c", "challenge": "rose-sketch-w1"},
    "entry_image": {"type": "entry_image", "entry": 12},
    "poll_answer": {"type": "poll_answer", "poll": "anniversary-runway-p1", "option": 9},
    "host_invite": {"type": "host_invite", "community": "c", "max_uses": 100, "days": 7.0},
    "host_requests": {"type": "host_requests", "community": "c"},
    "host_decide": {"type": "host_decide", "community": "c", "wallet": "w-" + "0" * 32, "approve": False,
                    "reason": "not a fan"},
    "host_role": {"type": "host_role", "community": "c", "wallet": "w-" + "1" * 32, "role": "ambassador"},
    "host_report": {"type": "host_report", "community": "c"},
    "host_expel": {"type": "host_expel", "community": "c", "wallet": "w-" + "1" * 32},
    "host_members": {"type": "host_members", "community": "c"},
    "host_revoke": {"type": "host_revoke", "community": "c", "code": "rau1e1pmS3EN"},
    "host_target": {"type": "host_target", "community": "c", "segments": ["at_risk"], "min_tier": "gold",
                    "min_streak": 2, "grant": "rose-voucher", "invites": 3},
    "host_phase": {"type": "host_phase", "community": "c", "challenge": "rose-sketch-w1", "phase": "voting"},
    "host_moderate": {"type": "host_moderate", "entry": 12, "approve": False, "reason": "off topic"},
    "host_entries": {"type": "host_entries", "community": "c", "challenge": "rose-sketch-w1"},
    "host_feature": {"type": "host_feature", "community": "c", "challenge": "rose-sketch-w1"},
    "host_poll": {"type": "host_poll", "question": "Which colour next?", "options": [str(k) for k in range(10)],
                  "results": "on_close", "seconds": 60.0, "community": "c"},
    "host_poll_close": {"type": "host_poll_close", "poll": "anniversary-runway-p1"},
}


def test_every_control_message_type_has_a_sample():
    assert set(CONTROL_SAMPLES) == set(CLIENT_TYPES)


@pytest.mark.parametrize("fields", [pytest.param(v, id=k) for k, v in CONTROL_SAMPLES.items()])
def test_control_message_round_trips(fields):
    message = decode_client(pack(fields))
    assert isinstance(message, Message)
    assert message.type == fields["type"]
    dumped = message.model_dump()
    assert {key: dumped[key] for key in fields} == fields
    assert decode_client(pack(dumped)) == message


def test_join_defaults_fill_in_role_token_and_resume():
    join = decode_client(pack({"type": "join", "v": 3, "name": "ada"}))
    assert (join.role, join.token, join.resume) == ("visitor", "", None)


@pytest.mark.parametrize("fields", [
    pytest.param({**JOIN, "name": "é" * 32}, id="name_32_two_byte_chars"),
    pytest.param({"type": "chat", "text": "a" * 200}, id="chat_200_chars"),
    pytest.param({"type": "chat", "text": "\U0001F389" * 200}, id="chat_200_four_byte_chars"),
    pytest.param({"type": "host_announce", "text": "\u732b" * 280}, id="announce_280_three_byte_chars"),
    pytest.param({"type": "host_seek", "t": 0}, id="seek_to_0_as_an_int"),
    pytest.param({"type": "host_kick", "visitor": 2**64 - 1}, id="kick_largest_id"),
])
def test_limits_are_inclusive_and_counted_in_characters(fields):
    assert decode_client(pack(fields)).type == fields["type"]


@pytest.mark.parametrize("value, expected", [
    pytest.param([1, 0, 12.5, 3.25], MoveInput(MOVE_TO, 0, 12.5, 3.25), id="move_to_floats"),
    pytest.param([1, 7, 12, 3], MoveInput(MOVE_TO, 7, 12.0, 3.0), id="move_to_ints"),
    pytest.param([2, 8, 0.6, -0.8], MoveInput(MOVE_DIR, 8, 0.6, -0.8), id="unit_direction"),
    pytest.param([2, 2**32 - 1, 0, 0], MoveInput(MOVE_DIR, 2**32 - 1, 0.0, 0.0), id="stop_at_last_seq"),
])
def test_movement_array_decodes_to_move_input(value, expected):
    move = decode_client(pack(value))
    assert move == expected
    assert isinstance(move.x, float) and isinstance(move.y, float)


def test_movement_with_float32_coordinates_decodes():
    data = msgpack.packb([MOVE_TO, 5, 12.5, 3.25], use_single_float=True)
    assert data[3] == 0xCA
    assert decode_client(data) == MoveInput(MOVE_TO, 5, 12.5, 3.25)


def test_decoder_accepts_bytearray_and_memoryview():
    data = pack(JOIN)
    assert decode_client(bytearray(data)) == decode_client(memoryview(data)) == decode_client(data)


# --- snapshots -------------------------------------------------------------------------------

MASCOTS = pack_mascots(np.array([[30.0, 20.0], [1.0, 2.0]]), np.array([np.pi, -0.5]), np.array([1, 5], np.uint8),
                       np.array([-1, 3], np.int16), np.array([0.75, 0.0]))
SHOW = {"cue": 2, "look": -1, "playing": True, "music": None, "announce": None,
        "lights": {"house": [1.0, 1.0, 1.0, 1.0], "runway": [1.0, 0.5, 0.0, 2.0]}}


def _keyframe(ids, pos, heading, *, events=()) -> bytes:
    """A keyframe of the avatars given, in slots 0 .. n-1, all near."""
    n = len(ids)
    return pack_cell(
        tick=41, t=12.5, server_time=1.7e9,
        ids=np.asarray(ids, np.int64), pos=np.asarray(pos, np.float64).reshape(n, 2),
        heading=np.asarray(heading, np.float64), anim=np.arange(n, dtype=np.uint8) % 8,
        mascots=MASCOTS, show=SHOW, events=list(events),
    )


def _rows(slots, units) -> np.ndarray:
    """Records of the slots at whole positions in 1/64 m, facing +y, standing."""
    n = len(slots)
    return quantise_rows(np.asarray(slots, np.int64), np.asarray(units, np.float64).reshape(n, 2) / UNITS_PER_M,
                         np.zeros(n), np.zeros(n, np.uint8))


def _angle_error(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs((a - b + np.pi) % TURN - np.pi)


n_avatars = st.shared(st.integers(0, 200), key="n")
positions = n_avatars.flatmap(lambda n: arrays(np.float64, (n, 2), elements=st.floats(0.0, 655.35)))
headings = n_avatars.flatmap(lambda n: arrays(np.float64, n, elements=st.floats(-50.0, 50.0)))
avatar_ids = n_avatars.flatmap(lambda n: arrays(np.int64, n, elements=st.integers(0, 2**32 - 1)))


@given(avatar_ids, positions, headings)
@settings(max_examples=150, deadline=None)
def test_snapshot_quantisation_keeps_ids_exact_positions_to_a_128th_of_a_metre_and_headings_to_half_a_step(
        ids, pos, heading):
    you = int(ids[0]) if len(ids) else 0
    decoded = decode_server(frame(9, you, [], _keyframe(ids, pos, heading)))
    assert decoded[0] == {"ack": 9, "you": you, "events": []}
    snap = unpack_cell(decoded[1])
    assert snap.key and snap.tiers == (len(ids), 0, 0)
    np.testing.assert_array_equal(snap.new_slots, np.arange(len(ids)))
    np.testing.assert_array_equal(snap.new_ids, ids)
    np.testing.assert_array_equal(snap.slots, np.arange(len(ids)))
    assert snap.pos.shape == pos.shape
    top = np.floor(655.35 * UNITS_PER_M) / UNITS_PER_M  # the last whole 1/64 m a snapshot can carry
    assert np.all(np.abs(snap.pos - np.minimum(pos, top)) <= 0.5 / UNITS_PER_M + 1e-9)
    assert np.all(_angle_error(snap.heading, heading) <= TURN / 512 + 1e-9)
    crowd = CrowdCopy()
    crowd.apply(snap)
    for k in range(len(ids)):  # ids may repeat in a random draw: each slot keeps its own
        assert crowd.ids[k] == ids[k] and crowd.known[k]
        np.testing.assert_allclose(crowd.pos[k], snap.pos[k])


def test_snapshot_round_trip_recovers_every_field():
    rows = quantise_rows(np.array([3, 0, 7]), np.array([[0.0, 0.0], [12.345, 6.789], [655.34, 100.0]]),
                         np.array([0.0, np.pi, -np.pi / 2]), np.array([0x01, 0x20, 0x31], np.uint8))
    events = [{"type": "chat", "from": 7, "name": "ada", "text": "hi"}]
    cell = pack_frame(tick=41, t=12.5, server_time=1.7e9, key=False, rows=rows, tiers=(1, 0, 2), mascots=MASCOTS,
                      show=SHOW, events=events, new=new_records(np.array([7, 9]), np.array([2**32 - 1, 0])),
                      gone=np.array([4, 65535], np.uint16))
    personal = {"ack": -1, "you": 7, "events": [{"type": "selfie_queue", "mascot": "teddy", "position": 0, "size": 1}]}
    decoded = decode_server(frame(-1, 7, [SelfieQueue(mascot="teddy", position=0, size=1)], cell))
    assert isinstance(decoded, list) and len(decoded) == 2
    assert decoded[0] == personal and decoded[1] == msgpack.unpackb(cell, raw=False)
    assert decoded[1]["type"] == "snap" and decoded[1]["key"] is False and decoded[1]["tiers"] == [1, 0, 2]
    snap = unpack_cell(decoded[1])
    assert (snap.tick, snap.t, snap.server_time, snap.key, snap.tiers) == (41, 12.5, 1.7e9, False, (1, 0, 2))
    np.testing.assert_array_equal(snap.slots, [3, 0, 7])
    np.testing.assert_array_equal(snap.tier_of_rows(), [0, 2, 2])
    np.testing.assert_array_equal(snap.anim, [0x01, 0x20, 0x31])
    np.testing.assert_allclose(snap.pos, [[0.0, 0.0], [12.345, 6.789], [655.34, 100.0]], atol=0.5 / UNITS_PER_M)
    assert np.all(_angle_error(snap.heading, np.array([0.0, np.pi, -np.pi / 2])) <= TURN / 512)
    np.testing.assert_array_equal(snap.new_slots, [7, 9])
    np.testing.assert_array_equal(snap.new_ids, [2**32 - 1, 0])
    np.testing.assert_array_equal(snap.gone, [4, 65535])
    np.testing.assert_allclose(snap.mascot_pos, [[30.0, 20.0], [1.0, 2.0]])
    assert np.all(_angle_error(snap.mascot_heading, np.array([np.pi, -0.5])) <= TURN / 512)
    np.testing.assert_array_equal(snap.mascot_activity, [1, 5])
    np.testing.assert_array_equal(snap.mascot_pose, [-1, 3])
    np.testing.assert_allclose(snap.mascot_phase, [0.75, 0.0])
    assert snap.show == SHOW
    assert snap.events == events


def test_a_frame_without_show_new_or_gone_leaves_their_keys_out():
    cell = pack_frame(tick=5, t=0.25, server_time=1.7e9, key=False, rows=_rows([1], [[100, 200]]), tiers=(1, 0, 0),
                      mascots=MASCOTS, show=None, events=[], new=new_records(np.zeros(0), np.zeros(0)),
                      gone=np.zeros(0, np.uint16))
    shared = msgpack.unpackb(cell, raw=False)
    assert set(shared) == {"type", "tick", "t", "st", "key", "tiers", "rows", "cells", "mascots", "events"}
    snap = unpack_cell(shared)
    assert snap.show is None and snap.new_slots.size == 0 and snap.gone.size == 0


def test_tiers_that_do_not_count_the_rows_are_refused():
    cell = msgpack.unpackb(pack_frame(tick=5, t=0.0, server_time=1.7e9, key=False, rows=_rows([1, 2], [[1, 1]] * 2),
                                      tiers=(1, 0, 0), mascots=MASCOTS, show=None, events=[]), raw=False)
    with pytest.raises(ValueError, match="tiers"):
        unpack_cell(cell)


def test_positions_outside_the_wire_range_are_clamped():
    snap = unpack_cell(decode_server(_keyframe([1, 2], [[-3.0, 700.0], [1e9, -1e9]], [0, 0])))
    top = np.floor(655.35 * UNITS_PER_M) / UNITS_PER_M
    np.testing.assert_allclose(snap.pos, [[0.0, top], [top, 0.0]])
    mascots = unpack_mascots(pack_mascots(np.array([[-1.0, 1e6]]), np.zeros(1), np.zeros(1, np.uint8),
                                          np.array([-1], np.int16), np.zeros(1)))
    np.testing.assert_allclose(mascots.pos, [[0.0, 655.35]])


def test_frame_is_an_array_of_personal_then_shared_records_at_the_documented_offsets():
    rows = quantise_rows(np.array([513]), np.array([[12.34, 5.67]]), np.array([np.pi / 2]),
                         np.array([0x31], np.uint8))
    cell = pack_frame(tick=3, t=0.0, server_time=1.7e9, key=True, rows=rows, tiers=(0, 0, 1),
                      mascots=MASCOTS, show=SHOW, events=[], new=new_records(np.array([513]), np.array([70000])),
                      gone=np.array([258], np.uint16))
    data = frame(3, 5, [], cell)
    assert data[0] == 0x92
    personal, shared = decode_server(data)
    assert personal == {"ack": 3, "you": 5, "events": []}
    assert (ROW.itemsize, CELL.itemsize, NEW.itemsize, MASCOT.itemsize) == (6, 3, 6, 8)
    # 12.34 m = 790/64 m = cell 3, 22/64 m into it; 5.67 m = 363/64 m = cell 1, 107/64 m into it
    assert shared["rows"] == struct.pack("<HBBBB", 513, 22, 107, 64, 0x31)
    assert shared["cells"] == struct.pack("<BBB", 3, 1, 1)
    assert shared["new"] == struct.pack("<HI", 513, 70000)
    assert shared["gone"] == struct.pack("<H", 258)
    assert shared["mascots"] == struct.pack("<HHBBbB", 3000, 2000, 128, 1, -1, 192) + \
        struct.pack("<HHBBbB", 100, 200, 236, 5, 3, 0)
    assert shared["key"] is True and shared["tiers"] == [0, 0, 1]


def test_a_row_of_a_slot_someone_new_took_draws_the_new_avatar_there():
    crowd = CrowdCopy()
    first = pack_cell(tick=1, t=0.0, server_time=1.7e9, ids=np.array([42, 43]), pos=np.array([[1.0, 1.0], [2.0, 2.0]]),
                      heading=np.zeros(2), anim=np.zeros(2, np.uint8), mascots=MASCOTS, show=SHOW, events=[])
    crowd.apply(unpack_cell(msgpack.unpackb(first, raw=False)))
    swap = pack_frame(tick=2, t=0.05, server_time=1.7e9, key=False, rows=b"", cells=b"", tiers=(0, 0, 0), mascots=MASCOTS,
                      show=None, events=[], new=new_records(np.array([1]), np.array([44])),
                      gone=np.array([1], np.uint16))
    crowd.apply(unpack_cell(msgpack.unpackb(swap, raw=False)))
    assert crowd.where(43) is None and crowd.where(44) is None  # 44 holds slot 1, but no row has come for it
    np.testing.assert_allclose(crowd.where(42), [1.0, 1.0])
    assert crowd.show == SHOW  # absent show: as before
    row = pack_frame(tick=3, t=0.1, server_time=1.7e9, key=False, rows=_rows([1], [[320, 384]]), tiers=(0, 0, 1),
                     mascots=MASCOTS, show=None, events=[])
    crowd.apply(unpack_cell(msgpack.unpackb(row, raw=False)))
    np.testing.assert_allclose(crowd.where(44), [5.0, 6.0])
    np.testing.assert_array_equal(crowd.ids[crowd.present()], [42, 44])


def test_a_walkers_gait_follows_the_distance_its_rows_moved_and_newcomers_start_out_of_step():
    crowd = CrowdCopy()
    first = pack_cell(tick=1, t=0.0, server_time=1.7e9, ids=np.array([42, 43]), pos=np.array([[1.0, 1.0], [2.0, 2.0]]),
                      heading=np.zeros(2), anim=np.zeros(2, np.uint8), mascots=MASCOTS, show=SHOW, events=[])
    crowd.apply(unpack_cell(msgpack.unpackb(first, raw=False)))
    start = crowd.phase[:2].copy()
    assert abs(start[1] - start[0]) > 0.1  # two newcomers are not in step
    half = STRIDE_M / 2  # half a stride walked along x: half a walk cycle on
    walk = pack_frame(tick=2, t=0.05, server_time=1.7e9, key=False, rows=_rows([0], [[(1.0 + half) * UNITS_PER_M, 64]]),
                      tiers=(1, 0, 0), mascots=MASCOTS, show=None, events=[])
    crowd.apply(unpack_cell(msgpack.unpackb(walk, raw=False)))
    assert crowd.phase[0] == pytest.approx((start[0] + 0.5) % 1.0, abs=1 / UNITS_PER_M / STRIDE_M)
    assert crowd.phase[1] == start[1]  # no row: it stood


def test_a_cell_of_more_than_255_rows_takes_several_cell_records_and_decodes_whole():
    n = 600
    rng = np.random.default_rng(3)
    pos = np.column_stack([rng.uniform(8.0, 11.99, n), rng.uniform(4.0, 7.99, n)])  # all in cell (2, 1)
    rows = quantise_rows(np.arange(n), pos, np.zeros(n), np.zeros(n, np.uint8))
    shared = msgpack.unpackb(pack_frame(tick=1, t=0.0, server_time=1.7e9, key=False, rows=rows, tiers=(0, n, 0),
                                        mascots=MASCOTS, show=None, events=[]), raw=False)
    assert np.frombuffer(shared["cells"], CELL).tolist() == [(2, 1, 255), (2, 1, 255), (2, 1, 90)]
    np.testing.assert_allclose(unpack_cell(shared).pos, pos, atol=0.5 / UNITS_PER_M)
    bad = dict(shared, cells=shared["cells"][:-3])
    with pytest.raises(ValueError, match="cells cover 510 rows, not its 600"):
        unpack_cell(bad)


SLOTS = 12
slot_lists = st.lists(st.integers(0, SLOTS - 1), unique=True, max_size=SLOTS)


@st.composite
def crowd_frames(draw: st.DrawFn) -> dict[str, Any]:
    """One frame's changes: maybe a keyframe, slots freed, slots taken, rows (any slots, in three tiers)."""
    new_slots = draw(slot_lists)
    row_slots = draw(slot_lists)
    cuts = sorted(draw(st.lists(st.integers(0, len(row_slots)), min_size=2, max_size=2)))
    return {
        "key": draw(st.integers(0, 9)) == 0,
        "gone": draw(slot_lists),
        "new": [(s, draw(st.integers(0, 2**32 - 1))) for s in new_slots],
        "rows": [(s, draw(st.integers(0, 41942)), draw(st.integers(0, 41942))) for s in row_slots],
        "tiers": (cuts[0], cuts[1] - cuts[0], len(row_slots) - cuts[1]),
    }


@given(st.lists(crowd_frames(), max_size=30))
@settings(max_examples=200, deadline=None)
def test_a_crowd_copy_applying_every_frame_holds_what_the_frames_say(frames):
    """Frames packed as the server packs them, applied in order, leave the crowd a direct model says."""
    model: dict[int, tuple[int, tuple[int, int] | None]] = {}
    """slot -> (avatar id, position in 1/64 m, None until a row came)"""
    crowd = CrowdCopy()
    for tick, f in enumerate(frames):
        if f["key"]:
            model.clear()
        for slot in f["gone"]:
            model.pop(slot, None)
        for slot, avatar in f["new"]:
            model[slot] = (avatar, None)
        for slot, x, y in f["rows"]:
            if slot in model:
                model[slot] = (model[slot][0], (x, y))
        new = new_records(np.array([s for s, _ in f["new"]], np.int64), np.array([a for _, a in f["new"]], np.int64))
        rows = _rows([s for s, _, _ in f["rows"]], [(x, y) for _, x, y in f["rows"]])
        data = frame(-1, 0, [], pack_frame(tick=tick, t=0.0, server_time=1.7e9, key=f["key"], rows=rows,
                                           tiers=f["tiers"], mascots=MASCOTS, show=SHOW if f["key"] else None,
                                           events=[], new=new, gone=np.array(f["gone"], np.uint16)))
        crowd.apply(unpack_cell(decode_server(data)[1]))
    drawn = {slot: where for slot, (_, where) in model.items() if where is not None}
    assert sorted(crowd.present().tolist()) == sorted(drawn)
    for slot, (avatar, where) in model.items():
        assert crowd.ids[slot] == avatar
        assert bool(crowd.known[slot]) == (where is not None)
        if where is not None:
            np.testing.assert_array_equal(np.rint(crowd.pos[slot] * UNITS_PER_M), where)
    free = np.setdiff1d(np.arange(crowd.ids.size), list(model))
    assert np.all(crowd.ids[free] == -1) and not crowd.known[free].any()


# --- docs/protocol.md stays true to the code -------------------------------------------------

def _doc_block(tag: str) -> str:
    found = re.findall(rf"^```{re.escape(tag)}\n(.*?)^```", DOC.read_text(), re.DOTALL | re.MULTILINE)
    assert len(found) == 1, f"docs/protocol.md: expected one ```{tag} block, found {len(found)}"
    return found[0]


def _doc_hex(tag: str) -> bytes:
    return bytes.fromhex(" ".join(_doc_block(f"hex {tag}").split()))


def test_doc_join_hex_is_what_encode_produces():
    assert _doc_hex("join") == encode(Join(**JOIN)) == pack(JOIN)


def test_doc_snapshot_hex_is_what_the_doc_example_code_produces():
    scope: dict[str, Any] = {}
    exec(compile(_doc_block("python snapshot-example"), "docs/protocol.md", "exec"), scope)
    assert _doc_hex("snapshot") == scope["data"]
    assert f"these {len(scope['data'])} bytes" in DOC.read_text()
    _, cell = decode_server(scope["data"])
    assert np.frombuffer(cell["cells"], CELL).tolist() == [(3, 1, 1), (5, 1, 1)]  # viewer cell [3, 1]; [5, 1] is mid
    snap = unpack_cell(cell)
    assert not snap.key and snap.tiers == (1, 1, 0) and snap.show is None
    np.testing.assert_array_equal(snap.slots, [0, 1])
    np.testing.assert_allclose(snap.pos, [[12.34, 5.67], [21.0, 6.5]], atol=0.5 / UNITS_PER_M)
    np.testing.assert_array_equal(snap.pos * UNITS_PER_M, [[3 * 256 + 22, 256 + 107], [5 * 256 + 64, 256 + 160]])
    np.testing.assert_array_equal(snap.new_slots, [1])
    np.testing.assert_array_equal(snap.new_ids, [43])
    np.testing.assert_array_equal(snap.gone, [2])


def test_doc_snapshot_decoding_reads_what_the_doc_says_and_its_dtypes_are_the_codecs():
    scope: dict[str, Any] = {}
    exec(compile(_doc_block("python snapshot-example"), "docs/protocol.md", "exec"), scope)
    exec(compile(_doc_block("python snapshot-decode"), "docs/protocol.md", "exec"), scope)
    assert (scope["ROW"], scope["CELL"], scope["NEW"], scope["MASCOT"]) == (ROW, CELL, NEW, MASCOT)
    assert (len(scope["near"]), len(scope["mid"]), len(scope["far"])) == (1, 1, 0)
    assert scope["near"]["slot"].tolist() == [0] and scope["mid"]["slot"].tolist() == [1]
    assert scope["cells"].tolist() == [(3, 1, 1), (5, 1, 1)]
    np.testing.assert_array_equal(scope["pos_m"], [[12.34375, 5.671875], [21.0, 6.5]])  # as the doc's comment says
    np.testing.assert_array_equal(scope["pos_m"], unpack_cell(scope["cell"]).pos)
    np.testing.assert_allclose(scope["heading_rad"], [0.0, np.pi / 2])
    assert "phase" not in scope  # avatar rows carry none: clients derive it (the example client's test checks how)
    assert scope["new"].tolist() == [(1, 43)] and scope["gone"].tolist() == [2]
    assert scope["mascots"].tolist() == [(3000, 2000, 128, 1, -1, 192)]


def test_doc_example_client_runs_against_a_stand_in_server(monkeypatch, capsys):
    """The doc's client joins, moves and keeps its crowd copy from frames a minimal server builds with the codec.

    Frame 0 is a keyframe (avatar 41 in slot 0, you, 42, in slot 1); frame 1 moves you to where you asked;
    no later frame carries your row, so the copy must keep it; frame 10 frees slot 0, frame 20 gives it to
    avatar 44 (drawn from frame 25, its first row, a far one). The copy ends as the codec's ``CrowdCopy``
    holds it, gait phases included: you walked from (5, 5) m, and avatar 44 starts afresh."""
    from websockets.sync.server import serve

    received: list[Any] = []
    sent: list[bytes] = []

    def handler(ws):
        join = decode_client(ws.recv())
        received.append(join)
        ws.send(encode(Welcome(v=PROTOCOL_VERSION, you=42, slot=1, shard=0, role=join.role, resume="tok",
                               wallet="w" * 32, tick_hz=20, event=EventInfo(id="e", title="E", duration=60.0),
                               scene="", scene_version=1, playing=True, t=1.5)))
        move = decode_client(ws.recv())
        received.append(move)
        sent.append(frame(move.seq, 42, [], pack_cell(
            tick=100, t=5.0, server_time=1.7e9, ids=np.array([41, 42]), pos=np.array([[1.0, 1.0], [5.0, 5.0]]),
            heading=np.zeros(2), anim=np.zeros(2, np.uint8), mascots=MASCOTS, show=SHOW, events=[])))
        ws.send(sent[-1])
        for k in range(1, 40):
            rows, tiers = _rows([], []), (0, 0, 0)
            if k == 1:
                rows, tiers = _rows([1], [[round(move.x * UNITS_PER_M), round(move.y * UNITS_PER_M)]]), (1, 0, 0)
            if k == 25:
                rows, tiers = _rows([0], [[192, 192]]), (0, 0, 1)
            sent.append(frame(move.seq, 42, [], pack_frame(
                tick=100 + k, t=5.0 + k / 20, server_time=1.7e9 + k / 20, key=False, rows=rows, tiers=tiers,
                mascots=MASCOTS, show=None, events=[],
                new=new_records(np.array([0]), np.array([44])) if k == 20 else None,
                gone=np.array([0], np.uint16) if k == 10 else None)))
            ws.send(sent[-1])
        received.append(decode_client(ws.recv()))

    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    with serve(handler, "127.0.0.1", 0, compression=None) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        port = server.socket.getsockname()[1]
        code = _doc_block("python example-client").replace("ws://127.0.0.1:8765/", f"ws://127.0.0.1:{port}/")
        client: dict[str, Any] = {"__name__": "example_client"}
        exec(compile(code, "docs/protocol.md", "exec"), client)
    thread.join(5)
    out = capsys.readouterr().out
    assert "avatar 42 in shard 0" in out
    assert out.count("at (5.00, 5.00) m, 2 avatars in the copy") == 1
    assert out.count("at (20.00, 15.00) m") == 39
    assert out.count("at (20.00, 15.00) m, 2 avatars in the copy") == 9 + 15
    assert out.count("at (20.00, 15.00) m, 1 avatars in the copy") == 15
    assert received[0].v == PROTOCOL_VERSION
    assert received[1] == MoveInput(MOVE_TO, 0, 20.0, 15.0)
    assert received[2].type == "leave"
    reference = CrowdCopy()
    for data in sent:
        reference.apply(unpack_cell(decode_server(data)[1]))
    crowd, n = client["crowd"], reference.ids.size
    np.testing.assert_array_equal(crowd.ids[:n], reference.ids)
    assert np.all(crowd.ids[n:] == -1)
    np.testing.assert_array_equal(crowd.drawn[:n], reference.known)
    held = np.flatnonzero(reference.known)
    np.testing.assert_array_equal(held, [0, 1])
    np.testing.assert_allclose(crowd.pos[held], reference.pos[held])
    np.testing.assert_allclose(crowd.phase[held], reference.phase[held], atol=1e-9)
    golden = (math.sqrt(5) - 1) / 2
    assert crowd.phase[1] == pytest.approx((golden + math.hypot(15.0, 10.0) / STRIDE_M) % 1.0)  # first row, walk
    assert crowd.phase[0] == 0.0  # avatar 44's first row in slot 0: 0 × golden, not 41's walk from (1, 1) m
