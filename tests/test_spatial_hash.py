"""Neighbour search: every close pair is found, each once, whatever the positions."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from showroom.sim.spatial_hash import CellIndex, Grid, SortHint, neighbour_pairs

coords = arrays(np.float64, st.tuples(st.integers(0, 300), st.just(2)),
                elements=st.floats(-2.0, 22.0, allow_nan=False, width=32))


@given(coords, st.floats(0.3, 3.0))
@settings(max_examples=80, deadline=None)
def test_every_pair_closer_than_a_cell_is_found_exactly_once(pos, cell):
    grid = Grid.covering((0.0, 0.0), (20.0, 20.0), cell)
    i, j = neighbour_pairs(grid, pos)
    assert np.all(i != j)
    n = len(pos)
    found = np.minimum(i, j).astype(np.int64) * n + np.maximum(i, j)  # each unordered pair as one number
    assert len(np.unique(found)) == len(found), "a pair was found twice"
    dist = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
    a, b = np.nonzero(np.triu(dist < cell, 1))
    missed = ~np.isin(a.astype(np.int64) * n + b, found)
    assert not missed.any(), f"{missed.sum()} close pairs missed, e.g. {a[missed][0]}, {b[missed][0]}"


def test_reused_sort_order_gives_the_same_pairs():
    rng = np.random.default_rng(2)
    grid = Grid.covering((0, 0), (30, 30), 0.65)
    pos = rng.uniform(0, 30, (2000, 2))
    hint = SortHint()
    neighbour_pairs(grid, pos, hint)
    moved = pos + rng.uniform(-0.1, 0.1, pos.shape)
    with_hint = {tuple(p) for p in np.sort(np.stack(neighbour_pairs(grid, moved, hint), 1), 1).tolist()}
    fresh = {tuple(p) for p in np.sort(np.stack(neighbour_pairs(grid, moved), 1), 1).tolist()}
    assert with_hint == fresh


def test_points_around_a_query_cover_its_reach():
    rng = np.random.default_rng(5)
    grid = Grid.covering((0, 0), (20, 20), 0.5)
    pos = rng.uniform(0, 20, (1500, 2))
    query = np.array([[10.0, 10.0], [0.2, 19.9]])
    q, k = CellIndex.build(grid, pos).around(query, 2)
    for n, centre in enumerate(query):
        near = set(np.flatnonzero(np.linalg.norm(pos - centre, axis=1) < 1.0).tolist())
        assert near <= set(k[q == n].tolist())
