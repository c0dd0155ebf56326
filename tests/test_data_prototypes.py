"""Prototypes dataset: determinism, shapes, balance, deduplication and flip statistics."""

from __future__ import annotations

import numpy as np
import pytest

from bnnlab.data import prototypes


@pytest.fixture(scope="module")
def default():
    return prototypes(seed=0, return_prototypes=True)


def test_shapes_dtypes_values(default):
    xt, yt, xv, yv, p = default
    assert xt.shape == (10000, 1000) and xv.shape == (2000, 1000) and p.shape == (10, 1000)
    assert xt.dtype == xv.dtype == p.dtype == np.int8
    assert yt.dtype == yv.dtype == np.int64
    for a in (xt, xv, p):
        assert set(np.unique(a).tolist()) == {-1, 1}


def test_balanced_classes(default):
    _, yt, _, yv, _ = default
    assert np.bincount(yt).tolist() == [1000] * 10
    assert np.bincount(yv).tolist() == [200] * 10
    assert np.bincount(prototypes(n_train=23, n_test=7, n_features=64, seed=1)[1]).tolist() == [
        3,
        3,
        3,
        2,
        2,
        2,
        2,
        2,
        2,
        2,
    ]


def test_no_duplicates_within_or_across_splits(default):
    xt, _, xv, _, _ = default
    both = np.concatenate([xt, xv])
    assert np.unique(both, axis=0).shape[0] == both.shape[0]


def test_dedup_forces_redraws_when_collisions_are_likely():
    # 2**8 = 256 vectors; 200 distinct samples need many redraws, still all distinct
    xt, _, xv, _ = prototypes(n_train=150, n_test=50, n_features=8, flip=0.5, seed=3)
    both = np.concatenate([xt, xv])
    assert np.unique(both, axis=0).shape[0] == 200


def test_flip_rate_and_prototype_recovery(default):
    xt, yt, xv, yv, p = default
    x, y = np.concatenate([xt, xv]), np.concatenate([yt, yv])
    flipped = x != p[y]
    n = flipped.size  # 1.2e7 Bernoulli(0.44) bits: std of the mean 1.4e-4
    assert abs(flipped.mean() - 0.44) < 6 * np.sqrt(0.44 * 0.56 / n)
    # per class too, and the class-wise majority vote is the prototype
    for c in range(10):
        assert abs(flipped[y == c].mean() - 0.44) < 0.003
        assert (np.where(x[y == c].sum(axis=0) > 0, 1, -1) == p[c]).all()
    # bits flip independently of position: no column far from 0.44
    assert np.abs(flipped.mean(axis=0) - 0.44).max() < 0.02


def test_labels_are_shuffled(default):
    _, yt, _, _, _ = default
    assert (np.diff(yt) != 0).sum() > 5000


def test_deterministic_and_seed_dependent():
    a = prototypes(n_train=100, n_test=20, n_features=50, seed=11)
    b = prototypes(n_train=100, n_test=20, n_features=50, seed=np.random.default_rng(11))
    c = prototypes(n_train=100, n_test=20, n_features=50, seed=12)
    for u, v in zip(a, b, strict=True):
        assert u.dtype == v.dtype and (u == v).all()
    assert not (a[0] == c[0]).all()


def test_no_test_split():
    xt, _, xv, yv = prototypes(n_train=20, n_test=0, n_features=16, seed=0)
    assert xv.shape == (0, 16) and yv.shape == (0,) and xt.shape == (20, 16)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"flip": 0.0, "n_train": 20, "n_test": 0}, ValueError, "^flip: cannot draw 2 distinct"),
        ({"n_features": 3}, ValueError, "^n_features: 3 bits allow only 8"),
        ({"flip": 1.5}, ValueError, "^flip: "),
        ({"n_classes": 1}, ValueError, "^n_classes: "),
        ({"n_train": 5}, ValueError, "^n_train: "),
        ({"n_test": -1}, ValueError, "^n_test: "),
        ({"seed": None}, TypeError, "^seed: "),
    ],
)
def test_bad_arguments(kwargs, exc, match):
    kwargs = {"seed": 0, **kwargs}
    with pytest.raises(exc, match=match):
        prototypes(**kwargs)
