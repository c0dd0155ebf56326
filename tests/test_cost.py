"""Cost report: hand-computed counts of the paper's cost model on a tiny network."""

from __future__ import annotations

import pytest

from bnnlab.learn.local.cost import cost_report


def test_local_binary_counts_by_hand():
    # 4 -> 3 -> 2 hidden, 2 classes, batch 5, 12 training samples (3 batches)
    r = cost_report("local-binary", 4, [3, 2], 2, batch_size=5, n_train=12)
    d = r.as_dict()
    mem = d["memory_bits"]
    assert mem["dataset"] == {"binary": 48, "float32": 32 * 48}
    assert mem["hidden weights"] == {"binary": 8 * (12 + 6), "float32": 32 * (12 + 6 + 4)}
    assert mem["local heads / readout"] == {"binary": 3 * 2 + 2 * 2, "float32": 0}
    assert mem["pre-activations"] == {"binary": 8 * 5 * 5, "float32": 32 * 5 * (3 + 2 + 2)}
    assert mem["gradients"]["float32"] == 32 * (22 + 35)
    g = d["gates_per_batch"]
    fwd = 5 * (12 + 6) * 11 + 5 * (3 + 2) * 2 * 11
    assert g["forward (incl. heads)"]["binary"] == fwd
    assert g["error / backward"]["binary"] == 9 * 5 * (3 + 2)
    assert g["update"]["binary"] == (12 + 6) * (2 + 10 + 40)
    assert g["forward (incl. heads)"]["float32"] == 2 * 5 * 22 * 10_000
    assert g["error / backward"]["float32"] == 4 * 5 * 22 * 10_000
    assert g["update"]["float32"] == 2 * 22 * 10_000
    assert r.batches_per_epoch == 3
    assert d["total"]["gates_per_epoch"]["binary"] == 3 * r.gates_per_batch[0]
    text = r.table()
    assert "local-binary 4-3-2-2" in text and "gates per epoch (×3)" in text


def test_cpr_counts_and_errors():
    r = cost_report("cp-r", 4, [6, 2], 3, batch_size=2, n_train=4)
    g = r.as_dict()["gates_per_batch"]
    assert g["forward (incl. heads)"]["binary"] == 2 * 24 * 11 + 2 * 6 * 10 + 2 * 2 * 3 * 11
    assert r.as_dict()["memory_bits"]["local heads / readout"]["binary"] == 6
    with pytest.raises(ValueError, match=r"^layers"):
        cost_report("cp-r", 4, [6, 4], 3)
    with pytest.raises(ValueError, match=r"^learner"):
        cost_report("sgd", 4, [6], 3)
    with pytest.raises(ValueError, match=r"^layers"):
        cost_report("local-binary", 4, [0], 3)


def test_paper_scale_ratios():
    d = cost_report("local-binary", 784, [525, 525], 10).as_dict()["total"]
    # binary training is orders of magnitude cheaper in gates, ~29x smaller in memory
    assert d["gate_ratio"] > 1000 and 20 < d["memory_ratio"] < 40
