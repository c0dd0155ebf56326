"""Optimality and conventions of bnnlab.theory.angle (exact maximisers vs brute force)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from bnnlab.theory.angle import (
    MAX_BRUTE_FORCE_N,
    Alignment,
    align,
    brute_force,
    cosine,
    cosine_by_k,
)

CODES = ("pm1", "01")

# Real weights, 1..11 entries, magnitudes over many orders (no subnormals).
real_w = arrays(
    np.float64,
    st.integers(1, 11),
    elements=st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False),
).filter(lambda w: bool(np.any(w != 0)))
# Heavy ties: integers from a small set (zeros and repeated values everywhere).
tied_w = arrays(np.int64, st.integers(1, 11), elements=st.integers(-3, 3)).filter(
    lambda w: bool(np.any(w != 0))
)
distinct_w = arrays(
    np.float64,
    st.integers(2, 11),
    elements=st.floats(-100, 100, allow_nan=False, allow_subnormal=False),
    unique=True,
).filter(lambda w: len(np.unique(np.abs(w))) == w.size)


def _official_quick(x: np.ndarray) -> np.ndarray:
    """SiMaN official code (cifar/ and imagenet 'quick'): ones at argsort_desc[: n // 2]."""
    b = np.zeros(x.size, dtype=np.int8)
    b[np.argsort(-x, kind="stable")[: x.size // 2]] = 1
    return b


def _official_median(x: np.ndarray) -> np.ndarray:
    """SiMaN official code (imagenet, else branch): 1[X > torch.median(X)], torch's lower median."""
    lower_median = np.sort(x)[(x.size - 1) // 2]
    return (x > lower_median).astype(np.int8)


# --------------------------------------------------------------------------- optimality


@given(real_w)
@pytest.mark.parametrize("code", CODES)
def test_align_equals_brute_force_real(code, w):
    a, b = align(w, code), brute_force(w, code)
    assert math.isclose(a.cosine, b.cosine, rel_tol=1e-12)
    # the reported cosine is the cosine the returned code actually attains
    target = np.abs(w) if code == "01" else w
    assert math.isclose(cosine(target, a.code), a.cosine, rel_tol=1e-12)
    assert math.isclose(cosine(target, b.code), b.cosine, rel_tol=1e-12)
    assert a.k == int(np.sum(a.code == 1))


@given(tied_w)
@pytest.mark.parametrize("code", CODES)
def test_align_equals_brute_force_with_ties(code, w):
    """With exact ties the documented tie rules make align and brute force agree bit for bit."""
    a, b = align(w, code), brute_force(w, code)
    assert math.isclose(a.cosine, b.cosine, rel_tol=1e-12)
    assert a.k == b.k
    assert np.array_equal(a.code, b.code)


@given(real_w.filter(lambda w: w.size <= 8))
def test_fixed_k_is_best_among_codes_with_k_ones(w):
    n = w.size
    curve = cosine_by_k(w)
    v = np.abs(w) / np.abs(w).max()  # the oracle must not underflow either
    for k in range(1, n + 1):
        best = max(
            float(v[list(idx)].sum()) / (math.sqrt(k) * np.linalg.norm(v))
            for idx in itertools.combinations(range(n), k)
        )
        assert math.isclose(curve[k - 1], best, rel_tol=1e-12)
        assert math.isclose(align(w, "01", k=k).cosine, best, rel_tol=1e-12)
        assert align(w, "01", k=k).k == k
    a = align(w, "01")
    assert math.isclose(curve.max(), a.cosine, rel_tol=1e-15)


def test_objective_tie_returns_smallest_k():
    # S_1/1 = 12 = S_4/2: k = 1 and k = 4 tie exactly; the sparser code is documented.
    a = align(np.array([12.0, 4.0, 4.0, 4.0]), "01")
    assert a.k == 1
    assert np.array_equal(a.code, [1, 0, 0, 0])
    assert math.isclose(a.cosine, 12 / math.sqrt(144 + 48), rel_tol=1e-15)
    assert brute_force(np.array([12.0, 4.0, 4.0, 4.0]), "01").k == 1


def test_magnitude_ties_go_to_lower_index():
    a = align(np.array([1.0, -2.0, 2.0, 2.0, 0.5]), "01", k=2)
    assert np.array_equal(a.code, [0, 1, 1, 0, 0])


def test_pm1_closed_form_and_sign_tie():
    w = np.array([0.0, -1.5, 2.0, 0.0, -0.25])
    a = align(w, "pm1")
    assert np.array_equal(a.code, [1, -1, 1, 1, -1])
    assert a.code.dtype == np.int8
    assert a.k == 3
    expected = np.abs(w).sum() / (math.sqrt(w.size) * np.linalg.norm(w))
    assert math.isclose(a.cosine, expected, rel_tol=1e-15)


def test_uniform_magnitudes_take_all_ones():
    a = align(np.array([-2.0, 2.0, 2.0, -2.0]), "01")
    assert a.k == 4 and a.cosine == 1.0


# --------------------------------------------------------------------------- row-wise path


@given(
    arrays(
        np.float64,
        st.tuples(st.integers(1, 6), st.integers(1, 9)),
        elements=st.sampled_from([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0, 7.25]),
    ),
    st.sampled_from([None, 1, 0.5, 1.0]),
)
@pytest.mark.parametrize("code", CODES)
def test_rowwise_equals_per_row(code, w, k):
    w = w.copy()
    w[:, 0] = np.where(np.all(w == 0, axis=1), 1.0, w[:, 0])
    kk = None if code == "pm1" else k
    a = align(w, code, k=kk)
    assert a.code.shape == w.shape and a.code.dtype == np.int8
    assert a.k.shape == (w.shape[0],) and a.k.dtype == np.int64
    assert a.cosine.shape == (w.shape[0],)
    for i, row in enumerate(w):
        r = align(row, code, k=kk)
        assert np.array_equal(a.code[i], r.code)
        assert a.k[i] == r.k
        assert math.isclose(a.cosine[i], r.cosine, rel_tol=1e-14)
    bf = brute_force(w, code)
    if kk is None:
        np.testing.assert_allclose(a.cosine, bf.cosine, rtol=1e-12)
        assert np.array_equal(a.k, bf.k)


# --------------------------------------------------------------------------- SiMaN conventions


@given(distinct_w)
def test_half_fraction_is_official_median_split(w):
    x = np.abs(w)
    a = align(w, "01", k=0.5)
    assert np.array_equal(a.code, _official_quick(x))
    assert np.array_equal(a.code, _official_median(x))
    assert a.k == w.size // 2


@pytest.mark.parametrize("n", [2, 3, 8, 9, 10, 11])
def test_half_fraction_counts(n, rng):
    assert align(rng.standard_normal(n), "01", k=0.5).k == n // 2


def test_fraction_rounding():
    w = np.linspace(1, 2, 100)
    assert align(w, "01", k=0.29).k == 29  # 0.29 * 100 = 28.999999999999996 in floats
    assert align(w, "01", k=1.0).k == 100
    assert align(w[:10], "01", k=0.01).k == 1  # never the empty code
    assert align(w[:1], "01", k=0.5).k == 1
    assert align(w, "01", k=np.float32(0.25)).k == 25
    assert align(w, "01", k=np.int64(7)).k == 7


@given(distinct_w.filter(lambda w: w.size % 2 == 0))
def test_mapped_half_code_is_sign_of_median_centred_magnitudes(w):
    v = np.abs(w)
    a = align(w, "01", k=w.size // 2)
    assert np.array_equal(a.mapped_code, np.sign(v - np.median(v)).astype(np.int8))


@given(real_w)
def test_mapped_cosines(w):
    a = align(w, "01")
    m = 2 * a.code.astype(np.int64) - 1
    assert np.array_equal(a.mapped_code, m)
    assert math.isclose(a.mapped_cosine_abs, cosine(np.abs(w), m), rel_tol=1e-12, abs_tol=1e-15)
    assert math.isclose(a.mapped_cosine, cosine(w, m), rel_tol=1e-12, abs_tol=1e-15)
    p = align(w, "pm1")
    assert np.array_equal(p.mapped_code, p.code)
    assert math.isclose(p.mapped_cosine, p.cosine, rel_tol=1e-12)


def test_mapped_cosines_rowwise(rng):
    w = rng.standard_normal((5, 16))
    a = align(w, "01", k=0.5)
    np.testing.assert_allclose(
        a.mapped_cosine_abs,
        [cosine(np.abs(r), c) for r, c in zip(w, a.mapped_code, strict=True)],
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        a.mapped_cosine, [cosine(r, c) for r, c in zip(w, a.mapped_code, strict=True)], rtol=1e-12
    )


# --------------------------------------------------------------------------- invariances


@given(tied_w, st.integers(-20, 20), st.randoms(use_true_random=False))
@pytest.mark.parametrize("code", CODES)
def test_invariant_to_power_of_two_scale_and_permutation(code, w, e, rnd):
    w = w.astype(np.float64)
    a = align(w, code)
    s = align(w * 2.0**e, code)
    assert np.array_equal(a.code, s.code) and a.k == s.k and a.cosine == s.cosine
    perm = list(range(w.size))
    rnd.shuffle(perm)
    p = align(w[perm], code)
    assert p.k == a.k  # k* is a function of the multiset of magnitudes
    assert math.isclose(p.cosine, a.cosine, rel_tol=1e-12)
    # the code is permuted too wherever no magnitude tie decides the entry
    v = np.abs(w)
    untied = np.array([np.sum(v == x) == 1 for x in v])
    assert np.array_equal(p.code[untied[perm]], a.code[perm][untied[perm]])


@given(real_w, st.floats(1e-6, 1e6))
@pytest.mark.parametrize("code", CODES)
def test_invariant_to_positive_scale(code, w, c):
    assert math.isclose(align(w * c, code).cosine, align(w, code).cosine, rel_tol=1e-12)


def test_extreme_scales_do_not_overflow():
    w = np.array([3.0, -1.0, 0.5, -2.0, 0.0])
    for c in (1e-300, 1e300):
        for code in CODES:
            assert math.isclose(align(w * c, code).cosine, align(w, code).cosine, rel_tol=1e-14)


def test_integer_and_float32_inputs():
    w = np.array([3, -1, 0, -2])
    assert align(w, "01").cosine == align(w.astype(np.float32), "01").cosine


def test_laplace_fraction_near_inverse_e(rng):
    # Large-n sanity check of the SiMaN headline (k*/n -> 1/e for Laplacian weights).
    a = align(rng.laplace(size=(4, 50_000)), "01")
    assert np.all(np.abs(a.k / 50_000 - math.exp(-1)) < 0.01)


# --------------------------------------------------------------------------- helpers and errors


def test_cosine_helper():
    assert cosine(np.array([1.0, 0.0]), np.array([1.0, 1.0])) == pytest.approx(1 / math.sqrt(2))
    out = cosine(np.eye(3), np.ones((3, 3)))
    np.testing.assert_allclose(out, 1 / math.sqrt(3))
    with pytest.raises(ValueError, match=r"^a and b: shape mismatch"):
        cosine(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match=r"^b:"):
        cosine(np.ones(3), np.zeros(3))


def test_alignment_is_frozen():
    a = align(np.array([1.0, -2.0]))
    assert isinstance(a, Alignment)
    with pytest.raises(AttributeError):
        a.k = 3


@pytest.mark.parametrize(
    ("w", "kwargs", "exc", "pattern"),
    [
        (np.ones((2, 2, 2)), {}, ValueError, r"^w: expected 1 or 2-D"),
        (np.array([]), {}, ValueError, r"^w: empty"),
        (np.array([1.0, np.nan]), {}, ValueError, r"^w: contains NaN or inf"),
        (np.array([1.0, np.inf]), {}, ValueError, r"^w: contains NaN or inf"),
        (np.zeros(4), {}, ValueError, r"^w: an all-zero"),
        (np.array([[1.0, 2.0], [0.0, 0.0]]), {}, ValueError, r"^w: an all-zero.*rows \[1\]"),
        (np.array([True, False]), {}, TypeError, r"^w: expected a real-valued"),
        (np.array([1 + 1j]), {}, TypeError, r"^w: expected a real-valued"),
        (None, {}, TypeError, r"^w:"),
        (np.ones(3), {"code": "sign"}, ValueError, r"^code: expected one of"),
        (np.ones(3), {"code": "01", "k": 0}, ValueError, r"^k: expected an integer >= 1"),
        (np.ones(3), {"code": "01", "k": 4}, ValueError, r"^k: expected an integer <= 3"),
        (np.ones(3), {"code": "01", "k": 0.0}, ValueError, r"^k: a fraction"),
        (np.ones(3), {"code": "01", "k": 1.5}, ValueError, r"^k: a fraction"),
        (np.ones(3), {"code": "01", "k": float("nan")}, ValueError, r"^k: a fraction"),
        (np.ones(3), {"code": "01", "k": True}, TypeError, r"^k:"),
        (np.ones(3), {"code": "01", "k": "half"}, TypeError, r"^k:"),
        (np.ones(3), {"code": "pm1", "k": 2}, ValueError, r"^k: only used with code='01'"),
    ],
)
def test_align_errors(w, kwargs, exc, pattern):
    with pytest.raises(exc, match=pattern):
        align(w, **kwargs)


def test_brute_force_limits():
    with pytest.raises(
        ValueError, match=rf"^w: brute force .* n = 25 exceeds .*{MAX_BRUTE_FORCE_N}"
    ):
        brute_force(np.ones(MAX_BRUTE_FORCE_N + 1))
    with pytest.raises(ValueError, match=r"^code:"):
        brute_force(np.ones(3), code="x")
    with pytest.raises(ValueError, match=r"^w: an all-zero"):
        brute_force(np.zeros(3), code="01")


@pytest.mark.gpu
@pytest.mark.parametrize("code", CODES)
def test_cupy_matches_numpy(code, rng):
    import cupy

    w = rng.laplace(size=(16, 64))
    a = align(w, code)
    g = align(cupy.asarray(w), code)
    assert isinstance(g.code, cupy.ndarray)
    assert np.array_equal(cupy.asnumpy(g.code), a.code)
    assert np.array_equal(cupy.asnumpy(g.k), a.k)
    np.testing.assert_allclose(cupy.asnumpy(g.cosine), a.cosine, rtol=1e-13)
    b = brute_force(cupy.asarray(w[:3, :10]), code)
    np.testing.assert_allclose(cupy.asnumpy(b.cosine), align(w[:3, :10], code).cosine, rtol=1e-12)
