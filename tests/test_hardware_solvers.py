"""Built-in solvers (exact, sa, sqa) on both formulations, and the sign objective's QUBO encoding.

Oracles: brute-force enumeration of the objectives written directly from REFERENCES §3.1, the
Boltzmann distribution of a tiny problem (the Metropolis rule), and, for the QUBO encoding, the
feasible auxiliary bits built by hand from the sign definition.
"""

from __future__ import annotations

import itertools

import numba
import numpy as np
import pytest

from bnnlab.hardware.annealing import solve
from bnnlab.hardware.annealing.sa import schedule
from bnnlab.hardware.qubo import layer_problem


def batch(seed, b=7, n=5, m=3):
    rng = np.random.default_rng(seed)
    x = np.where(rng.random((b, n)) < 0.5, 1, -1).astype(np.int8)
    return x, rng.normal(size=(b, m))


def all_assignments(n):
    return np.array(list(itertools.product((-1, 1), repeat=n)), dtype=np.int8)


def sign_objective(x, y, g, eps):
    """sum_b (sign(x~_b . g + eps) - y_bj)^2 written directly, sign(0) = +1."""
    xt = x / (x.astype(float) ** 2).sum(axis=0)
    out = []
    for j in range(y.shape[1]):
        row = []
        for gk in g:
            s = np.where(xt @ gk + eps >= 0, 1.0, -1.0)
            row.append(float(np.sum((s - y[:, j]) ** 2)))
        out.append(row)
    return np.array(out)


def brute_min(p):
    g = all_assignments(p.n)
    return p.energy(np.broadcast_to(g, (p.rows, *g.shape))).min(axis=1)


@pytest.mark.parametrize(("seed", "n", "eps"), [(0, 1, 0.01), (1, 4, 0.01), (2, 6, 0.3)])
def test_sign_energy_equals_its_objective(seed, n, eps):
    x, y = batch(seed, b=6, n=n, m=2)
    p = layer_problem(x, y, formulation="sign", eps=eps)
    g = all_assignments(n)
    e = p.energy(np.broadcast_to(g, (p.rows, *g.shape)))
    np.testing.assert_allclose(e, sign_objective(x, y, g, eps), rtol=1e-12)


def test_sign_with_zero_inputs_and_a_zero_column():
    x = np.array([[1, 0, -1], [0, 0, 1], [-1, 0, 1]], dtype=np.int8)
    y = np.array([[0.5], [-1.0], [2.0]])
    p = layer_problem(x, y, formulation="sign")
    assert np.all(p.xt[:, 1] == 0)
    g = all_assignments(3)
    e = p.energy(g[None])
    # g_1 multiplies a zero column: flipping it never changes the energy
    assert np.allclose(e[0][g[:, 1] == -1], e[0][g[:, 1] == 1])


@pytest.mark.parametrize("formulation", ["lsq", "sign"])
@pytest.mark.parametrize("n", [1, 3, 7, 11])
def test_exact_solver_finds_the_enumerated_minimum(formulation, n):
    p = layer_problem(*batch(20 + n, b=9, n=n, m=4), formulation=formulation)
    r = solve(p, "exact", num_reads=2)
    np.testing.assert_allclose(r.energies[:, 0], brute_min(p), rtol=1e-12, atol=1e-12)
    assert np.array_equal(r.samples[:, 0], r.samples[:, 1])


@pytest.mark.parametrize("sampler", ["sa", "sqa"])
@pytest.mark.parametrize("formulation", ["lsq", "sign"])
def test_annealers_reach_the_ground_state_with_enough_reads(sampler, formulation):
    p = layer_problem(*batch(5, b=12, n=10, m=5), formulation=formulation)
    r = solve(p, sampler, num_reads=20, seed=3, num_sweeps=300)
    assert r.samples.shape == (5, 20, 10) and r.samples.dtype == np.int8
    assert set(np.unique(r.samples)) <= {-1, 1}
    np.testing.assert_allclose(r.energies.min(axis=1), brute_min(p), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("sampler", ["sa", "sqa"])
@pytest.mark.parametrize("batch_size", [20, 100])
def test_default_settings_find_the_ground_state_of_95_percent_of_random_n16_rows(
    sampler, batch_size
):
    """Default sweeps and schedule, 10 reads: at least 95 % of 40 random n = 16 lsq rows reach the
    enumerated optimum (with one read it is 83-95 %: these rows have local minima ~1 % above)."""
    x, y = batch(40 + batch_size, b=batch_size, n=16, m=40)
    p = layer_problem(x, y, alpha="auto")
    best = solve(p, "exact").energies[:, 0]
    r = solve(p, sampler, num_reads=10, seed=1)
    ok = r.energies.min(axis=1) <= best + 1e-9 * (1 + np.abs(best))
    assert ok.mean() >= 0.95, ok.mean()


def test_default_beta_range_ignores_rounding_residue():
    """Two orthogonal ±1 columns couple by a rounding residue (~1e-19), not by an energy scale:
    the cold end of the default schedule comes from the real coefficients."""
    from bnnlab.hardware.annealing import _common

    x = np.array([[1, 1, 1], [1, -1, 1], [-1, 1, 1], [-1, -1, -1]], dtype=np.int8)
    p = layer_problem(x, np.array([[0.5], [-0.2], [0.1], [0.3]]))
    p.A[0, 1] = p.A[1, 0] = 1e-19  # what BLAS leaves for an exact zero
    lo, hi = _common.beta_range(p)[0]
    coefs = np.concatenate([np.abs(p.h[0]), 2 * np.abs(p.A[np.triu_indices(3, 1)])])
    real = coefs[coefs > 1e-12]
    assert hi == pytest.approx(np.log(100) / (2 * real.min()))
    assert lo == pytest.approx(np.log(2) / (2 * (np.abs(p.h[0]) + 2 * np.abs(p.A).sum(1)).max()))


@pytest.mark.parametrize("sampler", ["sa", "sqa"])
def test_same_seed_same_samples_whatever_the_thread_count(sampler):
    p = layer_problem(*batch(6, b=10, n=9, m=3))
    # hot and short, so that samples are still random and any stream mix-up shows
    hot = {"beta_range": (1e-3, 1e-2)} if sampler == "sa" else {"beta": 1e-2}
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = solve(p, sampler, num_reads=8, seed=11, num_sweeps=3, **hot).samples
        numba.set_num_threads(before)
        many = solve(p, sampler, num_reads=8, seed=11, num_sweeps=3, **hot).samples
    finally:
        numba.set_num_threads(before)
    assert np.array_equal(one, many)
    other = solve(p, sampler, num_reads=8, seed=12, num_sweeps=3, **hot).samples
    assert not np.array_equal(one, other)
    # reads of one row are independent streams, not copies
    assert len({r.tobytes() for r in one[0]}) == 8


@pytest.mark.parametrize("formulation", ["lsq", "sign"])
@pytest.mark.parametrize(("sampler", "params"), [("sa", {}), ("sqa", {"trotter": 1})])
def test_fixed_temperature_samples_follow_boltzmann(sampler, params, formulation):
    """At a fixed beta the Metropolis chain samples exp(-beta E)/Z (n = 3, every state)."""
    x, y = batch(7, b=4, n=3, m=1)
    p = layer_problem(x, y * 0.3, formulation=formulation)
    beta = 2.0
    if sampler == "sa":
        kw = {"beta_range": (beta, beta)}
    else:
        kw = {"beta": beta, "gamma_range": (1.0, 1.0)}
    r = solve(p, sampler, num_reads=20000, seed=1, num_sweeps=30, **kw, **params)
    g = all_assignments(3)
    e = p.energy(g[None])[0]
    w = np.exp(-beta * (e - e.min()))
    expected = w / w.sum()
    codes = ((r.samples[0] + 1) // 2) @ np.array([4, 2, 1])
    gcodes = ((g + 1) // 2) @ np.array([4, 2, 1])
    freq = np.array([(codes == c).mean() for c in gcodes])
    # 20000 draws: standard error <= 0.0036; 5 sigma
    np.testing.assert_allclose(freq, expected, atol=0.018)


def test_sqa_samples_follow_the_trotter_distribution():
    """n = 2, P = 3 slices at fixed beta and field: the joint chain samples
    exp(-(beta/P) sum_k E(g^k) + J sum_k g^k.g^(k+1)) on the ring, and the returned sample is the
    lowest-energy slice — enumerate all 2^6 joint states and push the distribution forward."""
    x, y = batch(9, b=5, n=2, m=1)
    p = layer_problem(x, y * 0.5)
    beta, gamma, slices = 3.0, 0.7, 3
    r = solve(
        p,
        "sqa",
        num_reads=20000,
        seed=4,
        num_sweeps=40,
        trotter=slices,
        beta=beta,
        gamma_range=(gamma, gamma),
    )
    states = all_assignments(2)
    e = p.energy(states[None])[0]
    assert len(set(np.round(e, 9))) == 4  # distinct energies: the best slice is unambiguous
    coupling = -0.5 * np.log(np.tanh(beta * gamma / slices))
    expected = np.zeros(4)
    for combo in itertools.product(range(4), repeat=slices):
        weight = -(beta / slices) * sum(e[c] for c in combo)
        weight += coupling * sum(
            float(states[combo[k]] @ states[combo[(k + 1) % slices]]) for k in range(slices)
        )
        expected[min(combo, key=lambda c: e[c])] += np.exp(weight)
    expected /= expected.sum()
    got = np.array([(r.samples[0] == s).all(axis=1).mean() for s in states])
    np.testing.assert_allclose(got, expected, atol=0.018)


def test_quantum_slices_are_coupled():
    """With a huge transverse field J_perp -> 0 (slices free); with a tiny one they lock, and
    SQA at a hot beta then still returns low-energy states only when the slices are coupled."""
    p = layer_problem(*batch(8, b=10, n=8, m=2))
    free = solve(
        p,
        "sqa",
        num_reads=50,
        seed=2,
        num_sweeps=50,
        trotter=8,
        beta=1e-3,
        gamma_range=(1e6, 1e6),
    )
    locked = solve(
        p,
        "sqa",
        num_reads=50,
        seed=2,
        num_sweeps=50,
        trotter=8,
        beta=1e-3,
        gamma_range=(1e-9, 1e-9),
    )
    assert not np.array_equal(free.samples, locked.samples)


def test_schedule_endpoints():
    beta = np.array([[0.1, 10.0], [1.0, 1.0]])
    s = schedule(beta, 5)
    np.testing.assert_allclose(s[:, 0], [0.1, 1.0])
    np.testing.assert_allclose(s[:, -1], [10.0, 1.0])
    np.testing.assert_allclose(s[0], 0.1 * 100.0 ** np.linspace(0, 1, 5))
    np.testing.assert_allclose(schedule(beta, 3, "linear")[0], [0.1, 5.05, 10.0])


@pytest.mark.parametrize(
    ("sampler", "params", "match"),
    [
        ("sa", {"num_sweeps": 0}, "num_sweeps"),
        ("sa", {"beta_range": (2.0, 1.0)}, "beta_range"),
        ("sa", {"beta_range": (0.0, 1.0)}, r"beta_range\[0\]"),
        ("sa", {"beta_range": 3}, "beta_range"),
        ("sa", {"beta_schedule": "cubic"}, "beta_schedule"),
        ("sqa", {"trotter": 0}, "trotter"),
        ("sqa", {"beta": -1.0}, "beta"),
        ("sqa", {"gamma_range": (0.1, 1.0)}, "gamma_range"),
    ],
)
def test_bad_solver_parameters_name_the_argument(sampler, params, match):
    p = layer_problem(*batch(0))
    with pytest.raises((ValueError, TypeError), match=match):
        solve(p, sampler, seed=0, **params)


@pytest.mark.parametrize("sampler", ["sa", "sqa"])
def test_randomised_solvers_need_an_explicit_seed(sampler):
    with pytest.raises((ValueError, TypeError), match="seed"):
        solve(layer_problem(*batch(0)), sampler)


# -- the sign objective as a QUBO -------------------------------------------------------------
def feasible_aux(x, g, eps, weights):
    """Sign bit and slack values that satisfy both constraints, built from the definitions."""
    b, n = x.shape
    out = {}
    tau = min(max(int(np.ceil((n - eps * b) / 2 - 1e-12)), 0), n + 1)
    for s in range(b):
        q = int((x[s] * g == 1).sum())
        z = (x[s] @ g) / b
        sigma = 1 if z + eps >= 0 else 0
        r = q - tau * sigma
        t = tau - 1 + (n - tau + 1) * sigma - q
        out[("sign", s)] = sigma
        for name, value in (("r", r), ("t", t)):
            assert 0 <= value <= n
            bits = []
            for w in reversed(weights):  # greedy from the largest weight
                take = 1 if value >= w and w > 0 else 0
                value -= take * w
                bits.append(take)
            assert value == 0
            for k, bit in enumerate(reversed(bits)):
                out[(name, s, k)] = bit
    return out


@pytest.mark.parametrize(
    ("seed", "n", "b", "eps"), [(0, 1, 3, 0.01), (1, 4, 3, 0.5), (2, 5, 4, 0.01), (3, 6, 2, 3.0)]
)
@pytest.mark.parametrize("formulation", ["sign", "neuron"])
def test_sign_qubo_minimum_over_auxiliary_bits_is_the_sign_energy(seed, n, b, eps, formulation):
    pytest.importorskip("dimod")
    from bnnlab.hardware.sign_qubo import encode, slack_weights

    x, y = batch(seed, b=b, n=n, m=2)
    p = layer_problem(x, y, formulation=formulation, eps=eps)
    eps = p.eps  # the neuron formulation has no shift
    weights = slack_weights(n)
    g_all = all_assignments(n)
    energies = p.energy(np.broadcast_to(g_all, (p.rows, *g_all.shape)))
    for row in range(p.rows):
        enc = encode(p, row)
        assert enc.num_variables == n + b * (1 + 2 * len(weights))
        for gi, g in enumerate(g_all):
            sample = {i: int(g[i] + 1) // 2 for i in range(n)}
            sample.update(feasible_aux(x, g, eps, weights))
            best = enc.bqm.energy(sample)
            assert best == pytest.approx(energies[row, gi], abs=1e-9)
            for s in range(b):  # no other aux bits of any one sample do better
                names = [v for v in enc.bqm.variables if not isinstance(v, int) and v[1] == s]
                for bits in itertools.product((0, 1), repeat=len(names)):
                    trial = {**sample, **dict(zip(names, bits, strict=True))}
                    assert enc.bqm.energy(trial) >= best - 1e-9


def test_sign_qubo_slack_weights_cover_exactly_zero_to_top():
    from bnnlab.hardware.sign_qubo import slack_weights

    for top in range(1, 40):
        w = slack_weights(top)
        sums = {sum(c) for r in range(len(w) + 1) for c in itertools.combinations(w, r)}
        assert sums == set(range(top + 1)), top


def test_sign_qubo_refuses_a_weak_penalty_and_zero_inputs():
    pytest.importorskip("dimod")
    x, y = batch(1, b=3, n=3, m=1)
    p = layer_problem(x, y, formulation="sign")
    with pytest.raises(ValueError, match="penalty"):
        p.to_bqm(0, penalty=4.0 * np.abs(y).max())
    x0 = x.copy()
    x0[0, 0] = 0
    with pytest.raises(ValueError, match="x: the sign QUBO needs"):
        layer_problem(x0, y, formulation="sign").to_bqm(0)


# -- the authors' per-neuron formulation --------------------------------------------------------
def test_neuron_energy_is_four_times_the_threshold_unit_loss():
    x, y = batch(12, b=9, n=5, m=3)
    p = layer_problem(x, y, formulation="neuron")
    w = all_assignments(5)
    e = p.energy(np.broadcast_to(w, (3, *w.shape)))
    for j in range(3):
        t = (1 - y[:, j]) / 2
        for k, wk in enumerate(w):
            o = (x @ wk >= 0).astype(float)  # threshold unit, ties fire
            assert e[j, k] == pytest.approx(4 * np.sum((t - o) ** 2))
    assert p.step_sign == -1 and layer_problem(x, y).step_sign == 1
    r = solve(p, "sa", num_reads=20, seed=0, num_sweeps=200)
    np.testing.assert_allclose(r.energies.min(axis=1), brute_min(p), atol=1e-9)


def test_neuron_fan_in_is_limited_to_sixteen():
    x, y = batch(0, b=3, n=17, m=1)
    with pytest.raises(ValueError, match="fan-in of at most 16"):
        layer_problem(x, y, formulation="neuron")
