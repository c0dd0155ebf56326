"""The GEMM's vector ctpop tile (bnnlab.bits._vpop) against popcounts written here, word by word."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

_vpop = pytest.importorskip("bnnlab.bits._vpop")

from numba import njit  # noqa: E402


@njit(cache=False)
def _tile(a, b, i, j):
    return _vpop.tile(a, b, i, j)


def _want(a, b, i, j):
    """popcount(a[i + r] ^ b[j + c]) by Python's int.bit_count, r-major."""
    return tuple(
        sum(int(v).bit_count() for v in (a[i + r] ^ b[j + c])) for r in range(4) for c in range(2)
    )


@settings(max_examples=60, deadline=None)
@given(
    words=st.integers(1, 41),  # vector steps of 8 words and 0-7 words left over
    m=st.integers(4, 9),
    n=st.integers(2, 5),
    seed=st.integers(0, 2**32 - 1),
)
def test_tile_equals_word_by_word_popcounts(words, m, n, seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2**64, size=(m, words), dtype=np.uint64)
    b = rng.integers(0, 2**64, size=(n, words), dtype=np.uint64)
    i, j = int(rng.integers(0, m - 3)), int(rng.integers(0, n - 1))
    assert _tile(a, b, i, j) == _want(a, b, i, j)


def test_tile_of_extreme_words():
    # all ones against all zeros: 64 per word in every entry; equal rows: 0
    ones = np.full((4, 17), 2**64 - 1, dtype=np.uint64)
    zeros = np.zeros((2, 17), dtype=np.uint64)
    assert _tile(ones, zeros, 0, 0) == (64 * 17,) * 8
    assert _tile(ones, ones[:2], 0, 0) == (0,) * 8


@njit(cache=False)
def _tile_dot(a, b, i, j, k, out):
    _vpop.tile_dot(a, b, i, j, k, out)


@settings(max_examples=40, deadline=None)
@given(
    words=st.integers(1, 27),
    order=st.sampled_from(["C", "F", "strided"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_tile_dot_stores_the_products_and_nothing_else(words, order, seed):
    # out[i + r, j + c] = k - 2 popcount(...) for the tile; every other entry keeps its value; C
    # order takes the paired 8-byte stores, the other layouts the entry-by-entry ones
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2**64, size=(7, words), dtype=np.uint64)
    b = rng.integers(0, 2**64, size=(5, words), dtype=np.uint64)
    k = 64 * words
    base = rng.integers(-9, 9, size=(7, 10 if order == "strided" else 5)).astype(np.int32)
    out = {"C": base, "F": np.asfortranarray(base), "strided": base[:, ::2]}[order]
    before = out.copy()
    i, j = int(rng.integers(0, 4)), int(rng.integers(0, 4))
    _tile_dot(a, b, i, j, k, out)
    want = before.copy()
    for e, s in enumerate(_want(a, b, i, j)):
        want[i + e // 2, j + e % 2] = k - 2 * s
    assert np.array_equal(out, want)
