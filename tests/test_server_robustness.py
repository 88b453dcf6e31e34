"""The event server under hostile input, over real sockets on 127.0.0.1.

Crafted malformed messages are each answered with the documented error code and the
connection stays open; random bytes and msgpack values never crash the server; floods are
rate limited or closed (1008, 1009); per-visitor state stays bounded; a reader that stops
reading makes the server skip frames instead of queueing them.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import socket
import struct
import threading
import time
from collections.abc import Iterator
from typing import Any

import msgpack
import numpy as np
import pytest
import websockets
from conftest import ANNIVERSARY
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.sync.client import connect as sync_connect
from wsclient import TIMEOUT_S, Client

from server.event.seats import MAX_PERSONAL_EVENTS
from server.event.shard import MAX_SHARED_EVENTS
from server.net.app import RunningServer, start_server
from server.net import transport
from showroom.protocol import ErrorCode, ProtocolError, decode_client
from showroom.protocol.client_messages import CLIENT_TYPES, Leave
from showroom.protocol.codes import REACTIONS
from showroom.protocol.errors import CloseCode
from showroom.protocol.limits import ABUSE_LIMIT, MAX_CLIENT_FRAME_BYTES
from showroom.scene import parse_scene

TOKEN = "robust-host-token"
TEXT = ANNIVERSARY.read_text()
SCENE = parse_scene(TEXT, "anniversary-runway.toml")
PER_CONNECTION = 15
"""Crafted errors sent on one connection, well under the abuse limit of 20 in 10 s."""
assert PER_CONNECTION < ABUSE_LIMIT


def pack(value: Any) -> bytes:
    return msgpack.packb(value, use_bin_type=True)


def run(scenario, *, limit_s: float = 30.0, playing: bool = True):
    """Start a server on a free port, run ``scenario(server)`` within ``limit_s``, stop the server."""
    async def main():
        server = await start_server(SCENE, scene_text=TEXT, port=0, host_token=TOKEN, playing=playing)
        try:
            return await asyncio.wait_for(scenario(server), limit_s)
        finally:
            await server.stop()

    return asyncio.run(main())


async def visitor(server: RunningServer, name: str) -> Client:
    client = await Client.connect(server.url)
    welcome = await client.join(name)
    assert welcome["type"] == "welcome", welcome
    return client


async def host(server: RunningServer) -> Client:
    client = await Client.connect(server.url)
    welcome = await client.join("stage", role="host", token=TOKEN)
    assert welcome["type"] == "welcome", welcome
    return client


async def pong(client: Client, t: float = 4242.5) -> dict:
    """Ping and wait for the matching pong: proof that the connection is open and served."""
    await client.send({"type": "ping", "t": t})
    return await client.next_message(lambda m: m["type"] == "pong" and m["t"] == t)


async def error(client: Client) -> dict:
    return await client.next_message(lambda m: m["type"] in ("error", "pong", "welcome"))


async def server_is_healthy(server: RunningServer) -> None:
    """The tick goes on and a fresh visitor joins and receives frames."""
    tick = server.event.tick_no
    fresh = await visitor(server, f"fresh{tick}")
    snap = await fresh.next_frame(lambda s: fresh.id in s.ids)
    assert snap.ids.size >= 1
    await pong(fresh)
    assert server.event.tick_no > tick
    await fresh.close()


async def expect_codes(client: Client, crafted: list[tuple[str, bytes, str]]) -> list[str]:
    """Send each crafted message and read its answer; return a line for each mismatch."""
    assert len(crafted) <= PER_CONNECTION
    wrong = []
    for label, data, code in crafted:
        await client.ws.send(data)
        answer = await error(client)
        if answer.get("code") != code:
            wrong.append(f"{label}: expected {code}, got {answer}")
    return wrong


SERVER_FAULTS = ("tick %d failed", "error handling a message from %s")
"""What the server logs when a bug escapes a tick or a message handler."""


@pytest.fixture(autouse=True)
def no_server_faults(caplog):
    """Fail a test in which the server logged a failed tick or a handler crash."""
    caplog.set_level(logging.ERROR, logger="showroom.server")
    yield
    faults = [r.getMessage() for r in caplog.records if r.msg in SERVER_FAULTS]
    assert not faults, faults


# ---- crafted malformed messages, each with the documented code -----------------------------

JOIN = {"type": "join", "v": 3, "name": "ada", "role": "visitor", "token": ""}
NESTED = b"\x91" * 2000 + b"\x90"
"""2000 nested one-item arrays: past msgpack's own stack, let alone the depth limit."""

BEFORE_JOIN = [
    ("ping before join", pack({"type": "ping", "t": 1.0}), "not_joined"),
    ("move before join", pack([1, 1, 30.0, 10.0]), "not_joined"),
    ("chat before join", pack({"type": "chat", "text": "hi"}), "not_joined"),
    ("selfie before join", pack({"type": "selfie", "mascot": "teddy"}), "not_joined"),
    ("host command before join", pack({"type": "host_start"}), "not_joined"),
    ("wrong protocol version", pack({**JOIN, "v": 1}), "bad_version"),
    ("host with the wrong token", pack({**JOIN, "role": "host", "token": "guess"}), "bad_token"),
    ("unknown resume token", pack({**JOIN, "resume": "not-a-token"}), "resume_failed"),
    ("empty name", pack({**JOIN, "name": ""}), "invalid"),
    ("name of 33 characters", pack({**JOIN, "name": "n" * 33}), "invalid"),
    ("version as a string", pack({**JOIN, "v": "1"}), "invalid"),
    ("unknown role", pack({**JOIN, "role": "admin"}), "invalid"),
    ("join without a version", pack({"type": "join", "name": "ada"}), "invalid"),
]

UNDECODABLE = [
    ("empty message", b"", "bad_frame"),
    ("truncated map", pack({"type": "ping", "t": 1.0})[:-3], "bad_frame"),
    ("str32 declaring 4 GiB", b"\xdb\xff\xff\xff\xff", "bad_frame"),
    ("bin32 declaring 4 GiB", b"\xc6\xff\xff\xff\xff", "bad_frame"),
    ("array32 declaring 4 Gi items", b"\xdd\xff\xff\xff\xff", "too_large"),
    ("map32 declaring 4 Gi keys", b"\xdf\xff\xff\xff\xff", "too_large"),
    ("reserved byte 0xc1", b"\xc1", "bad_frame"),
    ("2000 levels of nesting", NESTED, "too_deep"),
    ("4 levels of nesting", pack([[[[1]]]]), "too_deep"),
    ("nesting inside a chat", pack({"type": "chat", "text": "x", "n": {"a": [[1]]}}), "too_deep"),
    ("ext value", b"\xd4\x01\x00", "too_large"),
    ("bin over an upload part", pack(b"x" * 3073), "too_large"),
    ("invalid UTF-8", b"\xa2\xff\xfe", "bad_frame"),
    ("integer map key", pack({1: 2}), "bad_frame"),
    ("trailing bytes", pack({"type": "ping", "t": 1.0}) + b"\x00\x00", "bad_frame"),
]

WRONG_SHAPE = [
    ("two values in one message", pack(1) + pack(2), "bad_frame"),
    ("a bare integer", pack(42), "invalid"),
    ("a bare string", pack("hello"), "invalid"),
    ("nil", pack(None), "invalid"),
    ("unknown type", pack({"type": "dance"}), "unknown_type"),
    ("no type", pack({"t": 1.0}), "unknown_type"),
    ("integer type", pack({"type": 7}), "unknown_type"),
    ("chat of 201 characters", pack({"type": "chat", "text": "x" * 201}), "invalid"),
    ("chat text as an integer", pack({"type": "chat", "text": 5}), "invalid"),
    ("ping with an extra key", pack({"type": "ping", "t": 1.0, "x": 1}), "invalid"),
    ("unknown reaction", pack({"type": "react", "reaction": "boo"}), "invalid"),
    ("string of 1121 bytes", pack({"type": "chat", "text": "y" * 1121}), "too_large"),
    ("array of 11 items", pack(list(range(11))), "too_large"),
    ("map of 10 keys", pack({f"k{i}": i for i in range(10)}), "too_large"),
    ("exactly 4096 bytes", pack({"type": "chat", "text": "z" * 4077}), "too_large"),
]
assert len(WRONG_SHAPE[-1][1]) == MAX_CLIENT_FRAME_BYTES

BAD_MOVES = [
    ("NaN x", pack([1, 1, float("nan"), 5.0]), "out_of_bounds"),
    ("infinite x", pack([1, 2, float("inf"), 5.0]), "out_of_bounds"),
    ("minus infinite direction", pack([2, 3, 0.0, float("-inf")]), "out_of_bounds"),
    ("NaN as float32", b"\x94\x01\x04\xca\x7f\xc0\x00\x00\xca\x40\xa0\x00\x00", "out_of_bounds"),
    ("left of the venue", pack([1, 5, -1.0, 5.0]), "out_of_bounds"),
    ("right of the venue", pack([1, 6, 60.5, 5.0]), "out_of_bounds"),
    ("beyond the back wall", pack([1, 7, 30.0, 40.01]), "out_of_bounds"),
    ("three items", pack([1, 8, 2.0]), "invalid"),
    ("unknown kind", pack([3, 9, 1.0, 1.0]), "invalid"),
    ("kind as a float", pack([1.0, 10, 2.0, 2.0]), "invalid"),
    ("negative seq", pack([1, -1, 1.0, 1.0]), "invalid"),
    ("seq of 2**32", pack([1, 2**32, 1.0, 1.0]), "invalid"),
    ("seq as a boolean", pack([1, True, 1.0, 1.0]), "invalid"),
    ("x as a string", pack([1, 11, "a", 1.0]), "invalid"),
    ("direction longer than 1", pack([2, 12, 1.0, 1.0]), "invalid"),
]


def test_crafted_messages_before_join_get_their_code_and_the_connection_stays():
    async def scenario(server):
        client = await Client.connect(server.url)
        wrong = await expect_codes(client, BEFORE_JOIN)
        assert not wrong, "\n".join(wrong)
        welcome = await client.join("patient")  # every refusal above left the connection open
        assert welcome["type"] == "welcome"
        await pong(client)
        assert client.ws.close_code is None
    run(scenario)


@pytest.mark.parametrize("crafted", [UNDECODABLE, WRONG_SHAPE, BAD_MOVES], ids=["undecodable", "shape", "moves"])
def test_crafted_malformed_messages_get_their_code_and_the_connection_stays(crafted):
    async def scenario(server):
        client = await visitor(server, "ada")
        wrong = await expect_codes(client, crafted)
        assert not wrong, "\n".join(wrong)
        await pong(client)
        snap = await client.next_frame(lambda s: client.id in s.ids)
        assert client.last is not None and snap.ids.size
        assert server.event.metrics.errors_sent == len(crafted)
        await server_is_healthy(server)
    run(scenario)


def test_refused_moves_are_never_applied():
    async def scenario(server):
        client = await visitor(server, "ada")
        start = client.where(await client.next_frame(lambda s: client.id in s.ids), client.id)
        wrong = await expect_codes(client, BAD_MOVES)
        assert not wrong, "\n".join(wrong)
        await pong(client)

        async def frame_with_ack():
            while True:
                value = await client.recv()
                if isinstance(value, list):
                    return value[0], client.last
        personal, snap = await asyncio.wait_for(frame_with_ack(), TIMEOUT_S)
        assert personal["ack"] == -1  # no movement input was ever applied
        assert np.linalg.norm(client.where(snap, client.id) - start) < 0.5
    run(scenario)


def test_visitor_privileges_and_unknown_targets_are_refused():
    async def scenario(server):
        server.event.seek(10.0)  # before teddy's selfie session
        client = await visitor(server, "ada")
        crafted = [
            ("second join", pack(JOIN), "already_joined"),
            ("host_start from a visitor", pack({"type": "host_start"}), "forbidden"),
            ("host_seek from a visitor", pack({"type": "host_seek", "t": 100.0}), "forbidden"),
            ("host_ban from a visitor", pack({"type": "host_ban", "visitor": client.id}), "forbidden"),
            ("host_announce from a visitor", pack({"type": "host_announce", "text": "free bags"}), "forbidden"),
            ("selfie with an unknown mascot", pack({"type": "selfie", "mascot": "nobody"}), "unknown_target"),
            ("selfie with a malformed mascot id", pack({"type": "selfie", "mascot": "Teddy!"}), "invalid"),
            ("selfie outside a session", pack({"type": "selfie", "mascot": "teddy"}), "no_session"),
        ]
        wrong = await expect_codes(client, crafted)
        server.event.seek(65.0)  # teddy holds selfies at (31, 14.5); the visitor is at a door
        wrong += await expect_codes(client, [("selfie from afar", pack({"type": "selfie", "mascot": "teddy"}),
                                              "not_near")])
        assert not wrong, "\n".join(wrong)
        await pong(client)
        assert server.event.show_t < 100.0 and client.id in server.event.where
    run(scenario, playing=False)


def test_host_commands_with_bad_arguments_are_refused():
    async def scenario(server):
        client = await host(server)
        crafted = [
            ("movement from a host", pack([1, 1, 10.0, 10.0]), "not_joined"),
            ("chat from a host", pack({"type": "chat", "text": "hello"}), "forbidden"),
            ("selfie from a host", pack({"type": "selfie", "mascot": "teddy"}), "forbidden"),
            ("react from a host", pack({"type": "react", "reaction": "heart"}), "forbidden"),
            ("cue past the timeline", pack({"type": "host_cue", "index": 999}), "unknown_target"),
            ("negative cue", pack({"type": "host_cue", "index": -1}), "invalid"),
            ("unknown voucher drop", pack({"type": "host_drop", "entitlement": "nope", "open": True}), "unknown_target"),
            ("kick of nobody", pack({"type": "host_kick", "visitor": 999999}), "unknown_target"),
            ("kick with a huge id", pack({"type": "host_kick", "visitor": 2**64 - 1}), "unknown_target"),
            ("seek to a negative time", pack({"type": "host_seek", "t": -1.0}), "invalid"),
            ("seek to infinity", pack({"type": "host_seek", "t": float("inf")}), "invalid"),
            ("seek to NaN", pack({"type": "host_seek", "t": float("nan")}), "invalid"),
            ("announcement of 281 characters", pack({"type": "host_announce", "text": "a" * 281}), "invalid"),
            ("second join of a host", pack({**JOIN, "role": "host", "token": TOKEN}), "already_joined"),
        ]
        wrong = await expect_codes(client, crafted)
        assert not wrong, "\n".join(wrong)
        await pong(client)
        await client.send({"type": "host_seek", "t": 5.0})  # a good command still works
        assert (await client.next_message(lambda m: m["type"] in ("host_ok", "error")))["type"] == "host_ok"
        await server_is_healthy(server)
    run(scenario)


def test_text_frames_and_fragmented_messages_are_bad_frames():
    async def scenario(server):
        client = await visitor(server, "ada")
        await client.ws.send('{"type": "ping", "t": 1}')
        assert (await error(client))["code"] == "bad_frame"
        await client.ws.send([b"\x82\xa4type", b"\xa4ping", b"\xa1t\x01"])  # one map split in three fragments
        await client.send({"type": "ping", "t": 7.5})
        answers = []
        while not answers or answers[-1]["type"] != "pong":
            answers.append(await error(client))
        assert [a["type"] for a in answers] == ["error", "pong"], answers  # one error per message, not per fragment
        assert answers[0]["code"] == "bad_frame" and "fragmented" in answers[0]["message"]
        await pong(client)
    run(scenario)


@pytest.mark.parametrize("move", [[1, 1, 20.0, 20.0], [2, 1, 0.0, 1.0]], ids=["to", "direction"])
def test_leaving_right_after_a_move_does_not_stall_the_shard(move):
    async def scenario(server):
        watcher = await visitor(server, "watcher")
        leaver = await visitor(server, "leaver")
        await watcher.next_frame(lambda s: leaver.id in s.ids)
        await leaver.send(move)
        await leaver.send({"type": "leave"})  # usually before the tick that applies the move
        with pytest.raises(websockets.ConnectionClosed):
            while True:
                await leaver.recv()
        tick = server.event.tick_no
        for _ in range(5):  # the tick goes on: frames keep coming, without the one who left
            snap = await watcher.next_frame(limit_s=1)
        assert server.event.tick_no >= tick + 5 and leaver.id not in snap.ids
    run(scenario)


# ---- random bytes and msgpack values against one live server ------------------------------

class ThreadedServer:
    """A server running in its own thread and event loop, shared by the property tests."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="robustness-server", daemon=True)
        self.thread.start()
        self.server: RunningServer = self.call(
            start_server(SCENE, scene_text=TEXT, port=0, host_token=TOKEN), 30)

    def call(self, coro, limit_s: float = TIMEOUT_S):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(limit_s)

    def stop(self) -> None:
        try:
            self.call(self.server.stop(), 15)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()


@pytest.fixture(scope="module")
def live() -> Iterator[ThreadedServer]:
    running = ThreadedServer()
    try:
        yield running
    finally:
        running.stop()


def local_code(data: bytes) -> str | None:
    """The code the decoder itself refuses ``data`` with, or None when it decodes."""
    try:
        decode_client(data)
    except ProtocolError as exc:
        return exc.code.value
    return None


def send_and_collect(url: str, messages: list[bytes], name: str) -> list[dict]:
    """Join, send every message, ping; return the errors before the pong, then leave."""
    sentinel = -31415.25
    with sync_connect(url, compression=None, max_size=2**22, open_timeout=TIMEOUT_S,
                      close_timeout=2) as ws:
        ws.send(pack({**JOIN, "name": name}))
        replies = []
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            value = msgpack.unpackb(ws.recv(timeout=TIMEOUT_S), raw=False, strict_map_key=False)
            if isinstance(value, dict):
                assert value["type"] == "welcome", value
                break
            assert time.monotonic() < deadline
        for data in messages:
            ws.send(data)
        ws.send(pack({"type": "ping", "t": sentinel}))
        while True:
            assert time.monotonic() < deadline, "no pong: the connection stopped answering"
            value = msgpack.unpackb(ws.recv(timeout=TIMEOUT_S), raw=False, strict_map_key=False)
            if not isinstance(value, dict):
                continue  # a frame
            if value["type"] == "pong" and value["t"] == sentinel:
                break
            replies.append(value)
        ws.send(pack({"type": "leave"}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while time.monotonic() < deadline:
                ws.recv(timeout=TIMEOUT_S)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == CloseCode.NORMAL
    return replies


def check_replies(messages: list[bytes], replies: list[dict]) -> None:
    """Undecodable messages get exactly their codes, in order; valid ones at most one answer each."""
    codes = {c.value for c in ErrorCode}
    errors = [r for r in replies if r["type"] == "error"]
    assert all(r["type"] in ("error", "pong") for r in replies), replies
    assert all(e["code"] in codes for e in errors)
    expected = [c for c in map(local_code, messages) if c is not None]
    assert [e["code"] for e in errors if e["ref"] is None] == expected
    valid = len(messages) - len(expected)
    assert len([r for r in replies if r["type"] == "pong" or r["ref"] is not None]) <= valid


def server_still_serves(live: ThreadedServer, tick_before: int) -> None:
    async def fresh():
        await server_is_healthy(live.server)
    live.call(fresh(), 20)
    assert live.server.event.tick_no > tick_before
    assert not live.server.stopped.is_set()


def not_leave(data: bytes) -> bool:
    try:
        return not isinstance(decode_client(data), Leave)
    except ProtocolError:
        return True


VALID_SAMPLES = [pack(JOIN), pack([1, 3, 12.5, 4.0]), pack({"type": "chat", "text": "hello"}),
                 pack({"type": "selfie", "mascot": "teddy"}), pack({"type": "host_seek", "t": 12.5})]


def mutations(valid: bytes) -> st.SearchStrategy[bytes]:
    cut = st.integers(0, len(valid) - 1).map(lambda n: valid[:n])
    flipped = st.tuples(st.integers(0, len(valid) - 1), st.integers(0, 255)).map(
        lambda p: valid[:p[0]] + bytes([p[1]]) + valid[p[0] + 1:])
    return st.one_of(cut, flipped)


raw_bytes = st.one_of(st.binary(max_size=300), *(mutations(v) for v in VALID_SAMPLES)).filter(not_leave)

WORDS = ["type", "t", "v", "name", "role", "token", "text", "mascot", "reaction", "index", "visitor",
         "entitlement", "open", "resume", "join", "chat", "react", "selfie", "ping", "selfie_leave",
         "host_seek", "host_start", "host_cue", "host_kick", "teddy", "heart", "host", "visitor", "bot"]
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1), st.floats(), st.floats(width=32),
    st.sampled_from(WORDS), st.text(max_size=40), st.binary(max_size=8),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=9),
                            st.dictionaries(st.one_of(st.sampled_from(WORDS), st.text(max_size=8)), inner, max_size=9)),
    max_leaves=24,
)
FIELDS = {
    "t": st.one_of(st.floats(), st.integers(-5, 500)), "v": st.integers(0, 2), "name": st.text(max_size=40),
    "role": st.sampled_from(["visitor", "host", "bot", "admin"]), "text": st.text(max_size=210),
    "mascot": st.sampled_from(["teddy", "ember", "kit", "nobody", "Teddy"]),
    "reaction": st.sampled_from([*REACTIONS, "boo"]), "index": st.integers(-1, 60),
    "visitor": st.integers(-1, 1200), "entitlement": st.sampled_from(["lumen-scarf", "nope"]),
    "open": st.booleans(),
}
control_like = st.fixed_dictionaries(
    {"type": st.sampled_from([t for t in CLIENT_TYPES if t != "leave"])},
    optional={k: st.one_of(v, scalars) for k, v in FIELDS.items()})
movement_like = st.lists(st.one_of(st.integers(-3, 2**33), st.floats(), st.floats(width=32)), min_size=4, max_size=4)
packed_values = st.one_of(values, control_like, movement_like).map(pack).filter(
    lambda b: len(b) <= MAX_CLIENT_FRAME_BYTES).filter(not_leave)


@pytest.mark.parametrize("kind", ["bytes", "msgpack"])
def test_random_messages_are_refused_with_codes_and_never_crash_the_server(live, kind):
    strategy = raw_bytes if kind == "bytes" else packed_values
    tick_before = live.server.event.tick_no
    count = iter(range(10**6))

    @settings(max_examples=60, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(st.lists(strategy, min_size=1, max_size=PER_CONNECTION - 3))
    def check(messages):
        replies = send_and_collect(live.server.url, messages, f"{kind}{next(count)}")
        check_replies(messages, replies)

    check()
    server_still_serves(live, tick_before)


# ---- floods ----------------------------------------------------------------------------------

def test_more_than_twenty_bad_messages_close_the_connection_with_1008():
    async def scenario(server):
        client = await visitor(server, "noisy")
        for _ in range(ABUSE_LIMIT + 5):
            await client.ws.send(b"\xc1")
        errors = 0
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                value = await client.recv()
                errors += isinstance(value, dict) and value["type"] == "error"
        assert closed.value.rcvd is not None and closed.value.rcvd.code == CloseCode.POLICY_VIOLATION
        assert errors == ABUSE_LIMIT
        await server_is_healthy(server)
    run(scenario)


def test_a_movement_flood_is_closed_with_1008_every_time_never_reset():
    """Thousands of moves sent without reading: after 20 rate-limit errors the server sends 1008
    and waits for the client's close, so the close code always arrives (no reset)."""
    async def scenario(server):
        for attempt in range(5):
            client = await visitor(server, f"flooder{attempt}")
            flood = b"".join(masked_frame(pack([1, seq, 20.0, 20.0])) for seq in range(1, 3001))
            client.ws.transport.write(flood)  # all at once, as a flood arrives: nothing read in between
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await client.recv()
            assert closed.value.rcvd is not None, f"attempt {attempt}: no close frame arrived ({closed.value})"
            assert closed.value.rcvd.code == CloseCode.POLICY_VIOLATION
        await server_is_healthy(server)
    run(scenario)


def test_movement_faster_than_twenty_per_second_is_rate_limited():
    async def scenario(server):
        client = await visitor(server, "runner")
        start = time.monotonic()
        for seq in range(1, 51):  # the burst is 40; 50 in well under half a second
            await client.move_to(20.0 + seq * 0.1, 20.0)
        elapsed = time.monotonic() - start
        await pong(client)
        limited = [e for e in client.errors if e["code"] == "rate_limited"]
        assert elapsed < 0.4
        assert 1 <= len(limited) <= 10 and all(e["ref"] == "move" for e in limited)
        assert len(client.errors) == len(limited)
        assert client.ws.close_code is None
    run(scenario)


def test_chat_faster_than_one_per_second_is_rate_limited():
    async def scenario(server):
        client = await visitor(server, "chatty")
        watcher = await visitor(server, "watcher")
        for k in range(6):  # a burst of 3 is allowed
            await client.send({"type": "chat", "text": f"line {k}"})
        await pong(client)
        limited = [e for e in client.errors if e["code"] == "rate_limited"]
        assert len(limited) >= 2 and all(e["ref"] == "chat" for e in limited)
        await watcher.next_frame(lambda s: any(e["type"] == "chat" for e in watcher.events))
        await watcher.next_frame()
        lines = [e["text"] for e in watcher.events if e["type"] == "chat"]
        assert 3 <= len(lines) <= 6 - len(limited)
        await asyncio.sleep(1.1)  # the bucket refills at one line per second
        await client.send({"type": "chat", "text": "later"})
        await watcher.next_frame(lambda s: any(e.get("text") == "later" for e in watcher.events), limit_s=3)
        assert client.ws.close_code is None
    run(scenario)


def test_control_messages_faster_than_ten_per_second_are_rate_limited():
    async def scenario(server):
        client = await visitor(server, "pinger")
        for k in range(26):  # the burst is 20 (the join took one)
            await client.send({"type": "ping", "t": float(k)})
        await asyncio.sleep(0.3)
        await pong(client, 99.0)
        limited = [e for e in client.errors if e["code"] == "rate_limited"]
        assert 3 <= len(limited) <= 8 and all(e["ref"] == "ping" for e in limited)
    run(scenario)


@pytest.mark.parametrize("size", [MAX_CLIENT_FRAME_BYTES + 1, 100_000])
def test_a_message_over_4096_bytes_closes_with_1009_and_the_server_goes_on(size):
    async def scenario(server):
        client = await visitor(server, "big")
        bystander = await visitor(server, "bystander")
        await client.ws.send(pack({"type": "chat", "text": "x" * (size - 5)})[:size].ljust(size, b"x"))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                await client.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == CloseCode.MESSAGE_TOO_BIG
        await pong(bystander)
        await server_is_healthy(server)
    run(scenario)


# ---- bounded memory -----------------------------------------------------------------------------

class RecordingLink:
    """A link that keeps what a session sends (the session is sans-I/O)."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.closed: tuple[int, str] | None = None

    def send(self, data: bytes, droppable: bool = False) -> bool:
        self.sent.append(data)
        return True

    def send_frame(self, head: bytes, shared: bytes) -> bool:
        return True  # frames are not what this link is for

    def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


def test_thousands_of_chats_moves_and_selfie_requests_keep_queues_bounded():
    """2,000 chat lines, moves and selfie requests from one visitor between two ticks.

    The visitor's session runs on the live event with its own clock spaced so every message
    is within the rates (over a socket the rate limits would close it long before); a real
    watcher checks what the next frame carries.
    """
    from server.event.session import Session

    async def scenario(server):
        server.event.seek(65.0)  # teddy's selfie session at the east end
        watcher = await visitor(server, "watcher")
        link = RecordingLink()
        session = Session(server.event, link, "virtual")
        session.receive(pack({**JOIN, "name": "spammer"}), now=1000.0)
        member, shard = session.member, session.shard
        assert member is not None and shard is not None
        row = shard.world.crowd.index_of(np.array([member.id]))
        shard.world.crowd.pos[row] = shard.world.crowd.goal[row] = (33.0, 14.5)
        now = 1001.0
        for k in range(2000):
            session.receive(pack({"type": "chat", "text": f"spam {k}"}), now=now)
            now += 1.0
        for k in range(2000):
            session.receive(pack([1, k, 20.0 + (k % 20), 20.0]), now=now)
            now += 0.1
        for _ in range(2000):
            session.receive(pack({"type": "selfie", "mascot": "teddy"}), now=now)
            now += 0.2
        assert shard.shared.maxlen == MAX_SHARED_EVENTS and len(shard.shared) <= MAX_SHARED_EVENTS
        assert member.events.maxlen == MAX_PERSONAL_EVENTS and len(member.events) <= MAX_PERSONAL_EVENTS
        assert link.closed is None
        assert not [m for m in map(msgpack.unpackb, link.sent) if isinstance(m, dict) and m["type"] == "error"]
        assert int(shard.inputs.seq[member.slot]) == 1999  # only the latest move is kept
        snap = await watcher.next_frame(lambda s: any(e["type"] == "chat" for e in s.events))
        chats = [e for e in snap.events if e["type"] == "chat"]
        assert 0 < len(chats) <= MAX_SHARED_EVENTS and len(snap.events) <= MAX_SHARED_EVENTS + 1
        assert len(shard.shared) <= MAX_SHARED_EVENTS
        assert len(session.faults) <= ABUSE_LIMIT
    run(scenario, playing=False)


def test_a_chat_flood_from_many_visitors_fits_in_a_frame():
    async def scenario(server):
        clients = [await visitor(server, f"v{k}") for k in range(25)]
        watcher = clients[0]
        await asyncio.gather(*(c.send({"type": "chat", "text": f"{k}-{j}"})
                               for k, c in enumerate(clients) for j in range(3)))
        for _ in range(6):
            snap = await watcher.next_frame()
            assert len(snap.events) <= MAX_SHARED_EVENTS + 1
        await asyncio.sleep(0.2)
        seen = [e for e in watcher.events if e["type"] == "chat"]
        assert 0 < len(seen) <= 75
        assert all(len(s.shared) <= MAX_SHARED_EVENTS for s in server.event.shards)
        assert not any(c.errors for c in clients)
    run(scenario)


# ---- a reader that stops reading ----------------------------------------------------------------

class Quiet:
    """A visitor's link that takes every frame and keeps nothing (a crowd around the test's clients)."""

    def send(self, data: bytes) -> bool:
        return True

    def send_frame(self, head: bytes, shared: bytes) -> bool:
        return True

    def close(self, code: int, reason: str) -> None:
        pass


def masked_frame(payload: bytes, opcode: int = 0x2) -> bytes:
    """One client-to-server WebSocket frame (clients must mask)."""
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = bytes([0x80 | opcode, 0x80 | n])
    elif n < 65536:
        head = bytes([0x80 | opcode, 0x80 | 126]) + struct.pack("!H", n)
    else:
        head = bytes([0x80 | opcode, 0x80 | 127]) + struct.pack("!Q", n)
    body = (np.frombuffer(payload, np.uint8) ^ np.resize(np.frombuffer(mask, np.uint8), n)).tobytes()
    return head + mask + body


def test_a_reader_that_stops_reading_gets_frames_skipped_not_queued(monkeypatch):
    """A raw TCP client does the handshake by hand, joins and never reads again.

    1,000 other visitors walk across the hall (so frames carry rows: a standing crowd costs a
    few bytes a frame), and both ends' kernel buffers are made small (a congested link), so the
    backlog lands in the server's write buffer within seconds; past the slow-reader limit (made
    48 KiB here: frames are lean, so 256 KiB would take half a minute at about 16 kB/s) the server
    must skip frames rather than let that buffer grow.
    """
    limit = 48 * 1024
    monkeypatch.setattr(transport, "SLOW_READER_BYTES", limit)
    async def scenario(server):
        event = server.event
        for k in range(1000):
            event.join(f"walker-{k}", "bot", Quiet(), "", time.monotonic())
        crowd = event.shards[0].world.crowd
        walkers = np.flatnonzero(crowd.ids >= 1000)
        rng = np.random.default_rng(7)
        crowd.pos[walkers] = np.column_stack([rng.uniform(16, 44, walkers.size), rng.uniform(17, 31, walkers.size)])
        crowd.goal[walkers] = crowd.pos[walkers][::-1]  # everyone walks to where another stands
        loop = asyncio.get_running_loop()
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, ("127.0.0.1", server.port))
            key = base64.b64encode(os.urandom(16)).decode()
            await loop.sock_sendall(sock, (
                f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = await asyncio.wait_for(loop.sock_recv(sock, 1), TIMEOUT_S)
                assert chunk, "the server closed during the handshake"
                head += chunk
            assert head.startswith(b"HTTP/1.1 101"), head
            [link] = server.event.links
            link.transport.underlying_transport.get_extra_info("socket").setsockopt(
                socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
            await loop.sock_sendall(sock, masked_frame(pack({**JOIN, "name": "sleepy"})))
            metrics = server.event.metrics
            start = time.monotonic()
            while metrics.frames_skipped == 0:
                assert time.monotonic() - start < 8, f"nothing skipped; {metrics.bytes_out} bytes sent"
                await asyncio.sleep(0.05)
            buffered = link.transport.underlying_transport.get_write_buffer_size
            skipped, first = metrics.frames_skipped, buffered()
            await asyncio.sleep(1.0)  # 20 more ticks with the reader still asleep
            assert metrics.frames_skipped >= skipped + 15
            assert buffered() <= limit + 64 * 1024 and buffered() <= first + 64 * 1024
            awake = await visitor(server, "awake")  # everyone else is still served
            await awake.next_frame(lambda s: awake.id in s.ids)
        finally:
            sock.close()
        gone = time.monotonic() + 3
        while len(server.event.links) > 1 and time.monotonic() < gone:
            await asyncio.sleep(0.05)
        assert len(server.event.links) == 1  # the sleeper's connection is gone, the awake one stays
    run(scenario)
