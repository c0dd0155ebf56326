"""Bit kernels: integer-exact against brute-force int references, on every host backend.

Each backend is compared with ``==`` to plain integer numpy arithmetic on the unpacked ±1 values,
on adversarial shapes (K around word boundaries, M and N not multiples of any tile) and patterns
(all +1, all -1, alternating, random), and through hypothesis.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bnnlab.bits import (
    available_backends,
    fraction_ones,
    n_words,
    outer_update,
    pack,
    popcount_cols,
    popcount_rows,
    unpack,
    xnor_gemm,
    xnor_gemm_sign,
)

HOST = [b for b in available_backends() if b != "cupy"]
KS = [1, 63, 64, 65, 127, 1000]
SHAPES = [(1, 1), (3, 5), (7, 13), (17, 9), (33, 70)]  # not multiples of the tiles
PATTERNS = ["plus", "minus", "alternating", "random"]


def pm1(pattern: str, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    if pattern == "plus":
        return np.ones(shape, dtype=np.int64)
    if pattern == "minus":
        return -np.ones(shape, dtype=np.int64)
    if pattern == "alternating":
        i, j = np.indices(shape)
        return np.where((i + j) % 2 == 0, 1, -1)
    return rng.choice(np.array([-1, 1]), size=shape)


def ref_update(h, xpm, e, step, lo, hi):
    """Brute force: sample by sample, each active counter column clipped after its increment."""
    h = h.astype(np.int64).copy()
    for b in range(xpm.shape[0]):
        for j in range(h.shape[1]):
            if e[b, j]:
                h[:, j] = np.clip(h[:, j] + step * xpm[b] * int(e[b, j]), lo, hi)
    return h


@pytest.mark.parametrize("backend", HOST)
@pytest.mark.parametrize("k", KS)
def test_gemm_adversarial(backend, k, rng):
    for m, n in SHAPES:
        for pa, pb in [("plus", "plus"), ("minus", "plus"), ("alternating", "random")]:
            a = pm1(pa, (m, k), rng)
            b = pm1(pb, (n, k), rng)
            ref = a @ b.T
            got = xnor_gemm(pack(a), pack(b), k, backend=backend)
            assert got.dtype == np.int32 and got.shape == (m, n)
            assert np.array_equal(got, ref)


@pytest.mark.parametrize("backend", HOST)
@pytest.mark.parametrize("pattern", PATTERNS)
def test_gemm_patterns_large_tiles(backend, pattern, rng):
    # big enough for the tiled/threaded paths, with ragged edges
    a = pm1(pattern, (131, 1000), rng)
    b = pm1("random", (67, 1000), rng)
    assert np.array_equal(xnor_gemm(pack(a), pack(b), 1000, backend=backend), a @ b.T)


@pytest.mark.parametrize("backend", HOST)
def test_gemm_out_and_noncontiguous(backend, rng):
    a = rng.choice([-1, 1], size=(20, 130))
    b = rng.choice([-1, 1], size=(11, 130))
    pa, pb = pack(a), pack(b)
    out = np.full((20, 11), 7, dtype=np.int32)
    res = xnor_gemm(pa, pb, 130, out=out, backend=backend)
    assert res is out and np.array_equal(out, a @ b.T)
    big = np.zeros((20, 22), dtype=np.int32)
    xnor_gemm(pa, pb, 130, out=big[:, ::2], backend=backend)  # non-contiguous out
    assert np.array_equal(big[:, ::2], a @ b.T) and not big[:, 1::2].any()
    got = xnor_gemm(pa[::2], np.asfortranarray(pb), 130, backend=backend)
    assert np.array_equal(got, a[::2] @ b.T)


@pytest.mark.parametrize("backend", HOST)
@pytest.mark.parametrize("k", [1, 64, 65, 1000])
def test_gemm_sign(backend, k, rng):
    for m, n in [(1, 1), (5, 63), (9, 64), (17, 65), (40, 130)]:
        a = rng.choice([-1, 1], size=(m, k))
        b = rng.choice([-1, 1], size=(n, k))
        dot = a @ b.T
        got = xnor_gemm_sign(pack(a), pack(b), k, backend=backend)
        assert got.dtype == np.uint64 and got.shape == (m, n_words(n))
        assert np.array_equal(got, pack(np.where(dot >= 0, 1, -1)))  # ties -> +1, zero padding
        th = rng.integers(-k, k + 1, size=n)
        got = xnor_gemm_sign(pack(a), pack(b), k, thresholds=th, backend=backend)
        assert np.array_equal(unpack(got, n), np.where(dot >= th, 1, -1))
        got = xnor_gemm_sign(pack(a), pack(b), k, thresholds=k, backend=backend)
        assert np.array_equal(unpack(got, n), np.where(dot >= k, 1, -1))


@pytest.mark.parametrize("backend", HOST)
def test_gemm_sign_ties(backend):
    a = pack(np.array([[1, 1, -1, -1]]))
    b = pack(np.array([[1, 1, 1, 1], [1, -1, 1, -1], [-1, -1, -1, -1]]))
    got = unpack(xnor_gemm_sign(a, b, 4, backend=backend), 3)
    assert np.array_equal(got, [[1, 1, 1]])  # dots 0, 0, 0: sign(0) = +1


@pytest.mark.parametrize("backend", HOST)
@pytest.mark.parametrize("dtype", [np.int16, np.int32])
@pytest.mark.parametrize("order", ["C", "F"])
def test_update_exact_with_saturation(backend, dtype, order, rng):
    # dense E exercises the vectorised kernel, sparse E the CSR kernel of the numba backend;
    # Fortran order (unit-major counters) the per-unit kernel of outer_update_units
    for p_zero in (0.4, 0.96):
        p = [(1 - p_zero) / 2, p_zero, (1 - p_zero) / 2]
        for n_in, n_out, bsz in [(1, 1, 1), (63, 5, 7), (65, 9, 13), (130, 17, 9), (70, 40, 30)]:
            xpm = rng.choice([-1, 1], size=(bsz, n_in))
            e = rng.choice(np.array([-1, 0, 1], dtype=np.int8), size=(bsz, n_out), p=p)
            for step, lo, hi in [(1, None, None), (2, -3, 4), (3, -6, 6), (5, 0, 0)]:
                info = np.iinfo(dtype)
                lo_, hi_ = (info.min if lo is None else lo), (info.max if hi is None else hi)
                h0 = rng.integers(max(lo_, -3), min(hi_, 4) + 1, size=(n_in, n_out))
                h = np.asarray(h0.astype(dtype), order=order)
                ref = ref_update(h0, xpm, e, step, lo_, hi_)
                res = outer_update(h, pack(xpm), e, step=step, lo=lo, hi=hi, backend=backend)
                assert res is h and h.dtype == dtype
                assert h.flags.f_contiguous if order == "F" else h.flags.c_contiguous
                assert np.array_equal(h, ref)


@pytest.mark.parametrize("backend", HOST)
def test_update_of_a_strided_view_is_written_through(backend, rng):
    # neither C nor Fortran order: worked on in a copy, then written back into the view
    xpm = rng.choice([-1, 1], size=(6, 70))
    e = rng.choice(np.array([-1, 0, 1], dtype=np.int8), size=(6, 9), p=[0.2, 0.6, 0.2])
    base = rng.integers(-5, 6, size=(140, 18)).astype(np.int16)
    h0 = base[::2, ::2].astype(np.int64)
    view = base[::2, ::2]
    outer_update(view, pack(xpm), e, step=2, lo=-6, hi=6, backend=backend)
    assert np.array_equal(base[::2, ::2], ref_update(h0, xpm, e, 2, -6, 6))


@pytest.mark.parametrize("backend", HOST)
@pytest.mark.parametrize("order", ["C", "F"])
def test_update_is_sequential_not_final_clip(backend, order):
    # counters at the top bound: +1, +1, -1 -> sequential gives hi - 1, final clip gives hi
    # (2 x 2 so that Fortran order is a layout of its own, not also C order)
    h = np.full((2, 2), 3, dtype=np.int16, order=order)
    x = pack(np.ones((3, 2)))
    e = np.array([[1, 1], [1, 1], [-1, -1]], dtype=np.int8)
    outer_update(h, x, e, lo=-3, hi=3, backend=backend)
    assert np.array_equal(h, np.full((2, 2), 2))


@pytest.mark.parametrize("backend", HOST)
@pytest.mark.parametrize("dtype", [np.int16, np.int32])
@pytest.mark.parametrize("order", ["C", "F"])
def test_update_dtype_limits_never_wrap(backend, dtype, order):
    # bounds at the dtype limits: h + step needs a wider type (the unit-major kernel's wide path)
    top, bottom = int(np.iinfo(dtype).max), int(np.iinfo(dtype).min)
    h = np.array([[top - 1, bottom + 1], [bottom + 3, top - 3]], dtype=dtype, order=order)
    x = pack(np.array([[1, -1]] * 4))
    e = np.array([[1, -1]] * 3 + [[-1, 1]], dtype=np.int8)
    outer_update(h, x, e, step=2, backend=backend)
    assert h.tolist() == [[top - 2, bottom + 2], [bottom + 2, top - 2]]


@pytest.mark.parametrize("backend", HOST)
def test_update_training_shape_no_saturation(backend, rng):
    # the Colombo et al. shape; unsaturated, so the exact sum is 2 * X^T E
    xpm = rng.choice([-1, 1], size=(100, 784))
    e = np.zeros((100, 525), dtype=np.int8)
    e[rng.random((100, 525)) < 0.02] = 1
    e[rng.random((100, 525)) < 0.02] = -1
    h0 = rng.integers(-200, 200, size=(784, 525)).astype(np.int32)
    h = h0.copy()
    outer_update(h, pack(xpm), e, step=2, backend=backend)
    assert np.array_equal(h, h0 + 2 * (xpm.T @ e.astype(np.int64)))


@pytest.mark.parametrize("backend", HOST)
def test_update_noncontiguous_h(backend, rng):
    xpm = rng.choice([-1, 1], size=(6, 70))
    e = rng.choice(np.array([-1, 0, 1], dtype=np.int8), size=(6, 9))
    base = np.zeros((9, 70), dtype=np.int32)
    h = base.T  # non-contiguous view, updated in place through the view
    outer_update(h, pack(xpm), e, step=1, backend=backend)
    assert np.array_equal(base.T, xpm.T @ e.astype(np.int64))


@pytest.mark.parametrize("backend", HOST)
@pytest.mark.parametrize("k", KS)
def test_popcounts(backend, k, rng):
    bits = rng.random((2, 9, k)) < 0.3
    w = pack(bits)
    assert np.array_equal(popcount_rows(w, k, backend=backend), bits.sum(axis=-1))
    assert np.array_equal(popcount_cols(w, k, backend=backend), bits.reshape(-1, k).sum(axis=0))
    assert fraction_ones(w, k, backend=backend) == bits.sum() / bits.size
    ones = pack(np.ones((3, k)))
    assert fraction_ones(ones, k, backend=backend) == 1.0  # padding bits never count
    assert popcount_cols(ones, k, backend=backend).tolist() == [3] * k


@given(
    st.integers(1, 9),
    st.integers(1, 9),
    st.integers(1, 200),
    st.integers(0, 2**32 - 1),
)
def test_gemm_property_all_backends(m, n, k, seed):
    rng = np.random.default_rng(seed)
    a = rng.choice([-1, 1], size=(m, k))
    b = rng.choice([-1, 1], size=(n, k))
    ref = a @ b.T
    th = rng.integers(-k, k + 1, size=n)
    for backend in HOST:
        assert np.array_equal(xnor_gemm(pack(a), pack(b), k, backend=backend), ref)
        got = xnor_gemm_sign(pack(a), pack(b), k, thresholds=th, backend=backend)
        assert np.array_equal(unpack(got, n), np.where(ref >= th, 1, -1))


@given(
    st.integers(1, 6),
    st.integers(1, 80),
    st.integers(1, 6),
    st.integers(1, 3),
    st.integers(0, 4),
    st.integers(0, 2**32 - 1),
)
def test_update_property_all_backends(bsz, n_in, n_out, step, width, seed):
    rng = np.random.default_rng(seed)
    xpm = rng.choice([-1, 1], size=(bsz, n_in))
    e = rng.choice(np.array([-1, 0, 1], dtype=np.int8), size=(bsz, n_out))
    lo, hi = -width, width
    h0 = rng.integers(lo, hi + 1, size=(n_in, n_out))
    ref = ref_update(h0, xpm, e, step, lo, hi)
    for backend in HOST:
        h = h0.astype(np.int16)
        outer_update(h, pack(xpm), e, step=step, lo=lo, hi=hi, backend=backend)
        assert np.array_equal(h, ref)


def test_bad_input():
    a = pack(np.ones((3, 70)))
    b = pack(np.ones((2, 70)))
    with pytest.raises(TypeError, match=r"^a: expected a packed array of dtype uint64, got int64"):
        xnor_gemm(a.astype(np.int64), b, 70)
    with pytest.raises(ValueError, match=r"^a and b: word counts disagree \(2 vs 1"):
        xnor_gemm(a, pack(np.ones((2, 10))), 70)
    with pytest.raises(ValueError, match=r"^k: 200 bits need 4 words"):
        xnor_gemm(a, b, 200)
    with pytest.raises(ValueError, match=r"^k: expected an integer >= 1"):
        xnor_gemm(a, b, 0)
    with pytest.raises(TypeError, match=r"^k: expected an integer"):
        xnor_gemm(a, b, 70.0)
    with pytest.raises(ValueError, match=r"^a: expected 2-D array"):
        xnor_gemm(a[0], b, 70)
    with pytest.raises(ValueError, match=r"^a: padding bits beyond k=66 are set"):
        xnor_gemm(a, b, 66)
    with pytest.raises(TypeError, match=r"^out: expected dtype int32"):
        xnor_gemm(a, b, 70, out=np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"^out: expected shape \(3, 2\)"):
        xnor_gemm(a, b, 70, out=np.zeros((2, 3), dtype=np.int32))
    with pytest.raises(ValueError, match=r"^thresholds: expected 2 values"):
        xnor_gemm_sign(a, b, 70, thresholds=np.zeros(3, dtype=int))
    with pytest.raises(TypeError, match=r"^thresholds: expected an integer array"):
        xnor_gemm_sign(a, b, 70, thresholds=np.zeros(2))
    with pytest.raises(ValueError, match=r"^backend: expected 'auto' or one of"):
        xnor_gemm(a, b, 70, backend="fortran")
    h = np.zeros((70, 4), dtype=np.int16)
    e = np.zeros((3, 4), dtype=np.int8)
    with pytest.raises(TypeError, match=r"^h: expected dtype int16 or int32"):
        outer_update(h.astype(np.int64), a, e)
    with pytest.raises(ValueError, match=r"^h.shape\[0\]: 129 bits need 3 words"):
        outer_update(np.zeros((129, 4), dtype=np.int16), a, e)
    with pytest.raises(ValueError, match=r"^x: padding bits beyond k=66 are set"):
        outer_update(np.zeros((66, 4), dtype=np.int16), a, e)
    with pytest.raises(ValueError, match=r"^e: expected shape \(B, n_out\) = \(3, 4\)"):
        outer_update(h, a, e[:2])
    with pytest.raises(ValueError, match=r"^e: expected values in \{-1, 0, \+1\}"):
        outer_update(h, a, e + 2)
    with pytest.raises(TypeError, match=r"^e: expected a signed integer"):
        outer_update(h, a, e.astype(np.float32))
    with pytest.raises(ValueError, match=r"^lo: expected lo <= hi"):
        outer_update(h, a, e, lo=3, hi=2)
    with pytest.raises(ValueError, match=r"^lo: expected an integer >= -32768"):
        outer_update(h, a, e, lo=-40000)
    for order in "CF":  # the bounds check reads every counter, in either layout
        for bad in (5, -5):
            hb = np.asarray(h, order=order).copy(order=order)
            hb[-1, -1] = bad
            with pytest.raises(ValueError, match=r"^h: values lie outside the saturation bounds"):
                outer_update(hb, a, e, lo=-1, hi=1)
    with pytest.raises(ValueError, match=r"^step: expected an integer >= 1"):
        outer_update(h, a, e, step=0)
    ro = h.copy()
    ro.flags.writeable = False
    with pytest.raises(ValueError, match=r"^h: array is read-only"):
        outer_update(ro, a, e)
    with pytest.raises(ValueError, match=r"^a: padding bits beyond k=65"):
        popcount_rows(a, 65)


@pytest.mark.skipif("numba" not in HOST, reason="numba backend not importable")
def test_numba_threaded_paths_match_serial(monkeypatch, rng):
    """Force the threaded kernels on small ragged shapes: results must not depend on threads."""
    from bnnlab.bits import _numba

    a = rng.choice([-1, 1], size=(37, 130))
    b = rng.choice([-1, 1], size=(21, 130))
    xpm = rng.choice([-1, 1], size=(9, 75))
    dense = rng.choice(np.array([-1, 0, 1], dtype=np.int8), size=(9, 14))
    sparse = np.where(rng.random((9, 14)) < 0.05, dense, 0).astype(np.int8)
    h0 = rng.integers(-3, 4, size=(75, 14)).astype(np.int16)
    results = []
    for threshold in (_numba._PARALLEL_MIN_WORDS, 1):
        monkeypatch.setattr(_numba, "_PARALLEL_MIN_WORDS", threshold)
        gemm = xnor_gemm(pack(a), pack(b), 130, backend="numba")
        sign = xnor_gemm_sign(pack(a), pack(b), 130, thresholds=3, backend="numba")
        updates = []
        for e in (dense, sparse):
            h = h0.copy()
            outer_update(h, pack(xpm), e, step=2, lo=-4, hi=4, backend="numba")
            updates.append(h)
        results.append((gemm, sign, *updates))
    assert _numba._threads(10, 10) == min(10, __import__("numba").get_num_threads())
    for serial, threaded in zip(*results, strict=True):
        assert np.array_equal(serial, threaded)
    assert np.array_equal(results[0][0], a @ b.T)
    assert np.array_equal(results[0][2], ref_update(h0, xpm, dense, 2, -4, 4))
    assert np.array_equal(results[0][3], ref_update(h0, xpm, sparse, 2, -4, 4))


@pytest.mark.skipif("numba" not in HOST, reason="numba backend not importable")
@pytest.mark.parametrize("kernel", ["ctpop", "lut"])
def test_numba_threads_claim_every_chunk_once(monkeypatch, rng, kernel):
    """Threaded, 150 rows are 5 claimed chunks of 32 rows (the last 22): every row written once,
    both stores, whichever thread claims what."""
    from bnnlab.bits import _numba

    if kernel == "lut" and not _numba._lut.target_isa()["avx2"]:
        pytest.skip("the nibble-lookup tile needs AVX2")
    monkeypatch.setattr(_numba, "_PARALLEL_MIN_WORDS", 1)
    a, b = rng.choice([-1, 1], size=(150, 200)), rng.choice([-1, 1], size=(11, 200))
    pa, pb = pack(a), pack(b)
    got = _numba.xnor_gemm(pa, pb, 200, np.full((150, 11), -7, dtype=np.int32), kernel=kernel)
    assert np.array_equal(got, a @ b.T)
    signs = _numba.xnor_gemm_sign(
        pa, pb, 200, np.full(11, 4, dtype=np.int32), np.zeros((150, 1), np.uint64), kernel=kernel
    )
    assert np.array_equal(signs, pack(a @ b.T >= 4))


@pytest.mark.parametrize("backend", HOST)
def test_read_only_out_is_refused(backend):
    """A read-only ``out`` is a ValueError naming it (numba used to raise a compiler trace)."""
    a = pack(np.ones((3, 70)))
    ro = np.zeros((3, 3), dtype=np.int32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match=r"^out: array is read-only; xnor_gemm writes"):
        xnor_gemm(a, a, 70, out=ro, backend=backend)
    big = np.zeros((3, 6), dtype=np.int32)
    big.flags.writeable = False
    with pytest.raises(ValueError, match=r"^out: array is read-only"):  # non-contiguous too
        xnor_gemm(a, a, 70, out=big[:, ::2], backend=backend)


@pytest.mark.parametrize("backend", HOST)
def test_read_only_inputs_are_fine(backend, rng):
    x = rng.choice([-1, 1], size=(5, 70))
    a = pack(x)
    a.flags.writeable = False
    th = np.zeros(5, dtype=np.int32)
    th.flags.writeable = False
    assert np.array_equal(xnor_gemm(a, a, 70, backend=backend), x @ x.T)
    got = xnor_gemm_sign(a, a, 70, thresholds=th, backend=backend)
    assert np.array_equal(unpack(got, 5), np.where(x @ x.T >= 0, 1, -1))
    assert np.array_equal(popcount_cols(a, 70, backend=backend), (x > 0).sum(axis=0))


@pytest.mark.parametrize("op", ["xnor_gemm", "xnor_gemm_sign"])
def test_k_above_int32_is_refused(op):
    """k = 2**31 bits (2**25 words per row, never touched: calloc'd) does not fit the int32 dot
    products: both GEMMs refuse it before any backend runs (they disagreed above it)."""
    from bnnlab import bits

    a = np.zeros((1, 2**25), dtype=np.uint64)
    with pytest.raises(ValueError, match=r"^k: 2147483648 does not fit the int32 dot products"):
        getattr(bits, op)(a, a, 2**31)
    with pytest.raises(ValueError, match=r"^k: 2147483648 does not fit"):
        bits.subtract_zero_weights(np.zeros((1, 1), np.int32), a, 2**31, [], [])
