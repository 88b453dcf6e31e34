"""A community client written from docs/protocol.md alone, against a real server on 127.0.0.1.

The client part of this file imports nothing from ``showroom`` or ``server``: only the standard
library, msgpack and the ``websockets`` threaded client, as the doc's example client. Everything
it knows about the wire (message and field names, the upload in parts, the phases, the voting
rules, the poll events, the close codes) comes from the doc ("Communities" and the tables it
feeds), and every field name it reads from a server message must appear in the doc, so a gap in
the doc shows up here as a failure. Only the fixture that runs the server imports the server: it
serves the example community files, with the anniversary show as a members-only event of the
Maison Lumen Circle.

A host issues an invite code; a visitor is refused at the members-only door, joins with the code
on the same connection, and sees its membership; a second visitor joins with the same code. The
host opens the circle's challenge for entries; both upload a small PNG (made by hand with zlib
and struct) in parts; the host moves to review and approves both entries, and the first visitor
is told; in the voting phase it finds the other's entry in the gallery, is refused a vote for its
own, and votes for the other's. The host starts a live poll; the visitor sees it, answers, is
confirmed, sees the live count and the final one when the host closes it, and leaves.
"""

from __future__ import annotations

import ast
import asyncio
import random
import re
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import msgpack
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "protocol.md"
SCENE = ROOT / "scenes" / "anniversary-runway.toml"
TOKEN = "doc-community-host-token"

CIRCLE = "maison-lumen-circle"
"""The community the event belongs to (the fixture links the scene to it)."""
CHALLENGE = "rose-sketch-w1"
"""The host's pick: week 1 of the circle's weekly rose-sketch series (community-format.md: ``ID-w1``)."""

# ---- what the doc says ---------------------------------------------------------------------------
PROTOCOL_VERSION = 3
MAX_SERVER_MESSAGE = 4 * 2**20  # "A server message can be up to 4 MiB"
TICK_HZ = 20
CLOSE_NORMAL = 1000
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"  # "must begin as a PNG (89 50 4e 47 0d 0a 1a 0a)"
JPEG_START = b"\xff\xd8\xff"  # "saved anew as JPEG"; entry_image: "a JPEG file"
PART_BYTES = 3072  # "an upload part (entry_part.data): a bin of 1-3072 bytes"

WAIT_S = 5.0
"""Longest wait for any one answer or event (phase changes and live poll counts come within about a second or two)."""


class Fields(dict):
    """A decoded msgpack map that notes the name of every field the client reads from it."""

    def __init__(self, value: dict, seen: set[str]) -> None:
        super().__init__(value)
        self.seen = seen

    def __getitem__(self, key: Any) -> Any:
        self.seen.add(key)
        return super().__getitem__(key)

    def get(self, key: Any, default: Any = None) -> Any:
        self.seen.add(key)
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self.seen.add(key)  # type: ignore[arg-type]
        return super().__contains__(key)


class Link:
    """One WebSocket connection: msgpack values out, decoded values in, every read bounded in time and count.

    Frames are taken in as they pass: their personal and cell events are kept, in order, for
    :meth:`personal_event` and :meth:`cell_event` (a host gets no frames)."""

    def __init__(self, url: str, seen: set[str]) -> None:
        self.seen = seen
        self.ws: ClientConnection = connect(url, compression=None, max_size=MAX_SERVER_MESSAGE, open_timeout=WAIT_S,
                                            close_timeout=WAIT_S, proxy=None)
        self.me = -1
        self.personal: list[Fields] = []
        self.events: list[Fields] = []

    def send(self, value: Any) -> None:
        self.ws.send(msgpack.packb(value, use_bin_type=True))  # bytes go out as bin (entry_part.data)

    def receive(self, deadline: float) -> Any:
        """The next whole message, decoded (maps as :class:`Fields`); TimeoutError after ``deadline``."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        data = self.ws.recv(timeout=left)
        assert isinstance(data, bytes), "the doc says binary messages only"
        return msgpack.unpackb(data, raw=False, strict_map_key=False,
                               object_hook=lambda m: Fields(m, self.seen))

    def take(self, message: Any) -> Fields | None:
        """Take in one message: a frame's events are kept; a map is returned."""
        if isinstance(message, list):
            personal, cell = message
            assert personal["you"] == self.me
            self.personal += personal["events"]
            self.events += cell["events"]
            return None
        return message

    def messages(self, limit_s: float) -> Iterator[Fields | None]:
        """Every message for ``limit_s`` seconds (None for a frame), at most as many as frames could fill it."""
        deadline = time.monotonic() + limit_s
        for _ in range(int(limit_s * TICK_HZ * 2) + 20):
            try:
                yield self.take(self.receive(deadline))
            except TimeoutError:
                return

    def answer(self, kind: str, limit_s: float = WAIT_S) -> Fields:
        """The next map message of type ``kind``; an ``error`` fails the test."""
        for message in self.messages(limit_s):
            if message is None:
                continue
            if message["type"] == "error":
                raise AssertionError(f"refused: {message['code']}: {message['message']} (ref {message['ref']})")
            if message["type"] == kind:
                return message
        raise AssertionError(f"no {kind} within {limit_s} s")

    def ask(self, request: dict, kind: str) -> Fields:
        """Send a message and wait for its answer of type ``kind``."""
        self.send(request)
        return self.answer(kind)

    def refused(self, request: dict) -> Fields:
        """Send a message the server must refuse; its ``error``."""
        self.send(request)
        for message in self.messages(WAIT_S):
            if message is None:
                continue
            assert message["type"] == "error", f"{request['type']} was answered with {message['type']}, not refused"
            assert message["ref"] == request["type"]
            return message
        raise AssertionError(f"no error for {request['type']} within {WAIT_S} s")

    def until(self, done: Callable[[], Any], what: str, limit_s: float = WAIT_S) -> Any:
        """Read messages until ``done()`` gives something true; return it."""
        found = done()
        if found:
            return found
        for message in self.messages(limit_s):
            if message is not None and message["type"] == "error":
                raise AssertionError(f"refused: {message['code']}: {message['message']}")
            found = done()
            if found:
                return found
        raise AssertionError(f"{what}: not within {limit_s:.1f} s")

    def personal_event(self, kind: str, **match: Any) -> Fields | None:
        return next((e for e in self.personal if e["type"] == kind and all(e[k] == v for k, v in match.items())), None)

    def cell_event(self, kind: str, **match: Any) -> Fields | None:
        return next((e for e in self.events if e["type"] == kind and all(e[k] == v for k, v in match.items())), None)

    def join(self, name: str, role: str = "visitor", token: str = "", invite: str | None = None) -> Fields:
        message: dict[str, Any] = {"type": "join", "v": PROTOCOL_VERSION, "name": name, "role": role, "token": token}
        if invite is not None:
            message["invite"] = invite
        welcome = self.ask(message, "welcome")
        self.me = welcome["you"]
        return welcome

    def leave(self) -> None:
        """Leave: the server closes with 1000."""
        self.send({"type": "leave"})
        with pytest.raises(ConnectionClosed):
            self.until(lambda: False, "the close after leave")
        assert self.ws.close_code == CLOSE_NORMAL

    def __enter__(self) -> Any:
        self.ws.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.ws.__exit__(kind, exc, tb)  # closes the connection, unless the server already has


def png(width: int, height: int, seed: int) -> bytes:
    """An 8-bit RGB PNG of noise, by hand: signature, IHDR, one IDAT (zlib), IEND, each chunk with its CRC.

    Noise barely compresses, so even a small picture takes several upload parts."""
    noise = random.Random(seed)
    rows = b"".join(b"\x00" + noise.randbytes(3 * width) for _ in range(height))  # filter 0 on every row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # depth 8, colour type 2 (RGB)
    return PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def upload_entry(visitor: Link, title: str, picture: bytes) -> Fields:
    """entry_start -> upload {upload, part_bytes, parts} -> the parts in order -> entry_done -> entry."""
    ready = visitor.ask({"type": "entry_start", "community": CIRCLE, "challenge": CHALLENGE, "title": title,
                         "size": len(picture)}, "upload")
    step = ready["part_bytes"]
    assert 0 < step <= PART_BYTES and ready["parts"] == -(-len(picture) // step) >= 2
    for index in range(ready["parts"]):
        visitor.send({"type": "entry_part", "upload": ready["upload"], "index": index,
                      "data": picture[index * step:(index + 1) * step]})
    return visitor.ask({"type": "entry_done", "upload": ready["upload"]}, "entry")


def move_challenge(host: Link, watcher: Link, phase: str) -> Fields:
    """The host moves the challenge to ``phase``; the ``phase`` event reaches the watching visitor."""
    done = host.ask({"type": "host_phase", "community": CIRCLE, "challenge": CHALLENGE, "phase": phase}, "host_ok")
    assert done["ref"] == "host_phase"
    return watcher.until(lambda: watcher.cell_event("phase", community=CIRCLE, challenge=CHALLENGE, phase=phase),
                         f"the phase event ({phase})")


# ---- the server (the only part that may import it) -----------------------------------------------

@pytest.fixture
def server_url(tmp_path: Path) -> Iterator[str]:
    """A real server with the example communities and a data directory in ``tmp_path``, on its own
    event loop in a background thread; its event is the anniversary show, members-only for the circle."""
    from server.net.app import start_server
    from showroom.community import load_community
    from showroom.scene import parse_scene

    text = SCENE.read_text().replace(f'community = "{CIRCLE}"', f'community = "{CIRCLE}"\nmembers_only = true', 1)
    scene = parse_scene(text, str(SCENE))
    assert scene.event.community == CIRCLE and scene.event.members_only
    communities = [load_community(path) for path in sorted((ROOT / "communities").glob("*.toml"))]
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="showroom-server", daemon=True)
    thread.start()
    running = asyncio.run_coroutine_threadsafe(
        start_server(scene, scene_text=text, port=0, host_token=TOKEN, data_dir=tmp_path, communities=communities),
        loop).result(30)
    try:
        yield running.url
    finally:
        asyncio.run_coroutine_threadsafe(running.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


# ---- the test ---------------------------------------------------------------------------------------

def test_doc_client_joins_by_invite_enters_a_challenge_votes_and_answers_a_live_poll(server_url: str) -> None:
    seen: set[str] = set()
    with Link(server_url, seen) as host, Link(server_url, seen) as ada, Link(server_url, seen) as bob:
        # 1. a host connection issues an invite code for two
        welcome = host.join("doc-host", role="host", token=TOKEN)
        assert welcome["you"] == -1 and welcome["role"] == "host"
        invite = host.ask({"type": "host_invite", "community": CIRCLE, "max_uses": 2}, "invite")
        assert invite["community"] == CIRCLE and invite["max_uses"] == 2
        assert re.fullmatch(r"[A-Za-z0-9_-]{4,32}", invite["code"]) and invite["expires_at"].endswith("Z")

        # 2. the show is members-only: refused without the code, the same connection joins with it
        door = ada.refused({"type": "join", "v": PROTOCOL_VERSION, "name": "ada", "role": "visitor", "token": ""})
        assert door["code"] == "members_only"
        welcome = ada.join("ada", invite=invite["code"])
        assert welcome["role"] == "visitor" and welcome["you"] >= 0 and len(welcome["wallet"]) >= 16
        assert bob.join("bob", invite=invite["code"])["you"] not in (-1, ada.me)

        # 3. ada's membership, as the community reply tells it
        state = ada.ask({"type": "community", "community": CIRCLE}, "community")
        assert state["community"] == CIRCLE and state["entry"] == "invite" and state["status"] == "member"
        assert state["members"] == 2 <= state["cap"] and isinstance(state["name"], str)
        assert isinstance(state["role"], str) and state["points"] >= 0 and state["streak"] >= 0
        assert state["tier"] is None or isinstance(state["tier"], str)
        assert isinstance(state["challenges"], list) and isinstance(state["polls"], list)

        # 4. the host opens the challenge for entries: the phase event, and the challenge in the community reply
        listed = {c["id"]: c for c in state["challenges"]}
        if CHALLENGE in listed and listed[CHALLENGE]["phase"] == "submissions":  # open by its calendar already:
            move_challenge(host, ada, "draft")  # a step back, so that opening it is a change the phase event tells
        move_challenge(host, ada, "submissions")
        state = ada.ask({"type": "community", "community": CIRCLE}, "community")
        challenge = next(c for c in state["challenges"] if c["id"] == CHALLENGE)
        assert challenge["phase"] == "submissions" and challenge["ballot"] in ("approval", "ranked")
        assert isinstance(challenge["title"], str)

        # 5. both upload a PNG in parts; the server keeps each re-encoded as JPEG, pending moderation
        mine = upload_entry(ada, "Rose in motion", png(48, 48, seed=1))
        assert (mine["community"], mine["challenge"], mine["title"]) == (CIRCLE, CHALLENGE, "Rose in motion")
        assert mine["status"] == "pending" and (mine["width"], mine["height"]) == (48, 48)
        theirs = upload_entry(bob, "Petals at dusk", png(40, 56, seed=2))
        assert theirs["status"] == "pending" and (theirs["width"], theirs["height"]) == (40, 56)
        assert theirs["entry"] != mine["entry"]
        bob.leave()  # his entry stays in the challenge
        stored = ada.ask({"type": "entry_image", "entry": mine["entry"]}, "entry_image")
        assert stored["entry"] == mine["entry"] and stored["image"].startswith(JPEG_START)

        # 6. review: the host lists the entries and approves both; ada is told about hers
        move_challenge(host, ada, "review")
        listing = host.ask({"type": "host_entries", "community": CIRCLE, "challenge": CHALLENGE}, "gallery")
        entries = {e["entry"]: e for e in listing["entries"]}
        assert entries[mine["entry"]]["by"] == "ada" and entries[theirs["entry"]]["by"] == "bob"
        assert entries[mine["entry"]]["status"] == entries[theirs["entry"]]["status"] == "pending"
        for entry in (mine["entry"], theirs["entry"]):
            assert host.ask({"type": "host_moderate", "entry": entry, "approve": True}, "host_ok")["ref"] == "host_moderate"
        told = ada.until(lambda: ada.personal_event("entry_moderated", entry=mine["entry"]), "entry_moderated")
        assert told["status"] == "approved" and told["reason"] is None

        # 7. voting: the gallery shows the approved entries (no results yet); not my own; one ballot
        move_challenge(host, ada, "voting")
        gallery = ada.ask({"type": "gallery", "community": CIRCLE, "challenge": CHALLENGE}, "gallery")
        assert (gallery["community"], gallery["challenge"], gallery["phase"]) == (CIRCLE, CHALLENGE, "voting")
        assert gallery["ballot"] == challenge["ballot"] and gallery["voted"] is False
        shown = {e["entry"]: e for e in gallery["entries"]}
        assert shown[mine["entry"]]["mine"] is True and shown[theirs["entry"]]["mine"] is False
        assert all(e["status"] == "approved" and e["rank"] is None for e in shown.values())
        others = [e for e, item in shown.items() if not item["mine"]]
        assert others == [theirs["entry"]]
        own = ada.refused({"type": "vote", "community": CIRCLE, "challenge": CHALLENGE, "choices": [mine["entry"]]})
        assert own["code"] == "refused" and own["message"].startswith("own_entry:")
        recorded = ada.ask({"type": "vote", "community": CIRCLE, "challenge": CHALLENGE, "choices": others},
                           "vote_recorded")
        assert (recorded["community"], recorded["challenge"], recorded["choices"]) == (CIRCLE, CHALLENGE, others)
        assert ada.ask({"type": "gallery", "community": CIRCLE, "challenge": CHALLENGE}, "gallery")["voted"] is True

        # 8. a live poll: the poll event, my answer confirmed, the live count, the final count at the close
        question, options = "Which colour for the next drop?", ["rose", "gold", "midnight"]
        opened = host.ask({"type": "host_poll", "question": question, "options": options, "results": "live"}, "poll")
        poll = opened["poll"]
        assert opened["options"] == options and opened["results"] == "live"
        assert opened["closes_at"] is None and opened["community"] is None
        event = ada.until(lambda: ada.cell_event("poll", poll=poll), "the poll event")
        assert event["question"] == question and event["options"] == options and event["results"] == "live"
        ada.send({"type": "poll_answer", "poll": poll, "option": 1})
        answered = ada.until(lambda: ada.personal_event("poll_answered", poll=poll), "poll_answered")
        assert answered["option"] == 1
        live = ada.until(lambda: ada.cell_event("poll_results", poll=poll, final=False), "live poll_results")
        assert live["counts"] == [0, 1, 0]
        closed = host.ask({"type": "host_poll_close", "poll": poll}, "poll")
        assert closed["poll"] == poll
        final = ada.until(lambda: ada.cell_event("poll_results", poll=poll, final=True), "final poll_results")
        assert final["counts"] == [0, 1, 0]

        # 9. leave: the server closes with 1000
        ada.leave()

    doc = DOC.read_text()
    missing = sorted(name for name in seen if f"`{name}`" not in doc)
    assert not missing, f"fields the client reads that docs/protocol.md does not name: {missing}"
    assert {"code", "expires_at", "status", "challenges", "part_bytes", "parts", "upload", "entry", "width", "image",
            "mine", "rank", "voted", "choices", "reason", "poll", "counts", "final", "option"} <= seen


def test_the_client_imports_nothing_from_showroom_or_server_outside_the_fixture() -> None:
    tree = ast.parse(Path(__file__).read_text())
    fixture = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "server_url")
    allowed = {id(n) for n in ast.walk(fixture)}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in allowed:
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            assert not any(re.match(r"(showroom|server)(\.|$)", n) for n in names), ast.unparse(node)
