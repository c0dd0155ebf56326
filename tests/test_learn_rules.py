"""The rules of local-binary learning, one at a time, on hand-computed networks.

Each test sets a tiny network's integer state by hand (``load_state_dict``), trains one or a few
mini-batches through the public API and checks the result against numbers worked out on paper from
REFERENCES.md §2.2 and the tie rules of ``bnnlab/learn/local/rules.py``. Where the reinforcement is
on, the expected weights are replayed from a copy of the learner's generator with the documented
draws (``binomial`` then ``choice``) and the threshold written out by hand, and a negative control
shows that the wrong threshold would give other weights. Both the bit-packed learner and the dense
reference must pass.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from bnnlab.learn import LocalBinaryConfig, LocalBinaryLearner, LocalBinaryReference

LEARNERS = [LocalBinaryLearner, LocalBinaryReference]


def _net(cls, n_features, n_classes, hidden, heads, **hyper):
    """A learner whose hidden weights and head states are the given integer lists."""
    layers = tuple(len(w[0]) for w in hidden)
    cfg = LocalBinaryConfig(n_features, n_classes, layers, **{"p_r": 0.0, **hyper})
    model = cls(cfg, seed=0)
    arrays, meta = model.state_dict()
    for l, (w, g) in enumerate(zip(hidden, heads, strict=True)):
        arrays[f"hidden_{l}"] = np.array(w, dtype=np.int32)
        arrays[f"head_{l}"] = np.array(g, dtype=np.int32)
    model.load_state_dict(arrays, meta)
    return model


def _rows(*rows):
    return np.array(rows, dtype=np.int8)


# --------------------------------------------------------------------------------------------
# all layers in one pass, on pre-update activations


@pytest.mark.parametrize("cls", LEARNERS)
def test_next_layer_sees_pre_update_activations(cls):
    # layer 1: h = (1,1,1) . sign(-1,-1,2) = -1, a1 = -1, head (1,-1) -> scores (-1, 1): wrong for
    # y = 0. Target +1, the unit is on the wrong side: W1 += 2 x -> (1, 1, 4), whose h would be +3.
    # layer 2 must see a1 = -1 (not the post-update +1): h2 = -1 . sign(5) = -1, wrong again,
    # W2 += 2 * a1 * t = -2 -> 3. (With a1 = +1 it would be right and W2 would stay 5.)
    m = _net(cls, 3, 2, [[[-1], [-1], [2]], [[5]]], [[[1, -1]], [[1, -1]]], rob=0.0)
    correct = m.train_batch(_rows([1, 1, 1]), np.array([0]))
    assert correct == 0  # the last head, before the update
    assert m.hidden[0].tolist() == [[1], [1], [4]]
    assert m.hidden[1].tolist() == [[3]]
    assert m.predict(_rows([1, 1, 1])).tolist() == [0]  # after the batch: both layers fixed


# --------------------------------------------------------------------------------------------
# reinforcement: rate from the previous epoch's accuracy, per-layer fan-in, draw order


def _replay(state, n, batches_layers, thresholds, weights, step=2):
    """Expected weights after one epoch whose only changes are reinforcements (W > 0 stays > 0).

    ``state``: the generator state at the epoch's start; per mini-batch and layer, in order:
    ``binomial(size, T / 2^32)`` then ``choice(size, hits, replace=False, shuffle=False)``.
    """
    g = np.random.default_rng(0)
    g.bit_generator.state = state
    g.permutation(n)
    out = [w.astype(np.int64).copy() for w in weights]
    for _ in range(batches_layers):
        for w, t in zip(out, thresholds, strict=True):
            hits = int(g.binomial(w.size, t / 2**32))
            pos = g.choice(w.size, hits, replace=False, shuffle=False)
            w.reshape(-1)[pos] += step * np.sign(w.reshape(-1)[pos])
    return out


def _zero_h_rows(n):
    """Rows (1, -1) and (-1, 1): with all-positive weights every pre-activation is 0."""
    return np.array([[1, -1], [-1, 1]] * (n // 2), dtype=np.int8)


@pytest.mark.parametrize("cls", LEARNERS)
def test_epoch_two_reinforcement_uses_epoch_one_accuracy(cls):
    # sign_zero="zero", h = 0 everywhere: a = 0, scores (0, 0), predicted class 0, margin
    # floor(1.0 * 1) = 1 > 0, so every sample is wrong but no unit is ever selected (h = 0): the
    # weights move by reinforcement only. Labels 0,0,1,1,...: epoch 1's accuracy is 50 %.
    n = 24
    x, y = _zero_h_rows(n), np.array([0, 0, 1, 1] * (n // 4))
    m = _net(cls, 2, 2, [[[3], [5]]], [[[1, -1]]], p_r=1.0, rob=1.0, batch_size=1)
    t1 = round(math.sqrt(2 / (math.pi * 2)) * 2**32)  # acc_prev = 0, N_0 = 2
    t2 = round(math.sqrt(1 - 0.5) * math.sqrt(2 / (math.pi * 2)) * 2**32)  # acc_prev = 0.5
    w0 = [m.hidden[0].copy()]
    s1 = m.rng.bit_generator.state
    (row,) = m.fit(x, y, epochs=1)
    assert row["train_accuracy"] == 50.0
    (w1,) = _replay(s1, n, n, [t1], w0)
    assert np.array_equal(m.hidden[0], w1) and not np.array_equal(w1, w0[0])
    s2 = m.rng.bit_generator.state
    m.fit(x, y, epochs=1)
    (w2,) = _replay(s2, n, n, [t2], [w1])
    assert np.array_equal(m.hidden[0], w2)
    (w2_no_decay,) = _replay(s2, n, n, [t1], [w1])  # negative control: acc_prev ignored
    assert not np.array_equal(w2_no_decay, w2)


@pytest.mark.parametrize("cls", LEARNERS)
def test_full_accuracy_stops_reinforcement(cls):
    # the same network with every label 0: epoch 1 is 100 % right (yet every sample is wrong by the
    # margin), so epoch 2's rate is p_r sqrt(1 - 1) = 0 and no weight may move.
    x, y = _zero_h_rows(20), np.zeros(20, dtype=np.int64)
    m = _net(cls, 2, 2, [[[3], [5]]], [[[1, -1]]], p_r=1.0, rob=1.0, batch_size=1)
    (row,) = m.fit(x, y, epochs=1)
    assert row["train_accuracy"] == 100.0
    after_one = m.hidden[0].copy()
    assert not np.array_equal(after_one, [[3], [5]])
    m.fit(x, y, epochs=1)
    assert np.array_equal(m.hidden[0], after_one)


@pytest.mark.parametrize("cls", LEARNERS)
def test_each_layer_reinforces_with_its_own_fan_in(cls):
    # two layers, all weights positive, h = 0 in both (layer 2 gets a1 = 0): every sample is wrong
    # at both heads (margins floor(6) and floor(1) above the 0 gap), nothing is selected, both
    # layers are reinforced each mini-batch: layer 1 at p(N_0 = 2), layer 2 at p(N_1 = 6).
    n = 16
    x, y = _zero_h_rows(n), np.zeros(n, dtype=np.int64)
    w1 = [[3, 5, 7, 9, 11, 13], [13, 11, 9, 7, 5, 3]]
    w2 = [[5], [4], [3], [2], [7], [9]]
    heads = [[[1, -1]] * 6, [[1, -1]]]
    m = _net(cls, 2, 2, [w1, w2], heads, p_r=1.0, rob=1.0, batch_size=1)
    t = [round(math.sqrt(2 / (math.pi * fan_in)) * 2**32) for fan_in in (2, 6)]
    state, w0 = m.rng.bit_generator.state, [m.hidden[0].copy(), m.hidden[1].copy()]
    m.fit(x, y, epochs=1)
    want = _replay(state, n, n, t, w0)
    for got, exp, start in zip(m.hidden, want, w0, strict=True):
        assert np.array_equal(got, exp) and not np.array_equal(exp, start)
    control = _replay(state, n, n, [t[0], t[0]], w0)  # every layer at the first layer's rate
    assert not np.array_equal(control[1], want[1])


@pytest.mark.parametrize("cls", LEARNERS)
def test_no_wrong_sample_draws_nothing(cls):
    # h = 3, a = 1, scores (1, -1): right with gap 2 >= floor(0 * 1) -> no update, no draw
    m = _net(cls, 3, 2, [[[1], [1], [1]]], [[[1, -1]]], p_r=1.0, rob=0.0)
    state = m.rng.bit_generator.state
    m.train_batch(_rows([1, 1, 1]), np.array([0]))
    assert m.rng.bit_generator.state == state and m.hidden[0].tolist() == [[1], [1], [1]]
    m.train_batch(_rows([1, 1, 1]), np.array([1]))  # wrong: an update and the two draws
    assert m.rng.bit_generator.state != state


# --------------------------------------------------------------------------------------------
# the trained last head: +1 at the true class, -1 at the best other class


@pytest.mark.parametrize("cls", LEARNERS)
def test_trained_head_plus_one_at_y_minus_one_at_runner_up(cls):
    # a = (1, 1) (h = 4, 4), B = sign(G) = [[1, 1, -1], [1, -1, 1]]: scores (2, 0, 0); y = 1 is
    # wrong, the best other class is 0. G[:, 1] += 2 a, G[:, 0] -= 2 a, G[:, 2] unchanged.
    g = [[5, 3, -7], [5, -3, 9]]
    m = _net(cls, 4, 3, [[[1, 1]] * 4], [g], rob=0.0, train_head=True)
    m.train_batch(_rows([1, 1, 1, 1]), np.array([1]))
    assert m.head_state[0].tolist() == [[3, 5, -7], [3, -1, 9]]


@pytest.mark.parametrize("cls", LEARNERS)
def test_trained_head_on_a_margin_error_runner_up_ties_to_lowest(cls):
    # a = (1, 1, 1), B columns (1,1,-1), (1,-1,1), (1,1,1): scores (1, 1, 3); y = 2 is predicted
    # but the gap 2 < floor(1.0 * 3): wrong. Runner-up: classes 0 and 1 tie -> 0.
    g = [[5, 5, 5], [5, -5, 5], [-5, 5, 5]]
    m = _net(cls, 3, 3, [[[1, 1, 1]] * 3], [g], rob=1.0, train_head=True)
    m.train_batch(_rows([1, 1, 1]), np.array([2]))
    assert m.head_state[0].tolist() == [[3, 5, 7], [3, -5, 7], [-7, 5, 7]]
    assert m.hidden[0].tolist() == [[1, 1, 1]] * 3  # every unit already agrees with its target


@pytest.mark.parametrize("cls", LEARNERS)
def test_heads_stay_fixed_unless_trained_and_only_the_last(cls):
    g = [[5, 3, -7], [5, -3, 9]]
    hidden, heads = [[[1, 1]] * 4, [[1, 1], [1, 1]]], [g, g]
    x, y = _rows([1, 1, 1, 1]), np.array([1])
    frozen = _net(cls, 4, 3, hidden, heads, rob=0.0)
    frozen.train_batch(x, y)
    trained = _net(cls, 4, 3, hidden, heads, rob=0.0, train_head=True)
    trained.train_batch(x, y)
    assert frozen.head_state[0].tolist() == frozen.head_state[1].tolist() == g
    assert trained.head_state[0].tolist() == g
    assert trained.head_state[1].tolist() == [[3, 5, -7], [3, -1, 9]]


# --------------------------------------------------------------------------------------------
# the margin rule


@pytest.mark.parametrize("cls", LEARNERS)
@pytest.mark.parametrize(("rob", "updated"), [(0.29, True), (0.28, False)])
def test_margin_threshold_is_floor_of_exact_rob_k(cls, rob, updated):
    # K = 100, a = (-1, 1, ..., 1); B[:, 0] = +1, B[:, 1] = +1 on units 0..85 and -1 on 86..99:
    # scores (98, 70), y = 0 is predicted with gap 28. floor(0.29 * 100) = 29 exactly (the float
    # product is 28.999...), so the sample is wrong and unit 0 (h = -3, target +1) is corrected;
    # with rob = 0.28 the margin is 28, the sample is right and nothing moves.
    hidden = [[-1] + [1] * 99] * 3
    g = [[7, 7]] * 86 + [[7, -7]] * 14
    m = _net(cls, 3, 2, [hidden], [g], rob=rob)
    m.train_batch(_rows([1, 1, 1]), np.array([0]))
    want = [[1] * 100] * 3 if updated else hidden
    assert m.hidden[0].tolist() == want


@pytest.mark.parametrize("cls", LEARNERS)
@pytest.mark.parametrize(("rob", "want"), [(0.0, [[5, 5, -5]]), (1.0, [[7, 3, -5]])])
def test_top_tie_is_margin_zero(cls, rob, want):
    # a = 1, scores (1, 1, -1) for y = 0: predicted (ties to the lowest class) with a gap of 0
    # (top-2 counted with multiplicity): right when the margin is 0, wrong when it is 1, and then
    # the head learns towards class 0 and away from the tied class 1.
    m = _net(cls, 3, 3, [[[1]] * 3], [[[5, 5, -5]]], rob=rob, train_head=True)
    m.train_batch(_rows([1, 1, 1]), np.array([0]))
    assert m.head_state[0].tolist() == want


# --------------------------------------------------------------------------------------------
# least-action selection


def _selection_net(cls, gamma):
    # x = (1, -1, 1, 1, -1); column j of sign(W) is x * v_j, so h_j = sum(v_j):
    # h = (-5, -1, 3, -1). Targets are all +1 (y = 0): units 0, 1, 3 are on the wrong side.
    x = np.array([1, -1, 1, 1, -1])
    v = [[-1] * 5, [1, 1, -1, -1, -1], [1, 1, 1, 1, -1], [1, -1, -1, 1, -1]]
    w = (3 * x[:, None] * np.array(v).T).tolist()
    heads = [[[1, -1]] * 4]
    return _net(cls, 5, 2, [w], heads, rob=0.0, groups=(gamma,)), x, np.array(w)


@pytest.mark.parametrize("cls", LEARNERS)
@pytest.mark.parametrize(("gamma", "units"), [(4, [1]), (2, [1, 3]), (1, [0, 1, 3])])
def test_least_action_selection(cls, gamma, units):
    # one group of 4: the smallest |h| among the wrong units is 1, at units 1 and 3 -> unit 1;
    # groups of 2: unit 1 and unit 3; groups of 1: every wrong unit. The selected column moves by
    # +2 where x_i = t_j (= +1) and -2 elsewhere: W[:, j] += 2 x.
    m, x, w = _selection_net(cls, gamma)
    m.train_batch(x[None].astype(np.int8), np.array([0]))
    want = w.copy()
    want[:, units] += 2 * x[:, None]
    assert m.hidden[0].tolist() == want.tolist()


@pytest.mark.parametrize("cls", LEARNERS)
def test_selection_sums_over_the_batch(cls):
    m, x, w = _selection_net(cls, 4)
    m.train_batch(np.stack([x, x]).astype(np.int8), np.array([0, 0]))
    want = w.copy()
    want[:, 1] += 4 * x
    assert m.hidden[0].tolist() == want.tolist()


@pytest.mark.parametrize("cls", LEARNERS)
@pytest.mark.parametrize("sign_zero", ["zero", "plus"])
def test_zero_preactivation_is_never_selected(cls, sign_zero):
    # x = (1,1,1,1): h = (0, -2); targets +1. Unit 0 has the smaller |h| but h t = 0 is not
    # "wrong", under either sign(0) rule: unit 1 is corrected. (Scores: (-1, 1) with a0 = 0,
    # (0, 0) with a0 = +1; rob = 0.5 makes the tie wrong too.)
    w = [[3, 3], [3, -3], [-3, -3], [-3, -3]]
    m = _net(cls, 4, 2, [w], [[[1, -1], [1, -1]]], rob=0.5, sign_zero=sign_zero)
    m.train_batch(_rows([1, 1, 1, 1]), np.array([0]))
    assert m.hidden[0].tolist() == [[3, 5], [3, -1], [-3, -1], [-3, -1]]


# --------------------------------------------------------------------------------------------
# sign(0)


@pytest.mark.parametrize("cls", LEARNERS)
def test_zero_weight_is_absent_under_sign_zero_and_plus_one_otherwise(cls):
    # W = (0, 3): "zero": h = x2 = -1 for x = (1, -1), a = -1; "plus": h = x1 + x2 = 0, a = +1.
    # Head state (0, 1, -1) is always read with sign(0) = +1: B = (1, 1, -1), scores ±(1, 1, -1).
    x = _rows([1, -1])
    zero = _net(cls, 2, 3, [[[0], [3]]], [[[0, 1, -1]]], sign_zero="zero")
    plus = _net(cls, 2, 3, [[[0], [3]]], [[[0, 1, -1]]], sign_zero="plus")
    assert zero.predict(x).tolist() == [2]  # scores (-1, -1, 1)
    assert plus.predict(x).tolist() == [0]  # scores (1, 1, -1): tie to the lowest class


@pytest.mark.parametrize("cls", LEARNERS)
def test_zero_preactivation_feeds_zero_to_the_next_layer(cls):
    # x = (1, -1), W1 = (1, 1): h1 = 0. "zero": a1 = 0, h2 = 0, a2 = 0, scores (0, 0) -> class 0.
    # "plus": a1 = +1, h2 = sign(-3) = -1, a2 = -1, scores (-1, 1) -> class 1.
    nets = {
        z: _net(cls, 2, 2, [[[1], [1]], [[-3]]], [[[1, -1]], [[1, -1]]], sign_zero=z)
        for z in ("zero", "plus")
    }
    assert nets["zero"].predict(_rows([1, -1])).tolist() == [0]
    assert nets["plus"].predict(_rows([1, -1])).tolist() == [1]


@pytest.mark.parametrize("cls", LEARNERS)
@pytest.mark.parametrize("sign_zero", ["zero", "plus"])
def test_reinforcement_of_a_zero_weight(cls, sign_zero):
    # W = (0, 5), x = (1, 1): h = 1 or 2 (> 0), a = 1, head (1, 1, -1): scores (1, 1, -1), y = 0
    # predicted with gap 0 < floor(1.0 * 1): wrong, but the unit agrees with its target, so only
    # the reinforcement moves W: by 2 sign(W) -- a zero weight stays 0 under "zero" and goes to +2
    # (then grows) under "plus".
    n = 30
    m = _net(cls, 2, 3, [[[0], [5]]], [[[1, 1, -1]]], p_r=1.0, rob=1.0, batch_size=1,
             sign_zero=sign_zero)  # fmt: skip
    m.fit(np.ones((n, 2), np.int8), np.zeros(n, np.int64), epochs=1)
    w = m.hidden[0][:, 0]
    assert w[1] > 5 and (w[1] - 5) % 2 == 0
    if sign_zero == "zero":
        assert w[0] == 0
    else:
        assert w[0] > 0 and w[0] % 2 == 0
