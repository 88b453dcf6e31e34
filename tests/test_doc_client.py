"""A client written from docs/protocol.md alone, against a real server on 127.0.0.1.

The client part of this file imports nothing from ``showroom`` or ``server``: only the standard
library, msgpack, NumPy and the ``websockets`` threaded client, as the doc's example client.
Everything it knows about the wire (message and field names, the snapshot records and how to
apply a frame to a copy of the crowd, the selfie distance, the close codes) comes from the doc,
and every field name it reads from a server message must appear in the doc, so a gap in the doc
shows up here as a failure. Only the fixture that runs the server imports the server.

The visitor joins, learns the mascots, selfie spots, selfie cues and reward rules from the
scene text in ``welcome``; a host on a second connection jumps the show to the first selfie
cue; the visitor walks up to that mascot, queues, is photographed, finds the voucher the
selfie earned in its wallet, redeems it, and leaves.
"""

from __future__ import annotations

import ast
import asyncio
import math
import re
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import msgpack
import numpy as np
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "protocol.md"
SCENE = ROOT / "scenes" / "anniversary-runway.toml"
TOKEN = "doc-client-host-token"

# ---- what the doc says ---------------------------------------------------------------------------
PROTOCOL_VERSION = 3
MAX_SERVER_MESSAGE = 4 * 2**20  # "A server message can be up to 4 MiB"
MOVE_TO, MOVE_DIR = 1, 2
SELFIE_SESSION = 5  # a mascot record's act: "5 selfie session"
SLOTS = 65536  # slots are uint16
ROW = np.dtype([("slot", "<u2"), ("x", "u1"), ("y", "u1"), ("hdg", "u1"), ("anim", "u1")])
"""A row: 6 bytes, slot, x and y inside the row's cell (1/64 m), heading, animation byte (little-endian)."""
CELL = np.dtype([("cx", "u1"), ("cy", "u1"), ("n", "u1")])
"""A cell record: 3 bytes, the cell (the high bytes of the positions) of the next ``n`` rows."""
NEW = np.dtype([("slot", "<u2"), ("id", "<u4")])
"""A new record: 6 bytes, slot, avatar id."""
MASCOT = np.dtype([("x", "<u2"), ("y", "<u2"), ("hdg", "u1"), ("act", "u1"), ("pose", "i1"), ("phase", "u1")])
"""A mascot record: 8 bytes."""
CM_PER_M = 100.0  # mascot positions: whole centimetres
UNITS_PER_M = 64.0  # avatar positions: counts of 1/64 m, "x = (cx × 256 + row.x) / 64 m"
CELL_UNITS = 256  # a cell is the high byte of a count
NEAR_M = 8.0  # selfie: "within 8 m, else not_near"
WALK_MPS = 1.34  # "walks at 1.34 m/s at most"
TICK_HZ = 20
CLOSE_NORMAL = 1000

WAIT_S = 5.0
"""Longest wait for any one answer or state (the walk gets its own bound, from its length)."""
NEAR_ENOUGH_M = NEAR_M - 1.0
"""Where the walk stops: well inside the selfie distance, whatever happens in the tick between."""


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
    """One WebSocket connection: msgpack values out, decoded values in, every read bounded in time."""

    def __init__(self, url: str, seen: set[str]) -> None:
        self.seen = seen
        self.ws: ClientConnection = connect(url, compression=None, max_size=MAX_SERVER_MESSAGE, open_timeout=WAIT_S,
                                            close_timeout=WAIT_S, proxy=None)

    def send(self, value: Any) -> None:
        self.ws.send(msgpack.packb(value, use_bin_type=True))

    def receive(self, deadline: float) -> Any:
        """The next whole message, decoded (maps as :class:`Fields`); TimeoutError after ``deadline``."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        data = self.ws.recv(timeout=left)
        assert isinstance(data, bytes), "the doc says binary messages only"
        return msgpack.unpackb(data, raw=False, strict_map_key=False,
                               object_hook=lambda m: Fields(m, self.seen))

    def reply(self, kind: str, limit_s: float = WAIT_S) -> Fields:
        """Wait for the next map message of type ``kind``, skipping frames; an ``error`` fails."""
        deadline = time.monotonic() + limit_s
        for _ in range(int(limit_s * TICK_HZ * 2) + 20):
            try:
                message = self.receive(deadline)
            except TimeoutError:
                break
            if isinstance(message, list):
                continue
            if message["type"] == "error":
                raise AssertionError(f"refused: {message['code']}: {message['message']}")
            if message["type"] == kind:
                return message
        raise AssertionError(f"no {kind} within {limit_s} s")

    def __enter__(self) -> Any:
        self.ws.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.ws.__exit__(kind, exc, tb)  # closes the connection, unless the server already has


class Crowd:
    """A copy of the shard's avatars by slot, as the doc's "Applying a frame" says."""

    def __init__(self) -> None:
        self.ids = np.full(SLOTS, -1, np.int64)
        """Avatar id per slot, -1: free."""
        self.drawn = np.zeros(SLOTS, bool)
        """Whether a row has come for the slot's avatar."""
        self.pos = np.zeros((SLOTS, 2))
        """Metres."""

    def apply(self, cell: Fields) -> None:
        rows = np.frombuffer(cell["rows"], ROW)
        runs = np.frombuffer(cell["cells"], CELL)
        assert len(cell["tiers"]) == 3 and sum(cell["tiers"]) == rows.size, "tiers count the rows"
        assert int(runs["n"].sum()) == rows.size, "the cells cover the rows"
        if cell["key"]:
            self.ids[:] = -1
            self.drawn[:] = False
        gone = np.frombuffer(cell.get("gone", b""), "<u2")
        self.ids[gone] = -1
        self.drawn[gone] = False
        new = np.frombuffer(cell.get("new", b""), NEW)
        self.ids[new["slot"]] = new["id"]
        self.drawn[new["slot"]] = False
        cx = np.repeat(runs["cx"].astype(np.int64), runs["n"])
        cy = np.repeat(runs["cy"].astype(np.int64), runs["n"])
        units = np.column_stack([cx * CELL_UNITS + rows["x"], cy * CELL_UNITS + rows["y"]])
        self.pos[rows["slot"]] = units / UNITS_PER_M
        self.drawn[rows["slot"]] = self.ids[rows["slot"]] >= 0


class Visitor(Link):
    """A visitor: keeps its copy of the crowd, the mascots, the show and every event, from the frames."""

    def __init__(self, url: str, seen: set[str]) -> None:
        super().__init__(url, seen)
        self.me = -1
        self.slot = -1
        self.ack = -1
        self.seq = -1
        self.tick = -1
        self.crowd = Crowd()
        self.show: Fields | None = None
        self.pos: np.ndarray | None = None
        """Own position, metres, from the copy of the crowd (None until a row of our slot came)."""
        self.mascot_pos = np.zeros((0, 2))
        self.mascot_act = np.zeros(0, np.uint8)
        self.show_t = 0.0
        self.personal: list[Fields] = []
        self.events: list[Fields] = []

    def join(self, name: str) -> Fields:
        self.send({"type": "join", "v": PROTOCOL_VERSION, "name": name, "role": "visitor", "token": ""})
        welcome = self.reply("welcome")
        self.me = welcome["you"]
        self.slot = welcome["slot"]
        return welcome

    def move(self, kind: int, x: float, y: float) -> int:
        """Send a movement input; return its ``seq``."""
        self.seq += 1
        self.send([kind, self.seq, float(x), float(y)])
        return self.seq

    def read(self, message: Any) -> Fields | None:
        """Take in one message: a frame updates the view and collects events; a map is returned."""
        if isinstance(message, list):
            personal, cell = message
            assert personal["you"] == self.me
            first = self.tick < 0
            assert cell["tick"] > self.tick, "frames come in order"
            self.tick = cell["tick"]
            if first:  # "the first frame on a connection" is a keyframe of the whole shard, with the show
                assert cell["key"] and "show" in cell
            self.crowd.apply(cell)
            if first:
                assert self.crowd.drawn[self.slot] and self.crowd.ids[self.slot] == self.me, "the keyframe has us"
            if "show" in cell:
                self.show = cell["show"]
            self.ack = personal["ack"]
            self.personal += personal["events"]
            self.events += cell["events"]
            self.show_t = cell["t"]
            if self.crowd.drawn[self.slot]:
                self.pos = self.crowd.pos[self.slot].copy()
            mascots = np.frombuffer(cell["mascots"], MASCOT)
            self.mascot_pos = np.column_stack([mascots["x"], mascots["y"]]) / CM_PER_M
            self.mascot_act = mascots["act"]
            return None
        if message["type"] == "error":
            raise AssertionError(f"refused: {message['code']}: {message['message']}")
        if message["type"] == "awarded":  # "the same map as the awarded personal event": kept with them
            self.personal.append(message)
            return None
        return message

    def until(self, done: Callable[[], Any], what: str, limit_s: float = WAIT_S) -> Any:
        """Read messages until ``done()`` gives something true; return it."""
        deadline = time.monotonic() + limit_s
        for _ in range(int(limit_s * TICK_HZ * 2) + 20):
            found = done()
            if found:
                return found
            try:
                self.read(self.receive(deadline))
            except TimeoutError:
                break
        raise AssertionError(f"{what}: not within {limit_s:.1f} s (show time {self.show_t:.1f} s, at {self.pos})")

    def ask(self, request: dict, kind: str) -> Fields:
        """Send a control message and read frames until the map answer of type ``kind``."""
        self.send(request)
        deadline = time.monotonic() + WAIT_S
        for _ in range(int(WAIT_S * TICK_HZ * 2) + 20):
            try:
                answer = self.read(self.receive(deadline))
            except TimeoutError:
                break
            if answer is not None and answer["type"] == kind:
                return answer
        raise AssertionError(f"no {kind} answer to {request['type']} within {WAIT_S} s")

    def personal_event(self, kind: str, **match: Any) -> Fields | None:
        return next((e for e in self.personal if e["type"] == kind and all(e[k] == v for k, v in match.items())), None)

    def cell_event(self, kind: str, **match: Any) -> Fields | None:
        return next((e for e in self.events if e["type"] == kind and all(e[k] == v for k, v in match.items())), None)


def host_jump_to_cue(url: str, seen: set[str], index: int) -> Fields:
    """A host connection: join with the host token, jump the show to cue ``index``, leave."""
    with Link(url, seen) as host:
        host.send({"type": "join", "v": PROTOCOL_VERSION, "name": "doc-host", "role": "host", "token": TOKEN})
        welcome = host.reply("welcome")
        assert welcome["you"] == -1 and welcome["shard"] == -1 and welcome["role"] == "host"
        host.send({"type": "host_cue", "index": index})
        done = host.reply("host_ok")
        assert done["ref"] == "host_cue"
        return done


# ---- the server (the only part that may import it) -----------------------------------------------

@pytest.fixture
def server_url(tmp_path: Path) -> Iterator[str]:
    """A real server with a ledger in ``tmp_path``, on its own event loop in a background thread."""
    from server.net.app import start_server
    from showroom.scene import parse_scene

    text = SCENE.read_text().replace("photo_seconds = 6", "photo_seconds = 1.5")  # the client reads it from the scene
    side_door = text.index('[[venue.spawns]]\nname = "side-door"')  # every visitor comes in by the main entrance:
    text = text[:side_door] + text[text.index("[[", side_door + 2):]  # a 13 m walk to the selfie queue, not 30
    scene = parse_scene(text, str(SCENE))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="showroom-server", daemon=True)
    thread.start()
    running = asyncio.run_coroutine_threadsafe(
        start_server(scene, scene_text=text, port=0, host_token=TOKEN, data_dir=tmp_path), loop).result(30)
    try:
        yield running.url
    finally:
        asyncio.run_coroutine_threadsafe(running.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


# ---- the test ---------------------------------------------------------------------------------------

def test_doc_client_walks_to_a_mascot_takes_a_selfie_and_redeems_the_voucher(server_url: str) -> None:
    seen: set[str] = set()
    with Visitor(server_url, seen) as visitor:
        # 1. join as a visitor
        welcome = visitor.join("doc-client")
        assert welcome["v"] == PROTOCOL_VERSION and welcome["role"] == "visitor"
        assert welcome["you"] >= 0 and welcome["shard"] >= 0 and 0 <= welcome["slot"] < SLOTS
        assert len(welcome["wallet"]) >= 16 and welcome["tick_hz"] == TICK_HZ
        assert welcome["t"] >= 0

        # 2. the scene: mascots in order, selfie spots, the first selfie cue, the reward it earns
        scene = tomllib.loads(welcome["scene"])
        mascots = [m["id"] for m in scene["mascots"]]
        cue_index, cue = next((i, c) for i, c in enumerate(scene["timeline"]) if c["kind"] == "selfie")
        mascot = cue["mascot"]
        m = mascots.index(mascot)
        spot = next(s for s in scene["venue"]["selfie_spots"] if s["name"] == cue["spot"])
        rule = next(r for r in scene["rewards"] if r["when"] == "selfie" and r["mascot"] == mascot)
        voucher = next(e for e in scene["entitlements"] if e["id"] == rule["grant"])
        photo_s = scene["mascots"][m].get("photo_seconds", 6)  # the scene format's default
        assert voucher["kind"] == "voucher"

        # 3. a host jumps the show to the start of that cue; the frames show the session open
        done = host_jump_to_cue(server_url, seen, cue_index)
        assert done["cue"] == cue_index and done["t"] >= 0
        visitor.until(lambda: visitor.mascot_act.size == len(mascots) and visitor.mascot_act[m] == SELFIE_SESSION,
                      f"{mascot}'s selfie session (act {SELFIE_SESSION})")
        assert visitor.cell_event("show") is not None  # the jump, as visitors see it
        visitor.until(lambda: visitor.show is not None and visitor.show["cue"] >= cue_index,
                      "the show state at the selfie cue (sent when it changed)")

        # 4. walk to the head of the mascot's queue until within the selfie distance of the mascot
        visitor.until(lambda: visitor.pos is not None, "own position in a frame")
        start = visitor.pos.copy()
        goal = spot["queue"]
        visitor.move(MOVE_TO, goal[0], goal[1])

        def distance() -> float:
            return float(np.hypot(*(visitor.pos - visitor.mascot_pos[m])))

        walk_s = 1.5 * math.dist(start, goal) / WALK_MPS + 3.0  # room for a busy machine's late ticks
        visitor.until(lambda: distance() <= NEAR_ENOUGH_M, f"within {NEAR_ENOUGH_M} m of {mascot}", walk_s)
        stop = visitor.move(MOVE_DIR, 0.0, 0.0)
        visitor.until(lambda: visitor.ack >= stop, "the stop acknowledged")
        assert distance() < NEAR_M

        # 5. queue for a selfie and be photographed
        visitor.send({"type": "selfie", "mascot": mascot})
        queued = visitor.until(lambda: visitor.personal_event("selfie_queue", mascot=mascot), "selfie_queue")
        assert 0 <= queued["position"] <= queued["size"]
        me = visitor.me
        visitor.until(lambda: visitor.personal_event("selfie_queue", mascot=mascot, position=0),
                      "selfie_queue position 0 (being photographed now)", WAIT_S + queued["position"] * photo_s)
        photo = visitor.until(lambda: visitor.cell_event("selfie_taken", mascot=mascot, visitor=me), "my selfie_taken")
        assert all(isinstance(v, int) for v in photo["visible"])

        # 6. the voucher the selfie earned: in the wallet once `awarded` says so; redeem it
        awarded = visitor.until(lambda: visitor.personal_event("awarded", entitlement=voucher["id"]),
                                f"awarded {voucher['id']}")
        assert awarded["kind"] == "voucher"
        wallet = visitor.ask({"type": "wallet"}, "wallet")
        item = next(i for i in wallet["items"] if i["entitlement"] == voucher["id"] and i["kind"] == "voucher")
        assert item["seq"] == awarded["seq"] and item["redeemed_at"] is None
        redeemed = visitor.ask({"type": "redeem", "award": item["seq"]}, "redeemed")
        assert redeemed["award"] == item["seq"] and redeemed["entitlement"] == voucher["id"]
        assert isinstance(redeemed["seq"], int) and redeemed["seq"] > item["seq"]
        assert isinstance(redeemed["at"], str)

        # 7. leave: the server closes with 1000
        visitor.send({"type": "leave"})
        with pytest.raises(ConnectionClosed):
            visitor.until(lambda: False, "the close after leave")
        assert visitor.ws.close_code == CLOSE_NORMAL

    doc = DOC.read_text()
    missing = sorted(name for name in seen if f"`{name}`" not in doc)
    assert not missing, f"fields the client reads that docs/protocol.md does not name: {missing}"
    assert {"you", "slot", "scene", "key", "tiers", "rows", "cells", "new", "mascots", "show", "position", "visitor",
            "items", "award"} <= seen


def test_the_client_imports_nothing_from_showroom_or_server_outside_the_fixture() -> None:
    tree = ast.parse(Path(__file__).read_text())
    fixture = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "server_url")
    allowed = {id(n) for n in ast.walk(fixture)}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in allowed:
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            assert not any(re.match(r"(showroom|server)(\.|$)", n) for n in names), ast.unparse(node)
