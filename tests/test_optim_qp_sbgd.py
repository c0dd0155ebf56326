"""QP-SBGD's step: W <- W - lr G with G the brute-force optimum of each row's problem (written in
the test from REFERENCES §3.1), the inner step on the other parameters, records, selection,
convolutions, resume and bad input."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from bnnlab import nn, optim


def layer(n_in=5, n_out=3, seed=0, bias=True):
    return nn.Dense(
        n_in, n_out, bias=bias, weight_binarizer="ste_sign", act_binarizer="ste_sign", seed=seed
    )


def backward_once(d, x, grad):
    d.forward(x, True)
    d.backward(grad)


def brute_lsq(x, y, alpha=1.0):
    """argmin_g ||X~ g - alpha y_j||^2 per column j of y, by enumeration (first in product order
    on ties is irrelevant: random data has no ties)."""
    xt = x / (x**2).sum(axis=0)
    gs = np.array(list(itertools.product((-1.0, 1.0), repeat=x.shape[1])))
    out = []
    for j in range(y.shape[1]):
        e = ((xt @ gs.T - alpha * y[:, [j]]) ** 2).sum(axis=0)
        out.append(gs[np.argmin(e)])
    return np.array(out)


def inputs(rng, b, n):
    return np.where(rng.random((b, n)) < 0.5, 1.0, -1.0).astype(np.float32)


@pytest.mark.parametrize("alpha", [1.0, 3.0])
def test_one_step_moves_the_latent_weights_by_minus_lr_times_the_optimum(alpha):
    rng = np.random.default_rng(0)
    d = layer()
    x = inputs(rng, 8, 5)
    grad = rng.normal(size=(8, 3)).astype(np.float32)
    w0 = d.weight.copy()
    b0 = d._params["bias"].data.copy()
    opt = optim.QPSBGD(
        optim.param_groups(d, 0.0), lr=0.05, solver="exact", alpha=alpha, seed=0, inner="sgd"
    )
    backward_once(d, x, grad)
    opt.step()
    g = brute_lsq(np.sign(x).astype(float), grad.astype(float), alpha)
    np.testing.assert_allclose(d.weight, w0 - np.float32(0.05) * g, rtol=0, atol=1e-7)
    # the bias is not binarised: plain SGD on its gradient
    np.testing.assert_allclose(d._params["bias"].data, b0 - 0.05 * grad.sum(axis=0), atol=1e-6)
    rec = opt.records[-1]
    assert rec["energy_gap"] == 0.0 and rec["n"] == 5 and rec["rows"] == 3
    assert rec["logical_qubits"] == 5 and rec["solver"] == "exact"
    z = (x / 8.0) @ g.T + 0.01
    nz = grad != 0
    assert rec["sign_agreement"] == pytest.approx(
        float((np.where(z >= 0, 1, -1)[nz] == np.sign(grad)[nz]).mean())
    )


def test_sign_formulation_step_and_qubo_size():
    rng = np.random.default_rng(1)
    d = layer(4, 2, bias=False)
    x = inputs(rng, 6, 4)
    grad = rng.normal(size=(6, 2)).astype(np.float32)
    w0 = d.weight.copy()
    opt = optim.QPSBGD(
        optim.param_groups(d, 0.0), lr=0.1, formulation="sign", solver="exact", seed=0
    )
    backward_once(d, x, grad)
    opt.step()
    xt = x / 6.0
    gs = np.array(list(itertools.product((-1.0, 1.0), repeat=4)))
    for j in range(2):
        e = [((np.where(xt @ g + 0.01 >= 0, 1, -1) - grad[:, j]) ** 2).sum() for g in gs]
        step = (w0[j] - d.weight[j]) / np.float32(0.1)
        got = [((np.where(xt @ step + 0.01 >= 0, 1, -1) - grad[:, j]) ** 2).sum()]
        assert got[0] == pytest.approx(min(e))
    # 4 gradient bits + 6 samples x (sign bit + 2 slack registers of 3 bits)
    assert opt.records[-1]["logical_qubits"] == 4 + 6 * 7


def test_annealer_records_a_non_negative_gap_and_first_vs_best_selection():
    rng = np.random.default_rng(2)
    x = inputs(rng, 10, 8)
    grad = rng.normal(size=(10, 4)).astype(np.float32)
    gaps = {}
    for selection in ("first", "best"):
        d = layer(8, 4, bias=False)
        opt = optim.QPSBGD(
            optim.param_groups(d, 0.0),
            lr=0.1,
            solver="sa",
            num_reads=8,
            solver_params={"num_sweeps": 2, "beta_range": (0.01, 0.1)},
            selection=selection,
            seed=3,
        )
        backward_once(d, x, grad)
        opt.step()
        gaps[selection] = opt.records[-1]["energy_gap"]
    assert gaps["best"] >= 0 and gaps["first"] >= gaps["best"]
    assert gaps["first"] > gaps["best"]  # hot, short anneals: reads differ


def test_gap_not_measured_above_gap_max_n():
    rng = np.random.default_rng(3)
    d = layer(6, 2, bias=False)
    opt = optim.QPSBGD(optim.param_groups(d, 0.0), solver="sa", gap_max_n=5, seed=0)
    backward_once(d, inputs(rng, 4, 6), rng.normal(size=(4, 2)).astype(np.float32))
    opt.step()
    assert math.isnan(opt.records[-1]["energy_gap"])
    cols = opt.epoch_columns()
    assert math.isnan(cols["qp/energy_gap"]) and cols["qp/logical_qubits"] == 6
    assert opt.epoch_columns() == {}  # consumed


def test_convolution_step_maps_rows_back_to_filters():
    rng = np.random.default_rng(4)
    conv = nn.Conv2d(
        2, 3, 2, bias=False, weight_binarizer="ste_sign", act_binarizer="ste_sign", seed=0
    )
    x = inputs(rng, 2 * 2 * 3 * 3, 1).reshape(2, 2, 3, 3)
    out = conv.forward(x, True)
    grad = rng.normal(size=out.shape).astype(np.float32)
    conv.backward(grad)
    cols, g2 = conv._params["weight"].factors
    w0 = conv.weight.copy()
    opt = optim.QPSBGD(optim.param_groups(conv, 0.0), lr=0.5, solver="exact", alpha=1.0, seed=0)
    opt.step()
    g = brute_lsq(np.asarray(cols, dtype=float), np.asarray(g2, dtype=float))
    expected = w0 - 0.5 * g.reshape(3, 2, 2, 2).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(conv.weight, expected, atol=1e-6)


def test_state_round_trip_continues_identically():
    rng = np.random.default_rng(5)
    x = inputs(rng, 6, 5)
    grads = [rng.normal(size=(6, 3)).astype(np.float32) for _ in range(3)]

    def run(split):
        d = layer(seed=1)
        mk = lambda: optim.QPSBGD(  # noqa: E731
            optim.param_groups(d, 0.0),
            solver="sa",
            num_reads=2,
            seed=9,
            solver_params={"num_sweeps": 3, "beta_range": (0.01, 0.1)},
        )
        opt = mk()
        for k, gr in enumerate(grads):
            if k == split:
                names = {id(p): n for n, p in d.named_parameters()}
                arrays, meta = opt.state_dict(names)
                opt = mk()
                opt.rng = np.random.default_rng(123)  # overwritten by the load
                opt.load_state_dict(arrays, meta, dict(d.named_parameters()))
            backward_once(d, x, gr)
            opt.step()
        return d.weight.copy()

    assert np.array_equal(run(None), run(2))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"seed": None}, ValueError, "seed"),
        ({"solver": "qaoa"}, ValueError, "solver: unknown"),
        ({"formulation": "cubic"}, ValueError, "formulation"),
        ({"num_reads": 0}, ValueError, "num_reads"),
        ({"selection": "median"}, ValueError, "selection"),
        ({"gap_max_n": 30}, ValueError, "gap_max_n"),
        ({"solver_params": 3}, TypeError, "solver_params"),
    ],
)
def test_bad_arguments_name_themselves(kwargs, error, match):
    args = {"seed": 0, **kwargs}
    with pytest.raises(error, match=match):
        optim.QPSBGD(optim.param_groups(layer(), 0.0), **args)


def test_step_without_a_backward_says_why_and_real_inputs_work():
    d = nn.Dense(3, 2, weight_binarizer="ste_sign", seed=0)  # real inputs: no act binarizer
    opt = optim.QPSBGD(optim.param_groups(d, 0.0), solver="exact", alpha=1.0, seed=0)
    with pytest.raises(ValueError, match="no recorded inputs"):
        opt.step()
    x = np.array([[0.5, -1.5, 2.0], [1.0, 0.25, -0.5], [-2.0, 1.0, 1.0], [0.1, 0.2, 0.3]])
    grad = np.array([[1.0, -0.5], [0.2, 0.3], [-1.0, 1.0], [0.5, 0.5]], dtype=np.float32)
    w0 = d.weight.copy()
    backward_once(d, x.astype(np.float32), grad)
    opt.step()
    g = brute_lsq(x.astype(np.float32).astype(float), grad.astype(float))
    np.testing.assert_allclose(d.weight, w0 - np.float32(0.1) * g, atol=1e-6)
    with pytest.raises(ValueError, match=r"layer 'weight'.*NaN"):
        backward_once(d, np.full((4, 3), np.nan, dtype=np.float32), grad)
        opt.step()


def test_neuron_formulation_steps_towards_the_best_weights():
    rng = np.random.default_rng(7)
    d = layer(4, 2, bias=False)
    x = inputs(rng, 6, 4)
    grad = rng.normal(size=(6, 2)).astype(np.float32)
    w0 = d.weight.copy()
    opt = optim.QPSBGD(
        optim.param_groups(d, 0.0), lr=0.1, formulation="neuron", solver="exact", seed=0
    )
    backward_once(d, x, grad)
    opt.step()
    ws = np.array(list(itertools.product((-1.0, 1.0), repeat=4)))
    for j in range(2):
        t = (1 - grad[:, j]) / 2
        loss = [np.sum((t - (x @ w >= 0)) ** 2) for w in ws]
        moved = (d.weight[j] - w0[j]) / np.float32(0.1)  # W <- W + lr w*
        assert np.sum((t - (x @ np.round(moved) >= 0)) ** 2) == pytest.approx(min(loss), abs=1e-5)
