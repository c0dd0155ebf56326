"""bnnlab.entropy: bit entropy, fraction of ones, flip ratio, per-layer summary."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from bnnlab.entropy import (
    binarize,
    binary_entropy,
    bit_entropy,
    channel_entropy,
    flip_ratio,
    fraction_ones,
    layer_summary,
)

shapes = array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=5)
pm1_codes = arrays(np.int8, shapes, elements=st.sampled_from([-1, 1]))
nonzero_latent = arrays(
    np.float64,
    shapes,
    elements=st.floats(-10, 10, allow_nan=False).filter(lambda x: x != 0),
)


@st.composite
def code_and_axis(draw):
    w = draw(pm1_codes)
    axes = draw(st.lists(st.integers(0, w.ndim - 1), unique=True, max_size=w.ndim))
    neg = draw(st.booleans())
    axis = tuple(a - w.ndim if neg else a for a in axes)
    if len(axis) == 1 and draw(st.booleans()):
        axis = axis[0]
    return w, axis


# --------------------------------------------------------------------------- properties


@given(pm1_codes)
def test_range_symmetry_and_binary_entropy(w):
    h = bit_entropy(w)
    assert isinstance(h, float)
    assert 0.0 <= h <= 1.0
    assert bit_entropy(-w) == h  # exactly symmetric under negating the code
    p = fraction_ones(w)
    assert p == np.mean(w == 1)
    assert math.isclose(h, binary_entropy(p), rel_tol=0, abs_tol=1e-14)


@given(nonzero_latent)
def test_latent_weights_symmetry(w):
    assert bit_entropy(-w) == bit_entropy(w)
    assert fraction_ones(w) == np.mean(w > 0)
    assert flip_ratio(w, -w) == 1.0
    assert flip_ratio(w, 3.0 * w) == 0.0


@given(code_and_axis())
def test_axis_reduction_equals_loop_over_slices(case):
    w, axis = case
    ax = (axis,) if isinstance(axis, int) else axis
    ax = tuple(a % w.ndim for a in ax)
    keep = [a for a in range(w.ndim) if a not in ax]
    moved = np.moveaxis(w, list(ax), list(range(w.ndim - len(ax), w.ndim)))
    slices = moved.reshape(-1, math.prod(w.shape[a] for a in ax))
    expected = np.array([bit_entropy(s) for s in slices]).reshape([w.shape[a] for a in keep])
    got = bit_entropy(w, axis=axis)
    if keep:
        assert isinstance(got, np.ndarray) and got.shape == expected.shape
        assert np.array_equal(got, expected)  # same counts, same formula: bit-identical
    else:
        assert isinstance(got, float)
    assert np.all((np.asarray(got) >= 0) & (np.asarray(got) <= 1))
    frac = fraction_ones(w, axis=axis)
    np.testing.assert_allclose(got, binary_entropy(frac), rtol=0, atol=1e-14)


@given(pm1_codes)
def test_encodings_agree(w):
    """The same bits as ±1 int, {0,1} int, bool, float ±1 and float latent give the same answer."""
    h = bit_entropy(w)
    b01 = (w == 1).astype(np.uint8)
    for view in (b01, w == 1, w.astype(np.float32), 0.5 * w.astype(np.float64) + 0.25):
        assert bit_entropy(view) == h
    assert bit_entropy(b01.astype(np.float64), encoding="01") == h
    assert bit_entropy(w, encoding="pm1") == h
    assert np.array_equal(binarize(b01), w)


# --------------------------------------------------------------------------- exact values


def test_exact_values():
    assert bit_entropy(np.array([1, -1, -1, 1])) == 1.0
    assert bit_entropy(np.array([0, 1])) == 1.0
    assert bit_entropy(np.ones((3, 4), dtype=np.int8)) == 0.0
    assert bit_entropy(np.zeros(5, dtype=bool)) == 0.0
    assert bit_entropy([[1, 1], [1, -1]]) == pytest.approx(2 - 0.75 * math.log2(3), abs=1e-15)
    assert bit_entropy(np.float64(3.0)) == 0.0  # a single weight
    conv = np.array([[[[1.0, -1.0]]], [[[2.0, 3.0]]]])  # (C_out=2, C_in=1, 1, 2)
    np.testing.assert_array_equal(bit_entropy(conv, axis=(1, 2, 3)), [1.0, 0.0])
    np.testing.assert_array_equal(channel_entropy(conv), [1.0, 0.0])
    np.testing.assert_array_equal(channel_entropy(conv.reshape(2, 2).T, channel_axis=-1), [1, 0])


def test_sign_tie_rule_and_integer_latents():
    # zero (and -0.0) map to +1
    assert fraction_ones(np.array([0.0, -0.0, -1.0, 2.0])) == 0.75
    # integer latent weights (Colombo et al.) are binarised by sign; a ±1 code is its own sign
    assert fraction_ones(np.array([-3, 0, 2, 5])) == 0.75
    assert fraction_ones(np.array([-1, 1, 1, 1], dtype=np.int8)) == 0.75
    # integer {0,1} is a code: zeros are zeros
    assert fraction_ones(np.array([0, 0, 1, 1], dtype=np.uint8)) == 0.5
    np.testing.assert_array_equal(binarize(np.array([0.0, -2.0, 0.5])), [1, -1, 1])


def test_float_zero_one_is_ambiguous():
    b = np.array([0.0, 1.0, 1.0, 0.0])
    with pytest.warns(UserWarning, match=r"^weights: float array holding only 0 and 1"):
        assert bit_entropy(b) == 0.0  # read as latent weights: every entry is >= 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert bit_entropy(b, encoding="01") == 1.0
        assert bit_entropy(np.ones(3)) == 0.0  # all ones: no ambiguity, no warning


def test_binary_entropy():
    assert binary_entropy(0) == 0.0 and binary_entropy(1) == 0.0
    assert binary_entropy(0.5) == 1.0
    assert isinstance(binary_entropy(0.3), float)
    p = np.linspace(0, 1, 101)
    h = binary_entropy(p)
    assert h.shape == p.shape and np.all(h >= 0) and np.all(h <= 1)
    np.testing.assert_allclose(h, binary_entropy(1 - p), atol=1e-14)
    inner = p[1:-1]
    ref = -(inner * np.log(inner) + (1 - inner) * np.log(1 - inner)) / np.log(2)
    np.testing.assert_allclose(h[1:-1], ref, rtol=1e-13)
    # SiMaN's Laplace optimum p = 1/e: H = log2(e)/e - (1 - 1/e) log2(1 - 1/e) ~ 0.94903
    closed = math.log2(math.e) / math.e - (1 - 1 / math.e) * math.log2(1 - 1 / math.e)
    assert binary_entropy(math.exp(-1)) == pytest.approx(closed, rel=1e-15)


def test_flip_ratio_values():
    before = np.array([[0.5, -0.5, 1.0], [2.0, -1.0, 0.0]])
    after = np.array([[-0.5, -0.5, 1.0], [2.0, 1.0, -1.0]])
    assert flip_ratio(before, after) == 0.5
    np.testing.assert_array_equal(flip_ratio(before, after, axis=1), [1 / 3, 2 / 3])
    np.testing.assert_array_equal(flip_ratio(before, after, axis=0), [0.5, 0.5, 0.5])
    # a latent snapshot against its own ±1 code: no flips
    assert flip_ratio(before, binarize(before)) == 0.0


def test_layer_summary():
    rng = np.random.default_rng(7)
    conv = rng.standard_normal((6, 3, 3, 3))
    fc = rng.standard_normal((10, 32))
    bias = rng.standard_normal(10)
    rows = layer_summary({"conv": conv, "fc": fc, "bias": bias})
    assert [r["name"] for r in rows] == ["conv", "fc", "bias"]
    c = rows[0]
    assert c["shape"] == [6, 3, 3, 3] and c["n"] == 162 and c["n_channels"] == 6
    assert c["fraction_ones"] == fraction_ones(conv)
    assert c["bit_entropy"] == bit_entropy(conv)
    per = channel_entropy(conv)
    assert c["channel_entropy_mean"] == float(per.mean())
    assert c["channel_entropy_min"] == float(per.min())
    assert c["channel_entropy_max"] == float(per.max())
    assert "flip_ratio" not in c
    assert math.isnan(rows[2]["channel_entropy_mean"]) and rows[2]["n_channels"] == 10
    json.dumps(rows)  # tidy records: plain Python scalars only

    prev = {"conv": -conv, "fc": fc}
    rows = layer_summary({"conv": conv, "fc": fc, "bias": bias}, prev)
    assert rows[0]["flip_ratio"] == 1.0 and rows[1]["flip_ratio"] == 0.0
    assert math.isnan(rows[2]["flip_ratio"])
    t = layer_summary({"fc": fc.T}, channel_axis=1)[0]
    assert t["n_channels"] == 10 and t["channel_entropy_mean"] == rows[1]["channel_entropy_mean"]
    assert layer_summary({}) == []


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("weights", "kwargs", "exc", "pattern"),
    [
        (np.array([]), {}, ValueError, r"^weights: empty"),
        (np.zeros((0, 3)), {}, ValueError, r"^weights: empty"),
        (np.array([1.0, np.nan]), {}, ValueError, r"^weights: contains NaN or inf"),
        (np.array([1.0, -np.inf]), {}, ValueError, r"^weights: contains NaN or inf"),
        (np.array(["a", "b"]), {}, TypeError, r"^weights: expected a numeric"),
        (np.array([1 + 2j]), {}, TypeError, r"^weights: expected a numeric"),
        (np.array([None, 1]), {}, TypeError, r"^weights:"),
        (None, {}, TypeError, r"^weights:"),
        (np.ones((2, 3)), {"axis": 2}, ValueError, r"^axis: axis 2 is out of bounds"),
        (np.ones((2, 3)), {"axis": -3}, ValueError, r"^axis: axis -3 is out of bounds"),
        (np.ones((2, 3)), {"axis": (0, -2)}, ValueError, r"^axis: repeated axis"),
        (np.ones((2, 3)), {"axis": 1.0}, TypeError, r"^axis: expected None, an int"),
        (np.ones((2, 3)), {"axis": True}, TypeError, r"^axis:"),
        (np.ones(3), {"encoding": "bits"}, ValueError, r"^encoding: expected one of"),
        (np.array([0, 2]), {"encoding": "01"}, ValueError, r"^weights: encoding='01' requires"),
        (np.array([0, 1]), {"encoding": "pm1"}, ValueError, r"^weights: encoding='pm1' requires"),
        (np.array([True]), {"encoding": "pm1"}, ValueError, r"^weights: encoding='pm1' requires"),
        (np.array([True]), {"encoding": "sign"}, TypeError, r"^weights: a boolean array"),
    ],
)
@pytest.mark.parametrize("func", [bit_entropy, fraction_ones])
def test_errors_name_the_argument(func, weights, kwargs, exc, pattern):
    with pytest.raises(exc, match=pattern):
        func(weights, **kwargs)


@pytest.mark.parametrize("weights", [np.array(0.5), np.float32(-1.0), 3, np.array(True)])
def test_channel_entropy_of_a_0d_array_names_weights(weights):
    # used to be an IndexError from shape[channel_axis]
    with pytest.raises(ValueError, match=r"^weights: a 0-d array has no channel axis"):
        channel_entropy(weights)


def test_flip_ratio_errors():
    with pytest.raises(ValueError, match=r"^before and after: shape mismatch, \(3,\) vs \(4,\)"):
        flip_ratio(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match=r"^after: contains NaN"):
        flip_ratio(np.ones(2), np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match=r"^before: empty"):
        flip_ratio(np.array([]), np.array([]))


@pytest.mark.parametrize(
    ("p", "exc", "pattern"),
    [
        (-0.1, ValueError, r"^p: probabilities must lie in \[0, 1\]"),
        ([0.5, 1.5], ValueError, r"^p: probabilities must lie"),
        (float("nan"), ValueError, r"^p: contains NaN"),
        (np.array([True]), TypeError, r"^p: expected probabilities"),
        ("x", TypeError, r"^p:"),
        ([], ValueError, r"^p: empty"),
    ],
)
def test_binary_entropy_errors(p, exc, pattern):
    with pytest.raises(exc, match=pattern):
        binary_entropy(p)


def test_layer_summary_errors():
    with pytest.raises(TypeError, match=r"^layers: expected a mapping"):
        layer_summary([np.ones(3)])
    with pytest.raises(TypeError, match=r"^previous: expected a mapping"):
        layer_summary({"a": np.ones(3)}, [np.ones(3)])
    with pytest.raises(TypeError, match=r"^layers: layer names must be str"):
        layer_summary({1: np.ones(3)})
    with pytest.raises(ValueError, match=r"^layers\['a'\]: contains NaN"):
        layer_summary({"a": np.array([np.nan, 1.0])})
    with pytest.raises(ValueError, match=r"^previous\['a'\] and layers\['a'\]: shape mismatch"):
        layer_summary({"a": np.ones((2, 2))}, {"a": np.ones(4)})
    with pytest.raises(ValueError, match=r"^channel_axis: axis 4 is out of bounds"):
        layer_summary({"a": np.ones((2, 2, 2, 2))}, channel_axis=4)


# --------------------------------------------------------------------------- cupy


@pytest.mark.gpu
def test_cupy_matches_numpy():
    import cupy

    rng = np.random.default_rng(3)
    w = rng.standard_normal((8, 4, 3, 3))
    wc = cupy.asarray(w)
    assert bit_entropy(wc) == bit_entropy(w)
    got = bit_entropy(wc, axis=(1, 2, 3))
    assert isinstance(got, cupy.ndarray)
    np.testing.assert_array_equal(cupy.asnumpy(got), bit_entropy(w, axis=(1, 2, 3)))
    assert flip_ratio(wc, -wc) == 1.0
    assert layer_summary({"w": wc}) == layer_summary({"w": w})
    with pytest.raises(TypeError, match="numpy and cupy mixed"):
        flip_ratio(w, wc)
