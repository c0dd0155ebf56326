"""The synthetic *Prototypes* dataset of Colombo, Pittorino & Roveri (2024), REFERENCES.md §2.4."""

from __future__ import annotations

import numpy as np

from bnnlab._validation import check_int, check_real, make_rng

_MAX_STALLED_ROUNDS = 64


def _balanced(n: int, n_classes: int) -> np.ndarray:
    """Class counts differing by at most one, the extra samples going to the first classes."""
    counts = np.full(n_classes, n // n_classes, dtype=np.int64)
    counts[: n % n_classes] += 1
    return counts


def prototypes(
    n_train: int = 10000,
    n_test: int = 2000,
    n_features: int = 1000,
    n_classes: int = 10,
    flip: float = 0.44,
    *,
    seed: int | np.random.Generator,
    return_prototypes: bool = False,
) -> tuple[np.ndarray, ...]:
    r"""Noisy copies of random ±1 prototypes, one prototype per class, deduplicated.

    Generative model: prototypes :math:`p_c \sim \mathrm{Uniform}\{-1,+1\}^D` for
    :math:`c = 0..C-1`; a sample of class :math:`c` is :math:`x_i = p_{c,i}\,(1 - 2 b_i)` with
    independent :math:`b_i \sim \mathrm{Bernoulli}(\text{flip})`, i.e. each bit of the prototype is
    flipped with probability ``flip``.

    Rules chosen here (the paper says only "deduplicated"):

    - **Balanced classes**: each split has ``n // C`` samples per class, the first ``n % C``
      classes one more. Samples are then shuffled within each split.
    - **Deduplication across everything**: no feature vector occurs twice in train ∪ test (so no
      test sample appears in the training set, and no vector carries two labels). A duplicate
      draw is discarded and redrawn, which makes the samples a draw from the model conditioned on
      distinctness (for the default D = 1000, flip = 0.44 a collision has probability ~1e-270).
    - Order of random draws, for reproducibility: the prototypes ``(C, D)``, then per class in
      order 0..C-1 rounds of ``(m, D)`` uniform numbers until the class has its train + test
      quota (the first ``n_train_c`` distinct draws of a class go to train, the rest to test),
      then a permutation of the training set and one of the test set.

    Parameters
    ----------
    n_train, n_test : int
        Number of training samples (>= n_classes) and test samples (>= 0).
    n_features : int
        Dimension ``D`` of the ±1 vectors.
    n_classes : int
        Number of classes (prototypes) ``C >= 2``.
    flip : float
        Per-bit flip probability in [0, 1].
    seed : int or numpy.random.Generator
        Explicit randomness.
    return_prototypes : bool
        Also return the prototypes, int8 ``(C, D)`` (the Bayes-optimal classifier for flip < 1/2
        is the nearest prototype in Hamming distance).

    Returns
    -------
    x_train : int8 (n_train, D) of ±1
    y_train : int64 (n_train,)
    x_test : int8 (n_test, D) of ±1
    y_test : int64 (n_test,)
    prototypes : int8 (C, D), only when ``return_prototypes``

    Raises
    ------
    ValueError
        If the requested number of distinct samples cannot be drawn (e.g. ``flip = 0`` or a
        ``D`` too small).

    References
    ----------
    L. Colombo, F. Pittorino, M. Roveri, arXiv:2412.00119 (2024), Sec. "Datasets".
    """
    n_classes = check_int(n_classes, "n_classes", minimum=2)
    n_train = check_int(n_train, "n_train", minimum=n_classes)
    n_test = check_int(n_test, "n_test", minimum=0)
    n_features = check_int(n_features, "n_features", minimum=1)
    flip = check_real(flip, "flip", low=0.0, high=1.0)
    rng = make_rng(seed)
    total = n_train + n_test
    if n_features < 63 and total > 2**n_features:
        raise ValueError(
            f"n_features: {n_features} bits allow only {2**n_features} distinct vectors, "
            f"{total} requested"
        )

    protos = np.where(rng.random((n_classes, n_features)) < 0.5, -1, 1).astype(np.int8)
    train_counts = _balanced(n_train, n_classes)
    test_counts = _balanced(n_test, n_classes)
    seen: set[bytes] = set()
    parts_train, parts_test = [], []
    for c in range(n_classes):
        quota = int(train_counts[c] + test_counts[c])
        rows: list[np.ndarray] = []
        stalled = 0
        while len(rows) < quota:
            m = quota - len(rows)
            flips = rng.random((m, n_features)) < flip
            draws = np.where(flips, -protos[c], protos[c]).astype(np.int8)
            before = len(rows)
            for row, key in zip(draws, np.packbits(draws > 0, axis=1), strict=True):
                k = key.tobytes()
                if k not in seen:
                    seen.add(k)
                    rows.append(row)
            stalled = stalled + 1 if len(rows) == before else 0
            if stalled >= _MAX_STALLED_ROUNDS:
                raise ValueError(
                    f"flip: cannot draw {quota} distinct samples of class {c} with "
                    f"n_features={n_features}, flip={flip} (got {len(rows)})"
                )
        block = np.stack(rows)
        parts_train.append((block[: train_counts[c]], c))
        parts_test.append((block[train_counts[c] :], c))

    def assemble(parts: list[tuple[np.ndarray, int]], n: int) -> tuple[np.ndarray, np.ndarray]:
        x = np.concatenate([p for p, _ in parts]).reshape(n, n_features)
        y = np.concatenate([np.full(len(p), c, dtype=np.int64) for p, c in parts])
        order = rng.permutation(n)
        return x[order], y[order]

    x_train, y_train = assemble(parts_train, n_train)
    x_test, y_test = assemble(parts_test, n_test)
    if return_prototypes:
        return x_train, y_train, x_test, y_test, protos
    return x_train, y_train, x_test, y_test
