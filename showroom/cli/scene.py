"""``showroom scene``: validate a scene file, print its JSON Schema, or preview the show offscreen."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from showroom.cli.args import count
from showroom.defaults import EXAMPLE_SCENE

FMT = argparse.RawDescriptionHelpFormatter


def register(sub: Any) -> None:
    """Add ``scene validate``, ``scene schema`` and ``scene preview``."""
    scene = sub.add_parser("scene", help="validate a scene file, print its JSON Schema, or preview the show offscreen",
                           formatter_class=FMT,
                           epilog=f"examples:\n  showroom scene validate {EXAMPLE_SCENE}\n"
                                  "  showroom scene schema > scene.schema.json\n"
                                  f"  showroom scene preview {EXAMPLE_SCENE} --contact-sheet --out preview")
    actions = scene.add_subparsers(dest="scene_command", metavar="ACTION", required=True)
    validate = actions.add_parser("validate", help="check a scene file; print a summary or one line per error",
                                  formatter_class=FMT, epilog=f"example:\n  showroom scene validate {EXAMPLE_SCENE}")
    validate.add_argument("file")
    validate.set_defaults(handler=_validate)
    schema = actions.add_parser("schema", help="print the scene format's JSON Schema (for editor completion)",
                                formatter_class=FMT, epilog="example:\n  showroom scene schema > scene.schema.json")
    schema.set_defaults(handler=_schema)
    preview = actions.add_parser(
        "preview", help="render the show offscreen without a server: frames at times, or a contact sheet",
        formatter_class=FMT,
        epilog=f"examples:\n  showroom scene preview {EXAMPLE_SCENE} --contact-sheet --out preview\n"
               f"  showroom scene preview {EXAMPLE_SCENE} --at 0:32 --at 6:20 --out preview")
    preview.add_argument("file", help="scene file")
    preview.add_argument("--at", action="append", default=[], metavar="TIME",
                         help="a show time to render (mm:ss; repeat for more)")
    preview.add_argument("--contact-sheet", action="store_true",
                         help="one labelled frame per cue, a sheet of them all and an overview image")
    preview.add_argument("--out", default="preview", help="folder for the images (default ./preview)")
    preview.add_argument("--visitors", type=count, default=None,
                         help="ambient audience drawn (default: 800, or the scene's shard capacity when smaller)")
    preview.set_defaults(handler=_preview)


def _validate(args: argparse.Namespace) -> int:
    from showroom.scene import load_scene
    from showroom.scene.summary import summarise

    scene = load_scene(args.file)
    print(summarise(scene, args.file))
    return 0


def _schema(args: argparse.Namespace) -> int:
    from showroom.scene import Scene

    print(json.dumps(Scene.model_json_schema(), indent=2))
    return 0


def _preview(args: argparse.Namespace) -> int:
    from showroom.client.preview import render_contact_sheet, render_frames
    from showroom.errors import ShowroomError
    from showroom.scene import load_scene
    from showroom.scene.timecode import parse_seconds
    from showroom.settings import load_settings

    scene = load_scene(args.file)
    if not args.at and not args.contact_sheet:
        raise ShowroomError("scene preview: give --at TIME (one or more) or --contact-sheet")
    times = []
    for text in args.at:
        try:
            t = parse_seconds(text)
        except ValueError as exc:
            raise ShowroomError(f"--at {text}: {exc}") from None
        if t > scene.event.duration:
            raise ShowroomError(f"--at {text}: after the end of the show ({scene.event.duration:g} s)")
        times.append(t)
    out = Path(args.out)
    display = load_settings().display
    written = render_frames(scene, times, out, visitors=args.visitors, display=display) if times else []
    if args.contact_sheet:
        written += render_contact_sheet(scene, out, visitors=args.visitors, display=display)
    for path in written:
        print(f"wrote {path}")
    return 0
