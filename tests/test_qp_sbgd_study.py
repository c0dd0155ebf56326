"""QP-SBGD studies: the karate-club task (communities, split), whole-graph training, harvested
layer problems, the solver-quality table's definitions, and the three-feature task."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bnnlab.experiments import qp_sbgd as Q


def test_karate_club_communities_and_stratified_split():
    d = Q.karate_club(3)
    assert d.adjacency.shape == (34, 34) and d.adjacency.sum() == 2 * 78
    assert np.bincount(d.y).tolist() == [11, 5, 14, 4]  # Louvain (seed 0), ordered by min node
    assert d.y[0] == 0 and d.n_classes == 4
    assert sorted([*d.train, *d.test]) == list(range(34))
    for c in range(4):
        assert (d.y[d.train] == c).sum() == max(1, round(0.5 * (d.y == c).sum()))
    assert not np.array_equal(Q.karate_club(4).train, d.train)
    assert np.array_equal(Q.karate_club(3).train, d.train)


@pytest.mark.parametrize("optimiser", list(Q.OPTIMISERS))
def test_gcn_training_rows_and_determinism(optimiser):
    rows = Q.train_gcn(optimiser, seed=1, epochs=3, options={} if optimiser != "qp-sbgd" else
                       {"solver_params": {"num_sweeps": 10}})  # fmt: skip
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    for r in rows:
        assert 0 <= r["test_accuracy"] <= 100 and math.isfinite(r["train_loss"])
    again = Q.train_gcn(optimiser, seed=1, epochs=3, options={} if optimiser != "qp-sbgd" else
                        {"solver_params": {"num_sweeps": 10}})  # fmt: skip
    strip = [{k: v for k, v in r.items() if "seconds" not in k} for r in rows]
    assert strip == [{k: v for k, v in r.items() if "seconds" not in k} for r in again]
    if optimiser == "qp-sbgd":
        assert "qp/sign_agreement" in rows[0]


def test_harvested_problems_are_real_layer_batches():
    probs = Q.harvest_problems(batches=2, width=10, batch_size=20)
    assert len(probs) == 2
    for x, y in probs:
        assert x.shape == (20, 10) and y.shape == (20, 10)
        assert set(np.unique(x)) <= {-1.0, 1.0} and np.abs(y).sum() > 0


def test_solver_quality_definitions_on_cases_with_a_known_answer():
    """With the exact solver as the 'annealer' every read is optimal: gap 0, success 1, and the
    time to solution is the time of one read. Above n = 24 the reference is the best found, so
    a single solver's best read is its own reference."""
    probs = Q.harvest_problems(batches=1, width=26, batch_size=20)
    (row,) = Q.solver_quality(probs, sizes=(6,), reads=(3,), solvers={"e": {"sampler": "exact"}})
    assert row["reference"] == "exact"
    assert row["gap"] == 0.0 and row["success"] == 1.0 and row["per_read"] == 1.0
    assert row["tts99"] == pytest.approx(row["seconds"] / 3)
    (row,) = Q.solver_quality(
        probs, sizes=(26,), reads=(4,), solvers={"sa": {"sampler": "sa", "num_sweeps": 5}}
    )
    assert row["reference"] == "best found" and row["gap"] == 0.0 and row["success"] == 1.0
    assert 0 < row["per_read"] <= 1
    with pytest.raises(ValueError, match="sizes"):
        Q.solver_quality(probs, sizes=(40,))


def test_three_features_are_chosen_on_training_data_only():
    xtr, ytr, xte, yte = Q.three_features(n_train=200)
    assert xtr.shape == (200, 3) and xte.shape[1] == 3 and set(np.unique(ytr)) == {0, 1}
    r = Q.train_tiny("qp-sbgd", seed=0, formulation="neuron", data=(xtr, ytr, xte, yte))
    assert 0 <= r["test_accuracy"] <= 100
    with pytest.raises(ValueError, match="two classes"):
        Q.three_features("fashion-mnist-mini:pool=4")


def test_unknown_optimiser_is_refused():
    with pytest.raises(ValueError, match="name"):
        Q.make_optimizer("adamw", None, seed=0)
