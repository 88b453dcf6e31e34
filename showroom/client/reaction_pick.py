"""Which reaction bubbles to draw this frame: few enough that a person can read them.

A crowd of hundreds reacting at once would bury itself (and the view) in bubbles; a viewer
reads a couple of dozen, near but not in their face, and one per little patch of floor.
Pure NumPy, no panda3d: tested without a window.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

MAX_BUBBLES = 14
"""At most this many bubbles in one frame."""
NEAR_M = 3.0
"""Closer to the camera than this a bubble would fill the bottom of the screen: none."""
FAR_M = 18.0
"""Further than this a bubble is too small to read: none."""
CELL_M = 1.5
"""One bubble per square of floor this wide (the nearest reacting avatar in it)."""
BUBBLE_M = 0.3
BUBBLE_GROWTH = 0.018
"""A bubble is ``BUBBLE_M + BUBBLE_GROWTH * distance`` metres wide: a little larger further off, to stay
readable (the bubble shader uses these)."""
SPACING = 1.1
"""Bubbles on the screen are kept this many times their half-widths apart: none hides another."""
VIEW_COS = 0.75
"""A bubble counts as in view when its direction from the camera is within about 41 degrees of the view
direction (a 60 degree lens, corners included)."""
SCREEN_BOTTOM = -0.7
SCREEN_TOP = 0.85
"""A bubble's centre stays between these screen heights (-1 bottom, 1 top): the chat box and the reactions
bar hold the bottom band, the status line the top one."""
CHAT_RIGHT = -0.35
CHAT_TOP = -0.35
"""The chat lines hold the lower left corner of the screen, left of and below these (-1 to 1)."""
BUBBLE_Z = 2.2
"""Height of a bubble above the floor (metres); it rises a little over the reaction's life."""


def pick_reactions(pos: NDArray[np.floating], showing: NDArray[np.bool_], eye: NDArray[np.floating], *,
                   limit: int = MAX_BUBBLES, near_m: float = NEAR_M, far_m: float = FAR_M,
                   cell_m: float = CELL_M, forward: NDArray[np.floating] | None = None,
                   view_cos: float = VIEW_COS, tan_half_v: float = 0.0,
                   tan_half_h: float = 0.0) -> NDArray[np.intp]:
    """Rows of the avatars (positions ``pos`` (n, 2) m, ``showing`` a reaction) whose bubbles are drawn, nearest
    to the camera at ``eye`` (x, y, z m) first: between ``near_m`` and ``far_m`` of it, one per ``cell_m``
    square of floor, none overlapping a nearer one on the screen, at most ``limit``; with the camera's unit view
    direction ``forward``, only those in view (so the ones behind the camera do not take the places), and with
    the tangent of half the lens' vertical field ``tan_half_v`` as well, none in the bands of the screen the
    HUD holds (below ``SCREEN_BOTTOM``, above ``SCREEN_TOP``; with the horizontal one ``tan_half_h``, the chat
    lines' corner too)."""
    rows = np.flatnonzero(showing)
    if rows.size == 0 or limit <= 0:
        return rows[:0]
    at = pos[rows]
    dx = at[:, 0] - float(eye[0])
    dy = at[:, 1] - float(eye[1])
    dz = BUBBLE_Z - float(eye[2])
    d2 = dx * dx + dy * dy + dz * dz
    ok = (d2 >= near_m * near_m) & (d2 <= far_m * far_m)
    if forward is not None:
        ahead = dx * float(forward[0]) + dy * float(forward[1]) + dz * float(forward[2])
        ok &= ahead >= view_cos * np.sqrt(d2)
        if tan_half_v > 0:  # keep off the HUD's bottom bars (chat box, reactions) and its top line
            f = np.asarray(forward, np.float64)
            right = np.cross(f, (0.0, 0.0, 1.0))
            norm = float(np.linalg.norm(right))
            if norm > 1e-6:
                up = np.cross(right / norm, f)
                depth = np.maximum(ahead, 1e-6)
                high = (dx * up[0] + dy * up[1] + dz * up[2]) / depth / tan_half_v
                ok &= (high > SCREEN_BOTTOM) & (high < SCREEN_TOP)
                if tan_half_h > 0:  # and off the chat lines in the lower left corner
                    across = (dx * right[0] + dy * right[1]) / norm / depth / tan_half_h
                    ok &= ~((across < CHAT_RIGHT) & (high < CHAT_TOP))
    rows = rows[ok]
    if rows.size == 0:
        return rows
    at, d2 = at[ok].astype(np.float64), d2[ok].astype(np.float64)
    order = np.argsort(d2, kind="stable")
    rows, at, d2 = rows[order], at[order], d2[order]
    keep = _first_per_cell(np.floor(at / cell_m))
    rows, d2 = rows[keep], d2[keep]
    rows, d2 = rows[: limit * 4], d2[: limit * 4]  # the nearest few are all that can win
    toward = np.column_stack([pos[rows, 0] - float(eye[0]), pos[rows, 1] - float(eye[1]), np.full(len(rows), dz)])
    dist = np.sqrt(d2)
    toward /= dist[:, None]
    half = (BUBBLE_M / dist + BUBBLE_GROWTH) / 2  # angular half-width, radians
    apart = np.arccos(np.clip(toward @ toward.T, -1.0, 1.0))
    # a bubble goes when it would overlap a nearer one (even one that went itself: a little too thin rather
    # than a loop over the candidates)
    covered = np.tril(apart < SPACING * (half[:, None] + half[None, :]), k=-1).any(axis=1)
    return rows[~covered][:limit]


def _first_per_cell(cell: NDArray[np.floating]) -> NDArray[np.intp]:
    """Positions of the first row of each distinct 2D cell, in the rows' order."""
    c = cell.astype(np.int64)
    key = (c[:, 0] << np.int64(32)) + (c[:, 1] & np.int64(0xFFFFFFFF))
    _, first = np.unique(key, return_index=True)
    return np.sort(first)
