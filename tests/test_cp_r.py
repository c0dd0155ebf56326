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


@pytest.mark.parametrize("sign_zero", ["zero", "plus"])
@pytest.mark.parametrize(
    ("d", "hidden", "group", "c", "bs", "extra"),
    [
        (70, 44, 11, 4, 16, {}),
        (64, 30, 3, 3, 25, {"rob": 0.0}),
        (64, 24, 4, 5, 9, {"clip": 50, "init_std": 3.0, "p_r": 1.0}),  # many zeros, even groups
        (129, 24, 4, 5, 9, {"clip": 50, "init_std": 20.0, "p_r": 1.0}),
    ],
)
def test_packed_equals_reference_after_every_batch(d, hidden, group, c, bs, extra, sign_zero):
    rng = np.random.default_rng(d + hidden)
    x, y = _data(rng, 120, d, c)
    cfg = CPRConfig(d, c, hidden=hidden, group=group, batch_size=bs, sign_zero=sign_zero, **extra)
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
    assert hist[-1]["test_accuracy"] > 75.0  # chance: 33 %


@pytest.mark.parametrize("sign_zero", ["zero", "plus"])
def test_only_members_of_wrong_committees_are_updated(sign_zero):
    cfg = CPRConfig(64, 2, hidden=6, group=3, rob=0.0, p_r=0.0, batch_size=1, sign_zero=sign_zero)
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
            if c[0, k] * t[k] >= 0:  # right, or a tied committee (sign 0) under "zero"
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


def _oracle_batch(w, readout, x, y, group, margin, step, zero):
    """One CP+R mini-batch written per sample from the authors' rule (no reinforcement).

    ``sign`` is numpy's (0 for 0) when ``zero``, else ties +1; the readout is ±1.
    """

    def sgn(v):
        return np.sign(v) if zero else np.where(v >= 0, 1, -1)

    w = w.astype(np.int64)
    k2 = w.shape[1] // group
    delta = np.zeros_like(w)
    for xi, yi in zip(x.astype(np.int64), y, strict=True):
        h = xi @ sgn(w)
        c = sgn(sgn(h).reshape(k2, group).sum(axis=1))
        s = c @ readout
        top = np.sort(s)[::-1]
        if np.argmax(s) == yi and top[0] - top[1] >= margin:
            continue
        for k in range(k2):
            t = readout[k, yi]
            if c[k] * t >= 0:
                continue
            units = [j for j in range(k * group, (k + 1) * group) if h[j] * t < 0]
            if units:
                j = min(units, key=lambda u: (abs(h[u]), u))
                delta[:, j] += step * t * xi
    return w + delta


@pytest.mark.parametrize("sign_zero", ["zero", "plus"])
def test_one_batch_equals_the_per_sample_rule(sign_zero):
    rng = np.random.default_rng(11)
    x, y = _data(rng, 40, 64, 3)  # even fan-in: h = 0 happens
    cfg = CPRConfig(64, 3, hidden=12, group=4, p_r=0.0, init_std=2.0, batch_size=40,
                    sign_zero=sign_zero)  # fmt: skip
    m = CPRLearner(cfg, seed=4)
    w0 = m.hidden[0].copy()
    assert (w0 == 0).any()  # zero weights occur, so the two rules differ here
    want = _oracle_batch(w0, m.readout.astype(np.int64), x, y, 4, m._margin, 2,
                         sign_zero == "zero")  # fmt: skip
    m.train_batch(x, y)
    assert np.array_equal(m.hidden[0], want)
    other = _oracle_batch(w0, m.readout.astype(np.int64), x, y, 4, m._margin, 2,
                          sign_zero != "zero")  # fmt: skip
    assert not np.array_equal(want, other)  # the test can tell the rules apart


def test_sign_zero_default_and_old_configs():
    cfg = CPRConfig(8, 3, hidden=11)
    assert cfg.sign_zero == "zero"
    d = cfg.to_dict()
    del d["sign_zero"]
    assert CPRConfig.from_dict(d).sign_zero == "plus"  # saved before the option existed
    with pytest.raises(ValueError, match="sign_zero"):
        CPRConfig(8, 3, hidden=11, sign_zero="minus")
