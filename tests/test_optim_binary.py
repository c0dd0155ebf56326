"""Binary optimisers and BinaryConnect's stochastic binarizer: single steps against hand-computed
values, the rules at their boundaries."""

from __future__ import annotations

import numpy as np
import pytest

from bnnlab import nn, optim
from bnnlab.nn import Parameter, binarizers
from bnnlab.nn._stochastic import StochasticSign


def param(value, grad=None, tags=("weight",)):
    p = Parameter(np.array(value, dtype=np.float64), tags)
    p.grad = None if grad is None else np.array(grad, dtype=np.float64)
    return p


# -- registry ---------------------------------------------------------------------------------


def test_registry_aliases_and_documentation():
    assert optim.available() == ["adam", "sgd", "signsgd", "signum"]
    expected = {"signsgd": optim.SignSGD, "signum": optim.Signum}
    for alias, cls in expected.items():
        assert optim.get(alias) is cls
        assert ".. math::" in cls.__doc__ and "References" in cls.__doc__, alias


# -- signSGD / Signum -------------------------------------------------------------------------


def test_signsgd_step_with_sign_zero_is_zero_weight_decay_and_lr_scale():
    a = param([0.5, -0.25, 0.75, 2.0], [0.3, -2.0, 0.0, -0.1])
    b = param([1.0, 1.0], [0.0, 5.0])
    opt = optim.SignSGD(
        [{"params": [a], "weight_decay": 0.1}, {"params": [b], "lr_scale": 0.5}], lr=0.125
    )
    opt.step()
    # d = g + 0.1 w = [0.35, -2.025, 0.075, 0.1]: every sign +-1, steps of exactly 0.125
    np.testing.assert_array_equal(a.data, [0.375, -0.125, 0.625, 1.875])
    # no decay in group 2; sign(0) = 0 leaves the first entry; lr 0.0625
    np.testing.assert_array_equal(b.data, [1.0, 0.9375])


def test_signum_buffer_over_several_steps():
    grads = [np.array([1.0, -1.0, 0.5]), np.array([-0.5, 3.0, -2.0]), np.array([0.2, -1.0, 4.0])]
    p = param([0.0, 0.0, 0.0], grads[0])
    opt = optim.Signum([p], lr=0.01, weight_decay=0.1)  # beta = 0.9 by default
    w, m = np.zeros(3), np.zeros(3)
    for g in grads:
        p.grad = g.copy()
        opt.step()
        d = g + 0.1 * w
        m = 0.9 * m + 0.1 * d
        w = w - 0.01 * np.sign(m)
        np.testing.assert_allclose(opt.state[id(p)]["momentum"], m, rtol=1e-14)
        np.testing.assert_allclose(p.data, w, rtol=1e-14)
    # the momentum, not the gradient, sets the direction: step 2 on coordinate 0 has g < 0 but m > 0
    assert grads[1][0] < 0 and 0.9 * 0.1 * 1.0 + 0.1 * -0.5 > 0


def test_signum_zero_momentum_does_not_move():
    p = param([1.0, 1.0], [1.0, 1.0])
    opt = optim.Signum([p], lr=0.25, beta=0.5)
    opt.step()  # m = [0.5, 0.5]
    np.testing.assert_array_equal(p.data, [0.75, 0.75])
    p.grad = np.array([-0.5, 1.0])  # m = [0, 0.75]: sign(0) = 0
    opt.step()
    np.testing.assert_array_equal(opt.state[id(p)]["momentum"], [0.0, 0.75])
    np.testing.assert_array_equal(p.data, [0.75, 0.5])


def test_signum_beta_zero_is_signsgd():
    a, b = param([0.3, -0.7], [0.2, -0.1]), param([0.3, -0.7], [0.2, -0.1])
    optim.Signum([a], lr=0.1, beta=0.0).step()
    optim.SignSGD([b], lr=0.1).step()
    np.testing.assert_array_equal(a.data, b.data)


# -- BinaryConnect's stochastic binarizer -----------------------------------------------------


def test_stochastic_sign_probability_matches_hard_sigmoid():
    ws = np.array([-1.5, -1.0, -0.6, -0.1, 0.0, 0.3, 0.8, 1.0, 2.0])
    n = 20_000
    b = StochasticSign(seed=7)
    w = np.repeat(ws[:, None], n, axis=1)  # one row per value
    q = b.sample(w)
    assert set(np.unique(q)) <= {-1.0, 1.0} and q.dtype == np.float64
    freq = (q == 1).mean(axis=1)
    p = np.clip((ws + 1) / 2, 0, 1)
    np.testing.assert_array_equal(b.probability(ws), p)
    np.testing.assert_array_equal(freq[p == 0], 0.0)  # certain outcomes are certain
    np.testing.assert_array_equal(freq[p == 1], 1.0)
    sd = np.sqrt(p * (1 - p) / n)
    inner = (p > 0) & (p < 1)
    assert np.all(np.abs(freq[inner] - p[inner]) < 5 * sd[inner])


def test_stochastic_sign_is_deterministic_per_seed_and_float32():
    w = np.linspace(-1, 1, 500, dtype=np.float32).reshape(10, 50)
    a = StochasticSign(seed=3).sample(w)
    b = StochasticSign(seed=np.random.default_rng(3)).sample(w)
    c = StochasticSign(seed=4).sample(w)
    assert a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert np.any(a != c)


def test_stochastic_sign_samples_only_in_training_forwards():
    w = np.full((4, 200), 0.2)
    b = StochasticSign(seed=0)
    out, _ = b.forward(w)  # not announced by update_latent: evaluation, deterministic sign
    np.testing.assert_array_equal(out, np.ones_like(w))
    assert b.update_latent(w) is None
    out, _ = b.forward(w)
    assert set(np.unique(out)) == {-1.0, 1.0}
    np.testing.assert_array_equal(b.forward(w)[0], np.ones_like(w))  # armed for one forward
    g = np.arange(3.0)
    np.testing.assert_array_equal(b.backward(g, np.array([-1.0, 0.5, 1.5])), [0.0, 1.0, 0.0])
    real = StochasticSign(seed=0, eval_mode="real")
    np.testing.assert_array_equal(real(w), w)
    sample = StochasticSign(seed=0, eval_mode="sample")
    assert set(np.unique(sample(w))) == {-1.0, 1.0}


def test_stochastic_sign_in_a_layer_samples_while_training():
    layer = nn.Dense(
        40, 30, bias=False, weight_binarizer=StochasticSign(seed=1), seed=0, dtype=np.float64
    )
    layer.weight = np.zeros((30, 40))
    x = np.eye(40)
    train_out = layer.forward(x, True)  # columns of the sampled weight
    assert set(np.unique(train_out)) == {-1.0, 1.0}
    np.testing.assert_array_equal(layer.forward(x, False), np.ones((40, 30)))


def test_stochastic_sign_registry_and_validation():
    assert binarizers.get("stochastic_sign") is StochasticSign
    with pytest.raises(TypeError, match="seed"):
        binarizers.get("stochastic_sign")()
    with pytest.raises(TypeError, match="seed"):
        binarizers.make("stochastic_sign", "weight")
    with pytest.raises(ValueError, match="activation"):
        binarizers.make(StochasticSign(seed=0), "activation")
    with pytest.raises(ValueError, match="eval_mode"):
        StochasticSign(seed=0, eval_mode="mean")
    with pytest.raises(ValueError, match="clip"):
        StochasticSign(seed=0, clip=0.0)


def test_hooks_exist_on_every_optimiser():
    r = param([0.5], [1.0])
    for opt in (optim.SGD([r], lr=0.1), optim.SignSGD([r], lr=0.1)):
        opt.set_epoch(0, 3)
        opt.finalize()
        np.testing.assert_array_equal(r.data, [0.5])
