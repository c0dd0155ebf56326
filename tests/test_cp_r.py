"""CP+R committee baseline: bit-packed learner equals its dense oracle; committee rule."""

from __future__ import annotations

import numpy as np
import pytest

from bnnlab.learn import CPRConfig, CPRLearner, CPRReference, get


def _data(rng, n, d, c):
    proto = np.where(rng.random((c, d)) < 0.5, 1, -1)
    y = rng.integers(0, c, n)
    x = (proto[y] * np.where(rng.random((n, d)) < 0.3, -1, 1)).astype(np.int8)
    return x, y


@pytest.mark.parametrize(
    ("d", "hidden", "group", "c", "bs", "extra"),
    [
        (70, 44, 11, 4, 16, {}),
        (64, 30, 3, 3, 25, {"rob": 0.0}),
        (129, 24, 4, 5, 9, {"clip": 50, "init_std": 20.0, "p_r": 1.0}),
    ],
)
def test_packed_equals_reference_after_every_batch(d, hidden, group, c, bs, extra):
    rng = np.random.default_rng(d + hidden)
    x, y = _data(rng, 120, d, c)
    cfg = CPRConfig(d, c, hidden=hidden, group=group, batch_size=bs, **extra)
    models = [CPRLearner(cfg, seed=3), CPRReference(cfg, seed=3)]
    snaps = [[], []]
    for m, s in zip(models, snaps, strict=True):
        step = m._step

        def wrapped(xb, yb, step=step, m=m, s=s):
            out = step(xb, yb)
            s.append((out, m.hidden[0].copy(), m.predict(x[:30])))
            return out

        m._step = wrapped
        m.fit(x, y, epochs=3)
    assert len(snaps[0]) == len(snaps[1]) == 3 * -(-120 // bs)
    for a, b in zip(*snaps, strict=True):
        assert a[0] == b[0] and np.array_equal(a[1], b[1]) and np.array_equal(a[2], b[2])
    assert not np.array_equal(snaps[0][0][1], snaps[0][-1][1])
    assert np.array_equal(models[0].readout_state, models[1].readout_state)


def test_registered_and_learns():
    assert get("cp-r") is CPRLearner
    rng = np.random.default_rng(0)
    x, y = _data(rng, 700, 100, 3)
    m = CPRLearner(CPRConfig(100, 3, hidden=33, group=11, batch_size=20), seed=1)
    hist = m.fit(x[:600], y[:600], epochs=6, x_test=x[600:], y_test=y[600:])
    assert hist[-1]["test_accuracy"] > 85.0


def test_only_members_of_wrong_committees_are_updated():
    cfg = CPRConfig(64, 2, hidden=6, group=3, rob=0.0, p_r=0.0, batch_size=1)
    m = CPRReference(cfg, seed=0)
    rng = np.random.default_rng(5)
    for _ in range(50):
        x = np.where(rng.random((1, 64)) < 0.5, 1, -1).astype(np.int8)
        y = rng.integers(0, 2, 1)
        h, c, s = m._forward(x)
        before = m.hidden[0].copy()
        m.train_batch(x, y)
        changed = np.nonzero((m.hidden[0] != before).any(axis=0))[0]
        t = m.readout[:, y[0]]
        if np.argmax(s[0]) == y[0]:
            assert changed.size == 0
            continue
        for k in range(2):
            members = set(range(3 * k, 3 * k + 3))
            touched = members & set(changed.tolist())
            if c[0, k] == t[k]:
                assert not touched
            else:
                wrong = [u for u in members if h[0, u] * t[k] < 0]  # h = 0 is never wrong
                assert len(touched) == min(1, len(wrong))
                if not wrong:
                    continue
                (j,) = touched
                assert j == min(wrong, key=lambda u: (abs(h[0, u]), u))
                assert np.array_equal(m.hidden[0][:, j] - before[:, j], 2 * t[k] * x[0])


def test_bad_input():
    m = CPRLearner(CPRConfig(8, 3, hidden=11), seed=0)
    with pytest.raises(ValueError, match=r"^x: expected binary"):
        m.fit(np.full((4, 8), 2, np.int8), np.zeros(4, np.int64), epochs=1)
    with pytest.raises(ValueError, match=r"^y: labels"):
        m.fit(np.ones((4, 8), np.int8), np.full(4, 5), epochs=1)
