"""The binary-stochastic rule against a hand-written tiny network (explicit loops, the same draws
in the same order), the accumulate-and-carry remainder, the HP baseline's gradient against finite
differences, the device path, and learning on real data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bnnlab.learn.memristive import (
    BinaryStochasticConfig,
    BinaryStochasticMethod,
    HPSGDConfig,
    HPSGDMethod,
)


def tiny(weights="float", threshold=3, **kw):
    cfg = BinaryStochasticConfig(layers=(3,), batch_size=8, weights=weights, threshold=threshold,
                                 **kw)  # fmt: skip
    return BinaryStochasticMethod(cfg, n_features=3, n_classes=2, seed=0)


def oracle_gradients(w1, w2, x, y, rng, a=4.0):
    """The rule of REFERENCES §4.1 with explicit loops (biases as a constant input 1)."""
    b, n = x.shape
    h, c = w1.shape[1], w2.shape[1]
    u_x = rng.random((b, n))
    u_z = rng.random((b, h))
    u_d = rng.random((b, h))
    u_o = rng.random((b, c))
    g1 = np.zeros_like(w1, dtype=np.int64)
    g2 = np.zeros_like(w2, dtype=np.int64)
    for s in range(b):
        xs = [1.0 if u_x[s, i] < x[s, i] else 0.0 for i in range(n)] + [1.0]
        zs, ds = [], []
        for j in range(h):
            yj = sum(xs[i] * w1[i, j] for i in range(n + 1))
            z = 1.0 / (1.0 + math.exp(-a * yj))
            zs.append(1.0 if u_z[s, j] < z else 0.0)
            ds.append(1.0 if u_d[s, j] < a * z * (1 - z) else 0.0)
        zs.append(1.0)
        out = [sum(zs[j] * w2[j, k] for j in range(h + 1)) for k in range(c)]
        m = max(out)
        e = [math.exp(o - m) for o in out]
        p = [v / sum(e) for v in e]
        delta = [(1.0 if u_o[s, k] < p[k] else 0.0) - (1.0 if k == y[s] else 0.0) for k in range(c)]
        for j in range(h + 1):
            for k in range(c):
                g2[j, k] += int(zs[j] * delta[k])
        for j in range(h):
            back = sum(delta[k] * w2[j, k] for k in range(c))
            dz = (1.0 if back > 0 else -1.0 if back < 0 else 0.0) * ds[j]
            for i in range(n + 1):
                g1[i, j] += int(xs[i] * dz)
    return g1, g2


def batch():
    rng = np.random.default_rng(5)
    return rng.random((8, 3)), np.array([0, 1, 1, 0, 1, 0, 0, 1])


def test_one_step_against_a_hand_computed_tiny_network():
    m = tiny()
    m.W[1] *= 0.2  # small output weights: sign(delta W^T) differs from delta W^T itself
    x, y = batch()
    w1, w2 = m.W[0].copy(), m.W[1].copy()
    got = m.gradients(x, y, np.random.default_rng(0))
    g1, g2 = oracle_gradients(w1, w2, x, y, np.random.default_rng(0))
    assert np.array_equal(got[0], g1) and np.array_equal(got[1], g2)
    assert np.abs(g1).sum() >= 4 and np.abs(g2).sum() > 0  # the hidden error is exercised
    # float weights: W <- W - lr * dW / B
    m._apply(0, got[0])
    np.testing.assert_allclose(m.W[0], w1 - 0.1 * g1 / 8)


def test_accumulate_and_carry_keeps_the_remainder():
    m = tiny(weights="integer", threshold=3)
    w0 = m.W[0].copy()
    grad = np.zeros_like(m.buffers[0])
    grad[0, 0], grad[1, 1], grad[2, 0] = 7, -5, 2
    pulses = m._apply(0, grad)
    # fix(7/3) = 2 steps, remainder 1; fix(-5/3) = -1, remainder -2; fix(2/3) = 0, remainder 2
    assert pulses == 3
    assert m.buffers[0][0, 0] == 1 and m.buffers[0][1, 1] == -2 and m.buffers[0][2, 0] == 2
    step = 0.1 * 3 / 8
    assert m.W[0][0, 0] == pytest.approx(np.clip(w0[0, 0] - 2 * step, -1, 1))
    assert m.W[0][1, 1] == pytest.approx(np.clip(w0[1, 1] + 1 * step, -1, 1))
    assert m.W[0][2, 0] == w0[2, 0]
    m._apply(0, grad)  # 1 + 7 = 8 -> 2 steps, remainder 2
    assert m.buffers[0][0, 0] == 2


def test_device_weights_receive_one_depressing_pulse_per_unit_step():
    m = tiny(weights="idealized", threshold=2)
    before = [a.values().copy() for a in m.arrays]
    grad = np.zeros_like(m.buffers[1])
    grad[0, 0] = 5  # two unit steps -> two depressing pulses
    m._apply(1, grad)
    after = m.arrays[1].values()
    assert after[0, 0] < before[1][0, 0]
    assert m.arrays[1].pulses_applied == 2 and m.buffers[1][0, 0] == 1
    assert np.array_equal(after[1:], before[1][1:])


def test_hp_sgd_gradient_matches_finite_differences():
    cfg = HPSGDConfig(layers=(3,), batch_size=5, lr=1.0)
    m = HPSGDMethod(cfg, n_features=4, n_classes=3, seed=0)
    rng = np.random.default_rng(1)
    x, y = rng.random((5, 4)), np.array([0, 1, 2, 1, 0])
    w = [v.copy() for v in m.W]

    def loss():
        return m.evaluate(x, y)["test_loss"]

    num = []
    for layer in range(2):
        g = np.zeros_like(w[layer])
        for idx in np.ndindex(g.shape):
            m.W[layer][idx] += 1e-6
            up = loss()
            m.W[layer][idx] -= 2e-6
            down = loss()
            m.W[layer][idx] += 1e-6
            g[idx] = (up - down) / 2e-6
        num.append(g)
    m.rng = np.random.default_rng(0)  # one batch of all five samples
    m.fit_epoch(x, y)
    for layer in range(2):
        np.testing.assert_allclose(w[layer] - m.W[layer], num[layer], rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("weights", ["float", "integer", "ecram", "pcm-suri"])
def test_learns_on_fashion_mnist_pairs(weights):
    from bnnlab.data import load_binary
    from bnnlab.learn.method import TrainData

    d = TrainData(*load_binary("fashion-mnist-mini:classes=1,7:pool=4:intensity", 0))
    cfg = BinaryStochasticConfig(layers=(20,), weights=weights, batch_size=50)
    m = BinaryStochasticMethod(cfg, n_features=49, n_classes=2, seed=1)
    rows = m.fit(d, epochs=2)
    assert rows[-1]["test_accuracy"] > 80, rows[-1]
    assert rows[-1]["pulses"] > 0 and 0 <= rows[-1]["at_bound"] <= 1


def test_bad_configuration():
    with pytest.raises(ValueError, match="weights"):
        BinaryStochasticConfig(weights="flash")
    with pytest.raises(ValueError, match="threshold"):
        BinaryStochasticConfig(threshold=0)
    m = tiny()
    with pytest.raises(ValueError, match="x: expected intensities"):
        m.evaluate(np.full((2, 3), 2.0), np.array([0, 1]))
    with pytest.raises(ValueError, match="backend"):
        BinaryStochasticMethod(BinaryStochasticConfig(), n_features=3, n_classes=2, seed=0,
                               backend="cupy")  # fmt: skip


@pytest.mark.parametrize(("sign_zero", "clip"), [("zero", None), ("zero", 8), ("plus", 6)])
def test_local_binary_on_an_ideal_device_is_the_learner(sign_zero, clip):
    """A noiseless ConstantStep device with dw_min = step and bounds ±clip reproduces the
    learner's trajectory exactly (from the same in-range initial state)."""
    from bnnlab.data import load_binary
    from bnnlab.hardware import devices as D
    from bnnlab.learn.local.config import LocalBinaryConfig
    from bnnlab.learn.local.devices import LocalBinaryOnDevices
    from bnnlab.learn.local.local_binary import LocalBinaryLearner

    x, y, _, _ = load_binary("fashion-mnist-mini", 0)
    x, y = x[:1000], y[:1000]
    cfg = LocalBinaryConfig.from_layers(784, 10, (40, 40), sign_zero=sign_zero, clip=clip)
    bound = 1e9 if clip is None else float(clip)
    dev = D.ConstantStep(dw_min=float(cfg.step), w_max=bound, w_min=-bound, dw_min_dtod=0.0,
                         dw_min_std=0.0, up_down_dtod=0.0, w_max_dtod=0.0, w_min_dtod=0.0,
                         reset_std=0.0)  # fmt: skip
    ref = LocalBinaryLearner(cfg, seed=3)
    if clip is not None:
        for w in ref.hidden:
            np.clip(w, -clip, clip, out=w)
    on = LocalBinaryOnDevices(cfg, device=dev, seed=3)
    assert on.config.clip is None and on.clip_replaced == clip
    ra, rb = ref.fit(x, y, epochs=2), on.fit(x, y, epochs=2)
    assert [r["train_accuracy"] for r in ra] == [r["train_accuracy"] for r in rb]
    for a, b in zip(ref.hidden, on.hidden, strict=True):
        assert np.array_equal(a, b)
    assert sum(d.pulses_applied for d in on.arrays) > 0


def test_local_binary_on_a_noisy_device_differs_and_resumes():
    from bnnlab.data import load_binary
    from bnnlab.learn.local.config import LocalBinaryConfig
    from bnnlab.learn.local.devices import LocalBinaryOnDevices
    from bnnlab.learn.local.local_binary import LocalBinaryLearner

    x, y, _, _ = load_binary("fashion-mnist-mini", 0)
    x, y = x[:600], y[:600]
    cfg = LocalBinaryConfig.from_layers(784, 10, (30, 30))
    on = LocalBinaryOnDevices(cfg, device="ecram", seed=1)
    on.fit(x, y, epochs=1)
    ref = LocalBinaryLearner(cfg, seed=1)
    ref.fit(x, y, epochs=1)
    assert not np.array_equal(on.hidden[0], ref.hidden[0])
    arrays, meta = on.state_dict()
    other = LocalBinaryOnDevices(cfg, device="ecram", seed=7)
    other.load_state_dict(arrays, meta)
    on.fit(x, y, epochs=1)
    other.fit(x, y, epochs=1)
    assert np.array_equal(on.hidden[1], other.hidden[1])


# -- pulsed-sgd -----------------------------------------------------------------------------------
def pulsed(device="idealized", **kw):
    from bnnlab.learn.memristive import PulsedSGDConfig, PulsedSGDMethod

    cfg = PulsedSGDConfig(layers=(4,), device=device, **kw)
    return PulsedSGDMethod(cfg, n_features=3, n_classes=2, seed=0)


def test_stochastic_pulse_trains_have_the_expected_counts_and_signs():
    """E[pulses] = BL p_i q_j = lr |x_i d_j| / dw_min with update management, signs -sign(x d)."""
    m = pulsed(lr=0.05, bit_length=31)
    x = np.array([0.9, -0.3, 0.0, 1.0])
    d = np.array([0.02, -0.05])
    rng = np.random.default_rng(0)
    draws = np.stack([m.coincidences(x, d, rng) for _ in range(4000)])
    expected = -0.05 * np.outer(x, d) / m.dw
    np.testing.assert_allclose(draws.mean(axis=0), expected, atol=0.08 * np.abs(expected).max())
    assert np.all(draws[:, 2] == 0)  # a zero input never fires
    assert np.all(np.sign(draws.sum(axis=0)) == np.sign(np.round(expected, 9)))
    # update management: the two trains' firing probabilities are balanced by the maxima
    base = 0.05 / (31 * m.dw)
    cx, cd = np.sqrt(base * 0.05 / 1.0), np.sqrt(base * 1.0 / 0.05)
    assert cx * 1.0 == pytest.approx(cd * 0.05)
    assert np.all(m.coincidences(np.zeros(4), d, rng) == 0)


def test_pulsed_sgd_learns_through_devices():
    from bnnlab.data import load_binary
    from bnnlab.learn.memristive import PulsedSGDConfig, PulsedSGDMethod
    from bnnlab.learn.method import TrainData

    d = TrainData(*load_binary("fashion-mnist-mini:classes=1,7:pool=4:intensity", 0))
    m = PulsedSGDMethod(PulsedSGDConfig(layers=(10,), device="ecram", batch_size=50),
                        n_features=49, n_classes=2, seed=0)  # fmt: skip
    rows = m.fit(d, epochs=1)
    assert rows[-1]["test_accuracy"] > 85 and rows[-1]["pulses"] > 0


def test_sweep_options_configure_the_devices():
    cfg = BinaryStochasticConfig(weights="ecram", noise_scale=2.0, levels=100)
    dev = cfg.device_config()
    assert dev.dw_min == pytest.approx((1.1724 + 0.8276) / 100)
    assert dev.dw_min_std == pytest.approx(0.3 * 2.0)
    exp = BinaryStochasticConfig(weights="oxram", noise_scale=0.0, levels=20).device_config()
    assert (exp.n_up, exp.n_down, exp.gamma_up) == (0, 20, 0.0)  # the abrupt SET stays abrupt
    with pytest.raises(ValueError, match="apply to device presets"):
        BinaryStochasticConfig(weights="float", levels=10)
    with pytest.raises(ValueError, match="noise_scale"):
        BinaryStochasticConfig(weights="ecram", noise_scale=-1.0)


def test_periodic_carry_trains_and_resumes():
    from bnnlab.data import load_binary
    from bnnlab.hardware.devices import CarryPair
    from bnnlab.learn.method import TrainData

    d = TrainData(*load_binary("fashion-mnist-mini:classes=1,7:pool=4:intensity", 0))
    cfg = BinaryStochasticConfig(layers=(10,), weights="ecram", levels=100, carry_every=5,
                                 batch_size=50)  # fmt: skip
    m = BinaryStochasticMethod(cfg, n_features=49, n_classes=2, seed=0)
    assert all(isinstance(a, CarryPair) for a in m.arrays)
    np.testing.assert_allclose(m.arrays[0].values(), m.W[0], atol=0.2)  # starts near the init
    m.fit(d, epochs=1)
    assert m.arrays[0].carries > 0 and m.score(d.x_test, d.y_test) > 80
    arrays, meta = m.state_dict()
    other = BinaryStochasticMethod(cfg, n_features=49, n_classes=2, seed=5)
    other.load_state_dict(arrays, meta)
    assert np.array_equal(other.predict(d.x_test), m.predict(d.x_test))
    with pytest.raises(ValueError, match="carry_every: the carry pair needs a pulsed"):
        BinaryStochasticMethod(BinaryStochasticConfig(weights="oxram", carry_every=5),
                               n_features=3, n_classes=2, seed=0)  # fmt: skip
