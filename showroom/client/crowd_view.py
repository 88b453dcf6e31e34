"""Every visitor's avatar drawn by hardware instancing: one geometry, one draw call.

Per frame the crowd's arrays (position, heading, walk phase, outfit colour, walking flag)
are packed into one float32 block and copied into a buffer texture; the vertex shader
fetches its instance's two texels, swings legs and arms from the phase, bobs the body, turns
and places the avatar. Reactions float above avatars as a second instanced geometry (a
billboard quad reading a glyph atlas). No NodePath per avatar.

Without shaders (``p3tinydisplay``) the crowd degrades to simple tapered blocks whose
vertices are computed for the whole crowd in NumPy and copied in once per frame.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from panda3d.core import (
    GeomEnums,
    LVecBase2f,
    LVecBase3f,
    NodePath,
    OmniBoundingVolume,
    PTA_LVecBase3f,
    Shader,
    Texture,
    TransparencyAttrib,
    Vec3,
)

from showroom.client import meshes as mk
from showroom.client.crowd_shaders import (
    BUBBLE_FRAGMENT,
    BUBBLE_VERTEX,
    FRAGMENT,
    SPRITE_FRAGMENT,
    SPRITE_VERTEX,
    VERTEX,
)
from showroom.client.glyphs import SPRITE_M, reaction_atlas, sprite_atlas
from showroom.protocol.codes import ANIM_REACTION_SHIFT, ANIM_WALKING, anim_reaction

HIP_Z = 0.85
OUTFITS = np.array([
    (0.85, 0.25, 0.30), (0.20, 0.45, 0.80), (0.95, 0.75, 0.20), (0.25, 0.65, 0.45), (0.60, 0.35, 0.75),
    (0.95, 0.55, 0.25), (0.30, 0.75, 0.80), (0.90, 0.90, 0.92), (0.15, 0.15, 0.18), (0.75, 0.45, 0.55),
    (0.45, 0.55, 0.25), (0.35, 0.30, 0.65), (0.95, 0.45, 0.60), (0.55, 0.75, 0.95), (0.70, 0.20, 0.15),
    (0.40, 0.85, 0.55),
], np.float32)
"""Outfit colours; an avatar's is picked from its id, so it keeps it across frames and clients."""
ME_COLOR = (1.0, 0.85, 0.1)
"""The visitor's own avatar (the shader uses the same gold)."""

def avatar_mesh(detail: str = "near") -> mk.Mesh:
    """A blocky visitor facing +y: legs, torso and arms (outfit colour), head, hair, eyes.

    ``near`` (72 triangles, 144 vertices) swings legs and arms; ``far`` (30 triangles, 24
    shared vertices) is legs, torso and head blocks that bob, for avatars beyond the
    level-of-detail distance: on a software renderer the vertex stage is what costs.
    """
    skin = (0.93, 0.76, 0.62, 1)
    trousers = (0.18, 0.2, 0.26, 1)
    hair = (0.25, 0.17, 0.12, 1)
    sides = ("top", "bottom")
    legs = [
        mk.box((-0.1, 0, HIP_Z / 2), (0.14, 0.16, HIP_Z), trousers, skip=sides).tagged("part", 1),
        mk.box((0.1, 0, HIP_Z / 2), (0.14, 0.16, HIP_Z), trousers, skip=sides).tagged("part", 2),
    ]
    if detail == "far":
        parts = [
            mk.block((0, 0, HIP_Z / 2), (0.34, 0.16, HIP_Z), trousers),
            mk.block((0, 0, 1.13), (0.5, 0.26, 0.58), (1, 1, 1, 1)).tagged("tint", 1),
            mk.block((0, 0, 1.6), (0.24, 0.26, 0.3), skin),
        ]
    else:
        parts = legs + [
            mk.box((0, 0, 1.12), (0.42, 0.24, 0.6), (1, 1, 1, 1), skip=("bottom",)).tagged("tint", 1),
            mk.box((-0.27, 0, 1.1), (0.11, 0.13, 0.56), (1, 1, 1, 1), skip=("top",)).tagged("part", 3).tagged("tint", 1),
            mk.box((0.27, 0, 1.1), (0.11, 0.13, 0.56), (1, 1, 1, 1), skip=("top",)).tagged("part", 4).tagged("tint", 1),
            mk.box((0, 0, 1.58), (0.24, 0.26, 0.28), skin, skip=("bottom",)),
            mk.box((0, -0.02, 1.74), (0.27, 0.3, 0.08), hair, skip=("bottom",)),
            mk.box((0, 0.125, 1.6), (0.14, 0.02, 0.045), (0.1, 0.1, 0.1, 1), skip=("back", "bottom", "top")),
        ]
    mesh = mk.combine(parts)
    for key in ("part", "tint"):
        mesh.extra.setdefault(key, np.zeros(len(mesh.v), np.float32))
    return mesh


def outfit_colors(ids: NDArray[np.int64], me: int = -1) -> NDArray[np.float32]:
    """Outfit colour per avatar id (the visitor's own avatar in gold)."""
    colors = OUTFITS[((ids.astype(np.uint64) * np.uint64(2654435761)) >> np.uint64(7)) % np.uint64(len(OUTFITS))]
    if me >= 0:
        colors[ids == me] = ME_COLOR
    return colors


def _buffer_texture(name: str, texels: int) -> Texture:
    tex = Texture(name)
    tex.setupBufferTexture(texels, Texture.T_float, Texture.F_rgba32, GeomEnums.UH_dynamic)
    return tex


LOD_M = 22.0
"""Avatars nearer the camera than this get the detailed mesh; the rest the light one."""
NEAR_MAX = 2048
"""At most this many avatars get the detailed mesh in one frame (the nearest come first only
by order of id, which is fine: the limit is only reached in a crowd too dense to tell)."""


class CrowdView:
    """The instanced crowd: call :meth:`update` once per frame with the crowd's arrays."""

    def __init__(self, parent: NodePath, capacity: int = 1024, shaders: bool = True, me: int = -1) -> None:
        self.shaders = shaders
        self.capacity = max(64, capacity)
        self.count = 0
        self.me = me
        self.root = parent.attachNewNode("crowd")
        if shaders:
            self._instanced()
        else:
            self._fallback()

    # ---- instanced (GLSL) -----------------------------------------------------------------
    def _instanced(self) -> None:
        shader = Shader.make(Shader.SL_GLSL, VERTEX, FRAGMENT)
        palette = PTA_LVecBase3f()
        for r, g, b in OUTFITS.tolist():
            palette.pushBack(LVecBase3f(r, g, b))
        self.tex = _buffer_texture("crowd", self.capacity * 2)
        self.near_tex = _buffer_texture("crowd-near", NEAR_MAX * 2)
        near = self.root.attachNewNode(mk.geom_node("avatar-near", avatar_mesh("near")))
        near.setShader(shader)
        near.setShaderInput("instances", self.near_tex)
        near.setShaderInput("near_lod", 1.0)
        card = mk.Mesh(np.array([[-0.5, 0, 0], [0.5, 0, 0], [0.5, 0, 1], [-0.5, 0, 1]], np.float32),
                       np.tile(np.array([0, -1, 0], np.float32), (4, 1)), np.ones((4, 4), np.float32),
                       np.array([[0, 1, 2], [0, 2, 3]], np.uint32))
        far = self.root.attachNewNode(mk.geom_node("avatar-far", card))
        far.setShader(Shader.make(Shader.SL_GLSL, SPRITE_VERTEX, SPRITE_FRAGMENT))
        far.setShaderInput("instances", self.tex)
        far.setShaderInput("sprites", sprite_atlas())
        far.setShaderInput("size_m", LVecBase2f(*SPRITE_M))
        far.setTwoSided(True)
        self.levels = [near, far]
        for node in self.levels:
            node.node().setBounds(OmniBoundingVolume())
            node.node().setFinal(True)
            node.setShaderInput("outfits", palette)
        self.root.setShaderInput("house", Vec3(1, 1, 1))
        self.root.setShaderInput("me", float(self.me))
        self.root.setShaderInput("eye", Vec3(0, 0, 0))
        self.eye = np.zeros(3, np.float32)
        self.node = self.levels[1]
        quad = mk.Mesh(np.array([[-0.5, 0, -0.5], [0.5, 0, -0.5], [0.5, 0, 0.5], [-0.5, 0, 0.5]], np.float32),
                       np.tile(np.array([0, -1, 0], np.float32), (4, 1)), np.ones((4, 4), np.float32),
                       np.array([[0, 1, 2], [0, 2, 3]], np.uint32))
        self.bubbles = self.root.attachNewNode(mk.geom_node("reaction", quad))
        self.bubbles.node().setBounds(OmniBoundingVolume())
        self.bubbles.node().setFinal(True)
        self.bubbles.setShader(Shader.make(Shader.SL_GLSL, BUBBLE_VERTEX, BUBBLE_FRAGMENT))
        self.bubble_tex = _buffer_texture("reactions", self.capacity)
        self.bubbles.setShaderInput("instances", self.bubble_tex)
        self.bubbles.setShaderInput("atlas", reaction_atlas())
        self.bubbles.setTransparency(TransparencyAttrib.MBinary)
        self.bubbles.setBin("fixed", 10)
        for node in self.levels:
            self._show(node, 0)

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
            self.bubble_tex = _buffer_texture("reactions", self.capacity)
            self.bubbles.setShaderInput("instances", self.bubble_tex)
        else:
            self.fallback_node.removeNode()
            self._fallback()

    def set_eye(self, eye: Vec3) -> None:
        """The camera position (metres): avatars within ``LOD_M`` of it get the detailed mesh."""
        self.eye = np.array([eye[0], eye[1], eye[2]], np.float32)
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
            self._update_fallback(pos, heading, outfit_colors(ids, self.me), anim & ANIM_WALKING, phase)
            return
        self._show(self.levels[1], n)
        if n == 0:
            self._show(self.levels[0], 0)
            self.bubbles.hide()
            return
        dx = pos[:, 0] - self.eye[0]
        dy = pos[:, 1] - self.eye[1]
        dx *= dx
        dy *= dy
        dx += dy
        near = np.flatnonzero(dx <= LOD_M * LOD_M - (1.0 - self.eye[2]) ** 2)[:NEAR_MAX]
        block = np.frombuffer(memoryview(self.tex.modifyRamImage()), np.float32).reshape(-1, 8)
        block[:n, 0:2] = pos
        block[:n, 2] = heading
        block[:n, 3] = phase
        block[:n, 4] = ids
        np.bitwise_and(anim, ANIM_WALKING, out=block[:n, 5], casting="unsafe")
        block[:n, 6] = 0.0
        block[near, 6] = 1.0
        if near.size:
            detail = np.frombuffer(memoryview(self.near_tex.modifyRamImage()), np.float32).reshape(-1, 8)
            detail[: near.size] = block[near]
        self._show(self.levels[0], int(near.size))
        showing = np.flatnonzero(anim >> ANIM_REACTION_SHIFT)
        if showing.size:
            bubble = np.frombuffer(memoryview(self.bubble_tex.modifyRamImage()), np.float32).reshape(-1, 4)
            bubble[: showing.size, 0:2] = pos[showing]
            bubble[: showing.size, 2] = anim_reaction(anim[showing])
            bubble[: showing.size, 3] = phase[showing] * 0.2
            self.bubbles.show()
            self.bubbles.setInstanceCount(int(showing.size))
        else:
            self.bubbles.hide()

    # ---- fallback (no shaders) ------------------------------------------------------------
    _BLOCK = np.array([[-0.22, -0.14, 0], [0.22, -0.14, 0], [0.22, 0.14, 0], [-0.22, 0.14, 0],
                       [-0.15, -0.1, 1.7], [0.15, -0.1, 1.7], [0.15, 0.16, 1.7], [-0.15, 0.16, 1.7]], np.float32)
    _BLOCK_TRIS = np.array([[0, 1, 5], [0, 5, 4], [1, 2, 6], [1, 6, 5], [2, 3, 7], [2, 7, 6], [3, 0, 4], [3, 4, 7],
                            [4, 5, 6], [4, 6, 7]], np.uint32)

    def _fallback(self) -> None:
        k = len(self._BLOCK)
        tris = (self._BLOCK_TRIS[None] + (np.arange(self.capacity, dtype=np.uint32) * k)[:, None, None]).reshape(-1, 3)
        v = np.zeros((self.capacity * k, 3), np.float32)
        shade = np.tile(np.array([0.7, 0.7, 0.7, 0.7, 1, 1, 1, 1], np.float32), self.capacity)
        mesh = mk.Mesh(v, np.tile(np.array([0, 0, 1], np.float32), (len(v), 1)), np.ones((len(v), 4), np.float32), tris)
        self.fallback_node = self.root.attachNewNode(mk.geom_node("crowd-blocks", mesh, GeomEnums.UH_dynamic))
        self.fallback_node.node().setBounds(OmniBoundingVolume())
        self.fallback_node.node().setFinal(True)
        self._shade = shade
        self.node = self.fallback_node

    def _update_fallback(self, pos: NDArray[np.float32], heading: NDArray[np.float32], colors: NDArray[np.float32],
                         walking: NDArray[np.bool_], phase: NDArray[np.float32]) -> None:
        n = len(pos)
        k = len(self._BLOCK)
        c, s = np.cos(heading)[:, None], np.sin(heading)[:, None]
        bx, by, bz = self._BLOCK[:, 0][None], self._BLOCK[:, 1][None], self._BLOCK[:, 2][None]
        v = np.zeros((self.capacity, k, 3), np.float32)
        v[:n, :, 0] = bx * c - by * s + pos[:, 0:1]
        v[:n, :, 1] = bx * s + by * c + pos[:, 1:2]
        v[:n, :, 2] = bz + (np.abs(np.sin(phase * 2 * np.pi)) * 0.05 * walking)[:, None]
        col = np.ones((self.capacity, k, 4), np.float32)
        col[:n, :, :3] = colors[:, None, :] * self._shade[: k][None, :, None]
        geom = self.fallback_node.node().modifyGeom(0)
        vdata = geom.modifyVertexData()
        memoryview(vdata.modifyArray(0)).cast("B")[:] = v.tobytes()
        memoryview(vdata.modifyArray(2)).cast("B")[:] = col.tobytes()
