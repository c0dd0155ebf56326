"""Shared machinery of the fully binary, gradient-free learners (local-binary and CP+R).

Everything that is *not* the arithmetic under test lives here, once: the configuration dataclasses,
the design of every random draw, the sample mask, the per-group unit selection and the training loop.
The arithmetic that differs between the bit-packed learners and their dense integer oracles (forward
pre-activations, local head scores, the outer-product update, the reinforcement) sits behind the
small :class:`Engine` interface; :mod:`bnnlab.learn.local_binary` implements it on packed words
through :mod:`bnnlab.bits`, :mod:`bnnlab.learn._local_reference` on dense ``int8``/``int32`` arrays.
Because both consume the random generator through the same functions, in the same order, and
decide every draw from the same integers, a packed learner and its reference given the same seed
hold identical hidden weights, heads and predictions after every mini-batch.

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
of the flat positions (Floyd's algorithm, ``Generator.choice(replace=False)``). Conditional on its
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

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from bnnlab._validation import as_array, check_choice, check_int, check_real, make_rng
from bnnlab._xp import namespace, to_numpy

#: Group size γ by hidden width K used in the paper's main runs (REFERENCES.md §2.2).
PAPER_GROUP_SIZE: dict[int, int] = {35: 35, 75: 75, 135: 45, 255: 85, 525: 105, 1035: 115}

#: Values of ``LocalBinaryConfig.sign_zero`` (the sign of a zero weight or pre-activation).
SIGN_ZERO = ("zero", "plus")

_TWO32 = 1 << 32
_BIG = np.iinfo(np.int32).max


def default_group_size(width: int) -> int:
    """The paper's γ for ``width`` when listed, else ``width`` (one group per layer)."""
    return PAPER_GROUP_SIZE.get(int(width), int(width))


def margin_threshold(rob: float, width: int) -> int:
    """``floor(rob * width)`` computed exactly from the decimal value of ``rob``."""
    return math.floor(Fraction(repr(float(rob))) * int(width))


def _check_clip(clip: Any) -> int | None:
    if clip is None:
        return None
    return check_int(clip, "clip", minimum=1)


def _check_common(cfg: Any) -> None:
    check_int(cfg.n_features, "n_features", minimum=1)
    check_int(cfg.n_classes, "n_classes", minimum=2)
    check_real(cfg.rob, "rob", low=0.0, high=1.0)
    check_real(cfg.p_r, "p_r", low=0.0, high=1.0)
    check_real(cfg.init_std, "init_std", low=0.0)
    check_int(cfg.step, "step", minimum=1)
    check_int(cfg.batch_size, "batch_size", minimum=1)
    _check_clip(cfg.clip)


@dataclasses.dataclass(frozen=True)
class LocalBinaryConfig:
    """Hyperparameters of the local-binary learner (defaults: the paper's main runs, §2.2).

    Parameters
    ----------
    n_features : int
        Input size ``D`` (binary features).
    n_classes : int
        Number of classes ``C``.
    layers : tuple of int
        Hidden widths ``K_1, ..., K_L``.
    groups : tuple of int or None
        Group size γ per layer (must divide the width); ``None`` uses :data:`PAPER_GROUP_SIZE`
        (``γ = K`` for widths not in the paper's table).
    rob : float
        Robustness: a sample whose top-1 minus top-2 local score is below ``floor(rob K)`` is
        treated as wrong. In [0, 1].
    p_r : float
        Reinforcement rate. In [0, 1].
    init_std : float
        Standard deviation of the integer initial hidden weights.
    step : int
        Increment of the hidden weights (error update and reinforcement).
    clip : int or None
        If set, hidden weights are clipped to ``[-clip, clip]`` after each update.
    train_head : bool
        Train the last local head (multiclass perceptron on its integer state) instead of keeping
        it frozen (the paper's main runs keep it frozen).
    batch_size : int
        Mini-batch size.
    sign_zero : {"zero", "plus"}
        ``sign(0)`` of hidden weights and pre-activations: ``"zero"`` (0, as the authors' dense
        integer code computes; the default) or ``"plus"`` (+1, strictly binary). See the module's
        tie rules. Configurations saved before this option existed load as ``"plus"``.
    """

    n_features: int
    n_classes: int
    layers: tuple[int, ...]
    groups: tuple[int, ...] | None = None
    rob: float = 0.25
    p_r: float = 0.5
    init_std: float = 64.0
    step: int = 2
    clip: int | None = None
    train_head: bool = False
    batch_size: int = 100
    sign_zero: str = "zero"

    def __post_init__(self) -> None:
        if isinstance(self.layers, int | np.integer):
            object.__setattr__(self, "layers", (int(self.layers),))
        if not isinstance(self.layers, Sequence) or not self.layers:
            raise ValueError(
                f"layers: expected a non-empty sequence of widths, got {self.layers!r}"
            )
        layers = tuple(check_int(k, "layers", minimum=1) for k in self.layers)
        object.__setattr__(self, "layers", layers)
        if self.groups is None:
            groups = tuple(default_group_size(k) for k in layers)
        else:
            groups = tuple(self.groups) if isinstance(self.groups, Sequence) else (self.groups,)
            if len(groups) == 1 and len(layers) > 1:
                groups = groups * len(layers)
            if len(groups) != len(layers):
                raise ValueError(
                    f"groups: expected one group size per layer ({len(layers)}), got {len(groups)}"
                )
            groups = tuple(check_int(g, "groups", minimum=1) for g in groups)
        for k, g in zip(layers, groups, strict=True):
            if k % g:
                raise ValueError(f"groups: group size {g} does not divide the width {k}")
        object.__setattr__(self, "groups", groups)
        _check_common(self)
        if not isinstance(self.train_head, bool | np.bool_):
            raise TypeError(f"train_head: expected a bool, got {type(self.train_head).__name__}")
        object.__setattr__(self, "train_head", bool(self.train_head))
        check_choice(self.sign_zero, "sign_zero", SIGN_ZERO)

    @property
    def fan_in(self) -> tuple[int, ...]:
        """``N_{l-1}`` of every layer."""
        return (self.n_features, *self.layers[:-1])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (lists for tuples)."""
        d = dataclasses.asdict(self)
        d["layers"] = list(self.layers)
        d["groups"] = list(self.groups)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LocalBinaryConfig:
        """Inverse of :meth:`to_dict` (unknown keys are an error; no ``sign_zero`` → ``"plus"``)."""
        if isinstance(d, dict) and "sign_zero" not in d:
            d = {**d, "sign_zero": "plus"}
        return _from_dict(cls, d)


@dataclasses.dataclass(frozen=True)
class CPRConfig:
    """Hyperparameters of the CP+R committee baseline (REFERENCES.md §2.3).

    One hidden layer of ``hidden`` clipped-perceptron-with-reinforcement units, a fixed majority
    layer over consecutive groups of ``group`` units (``K2 = hidden / group``), and a fixed random
    ±1 readout ``K2 x C``. ``rob``, ``p_r``, ``init_std``, ``step``, ``clip`` and ``batch_size`` as
    in :class:`LocalBinaryConfig`; the margin threshold is ``floor(rob K2)`` on the readout.
    """

    n_features: int
    n_classes: int
    hidden: int
    group: int = 11
    rob: float = 0.25
    p_r: float = 0.5
    init_std: float = 64.0
    step: int = 2
    clip: int | None = None
    batch_size: int = 100

    def __post_init__(self) -> None:
        check_int(self.hidden, "hidden", minimum=1)
        check_int(self.group, "group", minimum=1)
        if self.hidden % self.group:
            raise ValueError(f"group: group size {self.group} does not divide hidden {self.hidden}")
        _check_common(self)

    @property
    def committees(self) -> int:
        """``K2``: the number of majority groups."""
        return self.hidden // self.group

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CPRConfig:
        """Inverse of :meth:`to_dict` (unknown keys are an error)."""
        return _from_dict(cls, d)


def _from_dict(cls: type, d: dict[str, Any]) -> Any:
    if not isinstance(d, dict):
        raise TypeError(f"config: expected a dict, got {type(d).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise ValueError(f"config: unknown keys {unknown} for {cls.__name__}")
    kwargs = dict(d)
    for key in ("layers", "groups"):
        if isinstance(kwargs.get(key), list):
            kwargs[key] = tuple(kwargs[key])
    return cls(**kwargs)


# --------------------------------------------------------------------------------------------
# random draws


def init_hidden(rng: np.random.Generator, n_in: int, n_out: int, std: float) -> np.ndarray:
    """Integer hidden weights ``rint(Normal(0, std))`` of shape ``(n_in, n_out)``, ``int32``."""
    return np.rint(rng.normal(0.0, std, size=(n_in, n_out))).astype(np.int32)


def sign_pm1(x: Any) -> Any:
    """``sign`` with ``sign(0) = +1`` as ``int8`` in {-1, +1} (numpy or cupy)."""
    xp = namespace(x)
    return xp.where(x >= 0, 1, -1).astype(xp.int8)


def sign0(x: Any) -> Any:
    """``sign`` with ``sign(0) = 0`` as ``int8`` in {-1, 0, +1} (numpy or cupy)."""
    xp = namespace(x)
    return xp.sign(x).astype(xp.int8)


def reinforcement_threshold(p_r: float, correct: int, total: int, n_in: int) -> int:
    """Integer threshold ``T = round(p 2^32)`` of ``p = p_r sqrt(1 - acc) sqrt(2/(pi n_in))``.

    ``acc = correct / total`` is the previous epoch's training accuracy (0 before the first epoch,
    ``total = 0``). Computed once per epoch; the step uses probability ``T / 2^32`` exactly.
    """
    acc = correct / total if total else 0.0
    p = p_r * math.sqrt(max(0.0, 1.0 - acc)) * math.sqrt(2.0 / (math.pi * n_in))
    return min(_TWO32, max(0, round(p * _TWO32)))


def draw_reinforcement(rng: np.random.Generator, size: int, threshold: int) -> np.ndarray:
    """Flat positions (sorted ``int64``) of an i.i.d. Bernoulli(``threshold / 2^32``) field.

    ``n_hits ~ Binomial(size, q)`` then a uniform ``n_hits``-subset (Floyd's algorithm); the two
    draws are always made, in this order, so every caller consumes ``rng`` identically.
    """
    hits = int(rng.binomial(size, threshold / _TWO32))
    pos = rng.choice(size, size=hits, replace=False, shuffle=False)
    pos.sort()
    return pos.astype(np.int64, copy=False)


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


# --------------------------------------------------------------------------------------------
# the arithmetic under test


class Engine:
    """The operations a packed learner and its dense reference implement differently.

    ``X`` is the engine's representation of a batch of ±1 rows (dense ``int8`` or packed words).
    Every method is exact integer arithmetic.
    """

    name = "abstract"

    def encode(self, x: Any) -> Any:
        """±1 ``int8`` rows ``(n, d)`` → the engine's representation."""
        raise NotImplementedError

    def weights(self, w: Any) -> Any:
        """Forward representation of ``sign(W)`` for ``W (n_in, n_out)`` (the engine's tie rule)."""
        raise NotImplementedError

    def head_weights(self, g: Any) -> Any:
        """Forward representation of a local head ``sign(G)``, always with ``sign(0) = +1``."""
        return self.weights(g)

    def refresh(self, rep: Any, w: Any, cols: Any) -> Any:
        """Update ``rep`` after the columns ``cols`` of ``W`` changed; return the new rep."""
        raise NotImplementedError

    def preact(self, x: Any, rep: Any, n_in: int) -> Any:
        """``int32 (n, n_out)`` pre-activations ``x @ sign(W)``."""
        raise NotImplementedError

    def activate(self, h: Any) -> Any:
        """``sign(h)`` (the engine's tie rule) in the engine's row representation."""
        raise NotImplementedError

    def rows(self, x: Any, mask: Any) -> Any:
        """The rows of ``x`` selected by ``mask`` (a boolean mask or an index array)."""
        return x[mask]

    def update(self, w: Any, x: Any, m: Any, step: int) -> None:
        """In place ``W += step x^T M`` (``x`` rows, ``M`` int8 (n, n_out) in {-1, 0, 1})."""
        raise NotImplementedError

    def reinforce(self, w: Any, pos: Any, step: int) -> None:
        """In place ``W += step sign(W) ⊙ R`` where ``R`` is 1 at flat positions ``pos``."""
        raise NotImplementedError


def _clip(w: Any, clip: int | None) -> None:
    if clip is not None:
        xp = namespace(w)
        xp.clip(w, -clip, clip, out=w)


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
    if not bool(((x == 1) | (x == -1)).all()):
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


class Timers(dict):
    """Accumulated seconds per phase (forward, selection, update, reinforcement)."""

    def add(self, key: str, t0: float) -> float:
        t1 = time.perf_counter()
        self[key] = self.get(key, 0.0) + (t1 - t0)
        return t1


class BinaryLearnerBase:
    """Training loop shared by the gradient-free learners (subclasses define the network).

    Subclasses set ``config``, ``engine`` and implement ``_init_params(rng)``, ``_step(X, y)``
    (returning the number of correct predictions of the mini-batch before its update),
    ``_predict_rep(X)``, ``_array_state()`` and ``_set_array_state(d)``.
    """

    config: Any
    engine: Engine
    config_class: type

    def __init__(self, config: Any, *, seed: Any, engine: Engine, xp: Any = np):
        if not isinstance(config, self.config_class):
            raise TypeError(
                f"config: expected {self.config_class.__name__}, got {type(config).__name__}"
            )
        self.config = config
        self.engine = engine
        self.xp = xp
        self.rng = make_rng(seed)
        self.epoch = 0
        self.prev_correct = 0
        self.prev_total = 0
        self.timers = Timers()
        self._init_params(self.rng)

    # -- public API -------------------------------------------------------------------------
    def fit(
        self,
        x: Any,
        y: Any,
        *,
        epochs: int = 50,
        x_test: Any = None,
        y_test: Any = None,
        callback: Callable[[dict[str, Any]], None] | None = None,
        progress: bool = False,
    ) -> list[dict[str, Any]]:
        """Train for ``epochs`` more epochs; return one record per epoch.

        Each record holds ``epoch``, ``train_accuracy`` (% of the last head during the epoch,
        before each mini-batch's update), ``test_accuracy`` (if a test set is given) and
        ``seconds``; ``callback(record)`` is called after every epoch (checkpointing).
        """
        epochs = check_int(epochs, "epochs", minimum=0)
        xe, ye = self._encode_xy(x, y)
        te = self._encode_xy(x_test, y_test, xname="x_test") if x_test is not None else None
        history = []
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=epochs, unit="epoch", desc=type(self).__name__)
        for _ in range(epochs):
            t0 = time.perf_counter()
            train_acc = self._train_epoch(xe, ye)
            rec: dict[str, Any] = {"epoch": self.epoch, "train_accuracy": train_acc}
            if te is not None:
                rec["test_accuracy"] = self._accuracy_rep(*te)
            rec["seconds"] = time.perf_counter() - t0
            history.append(rec)
            if bar is not None:
                bar.update(1)
                bar.set_postfix({k: f"{v:.2f}" for k, v in rec.items() if "accuracy" in k})
            if callback is not None:
                callback(rec)
        if bar is not None:
            bar.close()
        return history

    def train_batch(self, x: Any, y: Any) -> int:
        """One mini-batch step on ±1 rows ``x``; returns the correct count before the update."""
        xe, ye = self._encode_xy(x, y)
        return int(self._step(xe, ye))

    def predict(self, x: Any) -> Any:
        """Class predictions (argmax of the last head, ties to the lowest index), ``int64``."""
        xe, _ = self._encode_xy(x, None)
        return self._predict_rep(xe)

    def score(self, x: Any, y: Any) -> float:
        """Accuracy in percent."""
        return self._accuracy_rep(*self._encode_xy(x, y))

    # -- state --------------------------------------------------------------------------------
    def state_dict(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """``(arrays, meta)``: host arrays of the model and JSON metadata (RNG state, counters)."""
        arrays = {k: to_numpy(v) for k, v in self._array_state().items()}
        meta = {
            "learner": type(self).__name__,
            "config": self.config.to_dict(),
            "epoch": self.epoch,
            "prev_correct": self.prev_correct,
            "prev_total": self.prev_total,
            "rng": _jsonable_rng_state(self.rng.bit_generator.state),
        }
        return arrays, meta

    def load_state_dict(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (shapes are checked)."""
        expected = self._array_state()
        missing = sorted(set(expected) - set(arrays))
        if missing:
            raise ValueError(f"checkpoint: missing arrays {missing}")
        for k, ref in expected.items():
            a = arrays[k]
            if tuple(a.shape) != tuple(ref.shape) or np.dtype(a.dtype) != np.dtype(ref.dtype):
                raise ValueError(
                    f"checkpoint: array {k!r} has shape {tuple(a.shape)} dtype {a.dtype}, "
                    f"expected {tuple(ref.shape)} {np.dtype(ref.dtype)}"
                )
        self._set_array_state({k: self.xp.asarray(arrays[k]) for k in expected})
        self.epoch = check_int(meta["epoch"], "epoch", minimum=0)
        self.prev_correct = check_int(meta["prev_correct"], "prev_correct", minimum=0)
        self.prev_total = check_int(meta["prev_total"], "prev_total", minimum=0)
        bg = type(self.rng.bit_generator)
        state = meta["rng"]
        if state.get("bit_generator") != bg.__name__:
            raise ValueError(f"checkpoint: rng state is for {state.get('bit_generator')}")
        self.rng.bit_generator.state = state

    # -- internals ----------------------------------------------------------------------------
    def _encode_xy(self, x: Any, y: Any, xname: str = "x") -> tuple[Any, Any]:
        x8, y64 = validate_xy(x, y, self.config.n_features, self.config.n_classes, xname=xname)
        return self.engine.encode(self.xp.asarray(x8)), (
            None if y64 is None else self.xp.asarray(y64)
        )

    def _accuracy_rep(self, xe: Any, ye: Any) -> float:
        pred = self._predict_rep(xe)
        return 100.0 * int((pred == ye).sum()) / int(ye.shape[0])

    def _thresholds(self) -> list[int]:
        return [
            reinforcement_threshold(self.config.p_r, self.prev_correct, self.prev_total, n)
            for n in self._fan_in()
        ]

    def _train_epoch(self, xe: Any, ye: Any) -> float:
        n = int(ye.shape[0])
        bs = self.config.batch_size
        perm = self.xp.asarray(self.rng.permutation(n))
        correct = 0
        for start in range(0, n, bs):
            idx = perm[start : start + bs]
            correct += int(self._step(self.engine.rows(xe, idx), ye[idx]))
        self.epoch += 1
        self.prev_correct, self.prev_total = correct, n
        return 100.0 * correct / n

    def _reinforce(self, w: Any, layer: int) -> None:
        t0 = time.perf_counter()
        key = (self.prev_correct, self.prev_total)
        if getattr(self, "_thr_key", None) != key:  # once per epoch: acc_prev is fixed inside
            self._thr_key, self._thr = key, self._thresholds()
        pos = draw_reinforcement(self.rng, int(w.size), self._thr[layer])
        self.engine.reinforce(w, self.xp.asarray(pos), self.config.step)
        _clip(w, self.config.clip)
        self.timers.add("reinforcement", t0)


def _jsonable_rng_state(state: dict[str, Any]) -> dict[str, Any]:
    """Bit-generator states hold Python ints (PCG64) or numpy arrays (MT19937): make them JSON."""

    def conv(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        if isinstance(v, np.ndarray):
            return v.tolist()
        if isinstance(v, np.integer):
            return int(v)
        return v

    return conv(state)


class LocalBinaryBase(BinaryLearnerBase):
    r"""The local-binary algorithm (REFERENCES.md §2.2) over an :class:`Engine`.

    Forward, layer ``l`` with input ``a_{l-1}`` (``a_0 = x``)::

        h_l = a_{l-1} @ sign(W_l)        a_l = sign(h_l)        s_l = a_l @ B_l

    Sample mask: ``wrong = argmax s_l != y  or  top1(s_l) - top2(s_l) < floor(rob K_l)``. For the
    wrong samples, with per-unit targets ``T = B_l[:, y]^T`` and ``M`` the least-action selection
    (:func:`select_units`, group size γ_l)::

        W_l += step * a_{l-1}[wrong]^T @ M                    (summed over the batch)
        W_l += step * sign(W_l) ⊙ Bernoulli(q_l)              (metaplastic reinforcement)

    with ``q_l = round(p_l 2^32) / 2^32``, ``p_l = p_r sqrt(1 - acc_prev) sqrt(2 / (pi N_{l-1}))``.
    All layers learn in the same pass; layer ``l+1`` sees the pre-update ``a_l``. Prediction is
    ``argmax s_L``. With ``train_head`` the last head's integer state ``G_L`` (``B_L = sign G_L``)
    also learns on the wrong samples: ``G_L[:, y] += step a_L``, ``G_L[:, c*] -= step a_L`` with
    ``c* = argmax_{c != y} s_L`` (a multiclass perceptron on the pre-update activations).
    """

    config_class = LocalBinaryConfig

    def _fan_in(self) -> tuple[int, ...]:
        return self.config.fan_in

    def _init_params(self, rng: np.random.Generator) -> None:
        cfg, xp = self.config, self.xp
        self.hidden, self.head_state = [], []
        for n_in, k in zip(cfg.fan_in, cfg.layers, strict=True):
            self.hidden.append(xp.asarray(init_hidden(rng, n_in, k, cfg.init_std)))
            self.head_state.append(xp.asarray(init_hidden(rng, k, cfg.n_classes, cfg.init_std)))
        self._margins = [margin_threshold(cfg.rob, k) for k in cfg.layers]
        self._rebuild()

    def _rebuild(self) -> None:
        eng = self.engine
        self.heads = [sign_pm1(g) for g in self.head_state]
        self._wrep = [eng.weights(w) for w in self.hidden]
        self._hrep = [eng.head_weights(g) for g in self.head_state]

    def _array_state(self) -> dict[str, Any]:
        d = {f"hidden_{i}": w for i, w in enumerate(self.hidden)}
        d.update({f"head_{i}": g for i, g in enumerate(self.head_state)})
        return d

    def _set_array_state(self, d: dict[str, Any]) -> None:
        n = len(self.config.layers)
        self.hidden = [d[f"hidden_{i}"].copy() for i in range(n)]
        self.head_state = [d[f"head_{i}"].copy() for i in range(n)]
        self._rebuild()

    def _forward(self, x: Any) -> list[tuple[Any, Any, Any]]:
        """``[(h_l, a_l, s_l)]`` for every layer (engine representations)."""
        eng, out, inp = self.engine, [], x
        for n_in, k, wrep, hrep in zip(
            self.config.fan_in, self.config.layers, self._wrep, self._hrep, strict=True
        ):
            h = eng.preact(inp, wrep, n_in)
            a = eng.activate(h)
            out.append((h, a, eng.preact(a, hrep, k)))
            inp = a
        return out

    def _predict_rep(self, x: Any) -> Any:
        return predict_from_scores(self._forward(x)[-1][2])

    def _step(self, x: Any, y: Any) -> int:
        cfg, eng, xp, tm = self.config, self.engine, self.xp, self.timers
        last = len(cfg.layers) - 1
        inp, correct = x, 0
        for l, (n_in, k) in enumerate(zip(cfg.fan_in, cfg.layers, strict=True)):
            t0 = time.perf_counter()
            h = eng.preact(inp, self._wrep[l], n_in)
            a = eng.activate(h)
            s = eng.preact(a, self._hrep[l], k)
            t0 = tm.add("forward", t0)
            wrong, pred = wrong_mask(s, y, self._margins[l])
            if l == last:
                correct = int((pred == y).sum())
            if bool(wrong.any()):
                yw = y[wrong]
                t = self.heads[l][:, yw].T
                m = select_units(h[wrong], t, cfg.groups[l])
                t0 = tm.add("selection", t0)
                w = self.hidden[l]
                eng.update(w, eng.rows(inp, wrong), m, cfg.step)
                _clip(w, cfg.clip)
                cols = xp.nonzero(m.any(axis=0))[0]
                self._wrep[l] = eng.refresh(self._wrep[l], w, cols)
                tm.add("update", t0)
                self._reinforce(w, l)
                if cfg.train_head and l == last:
                    t0 = time.perf_counter()
                    g = self.head_state[l]
                    eng.update(g, eng.rows(a, wrong), head_error(s[wrong], yw), cfg.step)
                    _clip(g, cfg.clip)
                    self.heads[l] = sign_pm1(g)
                    self._hrep[l] = eng.head_weights(g)
                    tm.add("update", t0)
            else:
                tm.add("selection", t0)
            inp = a
        return correct
