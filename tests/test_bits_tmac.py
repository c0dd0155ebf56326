"""The AVX2 table-lookup GEMM tile (bnnlab.bits._tmac) against the numpy oracle, and its layouts."""

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bnnlab.bits import _lut, _numba, _numpy, _tmac, pack

sys.path.insert(0, str(Path(__file__).parent))
from gemm_cases import check_against_the_oracle, needs_avx2, operands

# (M, N, K): the last row group with 1, 2, 3 or 4 row vectors of 32 rows and ragged rows; odd N
# (a padding column); byte counters at exactly 63 nibble steps (252 bits), 64 steps, and several
# chunks; a 64-column output block and one more column; the int16 sums split across calls
# (K over 4 x 16383 nibbles = 65532 bits)
SHAPES = [
    (1, 1, 1),
    (5, 3, 65),
    (32, 2, 252),
    (33, 7, 256),
    (64, 64, 4096),
    (97, 65, 300),
    (127, 9, 63 * 4 * 3 + 1),
    (128, 130, 1000),
    (200, 5, 2100),
    (3, 2, 65_600),
]


@needs_avx2
@pytest.mark.parametrize("m,n,k", SHAPES)
@pytest.mark.parametrize("pattern", ["random", "opposite", "equal"])
def test_table_tile_gemm_and_sign_match_the_oracle(m, n, k, pattern, rng):
    check_against_the_oracle(m, n, k, pattern, rng, "tmac")


@needs_avx2
@settings(max_examples=25, deadline=None)
@given(
    m=st.integers(1, 300),
    n=st.integers(1, 140),
    k=st.integers(1, 700),
    seed=st.integers(0, 2**32 - 1),
)
def test_table_tile_matches_the_oracle_on_any_shape(m, n, k, seed):
    rng = np.random.default_rng(seed)
    a, b = pack(rng.random((m, k)) < 0.5), pack(rng.random((n, k)) < 0.5)
    want = _numpy.xnor_gemm(a, b, k, np.empty((m, n), dtype=np.int32))
    got = _numba.xnor_gemm(a, b, k, np.empty((m, n), dtype=np.int32), kernel="tmac")
    assert np.array_equal(got, want)


@needs_avx2
def test_table_tile_threaded_matches_serial_and_reuses_its_buffers(monkeypatch, rng):
    a, b = operands(300, 70, 1000, "random", rng)
    want = _numpy.xnor_gemm(a, b, 1000, np.empty((300, 70), np.int32))
    serial = _numba.xnor_gemm(a, b, 1000, np.empty((300, 70), dtype=np.int32), kernel="tmac")
    monkeypatch.setattr(_numba, "_PARALLEL_MIN_WORDS", 1)
    threaded = _numba.xnor_gemm(a, b, 1000, np.empty((300, 70), dtype=np.int32), kernel="tmac")
    assert np.array_equal(serial, want) and np.array_equal(threaded, want)
    # a smaller product after a larger one runs in the kept (larger, dirty) buffers
    a2, b2 = a[:40, :3].copy(), b[:9, :3].copy()
    want2 = _numpy.xnor_gemm(a2, b2, 150, np.empty((40, 9), np.int32))
    got2 = _numba.xnor_gemm(a2, b2, 150, np.empty((40, 9), np.int32), kernel="tmac")
    assert np.array_equal(got2, want2)


def _nibble(words, p):
    """Nibble ``p`` of a row of words, from the integers (an oracle independent of the kernels)."""
    return (int(words[p // 16]) >> (4 * (p % 16))) & 15


def test_nibble_rows_layout(rng):
    m, w = 70, 3  # 3 row vectors: a full group would be 4, so this group has R = 3
    a = rng.integers(0, 2**63, size=(m, w), dtype=np.uint64)
    groups, blocks = _tmac.row_groups(m)
    assert (groups, blocks) == (1, 3)
    ax = np.full((groups, _tmac.GROUP * 16 * w * _tmac.BLOCK), 9, dtype=np.uint8)
    assert _tmac.nibble_rows(a, ax) == blocks
    rows = blocks  # the last (only) group's row vectors
    for i in (0, 1, 31, 32, 63, 64, 69):
        r, lane = divmod(i, _tmac.BLOCK)
        for p in (0, 1, 15, 16, 17, 47):
            assert ax[0, (p * rows + r) * _tmac.BLOCK + lane] == _nibble(a[i], p)
    for lane in range(m - 64, _tmac.BLOCK):  # rows past the end are zeros
        assert all(ax[0, (p * rows + 2) * _tmac.BLOCK + lane] == 0 for p in range(16 * w))
    assert not ax[0, 16 * w * rows * _tmac.BLOCK :].any()  # and the unused tail of the group


def test_nibble_cols_layout_and_tables(rng):
    n, w = 5, 2
    b = rng.integers(0, 2**63, size=(n, w), dtype=np.uint64)
    bn = np.full((n + 1, 16 * w), 9, dtype=np.uint8)
    _tmac.nibble_cols(b, bn)
    for j in range(n):
        assert [int(v) for v in bn[j]] == [16 * _nibble(b[j], p) for p in range(16 * w)]
    assert not bn[n].any()  # the padding column
    for v in range(16):
        for u in range(16):
            assert _tmac.TABLES[16 * v + u] == bin(u ^ v).count("1")


def test_kernel_choice_with_the_table_tile():
    isa = _lut.target_isa()
    lookup = isa["avx2"] and not isa["avx512vpopcntdq"]
    assert _numba._kernel(None, 64, 2) == ("tmac" if lookup else "ctpop")
    assert _numba._kernel(None, 63, 2) == ("lut" if lookup else "ctpop")
    assert _numba._kernel(None, 64, 1) == "ctpop"  # no full tile of either lookup
    assert _numba._kernel("tmac", 1, 1) == "tmac"  # forced: any shape
    with pytest.raises(ValueError, match=r"^kernel: expected 'tmac', 'lut', 'ctpop' or None"):
        _numba._kernel("avx", 4, 2)


def test_tile_int16_sums_hold_max_steps_of_all_differing_nibbles():
    # one call of the tile over MAX_STEPS nibble steps where every bit differs: the largest sum
    # its int16 counters must hold (4 per step); the GEMM and the learner never ask for more
    from numba import njit

    @njit
    def run(ax, bn, tabs, p1, dst):
        _tmac.tile1(ax, bn, tabs, 0, 0, 0, p1, dst, 0)

    w = -(-_tmac.MAX_STEPS // 16)
    a = np.full((1, w), np.iinfo(np.uint64).max, dtype=np.uint64)
    ax = np.empty((1, _tmac.GROUP * 16 * w * _tmac.BLOCK), dtype=np.uint8)
    _tmac.nibble_rows(a, ax)
    bn = np.empty((2, 16 * w), dtype=np.uint8)
    _tmac.nibble_cols(np.zeros((1, w), dtype=np.uint64), bn)
    dst = np.zeros((2, _tmac.BLOCK), dtype=np.int32)  # column-major: dst[column, row]
    run(ax, bn, _tmac.TABLES, _tmac.MAX_STEPS, dst)
    assert dst[0, 0] == dst[1, 0] == 4 * _tmac.MAX_STEPS  # row 0 against B's row and padding
    assert not dst[:, 1:].any()  # the zero rows past A's end agree with B's zero bits
