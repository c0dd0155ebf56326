"""Device models against their formulas by hand (aihwkit's update rules, Li et al.'s model),
device-to-device and cycle-to-cycle draws, periodic carry by hand, bounds under 1e5 pulses, exact
resume and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bnnlab.hardware import devices as D

QUIET = {"dw_min_dtod": 0.0, "dw_min_std": 0.0, "up_down_dtod": 0.0, "w_max_dtod": 0.0,
         "w_min_dtod": 0.0, "reset_std": 0.0}  # fmt: skip


def one(cfg, w0, count):
    a = D.DeviceArray(cfg, (1,), seed=0, initial=np.array([w0]))
    a.apply_pulses(np.array([count]))
    return float(a.w[0])


def test_constant_step_by_hand_up_down_and_at_the_bounds():
    cfg = D.ConstantStep(dw_min=0.1, w_max=0.35, w_min=-0.6, **QUIET)
    assert one(cfg, 0.0, 1) == pytest.approx(0.1)
    assert one(cfg, 0.0, -2) == pytest.approx(-0.2)
    assert one(cfg, 0.3, 1) == pytest.approx(0.35)  # clipped at w_max
    assert one(cfg, -0.55, -1) == pytest.approx(-0.6)
    up = D.ConstantStep(dw_min=0.1, w_max=1, w_min=-1, up_down=0.2, **QUIET)
    # up_down > 0: s_up = (0 + 1) dw, s_down = (-0.2 + 1) dw
    assert one(up, 0.0, 1) == pytest.approx(0.1) and one(up, 0.0, -1) == pytest.approx(-0.08)


def test_linear_step_and_soft_bounds_by_hand():
    cfg = D.LinearStep(dw_min=0.1, w_max=1.0, w_min=-0.5, gamma_up=0.5, gamma_down=0.25,
                       gamma_up_dtod=0.0, gamma_down_dtod=0.0, **QUIET)  # fmt: skip
    w = 0.4
    m_up = -0.5 * 0.1 / 1.0
    assert one(cfg, w, 1) == pytest.approx(w + (m_up * w + 0.1))
    m_down = -0.25 * 0.1 / -0.5
    assert one(cfg, w, -1) == pytest.approx(w - (m_down * w + 0.1))
    sb = D.SoftBounds(dw_min=0.1, w_max=1.0, w_min=-1.0, **QUIET)
    assert one(sb, 1.0, 1) == pytest.approx(1.0)  # the step vanishes at the bound
    assert one(sb, 0.5, 1) == pytest.approx(0.5 + 0.1 * (1 - 0.5))
    assert one(sb, -0.5, -1) == pytest.approx(-0.5 - 0.1 * (1 - 0.5))


def test_exp_step_by_hand():
    cfg = D.ExpStep(dw_min=0.05, w_max=1.0, w_min=-1.0, **QUIET)
    w = 0.3
    z = 2 * w / 2.0 * cfg.a + cfg.b
    up = max(1 - cfg.A_up * math.exp(cfg.gamma_up * z), 0.0)
    down = max(1 - cfg.A_down * math.exp(-cfg.gamma_down * z), 0.0)
    assert one(cfg, w, 1) == pytest.approx(w + up * 0.05)
    assert one(cfg, w, -1) == pytest.approx(w - down * 0.05)


def test_pow_step_by_hand():
    cfg = D.PowStep(dw_min=0.1, w_max=1.0, w_min=-1.0, pow_gamma=2.0, pow_gamma_dtod=0.0, **QUIET)
    w = 0.2
    assert one(cfg, w, 1) == pytest.approx(w + 0.1 * ((1.0 - w) / 2.0) ** 2)
    assert one(cfg, w, -1) == pytest.approx(w - 0.1 * ((w + 1.0) / 2.0) ** 2)


def test_exponential_model_by_hand():
    cfg = D.ExponentialDevice(1.0, 3.0, 10, 5, 2.0, 3.0, 0.0, 0.0, dtod=0.0)
    a = D.DeviceArray(cfg, (1,), seed=0, initial=np.array([-0.5]))  # G at g_min
    a.apply_pulses(np.array([1]))
    dg = (2.0 / (1 - math.exp(-2.0)) - 0.0) * (1 - math.exp(-2.0 / 10))
    assert a.g[0] == pytest.approx(1.0 + dg)
    assert a.weights()[0] == pytest.approx((1.0 + dg - 2.0) / 2.0, rel=1e-6)
    b = D.DeviceArray(cfg, (1,), seed=0, initial=np.array([0.5]))  # G at g_max
    b.apply_pulses(np.array([-1]))
    dd = (2.0 / (1 - math.exp(-3.0)) - 0.0) * (1 - math.exp(-3.0 / 5))
    assert b.g[0] == pytest.approx(3.0 - dd)
    lin = D.ExponentialDevice(1.0, 3.0, 4, 4, 0.0, 0.0, 0.0, 0.0, dtod=0.0)
    c = D.DeviceArray(lin, (1,), seed=0)  # w = 0: G at mid-range
    c.apply_pulses(np.array([1]))
    assert c.g[0] == pytest.approx(2.5)  # alpha = 0: linear steps of range / N
    abrupt = D.ExponentialDevice(1.0, 3.0, 0, 4, 0.0, 0.0, 0.0, 0.0, dtod=0.0)
    e = D.DeviceArray(abrupt, (1,), seed=0)
    e.apply_pulses(np.array([1]))
    assert e.g[0] == 3.0  # N = 0: one pulse switches to the bound


def test_differential_pair_pulses_each_side():
    cfg = D.ExponentialDevice(1.0, 3.0, 4, 4, 0.0, 0.0, 0.0, 0.0, dtod=0.0, mapping="differential")
    a = D.DeviceArray(cfg, (2,), seed=0)
    a.apply_pulses(np.array([2, -1]))
    assert a.g.tolist() == [2.0, 1.0] and a.g_neg.tolist() == [1.0, 1.5]
    np.testing.assert_allclose(a.weights(), [1.0 / 4.0, -0.5 / 4.0])


def test_device_to_device_draws_are_fixed_by_the_seed():
    cfg = D.preset("ecram")
    a, b = D.DeviceArray(cfg, (30,), seed=3), D.DeviceArray(cfg, (30,), seed=3)
    c = D.DeviceArray(cfg, (30,), seed=4)
    for k in a.params:
        assert np.array_equal(a.params[k], b.params[k]), k
    assert not np.array_equal(a.params["s_up"], c.params["s_up"])
    assert np.std(a.params["s_up"]) > 0  # devices differ


def test_cycle_to_cycle_noise_differs_per_pulse():
    cfg = D.ConstantStep(dw_min=0.01, **{**QUIET, "dw_min_std": 0.3})
    a = D.DeviceArray(cfg, (1,), seed=0, initial=np.zeros(1))
    steps = []
    for _ in range(5):
        before = float(a.w[0])
        a.apply_pulses(np.array([1]))
        steps.append(float(a.w[0]) - before)
    assert len(set(np.round(steps, 12))) == 5
    assert np.mean(steps) == pytest.approx(0.01, rel=0.5)


def test_carry_pair_by_hand():
    low = D.ConstantStep(dw_min=0.01, **QUIET)
    high = D.ConstantStep(dw_min=0.01, w_max=1.0, w_min=-1.0, **QUIET)
    pair = D.CarryPair(low, high, (2,), significance=4.0, carry_every=2, seed=0)
    pair.apply_pulses(np.array([4, -6]))
    np.testing.assert_allclose(pair.weights(), [0.04, -0.06], atol=1e-7)  # no carry yet
    pair.apply_pulses(np.array([4, -6]))  # low: 0.08, -0.12 -> carry round(w / 0.04) = 2, -3
    np.testing.assert_allclose(pair.high.weights(), [0.02, -0.03], atol=1e-7)
    np.testing.assert_allclose(pair.low.weights(), [0.0, 0.0])
    np.testing.assert_allclose(pair.weights(), [0.08, -0.12], atol=1e-7)
    assert pair.carries == 1 and pair.pulses_applied == 20 + 5
    pair.apply_pulses(np.array([1, 0]))
    pair.apply_pulses(np.array([0, 0]))  # carry: 0.01 is below half a high step (0.02): kept
    np.testing.assert_allclose(pair.low.weights(), [0.01, 0.0], atol=1e-7)
    np.testing.assert_allclose(pair.weights(), [0.09, -0.12], atol=1e-7)


@pytest.mark.parametrize("alias", D.available())
def test_every_preset_stays_in_bounds_under_1e5_random_pulses(alias):
    a = D.DeviceArray(D.preset(alias), (100,), seed=1)
    rng = np.random.default_rng(2)
    for _ in range(1000):
        a.apply_pulses(rng.integers(-1, 2, size=100))
    assert a.pulses_applied > 6e4
    w = a.weights()
    assert np.isfinite(w).all()
    if isinstance(a.config, D.PulsedDevice):
        assert (a.w >= a.params["w_min"]).all() and (a.w <= a.params["w_max"]).all()
    else:
        assert (a.g >= a.params["g_min"]).all() and (a.g <= a.params["g_max"]).all()


def test_state_round_trip_continues_bit_identically():
    rng = np.random.default_rng(0)
    counts = [rng.integers(-3, 4, size=(4, 5)) for _ in range(6)]
    for alias in ("reram-es", "pcm-suri"):
        a = D.DeviceArray(D.preset(alias), (4, 5), seed=9)
        for c in counts[:3]:
            a.apply_pulses(c)
        arrays, meta = a.state_dict()
        b = D.DeviceArray(D.preset(alias), (4, 5), seed=123)
        b.load_state_dict(arrays, meta)
        for c in counts[3:]:
            a.apply_pulses(c)
            b.apply_pulses(c)
        assert np.array_equal(a.weights(), b.weights()), alias


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: D.preset("rram"), ValueError, "unknown device preset"),
        (lambda: D.preset("ecram", gamma_sideways=1.0), ValueError, "no field gamma_sideways"),
        (lambda: D.ConstantStep(dw_min_std=-0.1), ValueError, "dw_min_std"),
        (lambda: D.ConstantStep(w_min=0.5, w_max=0.5), ValueError, "w_min"),
        (lambda: D.ConstantStep(dw_min=0.0), ValueError, "dw_min"),
        (lambda: D.ExponentialDevice(n_up=-1), ValueError, "n_up"),
        (lambda: D.ExponentialDevice(n_up=0, n_down=0), ValueError, "n_up, n_down"),
        (lambda: D.ExponentialDevice(g_min=2.0, g_max=1.0), ValueError, "g_min"),
        (lambda: D.ExponentialDevice(mapping="triple"), ValueError, "mapping"),
        (lambda: D.DeviceArray(D.preset("idealized"), (3,), seed=None), ValueError, "seed"),
        (lambda: D.DeviceArray("idealized", (3,), seed=0), TypeError, "config"),
        (lambda: D.DeviceArray(D.preset("idealized"), (3,), seed=0, initial=[0, np.nan, 0]),
         ValueError, "weights"),
    ],
)  # fmt: skip
def test_bad_configuration_names_the_field(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_bad_pulses_name_the_argument():
    a = D.DeviceArray(D.preset("idealized"), (3,), seed=0)
    with pytest.raises(TypeError, match="counts: expected signed integer"):
        a.apply_pulses(np.array([0.5, 1.0, 0.0]))
    with pytest.raises(ValueError, match=r"counts: expected shape \(3,\)"):
        a.apply_pulses(np.array([1, 2]))
    with pytest.raises(ValueError, match="read_noise"):
        a.weights(read_noise=-1.0)
