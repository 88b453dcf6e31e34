"""A community server killed with SIGKILL again and again while members join, submit entries and
vote: after every restart nothing the server acknowledged is lost or duplicated, and the member
cap still holds."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import random
import signal
import sqlite3
from pathlib import Path
from typing import Any

import msgpack
import websockets
from conftest import ROOT

CLUB = "weekend-residency-club"
CAP = 120
ENTER, VOTE = "weekly-sketch-w1", "weekly-sketch-w2"
KILLS = 55
TOKEN = "crash-host-token"
TIMEOUT_S = 10.0


def club_file(folder: Path) -> Path:
    """The example club with a small cap, so that the cap is reached while the server keeps dying."""
    text = (ROOT / "communities" / f"{CLUB}.toml").read_text()
    text = text.replace("cap = 500", f"cap = {CAP}", 1)
    text = text.replace('scene = "../scenes/', f'scene = "{ROOT / "scenes"}/')
    path = folder / f"{CLUB}.toml"
    path.write_text(text)
    return path


def serve(data_dir: str, club: str, pipe: Any) -> None:
    """The server process: serve the residency scene with the club until killed."""
    from server.net.app import serve_until_signal, start_server
    from showroom.community import load_community
    from showroom.scene import load_scene

    async def main() -> None:
        path = ROOT / "scenes" / "weekend-residency.toml"
        running = await start_server(load_scene(path), scene_text=path.read_text(), port=0, host_token=TOKEN,
                                     data_dir=Path(data_dir), communities=[load_community(club)])
        pipe.send(running.url)
        await serve_until_signal(running)

    asyncio.run(main())


class Link:
    """A bare connection: send maps, wait for one answer."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws

    @classmethod
    async def open(cls, url: str, join: dict[str, Any]) -> tuple[Link, dict[str, Any]]:
        ws = await websockets.connect(url, compression=None, max_size=2**22, open_timeout=TIMEOUT_S)
        link = cls(ws)
        return link, await link.ask(join, "welcome")

    async def ask(self, message: dict[str, Any], *answers: str) -> dict[str, Any]:
        await self.ws.send(msgpack.packb(message))
        while True:
            value = msgpack.unpackb(await asyncio.wait_for(self.ws.recv(), TIMEOUT_S), raw=False)
            if isinstance(value, dict) and value["type"] in (*answers, "error"):
                return value


def png(seed: int) -> bytes:
    import io

    import numpy as np
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(out, "PNG")
    return out.getvalue()


class Season:
    """What the test asked for and what the server acknowledged, across every restart."""

    def __init__(self) -> None:
        self.members: set[str] = set()
        self.entries: set[str] = set()
        self.votes: set[str] = set()
        self.full = 0
        self.next = 0

    def wallet(self) -> str:
        self.next += 1
        return f"crash-wallet-{self.next:05d}-token"


async def visitor(url: str, wallet: str, invite: str | None = None) -> Link:
    join = {"type": "join", "v": 3, "name": wallet[-10:], "wallet": wallet}
    if invite:
        join["invite"] = invite
    link, welcome = await Link.open(url, join)
    if welcome["type"] != "welcome":
        await link.ws.close()
        raise RuntimeError(welcome.get("message", str(welcome)))
    return link


async def prepare(url: str, season: Season) -> list[int]:
    """Before the kills: a few members enter VOTE's challenge, the host approves them and opens the vote."""
    boss, _ = await Link.open(url, {"type": "join", "v": 3, "name": "host", "role": "host", "token": TOKEN})
    code = (await boss.ask({"type": "host_invite", "community": CLUB, "max_uses": 10}, "invite"))["code"]
    await boss.ask({"type": "host_phase", "community": CLUB, "challenge": VOTE, "phase": "submissions"}, "host_ok")
    entries = []
    for k in range(3):
        wallet = season.wallet()
        link = await visitor(url, wallet, code)
        season.members.add(wallet)
        data = png(1000 + k)
        up = await link.ask({"type": "entry_start", "community": CLUB, "challenge": VOTE, "title": f"seed {k}",
                             "size": len(data)}, "upload")
        await link.ws.send(msgpack.packb({"type": "entry_part", "upload": up["upload"], "index": 0, "data": data}))
        entries.append((await link.ask({"type": "entry_done", "upload": up["upload"]}, "entry"))["entry"])
        await link.ws.close()
    await boss.ask({"type": "host_phase", "community": CLUB, "challenge": VOTE, "phase": "review"}, "host_ok")
    for entry in entries:
        await boss.ask({"type": "host_moderate", "entry": entry, "approve": True}, "host_ok")
        await asyncio.sleep(0.11)
    for challenge, phase in ((VOTE, "voting"), (ENTER, "submissions")):
        await boss.ask({"type": "host_phase", "community": CLUB, "challenge": challenge, "phase": phase}, "host_ok")
    await boss.ws.close()
    return entries


async def one_member(url: str, season: Season, invite: str, votable: list[int], k: int) -> None:
    """A new visitor joins with the invite, submits an entry and votes; every acknowledgement is noted."""
    wallet = season.wallet()
    try:
        link = await visitor(url, wallet, invite)
    except RuntimeError as refused:
        season.full += str(refused).startswith("full:")
        return
    season.members.add(wallet)
    data = png(k)
    title = f"entry of {wallet}"
    up = await link.ask({"type": "entry_start", "community": CLUB, "challenge": ENTER, "title": title,
                         "size": len(data)}, "upload")
    await link.ws.send(msgpack.packb({"type": "entry_part", "upload": up["upload"], "index": 0, "data": data}))
    if (await link.ask({"type": "entry_done", "upload": up["upload"]}, "entry"))["type"] == "entry":
        season.entries.add(title)
    ballot = {"type": "vote", "community": CLUB, "challenge": VOTE, "choices": random.sample(votable, 2)}
    if (await link.ask(ballot, "vote_recorded"))["type"] == "vote_recorded":
        season.votes.add(wallet)
    await link.ws.close()


async def hammer(url: str, season: Season, votable: list[int], cycle: int) -> None:
    """Members arrive until the server dies under them (every error from a dying server is expected)."""
    boss, _ = await Link.open(url, {"type": "join", "v": 3, "name": "host", "role": "host", "token": TOKEN})
    code = (await boss.ask({"type": "host_invite", "community": CLUB, "max_uses": 10}, "invite"))["code"]
    tasks = [asyncio.ensure_future(one_member(url, season, code, votable, cycle * 10 + k)) for k in range(4)]
    await asyncio.gather(*tasks, return_exceptions=True)


def test_kill_9_during_joins_entries_and_votes_loses_and_duplicates_nothing_acknowledged(tmp_path):
    from server.storage.community_sqlite import SqliteCommunityStore

    random.seed(5)
    club = club_file(tmp_path)
    data_dir = tmp_path / "data"
    season = Season()
    ctx = mp.get_context("fork")
    votable: list[int] = []
    for cycle in range(KILLS + 1):
        parent, child = ctx.Pipe()
        server = ctx.Process(target=serve, args=(str(data_dir), str(club), child), daemon=True)
        server.start()
        assert parent.poll(30), "the server did not start"
        url = parent.recv()

        async def run_cycle() -> None:
            if cycle == 0:
                votable[:] = await prepare(url, season)
                os.kill(server.pid, signal.SIGKILL)
                return
            work = asyncio.ensure_future(hammer(url, season, votable, cycle))
            await asyncio.sleep(random.uniform(0.02, 0.4))
            os.kill(server.pid, signal.SIGKILL)  # mid-write, mid-answer, wherever it is
            await asyncio.gather(work, return_exceptions=True)
        asyncio.run(run_cycle())
        server.join(10)
        assert not server.is_alive()
    store = SqliteCommunityStore(data_dir)
    try:
        members = {m.wallet for m in store.members(CLUB)}
        from server.event.rewards import wallet_key

        acknowledged = {wallet_key(w) for w in season.members}
        assert acknowledged <= members, "an acknowledged membership was lost"
        assert len(members) <= CAP and store.count(CLUB) == len(members)
        titles = [e.title for e in store.entries(CLUB, ENTER)]
        assert len(titles) == len(set(titles)), "an entry was stored twice"
        assert season.entries <= set(titles), "an acknowledged entry was lost"
        voters = [b.wallet for b in store.ballots(CLUB, VOTE)]
        assert len(voters) == len(set(voters)), "a member voted twice"
        assert {wallet_key(w) for w in season.votes} <= set(voters), "an acknowledged vote was lost"
        assert len(members) == CAP and season.full > 0, "the cap was never reached: the test proves too little"
    finally:
        store.close()
    with sqlite3.connect(data_dir / "communities.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
