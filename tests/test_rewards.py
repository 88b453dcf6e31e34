"""Meta-Pass rewards at a live event: selfies, attendance, reactions and first joiners earn
entitlements once each, visitors see them in their wallet and redeem vouchers once."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import numpy as np
from conftest import ROOT
from test_server import NEAR_SELFIE, TOKEN, variant
from wsclient import Client

from server.net.app import start_server
from showroom.scene import parse_scene

NEAR_LOUNGE = """
[[venue.spawns]]
name = "by-the-lounge"
at = [46.5, 29.5]
radius = 1.0

"""


def scene_text(quick_attendance: bool = True, spawns: str = NEAR_SELFIE, photo_s: float | None = None) -> str:
    _, text = variant(spawns=spawns, photo_s=photo_s)
    return text.replace("minutes = 5\n", "minutes = 0.03\n", 1) if quick_attendance else text  # 1.8 s


def run(scenario, data_dir, quick_attendance: bool = True, spawns: str = NEAR_SELFIE, photo_s: float | None = None):
    text = scene_text(quick_attendance, spawns, photo_s)
    scene = parse_scene(text, "rewards.toml")

    async def main():
        server = await start_server(scene, scene_text=text, port=0, host_token=TOKEN, data_dir=data_dir)
        try:
            return await asyncio.wait_for(scenario(server), 60)
        finally:
            await server.stop()

    return asyncio.run(main())


async def awarded(client: Client, entitlement: str, limit_s: float = 20) -> dict:
    await client.next_frame(lambda s: any(e["type"] == "awarded" and e["entitlement"] == entitlement
                                          for e in client.personal), limit_s=limit_s)
    return next(e for e in client.personal if e["type"] == "awarded" and e["entitlement"] == entitlement)


def test_a_selfie_earns_the_voucher_once_and_it_redeems_once(tmp_path):
    async def scenario(server):
        server.event.seek(62.0)
        fan = await Client.connect(server.url)
        welcome = await fan.join("fan")
        assert len(welcome["wallet"]) >= 16
        await fan.send({"type": "selfie", "mascot": "teddy"})
        voucher = await awarded(fan, "lumen-scarf")
        assert voucher["kind"] == "voucher" and voucher["valid_until"]
        badge = await awarded(fan, "first-hundred")
        metapass = await awarded(fan, "metapass-gold")
        await fan.send({"type": "wallet"})
        wallet = await fan.next_message(lambda m: m["type"] == "wallet")
        held = {item["entitlement"] for item in wallet["items"]}
        assert {"lumen-scarf", "first-hundred", "metapass-gold"} <= held
        assert len(wallet["pubkey"]) == 64
        await fan.send({"type": "redeem", "award": voucher["seq"]})
        redeemed = await fan.next_message(lambda m: m["type"] in ("redeemed", "error"))
        assert redeemed["type"] == "redeemed" and redeemed["award"] == voucher["seq"]
        await fan.send({"type": "redeem", "award": voucher["seq"]})
        again = await fan.next_message(lambda m: m["type"] == "error")
        assert again["code"] == "refused" and again["message"].startswith("spent:")
        assert redeemed["at"] in again["message"]
        await fan.send({"type": "redeem", "award": badge["seq"]})
        not_voucher = await fan.next_message(lambda m: m["type"] == "error")
        assert not_voucher["message"].startswith("not_redeemable:")
        assert metapass["seq"] != badge["seq"]
        return server.event.ledger.public_key
    key = run(scenario, tmp_path)
    audit = subprocess.run([sys.executable, "-m", "showroom", "ledger", "audit", "--data-dir", str(tmp_path)],
                           capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert audit.returncode == 0, audit.stderr
    assert len(key) == 64


def test_a_returning_wallet_keeps_its_awards_and_gets_no_duplicates(tmp_path):
    async def scenario(server):
        first = await Client.connect(server.url)
        welcome = await first.join("ada")
        await awarded(first, "first-hundred")
        await first.close()
        again = await Client.connect(server.url)
        await again.send({"type": "join", "v": 3, "name": "ada", "wallet": welcome["wallet"]})
        await again.next_message(lambda m: m["type"] == "welcome")
        await again.send({"type": "wallet"})
        wallet = await again.next_message(lambda m: m["type"] == "wallet")
        badges = [i for i in wallet["items"] if i["entitlement"] == "first-hundred"]
        assert len(badges) == 1
        return server.event.ledger.size()
    run(scenario, tmp_path)


def test_reacting_during_the_finale_earns_early_access(tmp_path):
    async def scenario(server):
        server.event.seek(365.0)
        fan = await Client.connect(server.url)
        await fan.join("cheerer")
        await fan.send({"type": "react", "reaction": "applause"})
        early = await awarded(fan, "anniversary-drop")
        assert early["kind"] == "early_access"
    run(scenario, tmp_path)


def test_a_closed_drop_awards_nothing_until_it_opens(tmp_path):
    async def scenario(server):
        server.event.set_drop("lumen-scarf", False)
        server.event.seek(62.0)
        fan = await Client.connect(server.url)
        await fan.join("fan")
        await fan.send({"type": "selfie", "mascot": "teddy"})
        await awarded(fan, "metapass-gold")  # attendance still earns the pass
        assert not any(e["type"] == "awarded" and e["entitlement"] == "lumen-scarf" for e in fan.personal)
        assert server.event.ledger.stock_left("lumen-scarf") == 150
        # Meta-Pass Gold has the early-view perk: its holder gets the closed drop's voucher all the same
        await fan.next_frame(lambda s: any(e["type"] == "selfie_taken" and e["visitor"] == fan.id for e in fan.events))
        fan.personal.clear()  # the first photo is over
        await fan.send({"type": "selfie", "mascot": "teddy"})
        await awarded(fan, "lumen-scarf")
        assert server.event.ledger.stock_left("lumen-scarf") == 149
    run(scenario, tmp_path, photo_s=1.5)  # a photo of 1.5 s, not 6


def test_a_meta_pass_with_selfie_priority_goes_ahead_in_the_queue(tmp_path):
    async def scenario(server):
        server.event.seek(62.0)
        holder = await Client.connect(server.url)
        await holder.join("gold")
        await awarded(holder, "metapass-gold")  # attendance earns Meta-Pass Gold (selfie priority)
        others = [await Client.connect(server.url) for _ in range(3)]
        for k, client in enumerate(others):  # they queue at once, before earning a pass themselves
            await client.join(f"fan{k}")
            await client.send({"type": "selfie", "mascot": "teddy"})
            await client.next_frame(lambda s, c=client: any(e["type"] == "selfie_queue" for e in c.personal))
        await holder.send({"type": "selfie", "mascot": "teddy"})
        await holder.next_frame(lambda s: any(e["type"] == "selfie_queue" for e in holder.personal))
        place = next(e for e in holder.personal if e["type"] == "selfie_queue")
        queue = server.event.shards[0].desk.queues[0]
        assert place["position"] == 1  # the first fan is in the photo; gold goes ahead of the other two
        assert queue.waiting[0] == holder.id
        assert queue.waiting[1:] == [others[1].id, others[2].id]
    run(scenario, tmp_path)


def test_only_a_vip_pass_holder_walks_into_the_vip_lounge(tmp_path):
    from server.event.rewards import wallet_key
    from showroom.sim import geometry as geo

    async def scenario(server):
        token = "gold-wallet-token-0123456789"
        server.event.ledger.award("attend-five-minutes", wallet_key(token))  # a Meta-Pass Gold from an earlier visit
        gold = await Client.connect(server.url)
        await gold.join("gold", wallet=token)
        plain = await visitor_in(server, "plain")
        for client, y in ((gold, 28.0), (plain, 31.0)):
            await client.move_to(53.5, y)
        shard = server.event.shards[0]
        lounge = shard.world.venue.zones[3]

        def positions():
            return shard.world.crowd.pos[shard.world.crowd.index_of(np.array([gold.id, plain.id]))]

        async def both_stopped():
            while True:
                await plain.next_frame()
                speeds = np.linalg.norm(shard.world.crowd.vel[shard.world.crowd.index_of(np.array([gold.id, plain.id]))], axis=1)
                if geo.points_in_polygon(positions()[:1], lounge)[0] and speeds.max() < 0.05:
                    return positions()
        pos = await asyncio.wait_for(both_stopped(), 45)
        assert not geo.points_in_polygon(pos[1:], lounge)[0]
        rope = geo.distance_to_polyline(pos[1:], np.vstack([lounge, lounge[:1]]))[0]
        assert rope < 0.35  # it walked up to the lounge's rope and stopped there
    run(scenario, tmp_path, quick_attendance=False, spawns=NEAR_LOUNGE)


async def visitor_in(server, name: str) -> Client:
    client = await Client.connect(server.url)
    await client.join(name)
    return client


def test_a_crowd_qualifying_at_once_gets_every_award_exactly_once_in_order(tmp_path):
    """More awards earned at once than a batch holds: none is dropped, none written twice, a repeat is not
    handed over again, and each holder is told once, after its commit."""
    from server.event.rewards import Rewards
    from server.storage.ledger import Ledger
    from server.storage.ledger_writer import LedgerWriter

    scene = parse_scene(scene_text(quick_attendance=False), "rewards.toml")
    ledger = Ledger(tmp_path, scene)
    writer = LedgerWriter(ledger, max_batch=500)
    told: list[tuple[str, int]] = []
    rewards = Rewards(scene, writer, told=lambda wallet, event: told.append((wallet, event.seq)))
    rule = next(r for r in scene.rewards if r.id == "cheer-the-finale")
    finale = rewards.look_ids.index(rule.look)
    wallets = [f"w-{k:032x}" for k in range(5000)]
    for wallet in wallets:
        rewards.on_reaction(wallet, "applause", finale)
    for wallet in wallets[:10]:
        rewards.on_reaction(wallet, "applause", finale)  # a repeat is not handed over twice
    deadline = time.monotonic() + 60
    while len(told) < len(wallets) and time.monotonic() < deadline:  # as the tick delivers acknowledgements
        writer.deliver()
        time.sleep(0.01)
    writer.close()
    writer.deliver()
    assert told == [(wallet, seq) for seq, wallet in enumerate(wallets)]  # each once, the oldest first
    assert ledger.awards_made() == {"anniversary-drop": 5000}
    ledger.close()


def test_awarded_reaches_the_visitor_only_once_the_award_is_in_the_database(tmp_path, monkeypatch):
    """Even when the disk is slow: the badge a first joiner earns is told only after its commit."""
    import sqlite3

    from server.storage.ledger import DB_FILE, Ledger

    slow_claim = Ledger._claim

    def claim_then_stall(self, *args):
        outcome = slow_claim(self, *args)
        time.sleep(0.3)  # inside the transaction: the award is not committed yet
        return outcome
    monkeypatch.setattr(Ledger, "_claim", claim_then_stall)

    async def scenario(server):
        fan = await Client.connect(server.url)
        await fan.join("fan")
        badge = await awarded(fan, "first-hundred")
        db = sqlite3.connect(f"file:{tmp_path / DB_FILE}?mode=ro", uri=True)  # another reader, at this moment
        try:
            return badge, db.execute("SELECT seq, entitlement FROM awards").fetchall()
        finally:
            db.close()
    badge, stored = run(scenario, tmp_path, quick_attendance=False)
    assert (badge["seq"], "first-hundred") in stored


def test_two_redemptions_sent_together_spend_the_voucher_once(tmp_path):
    async def scenario(server):
        server.event.seek(62.0)
        fan = await Client.connect(server.url)
        await fan.join("fan")
        await fan.send({"type": "selfie", "mascot": "teddy"})
        voucher = await awarded(fan, "lumen-scarf")
        await fan.send({"type": "redeem", "award": voucher["seq"]})
        await fan.send({"type": "redeem", "award": voucher["seq"]})  # before the first is answered
        answers = [await fan.next_message(lambda m: m["type"] in ("redeemed", "error")) for _ in range(2)]
        await fan.send({"type": "wallet"})
        wallet = await fan.next_message(lambda m: m["type"] == "wallet")
        return answers, wallet
    answers, wallet = run(scenario, tmp_path)
    assert [a["type"] for a in answers] == ["redeemed", "error"]
    assert answers[1]["code"] == "refused" and answers[1]["message"].startswith("spent:")
    assert answers[0]["at"] in answers[1]["message"]
    scarf = next(i for i in wallet["items"] if i["entitlement"] == "lumen-scarf")
    assert scarf["redeemed_seq"] == answers[0]["seq"]


def test_an_award_the_ledger_could_not_write_is_logged_and_earned_by_the_next_trigger(tmp_path, monkeypatch, caplog):
    import server.storage.ledger as store
    from server.event.rewards import Rewards
    from server.storage.ledger import Ledger
    from server.storage.ledger_writer import LedgerWriter

    scene = parse_scene(scene_text(quick_attendance=False), "rewards.toml")
    ledger = Ledger(tmp_path, scene)
    writer = LedgerWriter(ledger)
    told: list[str] = []
    rewards = Rewards(scene, writer, told=lambda wallet, event: told.append(event.entitlement))

    def settle() -> None:
        deadline = time.monotonic() + 30
        while writer.waiting and time.monotonic() < deadline:
            writer.deliver()
            time.sleep(0.01)

    real = store.encode_entry
    monkeypatch.setattr(store, "encode_entry", lambda record, key: 1 / 0)  # a fault in signing
    rewards.on_selfie("teddy", "w-fan")
    settle()
    assert told == [] and rewards.failed == 1
    assert "award selfie-with-teddy for w-fan was not written" in caplog.text
    monkeypatch.setattr(store, "encode_entry", real)
    rewards.on_selfie("teddy", "w-fan")  # the next selfie earns it after all
    settle()
    writer.close()
    assert told == ["lumen-scarf"] and [a.entitlement for a in ledger.wallet("w-fan")] == ["lumen-scarf"]
    ledger.close()
