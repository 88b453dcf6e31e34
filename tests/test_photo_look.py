"""How mascots and selfie photos look: every mascot is drawn as the animal its name says, with
that animal's features in tones of its fur and fabric (no dark holes but pupils and noses),
and the selfie frames the visitor's whole figure beside the mascot, both facing a lens at
chest height, with nobody standing in front of them.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from conftest import ANNIVERSARY, RESIDENCY

from showroom.client import mascot_parts
from showroom.client import mascot_species as species
from showroom.scene import load_scene


def _mascot(scene_path, mascot_id):
    scene = load_scene(scene_path)
    return next(m for m in scene.mascots if m.id == mascot_id)


def _colour(mesh) -> np.ndarray:
    return mesh.c[:, :3].mean(axis=0)


def _every_kind():
    """A plain-named mascot per ear and tail kind the scene format allows, and the example mascots."""
    base = _mascot(ANNIVERSARY, "teddy")
    for ears, tail in itertools.product(("none", "round", "pointed", "long", "floppy"), ("none", "stub", "long", "bushy")):
        body = base.body.model_copy(update={"ears": ears, "tail": tail})
        yield base.model_copy(update={"id": f"zed-{ears}-{tail}", "name": "Zed", "body": body})
    for path in (ANNIVERSARY, RESIDENCY):
        yield from load_scene(path).mascots


# ---- the figures (pure meshes) --------------------------------------------------------------
def test_each_example_mascot_is_drawn_as_the_animal_its_name_says():
    found = {m.id: species.species_of(m) for path in (ANNIVERSARY, RESIDENCY) for m in load_scene(path).mascots}
    assert found == {"teddy": "bear", "ember": "fox", "kit": "rabbit", "olive": "owl"}


def test_mascots_without_an_animal_name_are_told_by_their_ears_and_tail():
    kinds = {(m.body.ears, m.body.tail): species.species_of(m) for m in _every_kind() if m.name == "Zed"}
    assert kinds[("round", "stub")] == "bear" and kinds[("long", "stub")] == "rabbit"
    assert kinds[("pointed", "bushy")] == "fox" and kinds[("pointed", "long")] == "cat"
    assert kinds[("floppy", "long")] == "dog" and kinds[("none", "stub")] == "bird"


def test_owl_has_a_beak_folded_wings_ear_tufts_and_big_ringed_eyes():
    olive = _mascot(RESIDENCY, "olive")
    fig = mascot_parts.build(olive)
    parts = fig.parts()
    assert {"beak", "wing-left", "wing-right", "ear-tufts", "eye-rings", "irises", "facial-disc", "pupils"} <= set(parts)
    assert "arm-left" not in parts  # wings instead of arms
    head_front = float(parts["head"].v[:, 1].max())
    assert parts["beak"].v[:, 1].max() > head_front  # the beak sticks out of the face
    assert np.ptp(parts["irises"].v[:, 0]) > 0.4 * olive.body.head_size  # big eyes, wide apart
    for side, name in ((-1, "wing-left"), (1, "wing-right")):
        wing = parts[name]
        assert wing.v[:, 2].max() <= 0.05 and wing.v[:, 2].min() < -0.5 * fig.torso_h  # hanging down the side
    tufts = parts["ear-tufts"]
    assert tufts.v[:, 2].max() > parts["head"].v[:, 2].max()  # above the head
    iris = _colour(parts["irises"])
    assert iris[0] > 0.7 and iris[1] > 0.5 and iris[2] < 0.5  # golden, around dark pupils


def test_owl_figure_has_named_beak_and_wing_nodes_on_its_joints():
    from panda3d.core import NodePath

    from showroom.client.mascot_view import MascotFigure

    figure = MascotFigure(_mascot(RESIDENCY, "olive"), "#335577", NodePath("scene"))
    assert not figure.neck.find("beak").isEmpty()
    assert not figure.neck.find("ear-tufts").isEmpty()
    assert all(not arm.find("wing").isEmpty() for arm in figure.arms)  # the wings move with the pose


def test_bear_has_round_ears_and_a_muzzle_and_belly_in_lighter_tones_of_its_fur():
    teddy = _mascot(ANNIVERSARY, "teddy")
    parts = mascot_parts.build(teddy).parts()
    assert {"ears", "inner-ears", "muzzle", "nose", "belly", "bow-tie"} <= set(parts)
    fur = _colour(parts["torso"])
    for name in ("belly", "muzzle", "inner-ears"):
        tone = _colour(parts[name])
        assert species.luminance(tone) > species.luminance(fur) + 0.12, name
        assert tone[0] > tone[1] > tone[2], f"{name} is not a warm tone of the honey fur: {tone}"
    # the brand's navy accent is fabric (the bow tie), not a patch of fur
    assert _colour(parts["bow-tie"])[2] > _colour(parts["bow-tie"])[0]


def test_rabbit_fox_and_every_kind_have_their_defining_parts():
    kit = mascot_parts.build(_mascot(ANNIVERSARY, "kit")).parts()
    ear = kit["ears"]
    assert np.ptp(ear.v[:, 2]) > 0.5  # long ears standing up
    assert {"inner-ears", "teeth", "tail"} <= set(kit)
    ember = mascot_parts.build(_mascot(ANNIVERSARY, "ember"))
    fox = ember.parts()
    assert fox["muzzle"].v[:, 1].max() > fox["head"].v[:, 1].max() + 0.15  # a long pointed snout
    assert fox["tail"].v[:, 1].min() < -0.7  # a long brush behind
    for m in _every_kind():
        fig = mascot_parts.build(m)
        parts = fig.parts()
        assert {"head", "torso", "belly", "pupils"} <= set(parts), m.id
        if m.body.ears != "none":
            assert {"ears", "ear-tufts"} & set(parts), m.id
        if m.body.tail != "none":
            assert "tail" in parts, m.id


@pytest.mark.parametrize("mascot", list(_every_kind()), ids=lambda m: m.id)
def test_no_part_of_a_mascot_is_near_black_but_pupils_and_noses(mascot):
    for name, mesh in mascot_parts.build(mascot).parts().items():
        if name in species.DARK_PARTS:
            continue
        lum = 0.2126 * mesh.c[:, 0] + 0.7152 * mesh.c[:, 1] + 0.0722 * mesh.c[:, 2]
        assert float(np.median(lum)) >= species.NEAR_BLACK, f"{mascot.id}: {name} reads as a hole ({np.median(lum):.2f})"


# ---- framing (pure) -------------------------------------------------------------------------
@pytest.mark.parametrize("height,width,on_stage", [(1.5, 0.9, 0.0), (1.9, 1.0, 0.8), (3.5, 2.0, 0.0), (0.9, 0.4, 0.8)])
@pytest.mark.parametrize("approach_deg", [0, 70, 180, 250])
def test_the_lens_frames_both_whole_from_chest_height_a_few_metres_away(height, width, on_stage, approach_deg):
    from showroom.client import photo

    mascot = np.array([20.0, 10.0])
    a = math.radians(approach_deg)
    visitor = mascot + 1.6 * np.array([math.cos(a), math.sin(a)])
    top = height * 1.15
    shot = photo.selfie_pose(visitor, mascot, on_stage, mascot_width=width, mascot_top=top)
    assert shot.eye[2] == pytest.approx(on_stage + photo.CHEST_M)
    assert 2.0 <= shot.depth_m <= 9.0
    between = np.hypot(*(np.asarray(shot.visitor) - mascot))
    assert width / 2 < between < width / 2 + 1.2  # beside the mascot, not across the room
    # both stand on the line across the lens's view, so both face it
    to_eye = np.asarray(shot.eye[:2]) - np.asarray(shot.look[:2])
    assert abs((np.asarray(shot.visitor) - mascot) @ to_eye) < 1e-6
    eye, back = np.asarray(shot.eye), -to_eye / np.linalg.norm(to_eye)
    look = np.asarray(shot.look) - eye
    pitch = math.atan2(look[2], math.hypot(look[0], look[1]))
    boxes = np.concatenate([photo._box(mascot, width / 2 + 0.2, on_stage, on_stage + top),
                            photo._box(np.asarray(shot.visitor), 0.3, on_stage, on_stage + photo.VISITOR_H_M)])
    f = photo._film(boxes, eye, back, pitch)
    assert f[:, 1].max() < photo.FRAME_TOP and f[:, 1].min() > photo.FRAME_BOTTOM
    assert np.abs(f[:, 0]).max() < photo.PHOTO_SIZE[0] / photo.PHOTO_SIZE[1] - photo.FRAME


def test_the_visitor_stands_on_the_mascots_level_or_steps_down_off_the_runway():
    from showroom.client import photo

    mascot = np.array([20.0, 10.0])

    def wide(p):  # a runway 6 m wide along y, 0.8 m high
        return 0.8 if abs(p[0] - 20.0) < 3.0 else 0.0

    def narrow(p):
        return 0.8 if abs(p[0] - 20.0) < 0.8 else 0.0

    # coming from the side (+x): on a wide runway the visitor stands beside the mascot on the runway
    shot = photo.selfie_pose(np.array([24.0, 10.0]), mascot, 0.8, mascot_width=1.0, mascot_top=2.1, floor=wide)
    assert shot.visitor_z == 0.8
    # coming from the front (+y) of a narrow runway: no room beside the mascot, so the visitor stands on the floor
    shot = photo.selfie_pose(np.array([20.0, 14.0]), mascot, 0.8, mascot_width=1.0, mascot_top=2.1, floor=narrow)
    assert shot.visitor_z == 0.0 and abs(shot.visitor[0] - 20.0) >= 0.8 + photo.VISITOR_R_M - 1e-6
    assert shot.eye[2] == pytest.approx(0.8 + photo.CHEST_M)


def test_people_in_front_of_the_pair_step_aside_and_the_crowd_behind_stays():
    from showroom.client import photo

    mascot, visitor = np.array([20.0, 10.0]), np.array([20.0, 12.0])
    shot = photo.selfie_pose(visitor, mascot, 0.0, mascot_width=1.0, mascot_top=2.1)
    eye = np.asarray(shot.eye[:2])
    mid = (np.asarray(shot.mascot) + np.asarray(shot.visitor)) / 2
    people = np.array([
        eye + (mid - eye) * 0.5,  # halfway between the lens and the pair
        np.asarray(shot.visitor) + 0.2,  # where the visitor stands for the photo
        mid + (mid - eye) * 0.8,  # a few metres behind the pair
        eye - (mid - eye) * 0.5,  # behind the photographer
    ])
    assert photo.in_the_shot(people, shot).tolist() == [True, True, False, False]


# ---- the photo, rendered offscreen ----------------------------------------------------------
@pytest.fixture(scope="module")
def photo_shot(tmp_path_factory):
    """A selfie with Teddy at the east selfie spot at 1:10, taken by the client's photo studio
    with the client's views, an audience of 300, and one stranger planted in front of the pair."""
    from panda3d.core import Vec3

    from showroom.client.photo import PhotoInfo, PhotoStudio, facing, in_the_shot, selfie_pose
    from showroom.client.preview import PreviewStage
    from showroom.protocol.codes import Activity

    scene = load_scene(ANNIVERSARY)
    stage = PreviewStage(scene, visitors=300, size=(640, 360))
    try:
        pos = stage.pose(70.0)
        k = [m.id for m in scene.mascots].index("teddy")
        figure = stage.mascots.figures[k]
        at = np.asarray(pos[k], float)
        mz = scene.venue.runway.height if stage.mascots.on_runway(at[None])[0] else 0.0
        queue_head = np.array([33.6, 14.5])
        shot = selfie_pose(queue_head, at, mz, mascot_width=figure.mascot.body.body_width, mascot_top=figure.top_z)
        studio = PhotoStudio(stage.base, stage.base.render)
        studio.stage(shot, subjects=[figure.root])
        figure.pose(shot.mascot[0], shot.mascot[1], mz, facing(shot.mascot, shot.eye[:2]), Activity.SELFIE, None, 0.0, 1.0,
                    mirror=shot.visitor_side < 0)
        ids, apos, heading, phase = stage.audience
        stranger = (np.asarray(shot.eye[:2]) + np.asarray(shot.visitor)) / 2
        ids = np.append(ids, 99_999)
        apos = np.vstack([apos, stranger]).astype(np.float32)
        heading, phase = np.append(heading, 0.0).astype(np.float32), np.append(phase, 0.0).astype(np.float32)
        keep = ~in_the_shot(apos, shot)
        stage.crowd.set_eye(Vec3(*shot.eye))
        stage.crowd.update(ids[keep], apos[keep], heading[keep], phase[keep], np.zeros(int(keep.sum()), np.uint8))
        studio.keep_out([figure.tag])
        stage.label.setText("")
        stage.caption.setText("")
        m = figure.mascot
        info = PhotoInfo(scene.event.id, scene.event.title, m.id, m.name, "Maison Lumen", 70.0, 1001, "Ada", 0, (1001,))
        out = tmp_path_factory.mktemp("photo")
        png, _ = studio.take(info, palette=scene.brand(m.brand).palette, folder=out)
        # where things landed on the photo, measured with the lens that took it (the studio leaves the
        # visitor's figure where it stood, hidden, so its bounds can be read)
        lens = studio.cam.node().getLens()
        render = stage.base.render

        def on_photo(node):
            from panda3d.core import Point2, Point3

            was_hidden = node.isHidden()
            node.show()
            lo, hi = node.getTightBounds(render)
            if was_hidden:
                node.hide()
            px = []
            for x, y, z in itertools.product((lo.x, hi.x), (lo.y, hi.y), (lo.z, hi.z)):
                film = Point2()
                inside = lens.project(studio.cam.getRelativePoint(render, Point3(x, y, z)), film)
                px.append(((film.x + 1) / 2 * 1024, (1 - film.y) / 2 * 768, inside))
            return np.array(px, float)

        measured = {
            "visitor": on_photo(studio.person.root),
            "mascot": on_photo(figure.body),
            "belly": on_photo(figure.upper.find("belly")),
            "muzzle": on_photo(figure.neck.find("muzzle")),
            "top": on_photo(studio.person.root.find("top")),
        }
        yield {"png": png, "kept": keep, "measured": measured, "person_hidden": studio.person.root.isHidden(),
               "tag_hidden": figure.tag.isHidden()}
    finally:
        stage.close()


def _pixels(png):
    from PIL import Image

    with Image.open(png) as img:
        return np.asarray(img.convert("RGB"), np.float32) / 255


def _patch(img, box, frac=0.25):
    """The middle ``frac`` of a projected box's extent on the photo."""
    x0, x1 = np.percentile(box[:, 0], [0, 100])
    y0, y1 = np.percentile(box[:, 1], [0, 100])
    cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) * frac / 2, (y1 - y0) * frac / 2
    return img[int(cy - ry):int(cy + ry) + 1, int(cx - rx):int(cx + rx) + 1].reshape(-1, 3)


def test_photo_shows_the_visitors_whole_figure_inside_the_frame(photo_shot):
    box = photo_shot["measured"]["visitor"]
    assert box[:, 2].all()  # every corner in front of the lens, inside its view
    frame_px = 0.06 * 384
    assert box[:, 0].min() > frame_px and box[:, 0].max() < 1024 - frame_px
    assert box[:, 1].min() > frame_px and box[:, 1].max() < 768 * (1 + 0.785) / 2  # above the caption band
    assert photo_shot["person_hidden"] and not photo_shot["tag_hidden"]  # the scene is as it was


def test_both_figures_fill_a_good_share_of_the_photo(photo_shot):
    for who in ("visitor", "mascot"):
        box = photo_shot["measured"][who]
        assert np.ptp(box[:, 1]) > 0.45 * 768, f"{who} is too small in the photo"
    visitor, mascot = photo_shot["measured"]["visitor"], photo_shot["measured"]["mascot"]
    overlap = min(visitor[:, 0].max(), mascot[:, 0].max()) - max(visitor[:, 0].min(), mascot[:, 0].min())
    assert overlap < 0.25 * np.ptp(visitor[:, 0])  # side by side, not one behind the other


def test_nobody_stands_between_the_lens_and_the_pair(photo_shot):
    assert not photo_shot["kept"][-1]  # the planted stranger stepped aside
    img = _pixels(photo_shot["png"])
    top = _patch(img, photo_shot["measured"]["top"]).mean(axis=0)
    assert top[0] > 0.45 and top[1] > 0.35 and top[2] < 0.5 * top[1], f"the visitor's gold top is hidden: {top}"


def test_teddys_belly_and_muzzle_read_as_light_fur_not_dark_holes(photo_shot):
    img = _pixels(photo_shot["png"])
    for part in ("belly", "muzzle"):
        rgb = _patch(img, photo_shot["measured"][part]).mean(axis=0)
        assert species.luminance(rgb) > 0.4, f"{part} is dark: {rgb}"
        assert rgb[0] >= rgb[1] >= rgb[2], f"{part} is not a warm fur tone: {rgb}"
