r"""Bit entropy of binary weights and the related per-layer measurements.

A binarized weight tensor is a sample of bits. With :math:`p` the fraction of ones (+1 entries) in a
set of :math:`n` bits, its *bit entropy* is the Shannon entropy of the empirical distribution,

.. math:: H(p) = -p\log_2 p - (1-p)\log_2(1-p) \in [0, 1], \qquad H(0) = H(1) = 0,

which reaches its maximum of one bit at :math:`p = 1/2`. SiMaN argues that a binary network should
maximise it (a balanced code carries the most information per weight) and shows that sign codes of
Laplacian latent weights cannot, while the angle-optimal {0,1} code of Laplacian magnitudes has
:math:`p = 1/e` and :math:`H(1/e) \approx 0.949` bits (:mod:`bnnlab.theory`).

How arrays are read (``encoding``)
----------------------------------
``"auto"`` (the default) decides from the dtype, so the same call works on codes and on latent
weights:

* **bool** arrays are {0,1} codes (``True`` is a one);
* **integer** arrays whose values all lie in {0,1} are {0,1} codes; any other integer array (a ±1
  code, or integer latent weights as in Colombo et al.) is binarised by sign;
* **float** arrays are latent weights binarised by sign. A float ±1 code is therefore read correctly
  (its sign is itself). A float array holding *only* 0 and 1 is ambiguous: it is read as latent
  weights (every entry maps to +1) and a ``UserWarning`` suggests ``encoding="01"`` — pass that for
  float {0,1} codes such as the ``B`` buffer of the official SiMaN code.

The **sign rule** here is :math:`\operatorname{sign}(w) = +1` for :math:`w \ge 0` (zero, including
``-0.0``, maps to +1) and −1 otherwise: :func:`bnnlab.signs.sign` with ``zero="plus"``, the rule of
the latent-weight binarizers (:mod:`bnnlab.nn.binarizers`), since a bit has no third value. It is
not the rule of every part of bnnlab: the local-binary learner's integer hidden weights default to
:math:`\operatorname{sign}(0) = 0` (:attr:`bnnlab.learn.LocalBinaryConfig.sign_zero`), so a zero
hidden weight, which that learner's forward treats as 0, is counted here as a one; pass its codes
explicitly (``encoding="pm1"`` or ``"01"``) to measure something else. Explicit encodings:
``"sign"`` (binarise any real array by the rule above), ``"01"`` (values must be 0/1, or bool),
``"pm1"`` (values must be ±1). In every case the "ones" counted are the entries equal to 1 / +1.

Reductions follow numpy: ``axis=None`` reduces over every element and returns a ``float``; an int
or a tuple reduces over those axes and returns an array over the remaining ones (per output channel
of a conv kernel ``(C_out, C_in, kh, kw)``: ``axis=(1, 2, 3)``, or :func:`channel_entropy`). Inputs
may be numpy or cupy arrays; array results live where the input lives.

References
----------
Lin et al., "SiMaN: Sign-to-Magnitude Network Binarization", IEEE TPAMI 45(5), 2023
(arXiv:2102.07981) — bit-entropy argument. Shannon, "A Mathematical Theory of Communication", 1948.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from bnnlab._validation import as_array, check_choice, check_finite, check_same_shape
from bnnlab._xp import namespace
from bnnlab.signs import signed

__all__ = [
    "ENCODINGS",
    "binarize",
    "binary_entropy",
    "bit_entropy",
    "channel_entropy",
    "flip_ratio",
    "fraction_ones",
    "layer_summary",
]

#: Accepted values of the ``encoding`` argument.
ENCODINGS = ("auto", "sign", "01", "pm1")


# --------------------------------------------------------------------------- validation helpers


def _as_weights(x: Any, name: str) -> Any:
    """Validated numeric (bool/int/float), non-empty, finite array."""
    arr = as_array(x, name)
    if np.dtype(arr.dtype).kind not in "biuf":
        raise TypeError(
            f"{name}: expected a numeric (bool, integer or float) array, got {arr.dtype}"
        )
    check_finite(arr, name)
    return arr


def _normalize_axis(axis: Any, ndim: int, name: str = "axis") -> tuple[int, ...] | None:
    """``None`` or a tuple of distinct non-negative axes, with errors naming ``axis``."""
    if axis is None:
        return None
    items = tuple(axis) if isinstance(axis, tuple | list) else (axis,)
    out = []
    for a in items:
        if isinstance(a, bool) or not isinstance(a, int | np.integer):
            raise TypeError(f"{name}: expected None, an int or a tuple of ints, got {axis!r}")
        a = int(a)
        if not -ndim <= a < ndim:
            raise ValueError(f"{name}: axis {a} is out of bounds for an array of dimension {ndim}")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{name}: repeated axis in {axis!r}")
    return tuple(out)


def _resolve(arr: Any, encoding: str, name: str) -> str:
    """The concrete encoding ('sign', '01' or 'pm1') used to read ``arr``."""
    check_choice(encoding, "encoding", ENCODINGS)
    xp = namespace(arr)
    kind = np.dtype(arr.dtype).kind
    if encoding == "auto":
        if kind == "b":
            return "01"
        if kind in "iu":
            return "01" if bool(xp.all((arr == 0) | (arr == 1))) else "sign"
        if bool(xp.all((arr == 0) | (arr == 1))) and bool(xp.any(arr == 0)):
            warnings.warn(
                f"{name}: float array holding only 0 and 1 is read as latent weights (all map to "
                "+1 by sign); pass encoding='01' if it is a {0,1} code",
                UserWarning,
                stacklevel=4,
            )
        return "sign"
    if encoding == "sign" and kind == "b":
        raise TypeError(f"{name}: a boolean array is a {{0,1}} code; use encoding='01' or 'auto'")
    if encoding == "01" and kind != "b" and not bool(xp.all((arr == 0) | (arr == 1))):
        raise ValueError(f"{name}: encoding='01' requires values in {{0, 1}}")
    if encoding == "pm1" and not (kind != "b" and bool(xp.all((arr == -1) | (arr == 1)))):
        raise ValueError(f"{name}: encoding='pm1' requires values in {{-1, +1}}")
    return encoding


def _ones(x: Any, name: str, encoding: str) -> Any:
    """Boolean mask of the ones (+1 entries) of ``x`` read with ``encoding``."""
    arr = _as_weights(x, name)
    enc = _resolve(arr, encoding, name)
    if enc == "sign":
        return signed(arr, "plus") > 0
    return arr == 1 if arr.dtype.kind != "b" else arr


def _finish(x: Any) -> Any:
    """0-d results become Python floats; others stay arrays of the input's library."""
    return float(x) if x.ndim == 0 else x


def _entropy_from_counts(ones: Any, n: int) -> Any:
    """H(ones/n) in bits, symmetric to the last bit under ones -> n - ones."""
    xp = namespace(ones)
    p = ones / n
    q = (n - ones) / n
    return xp.clip(_h(p, xp) + _h(q, xp), 0.0, 1.0)


def _h(p: Any, xp: Any) -> Any:
    """-p log2 p with 0 log 0 = 0 (elementwise)."""
    safe = xp.where(p > 0, p, 1.0)
    return 0.0 - p * xp.log2(safe)  # 0.0 - 0.0 is +0.0, never -0.0


# --------------------------------------------------------------------------- public API


def binary_entropy(p: Any) -> Any:
    r"""Binary entropy function :math:`H(p) = -p\log_2 p - (1-p)\log_2(1-p)` in bits.

    Parameters
    ----------
    p : float or array
        Probabilities in [0, 1]; vectorised elementwise.

    Returns
    -------
    float (scalar input) or float64 array, with :math:`H(0) = H(1) = 0`, :math:`H(1/2) = 1`.
    """
    arr = _as_weights(p, "p")
    if arr.dtype.kind == "b":
        raise TypeError("p: expected probabilities (integer or float), got a boolean array")
    xp = namespace(arr)
    arr = arr.astype(xp.float64)
    if bool(xp.any((arr < 0) | (arr > 1))):
        raise ValueError("p: probabilities must lie in [0, 1]")
    return _finish(xp.clip(_h(arr, xp) + _h(1.0 - arr, xp), 0.0, 1.0))


def binarize(weights: Any, *, encoding: str = "auto") -> Any:
    """The ±1 code (int8) that :func:`bit_entropy` sees in ``weights`` (see the module notes)."""
    ones = _ones(weights, "weights", encoding)
    xp = namespace(ones)
    return xp.where(ones, 1, -1).astype(xp.int8)


def fraction_ones(weights: Any, axis: Any = None, *, encoding: str = "auto") -> Any:
    """Fraction of ones (+1 entries) of the binarised ``weights`` over ``axis``.

    Parameters
    ----------
    weights : array
        A {0,1} / bool / ±1 code or real latent weights (binarised by sign, 0 → +1).
    axis : None, int or tuple of ints
        Axes reduced over; ``None`` means all.
    encoding : {"auto", "sign", "01", "pm1"}
        How ``weights`` is read (module notes).

    Returns
    -------
    float (``axis=None``) or float64 array over the remaining axes.
    """
    ones = _ones(weights, "weights", encoding)
    ax = _normalize_axis(axis, ones.ndim)
    xp = namespace(ones)
    return _finish(xp.mean(ones, axis=ax, dtype=xp.float64))


def bit_entropy(weights: Any, axis: Any = None, *, encoding: str = "auto") -> Any:
    r"""Shannon entropy in bits of the empirical distribution of the binary values.

    With :math:`c` ones among the :math:`n` entries reduced over,
    :math:`H = -\tfrac{c}{n}\log_2\tfrac{c}{n} - \tfrac{n-c}{n}\log_2\tfrac{n-c}{n}`, which is
    :func:`binary_entropy` of :func:`fraction_ones` (and exactly symmetric under negating the code).

    Parameters
    ----------
    weights : array
        A {0,1} / bool / ±1 code or real latent weights (binarised by sign, 0 → +1); numpy or cupy.
    axis : None, int or tuple of ints
        Axes reduced over; ``None`` means all. Per output channel of a conv kernel
        ``(C_out, C_in, kh, kw)``: ``axis=(1, 2, 3)``.
    encoding : {"auto", "sign", "01", "pm1"}
        How ``weights`` is read (module notes).

    Returns
    -------
    float in [0, 1] (``axis=None``, or every axis reduced) or float64 array over the remaining axes.

    Raises
    ------
    ValueError
        Empty array, NaN/inf, invalid ``axis`` or values not matching an explicit ``encoding``.
    TypeError
        Non-numeric array, or a non-integer ``axis``.

    Examples
    --------
    >>> import numpy as np
    >>> bit_entropy(np.array([1, -1, 1, -1]))
    1.0
    >>> bit_entropy(np.array([[0.3, -0.2], [0.1, 0.4]]), axis=1).tolist()
    [1.0, 0.0]
    """
    ones = _ones(weights, "weights", encoding)
    ax = _normalize_axis(axis, ones.ndim)
    xp = namespace(ones)
    n = ones.size if ax is None else math.prod(ones.shape[a] for a in ax)
    c = xp.sum(ones, axis=ax, dtype=xp.int64)
    return _finish(_entropy_from_counts(c, n))


def channel_entropy(weights: Any, channel_axis: int = 0, *, encoding: str = "auto") -> Any:
    r"""Bit entropy of each channel: :func:`bit_entropy` over every axis but ``channel_axis``.

    For channel :math:`j` with :math:`c_j` ones among its :math:`n_j` bits,
    :math:`H_j = H(c_j/n_j)` (:func:`binary_entropy`).

    Parameters
    ----------
    weights : array, at least 1-D
        A {0,1} / bool / ±1 code or real latent weights (binarised by sign, 0 → +1); numpy or cupy.
    channel_axis : int
        The channel axis (0 for ``(C_out, ...)`` kernels); negative values count from the end.
    encoding : {"auto", "sign", "01", "pm1"}
        How ``weights`` is read (module notes).

    Returns
    -------
    float64 array of length ``weights.shape[channel_axis]`` (for a 1-D input each "channel" is a
    single bit, so every entry is 0).

    Raises
    ------
    ValueError
        A 0-d ``weights`` (it has no channel axis), or any error of :func:`bit_entropy`.
    """
    arr = _as_weights(weights, "weights")
    if arr.ndim == 0:
        raise ValueError("weights: a 0-d array has no channel axis; expected at least 1-D")
    (ch,) = _normalize_axis(channel_axis, arr.ndim, "channel_axis")
    rest = tuple(a for a in range(arr.ndim) if a != ch)
    out = bit_entropy(arr, axis=rest, encoding=encoding)
    return namespace(arr).asarray(out).reshape(arr.shape[ch])


def flip_ratio(before: Any, after: Any, axis: Any = None, *, encoding: str = "auto") -> Any:
    r"""Fraction of bits whose binarised value differs between two snapshots of the same weights.

    :math:`\frac1n \sum_i 1[b_i^{\text{before}} \ne b_i^{\text{after}}]` over ``axis``, with each
    snapshot binarised as in :func:`bit_entropy` (read independently with ``encoding``).

    Parameters
    ----------
    before, after : arrays of the same shape
        Two snapshots (codes or latent weights).
    axis : None, int or tuple of ints
        Axes reduced over; ``None`` means all.
    encoding : {"auto", "sign", "01", "pm1"}

    Returns
    -------
    float in [0, 1] (``axis=None``) or float64 array over the remaining axes.
    """
    return _flip_ratio(before, after, axis, encoding, "before", "after")


def _flip_ratio(before: Any, after: Any, axis: Any, encoding: str, name_a: str, name_b: str) -> Any:
    a = _ones(before, name_a, encoding)
    b = _ones(after, name_b, encoding)
    namespace(a, b)  # refuses numpy/cupy mixtures
    check_same_shape(a, b, name_a, name_b)
    ax = _normalize_axis(axis, a.ndim)
    xp = namespace(a)
    return _finish(xp.mean(a != b, axis=ax, dtype=xp.float64))


def layer_summary(
    layers: Mapping[str, Any],
    previous: Mapping[str, Any] | None = None,
    *,
    channel_axis: int = 0,
    encoding: str = "auto",
) -> list[dict[str, Any]]:
    """One tidy record per layer: size, fraction of ones, bit entropy, per-channel entropy, flips.

    Parameters
    ----------
    layers : mapping name -> array
        Weights (codes or latent) of each layer, e.g. ``{"conv1": w1, "fc": w2}``.
    previous : mapping name -> array, optional
        An earlier snapshot; when given every row has a ``flip_ratio`` (NaN for a layer absent from
        ``previous``).
    channel_axis : int
        Output-channel axis for the per-channel statistics (0 for ``(C_out, ...)`` kernels and for
        ``(out, in)`` dense matrices stored output-first).
    encoding : {"auto", "sign", "01", "pm1"}
        How every array is read (module notes).

    Returns
    -------
    list of dict
        Keys ``name, shape, n, n_channels, fraction_ones, bit_entropy, channel_entropy_mean,
        channel_entropy_min, channel_entropy_max`` (+ ``flip_ratio``); all values are Python
        scalars (``shape`` a list), ready for :class:`bnnlab.experiments.records.RunRecorder`.
        Per-channel entries are NaN for 0-D/1-D arrays (a channel of one bit has no entropy).

    Raises
    ------
    TypeError
        ``layers``/``previous`` not mappings, or a non-string layer name.
    ValueError
        Any invalid array (the message names ``layers['name']``), or a shape mismatch with
        ``previous``.
    """
    if not isinstance(layers, Mapping):
        raise TypeError(f"layers: expected a mapping name -> array, got {type(layers).__name__}")
    if previous is not None and not isinstance(previous, Mapping):
        raise TypeError(
            f"previous: expected a mapping name -> array or None, got {type(previous).__name__}"
        )
    check_choice(encoding, "encoding", ENCODINGS)
    rows: list[dict[str, Any]] = []
    for name, w in layers.items():
        if not isinstance(name, str):
            raise TypeError(f"layers: layer names must be str, got {name!r}")
        label = f"layers[{name!r}]"
        ones = _ones(w, label, encoding)
        xp = namespace(ones)
        n = int(ones.size)
        c = int(xp.sum(ones, dtype=xp.int64))
        row: dict[str, Any] = {
            "name": name,
            "shape": [int(s) for s in ones.shape],
            "n": n,
            "n_channels": 1,
            "fraction_ones": c / n,
            "bit_entropy": float(_entropy_from_counts(xp.asarray(c), n)),
        }
        if ones.ndim >= 1:
            (ch,) = _normalize_axis(channel_axis, ones.ndim, "channel_axis")
            row["n_channels"] = int(ones.shape[ch])
        if ones.ndim >= 2:
            per = channel_entropy(ones, channel_axis, encoding="01")
            row["channel_entropy_mean"] = float(xp.mean(per))
            row["channel_entropy_min"] = float(xp.min(per))
            row["channel_entropy_max"] = float(xp.max(per))
        else:
            for stat in ("mean", "min", "max"):
                row[f"channel_entropy_{stat}"] = math.nan
        if previous is not None:
            row["flip_ratio"] = (
                _flip_ratio(previous[name], w, None, encoding, f"previous[{name!r}]", label)
                if name in previous
                else math.nan
            )
        rows.append(row)
    return rows
