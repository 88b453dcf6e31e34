"""Every visitor's avatar drawn by hardware instancing: one draw call per level of detail.

Per frame the crowd's arrays (position, heading, walk phase, id, walking flag) are packed
into one float32 block and copied into a buffer texture; the vertex shader fetches its
instance's two texels, hashes the id into a look (:mod:`showroom.client.crowd_look`: skin,
hair and hairstyle, build, clothes), swings legs and arms from the phase, bobs the body,
turns and places the smooth figure (:mod:`showroom.client.avatar_figure`): the full one lit
per pixel within ``FULL_M``, a lighter one lit per vertex within ``LOD_M``, and beyond that
impostors cut from the full one (:mod:`showroom.client.crowd_sprites`). Reactions float above the few avatars a person can
read (:mod:`showroom.client.reaction_pick`) as a third instanced geometry. No NodePath per
avatar.

Without shaders (``p3tinydisplay``) the crowd degrades to simple tapered blocks in the same
skin, hair and clothing colours, computed for the whole crowd in NumPy and copied in once
per frame.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from panda3d.core import (
    GeomEnums,
    LVecBase2f,
    LVecBase3f,
    NodePath,
    OmniBoundingVolume,
    PTA_LVecBase2f,
    PTA_LVecBase3f,
    Shader,
    Texture,
    TransparencyAttrib,
    Vec3,
)

from showroom.client import meshes as mk
from showroom.client.avatar_figure import avatar_mesh
from showroom.client.crowd_look import ME_COLOR, OUTFITS, PALETTE_MAX, avatar_looks, clothing_palette, outfit_colors
from showroom.client.crowd_shaders import (
    BUBBLE_FRAGMENT,
    BUBBLE_VERTEX,
    FRAGMENT,
    FRAGMENT_LIT,
    SPRITE_FRAGMENT,
    SPRITE_VERTEX,
    VERTEX,
    VERTEX_LIT,
)
from showroom.client.crowd_sprites import SPRITE_M, cell_spans, impostor_atlas
from showroom.client.glyphs import reaction_atlas
from showroom.client.reaction_pick import MAX_BUBBLES, pick_reactions
from showroom.protocol.codes import ANIM_REACTION_SHIFT, ANIM_WALKING, anim_reaction

__all__ = ["ME_COLOR", "OUTFITS", "CrowdView", "avatar_mesh", "outfit_colors"]


def _buffer_texture(name: str, texels: int) -> Texture:
    tex = Texture(name)
    tex.setupBufferTexture(texels, Texture.T_float, Texture.F_rgba32, GeomEnums.UH_dynamic)
    return tex


def _card(z0: float) -> mk.Mesh:
    """A unit quad in the xz plane from x -0.5 to 0.5 and z ``z0`` to ``z0 + 1``."""
    v = np.array([[-0.5, 0, z0], [0.5, 0, z0], [0.5, 0, z0 + 1], [-0.5, 0, z0 + 1]], np.float32)
    return mk.Mesh(v, np.tile(np.array([0, -1, 0], np.float32), (4, 1)), np.ones((4, 4), np.float32),
                   np.array([[0, 1, 2], [0, 2, 3]], np.uint32))


LOD_M = 22.0
"""Avatars nearer the camera than this get a mesh; the rest an impostor."""
FULL_M = 8.0
"""Avatars nearer than this get the full figure; the rest within ``LOD_M`` the lighter one."""
NEAR_MAX = 2048
"""At most this many avatars get a mesh in one frame (the nearest come first only by order of
id, which is fine: the limit is only reached in a crowd too dense to tell)."""


class CrowdView:
    """The instanced crowd: call :meth:`update` once per frame with the crowd's arrays.

    ``palette``: the event's brand colours (RGB 0-1), worn alongside the default clothing
    colours (see :func:`showroom.client.crowd_look.brand_colors`).
    """

    def __init__(self, parent: NodePath, capacity: int = 1024, shaders: bool = True, me: int = -1,
                 palette: Sequence[tuple[float, float, float]] | None = None) -> None:
        self.shaders = shaders
        self.capacity = max(64, capacity)
        self.count = 0
        self.me = me
        self.palette = clothing_palette(palette)
        self.root = parent.attachNewNode("crowd")
        self.eye = np.zeros(3, np.float32)
        self.forward: NDArray[np.float64] | None = None
        self.tan_half_v = 0.0
        self.tan_half_h = 0.0
        if shaders:
            self._instanced()
        else:
            self._fallback()

    # ---- instanced (GLSL) -----------------------------------------------------------------
    def _instanced(self) -> None:
        colors = PTA_LVecBase3f()
        for r, g, b in np.resize(self.palette, (PALETTE_MAX, 3)).tolist():
            colors.pushBack(LVecBase3f(r, g, b))
        self.tex = _buffer_texture("crowd", self.capacity * 2)
        self.mesh_tex = []
        meshes = []
        for detail, vertex, fragment in (("near", VERTEX, FRAGMENT), ("mid", VERTEX_LIT, FRAGMENT_LIT)):
            tex = _buffer_texture(f"crowd-{detail}", NEAR_MAX * 2)
            node = self.root.attachNewNode(mk.geom_node(f"avatar-{detail}", avatar_mesh(detail)))
            node.setShader(Shader.make(Shader.SL_GLSL, vertex, fragment))
            node.setShaderInput("instances", tex)
            self.mesh_tex.append(tex)
            meshes.append(node)
        far = self.root.attachNewNode(mk.geom_node("avatar-far", _card(0.0)))
        spans = PTA_LVecBase2f()
        for row in cell_spans().tolist():
            spans.pushBack(LVecBase2f(*row))
        far.setShaderInput("spans", spans)
        far.setShader(Shader.make(Shader.SL_GLSL, SPRITE_VERTEX, SPRITE_FRAGMENT))
        far.setShaderInput("instances", self.tex)
        far.setShaderInput("sprites", impostor_atlas())
        far.setShaderInput("size_m", LVecBase2f(*SPRITE_M))
        far.setTwoSided(True)
        self.levels = [meshes[0], far, meshes[1]]  # full figures, impostors, lighter figures
        for node in self.levels:
            node.node().setBounds(OmniBoundingVolume())
            node.node().setFinal(True)
        self.root.setShaderInput("palette", colors)
        self.root.setShaderInput("palette_n", len(self.palette))
        self.root.setShaderInput("house", Vec3(1, 1, 1))
        self.root.setShaderInput("me", float(self.me))
        self.root.setShaderInput("eye", Vec3(0, 0, 0))
        self.node = self.levels[1]
        self.bubbles = self.root.attachNewNode(mk.geom_node("reaction", _card(-0.5)))
        self.bubbles.node().setBounds(OmniBoundingVolume())
        self.bubbles.node().setFinal(True)
        self.bubbles.setShader(Shader.make(Shader.SL_GLSL, BUBBLE_VERTEX, BUBBLE_FRAGMENT))
        self.bubble_tex = _buffer_texture("reactions", MAX_BUBBLES)
        self.bubbles.setShaderInput("instances", self.bubble_tex)
        self.bubbles.setShaderInput("atlas", reaction_atlas())
        self.bubbles.setTransparency(TransparencyAttrib.MBinary)
        # after the crowd, still hidden by walls and heads in front; never over the 2D overlay
        self.bubbles.setBin("transparent", 10)
        for node in self.levels:
            self._show(node, 0)
        self.bubbles.hide()

    @staticmethod
    def _show(node: NodePath, n: int) -> None:
        if n:
            node.show()
            node.setInstanceCount(n)
        else:
            node.hide()

    def _grow(self, n: int) -> None:
        while self.capacity < n:
            self.capacity *= 2
        if self.shaders:
            self.tex = _buffer_texture("crowd", self.capacity * 2)
            self.levels[1].setShaderInput("instances", self.tex)
        else:
            self.fallback_node.removeNode()
            self._fallback()

    def set_eye(self, eye: Vec3, forward: Vec3 | None = None, tan_half_v: float = 0.0,
                tan_half_h: float = 0.0) -> None:
        """The camera position (metres): avatars within ``LOD_M`` of it get the detailed mesh; with the camera's
        view direction ``forward``, reaction bubbles go only to avatars in view, and with the tangent of half the
        lens' vertical (and horizontal) field ``tan_half_v`` (``tan_half_h``), none where the HUD's bars and chat
        lines are."""
        self.eye = np.array([eye[0], eye[1], eye[2]], np.float32)
        self.tan_half_v = tan_half_v
        self.tan_half_h = tan_half_h
        self.forward = None
        if forward is not None and forward.length() > 1e-6:
            f = np.array([forward[0], forward[1], forward[2]], np.float64)
            self.forward = f / np.linalg.norm(f)
        if self.shaders:
            self.root.setShaderInput("eye", Vec3(*self.eye.tolist()))

    def set_house_light(self, color: Vec3) -> None:
        """Tint the crowd with the house lights (colour times level)."""
        if self.shaders:
            self.root.setShaderInput("house", Vec3(0.42, 0.42, 0.46) + color * 0.7)
        else:
            self.root.setColorScale(0.42 + color.x * 0.7, 0.42 + color.y * 0.7, 0.46 + color.z * 0.7, 1)

    def update(self, ids: NDArray[np.int64], pos: NDArray[np.float32], heading: NDArray[np.float32],
               phase: NDArray[np.float32], anim: NDArray[np.uint8]) -> None:
        """Draw ``n`` avatars: ids, positions (n, 2) m, headings rad, walk phases 0-1, and the
        wire animation byte (bit 0 walking, bits 4-7 ``1 + reaction`` shown now)."""
        n = len(pos)
        if n > self.capacity:
            self._grow(n)
        self.count = n
        if not self.shaders:
            self._update_fallback(ids, pos, heading, anim & ANIM_WALKING, phase)
            return
        self._show(self.levels[1], n)
        if n == 0:
            self._show(self.levels[0], 0)
            self._show(self.levels[2], 0)
            self.bubbles.hide()
            return
        dx = pos[:, 0] - self.eye[0]
        dy = pos[:, 1] - self.eye[1]
        dx *= dx
        dy *= dy
        dx += dy
        lift = (1.0 - self.eye[2]) ** 2  # distances to a point 1 m over the floor
        near = np.flatnonzero(dx <= LOD_M * LOD_M - lift)[:NEAR_MAX]
        full = dx[near] <= FULL_M * FULL_M - lift
        block = np.frombuffer(memoryview(self.tex.modifyRamImage()), np.float32).reshape(-1, 8)
        block[:n, 0:2] = pos
        block[:n, 2] = heading
        block[:n, 3] = phase
        block[:n, 4] = ids
        np.bitwise_and(anim, ANIM_WALKING, out=block[:n, 5], casting="unsafe")
        block[:n, 6] = 0.0
        block[near, 6] = 1.0
        for level, tex, rows in ((0, self.mesh_tex[0], near[full]), (2, self.mesh_tex[1], near[~full])):
            if rows.size:
                detail = np.frombuffer(memoryview(tex.modifyRamImage()), np.float32).reshape(-1, 8)
                detail[: rows.size] = block[rows]
            self._show(self.levels[level], int(rows.size))
        self._update_bubbles(pos, phase, anim, ids)

    def _update_bubbles(self, pos: NDArray[np.float32], phase: NDArray[np.float32], anim: NDArray[np.uint8],
                        ids: NDArray[np.int64]) -> None:
        """Bubbles over the few reacting avatars a person can read (:func:`pick_reactions`); not over mine,
        where my name tag hangs (my own reaction lights its button in the reactions bar)."""
        reacting = anim >= 1 << ANIM_REACTION_SHIFT
        if self.me >= 0:
            reacting &= ids != self.me
        shown = pick_reactions(pos, reacting, self.eye, forward=self.forward,
                               tan_half_v=self.tan_half_v, tan_half_h=self.tan_half_h)
        if shown.size == 0:
            self.bubbles.hide()
            return
        bubble = np.frombuffer(memoryview(self.bubble_tex.modifyRamImage()), np.float32).reshape(-1, 4)
        bubble[: shown.size, 0:2] = pos[shown]
        bubble[: shown.size, 2] = anim_reaction(anim[shown])
        bubble[: shown.size, 3] = phase[shown] * 0.2
        self.bubbles.show()
        self.bubbles.setInstanceCount(int(shown.size))

    # ---- fallback (no shaders) ------------------------------------------------------------
    # three tapered blocks of 8 corners: legs (bottom colour), torso (top colour), head (skin below, hair on top)
    _BLOCK = np.array([[-0.17, -0.1, 0], [0.17, -0.1, 0], [0.17, 0.1, 0], [-0.17, 0.1, 0],
                       [-0.18, -0.11, 0.86], [0.18, -0.11, 0.86], [0.18, 0.11, 0.86], [-0.18, 0.11, 0.86],
                       [-0.19, -0.12, 0.84], [0.19, -0.12, 0.84], [0.19, 0.12, 0.84], [-0.19, 0.12, 0.84],
                       [-0.23, -0.12, 1.45], [0.23, -0.12, 1.45], [0.23, 0.12, 1.45], [-0.23, 0.12, 1.45],
                       [-0.09, -0.1, 1.47], [0.09, -0.1, 1.47], [0.09, 0.11, 1.47], [-0.09, 0.11, 1.47],
                       [-0.1, -0.11, 1.76], [0.1, -0.11, 1.76], [0.1, 0.11, 1.76], [-0.1, 0.11, 1.76]], np.float32)
    _SIDES = np.array([[0, 1, 5], [0, 5, 4], [1, 2, 6], [1, 6, 5], [2, 3, 7], [2, 7, 6], [3, 0, 4], [3, 4, 7],
                       [4, 5, 6], [4, 6, 7]], np.uint32)
    _BLOCK_TRIS = np.concatenate([_SIDES[:8], _SIDES + 8, _SIDES + 16])  # the legs' top is under the torso
    _SHADE = np.array([0.62, 0.7, 0.85, 0.7, 0.9, 0.95, 1.1, 0.95] * 3, np.float32)
    """Darker at the back and the feet: a hint of light from the front."""

    def _fallback(self) -> None:
        k = len(self._BLOCK)
        tris = (self._BLOCK_TRIS[None] + (np.arange(self.capacity, dtype=np.uint32) * k)[:, None, None]).reshape(-1, 3)
        v = np.zeros((self.capacity * k, 3), np.float32)
        mesh = mk.Mesh(v, np.tile(np.array([0, 0, 1], np.float32), (len(v), 1)), np.ones((len(v), 4), np.float32), tris)
        self.fallback_node = self.root.attachNewNode(mk.geom_node("crowd-blocks", mesh, GeomEnums.UH_dynamic))
        self.fallback_node.node().setBounds(OmniBoundingVolume())
        self.fallback_node.node().setFinal(True)
        self.node = self.fallback_node

    def _update_fallback(self, ids: NDArray[np.int64], pos: NDArray[np.float32], heading: NDArray[np.float32],
                         walking: NDArray[np.integer], phase: NDArray[np.float32]) -> None:
        n = len(pos)
        k = len(self._BLOCK)
        looks = avatar_looks(ids, self.me, self.palette)
        c, s = np.cos(heading)[:, None], np.sin(heading)[:, None]
        bx = self._BLOCK[:, 0][None] * np.where(np.arange(k) < 16, looks.width[:, None], 1.0)
        by, bz = self._BLOCK[:, 1][None], self._BLOCK[:, 2][None] * looks.height[:, None]
        v = np.zeros((self.capacity, k, 3), np.float32)
        v[:n, :, 0] = bx * c - by * s + pos[:, 0:1]
        v[:n, :, 1] = bx * s + by * c + pos[:, 1:2]
        v[:n, :, 2] = bz + (np.abs(np.sin(phase * 2 * np.pi)) * 0.05 * walking)[:, None]
        col = np.ones((self.capacity, k, 4), np.float32)
        col[:n, 0:8, :3] = looks.bottom[:, None]
        col[:n, 8:16, :3] = looks.top[:, None]
        col[:n, 16:20, :3] = looks.skin[:, None]
        col[:n, 20:24, :3] = looks.hair[:, None]
        col[:n, :, :3] *= self._SHADE[None, :, None]
        geom = self.fallback_node.node().modifyGeom(0)
        vdata = geom.modifyVertexData()
        memoryview(vdata.modifyArray(0)).cast("B")[:] = v.tobytes()
        memoryview(vdata.modifyArray(2)).cast("B")[:] = col.tobytes()
