"""QP-SBGD layer problems (lsq) and the exact solver: energies against the objective by brute
force, dimod's energies, ground states against enumeration, bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from bnnlab.hardware.annealing import available, solve
from bnnlab.hardware.qubo import layer_problem


def batch(seed, b=7, n=5, m=3):
    rng = np.random.default_rng(seed)
    x = np.where(rng.random((b, n)) < 0.5, 1, -1).astype(np.int8)
    y = rng.normal(size=(b, m))
    return x, y


def all_assignments(n):
    return np.array(list(itertools.product((-1, 1), repeat=n)), dtype=np.int8)


def objective(x, y, g, alpha):
    """||X~ g - alpha y_j||^2 written directly (X~: columns over their squared norms)."""
    xt = x / (x.astype(float) ** 2).sum(axis=0)
    return [
        [float(np.sum((xt @ gk - alpha * y[:, j]) ** 2)) for gk in g] for j in range(y.shape[1])
    ]


@pytest.mark.parametrize(
    ("seed", "n", "alpha"), [(0, 1, 1.0), (1, 4, 1.0), (2, 7, 2.5), (3, 10, 0.3)]
)
def test_lsq_energy_equals_its_objective_on_every_assignment(seed, n, alpha):
    x, y = batch(seed, b=6, n=n, m=2)
    p = layer_problem(x, y, alpha=alpha)
    g = all_assignments(n)
    e = p.energy(np.broadcast_to(g, (p.rows, *g.shape)))
    np.testing.assert_allclose(e, objective(x, y, g, alpha), rtol=1e-12, atol=1e-12)
    assert p.A.shape == (n, n) and np.all(np.diag(p.A) == 0)  # one coupling matrix per layer


@pytest.mark.parametrize("n", [1, 5, 10])
def test_bqm_energies_equal_the_objective_on_every_assignment(n):
    dimod = pytest.importorskip("dimod")
    x, y = batch(4 + n, b=9, n=n, m=3)
    p = layer_problem(x, y, alpha=1.5)
    g = np.broadcast_to(all_assignments(n), (p.rows, 2**n, n))
    e = p.energy(g)
    for row in range(p.rows):
        bqm = p.to_bqm(row)
        assert bqm.vartype is dimod.SPIN
        got = bqm.energies((g[row], list(range(p.n))))
        np.testing.assert_allclose(got, e[row], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 12])
def test_exact_solver_finds_the_enumerated_minimum(n):
    x, y = batch(10 + n, b=8, n=n, m=4)
    p = layer_problem(x, y)
    r = solve(p, "exact", num_reads=2)
    assert r.samples.shape == (p.rows, 2, n) and r.samples.dtype == np.int8
    g = all_assignments(n)
    brute = p.energy(np.broadcast_to(g, (p.rows, *g.shape)))
    np.testing.assert_allclose(r.energies[:, 0], brute.min(axis=1), rtol=1e-12, atol=1e-12)
    assert np.array_equal(r.samples[:, 0], r.samples[:, 1])


def test_ties_go_to_the_first_ground_state_in_gray_code_order():
    """With a zero gradient and one variable both signs have the same energy: all -1 wins."""
    x = np.ones((4, 1), dtype=np.int8)
    p = layer_problem(x, np.zeros((4, 1)))
    assert solve(p).samples[0, 0].tolist() == [-1]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"x": np.array([[1, np.inf]]), "y": np.zeros((1, 1))}, ValueError, "x: NaN or inf"),
        ({"x": np.array([[True]]), "y": np.zeros((1, 1))}, TypeError, "x: expected real"),
        ({"x": np.ones((2, 2)), "y": np.zeros((2, 1)), "eps": -0.1}, ValueError, "eps"),
        ({"x": np.ones((2, 2)), "y": np.array([[np.nan], [0.0]])}, ValueError, "y: NaN"),
        ({"x": np.ones((2, 2)), "y": np.zeros((3, 1))}, ValueError, "y: 3 rows"),
        (
            {"x": np.ones((2, 2)), "y": np.zeros((2, 1)), "formulation": "qaoa"},
            ValueError,
            "formulation",
        ),
        ({"x": np.ones((2, 2)), "y": np.zeros((2, 1)), "alpha": 0.0}, ValueError, "alpha"),
        ({"x": np.ones(2), "y": np.zeros((2, 1))}, ValueError, "x"),
    ],
)
def test_bad_input_names_the_argument(kwargs, error, match):
    with pytest.raises(error, match=match):
        layer_problem(**kwargs)


def test_solver_arguments():
    p = layer_problem(*batch(0))
    with pytest.raises(ValueError, match="num_reads"):
        solve(p, num_reads=0)
    with pytest.raises(ValueError, match=r"sampler: unknown solver 'qaoa'; available: .*exact"):
        solve(p, "qaoa")
    assert {"exact", "sa", "sqa"} <= set(available())
    big = layer_problem(np.ones((2, 25), dtype=np.int8), np.zeros((2, 1)))
    with pytest.raises(ValueError, match=r"n: .* n <= 24, got 25"):
        solve(big)
    with pytest.raises(ValueError, match="g: expected shape"):
        p.energy(np.ones((p.rows, p.n + 1)))
    with pytest.raises(ValueError, match="row"):
        pytest.importorskip("dimod")
        p.to_bqm(p.rows)


def test_auto_alpha_scales_each_row_to_the_reach_of_the_signsgd_step():
    x, y = batch(30, b=9, n=6, m=3)
    y[:, 2] = 0.0
    p = layer_problem(x, y, alpha="auto")
    xt = x / (x.astype(float) ** 2).sum(axis=0)
    for j in range(2):
        s = np.sign(xt.T @ y[:, j])
        alpha = np.linalg.norm(xt @ s) / np.linalg.norm(y[:, j])
        ref = layer_problem(x, y[:, [j]], alpha=alpha)
        np.testing.assert_allclose(p.h[j], ref.h[0], rtol=1e-12)
        np.testing.assert_allclose(p.offset[j], ref.offset[0], rtol=1e-12)
    assert np.all(p.h[2] == 0)  # a zero gradient: alpha 1, no field


def test_orthogonal_columns_make_every_alpha_give_signsgd():
    """With orthogonal columns of X the lsq optimum is sign(X~^T y) for any alpha."""
    h4 = np.array([[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]], dtype=np.int8)
    y = np.random.default_rng(0).normal(size=(4, 3))
    for alpha in (0.01, 1.0, 100.0, "auto"):
        p = layer_problem(h4, y, alpha=alpha)
        g = solve(p, "exact").samples[:, 0]
        assert np.array_equal(g, np.sign(h4.T @ y).T.astype(np.int8)), alpha
