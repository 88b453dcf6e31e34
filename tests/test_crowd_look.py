"""The crowd looks like people: smooth shaded figures, each visitor's own skin, hair, hairstyle,
build and clothes from a hash of its id (the same on every client), the visitor's own avatar in
gold, far impostors cut from the same figure, and only as many reaction bubbles as a person can
read. Checked on the arrays, and offscreen by what the picture shows."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
from test_preview import _grab

from showroom.client.crowd_look import (
    HAIR,
    ME_BOTTOM,
    ME_COLOR,
    SKIN,
    avatar_looks,
    brand_colors,
    clothing_palette,
    outfit_colors,
)
from showroom.client.reaction_pick import MAX_BUBBLES, pick_reactions

IDS = np.arange(100, 1100, dtype=np.int64)


def _rows_of(table: np.ndarray, colors: np.ndarray) -> np.ndarray:
    return np.argmin(np.abs(colors[:, None, :] - table[None]).sum(axis=2), axis=1)


# ---- the look of each visitor ---------------------------------------------------------------

def test_a_visitor_looks_the_same_on_every_frame_and_in_any_order():
    a = avatar_looks(IDS)
    shuffled = np.random.default_rng(1).permutation(len(IDS))
    b = avatar_looks(IDS[shuffled])
    for name in ("skin", "hair", "style", "height", "width", "top", "bottom", "shoes", "short_sleeves", "shorts"):
        assert np.array_equal(getattr(a, name)[shuffled], getattr(b, name)), name


def test_a_thousand_visitors_are_varied():
    looks = avatar_looks(IDS)
    assert len(np.unique(_rows_of(HAIR, looks.hair))) >= 5
    assert len(np.unique(_rows_of(SKIN, looks.skin))) >= 4
    assert len(np.unique(looks.style)) >= 3
    assert len(np.unique(looks.top, axis=0)) >= 12
    assert len(np.unique(looks.bottom, axis=0)) >= 12
    assert np.mean(np.all(looks.top == looks.bottom, axis=1)) < 0.1  # a top and trousers, not a jumpsuit
    assert 0.92 <= looks.height.min() < 0.95 and 1.05 < looks.height.max() <= 1.08
    assert looks.width.max() - looks.width.min() > 0.15
    assert 0.1 < looks.short_sleeves.mean() < 0.5 and 0.1 < looks.shorts.mean() < 0.5


def test_every_skin_tone_and_hair_colour_is_worn_about_as_often():
    looks = avatar_looks(np.arange(20_000, dtype=np.int64))
    for table, worn in ((SKIN, looks.skin), (HAIR, looks.hair)):
        share = np.bincount(_rows_of(table, worn), minlength=len(table)) / len(worn)
        assert share.min() > 0.08 and share.max() < 0.17


def test_only_the_visitors_own_avatar_wears_gold():
    me = int(IDS[7])
    palette = clothing_palette(brand_colors(["#d4af37", "#ffd700", "#5b1a45"]))  # a brand's gold too
    looks = avatar_looks(IDS, me=me, palette=palette)
    assert np.allclose(looks.top[7], ME_COLOR) and np.allclose(looks.bottom[7], ME_BOTTOM)
    for worn in (np.delete(looks.top, 7, axis=0), np.delete(looks.bottom, 7, axis=0)):
        assert np.linalg.norm(worn - np.asarray(ME_COLOR), axis=1).min() >= 0.3
    assert len(palette) == len(clothing_palette()) + 1  # the golds left out, the plum in


def test_brand_colours_are_worn_alongside_the_default_palette():
    brand = brand_colors(["#1c2340", "#0f5257", "#f6f1e7", "#1c2340"])
    palette = clothing_palette(brand)
    assert len(palette) == len(clothing_palette()) + 3  # the repeated colour once
    tops = outfit_colors(IDS, palette=palette)
    worn = np.any(np.all(np.isclose(tops[:, None], np.asarray(brand[:3], np.float32)[None], atol=1e-6), axis=2), axis=1)
    assert 0.08 < worn.mean() < 0.3
    assert np.array_equal(outfit_colors(IDS), outfit_colors(IDS, palette=clothing_palette(None)))


def test_the_figure_is_smooth_and_light_enough_to_draw_thousands():
    from showroom.client.avatar_figure import avatar_mesh

    mesh = avatar_mesh()
    assert len(mesh.v) <= 600
    assert np.allclose(np.linalg.norm(mesh.n, axis=1), 1, atol=1e-4)
    key = np.round(mesh.v / 1e-5).astype(np.int64)
    _, group = np.unique(key, axis=0, return_inverse=True)
    group = group.ravel()
    shared = np.bincount(group) > 1
    split = shared[group]  # vertices repeated where a colour changes: one normal, no crease
    first = np.zeros(group.max() + 1, int)
    first[group[::-1]] = np.arange(len(group))[::-1]
    assert split.sum() > 50
    assert np.allclose(mesh.n[split], mesh.n[first[group[split]]], atol=1e-5)
    assert set(np.unique(mesh.extra["part"])) == {0, 1, 2, 3, 4}  # legs and arms swing


# ---- reaction bubbles -------------------------------------------------------------------------

EYE = np.array([0.0, 0.0, 1.8])


def test_no_more_bubbles_than_a_person_can_read():
    rng = np.random.default_rng(3)
    pos = rng.uniform(-15, 15, (3000, 2))
    shown = pick_reactions(pos, np.ones(3000, bool), EYE)
    assert 0 < len(shown) <= MAX_BUBBLES
    assert len(pick_reactions(pos, np.ones(3000, bool), EYE, limit=5)) <= 5


def test_no_bubble_in_the_cameras_face_or_too_far_to_read():
    pos = np.array([[0.5, 1.0], [2.0, 1.0], [6.0, 0.0], [12.0, 11.9], [30.0, 0.0]])
    shown = set(pick_reactions(pos, np.ones(len(pos), bool), EYE).tolist())
    assert shown == {2, 3}  # 1.1 m and 2.3 m away: in the face; 30 m: unreadable


def test_only_avatars_showing_a_reaction_get_a_bubble():
    pos = np.array([[5.0, 0.0], [0.0, 6.0], [-7.0, 0.0]])
    assert pick_reactions(pos, np.array([False, True, False]), EYE).tolist() == [1]


def test_one_bubble_per_patch_of_floor_and_the_nearest_one_wins():
    pos = np.array([[10.4, 0.2], [10.1, 0.1], [10.3, 1.2], [4.0, 8.0]])
    shown = pick_reactions(pos, np.ones(4, bool), EYE).tolist()
    assert shown == [3, 1]  # nearest first; 0 and 2 share the 1.5 m cell of 1, which is nearer


def test_bubbles_one_behind_the_other_do_not_overlap_on_screen():
    pos = np.array([[6.0, 0.0], [9.0, 0.05], [12.0, 0.1], [6.0, 4.0]])
    shown = pick_reactions(pos, np.ones(4, bool), EYE).tolist()
    assert shown == [0, 3]


def test_bubbles_behind_the_camera_leave_the_places_to_those_in_view():
    rng = np.random.default_rng(5)
    behind = np.column_stack([rng.uniform(-8, 8, 200), rng.uniform(-12, -3.5, 200)])
    ahead = np.column_stack([rng.uniform(-3, 3, 30), rng.uniform(8, 16, 30)])
    pos = np.concatenate([behind, ahead])
    forward = np.array([0.0, 1.0, 0.0])
    shown = pick_reactions(pos, np.ones(len(pos), bool), EYE, forward=forward)
    assert len(shown) > 0 and np.all(shown >= 200)
    blind = pick_reactions(pos, np.ones(len(pos), bool), EYE)
    assert np.mean(blind < 200) > 0.5  # without it the nearest, behind the camera, take most places


# ---- what the picture shows -------------------------------------------------------------------

SIZE = (640, 480)
SAVE = os.environ.get("SHOWROOM_TEST_PICTURES")
"""A folder to write the test pictures to, for a person to look at."""


def _save(img: np.ndarray, name: str) -> None:
    from PIL import Image

    Path(SAVE, name).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img.astype(np.uint8)).save(Path(SAVE, name))


@pytest.fixture(scope="module")
def stage():
    from showroom.client.display import configure, supports_shaders

    configure(offscreen=True, size=SIZE)
    from direct.showbase.ShowBase import ShowBase

    base = ShowBase()
    base.disableMouse()
    base.setBackgroundColor(0.0, 0.0, 0.0, 1)
    if not supports_shaders(base):
        base.destroy()
        pytest.fail("no GLSL 3.30 on this display: install Mesa's GL drivers (Debian libgl1-mesa-dri), as .ci/run does")
    base.camLens.setFov(50)
    yield base
    base.destroy()


def _pixel(base, point) -> tuple[int, int]:
    from panda3d.core import Point2, Point3

    p = base.cam.getRelativePoint(base.render, Point3(*point))
    out = Point2()
    assert base.camLens.project(p, out)
    return int((out.x + 1) / 2 * SIZE[0]), int((1 - out.y) / 2 * SIZE[1])


def _crowd(base, ids, pos, heading, eye, target, me=-1, palette=None):
    from panda3d.core import Vec3

    from showroom.client.crowd_view import CrowdView

    view = CrowdView(base.render, capacity=64, me=me, palette=palette)
    base.camera.setPos(*eye)
    base.camera.lookAt(*target)
    view.set_eye(Vec3(*eye), base.camera.getQuat(base.render).getForward())
    n = len(ids)
    view.update(np.asarray(ids, np.int64), np.asarray(pos, np.float32), np.asarray(heading, np.float32),
                np.zeros(n, np.float32), np.zeros(n, np.uint8))
    return view


def test_one_figure_is_shaded_smoothly_across_its_body(stage):
    """A flat-shaded box gives a torso a handful of grey levels with hard steps at its edges; a rounded figure
    lit per pixel a gradual ramp, bright toward the key light and dark at the silhouette."""
    view = _crowd(stage, [4242], [[0.0, 0.0]], [math.pi], (0.0, -2.6, 1.3), (0.0, 0.0, 1.15))
    try:
        img = _grab(stage)
        if SAVE:
            _save(img, "one-figure.png")
        (left, y), (right, _) = _pixel(stage, (-0.15, 0.0, 1.2)), _pixel(stage, (0.15, 0.0, 1.2))
        span = img[y, left:right + 1].sum(axis=1)  # across the torso, between the arms
        assert len(span) > 40 and np.all(span > 0)
        assert len(np.unique(span)) >= 15, "flat shading"
        inner = span[len(span) // 6: -len(span) // 6]
        assert np.abs(np.diff(inner)).max() <= max(12, (inner.max() - inner.min()) // 4), "hard edges"
        assert inner.max() - inner.min() >= 15, "no shading across the body"
        assert min(span[:4].mean(), span[-4:].mean()) < inner.max() * 0.9  # darker toward an edge: rounded
    finally:
        view.root.removeNode()


def _people(n: int, rng: np.random.Generator, depth: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    cols = 10
    x = (np.arange(n) % cols - (cols - 1) / 2) * 0.8 + rng.uniform(-0.1, 0.1, n)
    y = depth[0] + (np.arange(n) // cols) * (depth[1] - depth[0]) / max(n // cols, 1)
    return np.column_stack([x * (y / depth[0]), y]), np.full(n, math.pi) + rng.uniform(-0.4, 0.4, n)


def test_a_crowd_in_front_of_the_camera_wears_many_colours(stage):
    rng = np.random.default_rng(7)
    ids = np.arange(500, 550)
    pos, heading = _people(50, rng, (4.0, 10.0))
    view = _crowd(stage, ids, pos, heading, (0.0, -1.0, 1.7), (0.0, 6.0, 1.0))
    try:
        img = _grab(stage)
        if SAVE:
            _save(img, "crowd.png")
        drawn = img[img.sum(axis=2) > 30]
        assert len(drawn) > 0.2 * SIZE[0] * SIZE[1]
        hue = _hues(drawn)
        assert len(np.unique(hue)) >= 10  # of 12 hue sectors
        binned = np.unique(drawn // 32, axis=0, return_counts=True)[1]
        assert (binned >= 30).sum() >= 40
    finally:
        view.root.removeNode()


def _hues(rgb: np.ndarray) -> np.ndarray:
    mx, mn = rgb.max(axis=1), rgb.min(axis=1)
    sat = (mx - mn) > 40
    r, g, b = (rgb[sat].T).astype(float)
    h = np.degrees(np.arctan2(math.sqrt(3) * (g - b), 2 * r - g - b)) % 360
    return (h // 30).astype(int)


def test_the_shader_dresses_each_visitor_as_the_numpy_look_says(stage):
    """The GLSL hash and ``avatar_looks`` agree: each torso's strongest channel is its top's."""
    looks = avatar_looks(np.arange(2000, 2400, dtype=np.int64))
    top = looks.top
    vivid = np.flatnonzero(np.sort(top, axis=1)[:, -1] - np.sort(top, axis=1)[:, -2] > 0.35)[:6]
    ids = 2000 + vivid
    x = (np.arange(len(ids)) - (len(ids) - 1) / 2) * 0.7
    pos = np.column_stack([x, np.full(len(ids), 3.0)])
    view = _crowd(stage, ids, pos, np.full(len(ids), math.pi), (0.0, -1.5, 1.3), (0.0, 3.0, 1.1))
    try:
        img = _grab(stage)
        for i, k in enumerate(vivid):
            px, py = _pixel(stage, (x[i], 3.0 - 0.1, 1.15))
            seen = img[py - 2:py + 3, px - 2:px + 3].reshape(-1, 3).mean(axis=0)
            assert int(np.argmax(seen)) == int(np.argmax(top[k])), (ids[i], seen, top[k])
    finally:
        view.root.removeNode()


def test_the_visitors_own_avatar_is_gold_in_the_picture(stage):
    view = _crowd(stage, [77], [[0.0, 3.0]], [math.pi], (0.0, -1.5, 1.3), (0.0, 3.0, 1.1), me=77)
    try:
        img = _grab(stage)
        px, py = _pixel(stage, (0.0, 2.9, 1.15))
        r, g, b = img[py - 2:py + 3, px - 2:px + 3].reshape(-1, 3).mean(axis=0)
        assert r > 120 and g > 0.6 * r and b < 0.4 * g
    finally:
        view.root.removeNode()


def test_far_visitors_are_impostors_in_their_own_colours(stage):
    """Beyond the level-of-detail distance the sprites still wear each visitor's own clothes and skin."""
    rng = np.random.default_rng(11)
    ids = np.arange(900, 1000)
    pos, heading = _people(100, rng, (30.0, 40.0))
    view = _crowd(stage, ids, pos, heading, (0.0, 0.0, 2.5), (0.0, 30.0, 0.9))
    try:
        assert view.levels[0].isHidden() and view.levels[2].isHidden() and not view.levels[1].isHidden()  # no figures
        img = _grab(stage)
        if SAVE:
            _save(img, "far-crowd.png")
        drawn = img[img.sum(axis=2) > 30]
        assert len(drawn) > 0.012 * SIZE[0] * SIZE[1]
        assert len(np.unique(_hues(drawn))) >= 8
    finally:
        view.root.removeNode()


def test_reaction_bubbles_sit_over_heads_not_over_the_bottom_of_the_screen(stage):
    from showroom.protocol.codes import ANIM_REACTION_SHIFT

    pos = np.array([[0.0, 0.5], [0.3, 1.2], [-2.0, 6.0], [2.0, 7.0]], np.float32)
    view = _crowd(stage, np.arange(4), pos, np.full(4, math.pi), (0.0, -1.0, 1.7), (0.0, 8.0, 1.2))
    anim = np.full(4, 2 << ANIM_REACTION_SHIFT, np.uint8)  # hearts
    try:
        view.update(np.arange(4), pos, np.full(4, math.pi, np.float32), np.zeros(4, np.float32), anim)
        img = _grab(stage)
        if SAVE:
            _save(img, "bubbles.png")
        heart = (img[..., 0] > 180) & (img[..., 1] < 60) & (img[..., 2] < 90)
        ys = np.flatnonzero(heart.any(axis=1))
        assert heart.sum() > 30
        assert ys.max() < SIZE[1] * 0.45  # the two in the camera's face drew nothing at the bottom
        assert view.bubbles.getBinName() == "transparent"
    finally:
        view.root.removeNode()


def test_no_bubble_lands_on_the_hud_bars_at_the_bottom_of_the_screen():
    # a camera 6 m up looking down the hall: the nearest reacting avatars would sit at the screen's bottom edge
    eye = np.array([0.0, 0.0, 6.0])
    forward = np.array([0.0, math.cos(math.radians(20)), -math.sin(math.radians(20))])
    ys = np.arange(3.0, 20.0, 0.5)
    pos = np.column_stack([np.zeros_like(ys), ys]).astype(np.float32)
    tan_v = math.tan(math.radians(18))
    everyone = pick_reactions(pos, np.ones(len(pos), bool), eye, forward=forward, cell_m=0.25, limit=100)
    clear = pick_reactions(pos, np.ones(len(pos), bool), eye, forward=forward, cell_m=0.25, limit=100,
                           tan_half_v=tan_v)
    assert pos[everyone, 1].min() < 8.0  # without the lens, near avatars' bubbles are drawn…
    nearest = float(pos[clear, 1].min())
    to = np.array([0.0, nearest, 2.2]) - eye
    right = np.cross(forward, (0, 0, 1))
    up = np.cross(right / np.linalg.norm(right), forward)
    assert (to @ up) / (to @ forward) / tan_v > -0.7  # …with it, none below the HUD's bottom band


def test_no_bubble_lands_on_the_chat_lines_in_the_lower_left_corner():
    eye = np.array([0.0, 0.0, 6.0])
    forward = np.array([0.0, math.cos(math.radians(20)), -math.sin(math.radians(20))])
    xs, ys = np.meshgrid(np.arange(-12.0, 12.0, 1.0), np.arange(4.0, 18.0, 1.0))
    pos = np.column_stack([xs.ravel(), ys.ravel()]).astype(np.float32)
    tan_v, tan_h = math.tan(math.radians(18)), math.tan(math.radians(30))
    shown = pick_reactions(pos, np.ones(len(pos), bool), eye, forward=forward, cell_m=0.5, limit=500,
                           tan_half_v=tan_v, tan_half_h=tan_h)
    right = np.cross(forward, (0, 0, 1))
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    to = np.column_stack([pos[shown, 0], pos[shown, 1], np.full(len(shown), 2.2)]) - eye
    depth = to @ forward
    across, high = (to @ right) / depth / tan_h, (to @ up) / depth / tan_v
    assert len(shown) > 20 and (across < -0.35).any()  # bubbles on the left of the screen…
    assert not ((across < -0.35) & (high < -0.35)).any()  # …but none over the chat lines


def test_my_own_reaction_bubble_leaves_room_for_my_name_tag():
    from panda3d.core import NodePath, Vec3

    from showroom.client.crowd_view import CrowdView

    crowd = CrowdView(NodePath("scene"), capacity=64, shaders=True, me=7)
    crowd.set_eye(Vec3(0, -8, 4), Vec3(0, 1, -0.3).normalized())
    ids = np.array([7, 8], np.int64)
    pos = np.array([[0.0, 0.0], [1.5, 0.0]], np.float32)
    anim = np.array([2 << 4, 2 << 4], np.uint8)  # both cheering
    crowd.update(ids, pos, np.zeros(2, np.float32), np.zeros(2, np.float32), anim)
    assert crowd.bubbles.getInstanceCount() == 1  # the other visitor's, not mine
    bubble = np.frombuffer(memoryview(crowd.bubble_tex.getRamImage()), np.float32).reshape(-1, 4)
    assert bubble[0, 0] == pytest.approx(1.5)
