"""Test oracle: local-binary and CP+R, per sample, on dense integers, written from the paper.

This is the independent implementation the learners of :mod:`bnnlab.learn.local` are checked
against (``tests/test_learn_oracle.py``). It is written straight from REFERENCES.md §2.2 (the
local-binary algorithm of Colombo et al.) and §2.3 (the CP+R committee), with the tie rules and the
random-draw order documented in ``bnnlab/learn/local/rules.py``; it imports nothing from bnnlab and
shares none of its code. Where the production code works on whole-batch masks, this file loops:
over samples, over groups, over units, over drawn positions.

Random draws, one ``numpy.random.Generator`` seeded like the learners (``default_rng(seed)``):

1. init, layer by layer: ``W_l = rint(normal(0, init_std, (N_{l-1}, K_l)))`` then the head state
   ``G_l = rint(normal(0, init_std, (K_l, C)))`` (CP+R: ``W`` then the readout state);
2. each epoch: ``permutation(N)``, mini-batches are consecutive slices;
3. each mini-batch and layer with at least one wrong sample, after its error update:
   ``hits = binomial(N_{l-1} K_l, T_l / 2^32)`` then ``choice(size, hits, replace=False,
   shuffle=False)``; ``T_l = round(p_l 2^32)``,
   ``p_l = p_r sqrt(1 - acc_prev) sqrt(2 / (pi N_{l-1}))`` with ``acc_prev`` the previous epoch's
   training accuracy (fraction, 0 before the first epoch).

Two choices the paper leaves open are taken as the learners document them: the trained last head
(``train_head``) is a multiclass perceptron on its integer state ``G_L`` (+step ``a`` at the true
class, -step ``a`` at the best other class, summed over the wrong samples), and ``clip`` bounds
that state as well as the hidden weights.
"""

from __future__ import annotations

import math
from collections import Counter
from decimal import Decimal

import numpy as np

TWO32 = 2**32


def sgn(v, zero):
    """Sign of an integer (or integer array) with ``sign(0) = zero`` (0 or +1), as int64."""
    return np.where(np.asarray(v) > 0, 1, np.where(np.asarray(v) < 0, -1, zero)).astype(np.int64)


def argmax_lowest(scores):
    """Index of the largest score, the lowest index on ties."""
    best = 0
    for c in range(1, len(scores)):
        if scores[c] > scores[best]:
            best = c
    return best


def runner_up(scores, y):
    """The best class other than ``y`` (lowest index on ties)."""
    others = [c for c in range(len(scores)) if c != y]
    return max(others, key=lambda c: (scores[c], -c))


def margin_floor(rob, width):
    """``floor(rob * width)`` from the decimal value of ``rob`` (no float rounding)."""
    return math.floor(Decimal(repr(float(rob))) * width)


def is_wrong(scores, y, margin):
    """``argmax != y`` or top-1 minus top-2 (with multiplicity) below ``margin``."""
    ordered = sorted((int(s) for s in scores), reverse=True)
    return argmax_lowest(scores) != y or ordered[0] - ordered[1] < margin


def least_action(h, t, units):
    """Among ``units``, the one with ``h t < 0`` and the smallest ``|h|`` (lowest first), or None."""
    best = None
    for j in units:
        if h[j] * t[j] < 0 and (best is None or abs(h[j]) < abs(h[best])):
            best = j
    return best


class _Oracle:
    """Epoch plumbing and the reinforcement, common to both algorithms."""

    def __init__(self, *, seed, rob, p_r, init_std, step, clip, batch_size):
        self.rng = np.random.default_rng(seed)
        self.rob, self.p_r, self.init_std = rob, p_r, init_std
        self.step, self.clip, self.batch_size = step, clip, batch_size
        self.prev_correct = self.prev_total = 0
        self.stats = Counter()  # which rules fired (tests check their cases exercise them)

    def draw_int(self, shape):
        return np.rint(self.rng.normal(0.0, self.init_std, size=shape)).astype(np.int64)

    def clipped(self, w):
        return w if self.clip is None else np.clip(w, -self.clip, self.clip)

    def threshold(self, n_in):
        acc = self.prev_correct / self.prev_total if self.prev_total else 0.0
        p = self.p_r * math.sqrt(1.0 - acc) * math.sqrt(2.0 / (math.pi * n_in))
        return round(p * TWO32)

    def reinforce(self, w, n_in, zero):
        """``W += step sign(W)`` at the positions of a Bernoulli(T / 2^32) field (in place)."""
        size, cols = w.size, w.shape[1]
        hits = int(self.rng.binomial(size, self.threshold(n_in) / TWO32))
        for pos in sorted(self.rng.choice(size, hits, replace=False, shuffle=False)):
            i, j = divmod(int(pos), cols)
            w[i, j] += self.step * int(sgn(w[i, j], zero))
            self.stats["reinforced"] += 1
        w[...] = self.clipped(w)

    def begin_epoch(self, n):
        """Draw the epoch's permutation (the first draw of every epoch)."""
        return self.rng.permutation(n)

    def end_epoch(self, correct, n):
        self.prev_correct, self.prev_total = correct, n
        self.stats["epochs"] += 1
        if 0 < correct:
            self.stats["epochs_with_accuracy"] += 1

    def fit_epoch(self, x, y, after_batch=None):
        """One epoch of shuffled mini-batches; returns the training accuracy in percent."""
        n = len(y)
        perm = self.begin_epoch(n)
        correct = 0
        for start in range(0, n, self.batch_size):
            idx = perm[start : start + self.batch_size]
            correct += self.train_batch(x[idx], y[idx])
            if after_batch is not None:
                after_batch()
        self.end_epoch(correct, n)
        return 100.0 * correct / n


class LocalBinaryOracle(_Oracle):
    """Local-binary learning (REFERENCES.md §2.2), one sample at a time.

    ``groups``: one γ per layer, one γ for all, or None (γ = K).
    """

    def __init__(
        self,
        n_features,
        n_classes,
        layers,
        *,
        seed,
        groups=None,
        train_head=False,
        sign_zero="zero",
        rob=0.25,
        p_r=0.5,
        init_std=64.0,
        step=2,
        clip=None,
        batch_size=100,
    ):
        super().__init__(
            seed=seed,
            rob=rob,
            p_r=p_r,
            init_std=init_std,
            step=step,
            clip=clip,
            batch_size=batch_size,
        )
        self.n_classes, self.layers = n_classes, list(layers)
        self.fan_in = [n_features, *self.layers[:-1]]
        if groups is None:
            groups = self.layers
        elif isinstance(groups, int):
            groups = [groups] * len(self.layers)
        self.groups = list(groups) * (len(self.layers) if len(groups) == 1 else 1)
        self.zero = {"zero": 0, "plus": 1}[sign_zero]
        self.train_head = train_head
        self.hidden, self.head_state = [], []
        for n_in, k in zip(self.fan_in, self.layers, strict=True):
            self.hidden.append(self.draw_int((n_in, k)))
            self.head_state.append(self.draw_int((k, n_classes)))

    @property
    def heads(self):
        return [sgn(g, 1) for g in self.head_state]

    def layer(self, l, inp):
        """Per-sample ``(h, a, s)`` of layer ``l`` for the rows ``inp``."""
        signs, head = sgn(self.hidden[l], self.zero), sgn(self.head_state[l], 1)
        h = np.array([[int(row @ signs[:, j]) for j in range(self.layers[l])] for row in inp])
        a = sgn(h, self.zero)
        s = np.array([[int(a_b @ head[:, c]) for c in range(self.n_classes)] for a_b in a])
        self.stats["zero_h"] += int((h == 0).sum())
        self.stats["zero_w"] += int((self.hidden[l] == 0).sum())
        return h, a, s

    def predict(self, x):
        inp = np.asarray(x, dtype=np.int64)
        for l in range(len(self.layers)):
            _, inp, s = self.layer(l, inp)
        return np.array([argmax_lowest(s_b) for s_b in s], dtype=np.int64)

    def train_batch(self, x, y):
        """One mini-batch; returns the last head's correct count before the update."""
        inp, y = np.asarray(x, dtype=np.int64), np.asarray(y)
        last, correct = len(self.layers) - 1, 0
        for l, (k, gamma) in enumerate(zip(self.layers, self.groups, strict=True)):
            h, a, s = self.layer(l, inp)  # with this layer's pre-update weights
            margin = margin_floor(self.rob, k)
            head = sgn(self.head_state[l], 1)
            delta = np.zeros_like(self.hidden[l])
            head_delta = np.zeros_like(self.head_state[l])
            any_wrong = False
            for b in range(len(y)):
                if l == last and argmax_lowest(s[b]) == y[b]:
                    correct += 1
                if not is_wrong(s[b], y[b], margin):
                    continue
                any_wrong = True
                if argmax_lowest(s[b]) == y[b]:
                    self.stats["wrong_by_margin_only"] += 1
                t = head[:, y[b]]  # per-unit target: the true class's code
                for g0 in range(0, k, gamma):
                    j = least_action(h[b], t, range(g0, g0 + gamma))
                    if j is not None:  # W[i, j] += step where inp_i = t_j, -= step otherwise
                        delta[:, j] += self.step * t[j] * inp[b]
                        self.stats["selected"] += 1
                if self.train_head and l == last:  # multiclass perceptron on the head state
                    other = runner_up(s[b], y[b])
                    head_delta[:, y[b]] += self.step * a[b]
                    head_delta[:, other] -= self.step * a[b]
                    self.stats["head_updates"] += 1
            if any_wrong:
                self.hidden[l] = self.clipped(self.hidden[l] + delta)
                self.reinforce(self.hidden[l], self.fan_in[l], self.zero)
                if self.train_head and l == last:
                    self.head_state[l] = self.clipped(self.head_state[l] + head_delta)
            inp = a  # the next layer sees this layer's pre-update activations
        return correct


class CPROracle(_Oracle):
    """CP+R committee (REFERENCES.md §2.3), one sample at a time.

    ``hidden`` perceptrons in ``hidden / group`` committees (majority of ``group`` consecutive
    units), a fixed random ±1 readout, margin ``floor(rob K2)``. ``sign_zero`` is the sign of a
    zero hidden weight, pre-activation and committee sum: ``"zero"`` (0, the authors' dense code:
    a zero weight is absent, a unit at ``h = 0`` votes 0, a tied committee outputs 0 and is not on
    the wrong side) or ``"plus"`` (+1). The readout is always ``sign`` with ties +1.
    """

    def __init__(
        self,
        n_features,
        n_classes,
        hidden,
        group,
        *,
        seed,
        rob=0.25,
        p_r=0.5,
        init_std=64.0,
        step=2,
        clip=None,
        batch_size=100,
        sign_zero="zero",
    ):
        super().__init__(
            seed=seed,
            rob=rob,
            p_r=p_r,
            init_std=init_std,
            step=step,
            clip=clip,
            batch_size=batch_size,
        )
        self.zero = {"zero": 0, "plus": 1}[sign_zero]
        self.n_features, self.n_classes, self.group = n_features, n_classes, group
        self.committees = hidden // group
        self.hidden = [self.draw_int((n_features, hidden))]
        self.readout_state = self.draw_int((self.committees, n_classes))

    def forward(self, inp):
        signs, readout = sgn(self.hidden[0], self.zero), sgn(self.readout_state, 1)
        h = np.array([[int(row @ signs[:, j]) for j in range(signs.shape[1])] for row in inp])
        votes = [
            [
                int(sgn(h_b, self.zero)[k * self.group : (k + 1) * self.group].sum())
                for k in range(self.committees)
            ]
            for h_b in h
        ]
        c = sgn(np.array(votes), self.zero)
        s = np.array([[int(c_b @ readout[:, m]) for m in range(self.n_classes)] for c_b in c])
        return h, c, s

    def predict(self, x):
        _, _, s = self.forward(np.asarray(x, dtype=np.int64))
        return np.array([argmax_lowest(s_b) for s_b in s], dtype=np.int64)

    def train_batch(self, x, y):
        inp, y = np.asarray(x, dtype=np.int64), np.asarray(y)
        h, c, s = self.forward(inp)
        readout = sgn(self.readout_state, 1)
        margin = margin_floor(self.rob, self.committees)
        delta = np.zeros_like(self.hidden[0])
        correct, any_wrong = 0, False
        for b in range(len(y)):
            correct += int(argmax_lowest(s[b]) == y[b])
            if not is_wrong(s[b], y[b], margin):
                continue
            any_wrong = True
            for k in range(self.committees):
                t_k = readout[k, y[b]]
                if c[b, k] * t_k >= 0:
                    continue  # a right (or tied, voting 0) committee passes no error
                members = range(k * self.group, (k + 1) * self.group)
                j = least_action(h[b], {u: t_k for u in members}, members)
                if j is not None:
                    delta[:, j] += self.step * t_k * inp[b]
                    self.stats["selected"] += 1
        if any_wrong:
            self.hidden[0] = self.clipped(self.hidden[0] + delta)
            self.reinforce(self.hidden[0], self.n_features, self.zero)
        return correct
