"""colombo_split: determinism, sizes, disjointness and argument errors."""

from __future__ import annotations

import numpy as np
import pytest

from bnnlab.data import colombo_split


def _data(n=100):
    images = np.arange(n, dtype=np.int64)[:, None, None] * np.ones((1, 2, 2), dtype=np.int64)
    labels = np.arange(n, dtype=np.int64) % 10
    return images, labels


def test_sizes_disjoint_and_complete():
    images, labels = _data()
    xt, yt, xv, yv = colombo_split(images, labels, seed=0, n_test=30)
    assert xt.shape == (70, 2, 2) and xv.shape == (30, 2, 2)
    ids_t, ids_v = xt[:, 0, 0], xv[:, 0, 0]
    assert set(ids_t.tolist()).isdisjoint(ids_v.tolist())
    assert sorted(np.concatenate([ids_t, ids_v]).tolist()) == list(range(100))
    assert (yt == ids_t % 10).all() and (yv == ids_v % 10).all()  # pairs kept together


def test_is_the_seeded_permutation_with_last_n_test_held_out():
    images, labels = _data()
    perm = np.random.default_rng(5).permutation(100)
    xt, _, xv, _ = colombo_split(images, labels, seed=5, n_test=10)
    assert (xt[:, 0, 0] == perm[:90]).all()
    assert (xv[:, 0, 0] == perm[90:]).all()


def test_deterministic_and_seed_dependent():
    images, labels = _data()
    a = colombo_split(images, labels, seed=1, n_test=20)
    b = colombo_split(images, labels, seed=1, n_test=20)
    c = colombo_split(images, labels, seed=2, n_test=20)
    g = colombo_split(images, labels, seed=np.random.default_rng(1), n_test=20)
    for u, v, w in zip(a, b, g, strict=True):
        assert (u == v).all() and (u == w).all()
    assert not (a[0] == c[0]).all()


def test_default_holds_out_10000():
    images, labels = _data(10005)
    xt, _, xv, _ = colombo_split(images, labels, seed=0)
    assert xt.shape[0] == 5 and xv.shape[0] == 10000


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"seed": None}, TypeError, "^seed: "),
        ({"seed": 0, "n_test": 100}, ValueError, "^n_test: "),
        ({"seed": 0, "n_test": 0}, ValueError, "^n_test: "),
        ({"seed": -1}, ValueError, "^seed: "),
    ],
)
def test_bad_arguments(kwargs, exc, match):
    images, labels = _data()
    with pytest.raises(exc, match=match):
        colombo_split(images, labels, **kwargs)


def test_length_mismatch():
    images, labels = _data()
    with pytest.raises(ValueError, match=r"^labels: 99 labels for 100 images"):
        colombo_split(images, labels[:-1], seed=0)


@pytest.mark.parametrize(
    ("images", "labels", "exc", "match"),
    [
        (np.int64(3), np.arange(3), ValueError, r"^images: .*0-d array"),
        (np.array(3), np.arange(3), ValueError, r"^images: .*0-d array"),
        (7, np.arange(3), ValueError, r"^images: .*0-d array"),
        (np.zeros((3, 2)), np.int64(1), ValueError, r"^labels: expected 1-D array"),
        (np.zeros((3, 2)), np.array(1), ValueError, r"^labels: expected 1-D array"),
        (np.zeros((3, 2)), np.zeros((3, 1)), ValueError, r"^labels: expected 1-D array"),
        (np.zeros((0, 2)), np.arange(0), ValueError, r"^images: empty array"),
        (None, np.arange(3), TypeError, r"^images: expected an array"),
        (np.zeros((3, 2)), None, TypeError, r"^labels: expected an array"),
        (np.zeros(1), np.arange(1), ValueError, r"^n_test: "),
    ],
)
def test_bad_arrays_name_the_argument(images, labels, exc, match):
    with pytest.raises(exc, match=match):
        colombo_split(images, labels, seed=0, n_test=1)
