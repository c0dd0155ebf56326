"""Optimisers (against hand-written reference updates), parameter groups, schedules, registry."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bnnlab import nn, optim
from bnnlab.nn import Parameter


def param(value, grad, tags=("weight",)):
    p = Parameter(np.array(value, dtype=np.float64), tags)
    p.grad = np.array(grad, dtype=np.float64)
    return p


def test_registry():
    assert {"adam", "sgd"} <= set(optim.available())  # the full list: test_optim_binary
    assert optim.get("sgd") is optim.SGD and optim.get("adam") is optim.Adam
    assert optim.schedules.available() == ["constant", "cosine", "step"]
    with pytest.raises(ValueError, match="alias"):
        optim.get("rmsprop")


def test_plain_sgd_with_coupled_weight_decay():
    p = param([1.0, -2.0], [0.5, 0.5])
    opt = optim.SGD([p], lr=0.1, weight_decay=0.01)
    opt.step()
    np.testing.assert_allclose(p.data, [1.0 - 0.1 * (0.5 + 0.01), -2.0 - 0.1 * (0.5 - 0.02)])


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_matches_reference_recursion(nesterov):
    grads = [np.array([1.0, -1.0]), np.array([0.5, 2.0]), np.array([-3.0, 0.25])]
    p = param([0.3, 0.7], grads[0])
    opt = optim.SGD([p], lr=0.05, momentum=0.9, nesterov=nesterov, weight_decay=0.1)
    w = np.array([0.3, 0.7])
    v = np.zeros(2)
    for g in grads:
        p.grad = g.copy()
        opt.step()
        d = g + 0.1 * w
        v = 0.9 * v + d
        w = w - 0.05 * (d + 0.9 * v if nesterov else v)
        np.testing.assert_allclose(p.data, w, rtol=1e-14)


@pytest.mark.parametrize("decoupled", [False, True])
def test_adam_matches_reference(decoupled):
    grads = [np.array([1.0, -1.0, 0.0]), np.array([0.5, 2.0, 1e-3]), np.array([-3.0, 0.25, 1.0])]
    p = param([0.3, 0.7, -0.2], grads[0])
    opt = optim.Adam([p], lr=0.01, weight_decay=0.1, decoupled=decoupled)
    w, m, v = np.array([0.3, 0.7, -0.2]), np.zeros(3), np.zeros(3)
    for t, g in enumerate(grads, 1):
        p.grad = g.copy()
        opt.step()
        d = g if decoupled else g + 0.1 * w
        m = 0.9 * m + 0.1 * d
        v = 0.999 * v + 0.001 * d * d
        if decoupled:
            w = w - 0.01 * 0.1 * w
        w = w - 0.01 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        np.testing.assert_allclose(p.data, w, rtol=1e-12)


def test_weight_decay_per_group_spares_binarized_weights_and_scales():
    model = nn.binary_mlp(
        6, (5,), 3, weight_binarizer="siman", scale=True, seed=0, dtype=np.float64
    )
    groups = optim.param_groups(model, 0.5, no_decay=("binarized", "scale"))
    assert groups[0]["weight_decay"] == 0.5 and groups[1]["weight_decay"] == 0.0
    assert set(groups[1]["names"]) == {"fc1.weight", "fc1.alpha"}
    assert "out.weight" in groups[0]["names"] and "bn1.gamma" in groups[0]["names"]
    before = {n: p.data.copy() for n, p in model.named_parameters()}
    for _, p in model.named_parameters():
        p.grad = np.zeros_like(p.data)
    optim.SGD(groups, lr=0.1).step()
    for name, p in model.named_parameters():
        if name in ("fc1.weight", "fc1.alpha"):
            np.testing.assert_array_equal(p.data, before[name])  # zero grad, no decay: unchanged
        else:
            np.testing.assert_allclose(p.data, before[name] * (1 - 0.1 * 0.5))
    # a callable selector and the model-as-params shortcut
    g2 = optim.param_groups(model, 1e-4, no_decay=lambda name, p: name.startswith("bn"))
    assert all(n.startswith("bn") for n in g2[1]["names"])
    assert len(optim.SGD(model, lr=0.1, weight_decay=1e-4).groups) == 1


def test_lr_scale_and_skipped_parameters_without_grad():
    a = param([1.0], [1.0])
    b = param([1.0], [1.0])
    c = Parameter(np.array([1.0]), ("bias",))
    opt = optim.SGD(
        [{"params": [a]}, {"params": [b, c], "lr_scale": 0.5, "weight_decay": 0.0}], lr=0.2
    )
    opt.step()
    assert a.data[0] == pytest.approx(0.8) and b.data[0] == pytest.approx(0.9) and c.data[0] == 1.0
    opt.zero_grad()
    assert a.grad is None


def test_optimizer_validation():
    p = param([1.0], [1.0])
    with pytest.raises(ValueError, match="lr"):
        optim.SGD([p], lr=-1)
    with pytest.raises(ValueError, match="nesterov"):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="momentum"):
        optim.SGD([p], lr=0.1, momentum=1.0)
    with pytest.raises(ValueError, match="params"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="params"):
        optim.SGD([{"params": [1.0]}], lr=0.1)
    with pytest.raises(ValueError, match="weight_decay"):
        optim.Adam([{"params": [p], "weight_decay": -1.0}])
    with pytest.raises(ValueError, match="tags"):
        Parameter(np.zeros(1), ("weights",))


def test_cosine_with_warmup_per_epoch():
    s = optim.schedules.Cosine(0.1, 10, warmup=2)
    lrs = [s.lr(e) for e in range(10)]
    assert lrs[:2] == pytest.approx([0.05, 0.1])
    assert lrs[2] == pytest.approx(0.1)
    for e in range(2, 10):
        assert lrs[e] == pytest.approx(0.05 * (1 + math.cos(math.pi * (e - 2) / 8)))
    assert lrs[-1] > 0
    assert optim.schedules.Cosine(0.1, 4, min_lr=0.01).lr(0) == pytest.approx(0.1)


def test_cosine_per_step_is_continuous_in_the_position():
    s = optim.schedules.Cosine(1.0, 4, warmup=1, interval="step")
    assert s.lr(0, 0, 4) == pytest.approx(0.25)
    assert s.lr(0, 3, 4) == pytest.approx(1.0)
    assert s.lr(1, 0, 4) == pytest.approx(1.0)
    assert s.lr(2, 2, 4) == pytest.approx(0.5 * (1 + math.cos(math.pi * 1.5 / 3)))
    # per-epoch ignores the step
    assert optim.schedules.Cosine(1.0, 4).lr(1, 3, 4) == optim.schedules.Cosine(1.0, 4).lr(1)


def test_step_and_constant_schedules_and_validation():
    s = optim.schedules.Step(1.0, step_size=3, gamma=0.1)
    assert [s.lr(e) for e in range(7)] == pytest.approx([1, 1, 1, 0.1, 0.1, 0.1, 0.01])
    assert optim.schedules.get("constant")(0.3).lr(5) == 0.3
    with pytest.raises(ValueError, match="warmup"):
        optim.schedules.Cosine(0.1, 5, warmup=5)
    with pytest.raises(ValueError, match="step"):
        optim.schedules.Cosine(0.1, 5).lr(0, 4, 4)
    with pytest.raises(ValueError, match="interval"):
        optim.schedules.Constant(0.1, interval="batch")
