"""Running a community from the host console: invites, join requests, roles, a challenge's phases,
moderation, featuring and polls, as typed lines and command-line words, against a real server on
127.0.0.1 serving the example communities.

The console is a blocking client, so it runs in a worker thread while the server and the
members run on the test's event loop (as in tests/test_host.py).
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import subprocess
import sys
from typing import Any

import numpy as np
import pytest
from conftest import RESIDENCY, ROOT
from PIL import Image
from wsclient import Client

from server.net.app import start_server
from showroom.community import load_community
from showroom.host.commands import COMMANDS, CommandError, help_text, parse_command, parse_line, parse_words
from showroom.host.console import BAD_COMMAND, OK, REFUSED, run_host
from showroom.host.render import answer_text
from showroom.protocol import community as cm
from showroom.scene import parse_scene

TOKEN = "community-console-token"
CLUB = "weekend-residency-club"
CARD = "new-year-card"
"""The club's one-off approval challenge (two entries each, ten featured)."""
POLL = "weekend-residency-p1"
"""The first poll of the weekend residency's event on a fresh data directory."""
COMMUNITIES = [load_community(path) for path in sorted((ROOT / "communities").glob("*.toml"))]
TEXT = RESIDENCY.read_text()
LIMIT_S = 60.0
WALLET = "w-" + "0123456789abcdef" * 2


def run(scenario, data_dir):
    """Start the weekend residency (a scene of the club) with every example community; run ``scenario``."""
    async def main():
        server = await start_server(parse_scene(TEXT, "weekend-residency.toml"), scene_text=TEXT, port=0,
                                    host_token=TOKEN, data_dir=data_dir, communities=COMMUNITIES)
        try:
            return await asyncio.wait_for(scenario(server), LIMIT_S)
        finally:
            await server.stop()

    return asyncio.run(main())


def console(server, words: list[str], capsys, **kw) -> tuple[int, str, str]:
    """Run ``showroom host`` in this process (called in a worker thread); exit code, stdout, stderr."""
    code = run_host(server.url, TOKEN, words, **kw)
    out = capsys.readouterr()
    return code, out.out, out.err


def showroom(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "showroom", *args], capture_output=True, text=True, timeout=60,
                          check=False, cwd=ROOT)


async def visitor(server, name: str, role: str = "visitor") -> Client:
    client = await Client.connect(server.url)
    welcome = await client.join(name, role=role)
    assert welcome["type"] == "welcome", welcome
    return client


async def ask(client: Client, message: dict[str, Any], *answers: str) -> dict[str, Any]:
    """Send a message and wait for its answer (one of ``answers`` or an error)."""
    await client.send(message)
    return await client.next_message(lambda m: m["type"] in (*answers, "error"))


def png(seed: int, size: int = 40) -> bytes:
    """A small picture, different for every seed."""
    rng = np.random.default_rng(seed)
    out = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8), "RGB").save(out, "PNG")
    return out.getvalue()


async def enter(member: Client, title: str, data: bytes) -> int:
    """Upload a New Year card in parts; its entry number."""
    kept = await member.enter(CLUB, CARD, title, data)
    assert kept["type"] == "entry" and kept["status"] == "pending", kept
    return int(kept["entry"])


# ---- commands as written ------------------------------------------------------------------------

def test_each_community_command_line_becomes_its_host_message():
    def wire(line):
        return parse_line(line).wire()

    assert wire(f"invite {CLUB}") == {"type": "host_invite", "community": CLUB}
    assert wire(f"invite {CLUB} 5 2.5") == {"type": "host_invite", "community": CLUB, "max_uses": 5, "days": 2.5}
    assert wire(f"requests {CLUB}") == {"type": "host_requests", "community": CLUB}
    assert wire(f"approve {CLUB} {WALLET}") == {"type": "host_decide", "community": CLUB, "wallet": WALLET,
                                                "approve": True}
    assert wire(f"refuse {CLUB} {WALLET}") == {"type": "host_decide", "community": CLUB, "wallet": WALLET,
                                               "approve": False}
    assert wire(f"refuse {CLUB} {WALLET} we're full until March") == {
        "type": "host_decide", "community": CLUB, "wallet": WALLET, "approve": False,
        "reason": "we're full until March"}
    assert wire(f"role {CLUB} {WALLET} mentor") == {"type": "host_role", "community": CLUB, "wallet": WALLET,
                                                    "role": "mentor"}
    assert wire(f"phase {CLUB} weekly-sketch-w1 Voting") == {"type": "host_phase", "community": CLUB,
                                                             "challenge": "weekly-sketch-w1", "phase": "voting"}
    assert wire(f"entries {CLUB} {CARD}") == {"type": "host_entries", "community": CLUB, "challenge": CARD}
    assert wire("accept 12") == {"type": "host_moderate", "entry": 12, "approve": True}
    assert wire('reject 13 "not a card # just a doodle"') == {"type": "host_moderate", "entry": 13, "approve": False,
                                                              "reason": "not a card # just a doodle"}
    assert wire(f"feature {CLUB} {CARD}") == {"type": "host_feature", "community": CLUB, "challenge": CARD}
    assert wire("poll 'Which colour next?' rose gold") == {
        "type": "host_poll", "question": "Which colour next?", "options": ["rose", "gold"], "results": "live"}
    assert wire(f'poll "What\'s the next prompt?" owls "night trains" --for 10m --on-close --community {CLUB}') == {
        "type": "host_poll", "question": "What's the next prompt?", "options": ["owls", "night trains"],
        "results": "on_close", "seconds": 600.0, "community": CLUB}
    assert wire("poll Ready? yes no --for=1:30")["seconds"] == 90.0
    assert wire(f"close-poll {POLL}") == {"type": "host_poll_close", "poll": POLL}
    assert wire(f"report {CLUB}") == {"type": "host_report", "community": CLUB}
    assert wire(f"expel {CLUB} {WALLET}") == {"type": "host_expel", "community": CLUB, "wallet": WALLET}
    assert wire(f"members {CLUB}") == {"type": "host_members", "community": CLUB}
    assert wire(f"revoke {CLUB} rau1e1pmS3EN") == {"type": "host_revoke", "community": CLUB, "code": "rau1e1pmS3EN"}
    assert wire(f"target {CLUB} --segment at_risk,cannot_lose --tier regular --grant sketch-kit-refill") == {
        "type": "host_target", "community": CLUB, "segments": ["at_risk", "cannot_lose"], "min_tier": "regular",
        "grant": "sketch-kit-refill"}
    assert wire(f"target {CLUB} --streak=4 --invites 3") == {"type": "host_target", "community": CLUB,
                                                             "min_streak": 4, "invites": 3}


def test_command_line_words_give_the_same_message_as_the_typed_line():
    typed = parse_line(f'poll "What\'s the next prompt?" owls "night trains" --for 10m --community {CLUB}')
    assert parse_words(["poll", "What's the next prompt?", "owls", "night trains", "--for", "10m",
                        "--community", CLUB]) == typed
    assert parse_words(["refuse", CLUB, WALLET, "we're", "full"]) == parse_line(f"refuse {CLUB} {WALLET} we're full")
    assert parse_words(["reject", "13", "not a card"]) == parse_line('reject 13 "not a card"')
    assert parse_words(["announce", "Don't", "miss", "it"]).wire() == {"type": "host_announce", "text": "Don't miss it"}


@pytest.mark.parametrize(("line", "says"), [
    ("invite", ("invite: needs a community id, then optionally how many uses and how many days "
                "(usage: invite COMMUNITY [USES] [DAYS])")),
    ("invite Hoot-Club", ("invite: expected a community id such as weekend-residency-club, got 'Hoot-Club' "
                          "(usage: invite COMMUNITY [USES] [DAYS])")),
    (f"invite {CLUB} 0", "invite: expected USES, a whole number from 1 to 100, got 0"),
    (f"invite {CLUB} 5 soon", "invite: DAYS must be a number such as 3 or 0.5, got 'soon'"),
    (f"requests {CLUB} now", "requests: takes one argument (a community id), got 2 (usage: requests COMMUNITY)"),
    (f"approve {CLUB}", "approve: needs a community id and a wallet (usage: approve COMMUNITY WALLET)"),
    (f"refuse {CLUB}", ("refuse: needs a community id and a wallet, then optionally a reason "
                        "(usage: refuse COMMUNITY WALLET [REASON...])")),
    (f"role {CLUB} {WALLET}", "role: needs a community id, a wallet and a role (usage: role COMMUNITY WALLET ROLE)"),
    (f"role {CLUB} {WALLET} Mentor!", "role: expected a role id of the community file such as curator, got 'Mentor!'"),
    (f"phase {CLUB} {CARD} vote", ("phase: the phase must be one of draft, submissions, review, voting, closed, "
                                   "got 'vote' (usage: phase COMMUNITY CHALLENGE PHASE)")),
    (f"entries {CLUB}", "entries: needs a community id and a challenge id (usage: entries COMMUNITY CHALLENGE)"),
    ("accept first", "accept: the entry number must be a whole number >= 0, got 'first' (usage: accept ENTRY)"),
    ("reject 13", "reject: needs an entry number and the reason its author will read (usage: reject ENTRY REASON...)"),
    (f"reject 13 {'x' * 81}", "reject: expected a reason of at most 80 characters"),
    (f"feature {CLUB} {CARD} now", "feature: takes two arguments (a community id and a challenge id), got 3"),
    ("poll Ready? yes", ("poll: needs a question and at least two options (usage: poll \"QUESTION\" OPTION OPTION... "
                         "[--for TIME] [--on-close] [--community C])")),
    ("poll What's next? owls trains", ("poll: no closing quotation; put the question, and any option of several "
                                       "words, in quotes")),
    ("poll Ready? yes no --for soon", "poll: --for takes a time such as 90, 1:30, 10m or 2h, got 'soon'"),
    ("poll Ready? yes no --for", "poll: --for needs a value"),
    ("poll Ready? yes no --live", "poll: unknown option '--live' (options: --for TIME, --on-close, --community C)"),
    ("poll Ready? " + " ".join(f"o{k}" for k in range(11)), "poll: expected 2 to 10 options of at most 80 characters"),
    ("close-poll", "close-poll: needs a poll id (usage: close-poll POLL)"),
    ("report", "report: needs a community id (usage: report COMMUNITY)"),
    (f"expel {CLUB}", "expel: needs a community id and a wallet (usage: expel COMMUNITY WALLET)"),
    (f"target {CLUB}", "target: says what to give: --grant ENTITLEMENT, --invites USES, or both"),
    ("target --grant x", "target: needs a community id first"),
    (f"target {CLUB} --segment sleepy --invites 2", "target: expected --segment with up to 10 of champions, loyal"),
    (f"target {CLUB} --streak two --invites 2", "target: the number of weeks must be a whole number >= 0, got 'two'"),
    (f"target {CLUB} --invites 500", "target: expected --invites with the uses of each member's code, from 1 to 100"),
    (f"target {CLUB} --tier gold --tier silver --invites 1", "target: --tier is given twice"),
    (f"target {CLUB} --grant", "target: --grant needs a value"),
    (f"target {CLUB} --vip --grant x", "target: unknown option '--vip' (options: --segment S[,S...], --tier T"),
    ("close-poll Weekend!", "close-poll: expected a poll id as poll printed it, got 'Weekend!'"),
])
def test_a_badly_written_community_command_names_its_usage(line, says):
    with pytest.raises(CommandError) as refused:
        parse_line(line)
    assert says in str(refused.value)


def test_help_and_the_cli_list_every_command_with_its_usage(capsys):
    from showroom.cli import main

    listed = help_text()
    with pytest.raises(SystemExit):
        main(["host", "--help"])
    epilog = capsys.readouterr().out.split("commands (type help", 1)[1]
    for command in COMMANDS.values():
        assert f"  {command.usage}" in listed and command.summary in listed
        assert re.search(rf"(^|[\s,]){re.escape(command.name)}\b", epilog), f"{command.name} not in the CLI epilog"
    assert listed.index("show:") < listed.index("community:")


def test_the_new_answers_read_as_aligned_text():
    invite = cm.InviteIssued(community=CLUB, code="Hk3xYz9aBcDe", max_uses=5, expires_at="2026-12-09T18:30:00Z")
    assert answer_text(parse_line(f"invite {CLUB} 5 2"), invite) == (
        "invite    Hk3xYz9aBcDe\n"
        f"community {CLUB}\n"
        "uses      5 people at most\n"
        "expires   2026-12-09 18:30 UTC")
    requests = cm.Requests(community=CLUB, requests=[
        cm.RequestInfo(wallet=WALLET, name="newcomer", at="2026-12-07T09:15:02Z"),
        cm.RequestInfo(wallet="w-" + "f" * 32, name="Olive's friend", at="2026-12-07T10:00:59Z")])
    assert answer_text(parse_line(f"requests {CLUB}"), requests).splitlines() == [
        f"2 pending requests for {CLUB}",
        "  name            wallet                              asked",
        f"  newcomer        {WALLET}  2026-12-07 09:15 UTC",
        f"  Olive's friend  w-{'f' * 32}  2026-12-07 10:00 UTC"]
    assert answer_text(parse_line(f"requests {CLUB}"), cm.Requests(community=CLUB, requests=[])) == (
        f"no pending requests for {CLUB}")
    entry = {"mine": False, "width": 40, "height": 40}
    gallery = cm.Gallery(community=CLUB, challenge=CARD, phase="closed", ballot="approval", voted=False, entries=[
        cm.GalleryEntry(entry=7, title="Olive at dawn", by="artist0", status="approved", rank=1, **entry),
        cm.GalleryEntry(entry=12, title="A doodle", by="artist12", status="rejected", reason="not a card", **entry)])
    assert answer_text(parse_line(f"entries {CLUB} {CARD}"), gallery).splitlines() == [
        f"{CLUB} / {CARD}: closed, approval ballot; 2 entries (1 approved, 0 pending, 1 rejected)",
        "  entry  title          by        status    rank  reason",
        "  7      Olive at dawn  artist0   approved  1",
        "  12     A doodle       artist12  rejected  -     not a card"]
    poll = cm.PollState(poll=POLL, question="Which prompt next?", options=["owls", "night trains"],
                        results="on_close", closes_at="2026-12-07T09:25:00Z", community=CLUB)
    assert answer_text(parse_line("poll 'Which prompt next?' owls 'night trains' --for 10m --on-close "
                                  f"--community {CLUB}"), poll).splitlines() == [
        f"poll      {POLL} (open)",
        "question  Which prompt next?",
        "options   owls | night trains",
        "results   when the poll closes",
        "closes    2026-12-07 09:25 UTC",
        f"for       members of {CLUB}"]
    assert answer_text(parse_line(f"close-poll {POLL}"), poll).splitlines()[0] == f"poll      {POLL} (closed)"
    targeted = cm.Targeted(community=CLUB, at="2026-12-07T09:00:00+00:00", members=2, granted="sketch-kit-refill",
                           invites=[cm.AudienceInvite(wallet=WALLET, name="Olive", code="Hk3xYz9aBcDe"),
                                    cm.AudienceInvite(wallet="w-" + "f" * 32, name="Juno", code="p0Q9rS8tUv7w")])
    assert answer_text(parse_line(f"target {CLUB} --segment at_risk --tier regular --grant sketch-kit-refill "
                                  "--invites 3"), targeted).splitlines() == [
        f"audience  2 members of {CLUB} (at_risk, tier regular and up)",
        "granted   sketch-kit-refill to each (once per member; each is told the moment the ledger has it written)",
        "invites   2 codes, one per member (those at the event see theirs now)",
        "  name   wallet                              code",
        f"  Olive  {WALLET}  Hk3xYz9aBcDe",
        f"  Juno   w-{'f' * 32}  p0Q9rS8tUv7w"]
    nobody = cm.Targeted(community=CLUB, at="2026-12-07T09:00:00+00:00", members=0, granted=None, invites=[])
    assert answer_text(parse_line(f"target {CLUB} --streak 9 --invites 1"), nobody) == (
        f"0 members of {CLUB} (a streak of 9+ weeks): nothing given")


# ---- against a real server ----------------------------------------------------------------------

def test_a_community_script_runs_end_to_end(tmp_path, capsys):
    async def scenario(server):
        store = server.event.communities.store
        code, out, err = await asyncio.to_thread(console, server, ["invite", CLUB, "5"], capsys, as_json=True)
        assert code == OK, err
        invite = json.loads(out)["code"]
        artists = [await visitor(server, f"artist{k}") for k in range(3)]
        for artist in artists:
            joined = await ask(artist, {"type": "community_join", "community": CLUB, "invite": invite}, "community")
            assert joined["status"] == "member", joined
        code, out, err = await asyncio.to_thread(console, server, ["phase", CLUB, CARD, "submissions"], capsys)
        assert (code, out) == (OK, f"ok: {CARD} of {CLUB} moved to its submissions phase\n"), err
        cards = [await enter(artist, f"Card by artist{k}", png(k)) for k, artist in enumerate(artists)]
        newcomer = await visitor(server, "newcomer")
        asked = await ask(newcomer, {"type": "community_request", "community": CLUB}, "community")
        assert asked["status"] == "pending", asked
        wallet = server.event.member(newcomer.id).wallet

        script = tmp_path / "thursday.txt"
        script.write_text(
            "# Thursday at the club: let the newcomer in, review the cards, vote, feature, ask about next week\n"
            f"invite {CLUB} 5 2\nrequests {CLUB}\napprove {CLUB} {wallet}\nrole {CLUB} {wallet} mentor\n"
            f"phase {CLUB} {CARD} review\nentries {CLUB} {CARD}\n"
            f"accept {cards[0]}\naccept {cards[1]}\nreject {cards[2]} not a card: send a picture of the card itself\n"
            f"phase {CLUB} {CARD} voting\nphase {CLUB} {CARD} closed\nfeature {CLUB} {CARD}\nentries {CLUB} {CARD}\n"
            f'poll "Which prompt next week?" owls "night trains" --for 10m --community {CLUB}\nclose-poll {POLL}\n')
        code, out, err = await asyncio.to_thread(console, server, [], capsys, script=script)
        assert code == OK, err
        shown = out.splitlines()
        assert shown[0].startswith("invite    ") and shown[2] == "uses      5 people at most"
        assert shown[3].startswith("expires   ") and shown[3].endswith(" UTC")
        assert shown[4] == f"1 pending request for {CLUB}"
        assert re.fullmatch(rf"  newcomer  {wallet}  \d{{4}}-\d\d-\d\d \d\d:\d\d UTC", shown[6])
        assert shown[7:9] == [f"ok: {wallet} approved: now a member of {CLUB}", f"ok: {wallet} is now mentor in {CLUB}"]
        assert shown[9] == f"ok: {CARD} of {CLUB} moved to its review phase"
        assert shown[10] == f"{CLUB} / {CARD}: review, approval ballot; 3 entries (0 approved, 3 pending, 0 rejected)"
        assert shown[11].split() == ["entry", "title", "by", "status", "rank", "reason"]
        assert shown[12].split() == [str(cards[0]), "Card", "by", "artist0", "artist0", "pending", "-"]
        assert shown[15:18] == [f"ok: entry {cards[0]} accepted (its author is told)",
                                f"ok: entry {cards[1]} accepted (its author is told)",
                                (f"ok: entry {cards[2]} rejected (its author is told: not a card: send a picture "
                                 "of the card itself)")]
        assert shown[20] == f"ok: featured entries of {CARD} published and awarded (entries shows their ranks)"
        assert shown[21].endswith("3 entries (2 approved, 0 pending, 1 rejected)")
        assert [line.split()[6] for line in shown[23:26]] == ["1", "2", "-"]
        assert shown[25].endswith("rejected  -     not a card: send a picture of the card itself")
        assert shown[26:30] == [f"poll      {POLL} (open)", "question  Which prompt next week?",
                                "options   owls | night trains", "results   live, as answers come"]
        assert shown[30].startswith("closes    ") and shown[31] == f"for       members of {CLUB}"
        assert shown[32:] == [f"poll      {POLL} (closed)", "question  Which prompt next week?",
                              "options   owls | night trains", "results   owls 0, night trains 0 (0 answers; final counts sent to every shard)",
                              f"for       members of {CLUB}"]

        member = store.member(CLUB, wallet)
        assert member is not None and (member.status, member.role) == ("member", "mentor")
        assert [e.status for e in store.entries(CLUB, CARD)] == ["approved", "approved", "rejected"]
        assert [(f.entry, f.rank) for f in store.featured(CLUB, CARD)] == [(cards[0], 1), (cards[1], 2)]
        assert store.poll(POLL).closed_at is not None and len(store.invites(CLUB)) == 2
        told = artists[2]
        await told.next_frame(lambda s: any(e["type"] == "entry_moderated" for e in told.personal))
        assert next(e for e in told.personal if e["type"] == "entry_moderated")["reason"] == (
            "not a card: send a picture of the card itself")
        watcher = artists[0]
        await watcher.next_frame(lambda s: any(e["type"] == "poll_results" and e["final"] for e in watcher.events))
        featured = next(e for e in watcher.events if e["type"] == "featured")
        assert [f["entry"] for f in featured["entries"]] == cards[:2]
        assert any(e["type"] == "poll" and e["poll"] == POLL for e in watcher.events)
    run(scenario, tmp_path / "data")


def test_one_community_command_from_the_command_line_prints_its_answer_and_exit_status(tmp_path):
    async def scenario(server):
        host = ["host", server.url, "--token", TOKEN]
        started = await asyncio.to_thread(showroom, *host, "poll", "What's the next prompt?", "owls",
                                          "night trains", "--for", "10m", "--json")
        assert started.returncode == 0, started.stderr
        doc = json.loads(started.stdout)
        assert (doc["type"], doc["poll"], doc["question"], doc["options"]) == (
            "poll", POLL, "What's the next prompt?", ["owls", "night trains"])
        listed = await asyncio.to_thread(showroom, *host, "requests", CLUB)
        assert (listed.returncode, listed.stdout) == (0, f"no pending requests for {CLUB}\n"), listed.stderr
        refused = await asyncio.to_thread(showroom, *host, "phase", CLUB, "no-such-challenge", "review")
        assert refused.returncode == REFUSED and refused.stdout.startswith("refused (unknown_target): "), refused
        typo = await asyncio.to_thread(showroom, *host, "phase", CLUB, CARD, "judging")
        assert typo.returncode == BAD_COMMAND and typo.stdout == ""
        assert typo.stderr.strip() == ("phase: the phase must be one of draft, submissions, review, voting, closed, "
                                       "got 'judging' (usage: phase COMMUNITY CHALLENGE PHASE)")
    run(scenario, tmp_path / "data")


# ---- refused from visitors ----------------------------------------------------------------------

SAMPLE_ARGS = {
    "invite": f"{CLUB} 5", "requests": CLUB, "approve": f"{CLUB} {WALLET}", "refuse": f"{CLUB} {WALLET} no",
    "role": f"{CLUB} {WALLET} owner", "phase": f"{CLUB} {CARD} voting", "entries": f"{CLUB} {CARD}",
    "accept": "1", "reject": "1 not a card", "feature": f"{CLUB} {CARD}", "poll": "'Free bags?' yes no",
    "close-poll": POLL, "report": CLUB, "target": f"{CLUB} --invites 2",
    "expel": f"{CLUB} {WALLET}",
    "members": CLUB,
    "revoke": f"{CLUB} rau1e1pmS3EN",
}


@pytest.mark.parametrize("role", ["visitor", "bot"])
def test_every_community_host_command_from_a_visitor_connection_is_forbidden(role, tmp_path):
    names = [c.name for c in COMMANDS.values() if c.group == "community"]
    assert sorted(names) == sorted(SAMPLE_ARGS)
    messages = [parse_command(name, SAMPLE_ARGS[name]) for name in names]

    async def scenario(server):
        intruder = await visitor(server, "mallory", role=role)
        for message in messages:
            answer = await ask(intruder, message.wire(), "host_ok", "invite", "requests", "members", "gallery",
                               "poll", "report", "targeted")
            assert (answer["type"], answer.get("code"), answer.get("ref")) == ("error", "forbidden", message.type)
        communities = server.event.communities
        assert communities.store.invites(CLUB) == [] and communities.polls.open == {}
        assert communities.contests.overrides == {}
    run(scenario, tmp_path / "data")


# ---- the hosting guide stays true -------------------------------------------------------------

def test_every_community_command_in_the_hosting_guide_is_well_written():
    text = (ROOT / "docs" / "hosting.md").read_text()
    section = text[text.index("## Running a community"):text.index("## Console reference")]
    typed = [line.removeprefix("host> ") for line in section.splitlines() if line.startswith("host> ")]
    assert {line.split()[0] for line in typed} >= {c.name for c in COMMANDS.values() if c.group == "community"}
    for line in typed:
        if line != "quit":
            parse_line(line)


def test_members_revoke_and_the_status_a_dashboard_reads(tmp_path, capsys):
    async def scenario(server):
        code, out, err = await asyncio.to_thread(console, server, ["invite", CLUB, "5"], capsys, as_json=True)
        assert code == OK, err
        invite = json.loads(out)["code"]
        artists = [await visitor(server, f"artist{k}") for k in range(2)]
        for artist in artists:
            joined = await ask(artist, {"type": "community_join", "community": CLUB, "invite": invite}, "community")
            assert joined["status"] == "member", joined

        code, out, err = await asyncio.to_thread(console, server, ["members", CLUB], capsys)
        assert code == OK, err
        shown = out.splitlines()
        assert shown[0] == f"2 members of {CLUB}"
        assert shown[1].split() == ["name", "wallet", "role", "tier", "points", "joined"]
        assert sorted(line.split()[0] for line in shown[2:4]) == ["artist0", "artist1"]
        assert shown[4] == "1 invite code"
        assert shown[6].split()[:4] == [invite, "host", "2/5", shown[6].split()[3]] and shown[6].endswith("open")

        code, out, err = await asyncio.to_thread(console, server, ["revoke", CLUB, invite], capsys)
        assert (code, out) == (OK, f"ok: invite {invite} of {CLUB} withdrawn: nobody joins with it any more\n"), err
        late = await visitor(server, "late")
        refused = await ask(late, {"type": "community_join", "community": CLUB, "invite": invite}, "error")
        assert "revoked" in refused["message"], refused
        code, out, err = await asyncio.to_thread(console, server, ["revoke", CLUB, "nosuchcode"], capsys)
        assert code == REFUSED and "no invite 'nosuchcode'" in out + err, (out, err)
        code, out, err = await asyncio.to_thread(console, server, ["members", CLUB], capsys, as_json=True)
        answer = json.loads(out)
        assert answer["type"] == "members" and len(answer["members"]) == 2
        assert answer["invites"][0]["revoked"] is True

        code, out, err = await asyncio.to_thread(console, server, ["phase", CLUB, CARD, "submissions"], capsys)
        assert code == OK, err
        await enter(artists[0], "Card by artist0", png(0))
        code, out, err = await asyncio.to_thread(
            console, server, ["poll", "Which prompt next week?", "owls", "night trains", "--on-close"], capsys)
        assert code == OK, err
        await artists[1].send({"type": "poll_answer", "poll": POLL, "option": 1})
        await artists[1].next_frame(lambda s: any(e["type"] == "poll_answered" for e in artists[1].personal))

        code, out, err = await asyncio.to_thread(console, server, ["status"], capsys, as_json=True)
        status = json.loads(out)
        scene = parse_scene(TEXT, "weekend-residency.toml")
        assert [c["index"] for c in status["cues"]] == list(range(len(scene.timeline)))
        assert all(c["what"] for c in status["cues"])
        assert status["polls"] == [{"poll": POLL, "question": "Which prompt next week?",
                                    "options": ["owls", "night trains"], "results": "on_close", "closes_at": None,
                                    "community": None, "counts": [0, 1]}]
        club = next(c for c in status["communities"] if c["community"] == CLUB)
        assert (club["members"], club["requests"], club["entry"]) == (2, 0, "request")
        card = next(c for c in club["challenges"] if c["id"] == CARD)
        assert (card["phase"], card["entries"], card["pending"], card["approved"], card["featured"]) == (
            "submissions", 1, 1, 0, False)
    run(scenario, tmp_path / "data")
