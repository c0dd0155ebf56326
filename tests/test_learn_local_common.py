"""Shared pieces of the gradient-free learners: selection, masks, draws, configs, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from bnnlab.learn import CPRConfig, LocalBinaryConfig, LocalBinaryLearner, LocalBinaryReference
from bnnlab.learn.local import rules as lc
from bnnlab.signs import sign


def _brute_select(h, t, gamma, eligible=None):
    n, k = h.shape
    m = np.zeros((n, k), np.int8)
    for b in range(n):
        for g0 in range(0, k, gamma):
            best = None
            for j in range(g0, g0 + gamma):
                ok = h[b, j] * t[b, j] < 0 and (eligible is None or eligible[b, j])
                if ok and (best is None or abs(h[b, j]) < abs(h[b, best])):
                    best = j
            if best is not None:
                m[b, best] = t[b, best]
    return m


@given(
    st.integers(1, 4).flatmap(
        lambda gamma: st.tuples(
            st.just(gamma),
            st.integers(1, 4),
            st.integers(1, 5),
        )
    ),
    st.data(),
)
def test_select_units_matches_brute_force(shape, data):
    gamma, groups, n = shape
    k = gamma * groups
    h = data.draw(arrays(np.int32, (n, k), elements=st.integers(-4, 4)))
    t = data.draw(arrays(np.int8, (n, k), elements=st.sampled_from([-1, 1])))
    elig = data.draw(arrays(np.bool_, (n, k)))
    assert np.array_equal(lc.select_units(h, t, gamma), _brute_select(h, t, gamma))
    assert np.array_equal(lc.select_units(h, t, gamma, elig), _brute_select(h, t, gamma, elig))


def test_select_units_tie_rules():
    # equal |h| in a group -> lowest index; h = 0 is never wrong; one unit per group
    h = np.array([[3, -2, 2, 0, -5, 5]], np.int32)
    t = np.array([[-1, 1, -1, -1, 1, -1]], np.int8)
    m = lc.select_units(h, t, 3)
    assert m.tolist() == [[0, 1, 0, 0, 1, 0]]


def test_wrong_mask_ties_and_margin():
    s = np.array([[5, 5, 0], [7, 1, 0], [2, 9, 9], [4, 3, 3]], np.int32)
    y = np.array([0, 0, 1, 0])
    wrong, pred = lc.wrong_mask(s, y, 2)
    assert pred.tolist() == [0, 0, 1, 0]  # ties -> lowest index
    assert wrong.tolist() == [True, False, True, True]  # margin 0, 6, 0, 1 vs 2
    wrong0, _ = lc.wrong_mask(s, y, 0)
    assert wrong0.tolist() == [False, False, False, False]


def test_margin_threshold_is_exact():
    assert lc.margin_threshold(0.25, 525) == 131
    assert lc.margin_threshold(0.29, 100) == 29  # 0.29 * 100 = 28.999999999999996 in floats
    assert lc.margin_threshold(0.0, 35) == 0 and lc.margin_threshold(1.0, 35) == 35


def test_reinforcement_threshold():
    t = lc.reinforcement_threshold(0.5, 0, 0, 784)
    p = 0.5 * math.sqrt(2 / (math.pi * 784))
    assert t == round(p * 2**32)
    assert lc.reinforcement_threshold(0.5, 80, 100, 784) == round(p * math.sqrt(0.2) * 2**32)
    assert lc.reinforcement_threshold(0.5, 100, 100, 784) == 0
    assert lc.reinforcement_threshold(1.0, 0, 0, 1) <= 2**32


def test_draw_reinforcement_is_a_bernoulli_field():
    rng = np.random.default_rng(0)
    size, q = 5000, 0.01
    thr = round(q * 2**32)
    counts = np.zeros(size)
    n_draws = 400
    hits = []
    for _ in range(n_draws):
        pos = lc.draw_reinforcement(rng, size, thr)
        assert np.all(np.diff(pos) > 0) and pos.min(initial=0) >= 0 and pos.max(initial=0) < size
        counts[pos] += 1
        hits.append(pos.size)
    # mean and variance of the number of hits: Binomial(size, q)
    assert abs(np.mean(hits) - size * q) < 4 * math.sqrt(size * q * (1 - q) / n_draws)
    # uniform over positions: chi-square over 10 blocks
    blocks = counts.reshape(10, -1).sum(axis=1)
    expected = blocks.sum() / 10
    chi2 = ((blocks - expected) ** 2 / expected).sum()
    assert chi2 < 27.9  # 99.9% quantile, 9 dof
    assert lc.draw_reinforcement(rng, size, 0).size == 0
    assert lc.draw_reinforcement(rng, 10, 2**32).tolist() == list(range(10))


@pytest.mark.parametrize(
    ("size", "hits"),
    [(1, 1), (7, 7), (10, 3), (5000, 50), (10_000, 10_000), (411_600, 5_300), (18_225, 900),
     (18_225, 911), (18_225, 912), (18_225, 1_200), (10_001, 500), (10_001, 501),
     (100_663_296, 6_000), (1 << 27, 10), ((1 << 27) + 1, 10)],
)  # fmt: skip
@pytest.mark.parametrize("buffered", [False, True])
@pytest.mark.parametrize("bit_generator", [np.random.PCG64, np.random.Philox])
def test_compiled_choice_is_numpys_choice(size, hits, buffered, bit_generator, monkeypatch):
    # the compiled Floyd against numpy itself: the same positions in the same order and the
    # generator left in the same state, with and without a buffered 32-bit half, on two bit
    # generators; (18 225, 912 / 1 200) and (10 001, 501) are numpy's tail-shuffle branch (one
    # past its bounds at 911 and 500 are Floyd's) and (2^27 + 1, 10) beyond the
    # kernel's bitmap, both left to numpy; at 100 663 296 about 1 word in 60 is rejected
    from bnnlab.learn.local import _choice

    # checked once per process (before the counting wrapper below): false only if this numpy's
    # choice no longer does what the kernel does, and then the library falls back to numpy
    assert lc._draws_match_numpy(), "numpy's draws changed: update bnnlab.learn.local._choice"
    calls = []
    kernel = _choice.floyd
    monkeypatch.setattr(_choice, "floyd", lambda *a: calls.append(1) or kernel(*a))
    a, b = (np.random.Generator(bit_generator(size + hits)) for _ in range(2))
    if buffered:
        a.integers(0, 9, dtype=np.uint32)
        b.integers(0, 9, dtype=np.uint32)
    want = a.choice(size, size=hits, replace=False, shuffle=False)
    got = lc.choice_without_replacement(b, size, hits)
    assert got.dtype == np.int64 and np.array_equal(got, want)
    assert lc._same(a.bit_generator.state, b.bit_generator.state)
    assert not lc._same(
        a.bit_generator.state, np.random.Generator(bit_generator(0)).bit_generator.state
    )
    assert a.integers(1 << 62) == b.integers(1 << 62)
    compiled = not ((size > 10_000 and hits > size // 20) or size > 1 << 27)
    assert bool(calls) == compiled


@pytest.mark.parametrize(
    ("n", "p"),
    [(411_600, 0.0128), (105_840, 0.006), (1000, 0.03), (1000, 0.001), (50, 0.5), (411_600, 0.5),
     (411_600, 0.97), (60, 0.9), (7, 1e-9), (0, 0.5), (10, 0.0), (10, 1.0), (2**40, 1e-6)],
)  # fmt: skip
@pytest.mark.parametrize("bit_generator", [np.random.PCG64, np.random.Philox, np.random.MT19937])
def test_compiled_binomial_is_numpys_binomial(n, p, bit_generator):
    # numba's port of numpy's binomial on the generator's own bitgen_t, against numpy itself:
    # both branches (inversion below n min(p, 1 - p) = 30, BTPE above), p > 1/2, the edge cases,
    # the same values and the generator left in the same state after 200 draws
    from bnnlab.learn.local import _choice

    assert lc._draws_match_numpy(), "numpy's draws changed: update bnnlab.learn.local._choice"
    a, b = (np.random.Generator(bit_generator(n % 1000 + 3)) for _ in range(2))
    want = [int(a.binomial(n, p)) for _ in range(200)]
    address = int(b.bit_generator.ctypes.bit_generator.value)
    with b.bit_generator.lock:
        got = [int(_choice.binomial(address, n, p)) for _ in range(200)]
    assert got == want
    assert lc._same(a.bit_generator.state, b.bit_generator.state)
    assert a.integers(1 << 62) == b.integers(1 << 62)


def test_numpy_draws_when_the_compiled_ones_are_not_available(monkeypatch):
    # without numba's binomial port the self-check fails; the learner then draws with numpy,
    # batch by batch, and trains exactly as with the compiled draws (whole epochs)
    from bnnlab.learn.local import _choice

    rng = np.random.default_rng(8)
    x = rng.choice(np.array([-1, 1], dtype=np.int8), size=(120, 40))
    y = rng.integers(0, 3, size=120)
    cfg = LocalBinaryConfig(n_features=40, n_classes=3, layers=(30, 20), batch_size=20)
    compiled = LocalBinaryLearner(cfg, seed=4)
    assert compiled._whole_epochs()
    compiled.fit(x, y, epochs=2)
    monkeypatch.setattr(_choice, "random_binomial", None)
    assert not lc._draws_match_numpy.__wrapped__()
    monkeypatch.setattr(lc, "_draws_match_numpy", lambda: False)
    plain = LocalBinaryLearner(cfg, seed=4)
    assert lc.compiled_draws(plain.rng, 1200) is None and not plain._whole_epochs()
    plain.fit(x, y, epochs=2)
    for a, b in zip(compiled.hidden, plain.hidden, strict=True):
        np.testing.assert_array_equal(a, b)
    assert lc._same(compiled.rng.bit_generator.state, plain.rng.bit_generator.state)


def test_unsorted_reinforcement_draws_the_same_set_and_stream():
    a, b = np.random.default_rng(5), np.random.default_rng(5)
    thr = round(0.02 * 2**32)
    for _ in range(20):
        sorted_pos = lc.draw_reinforcement(a, 3000, thr)
        loose = lc.draw_reinforcement(b, 3000, thr, sort=False)
        assert loose.dtype == np.int64 and np.array_equal(np.sort(loose), sorted_pos)
    assert a.integers(1 << 62) == b.integers(1 << 62)  # both generators left in the same state


def test_default_groups_follow_the_paper():
    cfg = LocalBinaryConfig(784, 10, (35, 75, 135, 255, 525, 1035, 12))
    assert cfg.groups == (35, 75, 45, 85, 105, 115, 12)
    assert LocalBinaryConfig(784, 10, (20, 30), groups=(5,)).groups == (5, 5)


@pytest.mark.parametrize(
    ("kwargs", "name", "exc"),
    [
        ({"layers": (0,)}, "layers", ValueError),
        ({"layers": (10, -3)}, "layers", ValueError),
        ({"layers": ()}, "layers", ValueError),
        ({"layers": (10,), "groups": (3,)}, "groups", ValueError),
        ({"layers": (10, 10), "groups": (5, 5, 5)}, "groups", ValueError),
        ({"layers": (10,), "rob": 1.5}, "rob", ValueError),
        ({"layers": (10,), "rob": -0.1}, "rob", ValueError),
        ({"layers": (10,), "p_r": 2.0}, "p_r", ValueError),
        ({"layers": (10,), "clip": 0}, "clip", ValueError),
        ({"layers": (10,), "batch_size": 0}, "batch_size", ValueError),
        ({"layers": (10,), "step": 0}, "step", ValueError),
        ({"layers": (10,), "n_classes": 1}, "n_classes", ValueError),
        ({"layers": (10,), "train_head": "yes"}, "train_head", TypeError),
    ],
)
def test_config_errors_name_the_argument(kwargs, name, exc):
    base = {"n_features": 20, "n_classes": 3}
    with pytest.raises(exc, match=rf"^{name}"):
        LocalBinaryConfig(**{**base, **kwargs})


def test_cpr_config_errors():
    with pytest.raises(ValueError, match=r"^group"):
        CPRConfig(20, 3, hidden=44, group=5)
    with pytest.raises(ValueError, match=r"^hidden"):
        CPRConfig(20, 3, hidden=0)
    assert CPRConfig(20, 3, hidden=880).committees == 80


def test_config_roundtrip():
    cfg = LocalBinaryConfig(20, 3, (10, 6), groups=(5, 3), clip=9, train_head=True)
    assert LocalBinaryConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match=r"^config"):
        LocalBinaryConfig.from_dict({**cfg.to_dict(), "bogus": 1})


@pytest.mark.parametrize("cls", [LocalBinaryLearner, LocalBinaryReference])
def test_bad_inputs(cls):
    m = cls(LocalBinaryConfig(6, 3, (4,)), seed=0)
    x = np.ones((5, 6), np.int8)
    y = np.zeros(5, np.int64)
    with pytest.raises(ValueError, match=r"^x: expected binary"):
        m.fit(np.zeros((5, 6), np.int8), y, epochs=1)
    with pytest.raises(ValueError, match=r"^x: expected 6 features"):
        m.fit(np.ones((5, 7), np.int8), y, epochs=1)
    with pytest.raises(ValueError, match=r"^y: labels must lie in 0..2"):
        m.fit(x, np.full(5, 3), epochs=1)
    with pytest.raises(ValueError, match=r"^y: labels must lie"):
        m.fit(x, np.full(5, -1), epochs=1)
    with pytest.raises(TypeError, match=r"^y: expected integer"):
        m.fit(x, np.zeros(5), epochs=1)
    with pytest.raises(ValueError, match=r"^y: expected 5 labels"):
        m.fit(x, np.zeros(4, np.int64), epochs=1)
    with pytest.raises(TypeError, match=r"^x: expected a ±1"):
        m.predict(np.ones((5, 6), bool))
    with pytest.raises(TypeError, match=r"^seed"):
        cls(LocalBinaryConfig(6, 3, (4,)), seed=None)
    with pytest.raises(TypeError, match=r"^config"):
        cls({"layers": (4,)}, seed=0)


def test_sign_zero_is_plus_one_and_learning_happens():
    assert sign(np.array([-2, 0, 3]), zero="plus").tolist() == [-1, 1, 1]
    # a separable toy problem is learned to high accuracy (the algorithm does learn)
    rng = np.random.default_rng(1)
    proto = np.where(rng.random((3, 64)) < 0.5, 1, -1)
    y = rng.integers(0, 3, 600)
    flips = np.where(rng.random((600, 64)) < 0.2, -1, 1)
    x = (proto[y] * flips).astype(np.int8)
    m = LocalBinaryLearner(LocalBinaryConfig(64, 3, (15, 15), groups=(5, 5), batch_size=20), seed=0)
    hist = m.fit(x[:500], y[:500], epochs=8, x_test=x[500:], y_test=y[500:])
    assert hist[-1]["test_accuracy"] > 90.0


def test_train_batch_score_and_progress(capsys):
    rng = np.random.default_rng(2)
    x = np.where(rng.random((60, 20)) < 0.5, 1, -1).astype(np.int8)
    y = rng.integers(0, 3, 60)
    cfg = LocalBinaryConfig(20, 3, (6,), groups=(3,), batch_size=60)
    a, b = LocalBinaryLearner(cfg, seed=9), LocalBinaryLearner(cfg, seed=9)
    perm = a.rng.permutation(60)  # what fit draws first in an epoch
    correct = a.train_batch(x[perm], y[perm])
    hist = b.fit(x, y, epochs=1, progress=True)
    assert "LocalBinaryLearner" in capsys.readouterr().err
    assert hist[0]["train_accuracy"] == 100.0 * correct / 60
    assert all(np.array_equal(u, v) for u, v in zip(a.hidden, b.hidden, strict=True))
    assert b.score(x, y) == 100.0 * np.mean(b.predict(x) == y)
    assert b.epoch == 1 and a.epoch == 0
