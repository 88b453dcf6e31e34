"""The ``showroom`` command: one entry point with a subcommand per job.

Heavy modules (NumPy, pydantic, the simulation) are imported inside the handlers, so
``showroom --help`` answers at once.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from showroom.cli_args import positive_float as _positive_float
from showroom.cli_args import positive_int as _positive_int

EXAMPLE_SCENE = "scenes/anniversary-runway.toml"


def _scene_validate(args: argparse.Namespace) -> int:
    from showroom.scene import load_scene
    from showroom.scene.summary import summarise

    scene = load_scene(args.file)
    print(summarise(scene, args.file))
    return 0


def _scene_schema(args: argparse.Namespace) -> int:
    from showroom.scene import Scene

    print(json.dumps(Scene.model_json_schema(), indent=2))
    return 0


def _sim(args: argparse.Namespace) -> int:
    from showroom.headless import run_headless

    return run_headless(args.scene, seconds=args.seconds, visitors=args.visitors, seed=args.seed,
                        realtime=args.realtime, as_json=args.json)


def _bench_crowd(args: argparse.Namespace) -> int:
    from showroom.bench.crowd import run

    if not args.json:
        print(f"timing {args.agents} agents x {args.steps} steps, then the pure-Python reference "
              f"({args.reference_agents} agents x {args.reference_steps} steps)…", file=sys.stderr)
    result = run(args.agents, args.steps, args.reference_agents, args.reference_steps)
    if not args.json:
        print(f"agents            {result.agents}")
        print(f"median per step   {result.median_ms:.2f} ms")
        print(f"p95 per step      {result.p95_ms:.2f} ms")
        print(f"agent-steps/s     {result.agent_steps_per_s:,.0f}")
        print(f"pure Python       {result.reference_us_per_agent_step:.2f} µs per agent-step "
              f"({result.reference_agents} agents)")
        print(f"speed-up          {result.speedup_per_agent_step:.1f}x per agent-step")
    print(json.dumps(result.as_dict()) if args.json else "", end="\n" if args.json else "")
    return 0


def _serve(args: argparse.Namespace) -> int:
    import asyncio
    import logging
    import os
    import secrets
    from pathlib import Path

    from server.app import serve_until_signal, start_server
    from showroom.scene import load_scene

    scene = load_scene(args.scene)
    token = args.host_token or os.environ.get("SHOWROOM_HOST_TOKEN") or secrets.token_urlsafe(16)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    async def main() -> None:
        running = await start_server(scene, scene_text=Path(args.scene).read_text(encoding="utf-8"),
                                     host=args.host, port=args.port, host_token=token,
                                     data_dir=Path(args.data_dir), playing=not args.paused,
                                     scene_path=None if args.no_reload else Path(args.scene))
        print(f"serving '{scene.event.title}' on {running.url}  (health: http://{args.host}:{running.port}/healthz)",
              flush=True)
        print(f"host token: {token}", flush=True)
        await serve_until_signal(running)

    asyncio.run(main())
    print("stopped", flush=True)
    return 0


def _bench_tick(args: argparse.Namespace) -> int:
    from server.bench import run
    from showroom.scene import load_scene

    scene = load_scene(args.scene)
    capacity = max(scene.event.shard_capacity, args.visitors) if args.one_shard else scene.event.shard_capacity
    scene = scene.model_copy(update={"event": scene.event.model_copy(update={"shard_capacity": capacity})})
    if not args.json:
        print(f"joining {args.visitors} visitors, then timing {args.ticks} ticks at {args.input_hz:g} Hz input…",
              file=sys.stderr)
    r = run(scene, args.visitors, args.ticks, args.input_hz)
    if args.json:
        print(json.dumps(r.as_dict()))
        return 0
    print(f"visitors          {r.visitors} in {r.shards} shard(s), {r.input_hz:g} Hz movement input each")
    print(f"input decode      {r.decode_ms_per_tick:.2f} ms per tick")
    print(f"tick              {r.tick_ms_p50:.2f} ms p50, {r.tick_ms_p99:.2f} ms p99")
    print(f"decode + tick     {r.total_ms_p50:.2f} ms p50, {r.total_ms_p99:.2f} ms p99 of a 50 ms budget; "
          f"{r.overrun_pct:.2f} % over")
    print("stages (p50 ms)   " + ", ".join(f"{k} {v:.2f}" for k, v in r.stage_ms_p50.items()))
    print(f"out               {r.frames_out_per_s:,.0f} frames/s, {r.bytes_out_per_s / 1e6:,.1f} MB/s")
    return 0


def _ledger_pubkey(args: argparse.Namespace) -> int:
    from server.ledger_files import public_key_of

    print(public_key_of(args.data_dir))
    return 0


def _ledger_export(args: argparse.Namespace) -> int:
    from server.ledger_files import export_entry

    doc = export_entry(args.data_dir, args.id)
    text = json.dumps(doc, indent=2, ensure_ascii=False)
    if args.out:
        from pathlib import Path

        Path(args.out).write_text(text + "\n", encoding="utf-8")
        print(f"wrote entry {args.id} to {args.out}")
    else:
        print(text)
    return 0


def _ledger_verify(args: argparse.Namespace) -> int:
    from pathlib import Path

    from showroom.errors import ShowroomError
    from showroom.ledger import verify_export

    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except OSError as exc:
        raise ShowroomError(f"{args.file}: cannot read: {exc.strerror}") from None
    result = verify_export(text, args.key)
    record = result.record
    print(f"{args.file}: valid: entry {result.leaf_index} ({record.kind} of {record.entitlement} to {record.visitor}) "
          f"is in the log of '{result.checkpoint.event}' of size {result.checkpoint.size}, signed by {args.key[:16]}…")
    return 0


def _ledger_audit(args: argparse.Namespace) -> int:
    from server.ledger_files import audit_dir

    problems, size, checkpoints = audit_dir(args.data_dir)
    if problems:
        for line in problems:
            print(f"{args.data_dir}: {line}", file=sys.stderr)
        print(f"audit FAILED: {len(problems)} problem(s) in {size} entries", file=sys.stderr)
        return 1
    print(f"audit passed: {size} entries, {checkpoints} checkpoints, every signature and proof holds")
    return 0


def _host(args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    from showroom.errors import ShowroomError
    from showroom.host.console import run_host

    token = args.token or os.environ.get("SHOWROOM_HOST_TOKEN")
    if not token:
        raise ShowroomError("give the host token with --token or $SHOWROOM_HOST_TOKEN (showroom serve prints it)")
    return run_host(args.url, token, args.words, script=Path(args.script) if args.script else None,
                    as_json=args.json)


def _loadtest(args: argparse.Namespace) -> int:
    from showroom.bots.loadtest import run_loadtest
    from showroom.bots.swarm import SwarmConfig

    config = SwarmConfig(url=args.url, clients=args.clients, ramp_per_s=args.ramp, duration_s=args.duration,
                         mix=args.behaviour, move_hz=args.move_hz, seed=args.seed, progress=True)
    return run_loadtest(config, workers=args.workers, report_path=args.report, max_p99_ms=args.max_p99_ms,
                        max_overrun_pct=args.max_overrun_pct, as_json=args.json, plot_path=args.plot)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="showroom",
        description="Virtual showroom and runway event simulator.",
        formatter_class=fmt,
        epilog=f"example:\n  showroom sim {EXAMPLE_SCENE} --visitors 2000 --seconds 120",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    sim = sub.add_parser("sim", help="run a scene's show headless with ambient visitors and a live status line",
                         formatter_class=fmt,
                         epilog=f"example:\n  showroom sim {EXAMPLE_SCENE} --visitors 3000 --seconds 60")
    sim.add_argument("scene", nargs="?", default=EXAMPLE_SCENE, help=f"scene file (default {EXAMPLE_SCENE})")
    sim.add_argument("--seconds", type=_positive_float, default=None,
                     help="show seconds to simulate (default: the whole show)")
    sim.add_argument("--visitors", type=int, default=2000, help="ambient visitors (default 2000)")
    sim.add_argument("--seed", type=int, default=None, help="random seed (default: the scene's)")
    sim.add_argument("--realtime", action="store_true", help="pace the simulation to the wall clock")
    sim.add_argument("--json", action="store_true", help="print the final figures as one JSON line")
    sim.set_defaults(handler=_sim)

    serve = sub.add_parser("serve", help="run an event server for a scene (WebSocket, /healthz, /metrics)",
                           formatter_class=fmt,
                           epilog=f"example:\n  showroom serve {EXAMPLE_SCENE} --port 8765 --data-dir data")
    serve.add_argument("scene", nargs="?", default=EXAMPLE_SCENE, help=f"scene file (default {EXAMPLE_SCENE})")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    serve.add_argument("--data-dir", default="data", help="where the server keeps its SQLite files (default ./data)")
    serve.add_argument("--host-token", default=None,
                       help="token hosts join with (default: $SHOWROOM_HOST_TOKEN, else a random one, printed)")
    serve.add_argument("--paused", action="store_true", help="wait for a host to start the show")
    serve.add_argument("--no-reload", action="store_true",
                       help="do not watch the scene file (by default timeline edits apply at the next cue)")
    serve.set_defaults(handler=_serve)

    host = sub.add_parser(
        "host", help="event host console: start, pause, seek, cues, announcements, drops, kicks, live status",
        formatter_class=fmt,
        epilog="commands: start, pause, seek TIME, next, cue N, announce TEXT, drop VOUCHER open|close,\n"
               "          kick VISITOR, ban VISITOR, status (type help in the console)\n"
               "exit status: 0 done, 1 refused by the server or no connection, 2 a badly written command\n\n"
               "examples:\n  showroom host ws://127.0.0.1:8765/ --token T\n"
               "  showroom host ws://127.0.0.1:8765/ --token T seek 1:30\n"
               "  showroom host ws://127.0.0.1:8765/ --token T status --json\n"
               "  showroom host ws://127.0.0.1:8765/ --token T --script cues.txt")
    host.add_argument("url", help="the server's WebSocket URL, e.g. ws://127.0.0.1:8765/")
    host.add_argument("words", nargs="*", metavar="COMMAND",
                      help="one command to run, then exit (default: an interactive console)")
    host.add_argument("--token", default=None,
                      help="the host token (default $SHOWROOM_HOST_TOKEN; showroom serve prints it)")
    host.add_argument("--script", default=None,
                      help="run the commands of this file, one per line (# comments); stop at the first error")
    host.add_argument("--json", action="store_true", help="print each answer as one JSON object per line")
    host.set_defaults(handler=_host, extra_words="words")

    scene = sub.add_parser("scene", help="validate a scene file or print its JSON Schema", formatter_class=fmt,
                           epilog=f"examples:\n  showroom scene validate {EXAMPLE_SCENE}\n"
                                  "  showroom scene schema > scene.schema.json")
    scene_sub = scene.add_subparsers(dest="scene_command", metavar="ACTION", required=True)
    validate = scene_sub.add_parser("validate", help="check a scene file; print a summary or one line per error",
                                    formatter_class=fmt, epilog=f"example:\n  showroom scene validate {EXAMPLE_SCENE}")
    validate.add_argument("file")
    validate.set_defaults(handler=_scene_validate)
    schema = scene_sub.add_parser("schema", help="print the scene format's JSON Schema (for editor completion)",
                                  formatter_class=fmt, epilog="example:\n  showroom scene schema > scene.schema.json")
    schema.set_defaults(handler=_scene_schema)
    from showroom.cli_client import add_preview

    add_preview(scene_sub, fmt)

    ledger = sub.add_parser("ledger", help="Meta-Pass ledger tools: public key, export, offline verify, audit",
                            formatter_class=fmt, epilog="examples:\n  showroom ledger pubkey --data-dir data\n"
                            "  showroom ledger export 12 --data-dir data --out voucher.json\n"
                            "  showroom ledger verify voucher.json --key PUBKEY\n  showroom ledger audit --data-dir data")
    ledger_sub = ledger.add_subparsers(dest="ledger_command", metavar="ACTION", required=True)
    pub = ledger_sub.add_parser("pubkey", help="print the event's Ed25519 public key (hex)")
    pub.add_argument("--data-dir", default="data", help="the server's data directory (default ./data)")
    pub.set_defaults(handler=_ledger_pubkey)
    exp = ledger_sub.add_parser("export", help="write one entry with its inclusion proof and a signed checkpoint")
    exp.add_argument("id", type=int, help="entry number (an award's or redemption's seq)")
    exp.add_argument("--data-dir", default="data", help="the server's data directory (default ./data)")
    exp.add_argument("--out", help="file to write (default: print)")
    exp.set_defaults(handler=_ledger_export)
    ver = ledger_sub.add_parser("verify", help="verify an exported entry offline with the event's public key")
    ver.add_argument("file")
    ver.add_argument("--key", required=True, help="the event's public key, hex")
    ver.set_defaults(handler=_ledger_verify)
    aud = ledger_sub.add_parser("audit", help="recompute the whole log, check every signature and checkpoint")
    aud.add_argument("--data-dir", default="data", help="the server's data directory (default ./data)")
    aud.set_defaults(handler=_ledger_audit)

    bench = sub.add_parser("bench", help="benchmarks that print figures (and JSON)", formatter_class=fmt,
                           epilog="example:\n  showroom bench crowd --agents 10000 --json")
    bench_sub = bench.add_subparsers(dest="bench_command", metavar="BENCHMARK", required=True)
    crowd = bench_sub.add_parser("crowd", help="crowd step per tick vs. a per-agent pure-Python reference",
                                 formatter_class=fmt, epilog="example:\n  showroom bench crowd --agents 50000 --steps 100")
    crowd.add_argument("--agents", type=_positive_int, default=10000, help="agents in the hall (default 10000)")
    crowd.add_argument("--steps", type=_positive_int, default=200, help="timed steps (default 200)")
    crowd.add_argument("--reference-agents", type=_positive_int, default=500,
                       help="agents for the pure-Python reference (default 500)")
    crowd.add_argument("--reference-steps", type=_positive_int, default=10,
                       help="steps for the pure-Python reference (default 10)")
    crowd.add_argument("--json", action="store_true", help="print the figures as one JSON object (last line)")
    crowd.set_defaults(handler=_bench_crowd)
    tick = bench_sub.add_parser("tick", help="server tick with thousands of visitors, no sockets: stage times",
                                formatter_class=fmt, epilog="example:\n  showroom bench tick --visitors 3000 --json")
    tick.add_argument("scene", nargs="?", default=EXAMPLE_SCENE, help=f"scene file (default {EXAMPLE_SCENE})")
    tick.add_argument("--visitors", type=_positive_int, default=3000, help="visitors (default 3000)")
    tick.add_argument("--ticks", type=_positive_int, default=200, help="timed ticks (default 200)")
    tick.add_argument("--input-hz", type=_positive_float, default=10.0, help="movement inputs per visitor per second")
    tick.add_argument("--one-shard", action="store_true", help="raise the shard capacity so all share one shard")
    tick.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    tick.set_defaults(handler=_bench_tick)
    from showroom.cli_client import add_commands

    add_commands(sub, bench_sub, fmt)
    load = sub.add_parser("loadtest", help="drive headless bots against a server and report latency, ticks, awards",
                          formatter_class=fmt,
                          epilog="example:\n  showroom loadtest ws://127.0.0.1:8765/ --clients 1000 --ramp 100 "
                                 "--duration 60 --report load.json --max-p99-ms 100")
    load.add_argument("url", help="the server's WebSocket URL, e.g. ws://127.0.0.1:8765/")
    load.add_argument("--clients", type=_positive_int, default=100, help="bots to connect (default 100)")
    load.add_argument("--ramp", type=_positive_float, default=50.0, help="bots connected per second (default 50)")
    load.add_argument("--duration", type=_positive_float, default=30.0,
                      help="seconds to hold once ramped up (default 30)")
    load.add_argument("--behaviour", default="wander:0.5,watch:0.3,selfie:0.2",
                      help="behaviour mix, NAME:WEIGHT,... of wander, watch, selfie (default wander:0.5,watch:0.3,selfie:0.2)")
    load.add_argument("--move-hz", type=_positive_float, default=10.0, help="movement inputs per bot per second (default 10)")
    load.add_argument("--workers", type=_positive_int, default=1,
                      help="processes to spread the bots over (default 1; each runs thousands on one event loop)")
    load.add_argument("--seed", type=int, default=1, help="random seed for the bots (default 1)")
    load.add_argument("--report", default=None, help="write the report JSON to this file")
    load.add_argument("--plot", default=None, help="draw clients, latency and tick time over time into this PNG")
    load.add_argument("--max-p99-ms", type=_positive_float, default=None,
                      help="exit 1 when p99 delivery latency exceeds this")
    load.add_argument("--max-overrun-pct", type=float, default=None,
                      help="exit 1 when server tick overruns exceed this percentage")
    load.add_argument("--json", action="store_true", help="print the report as one JSON object")
    load.set_defaults(handler=_loadtest)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and getattr(args, "extra_words", None):
        # argparse gives a '*' positional nothing once an option sits between it and the one before
        # (`host URL --token T seek 1:30`), so those words come back as extras: they are the command
        setattr(args, args.extra_words, [*getattr(args, args.extra_words), *extra])
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    from showroom.errors import ShowroomError

    try:
        return int(args.handler(args))
    except ShowroomError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
