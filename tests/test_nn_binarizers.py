"""Binarizers: registry contract, forward rules, and each documented pseudo-gradient exactly.

The sign has zero derivative, so the pseudo-gradients are checked against their documented
formulas; where a pseudo-gradient is the exact gradient of a documented smooth surrogate (IR-Net's
EDE, SiMaN's identity-into-|w_hat|, SiMaN's activation), that surrogate is written here
independently of the library and differentiated by finite differences in float64.
"""

from __future__ import annotations

import importlib

import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import assume, given, settings

from bnnlab import nn
from bnnlab.nn import binarizers
from bnnlab.nn._siman import SiMaNWeight, percentile_clip
from bnnlab.nn.gradcheck import numerical_gradient
from bnnlab.signs import sign

ALIASES = ["approx_sign", "irnet", "siman", "siman_act", "ste_sign", "stochastic_sign", "xnor"]


def standardized(w, eps, ddof, axes=(1,)):
    """Independent reference: (w - mean) / sqrt(var_ddof + eps) over ``axes``."""
    mu = w.mean(axis=axes, keepdims=True)
    var = w.var(axis=axes, keepdims=True, ddof=ddof)
    return (w - mu) / np.sqrt(var + eps)


def test_registry_lists_every_binarizer_with_documentation():
    assert binarizers.available() == ALIASES
    for alias in ALIASES:
        cls = binarizers.get(alias)
        assert cls.alias == alias
        doc = cls.__doc__
        assert ".. math::" in doc, alias
        module_doc = importlib.import_module(cls.__module__).__doc__
        assert "References" in doc or "References" in module_doc, alias
    with pytest.raises(ValueError, match="alias"):
        binarizers.get("sign")


@pytest.mark.parametrize("alias", ALIASES)
def test_contract_shape_dtype_values(rng, alias):
    cls = binarizers.get(alias)
    b = cls(seed=0) if alias == "stochastic_sign" else cls()
    x = rng.standard_normal((6, 2, 3, 3)).astype(np.float32)
    if b.role == "weight":
        x = x.reshape(6, -1)
    out, cache = b.forward(x)
    assert out.shape == x.shape and out.dtype == np.float32
    assert np.all(np.abs(out) > 0)
    # binary: one magnitude per row (per filter); +-1 for all but xnor / irnet
    mags = np.abs(out.reshape(out.shape[0], -1))
    np.testing.assert_allclose(mags, mags[:, :1].repeat(mags.shape[1], axis=1))
    if alias not in ("xnor", "irnet"):
        assert set(np.unique(out)) <= {-1.0, 1.0}
    g = rng.standard_normal(x.shape).astype(np.float32)
    gx = b.backward(g, cache)
    assert gx.shape == x.shape and gx.dtype == np.float32
    assert np.isfinite(gx).all()
    np.testing.assert_array_equal(b(x), out)


@pytest.mark.parametrize("alias", ["ste_sign", "approx_sign", "siman_act"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sign_tie_rule_zero_is_plus_one(alias, dtype):
    # the documented rule of every sign binarizer: bnnlab.signs.sign(zero="plus"), input dtype
    x = np.array([[-2.0, -0.0, 0.0, 3.0]], dtype=dtype)
    if alias == "siman_act":  # standardised per sample: centre so that two entries are exactly 0
        x = np.array([[-2.0, 0.0, 0.0, 2.0]], dtype=dtype)
    out = binarizers.get(alias)()(x)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, [[-1, 1, 1, 1]])
    np.testing.assert_array_equal(out, sign(x, zero="plus"))


def test_weight_sign_binarizers_map_zero_weights_to_plus_scale():
    w = np.array([[0.0, -0.5, 1.5, -0.0], [2.0, 0.0, -1.0, 3.0]])
    s = binarizers.get("xnor")()(w)
    alpha = np.abs(w).mean(axis=1, keepdims=True)
    np.testing.assert_array_equal(s, alpha * sign(w, zero="plus"))
    # irnet centres each row; a row whose entries straddle its mean exactly keeps 0 -> +scale
    q = binarizers.get("irnet")()(np.array([[1.0, 2.0, 3.0]]))
    assert q[0, 1] > 0 and q[0, 0] == -q[0, 1] and q[0, 2] == q[0, 1]


def test_ste_sign_pseudo_gradient_is_clipped_identity():
    x = np.array([-1.5, -1.0, -0.3, 0.0, 0.7, 1.0, 1.0001])
    g = np.arange(1.0, 8.0)
    b = binarizers.get("ste_sign")()
    _, cache = b.forward(x)
    np.testing.assert_array_equal(b.backward(g, cache), [0, 2, 3, 4, 5, 6, 0])
    b2 = binarizers.get("ste_sign")(clip=0.5)
    np.testing.assert_array_equal(b2.backward(g, b2.forward(x)[1]), [0, 0, 3, 4, 0, 0, 0])


def test_approx_sign_pseudo_gradient_is_bireal_quadratic_derivative():
    x = np.array([-1.5, -1.0, -0.5, 0.0, 0.25, 1.0, 2.0])
    b = binarizers.get("approx_sign")()
    got = b.backward(np.ones_like(x), b.forward(x)[1])
    np.testing.assert_array_equal(got, [0, 0, 1, 2, 1.5, 0, 0])
    # it is the derivative of F(x) = 2x - x|x| on [-1, 1]
    inner = np.linspace(-0.9, 0.9, 6)

    def surrogate(v):
        return float(np.sum(2 * v - v * np.abs(v)))

    num = numerical_gradient(lambda: surrogate(inner), inner)
    np.testing.assert_allclose(b.backward(np.ones_like(inner), inner), num, rtol=1e-7)


@pytest.mark.parametrize("scale_gradient", [True, False])
def test_xnor_forward_and_pseudo_gradient(rng, scale_gradient):
    w = rng.standard_normal((3, 5)) * 0.8
    g = rng.standard_normal((3, 5))
    b = binarizers.get("xnor")(scale_gradient=scale_gradient)
    out, cache = b.forward(w)
    alpha = np.abs(w).mean(axis=1, keepdims=True)
    np.testing.assert_array_equal(out, alpha * np.where(w >= 0, 1.0, -1.0))
    expected = np.zeros_like(w)
    n = w.shape[1]
    for r in range(3):
        s = np.where(w[r] >= 0, 1.0, -1.0)
        for j in range(n):
            expected[r, j] = alpha[r, 0] * g[r, j] * (abs(w[r, j]) <= 1)
            if scale_gradient:
                expected[r, j] += s[j] / n * np.sum(g[r] * s)
    np.testing.assert_allclose(b.backward(g, cache), expected, rtol=1e-12)


def test_irnet_forward_balanced_standardised_power_of_two_scale(rng):
    w = rng.standard_normal((4, 18)) * 0.1 + 0.3
    b = binarizers.get("irnet")()
    out, _ = b.forward(w)
    wh = standardized(w, 0.0, 1)
    s = 2.0 ** np.round(np.log2(np.abs(wh).mean(axis=1, keepdims=True)))
    np.testing.assert_array_equal(out, s * np.where(wh >= 0, 1.0, -1.0))
    # balanced: the code of the centred weights, not of the (positive-mean) raw weights
    assert (out < 0).sum() > 0 and (w < 0).sum() == 0


@pytest.mark.parametrize(("epoch", "mode"), [(0, "ede"), (3, "ede"), (5, "ede"), (2, "ste")])
def test_irnet_pseudo_gradient_is_gradient_of_documented_surrogate(rng, epoch, mode):
    w = rng.standard_normal((3, 7))
    g = rng.standard_normal((3, 7))
    b = binarizers.get("irnet")(pseudo_grad=mode)
    b.set_epoch(epoch, 5)
    t = 0.1 * 10 ** (epoch / 5 * np.log10(100.0))
    assert b.t == pytest.approx(t) and b.k == pytest.approx(max(1 / t, 1))
    _, cache = b.forward(w)
    s = cache[2]  # the detached power-of-two scale

    def surrogate():
        wh = standardized(w, 0.0, 1)
        inner = b.k * np.tanh(b.t * wh) if mode == "ede" else np.clip(wh, -1, 1)
        return float(np.sum(g * s * inner))

    np.testing.assert_allclose(
        b.backward(g, cache), numerical_gradient(surrogate, w), rtol=1e-6, atol=1e-8
    )


@pytest.mark.parametrize("n", [8, 9, 36])
def test_siman_forward_median_split_of_standardised_magnitudes(rng, n):
    w = rng.standard_normal((5, n)) * 0.2 + 0.05
    b = binarizers.get("siman")()
    out, _ = b.forward(w)
    x = np.abs(standardized(w, 1e-5, 1))
    expected = 2 * (x > np.median(x, axis=1, keepdims=True)) - 1
    np.testing.assert_array_equal(out, expected)
    assert ((out > 0).sum(axis=1) == n // 2).all()
    np.testing.assert_array_equal(b.code(w), (expected + 1) // 2)
    # the median split is the k = n/2 {0,1} angle code of the magnitudes
    from bnnlab.theory.angle import align

    np.testing.assert_array_equal((out + 1) // 2, align(x, code="01", k=0.5).code)


def test_siman_backward_is_identity_into_magnitudes_through_standardisation(rng):
    w = rng.standard_normal((4, 9))
    g = rng.standard_normal((4, 9))
    for ddof in (0, 1):
        b = binarizers.get("siman")(ddof=ddof)
        _, cache = b.forward(w)

        def surrogate(ddof=ddof):
            return float(np.sum(g * np.abs(standardized(w, 1e-5, ddof))))

        np.testing.assert_allclose(
            b.backward(g, cache), numerical_gradient(surrogate, w), rtol=1e-6, atol=1e-8
        )


def test_siman_optimal_k_uses_angle_optimal_code(rng):
    from bnnlab.theory.angle import align

    w = rng.laplace(size=(6, 200))
    b = binarizers.get("siman")(k="optimal")
    out, _ = b.forward(w)
    ref = align(np.abs(standardized(w, 1e-5, 1)), code="01")
    np.testing.assert_array_equal((out + 1) // 2, ref.code)
    frac = (out > 0).mean()
    assert 0.25 < frac < 0.5  # near 1/e for Laplacian weights, far from the median's 1/2


def test_percentile_clip(rng):
    w = rng.standard_normal((4, 25))
    np.testing.assert_array_equal(percentile_clip(w, 0.0), w)
    p = 15.0
    out = percentile_clip(w, p)
    mu = w.mean(axis=1, keepdims=True)
    a = np.abs(w - mu)
    lo, hi = np.percentile(a, p), np.percentile(a, 100 - p)
    a2 = np.abs(out - mu)
    assert a2.min() >= lo - 1e-12 and a2.max() <= hi + 1e-12
    np.testing.assert_array_equal(np.sign(out - mu), np.sign(w - mu))
    inside = (a >= lo) & (a <= hi)
    np.testing.assert_allclose(out[inside], w[inside], rtol=1e-12)
    assert (~inside).sum() > 0


def test_siman_clip_schedule_written_back_only_in_training(rng):
    layer = nn.Dense(10, 4, weight_binarizer=SiMaNWeight(clip=True), seed=0, dtype=np.float64)
    layer.set_epoch(0, 10)
    assert layer.weight_binarizer.clip_percent == 15.0
    before = layer.weight.copy()
    x = rng.standard_normal((3, 10))
    layer.forward(x, False)
    np.testing.assert_array_equal(layer.weight, before)
    layer.forward(x, True)
    np.testing.assert_allclose(layer.weight, percentile_clip(before, 15.0))
    assert layer._params["weight"].data is layer.weight
    layer.set_epoch(10, 10)
    assert layer.weight_binarizer.clip_percent == 0.0
    assert layer.weight_binarizer.update_latent(layer.weight) is None


def test_siman_act_forward_and_pseudo_gradient(rng):
    x = rng.standard_normal((3, 2, 3, 2)) * 2 + 0.5
    g = rng.standard_normal(x.shape)
    b = binarizers.get("siman_act")()
    out, cache = b.forward(x)
    centred = x - x.mean(axis=(1, 2, 3), keepdims=True)
    np.testing.assert_array_equal(out, np.where(centred >= 0, 1.0, -1.0))

    def surrogate():
        u = standardized(x, 1e-5, 1, axes=(1, 2, 3))
        f = np.where(np.abs(u) <= 1, 2 * u - u * np.abs(u), np.sign(u))
        return float(np.sum(g * f))

    np.testing.assert_allclose(
        b.backward(g, cache), numerical_gradient(surrogate, x), rtol=1e-6, atol=1e-8
    )


def test_make_resolves_aliases_classes_and_instances():
    inst = binarizers.get("ste_sign")(clip=2.0)
    assert binarizers.make(inst, "weight") is inst
    assert binarizers.make(None, "activation") is None
    assert isinstance(binarizers.make(binarizers.get("siman"), "weight"), SiMaNWeight)
    a = binarizers.make("siman", "weight")
    assert a is not binarizers.make("siman", "weight")  # one instance per layer
    with pytest.raises(TypeError, match="weight_binarizer"):
        binarizers.make(3, "weight")
    with pytest.raises(ValueError, match="k"):
        binarizers.get("siman")(k="third")


@settings(max_examples=40)
@given(
    w=hnp.arrays(np.float64, (3, 8), elements=st.integers(-50, 50).map(float)),
    a=st.sampled_from([-4.0, -1.0, 0.5, 2.0]),
    b=st.integers(-100, 100).map(float),
)
def test_siman_code_invariant_under_per_row_affine_maps(w, a, b):
    """The code depends on the magnitudes of the centred weights only: a*w + b gives the same code
    (power-of-two a and n = 8 keep every step exact, so ties behave identically)."""
    siman = binarizers.get("siman")(eps=0.0)
    assume(np.all(w.std(axis=1) > 0))
    out = siman(w)
    np.testing.assert_array_equal(siman(a * w + b), out)
    mags = np.abs(w - w.mean(axis=1, keepdims=True))
    np.testing.assert_array_equal(out > 0, mags > np.median(mags, axis=1, keepdims=True))
    assert ((out > 0).sum(axis=1) <= 4).all()
