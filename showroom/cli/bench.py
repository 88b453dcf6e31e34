"""``showroom bench``: benchmarks that print figures (and JSON): the crowd step, the server tick, the client's crowd."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from showroom.cli.args import add_json, add_scene, count, positive_float, positive_int, window_size

FMT = argparse.RawDescriptionHelpFormatter


def register(sub: Any) -> None:
    """Add ``bench crowd``, ``bench tick`` and ``bench client``."""
    bench = sub.add_parser("bench", help="benchmarks that print figures (and JSON)", formatter_class=FMT,
                           epilog="example:\n  showroom bench crowd --agents 10000 --json")
    kinds = bench.add_subparsers(dest="bench_command", metavar="BENCHMARK", required=True)
    crowd = kinds.add_parser("crowd", help="crowd step per tick vs. JuPedSim and a per-agent pure-Python reference",
                             formatter_class=FMT,
                             epilog="example:\n  showroom bench crowd --agents 50000 --steps 100\n\n"
                                    "JuPedSim is timed when installed (pip install 'showroom[bench]').")
    crowd.add_argument("--agents", type=positive_int, default=10000, help="agents in the hall (default 10000)")
    crowd.add_argument("--steps", type=positive_int, default=200, help="timed steps (default 200)")
    crowd.add_argument("--reference-agents", type=positive_int, default=500,
                       help="agents for the pure-Python reference (default 500)")
    crowd.add_argument("--reference-steps", type=positive_int, default=10,
                       help="steps for the pure-Python reference (default 10)")
    crowd.add_argument("--jupedsim-agents", type=positive_int, default=None, metavar="N",
                       help="agents for JuPedSim (default: same as --agents)")
    crowd.add_argument("--no-jupedsim", action="store_true", help="do not time JuPedSim even when it is installed")
    add_json(crowd, "print the figures as one JSON object (last line)")
    crowd.set_defaults(handler=_crowd)

    tick = kinds.add_parser("tick", help="server tick with thousands of visitors, no sockets: stage times "
                                         "(bench live for the figure with sockets)",
                            formatter_class=FMT, epilog="example:\n  showroom bench tick --visitors 3000 --json")
    add_scene(tick)
    tick.add_argument("--visitors", type=positive_int, default=3000, help="visitors (default 3000)")
    tick.add_argument("--ticks", type=positive_int, default=200, help="timed ticks (default 200)")
    tick.add_argument("--input-hz", type=positive_float, default=10.0, help="movement inputs per visitor per second")
    tick.add_argument("--one-shard", action="store_true", help="raise the shard capacity so all share one shard")
    add_json(tick)
    tick.set_defaults(handler=_tick)

    client = kinds.add_parser("client", help="instanced crowd rendering vs. one NodePath per avatar",
                              formatter_class=FMT, epilog="example:\n  showroom bench client --avatars 5000 --json")
    client.add_argument("--avatars", type=positive_int, default=5000, help="animated avatars (default 5000)")
    client.add_argument("--frames", type=positive_int, default=120, help="timed frames (default 120)")
    client.add_argument("--baseline-frames", type=positive_int, default=20,
                        help="timed frames of the NodePath way (default 20)")
    client.add_argument("--size", type=window_size, default=(1280, 720), help="render size (default 1280x720)")
    add_json(client, "print the figures as one JSON object (last line)")
    client.set_defaults(handler=_client)

    awards = kinds.add_parser("awards", help="ledger awards off the event loop: awards/s, a finale drop, trigger "
                                             "to awarded", formatter_class=FMT,
                              epilog="example:\n  showroom bench awards --drop-visitors 5000 --json\n\n"
                                     "Durable commits in a temporary data directory; the event ticks at its "
                                     "real rate.")
    add_scene(awards)
    awards.add_argument("--awards", type=positive_int, default=20000,
                        help="awards through the writer, distinct wallets (default 20000)")
    awards.add_argument("--baseline-awards", type=positive_int, default=1000,
                        help="awards the old way, one commit each (default 1000)")
    awards.add_argument("--drop-visitors", type=positive_int, default=5000,
                        help="visitors all earning one award in the same tick (default 5000)")
    awards.add_argument("--trickle-visitors", type=positive_int, default=1000,
                        help="visitors earning one award each at random moments (default 1000)")
    awards.add_argument("--trickle-seconds", type=positive_float, default=10.0,
                        help="seconds the trickle's triggers are spread over (default 10)")
    add_json(awards, "print the figures as one JSON object (last line)")
    awards.set_defaults(handler=_awards)

    live = kinds.add_parser("live", help="serve + loadtest on loopback sockets, each on its own core: the server's "
                                         "live CPU, bytes and latency, optionally beside the Colyseus peer",
                            formatter_class=FMT,
                            epilog="example:\n  showroom bench live --visitors 1000 --seconds 60 "
                                   "--peer ../shared/peers/colyseus --report live.json")
    live.add_argument("--visitors", type=positive_int, default=1000, metavar="N",
                      help="visitors the load test joins (default 1000)")
    live.add_argument("--seconds", type=positive_float, default=30.0, metavar="S",
                      help="seconds to hold them all, the measured window (default 30)")
    live.add_argument("--scene", default=None, metavar="FILE", help="scene to serve (default: the settings' scene)")
    live.add_argument("--ramp", type=positive_float, default=100.0, metavar="R",
                      help="visitors joining per second (default 100)")
    live.add_argument("--server-core", type=count, default=0, metavar="CORE", help="core for the server (default 0)")
    live.add_argument("--load-core", type=count, default=1, metavar="CORE",
                      help="core for the load test and the peer's driver (default 1)")
    live.add_argument("--no-pin", action="store_true", help="leave both processes to the scheduler")
    live.add_argument("--peer", default=None, metavar="DIR",
                      help="then run the Colyseus peer in DIR (its run.sh) with the same pinning and compare")
    live.add_argument("--report", default=None, metavar="FILE", help="write the figures as JSON to this file")
    live.add_argument("--loadtest-report", default=None, metavar="FILE",
                      help="keep the load test's own full report (latency, ticks, traffic, awards) in this file")
    live.add_argument("--plot", default=None, metavar="FILE.png",
                      help="have the load test draw clients, latency and tick time over the run into this PNG")
    add_json(live, "print the figures as one JSON object (last line)")
    live.set_defaults(handler=_live)

    cluster = kinds.add_parser("cluster", help="visitors one process holds vs. N workers (serve --workers), one right "
                                               "after the other, and the broker's commands per 1,000 visitors",
                               formatter_class=FMT,
                               epilog="example:\n  showroom bench cluster --visitors 1000,1400,1800 --workers 2 "
                                      "--broker redis://127.0.0.1:6379/0")
    cluster.add_argument("--visitors", type=_counts, default=(1000, 1400, 1800), metavar="N,N,...",
                         help="visitor counts to try (default 1000,1400,1800)")
    cluster.add_argument("--workers", type=positive_int, default=2, metavar="N", help="workers (default 2)")
    cluster.add_argument("--broker", required=True, metavar="URL", help="Redis URL for the workers (redis://HOST:PORT/0)")
    cluster.add_argument("--database", default=None, metavar="URL", help="PostgreSQL URL for the ledger (default SQLite)")
    cluster.add_argument("--seconds", type=positive_float, default=20.0, metavar="S",
                         help="seconds to hold each count (default 20)")
    cluster.add_argument("--ramp", type=positive_float, default=200.0, metavar="R",
                         help="visitors joining per second (default 200)")
    cluster.add_argument("--scene", default=None, metavar="FILE", help="scene to serve (default: the settings' scene)")
    add_json(cluster, "print the figures as one JSON object (last line)")
    cluster.set_defaults(handler=_cluster)


def _counts(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected visitor counts like 1000,1400, not {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"visitor counts must be at least 1: {text!r}")
    return values


def _cluster(args: argparse.Namespace) -> int:
    import json

    from server.bench_cluster import ClusterConfig, run, summary_lines

    result = run(ClusterConfig(visitors=args.visitors, workers=args.workers, broker=args.broker, seconds=args.seconds,
                               ramp_per_s=args.ramp, scene=args.scene, database=args.database))
    if args.json:
        print(json.dumps(result))
    else:
        print("\n".join(summary_lines(result)))
    return 0


def _crowd(args: argparse.Namespace) -> int:
    from showroom.bench.crowd import JUPEDSIM_INSTALL, JUPEDSIM_MISSING, JUPEDSIM_TIMED, run

    jupedsim_agents = args.jupedsim_agents or args.agents
    if not args.json:
        theirs = "" if args.no_jupedsim else f", JuPedSim ({jupedsim_agents} agents)"
        print(f"timing {args.agents} agents x {args.steps} steps{theirs}, then the pure-Python reference "
              f"({args.reference_agents} agents x {args.reference_steps} steps)…", file=sys.stderr)
    result = run(args.agents, args.steps, args.reference_agents, args.reference_steps,
                 jupedsim_agents=jupedsim_agents, jupedsim=not args.no_jupedsim)
    missing = f"JuPedSim is not installed, so it was not timed ({JUPEDSIM_INSTALL} to compare)"
    if args.json:
        if result.jupedsim_status == JUPEDSIM_MISSING:
            print(missing, file=sys.stderr)
        print(json.dumps(result.as_dict()))
        return 0
    print(f"agents            {result.agents}")
    print(f"median per step   {result.median_ms:.2f} ms (our step and goal redraw)")
    print(f"p95 per step      {result.p95_ms:.2f} ms")
    print(f"agent-steps/s     {result.agent_steps_per_s:,.0f}")
    if result.jupedsim_status == JUPEDSIM_TIMED:
        print(f"JuPedSim {result.jupedsim_version:<8} {result.jupedsim_median_ms:.2f} ms median, "
              f"{result.jupedsim_p95_ms:.2f} ms p95 per step ({result.jupedsim_agents} agents, "
              f"collision-free speed model; Simulation.iterate() only)")
        print(f"  goal redraw     {result.jupedsim_redraw_median_ms:.2f} ms per step through its Python API "
              f"(not timed above)")
        same = "" if result.jupedsim_agents == result.agents else \
            f", ours {result.ours_median_ms_at_jupedsim_agents:.2f} ms at {result.jupedsim_agents} agents"
        print(f"ours / JuPedSim   {result.ratio_to_jupedsim:.2f} per step{same}")
    elif result.jupedsim_status == JUPEDSIM_MISSING:
        print(missing)
    else:
        print("JuPedSim          not timed (--no-jupedsim)")
    print(f"pure Python       {result.reference_us_per_agent_step:.2f} µs per agent-step "
          f"({result.reference_agents} agents)")
    print(f"speed-up          {result.speedup_per_agent_step:.1f}x per agent-step")
    return 0


def _tick(args: argparse.Namespace) -> int:
    from server.bench import run
    from showroom.scene import load_scene
    from showroom.settings import load_settings

    scene = load_scene(load_settings(scene=args.scene).scene_path())
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


def _live(args: argparse.Namespace) -> int:
    from pathlib import Path

    from server.bench_live import LiveConfig, summary_lines
    from server.bench_peer import peer_script, run_side_by_side, side_by_side_lines

    script = peer_script(Path(args.peer)) if args.peer else None  # a wrong folder is said before any run
    config = LiveConfig(args.visitors, args.seconds, args.ramp, Path(args.scene) if args.scene else None,
                        args.server_core, args.load_core, not args.no_pin, progress=not args.json,
                        plot=Path(args.plot) if args.plot else None,
                        loadtest_report=Path(args.loadtest_report) if args.loadtest_report else None)
    result = run_side_by_side(config, script)
    if args.json:
        print(json.dumps(result))
    else:
        print("\n".join(summary_lines(result)))
        if result["peer"] is not None:
            print("\n".join(side_by_side_lines(result, result["peer"], result["goals"])))
    if args.report:
        try:
            Path(args.report).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            print(f"bench live: cannot write {args.report}: {exc.strerror or exc}", file=sys.stderr)
            return 1
    return 0 if result["joined"] else 1


def _client(args: argparse.Namespace) -> int:
    from showroom.client.bench import run_bench
    from showroom.settings import load_settings

    result = run_bench(args.avatars, frames=args.frames, baseline_frames=args.baseline_frames, size=args.size,
                       progress=not args.json, display=load_settings().display)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"avatars           {result['avatars']:,} instanced, {result['size']} offscreen on {result['renderer']}")
    print(f"instanced         {result['fps']:.1f} fps ({result['frame_ms']:.1f} ms/frame), "
          f"update {result['update_ms']:.3f} ms/frame (interpolate + pack + upload)")
    print(f"NodePath per avatar {result['baseline_fps']:.1f} fps ({result['baseline_frame_ms']:.1f} ms/frame), "
          f"update {result['baseline_update_ms']:.1f} ms/frame")
    print(f"ratio             {result['ratio']:.1f}x the NodePath way")
    sys.stdout.flush()
    return 0


def _awards(args: argparse.Namespace) -> int:
    from server.bench_awards import run, summary_lines
    from showroom.scene import load_scene
    from showroom.settings import load_settings

    scene = load_scene(load_settings(scene=args.scene).scene_path())
    result = run(scene, awards=args.awards, baseline_awards=args.baseline_awards, drop_visitors=args.drop_visitors,
                 trickle_visitors=args.trickle_visitors, trickle_s=args.trickle_seconds,
                 progress=(lambda line: None) if args.json else (lambda line: print(line, file=sys.stderr)))
    print(json.dumps(result.as_dict()) if args.json else "\n".join(summary_lines(result)))
    return 0
