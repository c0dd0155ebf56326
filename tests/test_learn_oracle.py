"""The learners of bnnlab.learn.local against an independent per-sample oracle, every mini-batch.

``tests/local_oracle.py`` implements local-binary and CP+R from REFERENCES.md §2.2/§2.3 and the
documented tie rules and draw order, sharing no code with :mod:`bnnlab.learn.local`. Here the
bit-packed learners and their dense references run in lockstep with it: after every mini-batch the
hidden weights, the head (or readout) states, the correct count and the predictions on a probe set
must be identical; fitted epoch by epoch, the per-epoch rows must be too. The cases are chosen so
that every rule fires (the oracle counts them): an accuracy above 0 (the reinforcement rate
decays from epoch 2), several layers with different fan-ins, trained heads with three or more
classes, zero weights and zero pre-activations under ``sign_zero="zero"``, clipping, small groups.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

from bnnlab.learn import (
    CPRConfig,
    CPRLearner,
    CPRReference,
    LocalBinaryConfig,
    LocalBinaryLearner,
    LocalBinaryReference,
)

sys.path.insert(0, str(Path(__file__).parent))
from local_oracle import CPROracle, LocalBinaryOracle


def _data(seed, n, d, c):
    """±1 rows labelled by a random ±1 teacher (learnable, so accuracies leave 1/C)."""
    rng = np.random.default_rng(seed)
    x = np.where(rng.random((n, d)) < 0.5, 1, -1).astype(np.int8)
    teacher = np.where(rng.random((d, c)) < 0.5, 1, -1)
    return x, np.argmax(x.astype(np.int32) @ teacher, axis=1).astype(np.int64)


def _same_state(model, oracle, probe, cpr=False):
    assert len(model.hidden) == len(oracle.hidden)
    for w, v in zip(model.hidden, oracle.hidden, strict=True):
        # int32, or the compiled step's int16 while W has room in it (test_learn_narrow.py)
        assert w.dtype in (np.int16, np.int32) and np.array_equal(w, v)
    if cpr:
        assert np.array_equal(model.readout_state, oracle.readout_state)
    else:
        for g, v in zip(model.head_state, oracle.head_state, strict=True):
            assert g.dtype == np.int32 and np.array_equal(g, v)
    pred = model.predict(probe)
    assert pred.dtype == np.int64 and np.array_equal(pred, oracle.predict(probe))


def _lockstep(model, oracle, x, y, epochs, cpr=False):
    """Drive both with the same documented draws, comparing after every mini-batch."""
    n, bs, probe = len(y), model.config.batch_size, x[:24]
    _same_state(model, oracle, probe, cpr)  # initialisation draws
    batches = 0
    for _ in range(epochs):
        perm = model.rng.permutation(n)  # the first draw of an epoch
        assert np.array_equal(perm, oracle.begin_epoch(n))
        correct = 0
        for start in range(0, n, bs):
            idx = perm[start : start + bs]
            got = model.train_batch(x[idx], y[idx])
            assert got == oracle.train_batch(x[idx], y[idx])
            correct += got
            _same_state(model, oracle, probe, cpr)
            batches += 1
        # what fit does at the end of an epoch: the accuracy that sets the next epoch's rate
        model.prev_correct, model.prev_total = correct, n
        oracle.end_epoch(correct, n)
    assert model.rng.bit_generator.state == oracle.rng.bit_generator.state
    return batches


# (n_features, layers, groups, n_classes, batch, extra config, data seed)
LB_CASES = {
    "even-fan-in-small-init": (64, (12, 8), (4, 2), 3, 16, {"init_std": 3.0}, 1),
    "three-layers-head": (48, (9, 6, 4), (3, 3, 2), 4, 20, {"train_head": True, "init_std": 6.0}, 2),
    "clip-head-pr1": (
        34, (10, 6), (5, 3), 3, 12,
        {"clip": 7, "init_std": 4.0, "p_r": 1.0, "train_head": True}, 3,
    ),
    "one-layer-margin": (40, (8,), (2,), 5, 25, {"rob": 0.5, "train_head": True}, 4),
    "gamma-K-step3": (50, (14, 7), None, 3, 15, {"step": 3, "init_std": 10.0, "rob": 0.3}, 5),
    # 12 000 first-layer weights hit with p = sqrt(2 / (120 pi)) = 0.073 in the first epoch:
    # numpy's choice takes its tail-shuffle branch (size > 10 000, hits > size // 20)
    "tail-shuffle-pr1": (120, (100, 6), (5, 3), 3, 24, {"p_r": 1.0, "init_std": 6.0}, 6),
}  # fmt: skip


def _pair(cls, case, sign_zero, seed):
    """A learner and the oracle, built from the same case with the same seed."""
    d, layers, groups, c, bs, extra, _ = LB_CASES[case]
    kw = dict(groups=groups, batch_size=bs, sign_zero=sign_zero, **extra)
    model = cls(LocalBinaryConfig(n_features=d, n_classes=c, layers=layers, **kw), seed=seed)
    return model, LocalBinaryOracle(d, c, layers, seed=seed, **kw)


@pytest.mark.parametrize("cls", [LocalBinaryLearner, LocalBinaryReference])
@pytest.mark.parametrize("sign_zero", ["zero", "plus"])
@pytest.mark.parametrize("case", sorted(LB_CASES))
def test_local_binary_equals_oracle_after_every_batch(cls, sign_zero, case):
    d, _, _, c, _, extra, data_seed = LB_CASES[case]
    x, y = _data(data_seed, 72, d, c)
    model, oracle = _pair(cls, case, sign_zero, seed=10 + data_seed)
    epochs = 3
    assert _lockstep(model, oracle, x, y, epochs) == epochs * -(-72 // model.config.batch_size)
    # the case exercised the rules it is there for (else equality would prove little)
    st = oracle.stats
    assert st["selected"] > 0 and st["reinforced"] > 0
    assert st["epochs_with_accuracy"] >= epochs - 1  # acc_prev > 0: the rate decays
    if extra.get("train_head"):
        assert c >= 3 and st["head_updates"] > 0
    if extra.get("rob", 0.25) >= 0.3:
        assert st["wrong_by_margin_only"] > 0
    if sign_zero == "zero" and extra.get("init_std", 64.0) <= 4.0:
        assert st["zero_w"] > 0
        if d % 2 == 0:
            assert st["zero_h"] > 0
    if "clip" in extra:
        assert max(int(np.abs(w).max()) for w in oracle.hidden) == extra["clip"]
    if case == "tail-shuffle-pr1":  # ~874 +- 28 hits of 12 000 against the branch's 600
        assert d * 100 > 10_000 and 12_000 * math.sqrt(2 / (math.pi * d)) > 600 + 8 * 28


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("sign_zero", ["zero", "plus"])
def test_local_binary_equals_oracle_across_seeds(seed, sign_zero):
    case = "three-layers-head"
    x, y = _data(100 + seed, 60, LB_CASES[case][0], LB_CASES[case][3])
    model, oracle = _pair(LocalBinaryLearner, case, sign_zero, seed=seed)
    _lockstep(model, oracle, x, y, epochs=2)


@pytest.mark.parametrize("cls", [LocalBinaryLearner, LocalBinaryReference])
@pytest.mark.parametrize(
    ("case", "sign_zero"),
    [("even-fan-in-small-init", "zero"), ("clip-head-pr1", "zero"), ("three-layers-head", "plus"),
     ("gamma-K-step3", "zero"), ("gamma-K-step3", "plus"), ("tail-shuffle-pr1", "zero")],
)  # fmt: skip
def test_local_binary_fit_rows_equal_oracle_epochs(cls, case, sign_zero, monkeypatch):
    """``fit`` one epoch at a time: its own shuffles and accuracy bookkeeping match the oracle.

    Without a trained head the compiled learner runs each epoch in one call
    (:func:`bnnlab.learn.local._epoch.train_epoch`; "tail-shuffle-pr1" returns from it at numpy's
    tail-shuffle branch and goes on batch by batch), in calls of 3 mini-batches here (64 by
    default) so that the epoch is split; with one batch by batch."""
    from bnnlab.learn.local import local_binary

    monkeypatch.setattr(local_binary, "_CHUNK", 3)
    d, _, _, c, _, extra, data_seed = LB_CASES[case]
    x, y = _data(data_seed + 50, 80, d, c)
    xt, yt = _data(data_seed + 60, 30, d, c)
    model, oracle = _pair(cls, case, sign_zero, seed=3)
    whole = cls is LocalBinaryLearner and not extra.get("train_head", False)
    assert getattr(model, "_whole_epochs", lambda: False)() == whole
    for epoch in range(1, 4):
        (row,) = model.fit(x, y, epochs=1, x_test=xt, y_test=yt)
        train_acc = oracle.fit_epoch(x, y)
        test_acc = 100.0 * int((oracle.predict(xt) == yt).sum()) / len(yt)
        assert row["epoch"] == epoch
        assert row["train_accuracy"] == train_acc and row["test_accuracy"] == test_acc
        assert (model.prev_correct, model.prev_total) == (oracle.prev_correct, oracle.prev_total)
        _same_state(model, oracle, xt)
    assert oracle.stats["epochs_with_accuracy"] == 3


# (n_features, hidden K1, group K1/K2, n_classes, batch, extra config, data seed)
CPR_CASES = {
    "k2-4": (40, 12, 3, 3, 10, {}, 1),
    "clip-pr1": (31, 20, 5, 4, 16, {"clip": 20, "init_std": 8.0, "p_r": 1.0}, 2),
    "margin": (64, 18, 3, 3, 12, {"rob": 0.5, "step": 3}, 3),
}


def _cpr_pair(cls, case, seed, sign_zero="zero"):
    d, k1, g, c, bs, extra, _ = CPR_CASES[case]
    extra = {**extra, "sign_zero": sign_zero}
    cfg = CPRConfig.from_layers(d, c, (k1, k1 // g), batch_size=bs, **extra)
    oracle = CPROracle(d, c, k1, g, seed=seed, batch_size=bs, **extra)
    return cls(cfg, seed=seed), oracle


@pytest.mark.parametrize("sign_zero", ["zero", "plus"])
@pytest.mark.parametrize("seed", [0, 7])
@pytest.mark.parametrize("cls", [CPRLearner, CPRReference])
@pytest.mark.parametrize("case", sorted(CPR_CASES))
def test_cpr_equals_oracle_after_every_batch(cls, case, seed, sign_zero):
    d, _, _, c, _, extra, data_seed = CPR_CASES[case]
    x, y = _data(data_seed, 70, d, c)
    model, oracle = _cpr_pair(cls, case, seed, sign_zero)
    _lockstep(model, oracle, x, y, epochs=3, cpr=True)
    st = oracle.stats
    assert st["selected"] > 0 and st["reinforced"] > 0 and st["epochs_with_accuracy"] >= 2
    if "clip" in extra:
        assert int(np.abs(oracle.hidden[0]).max()) == extra["clip"]


@pytest.mark.parametrize("sign_zero", ["zero", "plus"])
@pytest.mark.parametrize("cls", [CPRLearner, CPRReference])
def test_cpr_fit_rows_equal_oracle_epochs(cls, sign_zero):
    d, _, _, c, _, _, _ = CPR_CASES["k2-4"]
    x, y = _data(9, 80, d, c)
    model, oracle = _cpr_pair(cls, "k2-4", seed=5, sign_zero=sign_zero)
    for _ in range(3):
        (row,) = model.fit(x, y, epochs=1)
        assert row["train_accuracy"] == oracle.fit_epoch(x, y)
        _same_state(model, oracle, x[:30], cpr=True)
