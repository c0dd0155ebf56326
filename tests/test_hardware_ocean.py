"""The Ocean / OpenJij samplers behind solve(): real samplers (the annealing extra is installed by
the test session), ground states on easy problems, read order and determinism, parameter checks."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("dwave.samplers")
pytest.importorskip("openjij")

from bnnlab.hardware.annealing import ocean, solve
from bnnlab.hardware.qubo import layer_problem

ALIASES = sorted(ocean.SAMPLERS)


def batch(seed, b=10, n=8, m=3):
    rng = np.random.default_rng(seed)
    return np.where(rng.random((b, n)) < 0.5, 1, -1).astype(np.int8), rng.normal(size=(b, m))


def params(alias):
    # tabu stops on a wall-clock timeout; a number of restarts makes it deterministic. OpenJij's
    # SQA default beta (5) is too hot for these energy scales (|h| ~ 1, |J| ~ 0.1)
    return {
        "dwave-tabu": {"timeout": 1000, "num_restarts": 3},
        "openjij-sqa": {"beta": 20.0},
    }.get(alias, {})


@pytest.mark.parametrize("alias", ALIASES)
def test_adapters_reach_the_exact_ground_state_of_easy_lsq_rows(alias):
    p = layer_problem(*batch(0))
    best = solve(p, "exact").energies[:, 0]
    r = solve(p, alias, num_reads=20, seed=1, **params(alias))
    assert r.samples.shape == (3, 20, 8) and r.samples.dtype == np.int8
    assert set(np.unique(r.samples)) <= {-1, 1}
    np.testing.assert_allclose(r.energies.min(axis=1), best, atol=1e-9)


@pytest.mark.parametrize("alias", ALIASES)
def test_reads_are_the_samplers_records_in_order_and_reproducible(alias):
    """The returned reads are the SampleSet's records in their order (aggregated reads expanded),
    with the row's seed drawn from solve()'s seed (OpenJij: one call per read, seeds drawn from
    the row's); the same seed gives the same samples."""
    p = layer_problem(*batch(2, n=6, m=1))
    seed = int(np.random.default_rng(5).integers(0, 2**31 - 1))
    sampler = ocean.sampler(alias)
    if alias.startswith("openjij"):
        calls = [(1, int(k)) for k in np.random.default_rng(seed).integers(0, 2**31 - 1, size=8)]
    else:
        calls = [(8, seed)]
    expected = []
    for reads, s in calls:
        direct = sampler.sample(p.to_bqm(0), num_reads=reads, seed=s, **params(alias))
        cols = [list(direct.variables).index(i) for i in range(6)]
        rec = direct.record
        expected.append(np.repeat(np.asarray(rec.sample)[:, cols], rec.num_occurrences, axis=0))
    got = ocean.run(alias, p, num_reads=8, seed=5, **params(alias))
    assert np.array_equal(got[0], np.concatenate(expected))
    assert np.array_equal(got, ocean.run(alias, p, num_reads=8, seed=5, **params(alias)))


@pytest.mark.parametrize("alias", ["dwave-sa", "dwave-pathintegral", "openjij-sa", "openjij-sqa"])
def test_reads_are_independent_runs(alias):
    """Hot, two-sweep anneals: the reads of one row differ (OpenJij, given one seed per call,
    would repeat one run)."""
    p = layer_problem(*batch(3, n=10, m=1))
    hot = {"openjij-sa": {"beta_min": 1e-3, "beta_max": 1e-2},
           "openjij-sqa": {"beta": 1e-2}}.get(alias, {"beta_range": (1e-3, 1e-2)})  # fmt: skip
    r = ocean.run(alias, p, num_reads=10, seed=1, num_sweeps=2, **hot)
    assert len({s.tobytes() for s in r[0]}) >= 5  # one call for all reads gave 1


def test_parameters_are_checked_against_the_sampler():
    p = layer_problem(*batch(3))
    with pytest.raises(ValueError, match=r"dwave-sa does not take beta_max; it takes .*num_sweeps"):
        solve(p, "dwave-sa", seed=0, beta_max=3.0)
    with pytest.raises(ValueError, match="openjij-sqa does not take trotter_slices"):
        solve(p, "openjij-sqa", seed=0, trotter_slices=4)
    with pytest.raises(ValueError, match="unknown Ocean"):
        ocean.run("qpu", p)


def test_sign_qubo_through_an_ocean_sampler_returns_gradient_bits_only():
    p = layer_problem(*batch(4, b=4, n=4, m=2), formulation="sign")
    r = solve(p, "dwave-sa", num_reads=30, seed=0, num_sweeps=2000)
    assert r.samples.shape == (2, 30, 4)
    best = solve(p, "exact").energies[:, 0]
    np.testing.assert_allclose(r.energies.min(axis=1), best, atol=1e-9)
