"""Built-in batched annealers against the samplers a user has: dwave-samplers' simulated annealing
and OpenJij's simulated quantum annealing, on one layer's QP-SBGD problems; and a QP-SBGD epoch
against a BinaryConnect epoch of the same model.

Problems: one ``lsq`` layer, 128 rows (output units) of n = 64 inputs, B = 100 (±1 inputs drawn
uniformly, Gaussian output gradients, ``alpha="auto"``), seed 0. Every solver runs with its own
default temperature schedule at 1000 sweeps: ``sa`` with 100 reads against dwave-samplers'
``SimulatedAnnealingSampler``; ``sqa`` with 8 Trotter slices and 20 reads (OpenJij's SQA takes
about a second per row at 100 reads) against OpenJij's ``SQASampler`` at 8 slices, 1000 sweeps and
``beta=500`` (its default 5 is far too hot for these energy scales; at 500 its median energy
matches ours — the medians are printed to show the comparison is at equal quality). Each is timed end to end as a user calls it through
``solve`` (the Ocean/OpenJij times include building the 128 BQMs, printed separately). Medians of
the rounds; ratios from this one run; the CPU model is printed. Run with ``nox -s bench``.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # importlib import mode: make _peak importable
from _peak import cpu_model

from bnnlab.hardware.annealing import solve
from bnnlab.hardware.qubo import layer_problem

ROWS, N, B, SWEEPS = 128, 64, 100, 1000


@pytest.fixture(scope="module")
def layer():
    rng = np.random.default_rng(0)
    x = np.where(rng.random((B, N)) < 0.5, 1, -1).astype(np.int8)
    return layer_problem(x, rng.normal(size=(B, ROWS)), alpha="auto")


def _median_time(fn, rounds):
    times, out = [], None
    for _ in range(rounds):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


def _report(name, ours, theirs, e_ours, e_theirs, extra=""):
    print(
        f"\n[{name}] {cpu_model()}, {os.cpu_count()} cores: ours {ours:.3f} s, theirs {theirs:.3f} s "
        f"-> {theirs / ours:.1f}x; median energy ours {np.median(e_ours):.5f}, theirs "
        f"{np.median(e_theirs):.5f}{extra}"
    )


def test_sa_against_dwave_samplers(benchmark, layer):
    pytest.importorskip("dwave.samplers")
    solve(layer, "sa", num_reads=2, seed=0, num_sweeps=10)  # compile outside the timing
    res = benchmark.pedantic(
        lambda: solve(layer, "sa", num_reads=100, seed=0, num_sweeps=SWEEPS), rounds=3
    )
    ours = benchmark.stats.stats.median
    t0 = time.perf_counter()
    bqms = [layer.to_bqm(r) for r in range(ROWS)]
    build = time.perf_counter() - t0
    theirs, other = _median_time(
        lambda: solve(layer, "dwave-sa", num_reads=100, seed=0, num_sweeps=SWEEPS), 1
    )
    assert len(bqms) == ROWS
    _report("sa vs dwave-samplers SA", ours, theirs, res.energies, other.energies,
            f"; of theirs, building the BQMs {build:.3f} s")  # fmt: skip


def test_sa_time_to_target_against_dwave_samplers(benchmark, layer):
    """Time to equal quality: the target is dwave-samplers' median read energy at 1000 sweeps;
    each sampler's time is its fastest rung of a sweep ladder (100 reads, each at its own default
    schedule) whose median read energy reaches the target. Both ladders are printed."""
    pytest.importorskip("dwave.samplers")
    solve(layer, "sa", num_reads=2, seed=0, num_sweeps=10)

    def ladder(sampler, sweeps):
        rows = []
        for sw in sweeps:
            t, r = _median_time(lambda sw=sw: solve(layer, sampler, num_reads=100, seed=0,
                                                    num_sweeps=sw), 1)  # fmt: skip
            rows.append((sw, t, float(np.median(r.energies))))
        return rows

    theirs = ladder("dwave-sa", (100, 200, 500, 1000))
    target = theirs[-1][2]
    ours = benchmark.pedantic(lambda: ladder("sa", (50, 100, 200, 500)), rounds=1)

    def fastest(rows):
        hit = [(t, sw) for sw, t, e in rows if e <= target]
        return min(hit) if hit else (float("nan"), None)

    (t_ours, sw_ours), (t_theirs, sw_theirs) = fastest(ours), fastest(theirs)
    show = ", ".join
    print(
        f"\n[sa vs dwave-samplers SA, time to dwave's 1000-sweep median {target:.5f}] {cpu_model()}"
        f", {os.cpu_count()} cores: ours {t_ours:.3f} s at {sw_ours} sweeps, theirs "
        f"{t_theirs:.3f} s at {sw_theirs} sweeps -> {t_theirs / t_ours:.1f}x; ladders (sweeps, s,"
        f" median): ours {show(f'{sw}/{t:.2f}/{e:.5f}' for sw, t, e in ours)}; theirs "
        f"{show(f'{sw}/{t:.2f}/{e:.5f}' for sw, t, e in theirs)}"
    )


def test_sqa_against_openjij(benchmark, layer):
    pytest.importorskip("openjij")
    solve(layer, "sqa", num_reads=2, seed=0, num_sweeps=10)
    res = benchmark.pedantic(
        lambda: solve(layer, "sqa", num_reads=20, seed=0, num_sweeps=SWEEPS, trotter=8), rounds=3
    )
    ours = benchmark.stats.stats.median
    theirs, other = _median_time(
        lambda: solve(layer, "openjij-sqa", num_reads=20, seed=0, num_sweeps=SWEEPS, trotter=8,
                      beta=500.0),
        1,
    )  # fmt: skip
    _report("sqa vs OpenJij SQA", ours, theirs, res.energies, other.energies)


def test_qp_sbgd_epoch_against_binary_connect(benchmark):
    """One epoch of 49-16-2 on a 7 x 7 Fashion-MNIST pair (mini set, 2000 images, batch 50):
    QP-SBGD (sa, 100 sweeps, 1 read) against BinaryConnect (SGD) on the same model."""
    from bnnlab.data import load_binary
    from bnnlab.learn.method import TrainData, get

    data = TrainData(*load_binary("fashion-mnist-mini:classes=0,2:pool=4", 0))

    def epoch(alias, **cfg):
        cls = get(alias)
        m = cls(cls.config_class(layers=(16,), batch_size=50, **cfg), n_features=49,
                n_classes=2, seed=0)  # fmt: skip
        return m.fit(data, epochs=1)[0]

    epoch("qp-sbgd", num_sweeps=100)  # compile
    row = benchmark.pedantic(lambda: epoch("qp-sbgd", num_sweeps=100), rounds=3)
    ours = benchmark.stats.stats.median
    bc, _ = _median_time(lambda: epoch("binary-connect", lr=0.01), 3)
    print(
        f"\n[qp-sbgd epoch] {cpu_model()}: qp-sbgd {ours:.3f} s (solver {row['qp/solver_seconds']:.3f}"
        f" s), binary-connect {bc:.3f} s -> qp-sbgd costs {ours / bc:.1f}x"
    )
