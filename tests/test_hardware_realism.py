"""Annealer realism (autoscale into Advantage's ranges, control errors) and the QPU cost model
(clique embedding in Pegasus P16 checked as a graph minor, timing arithmetic by hand)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bnnlab.hardware.annealing import solve
from bnnlab.hardware.annealing.realism import Realism, perturb, scale
from bnnlab.hardware.qubo import layer_problem


def batch(seed, b=9, n=6, m=3):
    rng = np.random.default_rng(seed)
    return np.where(rng.random((b, n)) < 0.5, 1, -1).astype(np.int8), rng.normal(size=(b, m))


def test_autoscale_puts_every_row_in_range_and_keeps_its_ground_state():
    p = layer_problem(*batch(0), alpha=30.0)  # large fields: h limits the scale
    rows = perturb(p, Realism(sigma_h=0.0, sigma_j=0.0), np.random.default_rng(0))
    for r, q in enumerate(rows):
        s = max(np.abs(p.h[r]).max() / 4, np.abs(2 * p.A).max())
        assert scale(p, r) == pytest.approx(s)
        assert np.abs(q.h).max() <= 4 + 1e-12 and np.abs(2 * q.A).max() <= 1 + 1e-12
        assert max(np.abs(q.h).max() / 4, np.abs(2 * q.A).max()) == pytest.approx(1.0)
    exact = solve(p, "exact").samples
    scaled = solve(p, "exact", realism=Realism(sigma_h=0.0, sigma_j=0.0), seed=0).samples
    assert np.array_equal(exact, scaled)


def test_control_errors_have_the_stated_spread_and_differ_per_row():
    p = layer_problem(*batch(1, n=40, m=2))
    rows = perturb(p, Realism(autoscale=False, sigma_h=0.1, sigma_j=0.05), np.random.default_rng(3))
    dh = np.concatenate([q.h[0] - p.h[r] for r, q in enumerate(rows)])
    iu = np.triu_indices(40, 1)
    dj = np.concatenate([2 * (q.A - p.A)[iu] for q in rows])
    assert dh.std() == pytest.approx(0.1, rel=0.25) and abs(dh.mean()) < 0.05
    assert dj.std() == pytest.approx(0.05, rel=0.1) and abs(dj.mean()) < 0.01
    assert np.allclose(rows[0].A, rows[0].A.T) and not np.allclose(rows[0].A, rows[1].A)


def test_solve_with_realism_reports_true_energies():
    p = layer_problem(*batch(2))
    r = solve(p, "sa", num_reads=3, seed=4, realism=Realism(sigma_h=0.3, sigma_j=0.3))
    np.testing.assert_allclose(r.energies, p.energy(r.samples))
    again = solve(p, "sa", num_reads=3, seed=4, realism=Realism(sigma_h=0.3, sigma_j=0.3))
    assert np.array_equal(r.samples, again.samples)


def test_realism_validation():
    with pytest.raises(ValueError, match="sigma_h"):
        Realism(sigma_h=-1.0)
    with pytest.raises(TypeError, match="autoscale"):
        Realism(autoscale="yes")
    with pytest.raises(ValueError, match="lsq"):
        solve(layer_problem(*batch(3), formulation="sign"), "sa", seed=0, realism=Realism())
    with pytest.raises(TypeError, match="realism"):
        solve(layer_problem(*batch(3)), "sa", seed=0, realism={"sigma_h": 0.1})


# -- QPU cost ----------------------------------------------------------------------------------
def test_clique_embeddings_are_valid_minors_of_pegasus():
    pytest.importorskip("minorminer")
    import networkx as nx
    from minorminer import busclique

    from bnnlab.hardware.annealing import qpu

    g = qpu._graph()
    assert g.number_of_nodes() == 5640
    for m in (3, 12, 40):
        emb = busclique.find_clique_embedding(m, g)
        chains = [emb[v] for v in range(m)]
        assert tuple(len(c) for c in chains) == qpu.clique_chains(m)
        used = [q for c in chains for q in c]
        assert len(used) == len(set(used))  # disjoint chains
        for c in chains:
            assert nx.is_connected(g.subgraph(c))  # every chain connected
        for i in range(m):
            for k in range(i + 1, m):  # every pair of chains adjacent
                assert any(g.has_edge(a, b) for a in chains[i] for b in chains[k])


def test_cost_arithmetic_and_the_fit_limit():
    pytest.importorskip("minorminer")
    from bnnlab.hardware.annealing import qpu

    c = qpu.estimate(16, 100)
    assert c.fits and c.physical_qubits == sum(qpu.clique_chains(16))
    assert c.longest_chain == max(qpu.clique_chains(16))
    readout = qpu.readout_us(c.physical_qubits)
    assert c.qpu_seconds == pytest.approx((15_000 + 100 * (20 + readout + 21)) * 1e-6)
    assert qpu.readout_us(12) == pytest.approx(25.0) and qpu.readout_us(5000) == 150.0
    assert qpu.readout_us(1) == 25.0 and qpu.readout_us(10**6) == 150.0
    mid = qpu.readout_us(round(math.sqrt(12 * 5000)))
    assert mid == pytest.approx(math.sqrt(25 * 150), rel=1e-3)  # log-log midpoint
    assert qpu.estimate(180, 1).fits and not qpu.estimate(181, 1).fits
    assert qpu.estimate(181, 1).qpu_seconds is None
    with pytest.raises(ValueError, match="num_reads"):
        qpu.estimate(4, 0)


def test_qp_sbgd_records_the_qpu_cost():
    pytest.importorskip("minorminer")
    from bnnlab import nn, optim

    d = nn.Dense(6, 3, bias=False, weight_binarizer="ste_sign", act_binarizer="ste_sign", seed=0)
    opt = optim.QPSBGD(optim.param_groups(d, 0.0), seed=0, qpu_cost=True, num_reads=10,
                       realism=Realism())  # fmt: skip
    x = np.where(np.random.default_rng(0).random((8, 6)) < 0.5, 1.0, -1.0).astype(np.float32)
    d.forward(x, True)
    d.backward(np.ones((8, 3), dtype=np.float32))
    opt.step()
    rec = opt.records[-1]
    from bnnlab.hardware.annealing import qpu

    assert rec["physical_qubits"] == qpu.estimate(6, 10).physical_qubits
    assert rec["qpu_seconds"] == pytest.approx(3 * qpu.estimate(6, 10).qpu_seconds)
    assert opt.epoch_columns()["qp/qpu_seconds"] == pytest.approx(rec["qpu_seconds"])
