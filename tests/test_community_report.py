"""``showroom community report`` and ``showroom community polls`` on a seeded data directory.

The data directory is seeded through the real stores: 500 members of Maison Lumen Circle (the
first 200 by ambassadors' invites), three who joined and left, twenty-four weeks of engagement
(eleven events, Sunday residency shows, a four-week sketch challenge, polls), and vouchers awarded
and redeemed through the ledger of the anniversary scene, one of them missing from the
catalogue. The figures the command prints are checked against a recomputation written here in
plain loops from the history the seeding wrote, with the quintile rule and segment grid
transcribed from ``showroom/community/rfm.py``'s documentation.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
import struct
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import ANNIVERSARY, ROOT

from server.event.community.rules import CommunityRules
from server.storage.community_sqlite import SqliteCommunityStore
from server.storage.community_store import Engagement, Poll
from server.storage.ledger import Ledger, LedgerRefusal
from showroom.community import load_community
from showroom.ledger import parse_time
from showroom.scene import load_scene
from showroom.scene.rewards import Voucher

CIRCLE = ROOT / "communities" / "maison-lumen-circle.toml"
CLUB = ROOT / "communities" / "weekend-residency-club.toml"
CID = "maison-lumen-circle"
SHANGHAI = ZoneInfo("Asia/Shanghai")
AT = "2027-01-11T09:00:00+08:00"
"""The moment of the report: a Monday morning, after Sunday's residency show, before the gala."""
AT_S = dt.datetime.fromisoformat(AT).timestamp()
DAY_S = 86_400.0
BLOCK_S = 300
"""The server logs attendance in blocks of five minutes (``server/event/event.py``)."""
EVENTS = {  # event id -> start (local), each two hours long
    "summer-salon": (2026, 8, 22, 19), "atelier-workshop": (2026, 9, 26, 15), "autumn-preview": (2026, 10, 10, 19),
    "harvest-dinner": (2026, 10, 24, 19), "film-premiere": (2026, 11, 7, 20), "atelier-open-day": (2026, 11, 14, 14),
    "anniversary-runway": (2026, 11, 28, 20), "lumen-lates": (2026, 12, 5, 21), "gift-atelier": (2026, 12, 12, 15),
    "winter-capsule": (2026, 12, 19, 19), "new-year-gala": (2027, 1, 16, 20),
}
EVENT_BLOCKS = 24
TOTE = Voucher(kind="voucher", id="lumen-tote", name="Lumen canvas tote voucher", product="Lumen canvas tote",
               stock=40, valid_for="30d")
"""A voucher members redeem that the community's catalogue does not price."""


def local(y: int, m: int, d: int, hour: int = 0, minute: int = 0) -> float:
    """Unix seconds of a Shanghai wall-clock time."""
    return dt.datetime(y, m, d, hour, minute, tzinfo=SHANGHAI).timestamp()


def instant(t_s: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(t_s, dt.UTC)


# ---- seeding -------------------------------------------------------------------------------------

@dataclass
class Seeded:
    """A seeded data directory and the history written into it, as the stores returned it."""

    data_dir: Path
    members: list[str] = field(default_factory=list)
    """Current members."""
    rows: dict[int, Engagement] = field(default_factory=dict)
    redeemed: list[tuple[str, str, float]] = field(default_factory=list)
    """(wallet, voucher, Unix seconds of the redemption as the ledger keeps it)."""


class Seeder:
    """Writes a realistic, reproducible history through SqliteCommunityStore and Ledger."""

    def __init__(self, data_dir: Path, seed: int = 13) -> None:
        self.rng = random.Random(seed)
        self.community = load_community(CIRCLE)
        self.store = SqliteCommunityStore(data_dir)
        grants = {**CommunityRules.of(self.community).grants(), "test/tote-raffle": TOTE.id}
        self.ledger = Ledger(data_dir, load_scene(ANNIVERSARY), more_entitlements=[*self.community.entitlements, TOTE],
                             more_grants=grants)
        self.out = Seeded(data_dir)
        self.joined: dict[str, float] = {}
        self.left: dict[str, float] = {}
        self.keen: dict[str, float] = {}
        """How active each member is, 0 (never engages) to 1."""

    def close(self) -> None:
        self.store.close()
        self.ledger.close()

    def log(self, wallet: str, kind: str, amount: float, ref: str, at: float) -> None:
        row = self.store.log(CID, wallet, kind, amount, ref, at)
        self.out.rows[row.seq] = row

    def join_everyone(self) -> None:
        rng = self.rng
        for i in range(3):  # early members who drift away: their history must not count
            wallet = f"drifter-{i}"
            self.store.join(CID, wallet, f"Drifter {i}", cap=500, role="member", invite=None, now=local(2026, 8, 2 + i))
            self.joined[wallet], self.keen[wallet] = local(2026, 8, 2 + i), 0.9
        for g in range(10):  # ambassadors' invites: 20 uses each, three days
            start = local(2026, 8, 1) + g * 5 * DAY_S
            self.store.create_invite(CID, f"amb-{g}", issued_by=f"ambassador-{g}", max_uses=20,
                                     expires_at=start + 3 * DAY_S, now=start)
            for k in range(20):
                self._join(f"m{20 * g + k:03d}", start + k * 2 * 3600 + rng.uniform(0, 3600), f"amb-{g}")
        for i in range(200, 500):
            if i == 497:  # the circle is full: the drifters' summer, then they leave and make room
                self.events(until=local(2026, 9, 1))
                for k in range(3):
                    self.left[f"drifter-{k}"] = local(2026, 9, 20 + k)
                    self.store.leave(CID, f"drifter-{k}", self.left[f"drifter-{k}"])
            self._join(f"m{i:03d}", local(2026, 9, 1) + (i - 200) * 0.42 * DAY_S + rng.uniform(0, 3600), None)

    def _join(self, wallet: str, at: float, invite: str | None) -> None:
        self.store.join(CID, wallet, f"Member {wallet[1:]}", cap=500, role="member", invite=invite, now=at)
        self.joined[wallet] = at
        self.keen[wallet] = 0.0 if self.rng.random() < 0.04 else self.rng.random() ** 1.4
        self.out.members.append(wallet)

    def member_at(self, wallet: str, at: float) -> bool:
        """Whether ``wallet`` is a member at ``at``."""
        return self.joined[wallet] <= at < self.left.get(wallet, float("inf"))

    def events(self, since: float = 0.0, until: float = float("inf")) -> None:
        rng = self.rng
        poll = self.store.open_poll(Poll("finale-look", "event", "anniversary-runway", "Which finale look, gold or rose?",
                                         ("gold", "rose", "ink"), "live", local(2026, 11, 28, 20, 30),
                                         local(2026, 11, 28, 21), None))
        for event, when in EVENTS.items():
            start = local(*when)
            if not since <= start < until:
                continue
            for wallet, keen in self.keen.items():
                if not keen or not self.member_at(wallet, start) or rng.random() > 0.15 + 0.7 * keen:
                    continue
                arrive = rng.randrange(0, 6)
                stay = round(rng.triangular(1, EVENT_BLOCKS - arrive, (EVENT_BLOCKS - arrive) * keen ** 0.5))
                for b in range(arrive, arrive + stay):
                    block = int(start // BLOCK_S) + b
                    self.log(wallet, "attended_minute", 5.0, f"attend:{event}:{block}",
                             block * BLOCK_S + rng.uniform(0, BLOCK_S - 1))
                during = start + (arrive + 0.5) * BLOCK_S
                if rng.random() < 0.5:
                    self.log(wallet, "reaction", rng.randint(1, 30), f"react:{event}", during + 60)
                if rng.random() < 0.35:
                    self._selfie(event, wallet, rng.choice(["teddy", "ember"]), during + 120)
                if event == "anniversary-runway" and rng.random() < 0.6:
                    answered = self.store.answer(poll.id, wallet, rng.choice([0, 0, 1, 2]), poll.opened_at + 60)
                    self.log(wallet, "poll_answer", 1, f"poll:{poll.id}", answered.at)

    def _selfie(self, event: str, wallet: str, mascot: str, at: float) -> None:
        """A selfie; with teddy or ember at the events their vouchers are valid, the voucher too."""
        self.log(wallet, "selfie", 1, f"selfie:{event}:{mascot}", at)
        rule = {"teddy": "selfie-with-teddy", "ember": "selfie-with-ember"}[mascot]
        if event in ("summer-salon", "atelier-open-day") or (mascot == "ember" and event == "autumn-preview"):
            return
        self._award(rule, wallet, at, redeem_within_days=2.5 if mascot == "teddy" else 50.0)

    def _award(self, rule: str, wallet: str, at: float, *, redeem_within_days: float, chance: float = 0.7) -> None:
        try:
            award = self.ledger.award(rule, wallet, instant(at))
        except LedgerRefusal:
            return  # sold out or already held: as at a real event
        if self.rng.random() < chance:
            when = at + self.rng.uniform(0.05, redeem_within_days) * DAY_S
            try:
                spent = self.ledger.redeem(award.seq, wallet, instant(when))
            except LedgerRefusal:
                return  # expired (the aurora voucher ends with January)
            assert spent.redeemed_at is not None
            self.out.redeemed.append((wallet, award.entitlement, parse_time(spent.redeemed_at).timestamp()))
            member = self.store.member(CID, wallet)
            if member is not None and member.status == "member":
                self.log(wallet, "redemption", 1, f"redeem:{award.seq}", when)

    def residency(self) -> None:
        rng = self.rng
        show = local(2026, 12, 6, 20)
        while show < local(2027, 1, 18):
            date = dt.datetime.fromtimestamp(show, SHANGHAI).date().isoformat()
            for wallet, keen in self.keen.items():
                if keen < 0.45 or not self.member_at(wallet, show) or rng.random() > keen:
                    continue
                arrive = show + rng.uniform(0, 600)
                self.log(wallet, "residency_visit", 1, f"residency:golden-hour-encore:{date}", arrive)
                for b in range(rng.randint(3, 6)):
                    block = int(arrive // BLOCK_S) + b
                    self.log(wallet, "attended_minute", 5.0, f"attend:anniversary-runway:{block}",
                             block * BLOCK_S + rng.uniform(0, BLOCK_S - 1))
            show += 7 * DAY_S

    def challenges(self) -> None:
        rng = self.rng
        for week in range(4):
            cid = f"rose-sketch-w{week + 1}"
            opens = local(2026, 12, 7, 10) + week * 7 * DAY_S
            entrants = []
            for wallet, keen in self.keen.items():
                if keen > 0.3 and self.member_at(wallet, opens) and rng.random() < keen * 0.5:
                    self.log(wallet, "entry", 1, f"entry:{cid}:{wallet}", opens + rng.uniform(0, 4 * DAY_S))
                    entrants.append(wallet)
                if keen > 0.05 and self.member_at(wallet, opens) and rng.random() < keen:
                    self.log(wallet, "vote", 1, f"vote:{cid}", opens + 5 * DAY_S + rng.uniform(0, 1.4 * DAY_S))
            closed = opens + 6 * DAY_S + 12 * 3600
            for wallet in rng.sample(entrants, 5):
                self._award(f"{CID}/{cid}/featured", wallet, closed, redeem_within_days=28.0)

    def community_poll(self) -> None:
        rng = self.rng
        opened, closes = local(2026, 12, 1, 12), local(2026, 12, 15, 12)
        poll = self.store.open_poll(Poll("next-colour", "community", CID, "Next season's colour: rose, gold, or ink?",
                                         ("rose", "gold", "ink"), "on_close", opened, closes, None))
        for wallet in self.out.members:
            keen = self.keen[wallet]
            if keen > 0.1 and self.joined[wallet] < opened and rng.random() < keen:
                answered = self.store.answer(poll.id, wallet, rng.randrange(3), opened + rng.uniform(0, 13 * DAY_S))
                self.log(wallet, "poll_answer", 1, f"poll:{poll.id}", answered.at)
        self.store.close_poll(poll.id, closes)

    def vouchers_outside_the_community(self) -> None:
        """The tote raffle (priced nowhere) for members, and vouchers of people who are not members."""
        active = [w for w in self.out.members if self.keen[w] > 0.3 and self.joined[w] < local(2026, 12, 20)]
        for wallet in self.rng.sample(active, 12):
            self._award("test/tote-raffle", wallet, local(2026, 12, 20, 21), redeem_within_days=10.0)
        self._award("selfie-with-ember", "guest-at-the-runway", local(2026, 11, 28, 20, 40), redeem_within_days=3,
                    chance=1.0)


def seed(data_dir: Path) -> Seeded:
    """Seed ``data_dir`` (the same history for the same seed) and return what was written."""
    seeder = Seeder(data_dir)
    try:
        seeder.join_everyone()
        seeder.events(since=local(2026, 9, 1))
        seeder.residency()
        seeder.challenges()
        seeder.community_poll()
        seeder.vouchers_outside_the_community()
        return seeder.out
    finally:
        seeder.close()


@pytest.fixture(scope="module")
def seeded(seeded_circle) -> Seeded:
    return seeded_circle


@pytest.fixture(scope="module")
def report(seeded) -> dict:
    result = showroom("community", "report", str(CIRCLE), "--data-dir", str(seeded.data_dir), "--at", AT, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def showroom(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "showroom", *args], check=False, capture_output=True, text=True,
                          timeout=120, cwd=ROOT)


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


# ---- the recomputation, in plain loops ------------------------------------------------------------

GRID = {  # R score -> segment for F = 1..5, copied from the table in showroom/community/rfm.py
    5: ["new", "potential_loyalist", "potential_loyalist", "champions", "champions"],
    4: ["promising", "potential_loyalist", "potential_loyalist", "loyal", "loyal"],
    3: ["about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"],
    2: ["hibernating", "hibernating", "at_risk", "at_risk", "cannot_lose"],
    1: ["lost", "lost", "at_risk", "at_risk", "cannot_lose"],
}
ORDER = ["champions", "loyal", "potential_loyalist", "new", "promising", "need_attention", "about_to_sleep",
         "at_risk", "cannot_lose", "hibernating", "lost"]


def quintile(values: list[float]) -> list[int]:
    """1 + floor(5 * (below + equal / 2) / n) for each value, higher values scoring higher."""
    n = len(values)
    scores = []
    for v in values:
        below = sum(1 for w in values if w < v)
        equal = sum(1 for w in values if w == v)
        scores.append(1 + (5 * (2 * below + equal)) // (2 * n))
    return scores


def expected_figures(seeded: Seeded) -> dict[str, dict]:
    """Recency, frequency, monetary, points, tier and segment of each member, as of AT."""
    community = load_community(CIRCLE)
    prices = {item.entitlement: item.value for item in community.catalogue}
    points_per = community.loyalty.points
    since = AT_S - community.rfm.window_days * DAY_S
    figures = {}
    for wallet in seeded.members:
        last = None
        events, shows = set(), set()
        points = 0.0
        for row in seeded.rows.values():
            if row.wallet != wallet or row.at > AT_S:
                continue
            points += points_per.get(row.kind, 0) * row.amount
            if last is None or row.at > last:
                last = row.at
            if since < row.at:
                if row.kind == "attended_minute" and row.ref.startswith("attend:"):
                    events.add(row.ref.split(":")[1])
                if row.kind == "residency_visit" and row.ref.startswith("residency:"):
                    shows.add(row.ref)
        monetary = 0.0
        for who, voucher, at in seeded.redeemed:
            if who == wallet and since < at <= AT_S:
                monetary += prices.get(voucher, 0.0)
        tier = None
        for t in sorted(community.loyalty.tiers, key=lambda t: t.points):
            if points >= t.points:
                tier = t.id
        figures[wallet] = {"recency_days": None if last is None else (AT_S - last) / DAY_S,
                           "frequency": len(events) + len(shows), "monetary": monetary, "points": points, "tier": tier}
    wallets = list(figures)
    r = quintile([-(figures[w]["recency_days"] if figures[w]["recency_days"] is not None else float("inf"))
                  for w in wallets])
    f = quintile([figures[w]["frequency"] for w in wallets])
    m = quintile([figures[w]["monetary"] for w in wallets])
    for i, wallet in enumerate(wallets):
        figures[wallet]["scores"] = {"r": r[i], "f": f[i], "m": m[i]}
        figures[wallet]["segment"] = GRID[r[i]][f[i] - 1]
    return figures


# ---- the report ------------------------------------------------------------------------------------

def test_the_seeded_history_is_a_full_circle_with_varied_engagement(seeded):
    assert len(seeded.members) == 500
    kinds = {row.kind for row in seeded.rows.values()}
    assert kinds == {"attended_minute", "reaction", "selfie", "poll_answer", "redemption", "residency_visit", "entry",
                     "vote"}
    vouchers = {voucher for _, voucher, _ in seeded.redeemed}
    assert {"lumen-scarf", "aurora-perfume", "rose-pocket-square", "lumen-tote"} <= vouchers


def test_segment_counts_match_a_plain_recomputation(seeded, report):
    expected = expected_figures(seeded)
    counted = {s: 0 for s in ORDER}
    for figures in expected.values():
        counted[figures["segment"]] += 1
    assert [s["segment"] for s in report["segments"]] == ORDER
    assert {s["segment"]: s["members"] for s in report["segments"]} == counted
    assert sum(counted.values()) == report["totals"]["members"] == 500
    assert sum(1 for n in counted.values() if n) >= 6, counted  # the history spreads members over many segments


def test_every_members_figures_match_the_recomputation(seeded, report):
    expected = expected_figures(seeded)
    assert sorted(m["wallet"] for m in report["members"]) == sorted(seeded.members)
    joined = [m["joined_at"] for m in report["members"]]
    assert joined == sorted(joined)  # in joining order
    for member in report["members"]:
        want = expected[member["wallet"]]
        if want["recency_days"] is None:
            assert member["recency_days"] is None, member
        else:
            assert member["recency_days"] == pytest.approx(want["recency_days"], abs=1e-3), member
        for key in ("frequency", "scores", "segment", "tier"):
            assert member[key] == want[key], (key, member, want)
        assert member["monetary"] == pytest.approx(want["monetary"])
        assert member["points"] == pytest.approx(want["points"])


def test_former_members_and_non_members_are_left_out(report):
    wallets = {m["wallet"] for m in report["members"]}
    assert not any(w.startswith("drifter-") for w in wallets)
    assert "guest-at-the-runway" not in wallets


def test_the_window_leaves_out_older_visits_and_later_ones(seeded, report):
    members = {m["wallet"]: m for m in report["members"]}
    rows = seeded.rows.values()
    since = AT_S - 90 * DAY_S
    early = {r.wallet for r in rows if r.ref.startswith("attend:summer-salon:")} & set(members)
    assert len(early) > 20
    for wallet in early:
        visits = {r.ref.rsplit(":", 1)[0] if r.kind == "attended_minute" else r.ref: r.at for r in rows
                  if r.wallet == wallet and r.kind in ("attended_minute", "residency_visit") and r.at <= AT_S}
        assert members[wallet]["frequency"] == sum(1 for at in visits.values() if at > since) < len(visits)
    gala_only = {r.wallet for r in rows if r.ref.startswith("attend:new-year-gala:")} - {
        r.wallet for r in rows if r.at <= AT_S}
    for wallet in gala_only & set(members):
        assert members[wallet]["recency_days"] is None and members[wallet]["frequency"] == 0


def test_the_notes_name_the_currency_and_the_unpriced_voucher(seeded, report):
    totes = sum(1 for w, voucher, at in seeded.redeemed
                if voucher == "lumen-tote" and w in seeded.members and at <= AT_S)
    assert report["currency"] == "CNY"
    assert report["unpriced"] == {"lumen-tote": totes} and totes > 0
    assert any("in CNY" in note for note in report["notes"])
    assert any(f"{totes} redeemed vouchers are not in the catalogue" in note and "lumen-tote" in note
               for note in report["notes"])
    assert report["totals"]["unpriced_vouchers"] == totes


def test_the_table_lists_every_segment_the_total_and_the_notes(seeded, report):
    result = showroom("community", "report", str(CIRCLE), "--data-dir", str(seeded.data_dir), "--at", AT)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Maison Lumen Circle (maison-lumen-circle): 500 members as of Mon 2027-01-11 09:00")
    header = next(i for i, line in enumerate(lines) if line.startswith("segment"))
    assert lines[header].split() == ["segment", "members", "share", "mean", "R", "days", "mean", "F", "visits",
                                     "mean", "M", "CNY", "typical", "tier"]
    rows = [line.split() for line in lines[header + 1: header + 12]]
    assert [row[0] for row in rows] == ORDER
    by_segment = {s["segment"]: s for s in report["segments"]}
    for row in rows:
        assert int(row[1]) == by_segment[row[0]]["members"]
        assert row[2] == f"{100 * by_segment[row[0]]['share']:.1f}%"
    total = lines[header + 12].split()
    assert total[:4] == ["all", "members", "500", "100.0%"]
    assert any(line.startswith("visits") and f"{report['totals']['visits']:,} (" in line for line in lines)
    assert any(line.startswith("loyalty") and "tiers black" in line for line in lines)
    assert any("lumen-tote" in line for line in lines[lines.index("notes"):])
    assert max(len(line) for line in lines) <= 100


def test_the_plot_is_a_png_of_a_sensible_size_with_the_segment_colours(seeded, tmp_path):
    picture = tmp_path / "segments.png"
    result = showroom("community", "report", str(CIRCLE), "--data-dir", str(seeded.data_dir), "--at", AT,
                      "--plot", str(picture))
    assert result.returncode == 0, result.stderr
    assert f"written to {picture}" in result.stdout.splitlines()[-1]
    data = picture.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert 600 <= width <= 2000 and 400 <= height <= 1400 and width > height
    assert 10_000 < len(data) < 1_000_000
    import matplotlib.image

    pixels = {tuple(p) for p in (matplotlib.image.imread(picture)[..., :3] * 255).round().astype(int).reshape(-1, 3)}
    assert (0x2E, 0x6F, 0x73) in pixels  # the champions' and loyal bars
    assert (0xA7, 0xA7, 0xA7) in pixels  # hibernating and lost


def test_without_matplotlib_the_table_is_printed_and_one_line_says_why(seeded, tmp_path, capsys, monkeypatch):
    from showroom.cli import main

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` raises ImportError
    picture = tmp_path / "segments.png"
    rc = main(["community", "report", str(CIRCLE), "--data-dir", str(seeded.data_dir), "--at", AT,
               "--plot", str(picture)])
    out, err = capsys.readouterr()
    assert rc == 0
    assert not picture.exists()
    assert any(line.startswith("all members") for line in out.splitlines())
    assert "pip install 'showroom[plot]'" in one_line(err)


def test_a_missing_data_directory_is_one_line(tmp_path):
    result = showroom("community", "report", str(CIRCLE), "--data-dir", str(tmp_path / "nowhere"))
    assert result.returncode == 1
    assert "data directory does not exist" in one_line(result.stderr)


def test_a_data_directory_without_a_store_or_a_ledger_is_one_line(seeded, tmp_path):
    result = showroom("community", "report", str(CIRCLE), "--data-dir", str(tmp_path))
    assert result.returncode == 1
    assert "communities.sqlite: no community store here" in one_line(result.stderr)
    (tmp_path / "communities.sqlite").write_bytes((seeded.data_dir / "communities.sqlite").read_bytes())
    result = showroom("community", "report", str(CIRCLE), "--data-dir", str(tmp_path))
    assert result.returncode == 1
    assert "ledger.sqlite: no ledger here" in one_line(result.stderr)


def test_a_community_the_store_has_never_seen_is_one_line_naming_those_it_has(seeded):
    result = showroom("community", "report", str(CLUB), "--data-dir", str(seeded.data_dir))
    assert result.returncode == 1
    line = one_line(result.stderr)
    assert "no members of community 'weekend-residency-club'" in line
    assert "(communities here: maison-lumen-circle)" in line


def test_the_report_reads_without_writing(seeded):
    before = {p.name: p.stat().st_mtime_ns for p in seeded.data_dir.glob("*.sqlite")}
    result = showroom("community", "report", str(CIRCLE), "--data-dir", str(seeded.data_dir), "--at", AT, "--json")
    assert result.returncode == 0, result.stderr
    assert {p.name: p.stat().st_mtime_ns for p in seeded.data_dir.glob("*.sqlite")} == before


# ---- polls -------------------------------------------------------------------------------------------

def test_polls_are_listed_with_their_counts(seeded):
    result = showroom("community", "polls", CID, "--data-dir", str(seeded.data_dir), "--json")
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    (poll,) = listed["polls"]
    assert poll["id"] == "next-colour" and poll["scope"] == "community" and poll["closed_at"] is not None
    answered = sum(1 for row in seeded.rows.values() if row.ref == "poll:next-colour")
    assert poll["answers"] == answered == sum(o["answers"] for o in poll["options"])
    text = showroom("community", "polls", "anniversary-runway", "--data-dir", str(seeded.data_dir))
    assert text.returncode == 0, text.stderr
    assert "finale-look" in text.stdout and "gold" in text.stdout


def test_poll_answers_export_as_csv_and_read_back(tmp_path):
    data = tmp_path / "data"
    store = SqliteCommunityStore(data)
    question = 'Rouge, or « or »? Say "which"'
    store.open_poll(Poll("p-colour", "community", CID, question, ("rouge", "or, doré", "encre"), "live", 1_800_000_000.0,
                         None, None))
    store.open_poll(Poll("p-venue", "community", CID, "Where next?", ("Paris", "Shanghai"), "on_close",
                         1_800_000_100.0, None, None))
    answers = [("p-colour", "w1", 1, 1_800_000_010.5), ("p-colour", "w2", 0, 1_800_000_020.0),
               ("p-colour", "w3", 1, 1_800_000_030.25), ("p-venue", "w1", 1, 1_800_000_200.0)]
    for poll, wallet, option, at in answers:
        store.answer(poll, wallet, option, at)
    store.close_poll("p-colour", 1_800_000_050.0)
    store.close()
    out = tmp_path / "answers.csv"
    result = showroom("community", "polls", CID, "--data-dir", str(data), "--export", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == f"exported 4 answers to {out}"
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [(r["poll"], r["wallet"], int(r["option"])) for r in rows] == [(p, w, o) for p, w, o, _ in answers]
    assert rows[0]["question"] == question and rows[0]["option_text"] == "or, doré"
    assert rows[2]["answered_at"] == "2027-01-15T08:00:30.250Z"
    assert list(rows[0]) == ["poll", "question", "option", "option_text", "wallet", "answered_at"]
    listed = json.loads(showroom("community", "polls", CID, "--data-dir", str(data), "--json").stdout)
    assert [[o["answers"] for o in p["options"]] for p in listed["polls"]] == [[1, 2, 0], [0, 1]]


def test_polls_of_an_unknown_owner_is_one_line_naming_the_owners(seeded):
    result = showroom("community", "polls", "no-such-event", "--data-dir", str(seeded.data_dir))
    assert result.returncode == 1
    line = one_line(result.stderr)
    assert "no polls of 'no-such-event'" in line and "anniversary-runway, maison-lumen-circle" in line
