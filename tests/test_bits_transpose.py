"""The 8 x 8 register transpose (bnnlab.bits._transpose) against numpy's ``.T``."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from bnnlab.bits import _transpose


@njit
def _one(src, sr, sc, dst, dr, dc):
    _transpose.transpose8(src, sr, sc, dst, dr, dc)


@njit
def _block(src, sr, sc, dst, dr, dc, nr, nc):
    _transpose.transpose_block(src, sr, sc, dst, dr, dc, nr, nc)


def test_transpose8_moves_every_element_and_nothing_else():
    # distinct values, offsets inside larger arrays: a wrong lane, row stride or offset shows
    src = np.arange(20 * 30, dtype=np.int32).reshape(20, 30)
    dst = np.full((17, 19), -1, dtype=np.int32)
    _one(src, 3, 5, dst, 2, 7)
    want = np.full_like(dst, -1)
    want[2:10, 7:15] = src[3:11, 5:13].T
    np.testing.assert_array_equal(dst, want)


@settings(max_examples=60, deadline=None)
@given(
    nr=st.integers(0, 40),
    nc=st.integers(0, 20),
    sr=st.integers(0, 3),
    sc=st.integers(0, 3),
    dr=st.integers(0, 3),
    dc=st.integers(0, 3),
    seed=st.integers(0, 2**32 - 1),
)
def test_transpose_block_on_any_size_and_offset(nr, nc, sr, sc, dr, dc, seed):
    # whole 8 x 8 blocks and both edges (rows and columns not multiples of 8)
    rng = np.random.default_rng(seed)
    src = rng.integers(-(2**31), 2**31, size=(sr + nc + 2, sc + nr + 2), dtype=np.int32)
    dst = np.zeros((dr + nr + 1, dc + nc + 3), dtype=np.int32)
    _block(src, sr, sc, dst, dr, dc, nr, nc)
    want = np.zeros_like(dst)
    want[dr : dr + nr, dc : dc + nc] = src[sr : sr + nc, sc : sc + nr].T
    np.testing.assert_array_equal(dst, want)
