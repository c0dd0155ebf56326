"""The rules of the gradient-free learners: random draws, sample mask, unit selection, tie rules.

Everything here is exact integer (or host random) logic shared by local-binary and CP+R, whatever
the engine that runs their products (:mod:`bnnlab.learn.local.engine`). Because the packed and the
dense implementations consume the random generator through these functions, in the same order, and
decide every draw from the same integers, they hold identical hidden weights, heads and predictions
after every mini-batch given the same seed.

Random draws (one :class:`numpy.random.Generator`, always on the host)
-----------------------------------------------------------------------
1. Initialisation, layer by layer: ``W_l = rint(normal(0, init_std, (N_{l-1}, K_l)))`` (``int32``)
   then ``G_l = rint(normal(0, init_std, (K_l, C)))``; the local head is ``B_l = sign(G_l)``
   with ``sign(0) = +1``. ``G_l`` is the head's integer hidden state (only the last one changes,
   and only with ``train_head=True``).
2. Each epoch: one ``permutation(N)`` of the training set; mini-batches are consecutive slices of
   ``batch_size`` (the last one shorter when ``batch_size`` does not divide ``N``).
3. Each mini-batch, each layer whose wrong-sample mask is non-empty, after its error update: the
   metaplastic reinforcement field (:func:`draw_reinforcement`).

Reinforcement as integers
-------------------------
The paper's rate ``p = p_r sqrt(1 - acc_prev/100) sqrt(2/(pi N_in))`` is turned into an integer
threshold ``T = round(p 2^32)`` once per epoch (:func:`reinforcement_threshold`); inside the
training step the reinforcement probability is the exact dyadic rational ``q = T / 2^32``, the
probability that a uniform 32-bit random integer is ``< T`` -- what a hardware comparator would
do per weight. Drawing ``N_in K`` such integers per mini-batch would dominate the epoch, so the
field is sampled as ``n_hits ~ Binomial(N_in K, q)`` followed by a uniformly random ``n_hits``-subset
of the flat positions (Floyd's algorithm, ``Generator.choice(replace=False)``, computed by a
compiled copy of numpy's code that draws from the generator's own C interface: the same positions
and generator state). Conditional on its
number of ones a field of i.i.d. Bernoulli(q) variables is uniform over the subsets of that size,
so this is the same distribution exactly, at ``O(n_hits)`` cost instead of ``O(N_in K)``. (The
binomial sampler uses floating point internally; that is the random source, not the training
arithmetic, and it is shared by both implementations.)

Tie rules
---------
- The sign of a zero hidden weight or pre-activation is set by ``LocalBinaryConfig.sign_zero``:

  * ``"zero"`` (default): ``sign(0) = 0``, what the authors' dense code computes (``sign`` of an
    integer array, as ``numpy.sign``/``cupy.sign`` do). A hidden weight at 0 is then absent from the
    forward pass and is not reinforced; a unit with ``h = 0`` emits 0, which feeds the next layer,
    the local head and the error update as "no signal". Because updates move ``W`` by ±2 from an
    integer initialisation, the even weights do reach 0 (about 0.5-2 % of them at any time), and
    with an even fan-in (784 pixels, 1000 prototype bits) ``h = 0`` occurs in the first layer, so
    this rule is not a formality: at 35_35 it is worth 3-4 points on Prototypes (measured, see
    docs/performance-learner.md). The bit-packed learner keeps ``sign`` as packed bits (ties +1) and
    corrects the few zero entries exactly and sparsely (:class:`ZeroSignPackedEngine`).
  * ``"plus"``: ``sign(0) = +1``, strictly binary weights and activations.

  The local heads, the CP+R learner and its group majority always use ``sign(0) = +1``.
- Class prediction: ``argmax`` with ties to the lowest class index.
- Margin: ``top1 - top2`` where ``top2`` is the second largest score counted with multiplicity (a
  tie for the top gives margin 0). A sample is *wrong* when ``argmax != y`` or
  ``top1 - top2 < floor(rob K)``; ``floor(rob K)`` is computed exactly from the decimal value of
  ``rob``.
- A unit is on the wrong side when ``h t < 0`` strictly (``h = 0`` is never selected, under either
  ``sign(0)`` rule). Inside a group the wrong unit with the smallest ``|h|`` is selected, ties to the
  lowest unit index; at most one unit per group per sample.
- Reinforcement moves ``W`` by ``step sign(W)`` (``sign(0)`` as above: a zero weight stays at 0
  under ``"zero"`` and moves to ``+step`` under ``"plus"``); it never changes a sign, so only the
  error update changes the forward weights.

References
----------
L. Colombo, F. Pittorino, M. Roveri, "Training Multi-Layer Binary Neural Networks With Local Binary
Error Signals", Mach. Learn.: Sci. Technol. 6(3):035015 (2025), arXiv:2412.00119.
C. Baldassi, A. Ingrosso, C. Lucibello, L. Saglietti, R. Zecchina, "Subdominant dense clusters allow
for simple learning and high computational performance in neural networks with discrete synapses",
PRL 115:128101 (2015).
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction
from typing import Any

import numpy as np

from bnnlab._validation import as_array
from bnnlab._xp import namespace
from bnnlab.bits.pack import all_pm1

__all__ = [
    "choice_without_replacement",
    "compiled_choice_generator",
    "compiled_draws",
    "draw_reinforcement",
    "head_error",
    "init_hidden",
    "margin_threshold",
    "predict_from_scores",
    "reinforcement_hits",
    "reinforcement_threshold",
    "select_units",
    "validate_xy",
    "wrong_mask",
]

_TWO32 = 1 << 32
_FLOYD_MAX = 1 << 27  # layers of up to 2^27 weights (a 16 MiB bitmap) by the compiled Floyd
_BIG = np.iinfo(np.int32).max


def margin_threshold(rob: float, width: int) -> int:
    """``floor(rob * width)`` computed exactly from the decimal value of ``rob``."""
    return math.floor(Fraction(repr(float(rob))) * int(width))


# --------------------------------------------------------------------------------------------
# random draws


def init_hidden(rng: np.random.Generator, n_in: int, n_out: int, std: float) -> np.ndarray:
    """Integer hidden weights ``rint(Normal(0, std))`` of shape ``(n_in, n_out)``, ``int32``."""
    return np.rint(rng.normal(0.0, std, size=(n_in, n_out))).astype(np.int32)


def reinforcement_threshold(p_r: float, correct: int, total: int, n_in: int) -> int:
    """Integer threshold ``T = round(p 2^32)`` of ``p = p_r sqrt(1 - acc) sqrt(2/(pi n_in))``.

    ``acc = correct / total`` is the previous epoch's training accuracy (0 before the first epoch,
    ``total = 0``). Computed once per epoch; the step uses probability ``T / 2^32`` exactly.
    """
    acc = correct / total if total else 0.0
    p = p_r * math.sqrt(max(0.0, 1.0 - acc)) * math.sqrt(2.0 / (math.pi * n_in))
    return min(_TWO32, max(0, round(p * _TWO32)))


def draw_reinforcement(
    rng: np.random.Generator, size: int, threshold: int, *, sort: bool = True
) -> np.ndarray:
    """Flat positions (``int64``, distinct) of an i.i.d. Bernoulli(``threshold / 2^32``) field.

    ``n_hits ~ Binomial(size, q)`` then a uniform ``n_hits``-subset,
    ``Generator.choice(size, n_hits, replace=False, shuffle=False)`` (Floyd's algorithm); the two
    draws are always made, in this order, so every caller consumes ``rng`` identically. The
    subset is computed by :func:`choice_without_replacement` (compiled, the same positions and
    generator state as numpy's ``choice``, about 5x faster). The positions are sorted unless
    ``sort=False`` (the set is the same either way).
    """
    pos = choice_without_replacement(rng, size, reinforcement_hits(rng, size, threshold))
    if sort:
        pos.sort()
    return pos.astype(np.int64, copy=False)


def reinforcement_hits(rng: np.random.Generator, size: int, threshold: int) -> int:
    """The number of ones of the field, ``Binomial(size, threshold / 2^32)`` (the first of the
    reinforcement's two draws)."""
    return int(rng.binomial(size, threshold / _TWO32))


def choice_without_replacement(rng: np.random.Generator, size: int, hits: int) -> np.ndarray:
    """``rng.choice(size, hits, replace=False, shuffle=False)``: the same ``int64`` positions in
    the same order, and ``rng`` left in the same state, computed by the compiled Floyd of
    :mod:`bnnlab.learn.local._choice` where :func:`compiled_choice_generator` allows it, else by
    numpy's ``choice`` itself.
    """
    bitgen = compiled_choice_generator(rng, size, hits)
    if bitgen is None:
        return rng.choice(size, size=hits, replace=False, shuffle=False)
    from bnnlab.learn.local import _choice  # numba is imported only when the path is taken

    with rng.bit_generator.lock:
        return _choice.floyd(bitgen, size, hits)


def compiled_choice_generator(rng: np.random.Generator, size: int, hits: int) -> int | None:
    """The address of ``rng``'s ``bitgen_t`` (numpy's C interface of its bit generator) when the
    compiled Floyd (:mod:`bnnlab.learn.local._choice`) computes ``rng.choice(size, hits,
    replace=False, shuffle=False)``, else ``None``.

    It does where numpy would take Floyd's branch (``size <= 10000`` or ``hits <= size // 20``;
    numpy's tail shuffle is as fast: :func:`bnnlab.learn.local._choice.shuffles_tail`),
    ``0 < hits``, and where :func:`compiled_draws` allows it.
    """
    bitgen = compiled_draws(rng, size) if hits else None
    if bitgen is None:
        return None
    from bnnlab.learn.local import _choice  # importable: compiled_draws checked it

    return None if _choice.shuffles_tail(size, hits) else bitgen


def compiled_draws(rng: np.random.Generator, size: int) -> int | None:
    """The address of ``rng``'s ``bitgen_t`` when the compiled draws of
    :mod:`bnnlab.learn.local._choice` (``binomial``, and ``choice`` on Floyd's branch) may
    replace numpy's for a field of ``size`` positions, else ``None``: ``size <= 2^27`` (the
    kernel marks the chosen positions in a bitmap of ``size`` bits; numpy's hash set is
    ``O(hits)``), ``rng`` a numpy ``Generator`` whose bit generator has numpy's C interface, and
    the compiled code matched this numpy's draws (checked once per process).
    """
    if size > _FLOYD_MAX or not isinstance(rng, np.random.Generator) or not _draws_match_numpy():
        return None
    try:
        return int(rng.bit_generator.ctypes.bit_generator.value)
    except AttributeError:  # a bit generator without numpy's C interface
        return None


@functools.cache
def _draws_match_numpy() -> bool:
    """Whether the compiled draws reproduce this numpy's ``binomial`` and ``choice`` (values and
    generator state: with and without a buffered 32-bit half, on two bit generators, both of
    numpy's binomial algorithms, a full subset), so a numpy that changed its algorithms is never
    mimicked."""
    try:
        from bnnlab.learn.local import _choice
    except ImportError:  # no numba here
        return False
    if _choice.random_binomial is None:  # this numba has no port of numpy's binomial
        return False
    cases = ((np.random.PCG64, 1000, 37, 0), (np.random.PCG64, 411_600, 5_300, 1),
             (np.random.PCG64, 7, 7, 1), (np.random.MT19937, 5000, 400, 0))  # fmt: skip
    for bit_generator, size, hits, pre in cases:
        a, b = (np.random.Generator(bit_generator(size)) for _ in range(2))
        if pre:  # leave a buffered high half in both
            a.integers(0, 1000, dtype=np.uint32)
            b.integers(0, 1000, dtype=np.uint32)
        address = int(b.bit_generator.ctypes.bit_generator.value)
        # the binomial's inversion (size p <= 30) and BTPE branches, then the subset
        probabilities = (min(0.5, 10 / size), hits / size, 1 - 3 / size)
        want = [a.binomial(size, q) for q in probabilities]
        with b.bit_generator.lock:
            got = [int(_choice.binomial(address, size, q)) for q in probabilities]
        want.append(a.choice(size, size=hits, replace=False, shuffle=False))
        with b.bit_generator.lock:
            got.append(_choice.floyd(address, size, hits))
        if not (
            got[:3] == want[:3]
            and np.array_equal(got[3], want[3])
            and _same(a.bit_generator.state, b.bit_generator.state)
        ):
            return False
    return True


def _same(a: Any, b: Any) -> bool:
    """Equality of two bit-generator states (nested dicts of numbers and arrays)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(np.array_equal(a, b))


# --------------------------------------------------------------------------------------------
# masks and selection (integer arrays, numpy or cupy)


def predict_from_scores(scores: Any) -> Any:
    """``argmax`` over classes, ties to the lowest index."""
    xp = namespace(scores)
    return xp.argmax(scores, axis=1)


def wrong_mask(scores: Any, y: Any, margin: int) -> tuple[Any, Any]:
    """``(wrong, pred)``: ``argmax != y`` or ``top1 - top2 < margin`` (see the module's tie rules)."""
    xp = namespace(scores)
    pred = xp.argmax(scores, axis=1)
    top2 = xp.partition(scores, scores.shape[1] - 2, axis=1)
    gap = top2[:, -1] - top2[:, -2]
    return (pred != y) | (gap < margin), pred


def select_units(h: Any, t: Any, gamma: int, eligible: Any = None) -> Any:
    """Least-action selection: per sample and group of γ consecutive units, the wrong unit.

    Parameters
    ----------
    h : int array (n, K)
        Pre-activations of the wrong samples.
    t : int8 array (n, K)
        Per-unit ±1 targets.
    gamma : int
        Group size (divides K).
    eligible : bool array (n, K), optional
        Extra gate (CP+R: only units of a wrong committee may be selected).

    Returns
    -------
    M : int8 array (n, K)
        ``t`` at the selected (sample, unit) pairs, 0 elsewhere: in every group the unit with
        ``h t < 0`` and the smallest ``|h|`` (ties to the lowest index), if any.
    """
    xp = namespace(h, t)
    n, k = h.shape
    wrong = (h * t) < 0
    if eligible is not None:
        wrong &= eligible
    key = xp.where(wrong, xp.abs(h), _BIG).reshape(n, k // gamma, gamma)
    idx = xp.argmin(key, axis=2)
    has = wrong.reshape(n, k // gamma, gamma).any(axis=2)
    rows, grp = xp.nonzero(has)
    cols = grp * gamma + idx[rows, grp]
    m = xp.zeros((n, k), dtype=xp.int8)
    m[rows, cols] = t[rows, cols]
    return m


def head_error(scores: Any, y: Any) -> Any:
    """Multiclass-perceptron error of a trained head: +1 at ``y``, -1 at the best other class.

    The best other class is ``argmax_{c != y} s_c`` (ties to the lowest index). ``int8 (n, C)``.
    """
    xp = namespace(scores)
    n = scores.shape[0]
    rows = xp.arange(n)
    s = scores.astype(xp.int64, copy=True)
    s[rows, y] = np.iinfo(np.int64).min
    other = xp.argmax(s, axis=1)
    e = xp.zeros(scores.shape, dtype=xp.int8)
    e[rows, y] = 1
    e[rows, other] = -1
    return e


def validate_xy(x: Any, y: Any, n_features: int, n_classes: int, *, xname: str = "x") -> Any:
    """Check ``x`` is ±1 ``(n, n_features)`` and ``y`` integer labels in ``0..C-1``; return int8 x."""
    x = as_array(x, xname, ndim=2)
    xp = namespace(x)
    if x.shape[1] != n_features:
        raise ValueError(f"{xname}: expected {n_features} features, got shape {tuple(x.shape)}")
    if x.dtype == np.bool_ or not (
        np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)
    ):
        raise TypeError(f"{xname}: expected a ±1 integer array, got dtype {x.dtype}")
    if not all_pm1(x):
        raise ValueError(f"{xname}: expected binary inputs with values in {{-1, +1}}")
    x8 = x.astype(xp.int8, copy=False)
    if y is None:
        return x8, None
    y = as_array(y, "y", ndim=1)
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"y: expected integer class labels, got dtype {y.dtype}")
    if y.shape[0] != x.shape[0]:
        raise ValueError(
            f"y: expected {x.shape[0]} labels (one per row of {xname}), got {y.shape[0]}"
        )
    if bool((y < 0).any()) or bool((y >= n_classes).any()):
        raise ValueError(f"y: labels must lie in 0..{n_classes - 1}")
    return x8, y.astype(xp.int64, copy=False)
