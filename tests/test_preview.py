"""``showroom scene preview``: the show rendered offscreen without a server, one labelled
frame per cue with every mascot where the timeline puts it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import ANNIVERSARY, RESIDENCY

from showroom.cli import main
from showroom.scene import load_scene


@pytest.fixture(scope="module")
def sheet(tmp_path_factory):
    """The weekend residency's contact sheet (26 cues, four of them walks: the anniversary's 42 take twice as long
    to render and show nothing more)."""
    out = tmp_path_factory.mktemp("preview")
    assert main(["scene", "preview", str(RESIDENCY), "--contact-sheet", "--at", "0:32", "--visitors", "150",
                 "--out", str(out)]) == 0
    return out


def test_contact_sheet_has_one_labelled_frame_per_cue(sheet):
    scene = load_scene(RESIDENCY)
    index = json.loads((sheet / "contact-sheet.json").read_text())
    frames = index["frames"]
    assert len(frames) == len(scene.timeline)
    labels = [f["label"] for f in frames]
    for i, cue in enumerate(scene.timeline):
        assert sum(f"#{i} {cue.kind}:" in label for label in labels) == 1
    starts = [scene.timeline[int(label.split("#")[1].split(" ")[0])].at for label in labels]
    assert starts == sorted(starts)  # in show order
    from panda3d.core import PNMImage

    full = PNMImage(str(sheet / frames[0]["image"]))
    assert (full.getXSize(), full.getYSize()) == (1280, 720)
    contact = PNMImage(str(sheet / "contact-sheet.png"))
    rows = -(-len(frames) // index["columns"])
    assert (contact.getXSize(), contact.getYSize()) == (index["columns"] * 512, rows * 288)
    assert (sheet / "overview.png").exists() and (sheet / "preview-0032.png").exists()


def test_walks_are_framed_on_the_walking_mascot(sheet):
    frames = json.loads((sheet / "contact-sheet.json").read_text())["frames"]
    walks = [f for f in frames if " walk: " in f["label"]]
    assert walks
    for f in walks:
        who = f["label"].split(" walk: ")[1].split(" along ")[0]
        x, y = f["mascots"][who]
        assert 300 < x < 980 and 150 < y < 650, f"{who} not near the middle of {f['image']}"


def _grab(base) -> np.ndarray:
    base.graphicsEngine.renderFrame()
    base.graphicsEngine.renderFrame()
    tex = base.win.getScreenshot()
    h, w = tex.getYSize(), tex.getXSize()
    return np.frombuffer(bytes(tex.getRamImageAs("RGB")), np.uint8).reshape(h, w, 3)[::-1].astype(int)


def test_every_mascot_is_drawn_where_the_timeline_puts_it():
    """Hide one mascot at a time: the picture changes exactly around where the timeline says it stands."""
    from showroom.client.preview import PreviewStage, cue_moments

    scene = load_scene(ANNIVERSARY)
    stage = PreviewStage(scene, visitors=0, size=(640, 360))
    try:
        moments = [m for m in cue_moments(scene, stage.show) if m.mascot is not None][::3]
        checked = 0
        for moment in moments:
            pos = stage.pose(moment.t)
            target, eye = stage.frame_camera(pos[moment.mascot])
            stage.aim(target, eye)
            stage.label.setText("")
            stage.caption.setText("")
            shown = _grab(stage.base)
            on = stage.mascots.on_runway(pos)
            for i, fig in enumerate(stage.mascots.figures):
                z = (scene.venue.runway.height if on[i] else 0.0) + fig.mascot.body.height * 0.45
                at = stage.project((float(pos[i, 0]), float(pos[i, 1]), z))
                if at is None or not (20 <= at[0] < 620 and 20 <= at[1] < 340):
                    continue
                fig.root.hide()
                hidden = _grab(stage.base)
                fig.root.show()
                diff = np.abs(shown - hidden).sum(axis=2) > 24
                x, y = int(at[0]), int(at[1])
                near = diff[max(y - 20, 0):y + 20, max(x - 20, 0):x + 20].mean()
                far = np.delete(diff, np.s_[max(y - 120, 0):y + 120], axis=0).mean()
                assert near > 0.15, f"{fig.mascot.id} missing at {at} at {moment.t:.1f} s ({moment.label})"
                assert far < 0.01, f"{fig.mascot.id} drawn away from its place at {moment.t:.1f} s"
                checked += 1
        assert checked >= 12
    finally:
        stage.close()


def test_a_preview_never_draws_more_visitors_than_the_scene_holds_unless_asked():
    from conftest import RESIDENCY

    from showroom.cli import build_parser
    from showroom.client.preview import PREVIEW_VISITORS, audience

    assert build_parser().parse_args(["scene", "preview", str(RESIDENCY)]).visitors is None  # the scene decides

    loft = load_scene(RESIDENCY)
    assert loft.event.shard_capacity == 150
    assert audience(loft, None) == 150  # was 800 people drawn into a 150-visitor loft
    assert audience(load_scene(ANNIVERSARY), None) == PREVIEW_VISITORS
    assert audience(loft, 40) == 40


def test_no_lights_cue_burns_the_runway_to_white():
    """After every lights cue of the weekend residency (its "all, ×1.2" cue once washed the runway to white), the
    runway top still shows its shading: almost none of it is pure white, and the brightest cue is still the
    brightest."""
    from conftest import RESIDENCY

    from showroom.client.preview import PreviewStage
    from showroom.scene.show import LightsCue

    scene = load_scene(RESIDENCY)
    rw = scene.venue.runway
    pts = np.asarray(rw.centerline, float)
    stage = PreviewStage(scene, visitors=0, size=(640, 360))
    try:
        means = {}
        for cue in (c for c in scene.timeline if isinstance(c, LightsCue)):
            t = float(cue.at) + float(cue.duration) + 0.5
            stage.pose(t)
            stage.aim(*stage.frame_camera(None))
            stage.label.setText("")
            stage.caption.setText("")
            image = _grab(stage.base)
            patches = []
            for a, b in zip(pts, pts[1:]):
                for f in np.linspace(0.05, 0.95, 12):
                    p = a + (b - a) * f
                    at = stage.project((float(p[0]), float(p[1]), rw.height))
                    if at is not None and 2 <= at[0] < 638 and 2 <= at[1] < 358:
                        x, y = int(at[0]), int(at[1])
                        patches.append(image[y - 2:y + 3, x - 2:x + 3].reshape(-1, 3))
            runway = np.concatenate(patches)
            white = float(np.mean(np.all(runway >= 250, axis=1)))
            assert white < 0.02, f"{white:.0%} of the runway is white after the lights cue at {cue.at} ({cue.color} ×{cue.intensity})"
            means[(cue.target, cue.intensity)] = runway.mean()
        assert means[("all", 1.2)] > means[("house", 0.5)]  # a brighter cue still reads brighter
    finally:
        stage.close()


def test_a_camera_outside_the_hall_looks_through_its_outer_walls():
    """A visitor who arrives at the entrance has the orbit camera behind them, outside the hall: the first frame
    was the back of the entrance wall over 40 % of the screen. The hall's own walls face inward only, so from
    outside they hide nothing (inside they stand as before)."""
    from showroom.client.preview import PreviewStage

    scene = load_scene(ANNIVERSARY)
    stage = PreviewStage(scene, visitors=0, size=(640, 360))
    try:
        stage.pose(0.0)
        stage.label.setText("")
        stage.caption.setText("")
        walls = stage.venue.root.find("walls")
        assert not walls.isEmpty()

        def floor_pixel(eye, point):
            stage.aim(point, eye)
            x, y = (int(v) for v in stage.project(point))
            shown = _grab(stage.base)[y - 2:y + 3, x - 2:x + 3].mean(axis=(0, 1))
            walls.hide()
            bare = _grab(stage.base)[y - 2:y + 3, x - 2:x + 3].mean(axis=(0, 1))
            walls.show()
            return np.abs(shown - bare).max()

        # the arrival view: 22 m behind a visitor at the entrance, looking into the hall over the entrance wall
        assert floor_pixel((30.0, -16.0, 13.6), (30.0, 4.0, 0.0)) < 8
        # from inside, the back wall still stands: it hides the floor behind it from a camera in the hall
        behind = floor_pixel((30.0, 20.0, 3.0), (30.0, 41.0, 0.0)) if stage.project((30.0, 41.0, 0.0)) else 255
        assert behind > 8
    finally:
        stage.close()
