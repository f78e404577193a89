"""The pixel-pair counters of the folder evaluations (C extension and numpy fallback) against
plain numpy."""

from __future__ import annotations

import numpy as np
import pytest

from panoptix.metrics.panoptic import _rgb_pair_counts
from panoptix.metrics.semantic import value_pairs


@pytest.mark.parametrize("distinct", [3, 5000])  # 5000 pairs: the C hash table grows several times
@pytest.mark.parametrize("channels", [(3, 3), (4, 4), (4, 3), (3, 4)])
def test_id_pair_counts_match_numpy(distinct, channels, speedups):
    rng = np.random.default_rng(distinct)
    shape = (60, 80)
    ids_g = rng.integers(0, distinct, shape) * 40503 % (1 << 24)
    ids_p = rng.integers(0, distinct, shape) * 7919 % (1 << 24)
    ids_g[:20] = 0  # long runs of one pair too
    ids_p[:20] = 0

    def colours(ids, c):
        rgb = np.stack([ids & 255, (ids >> 8) & 255, ids >> 16], -1).astype(np.uint8)
        return rgb if c == 3 else np.dstack([rgb, rng.integers(0, 256, shape + (1,)).astype(np.uint8)])

    got = _rgb_pair_counts(colours(ids_g, channels[0]), colours(ids_p, channels[1]))
    keys = ids_g.ravel() * (1 << 24) + ids_p.ravel()
    uniq, counts = np.unique(keys, return_counts=True)
    assert np.array_equal(got[0], uniq >> 24) and np.array_equal(got[1], uniq & 0xFFFFFF)
    assert np.array_equal(got[2], counts)
    assert [a.dtype for a in got] == [np.int64] * 3
    empty = _rgb_pair_counts(np.zeros((0, 4, 3), np.uint8), np.zeros((0, 4, 3), np.uint8))
    assert all(a.size == 0 for a in empty)


def test_u8_value_pairs_match_numpy(speedups):
    rng = np.random.default_rng(3)
    g = rng.integers(0, 256, 10000).astype(np.uint8)
    p = rng.integers(0, 256, 10000).astype(np.uint8)
    g[:3000] = 7
    gv, pv, counts = value_pairs(g, p)
    table = np.zeros((256, 256), np.int64)
    np.add.at(table, (gv, pv), counts)
    assert np.array_equal(table, np.bincount(g.astype(np.int64) * 256 + p, minlength=65536).reshape(256, 256))
