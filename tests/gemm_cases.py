"""Operands for the GEMM tile tests: random bits, or B built from A so every bit agrees or differs."""

import numpy as np
import pytest

from bnnlab.bits import _lut, _numba, _numpy, pack

needs_avx2 = pytest.mark.skipif(
    not _lut.target_isa()["avx2"], reason="the lookup tiles need an AVX2 target"
)


def operands(m, n, k, pattern, rng):
    """Packed ``(a, b)`` of shapes (m, k) and (n, k) bits: ``"random"``, ``"opposite"`` (row j of
    B is the complement of row j % m of A: every bit differs, the largest popcounts) or
    ``"equal"`` (row j of B is row j % m of A)."""
    a = rng.random((m, k)) < 0.5
    if pattern == "opposite":
        b = ~a[np.arange(n) % m]
    elif pattern == "equal":
        b = a[np.arange(n) % m]
    else:
        b = rng.random((n, k)) < 0.5
    return pack(a), pack(b)


def check_against_the_oracle(m, n, k, pattern, rng, kernel):
    """``xnor_gemm`` and ``xnor_gemm_sign`` of the numba backend with the tile ``kernel`` forced,
    against the numpy backend, on :func:`operands`; the outputs start filled with junk, and some
    thresholds equal a product (the ``>=`` boundary)."""
    a, b = operands(m, n, k, pattern, rng)
    want = _numpy.xnor_gemm(a, b, k, np.empty((m, n), dtype=np.int32))
    got = _numba.xnor_gemm(a, b, k, np.full((m, n), -7, dtype=np.int32), kernel=kernel)
    assert np.array_equal(got, want)
    th = rng.integers(-k, k + 1, size=n).astype(np.int32)
    th[: min(n, 3)] = want[0, : min(n, 3)]
    shape = (m, -(-n // 64))
    want_s = _numpy.xnor_gemm_sign(a, b, k, th, np.empty(shape, dtype=np.uint64))
    got_s = _numba.xnor_gemm_sign(a, b, k, th, np.full(shape, 5, np.uint64), kernel=kernel)
    assert np.array_equal(got_s, want_s)
