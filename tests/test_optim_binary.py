"""Binary optimisers (signSGD, Signum, BinaryConnect, ProxQuant, Bop) and BinaryConnect's stochastic
binarizer: single steps against hand-computed values, the rules at their boundaries, parameter
groups, validation, and a short training run of each through :func:`bnnlab.learn.latent.train`."""

from __future__ import annotations

import numpy as np
import pytest

from bnnlab import nn, optim
from bnnlab.learn.latent import train
from bnnlab.nn import Parameter, binarizers
from bnnlab.nn._stochastic import StochasticSign


def param(value, grad=None, tags=("weight",)):
    p = Parameter(np.array(value, dtype=np.float64), tags)
    p.grad = None if grad is None else np.array(grad, dtype=np.float64)
    return p


def bparam(value, grad=None):
    return param(value, grad, ("weight", "binarized"))


# -- registry ---------------------------------------------------------------------------------


def test_registry_aliases_and_documentation():
    assert optim.available() == [
        "adam",
        "binary-connect",
        "bop",
        "proxquant",
        "qp-sbgd",
        "sgd",
        "signsgd",
        "signum",
    ]
    expected = {
        "signsgd": optim.SignSGD,
        "signum": optim.Signum,
        "binary-connect": optim.BinaryConnect,
        "proxquant": optim.ProxQuant,
        "bop": optim.Bop,
        "qp-sbgd": optim.QPSBGD,
    }
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


# -- BinaryConnect ----------------------------------------------------------------------------


def test_binary_connect_sgd_step_then_clip_only_binary_parameters():
    w = bparam([0.95, -0.95, 0.2, 1.0], [-1.0, 1.0, 1.0, 0.0])
    r = param([0.95, -0.95], [-1.0, 1.0])  # real: same step, no clip
    opt = optim.BinaryConnect([w, r], lr=0.125)
    opt.step()
    np.testing.assert_allclose(w.data, [1.0, -1.0, 0.075, 1.0])
    np.testing.assert_allclose(r.data, [1.075, -1.075])


def test_binary_connect_signsgd_inner_and_custom_clip():
    w = bparam([0.4, -0.4, 0.1], [-1e-6, 2.0, 0.0])
    opt = optim.BinaryConnect([w], lr=0.25, inner="signsgd", clip=0.5)
    assert isinstance(opt.inner, optim.SignSGD)
    opt.step()
    np.testing.assert_array_equal(w.data, [0.5, -0.5, 0.1])  # 0.65 -> 0.5, -0.65 -> -0.5


def test_binary_connect_groups_weight_decay_lr_scale_and_inner_kwargs():
    w = bparam([0.5], [0.5])
    r = param([2.0], [0.5])
    groups = [
        {"params": [w], "weight_decay": 0.0, "lr_scale": 0.5},
        {"params": [r], "weight_decay": 0.25},
    ]
    opt = optim.BinaryConnect(groups, lr=0.1, inner_kwargs={"momentum": 0.9})
    assert [len(g["params"]) for g in opt.inner.groups] == [1, 1]  # the inner gets every param
    opt.step()
    opt.step()
    # momentum buffer: v1 = d, v2 = 0.9 v1 + d; binary lr = 0.05, no decay
    np.testing.assert_allclose(w.data, [0.5 - 0.05 * 0.5 - 0.05 * (0.9 * 0.5 + 0.5)])
    d1 = 0.5 + 0.25 * 2.0
    r1 = 2.0 - 0.1 * d1
    d2 = 0.5 + 0.25 * r1
    np.testing.assert_allclose(r.data, [r1 - 0.1 * (0.9 * d1 + d2)])


def test_binary_connect_follows_the_schedule_through_set_lr():
    w = bparam([0.0], [1.0])
    opt = optim.BinaryConnect([w], lr=0.1)
    opt.set_lr(0.25)
    assert opt.lr == 0.25 and opt.inner.lr == 0.25
    opt.lr = 0.5
    assert opt.inner.lr == 0.5
    opt.step()
    np.testing.assert_allclose(w.data, [-0.5])


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


# -- ProxQuant --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("theta", "expected"),
    [
        (2.0, 1.9),  # above +1, outside the band: pulled down by kappa
        (1.05, 1.0),  # above +1, inside the band: lands on +1
        (1.0, 1.0),
        (0.97, 1.0),  # below +1, inside the band
        (0.5, 0.6),  # 0 < theta < 1, outside the band: pushed up by kappa
        (0.0, 0.1),  # the tie: sign(0) = +1
        (-0.3, -0.4),
        (-0.98, -1.0),
        (-1.0, -1.0),
        (-1.08, -1.0),
        (-1.2, -1.1),
        (-3.0, -2.9),
    ],
)
def test_binary_prox_closed_form(theta, expected):
    out = optim.binary_prox(np.array([theta]), 0.1)
    np.testing.assert_allclose(out, [expected], rtol=0, atol=1e-15)


@pytest.mark.parametrize("kappa", [0.0, 0.05, 0.3, 0.99, 1.5])
def test_binary_prox_is_the_minimiser(kappa):
    """Independent check: argmin_x 1/2 (x - theta)^2 + kappa min(|x - 1|, |x + 1|) on a grid."""
    grid = np.linspace(-4, 4, 80_001)
    reg = np.minimum(np.abs(grid - 1), np.abs(grid + 1))
    thetas = np.array([-3.1, -1.4, -1.0, -0.7, -0.2, 0.35, 0.9, 1.0, 1.02, 1.6, 2.5])
    out = optim.binary_prox(thetas, kappa)
    for t, o in zip(thetas, out, strict=True):
        obj = 0.5 * (grid - t) ** 2 + kappa * reg
        assert abs(o - grid[np.argmin(obj)]) <= 1e-4, (t, kappa)
        assert 0.5 * (o - t) ** 2 + kappa * min(abs(o - 1), abs(o + 1)) <= obj.min() + 1e-12


def test_proxquant_step_scales_lambda_by_the_group_lr():
    w = bparam([0.5, 1.02, -2.0], [1.0, 0.0, -1.0])
    w2 = bparam([0.5], [0.0])
    r = param([0.5], [1.0])
    groups = [{"params": [w, r]}, {"params": [w2], "lr_scale": 0.5}]
    opt = optim.ProxQuant(groups, lr=0.1, lam=0.2, homotopy="constant")
    opt.step()
    # SGD: [0.4, 1.02, -1.9]; kappa = 0.1 * 0.2 = 0.02
    np.testing.assert_allclose(w.data, [0.42, 1.0, -1.88], atol=1e-15)
    np.testing.assert_allclose(r.data, [0.4])  # not binary: inner step only
    np.testing.assert_allclose(w2.data, [0.51])  # kappa = 0.05 * 0.2


def test_proxquant_unscaled_lambda_and_clip():
    w = bparam([0.5, 1.5], [0.0, 0.0])
    optim.ProxQuant([w], lr=0.1, lam=0.2, homotopy="constant", scale_by_lr=False).step()
    np.testing.assert_allclose(w.data, [0.7, 1.3])
    w = bparam([0.5, 1.5], [0.0, 0.0])
    optim.ProxQuant([w], lr=0.1, lam=0.2, homotopy="constant", scale_by_lr=False, clip=1.0).step()
    np.testing.assert_allclose(w.data, [0.7, 1.0])


def test_proxquant_homotopy_set_epoch_set_lambda():
    w = bparam([0.0], [0.0])
    opt = optim.ProxQuant([w], lr=1.0, lam=0.01)
    assert opt.lam == pytest.approx(0.01)  # linear: lam0 (epoch + 1), epoch 0 before set_epoch
    opt.set_epoch(4, 10)
    assert opt.lam == pytest.approx(0.05)
    opt.set_lambda(0.3)
    assert opt.lam == 0.3
    opt.step()
    np.testing.assert_allclose(w.data, [0.3])
    const = optim.ProxQuant([bparam([0.0])], lr=1.0, lam=0.02, homotopy="constant")
    const.set_epoch(7, 10)
    assert const.lam == 0.02
    custom = optim.ProxQuant([bparam([0.0])], lr=1.0, homotopy=lambda e: 1e-3 * 2**e)
    assert custom.lam == pytest.approx(1e-3)
    custom.set_epoch(3, 10)
    assert custom.lam == pytest.approx(8e-3)


def test_proxquant_finalize_hard_quantises_binary_parameters_only():
    w = bparam([0.3, -0.2, 0.0, 1.7])
    r = param([0.3])
    opt = optim.ProxQuant([w, r], lr=0.1)
    opt.finalize()
    np.testing.assert_array_equal(w.data, [1.0, -1.0, 1.0, 1.0])
    np.testing.assert_array_equal(r.data, [0.3])


def test_proxquant_with_adam_inner_and_a_predicate_selector():
    a = param([0.5], [1.0])
    b = param([0.5], [1.0])
    opt = optim.ProxQuant(
        [a, b], lr=0.01, inner="adam", homotopy="constant", lam=1.0, binary=lambda p: p is a
    )
    assert [n for n, _ in opt.binary_params] == ["group 0 parameter 0"]
    opt.step()
    # Adam's first step is lr * sign(g) (up to eps): 0.49; then a's prox with kappa = 0.01
    np.testing.assert_allclose(b.data, [0.49], rtol=1e-6)
    np.testing.assert_allclose(a.data, [0.50], rtol=1e-6)


# -- Bop --------------------------------------------------------------------------------------


def test_bop_flips_exactly_where_w_m_exceeds_tau():
    w = bparam([1.0, -1.0, 1.0, -1.0, 1.0, -1.0], [1.0, 1.0, 0.5, -0.5, -1.0, -1.0])
    opt = optim.Bop([w], gamma=0.5, threshold=0.25)
    opt.step()
    # m = 0.5 g = [.5, .5, .25, -.25, -.5, -.5]; w m = [.5, -.5, .25, .25, -.5, .5]
    np.testing.assert_array_equal(opt.state[id(w)]["m"], [0.5, 0.5, 0.25, -0.25, -0.5, -0.5])
    np.testing.assert_array_equal(w.data, [-1.0, -1.0, 1.0, -1.0, 1.0, 1.0])  # equality: no flip


def test_bop_momentum_recursion_over_several_steps(rng):
    w0 = np.where(rng.random((5, 7)) < 0.5, -1.0, 1.0)
    p = bparam(w0.copy())
    opt = optim.Bop([p], gamma=0.3, threshold=0.05)
    w, m = w0.copy(), np.zeros_like(w0)
    flips = 0
    for _ in range(6):
        g = rng.standard_normal(w0.shape)
        p.grad = g.copy()
        opt.step()
        m = m + 0.3 * (g - m)
        flip = w * m > 0.05
        flips += int(flip.sum())
        w = np.where(flip, -w, w)
        np.testing.assert_allclose(opt.state[id(p)]["m"], m, rtol=1e-14)
        np.testing.assert_array_equal(p.data, w)
    assert flips > 0 and np.all(np.abs(p.data) == 1)


def test_bop_inner_optimiser_gets_the_non_binary_parameters_only():
    model = nn.binary_mlp(6, (5,), 3, seed=0, dtype=np.float64)
    groups = optim.param_groups(model, 1e-3, no_decay=("binarized", "bn"))
    opt = optim.Bop(groups, lr=0.05, init="sign", inner_kwargs={"betas": (0.8, 0.99)})
    inner_names = [n for g in opt.inner.groups for n in g["names"]]
    assert sorted(inner_names) == ["bn1.beta", "bn1.gamma", "out.bias", "out.weight"]
    assert [n for n, _ in opt.binary_params] == ["fc1.weight"]
    assert isinstance(opt.inner, optim.Adam) and opt.inner.beta1 == 0.8
    # the inner step equals a stand-alone Adam on the same groups (decay on out.* only)
    named = dict(model.named_parameters())
    ref = {n: param(p.data.copy(), None, p.tags) for n, p in named.items() if n != "fc1.weight"}
    ref_groups = [
        {"params": [ref[n] for n in g["names"]], "weight_decay": g["weight_decay"]}
        for g in opt.inner.groups
    ]
    ref_opt = optim.Adam(ref_groups, lr=0.05, betas=(0.8, 0.99))
    rng = np.random.default_rng(0)
    for _ in range(2):
        for n, p in named.items():
            p.grad = rng.standard_normal(p.data.shape) * 1e-3
            if n in ref:
                ref[n].grad = p.grad.copy()
        opt.step()
        ref_opt.step()
        for n in ref:
            np.testing.assert_allclose(named[n].data, ref[n].data, rtol=1e-13)
        assert np.all(np.abs(named["fc1.weight"].data) == 1)


def test_bop_lr_scale_does_not_touch_binary_weights_and_set_lr_reaches_inner():
    w = bparam([1.0, -1.0], [0.5, 0.5])
    r = param([0.0], [1.0])
    opt = optim.Bop(
        [{"params": [w], "lr_scale": 100.0}, {"params": [r], "lr_scale": 0.5}],
        lr=0.1,
        gamma=1.0,
        threshold=0.4,
        inner="sgd",
    )
    opt.set_lr(0.2)
    opt.step()
    np.testing.assert_array_equal(w.data, [-1.0, -1.0])
    np.testing.assert_allclose(r.data, [-0.1])  # 0.2 * 0.5 * 1.0


def test_bop_schedules_and_setters():
    w = bparam([1.0, 1.0], [1.0, 1.0])
    seen = []

    def gamma(step):
        seen.append(step)
        return 0.5 if step == 0 else 1.0

    opt = optim.Bop([w], gamma=gamma, threshold=lambda step: 0.6 - 0.2 * step)
    assert opt.current() == (0.5, 0.6)
    opt.step()  # m = 0.5: w m = 0.5 < 0.6, no flip
    np.testing.assert_array_equal(w.data, [1.0, 1.0])
    w.grad = np.array([1.0, -1.0])
    opt.step()  # gamma 1: m = g; tau 0.4: flips the first only
    np.testing.assert_array_equal(w.data, [-1.0, 1.0])
    assert seen[0] == 0 and seen[-1] == 1
    opt.set_gamma(0.25)
    opt.set_threshold(0.0)
    assert opt.current() == (0.25, 0.0)
    with pytest.raises(ValueError, match="gamma"):
        opt.set_gamma(0.0)
    opt.set_threshold(lambda step: -1.0)
    with pytest.raises(ValueError, match="threshold"):
        opt.step()


def test_bop_validates_binary_values_init_and_weight_decay():
    model = nn.binary_mlp(6, (5,), 3, seed=0)
    groups = optim.param_groups(model, 0.0)
    with pytest.raises(ValueError, match=r"'fc1\.weight'.*±1"):
        optim.Bop(groups)
    opt = optim.Bop(groups, init="sign")
    fc1 = dict(model.named_parameters())["fc1.weight"].data
    assert fc1.dtype == np.float32 and np.all(np.abs(fc1) == 1)
    optim.Bop(optim.param_groups(model, 0.0))  # now valid without init
    with pytest.raises(ValueError, match=r"weight_decay.*'fc1\.weight'"):
        optim.Bop(optim.param_groups(model, 1e-4))
    optim.Bop(optim.param_groups(model, 1e-4, no_decay=("binarized",)))
    w = bparam([1.0, 0.5])
    with pytest.raises(ValueError, match="group 0 parameter 0"):
        optim.Bop([w])
    with pytest.raises(ValueError, match="init"):
        optim.Bop(groups, init="zero")
    for bad in ({"gamma": 0.0}, {"gamma": 1.5}, {"threshold": -1e-9}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            optim.Bop(groups, **bad)
    assert opt.inner is not None


def test_bop_without_non_binary_parameters_has_no_inner():
    w = bparam([1.0, -1.0], [1.0, 1.0])
    opt = optim.Bop([w], gamma=1.0, threshold=0.0)
    assert opt.inner is None
    opt.set_lr(0.5)
    opt.step()
    np.testing.assert_array_equal(w.data, [-1.0, -1.0])


# -- shared validation ------------------------------------------------------------------------


def test_binary_optimisers_validate_their_arguments():
    w = bparam([0.5], [1.0])
    r = param([0.5], [1.0])
    with pytest.raises(ValueError, match="beta"):
        optim.Signum([r], lr=0.1, beta=1.0)
    with pytest.raises(ValueError, match="lr"):
        optim.SignSGD([r], lr=-0.1)
    with pytest.raises(ValueError, match="clip"):
        optim.BinaryConnect([w], lr=0.1, clip=0.0)
    with pytest.raises(ValueError, match="binary"):
        optim.BinaryConnect([r], lr=0.1)  # nothing tagged 'binarized'
    with pytest.raises(ValueError, match="binary"):
        optim.BinaryConnect([w], lr=0.1, binary="binary")
    with pytest.raises(TypeError, match="binary"):
        optim.BinaryConnect([w], lr=0.1, binary=3)
    with pytest.raises(ValueError, match="alias"):
        optim.BinaryConnect([w], lr=0.1, inner="rmsprop")
    with pytest.raises(ValueError, match="inner"):
        optim.BinaryConnect([w], lr=0.1, inner="bop")
    with pytest.raises(TypeError, match="inner"):
        optim.BinaryConnect([w], lr=0.1, inner=optim.SGD([r], lr=0.1))
    with pytest.raises(ValueError, match="inner_kwargs"):
        optim.BinaryConnect([w], lr=0.1, inner_kwargs={"lr": 0.5})
    with pytest.raises(TypeError, match="inner_kwargs"):
        optim.BinaryConnect([w], lr=0.1, inner_kwargs={"betas": (0.9, 0.99)})
    with pytest.raises(ValueError, match="lam"):
        optim.ProxQuant([w], lr=0.1, lam=-0.1)
    with pytest.raises(ValueError, match="homotopy"):
        optim.ProxQuant([w], lr=0.1, homotopy="quadratic")
    with pytest.raises(TypeError, match="homotopy"):
        optim.ProxQuant([w], lr=0.1, homotopy=2.0)
    with pytest.raises(ValueError, match="homotopy"):
        optim.ProxQuant([w], lr=0.1, homotopy=lambda e: -1.0)
    with pytest.raises(ValueError, match="lam"):
        optim.ProxQuant([w], lr=0.1).set_lambda(-1)


def test_hooks_exist_on_every_optimiser():
    r = param([0.5], [1.0])
    for opt in (optim.SGD([r], lr=0.1), optim.SignSGD([r], lr=0.1)):
        opt.set_epoch(0, 3)
        opt.finalize()
        np.testing.assert_array_equal(r.data, [0.5])


# -- training through the latent loop ---------------------------------------------------------


def blobs(seed, n=600, d=16, classes=4):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((classes, d)) * 2.5
    y = rng.integers(0, classes, n)
    x = (centers[y] + rng.standard_normal((n, d))).astype(np.float32)
    return x[: n * 3 // 4], y[: n * 3 // 4], x[n * 3 // 4 :], y[n * 3 // 4 :]


CASES = {
    "signsgd": ("ste_sign", lambda g: optim.get("signsgd")(g, lr=0.01)),
    "signum": ("ste_sign", lambda g: optim.get("signum")(g, lr=0.01)),
    "bc-sgd": ("ste_sign", lambda g: optim.get("binary-connect")(g, lr=0.05)),
    "bc-signsgd": (
        "ste_sign",
        lambda g: optim.get("binary-connect")(g, lr=0.01, inner="signsgd"),
    ),
    "bc-stochastic": (
        StochasticSign(seed=5),
        lambda g: optim.get("binary-connect")(g, lr=0.05, inner_kwargs={"momentum": 0.9}),
    ),
    "proxquant": ("ste_sign", lambda g: optim.get("proxquant")(g, lr=0.01, inner="adam")),
    "bop": (
        "ste_sign",
        lambda g: optim.get("bop")(g, lr=0.01, gamma=1e-2, threshold=1e-5, init="sign"),
    ),
}


def run_case(case, data, epochs=3):
    wb, make = CASES[case]
    if isinstance(wb, StochasticSign):
        wb = StochasticSign(seed=5)
    model = nn.binary_mlp(16, (32,), 4, weight_binarizer=wb, seed=2)
    groups = optim.param_groups(model, 5e-4, no_decay=("binarized", "bn"))
    opt = make(groups)
    rows = train(
        model,
        data,
        optimizer=opt,
        epochs=epochs,
        batch_size=50,
        seed=0,
        progress=False,
    )  # the loop calls opt.set_epoch(e, epochs) each epoch and opt.finalize() at the end
    weights = {n: p.data.copy() for n, p in model.named_parameters()}
    return rows, weights, opt


@pytest.mark.parametrize("case", list(CASES))
def test_each_optimiser_trains_a_binary_mlp_deterministically(case):
    data = blobs(0)
    rows, weights, opt = run_case(case, data)
    assert rows[-1]["test_accuracy"] > 80  # percent; chance is 25
    assert rows[-1]["train_loss"] < rows[0]["train_loss"]
    rows2, weights2, _ = run_case(case, data)
    assert [{k: v for k, v in r.items() if k != "seconds"} for r in rows] == [
        {k: v for k, v in r.items() if k != "seconds"} for r in rows2
    ]
    for n in weights:
        np.testing.assert_array_equal(weights[n], weights2[n])
    if case in ("bop", "proxquant"):
        assert np.all(np.abs(weights["fc1.weight"]) == 1)
    if case == "proxquant":
        assert opt.lam == pytest.approx(0.03)  # set_epoch(2, 3) by the training loop
    if case.startswith("bc"):
        assert np.abs(weights["fc1.weight"]).max() <= 1


# -- cupy -------------------------------------------------------------------------------------


@pytest.mark.gpu
@pytest.mark.parametrize("case", list(CASES))
def test_cupy_steps_equal_numpy_steps(case):
    import cupy as cp

    _, make = CASES[case]
    results = []
    for xp in (np, cp):
        model = nn.binary_mlp(6, (5,), 3, seed=0, dtype=np.float64).to(xp)
        groups = optim.param_groups(model, 1e-3, no_decay=("binarized", "bn"))
        opt = make(groups)
        rng = np.random.default_rng(1)
        for _ in range(3):
            for _, p in model.named_parameters():
                p.grad = xp.asarray(rng.standard_normal(p.data.shape) * 0.1)
            opt.step()
        opt.finalize()
        for _, p in model.named_parameters():
            assert isinstance(p.data, xp.ndarray)
        results.append({n: cp.asnumpy(p.data) for n, p in model.named_parameters()})
    for n in results[0]:
        np.testing.assert_allclose(results[1][n], results[0][n], rtol=1e-12, atol=1e-15)


@pytest.mark.gpu
def test_stochastic_sign_same_signs_on_cupy():
    import cupy as cp

    w = np.linspace(-1.2, 1.2, 600).reshape(20, 30)
    a = StochasticSign(seed=9).sample(w)
    b = StochasticSign(seed=9).sample(cp.asarray(w))
    assert isinstance(b, cp.ndarray)
    np.testing.assert_array_equal(cp.asnumpy(b), a)
