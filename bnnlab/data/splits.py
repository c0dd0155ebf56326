"""Dataset splits used by the reproduced papers."""

from __future__ import annotations

from typing import Any

import numpy as np

from bnnlab._validation import as_array, check_int, make_rng
from bnnlab._xp import namespace


def colombo_split(
    images: Any, labels: Any, *, seed: int | np.random.Generator, n_test: int = 10000
) -> tuple[Any, Any, Any, Any]:
    r"""The train/test split of Colombo, Pittorino & Roveri (2024), REFERENCES.md §2.4.

    The official Fashion-MNIST *training* file is shuffled with a seeded permutation and its last
    ``n_test`` samples are held out as the test set (60 000 → 50 000 train / 10 000 test); the
    official test file is not used.

    .. math:: \pi = \mathrm{permutation}_{seed}(N),\quad
              \text{train} = \pi[:N - n_{test}],\quad \text{test} = \pi[N - n_{test}:]

    Parameters
    ----------
    images, labels : array
        Samples along the first axis (same length ``N``); numpy or cupy. ``images`` has at least
        one dimension, ``labels`` exactly one.
    seed : int or numpy.random.Generator
        Drives ``Generator.permutation(N)`` (drawn on the host, so numpy and cupy inputs give the
        same split for the same seed).
    n_test : int
        Number of held-out samples, ``1 <= n_test < N``.

    Returns
    -------
    x_train, y_train, x_test, y_test
        Shuffled copies; the two parts are disjoint and together are a permutation of the input.

    Raises
    ------
    TypeError
        ``seed`` or ``n_test`` of the wrong type, ``images``/``labels`` ``None`` or of dtype object.
    ValueError
        Empty or 0-d ``images``, ``labels`` not 1-D, different lengths, ``n_test`` out of range.

    References
    ----------
    L. Colombo, F. Pittorino, M. Roveri, "Training Multi-Layer Binary Neural Networks With Local
    Binary Error Signals", arXiv:2412.00119 (2024); Mach. Learn.: Sci. Technol. 6:035015 (2025).
    """
    rng = make_rng(seed)
    images = as_array(images, "images")
    if images.ndim == 0:
        raise ValueError(
            "images: expected an array with the samples along its first axis, got a 0-d array"
        )
    labels = as_array(labels, "labels", ndim=1)
    xp = namespace(images, labels)
    n = images.shape[0]
    if labels.shape[0] != n:
        raise ValueError(f"labels: {labels.shape[0]} labels for {n} images")
    n_test = check_int(n_test, "n_test", minimum=1, maximum=n - 1)
    perm = xp.asarray(rng.permutation(n))
    train, test = perm[: n - n_test], perm[n - n_test :]
    return images[train], labels[train], images[test], labels[test]
