"""The bit-packed local-binary learner equals its dense integer oracle after every mini-batch."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from bnnlab.learn._local_reference import LocalBinaryReference
from bnnlab.learn.local_binary import LocalBinaryConfig, LocalBinaryLearner


def _data(rng, n, d, c):
    x = np.where(rng.random((n, d)) < 0.5, 1, -1).astype(np.int8)
    # learnable structure: labels from a random ±1 teacher, so the runs leave the trivial regime
    teacher = np.where(rng.random((d, c)) < 0.5, 1, -1)
    y = np.argmax(x.astype(np.int32) @ teacher, axis=1).astype(np.int64)
    return x, y


def _snapshot(model):
    return (
        [w.copy() for w in model.hidden],
        [g.copy() for g in model.head_state],
        [b.copy() for b in model.heads],
    )


def _record_steps(model, x_probe):
    """Wrap ``model._step`` to snapshot weights, heads and predictions after every mini-batch."""
    snaps = []
    step = model._step

    def wrapped(xb, yb):
        out = step(xb, yb)
        snaps.append((out, *_snapshot(model), model.predict(x_probe)))
        return out

    model._step = wrapped
    return snaps


CASES = [
    # (n_features, layers, groups, n_classes, batch, extra config)
    (70, (15, 9), (5, 3), 4, 16, {}),
    (64, (8, 12), (4, 6), 3, 10, {}),
    (130, (21,), (7,), 5, 25, {"train_head": True}),
    (100, (35, 35, 35), None, 10, 32, {"rob": 0.5}),
    (65, (10, 11), (5, 11), 2, 7, {"clip": 40, "init_std": 16.0}),
    (129, (33, 30), (11, 10), 6, 20, {"train_head": True, "clip": 70, "p_r": 1.0}),
]


@pytest.mark.parametrize(("d", "layers", "groups", "c", "bs", "extra"), CASES)
def test_packed_equals_reference_after_every_batch(d, layers, groups, c, bs, extra):
    rng = np.random.default_rng(d * 1000 + sum(layers))
    x, y = _data(rng, 150, d, c)
    probe = x[:40]
    cfg = LocalBinaryConfig(
        n_features=d, n_classes=c, layers=layers, groups=groups, batch_size=bs, **extra
    )
    packed = LocalBinaryLearner(cfg, seed=7, backend="auto")
    ref = LocalBinaryReference(cfg, seed=7)
    for a, b in zip(_snapshot(packed), _snapshot(ref), strict=True):
        for u, v in zip(a, b, strict=True):
            assert u.dtype == v.dtype and np.array_equal(u, v)
    sp, sr = _record_steps(packed, probe), _record_steps(ref, probe)
    hp = packed.fit(x, y, epochs=3, x_test=probe, y_test=y[:40])
    hr = ref.fit(x, y, epochs=3, x_test=probe, y_test=y[:40])
    assert len(sp) == len(sr) == 3 * -(-150 // bs)
    for step_p, step_r in zip(sp, sr, strict=True):
        assert step_p[0] == step_r[0]  # correct count of the batch
        for part_p, part_r in zip(step_p[1:4], step_r[1:4], strict=True):
            for u, v in zip(part_p, part_r, strict=True):
                assert np.array_equal(u, v)
        assert np.array_equal(step_p[4], step_r[4])
    assert [r["train_accuracy"] for r in hp] == [r["train_accuracy"] for r in hr]
    assert [r["test_accuracy"] for r in hp] == [r["test_accuracy"] for r in hr]
    # the packed forward weights are the packed signs of the hidden weights
    from bnnlab.bits import pack

    for w, rep in zip(packed.hidden, packed.packed_weights(), strict=True):
        assert np.array_equal(rep, pack(np.ascontiguousarray((w >= 0).T)))
    # something was learned and changed (the test would be vacuous otherwise)
    assert any(not np.array_equal(a[1][0], b[1][0]) for a, b in itertools.pairwise(sp))
    assert packed.rng.bit_generator.state == ref.rng.bit_generator.state


def test_every_backend_agrees():
    from bnnlab.bits import available_backends

    rng = np.random.default_rng(3)
    x, y = _data(rng, 80, 90, 3)
    cfg = LocalBinaryConfig(
        n_features=90, n_classes=3, layers=(12, 9), groups=(4, 3), batch_size=20
    )
    ref = LocalBinaryReference(cfg, seed=5)
    ref.fit(x, y, epochs=2)
    for name in [b for b in available_backends() if b != "cupy"]:
        m = LocalBinaryLearner(cfg, seed=5, backend=name)
        m.fit(x, y, epochs=2)
        for u, v in zip(m.hidden, ref.hidden, strict=True):
            assert np.array_equal(u, v), name
