"""The host console against a real server on 127.0.0.1: one command, scripts, the prompt, status.

The console is a blocking client (``websockets``' threaded one), so it runs in a worker
thread while the server and the visitors run on the test's event loop.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import subprocess
import sys

import pytest
from conftest import ANNIVERSARY, ROOT
from wsclient import Client

from server.net.app import start_server
from showroom.host.commands import COMMANDS, CommandError, parse_command, parse_line
from showroom.host.console import BAD_COMMAND, OK, REFUSED, Console, Printer, run_host
from showroom.host.link import HostLink, HostLinkError
from showroom.host.render import status_text
from showroom.protocol.client_messages import HostDrop, HostStatus
from showroom.protocol.server_messages import Status
from showroom.scene import parse_scene

TOKEN = "console-host-token"
TEXT = ANNIVERSARY.read_text()
NEAR_SELFIE = 'name = "by-the-east-end"\nat = [34.5, 11.5]\nradius = 1.2\n\n'


def variant(capacity: int, near_selfie: bool = False) -> str:
    text = TEXT.replace("shard_capacity = 1500", f"shard_capacity = {capacity}", 1)
    if near_selfie:
        start, end = text.index("[[venue.spawns]]"), text.index("[[venue.exits]]")
        text = text[:start] + "[[venue.spawns]]\n" + NEAR_SELFIE + text[end:]
    return text


def run(scenario, *, capacity: int = 3, near_selfie: bool = False, playing: bool = True, data_dir=None):
    """Start a server on a free port, run ``scenario(server)`` within 60 s, stop the server."""
    text = variant(capacity, near_selfie)

    async def main():
        server = await start_server(parse_scene(text, "show.toml"), scene_text=text, port=0, host_token=TOKEN,
                                    playing=playing, data_dir=data_dir)
        try:
            return await asyncio.wait_for(scenario(server), 60)
        finally:
            await server.stop()

    return asyncio.run(main())


async def visitor(server, name: str, role: str = "visitor") -> Client:
    client = await Client.connect(server.url)
    welcome = await client.join(name, role=role)
    assert welcome["type"] == "welcome", welcome
    return client


def console(server, words: list[str], capsys, **kw) -> tuple[int, str, str]:
    """Run ``showroom host`` in this process (called in a worker thread); exit code, stdout, stderr."""
    code = run_host(server.url, TOKEN, words, **kw)
    out = capsys.readouterr()
    return code, out.out, out.err


def showroom(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "showroom", *args], capture_output=True, text=True, timeout=60,
                          cwd=ROOT)


# ---- commands as written ------------------------------------------------------------------------

def test_each_command_line_becomes_its_host_message():
    def wire(line):
        return parse_line(line).wire()

    assert wire("seek 1:30") == {"type": "host_seek", "t": 90.0}
    assert wire("  cue 12 ") == {"type": "host_cue", "index": 12}
    assert wire("next") == {"type": "host_next"}
    assert wire('announce "Doors close at 9 # sharp"') == {"type": "host_announce", "text": "Doors close at 9 # sharp"}
    assert wire("drop lumen-scarf close") == {"type": "host_drop", "entitlement": "lumen-scarf", "open": False}
    assert wire("ban 1004") == {"type": "host_ban", "visitor": 1004}
    assert wire("STATUS") == {"type": "host_status"}
    assert parse_line("# the finale") is None and parse_line("   ") is None


@pytest.mark.parametrize(("line", "says"), [
    ("seek soon", "seek: expected a time such as '1:30'"),
    ("cue -1", "cue: the cue number must be a whole number >= 0, got '-1' (usage: cue N)"),
    ("drop lumen-scarf later", "drop: needs a voucher id and open or close (usage: drop VOUCHER open|close)"),
    ("kick", "kick: needs a visitor id (usage: kick VISITOR)"),
    ("pause now", "pause: takes no arguments, got 'now' (usage: pause)"),
    ("announce", "announce: needs the text to show"),
    ("annouce hello", "unknown command 'annouce' (known: start, pause, seek,"),
])
def test_a_badly_written_command_names_its_usage(line, says):
    with pytest.raises(CommandError) as refused:
        parse_line(line)
    assert says in str(refused.value)


# ---- against a real server ----------------------------------------------------------------------

def test_a_script_steers_the_show_in_every_shard(tmp_path, capsys):
    script = tmp_path / "cues.txt"
    script.write_text("# doors\npause\nseek 1:00\nannounce Doors close in 5 minutes\n\n"
                      "drop lumen-scarf close\ncue 5\nnext\n")

    async def scenario(server):
        clients = [await visitor(server, f"v{k}") for k in range(4)]
        assert [c.welcome["shard"] for c in clients] == [0, 0, 0, 1]
        code, out, err = await asyncio.to_thread(console, server, [], capsys, script=script)
        assert code == OK, err
        lines = out.splitlines()
        assert lines[0].startswith("ok: paused") and lines[1] == "ok: show moved (show at 1:00, cue 10)"
        assert lines[3] == "ok: drop lumen-scarf closed (show at 1:00, cue 10)"
        assert lines[5] == "ok: jumped to the next cue (show at 0:46, cue 6)"  # cue 5 starts at 0:20, cue 6 at 0:46
        for client in (clients[0], clients[3]):  # shard 0 and shard 1
            snap = await client.next_frame(lambda s: s.t == 46.0)
            assert snap.show["playing"] is False and snap.show["cue"] == 6
            assert any(e["type"] == "announce" and e["text"] == "Doors close in 5 minutes" for e in client.events)
            assert {"type": "drop", "entitlement": "lumen-scarf", "open": False} in client.events
    run(scenario)


def test_a_script_stops_at_the_first_refusal_naming_its_line(tmp_path, capsys):
    script = tmp_path / "cues.txt"
    script.write_text("announce First\n# a voucher that does not exist:\ndrop no-such-voucher open\nannounce Never\n")

    async def scenario(server):
        watcher = await visitor(server, "watcher")
        code, out, _ = await asyncio.to_thread(console, server, [], capsys, script=script)
        assert code == REFUSED
        assert out.splitlines()[-1].startswith(f"{script}:3: refused (unknown_target): unknown voucher "
                                               "'no-such-voucher' (known: aurora-perfume, lumen-scarf)")
        await watcher.next_frame(lambda s: any(e["type"] == "announce" for e in s.events))
        for _ in range(10):
            await watcher.next_frame()
        assert [e["text"] for e in watcher.events if e["type"] == "announce"] == ["First"]
    run(scenario)


def test_a_badly_written_script_sends_nothing(tmp_path, capsys):
    script = tmp_path / "cues.txt"
    script.write_text("pause\nseek 1:00\ncue twelve\n")

    async def scenario(server):
        code, out, err = await asyncio.to_thread(console, server, [], capsys, script=script)
        assert code == BAD_COMMAND and out == ""
        assert err.strip() == (f"{script}:3: cue: the cue number must be a whole number >= 0, got 'twelve' "
                               "(usage: cue N)")
        assert server.event.playing and server.event.hosts == set()  # not even connected
    run(scenario)


def test_one_command_from_the_command_line_prints_its_answer_and_exit_status():
    async def scenario(server):
        await visitor(server, "ada")
        host = ["host", server.url, "--token", TOKEN]
        done = await asyncio.to_thread(showroom, *host, "seek", "1:00")
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "ok: show moved (show at 1:00, cue 10)"
        status = await asyncio.to_thread(showroom, *host, "status", "--json")
        assert status.returncode == 0, status.stderr
        doc = json.loads(status.stdout)
        assert doc["type"] == "status" and doc["visitors"] == 1 and doc["cue"] == 10
        refused = await asyncio.to_thread(showroom, *host, "kick", "999999")
        assert refused.returncode == 1
        assert refused.stdout.strip() == "refused (unknown_target): no visitor 999999"
        typo = await asyncio.to_thread(showroom, *host, "seek", "later")
        assert typo.returncode == 2 and "seek: expected a time" in typo.stderr
        wrong = await asyncio.to_thread(showroom, "host", server.url, "--token", "guess", "status")
        assert wrong.returncode == 1
        assert "refused the host console (bad_token): wrong host token; check --token" in wrong.stderr
    run(scenario, playing=False)


def test_the_interactive_console_runs_typed_commands(capsys):
    typed = io.StringIO("seek 1:00\nsaek 2:00\nannounce Welcome, everyone\nhelp\nquit\nstatus\n")

    def session(url: str) -> str:
        out = io.StringIO()
        with HostLink.open(url, TOKEN) as link:
            Console(link, Printer(out, out, as_json=False), stdin=typed).cmdloop()
        return out.getvalue()

    async def scenario(server):
        ada = await visitor(server, "ada")
        shown = await asyncio.to_thread(session, server.url)
        assert shown.startswith(f"connected to 'Fifth Anniversary Runway' at {server.url} as host; show at 0:00")
        assert "ok: show moved (show at 1:00, cue 10)" in shown
        assert "ok: announced in every shard" in shown
        assert "drop VOUCHER open|close  open or close a voucher drop" in shown
        assert "unknown command 'saek'" in capsys.readouterr().err
        assert "visitors  1 in 1 shard" not in shown  # status came after quit
        await ada.next_frame(lambda s: any(e["type"] == "announce" for e in s.events))
    run(scenario, playing=False)


def test_status_shows_visitors_per_shard_selfie_queues_awards_and_stock(tmp_path):
    async def scenario(server):
        server.event.seek(62.0)  # teddy's selfie session at the east end
        fans = [await visitor(server, f"fan{k}") for k in range(3)]
        for fan in fans:
            await fan.next_frame(lambda s, fan=fan: any(e["type"] == "awarded" for e in fan.personal))
        await fans[2].send({"type": "selfie", "mascot": "teddy"})
        await fans[2].next_frame(lambda s: any(e["type"] == "selfie_queue" for e in fans[2].personal))

        def ask() -> Status:
            with HostLink.open(server.url, TOKEN) as link:
                assert link.request(HostDrop(entitlement="aurora-perfume", open=False)).type == "host_ok"
                answer = link.request(HostStatus())
                assert isinstance(answer, Status)
                return answer
        typed = await asyncio.to_thread(ask)
        status = typed.wire()
        assert [s["visitors"] for s in status["shards"]] == [2, 1]
        teddy = next(q for q in status["shards"][1]["selfies"] if q["mascot"] == "teddy")
        assert teddy["waiting"] + (teddy["serving"] == fans[2].id) == 1
        assert status["awards"] == 3 and status["awarded"] == {"first-hundred": 3}
        assert status["awards"] == sum(server.event.ledger.awards_made().values())
        stock = {s["entitlement"]: s for s in status["stock"]}
        assert stock["lumen-scarf"] == {"entitlement": "lumen-scarf", "left": 150, "total": 150, "open": True}
        assert stock["aurora-perfume"]["open"] is False
        assert (status["cue"], status["cue_kind"], status["next_cue"]) == (10, "selfie", 11)
        assert status["hosts"] == 1 and status["scene_version"] == 1
        text = status_text(typed)
        assert "shard 1  1 visitors (1 connected)" in text
        assert "awards    3 (first-hundred 3)" in text
        assert "lumen-scarf 150/150 left (open), aurora-perfume 100/100 left (closed)" in text
    run(scenario, capacity=2, near_selfie=True, playing=False, data_dir=tmp_path / "data")


def test_a_wrong_token_or_no_server_is_one_clear_line():
    async def scenario(server):
        with pytest.raises(HostLinkError) as refused:
            await asyncio.to_thread(HostLink.open, server.url, "guess")
        assert "(bad_token): wrong host token; check --token" in str(refused.value)
    run(scenario)
    with pytest.raises(HostLinkError) as unreachable:
        HostLink.open("ws://127.0.0.1:1/", TOKEN, timeout_s=2)
    assert str(unreachable.value).startswith("cannot connect to ws://127.0.0.1:1/:")


# ---- refused from visitors ----------------------------------------------------------------------

SAMPLE_ARGS = {"seek": "1:00", "cue": "3", "announce": "Free bags at the door", "drop": "lumen-scarf close",
               "kick": "1000", "ban": "1000"}


@pytest.mark.parametrize("role", ["visitor", "bot"])
def test_every_console_command_from_a_visitor_connection_is_forbidden(role):
    messages = [parse_command(name, SAMPLE_ARGS.get(name, "")) for name, c in COMMANDS.items() if c.group == "show"]

    async def scenario(server):
        intruder = await visitor(server, "mallory", role=role)
        for message in messages:
            await intruder.send(message.wire())
            answer = await intruder.next_message(lambda m: m["type"] in ("error", "host_ok", "status"))
            assert (answer["type"], answer.get("code"), answer.get("ref")) == ("error", "forbidden", message.type)
        assert server.event.show_t < 5.0 and not server.event.playing and server.event.drops == {}
        assert intruder.id in server.event.where and not server.event.banned
    run(scenario, playing=False)


# ---- the hosting guide stays true -------------------------------------------------------------

def _guide_block(tag: str) -> str:
    text = (ROOT / "docs" / "hosting.md").read_text()
    found = re.findall(rf"^```{re.escape(tag)}\n(.*?)^```", text, re.DOTALL | re.MULTILINE)
    assert len(found) == 1, f"docs/hosting.md: expected one ```{tag} block, found {len(found)}"
    return found[0]


def test_the_hosting_guide_scene_is_valid_and_its_cue_sheet_runs(tmp_path, capsys):
    text = _guide_block("toml popup-scene")
    scene = parse_scene(text, "popup.toml")
    script = tmp_path / "doors.txt"
    script.write_text(_guide_block("text host-script"))

    async def main():
        server = await start_server(scene, scene_text=text, port=0, host_token=TOKEN)
        try:
            guest = await visitor(server, "guest")
            code, out, err = await asyncio.to_thread(console, server, [], capsys, script=script)
            assert code == OK, err
            assert out.splitlines()[-1] == "ok: playing (show at 0:00, cue 0)"
            await guest.next_frame(lambda s: any(e["type"] == "announce" for e in s.events))
        finally:
            await server.stop()

    asyncio.run(asyncio.wait_for(main(), 60))
