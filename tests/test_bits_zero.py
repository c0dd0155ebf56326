"""Ternary corrections (sign(0) = 0) of the bit kernels: exact against dense integer products.

Every host backend is compared with ``==`` to the definitions written with dense int64 matrices
(``a @ t`` for ternary ``a`` and ``t``, ``h + step * a^T e`` for the update) and to every other
backend, on adversarial shapes (k around word boundaries, ragged M and N) and zero patterns (none,
all, a word edge, alternating, random), and through hypothesis. The CUDA kernels of these
operations are checked the same way under the CPU emulation (tests/test_cuda_emu.py).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bnnlab.bits import (
    available_backends,
    outer_update,
    pack,
    subtract_zero_inputs,
    subtract_zero_update,
    subtract_zero_weights,
    xnor_gemm,
    zero_positions,
)

HOST = [b for b in available_backends() if b != "cupy"]
KS = [1, 63, 64, 65, 127, 200]
SHAPES = [(1, 1), (3, 5), (17, 9), (33, 70)]
ZEROS = ["none", "all", "edge", "alternating", "random"]


def ternary(pattern: str, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """int64 matrix in {-1, 0, +1} whose zeros follow ``pattern`` (``edge``: the last column and
    the column at bit 63 of the first word, where a word boundary is)."""
    signs = rng.choice(np.array([-1, 1]), size=shape)
    if pattern == "none":
        zero = np.zeros(shape, dtype=bool)
    elif pattern == "all":
        zero = np.ones(shape, dtype=bool)
    elif pattern == "edge":
        zero = np.zeros(shape, dtype=bool)
        zero[:, -1] = True
        zero[:, min(63, shape[1] - 1)] = True
    elif pattern == "alternating":
        i, j = np.indices(shape)
        zero = (i + j) % 2 == 0
    else:
        zero = rng.random(shape) < 0.2
    return np.where(zero, 0, signs)


def packed_ties_plus(x: np.ndarray) -> np.ndarray:
    """Packed sign of ``x`` with ties +1 (the bits the learner keeps)."""
    return pack(np.ascontiguousarray(x >= 0))


def ties_plus(x: np.ndarray) -> np.ndarray:
    return np.where(x >= 0, 1, -1).astype(np.int64)


def forward(backend: str, a: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The ternary product ``a @ sign(w)`` through the packed path of the local-binary learner."""
    k = a.shape[1]
    xb, wb = packed_ties_plus(a), packed_ties_plus(w.T)
    dot = xnor_gemm(xb, wb, k, backend=backend)
    subtract_zero_inputs(dot, a == 0, wb, backend=backend)
    zi, zj = zero_positions(w, backend=backend)
    return subtract_zero_weights(dot, xb, k, zi, zj, a_zero=a == 0, backend=backend)


@pytest.mark.parametrize("backend", HOST)
@pytest.mark.parametrize("k", KS)
def test_ternary_product_exact(backend, k, rng):
    for m, n in SHAPES:
        for pa, pw in [("random", "random"), ("none", "all"), ("all", "edge"), ("edge", "none")]:
            a = ternary(pa, (m, k), rng)
            w = ternary(pw, (k, n), rng)
            got = forward(backend, a, w)
            assert got.dtype == np.int32 and got.shape == (m, n)
            assert np.array_equal(got, a @ w), (pa, pw)


@pytest.mark.parametrize("backend", HOST)
@pytest.mark.parametrize("pattern", ZEROS)
@pytest.mark.parametrize("k", KS)
def test_each_correction_alone(backend, pattern, k, rng):
    m, n = 7, 13
    a = ternary(pattern, (m, k), rng)
    w = ternary("random" if pattern == "none" else pattern, (k, n), rng)
    a1, b1 = ties_plus(a), ties_plus(w.T)
    xb, wb = packed_ties_plus(a), packed_ties_plus(w.T)
    # inputs only: a1 . b1 -> a . b1
    dot = (a1 @ b1.T).astype(np.int32)
    assert subtract_zero_inputs(dot, a == 0, wb, backend=backend) is dot
    assert np.array_equal(dot, a @ b1.T)
    # weights only, inputs ±1: a1 . b1 -> a1 . t
    zi, zj = zero_positions(w, backend=backend)
    dot = (a1 @ b1.T).astype(np.int32)
    assert subtract_zero_weights(dot, xb, k, zi, zj, backend=backend) is dot
    assert np.array_equal(dot, a1 @ w)
    # weights with ternary inputs: a . b1 -> a . t (a zero weight meeting a zero input: once)
    dot = (a @ b1.T).astype(np.int32)
    subtract_zero_weights(dot, xb, k, zi, zj, a_zero=a == 0, backend=backend)
    assert np.array_equal(dot, a @ w)


@pytest.mark.parametrize("backend", HOST)
@pytest.mark.parametrize("dtype", [np.int16, np.int32])
@pytest.mark.parametrize("pattern", ZEROS)
def test_update_exact(backend, dtype, pattern, rng):
    for n_in, n_out, batch in [(1, 1, 1), (63, 5, 7), (65, 9, 13), (130, 17, 9)]:
        x = ternary(pattern, (batch, n_in), rng)
        e = rng.integers(-1, 2, size=(batch, n_out)).astype(np.int8)
        h0 = rng.integers(-50, 51, size=(n_in, n_out))
        for step in (1, 3):
            h = h0.astype(dtype)
            got = subtract_zero_update(h, x == 0, e, step=step, backend=backend)
            assert got is h and h.dtype == dtype
            assert np.array_equal(h, h0 - step * ((x == 0).T.astype(np.int64) @ e))
            # the learner's use: the packed outer update on the ties-+1 inputs, then the
            # correction, is the update on the ternary inputs
            h = h0.astype(dtype)
            outer_update(h, packed_ties_plus(x), e, step=step, backend=backend)
            subtract_zero_update(h, x == 0, e, step=step, backend=backend)
            assert np.array_equal(h, h0 + step * (x.T @ e))


@pytest.mark.parametrize("backend", HOST)
@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, np.uint8])
def test_zero_positions(backend, dtype, rng):
    for shape in [(1, 1), (5, 3), (70, 9)]:
        w = rng.integers(0, 3, size=shape).astype(dtype)
        zi, zj = zero_positions(w, backend=backend)
        want_i, want_j = np.nonzero(w == 0)
        assert zi.dtype == zj.dtype == np.int64 and zi.flags.c_contiguous and zj.flags.c_contiguous
        assert np.array_equal(zi, want_i) and np.array_equal(zj, want_j)
        flat = zi * shape[1] + zj
        assert (np.diff(flat) > 0).all()  # row-major order
    zi, zj = zero_positions(np.ones((4, 6), dtype=dtype), backend=backend)
    assert zi.shape == zj.shape == (0,) and zi.dtype == np.int64
    zi, zj = zero_positions(np.zeros((2, 3), dtype=dtype), backend=backend)
    assert zi.tolist() == [0, 0, 0, 1, 1, 1] and zj.tolist() == [0, 1, 2, 0, 1, 2]


@pytest.mark.parametrize("backend", HOST)
def test_no_zero_weights_is_a_no_op(backend, rng):
    a = rng.choice([-1, 1], size=(4, 70))
    dot = rng.integers(-70, 71, size=(4, 3)).astype(np.int32)
    before = dot.copy()
    empty = np.zeros(0, dtype=np.int64)
    assert subtract_zero_weights(dot, pack(a), 70, empty, empty, backend=backend) is dot
    assert np.array_equal(dot, before)
    subtract_zero_weights(dot, pack(a), 70, [], [], backend=backend)  # lists are accepted
    assert np.array_equal(dot, before)


@pytest.mark.parametrize("backend", HOST)
def test_noncontiguous_targets_updated_in_place(backend, rng):
    a = ternary("random", (6, 70), rng)
    w = ternary("random", (70, 9), rng)
    xb, wb = packed_ties_plus(a), packed_ties_plus(w.T)
    base = np.zeros((9, 6), dtype=np.int32)
    dot = base.T  # a view: written through
    dot[...] = xnor_gemm(xb, wb, 70)
    subtract_zero_inputs(dot, a == 0, wb, backend=backend)
    zi, zj = zero_positions(w, backend=backend)
    subtract_zero_weights(dot, xb, 70, zi, zj, a_zero=np.asfortranarray(a == 0), backend=backend)
    assert np.array_equal(base.T, a @ w)
    e = rng.integers(-1, 2, size=(6, 9)).astype(np.int8)
    hb = np.zeros((9, 70), dtype=np.int32)
    subtract_zero_update(hb.T, a == 0, e[:, :], step=2, backend=backend)
    assert np.array_equal(hb.T, -2 * ((a == 0).T.astype(np.int64) @ e))


def test_backends_agree_bit_for_bit(rng):
    """Every host backend against every other with ``==`` on one larger learner-like case."""
    a = ternary("random", (50, 300), rng)
    w = rng.integers(-3, 4, size=(300, 40))
    e = rng.integers(-1, 2, size=(50, 40)).astype(np.int8)
    h0 = rng.integers(-100, 101, size=(300, 40)).astype(np.int32)
    results = {}
    for backend in HOST:
        h = h0.copy()
        subtract_zero_update(h, a == 0, e, step=2, backend=backend)
        results[backend] = (forward(backend, a, w), *zero_positions(w, backend=backend), h)
    first = results[HOST[0]]
    for backend in HOST[1:]:
        for u, v in zip(first, results[backend], strict=True):
            assert u.dtype == v.dtype and np.array_equal(u, v), backend
    assert np.array_equal(first[0], a @ np.sign(w))


@given(
    st.integers(1, 8),
    st.integers(1, 150),
    st.integers(1, 8),
    st.floats(0.0, 1.0),
    st.integers(0, 2**32 - 1),
)
def test_property_all_backends(m, k, n, p_zero, seed):
    rng = np.random.default_rng(seed)
    a = np.where(rng.random((m, k)) < p_zero, 0, rng.choice([-1, 1], size=(m, k)))
    w = np.where(rng.random((k, n)) < p_zero, 0, rng.choice([-1, 1], size=(k, n)))
    e = rng.integers(-1, 2, size=(m, n)).astype(np.int8)
    h0 = rng.integers(-9, 10, size=(k, n)).astype(np.int16)
    for backend in HOST:
        assert np.array_equal(forward(backend, a, w), a @ w), backend
        h = h0.copy()
        subtract_zero_update(h, a == 0, e, step=2, backend=backend)
        assert np.array_equal(h, h0 - 2 * ((a == 0).T.astype(np.int64) @ e)), backend


def test_bad_input():
    x = np.ones((3, 70), dtype=bool)
    b = pack(np.ones((2, 70)))
    a = pack(np.ones((3, 70)))
    dot = np.zeros((3, 2), dtype=np.int32)
    zi, zj = np.array([0, 5]), np.array([1, 0])
    # zero_positions
    with pytest.raises(TypeError, match=r"^w: expected an integer array, got dtype float64"):
        zero_positions(np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"^w: expected 2-D array"):
        zero_positions(np.zeros(3, dtype=np.int32))
    # subtract_zero_inputs
    with pytest.raises(TypeError, match=r"^dot: expected dtype int32"):
        subtract_zero_inputs(dot.astype(np.int64), x, b)
    with pytest.raises(ValueError, match=r"^dot: expected shape \(M, N\) = \(3, 2\) \(rows of a_z"):
        subtract_zero_inputs(dot[:2], x, b)
    with pytest.raises(ValueError, match=r"^dot: values must lie in \[-2147483578, 2147483577\]"):
        subtract_zero_inputs(dot + np.iinfo(np.int32).max - 10, x, b)
    with pytest.raises(TypeError, match=r"^a_zero: expected a bool array .* got int64"):
        subtract_zero_inputs(dot, x.astype(np.int64), b)
    with pytest.raises(ValueError, match=r"^a_zero.shape\[1\]: 129 bits need 3 words"):
        subtract_zero_inputs(dot, np.ones((3, 129), dtype=bool), b)
    with pytest.raises(ValueError, match=r"^a_zero: expected 2-D array"):
        subtract_zero_inputs(dot, x[0], b)
    with pytest.raises(TypeError, match=r"^b: expected a packed array of dtype uint64"):
        subtract_zero_inputs(dot, x, b.astype(np.int64))
    with pytest.raises(ValueError, match=r"^b: padding bits beyond k=66 are set"):
        subtract_zero_inputs(dot, x[:, :66], b)
    # subtract_zero_weights
    with pytest.raises(TypeError, match=r"^a: expected a packed array of dtype uint64"):
        subtract_zero_weights(dot, a.view(np.int64), 70, zi, zj)
    with pytest.raises(ValueError, match=r"^k: 200 bits need 4 words"):
        subtract_zero_weights(dot, a, 200, zi, zj)
    with pytest.raises(ValueError, match=r"^dot: expected shape \(M, N\) = \(2, 2\) \(rows of a,"):
        subtract_zero_weights(dot, a[:2], 70, zi, zj)
    with pytest.raises(TypeError, match=r"^zi: expected an integer array, got dtype float64"):
        subtract_zero_weights(dot, a, 70, zi.astype(float), zj)
    with pytest.raises(ValueError, match=r"^zi: expected 1-D array"):
        subtract_zero_weights(dot, a, 70, zi[None], zj)
    with pytest.raises(ValueError, match=r"^zi: expected indices in \[0, 70\)"):
        subtract_zero_weights(dot, a, 70, np.array([0, 70]), zj)
    with pytest.raises(ValueError, match=r"^zj: expected indices in \[0, 2\)"):
        subtract_zero_weights(dot, a, 70, zi, np.array([-1, 0]))
    with pytest.raises(TypeError, match=r"^zj: expected an array, got None"):
        subtract_zero_weights(dot, a, 70, zi, None)
    with pytest.raises(ValueError, match=r"^zi and zj: lengths differ \(2 vs 1\)"):
        subtract_zero_weights(dot, a, 70, zi, zj[:1])
    with pytest.raises(
        ValueError, match=r"^zi and zj: positions must be distinct and in row-major"
    ):
        subtract_zero_weights(dot, a, 70, zi[::-1], zj[::-1])
    with pytest.raises(ValueError, match=r"^zi and zj: positions must be distinct"):
        subtract_zero_weights(dot, a, 70, np.array([5, 5]), np.array([0, 0]))
    with pytest.raises(ValueError, match=r"^a_zero: expected shape \(M, k\) = \(3, 70\)"):
        subtract_zero_weights(dot, a, 70, zi, zj, a_zero=x[:, :69])
    with pytest.raises(TypeError, match=r"^a_zero: expected a bool array"):
        subtract_zero_weights(dot, a, 70, zi, zj, a_zero=x.astype(np.int8))
    # subtract_zero_update
    h = np.zeros((70, 2), dtype=np.int16)
    e = np.zeros((3, 2), dtype=np.int8)
    with pytest.raises(TypeError, match=r"^h: expected dtype int16 or int32, got int64"):
        subtract_zero_update(h.astype(np.int64), x, e)
    with pytest.raises(TypeError, match=r"^x_zero: expected a bool array"):
        subtract_zero_update(h, x.astype(np.int8), e)
    with pytest.raises(ValueError, match=r"^x_zero: expected shape \(B, n_in\) = \(3, 70\)"):
        subtract_zero_update(h, x[:, :65], e)
    with pytest.raises(ValueError, match=r"^e: expected shape \(B, n_out\) = \(3, 2\)"):
        subtract_zero_update(h, x, e[:2])
    with pytest.raises(ValueError, match=r"^e: expected values in \{-1, 0, \+1\}"):
        subtract_zero_update(h, x, e + 2)
    with pytest.raises(TypeError, match=r"^e: expected a signed integer"):
        subtract_zero_update(h, x, e.astype(np.float32))
    with pytest.raises(ValueError, match=r"^step: expected an integer >= 1"):
        subtract_zero_update(h, x, e, step=0)
    with pytest.raises(ValueError, match=r"^step: expected an integer <= 32767"):
        subtract_zero_update(h, x, e, step=40000)
    with pytest.raises(ValueError, match=r"^h: the correction .* could leave the range of int16"):
        subtract_zero_update(h + 32760, x, e, step=3)  # 3 zero inputs per row, 9 > 7 of room
    subtract_zero_update(h + 32758, x, e, step=3)  # 9 of room: accepted
    with pytest.raises(ValueError, match=r"^backend: expected 'auto' or one of"):
        subtract_zero_update(h, x, e, backend="fortran")


@pytest.mark.parametrize(
    "call",
    [
        lambda t, x, b, a: subtract_zero_inputs(t, x, b),
        lambda t, x, b, a: subtract_zero_weights(t, a, 70, [0], [0], a_zero=x),
    ],
)
def test_read_only_targets_refused(call):
    x = np.zeros((3, 70), dtype=bool)
    ro = np.zeros((3, 2), dtype=np.int32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match=r"^dot: array is read-only; subtract_zero_\w+ works in"):
        call(ro, x, pack(np.ones((2, 70))), pack(np.ones((3, 70))))
    h = np.zeros((70, 2), dtype=np.int32)
    h.flags.writeable = False
    with pytest.raises(ValueError, match=r"^h: array is read-only; subtract_zero_update works"):
        subtract_zero_update(h, x, np.zeros((3, 2), dtype=np.int8))


@pytest.mark.parametrize("backend", HOST)
def test_read_only_inputs_accepted(backend, rng):
    a = ternary("random", (5, 70), rng)
    w = ternary("random", (70, 4), rng)
    xb, wb, az = packed_ties_plus(a), packed_ties_plus(w.T), a == 0
    zi, zj = zero_positions(w, backend=backend)
    for arr in (xb, wb, az, zi, zj):
        arr.flags.writeable = False
    dot = xnor_gemm(xb, wb, 70, backend=backend)
    subtract_zero_inputs(dot, az, wb, backend=backend)
    subtract_zero_weights(dot, xb, 70, zi, zj, a_zero=az, backend=backend)
    assert np.array_equal(dot, a @ w)
