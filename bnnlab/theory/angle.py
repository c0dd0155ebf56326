r"""Exact angle-alignment maximisers: the best binary code for a real weight vector.

For a weight vector :math:`w \in \mathbb{R}^n` the angle-alignment problem is

.. math::

    \max_{b \in \mathcal{B}} \cos(w, b) = \frac{w^\top b}{\lVert w\rVert_2 \lVert b\rVert_2}.

**Sign codes**, :math:`\mathcal{B} = \{-1,+1\}^n`. :math:`\lVert b\rVert_2 = \sqrt n` is constant, so
the maximiser is :math:`b^\star = \operatorname{sign}(w)` with ties :math:`w_i = 0 \mapsto +1`
(:func:`bnnlab.signs.sign`, ``zero="plus"``, the rule of the latent-weight binarizers; a zero entry
contributes nothing to :math:`w^\top b`, so the tie rule does not change the cosine) and

.. math:: \cos(w, b^\star) = \frac{\lVert w\rVert_1}{\sqrt n\,\lVert w\rVert_2}.

**{0,1} codes** (SiMaN), :math:`\mathcal{B} = \{0,1\}^n \setminus \{0\}` aligned with the magnitudes
:math:`v = |w|`. With :math:`k = \lVert b\rVert_1` ones, :math:`\lVert b\rVert_2 = \sqrt k` and
:math:`v^\top b` is largest when the ones mark the :math:`k` largest entries of :math:`v`, giving
:math:`S_k = v_{(1)} + \dots + v_{(k)}` (descending order statistics). Hence

.. math::

    \max_b \cos(v, b) = \max_{1\le k\le n} \frac{S_k}{\sqrt k\,\lVert v\rVert_2},
    \qquad k^\star = \operatorname*{arg\,max}_k \frac{S_k}{\sqrt k},

computed exactly with one sort and one prefix sum, :math:`O(n \log n)` per row. The mapped sign code
:math:`2b - 1` is what SiMaN's forward pass uses; with :math:`k = n/2` it equals
:math:`\operatorname{sign}(v - \operatorname{median}(v))` up to ties.

Conventions
-----------
* **Ties in v** (equal magnitudes straddling the k-th place): the earlier index (lower position along
  the last axis) gets the one. The cosine does not depend on this choice.
* **Ties in the objective** :math:`S_k/\sqrt k`: the *smallest* k whose objective is within a relative
  ``TIE_RTOL`` (1e-12) of the maximum is returned, so exact ties (e.g. ``v = (12, 4, 4, 4)``, where
  k = 1 and k = 4 both give cosine 12/‖v‖) resolve to the sparser code independently of rounding.
* **Fractions** ``k=frac`` in (0, 1] fix :math:`k = \max(1, \lfloor \mathrm{frac}\cdot n\rfloor)`
  (the product rounded to 9 decimals first, so ``0.29 * 100`` gives 29, not 28). For ``k=0.5`` this
  is :math:`\lfloor n/2\rfloor`, exactly the official SiMaN code (``b[argsort_desc[: n // 2]] = 1``,
  equivalently ``B = 1[X > median(X)]`` with the lower median when there are no ties): n/2 ones for
  even n, (n−1)/2 for odd n. Note ``k=1`` (int) means one one, ``k=1.0`` (float) means all n.
* All arithmetic is float64; each row is divided by its largest magnitude first, so huge or tiny
  weights neither overflow nor underflow.

Works on numpy and cupy arrays alike (the namespace is taken from ``w``).

References
----------
Lin, Ji, Xu, Zhang, Wu, Shao, Ji, "SiMaN: Sign-to-Magnitude Network Binarization",
arXiv:2102.07981, IEEE TPAMI 45(5), 2023.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bnnlab._validation import as_array, check_choice, check_finite, check_int
from bnnlab._xp import namespace
from bnnlab.signs import signed

__all__ = [
    "MAX_BRUTE_FORCE_N",
    "TIE_RTOL",
    "Alignment",
    "align",
    "brute_force",
    "cosine",
    "cosine_by_k",
]

#: Relative tolerance under which two objective values (or two cosines) count as tied.
TIE_RTOL = 1e-12
#: Largest n that :func:`brute_force` accepts (2**24 ≈ 1.7e7 codes per row).
MAX_BRUTE_FORCE_N = 24
_CODES = ("pm1", "01")
_CHUNK = 1 << 15
_KEEP_BYTES = 1 << 26


def _scalar_or_array(x: Any, one_d: bool) -> Any:
    """Return ``x[0]`` as a Python scalar for 1-D inputs, else the per-row array."""
    if not one_d:
        return x
    v = x[0]
    return int(v) if np.issubdtype(np.dtype(x.dtype), np.integer) else float(v)


def _row_cosine(a: Any, b: Any) -> Any:
    """Cosine along the last axis of 2-D float arrays (trusted inputs, nonzero rows)."""
    xp = namespace(a, b)
    a = a / xp.max(xp.abs(a), axis=-1, keepdims=True)
    b = b / xp.max(xp.abs(b), axis=-1, keepdims=True)
    num = xp.sum(a * b, axis=-1)
    den = xp.sqrt(xp.sum(a * a, axis=-1)) * xp.sqrt(xp.sum(b * b, axis=-1))
    return xp.clip(num / den, -1.0, 1.0)


@dataclass(frozen=True, eq=False)
class Alignment:
    """Result of :func:`align` or :func:`brute_force`.

    Attributes
    ----------
    code : int8 array, same shape as ``w``
        The optimal code, values in {−1,+1} (``alphabet="pm1"``) or {0,1} (``alphabet="01"``).
    k : int or int64 array
        Number of ones (``"01"``) or of +1 entries (``"pm1"``); one per row for a 2-D ``w``.
    cosine : float or float64 array
        The attained cosine: cos(w, code) for ``"pm1"``, cos(|w|, code) for ``"01"``.
    alphabet : {"pm1", "01"}
        Which code set was searched.
    weights : array
        The weights the code was aligned with (float64), kept for the derived cosines.
    """

    code: Any
    k: Any
    cosine: Any
    alphabet: str
    weights: Any = field(repr=False)

    @property
    def mapped_code(self) -> Any:
        """The ±1 code: ``2 b − 1`` for a {0,1} code (SiMaN's forward weight), else ``code``."""
        if self.alphabet == "pm1":
            return self.code
        return (2 * self.code - 1).astype(self.code.dtype)

    def _cos(self, target: Any) -> Any:
        xp = namespace(target)
        m = self.mapped_code.astype(xp.float64)
        one_d = target.ndim == 1
        t2 = target.reshape(1, -1) if one_d else target
        return _scalar_or_array(_row_cosine(t2, m.reshape(t2.shape)), one_d)

    @property
    def mapped_cosine_abs(self) -> Any:
        """cos(2b − 1, |w|): how well the mapped ±1 code aligns with the magnitudes."""
        xp = namespace(self.weights)
        return self._cos(xp.abs(self.weights))

    @property
    def mapped_cosine(self) -> Any:
        """cos(2b − 1, w): alignment of the mapped ±1 code with the signed weights."""
        return self._cos(self.weights)


def _check_weights(w: Any, name: str = "w") -> tuple[Any, bool]:
    """Validate ``w`` (1-D or 2-D, real, finite, no all-zero row); return (float64 2-D, was_1d)."""
    arr = as_array(w, name, ndim=(1, 2))
    xp = namespace(arr)
    if np.dtype(arr.dtype).kind not in "iuf":
        raise TypeError(f"{name}: expected a real-valued (integer or float) array, got {arr.dtype}")
    check_finite(arr, name)
    one_d = arr.ndim == 1
    w2 = arr.astype(xp.float64).reshape(1, -1) if one_d else arr.astype(xp.float64)
    zero_rows = ~xp.any(w2 != 0, axis=-1)
    if bool(xp.any(zero_rows)):
        where = "" if one_d else f" (rows {[int(i) for i in xp.nonzero(zero_rows)[0][:5]]}...)"
        raise ValueError(f"{name}: an all-zero weight vector has no angle; cosine undefined{where}")
    return w2, one_d


def _resolve_k(k: Any, n: int) -> int | None:
    """Turn ``k`` (None, int count or float fraction) into a count in [1, n] (None stays None)."""
    if k is None:
        return None
    if isinstance(k, bool):
        raise TypeError("k: expected None, an int count or a float fraction, got bool")
    if isinstance(k, int | np.integer):
        return check_int(k, "k", minimum=1, maximum=n)
    if isinstance(k, float | np.floating):
        frac = float(k)
        if not (math.isfinite(frac) and 0.0 < frac <= 1.0):
            raise ValueError(f"k: a fraction must lie in (0, 1], got {frac}")
        return max(1, math.floor(round(frac * n, 9)))
    raise TypeError(f"k: expected None, an int count or a float fraction, got {type(k).__name__}")


def _descending(v: Any) -> tuple[Any, Any]:
    """Stable descending sort of each row: (order, sorted values); ties keep index order."""
    xp = namespace(v)
    order = xp.argsort(-v, axis=-1, kind="stable")
    return order, xp.take_along_axis(v, order, axis=-1)


def _prefix_objective(v: Any) -> tuple[Any, Any, Any]:
    """Rows scaled to max 1: (order, S_k/sqrt(k) for k=1..n, ‖v‖₂) — all per row."""
    xp = namespace(v)
    v = v / xp.max(v, axis=-1, keepdims=True)
    order, vs = _descending(v)
    n = v.shape[-1]
    obj = xp.cumsum(vs, axis=-1) / xp.sqrt(xp.arange(1, n + 1, dtype=xp.float64))
    return order, obj, xp.sqrt(xp.sum(v * v, axis=-1))


def cosine_by_k(w: Any) -> Any:
    r"""Best {0,1}-code cosine for every number of ones: :math:`S_k / (\sqrt k\,\lVert w\rVert_2)`.

    Parameters
    ----------
    w : array, shape (n,) or (m, n)
        Real weights (rows are independent filters); only the magnitudes matter.

    Returns
    -------
    float64 array, shape (n,) or (m, n)
        Entry ``k − 1`` is :math:`\max\{\cos(|w|, b) : b \in \{0,1\}^n, \lVert b\rVert_1 = k\}`.
    """
    w2, one_d = _check_weights(w)
    xp = namespace(w2)
    _, obj, norm = _prefix_objective(xp.abs(w2))
    out = xp.clip(obj / norm[:, None], 0.0, 1.0)
    return out[0] if one_d else out


def align(w: Any, code: str = "pm1", k: Any = None) -> Alignment:
    r"""Exact maximiser of cos(w, b) over sign codes or over {0,1} codes of the magnitudes.

    Parameters
    ----------
    w : array, shape (n,) or (m, n)
        Real, finite weights; a 2-D array is solved row by row (one filter per row), vectorised.
        No row may be all zeros (the angle is undefined).
    code : {"pm1", "01"}
        ``"pm1"``: maximise :math:`\cos(w, b)` over :math:`b \in \{-1,+1\}^n`, giving
        :math:`b = \operatorname{sign}(w)` (0 → +1, ``zero="plus"``). ``"01"``: maximise
        :math:`\cos(|w|, b)` over :math:`b \in \{0,1\}^n \setminus \{0\}`, giving ones at the k
        largest magnitudes.
    k : None, int or float, only for ``code="01"``
        ``None``: the optimal :math:`k^\star = \arg\max_k S_k/\sqrt k` (smallest k among ties). An
        int in [1, n] fixes the number of ones; a float in (0, 1] fixes
        :math:`k = \max(1, \lfloor \mathrm{frac}\cdot n \rfloor)` — ``k=0.5`` reproduces the official
        SiMaN median split (:math:`\lfloor n/2\rfloor` ones).

    Returns
    -------
    Alignment
        ``code`` (int8, same shape as ``w``), ``k`` (int, or int64 per row), ``cosine`` (float, or
        float64 per row) and the derived cosines of the mapped ±1 code.

    Raises
    ------
    ValueError
        ``w`` not 1-D/2-D, empty, non-finite or with an all-zero row; ``code`` unknown; ``k`` out of
        range or given with ``code="pm1"``.
    TypeError
        ``w`` not real-valued; ``k`` of the wrong type.

    Examples
    --------
    >>> import numpy as np
    >>> a = align(np.array([3.0, -1.0, 0.5, -2.0]), code="01")
    >>> a.code.tolist(), a.k
    ([1, 0, 0, 1], 2)
    """
    check_choice(code, "code", _CODES)
    w2, one_d = _check_weights(w)
    xp = namespace(w2)
    m, n = w2.shape
    if code == "pm1":
        if k is not None:
            raise ValueError("k: only used with code='01' (the sign code has no free k)")
        b = signed(w2, "plus")  # int8; w2 is validated finite
        v = xp.abs(w2)
        v = v / xp.max(v, axis=-1, keepdims=True)
        cos = xp.sum(v, axis=-1) / (math.sqrt(n) * xp.sqrt(xp.sum(v * v, axis=-1)))
        kk = xp.sum(b > 0, axis=-1).astype(xp.int64)
    else:
        kfix = _resolve_k(k, n)
        order, obj, norm = _prefix_objective(xp.abs(w2))
        if kfix is None:
            best = xp.max(obj, axis=-1, keepdims=True)
            kk = xp.argmax(obj >= best * (1.0 - TIE_RTOL), axis=-1).astype(xp.int64) + 1
        else:
            kk = xp.full((m,), kfix, dtype=xp.int64)
        cos = xp.take_along_axis(obj, (kk - 1)[:, None], axis=-1)[:, 0] / norm
        rank = xp.empty_like(order)
        rank[xp.arange(m)[:, None], order] = xp.arange(n)[None, :]
        b = (rank < kk[:, None]).astype(xp.int8)
    cos = xp.clip(cos, -1.0, 1.0)
    w_out = w2[0] if one_d else w2
    return Alignment(
        code=b[0] if one_d else b,
        k=_scalar_or_array(kk, one_d),
        cosine=_scalar_or_array(cos, one_d),
        alphabet=code,
        weights=w_out,
    )


def cosine(a: Any, b: Any) -> Any:
    r"""Cosine :math:`a^\top b / (\lVert a\rVert_2 \lVert b\rVert_2)` along the last axis.

    Parameters
    ----------
    a, b : arrays of the same shape, (n,) or (m, n)
        Real, finite, with no all-zero row.

    Returns
    -------
    float, or float64 array of shape (m,)
    """
    a2, one_d = _check_weights(a, "a")
    b2, b_one_d = _check_weights(b, "b")
    if tuple(a2.shape) != tuple(b2.shape) or one_d != b_one_d:
        shape_a = a2.shape[1:] if one_d else a2.shape
        shape_b = b2.shape[1:] if b_one_d else b2.shape
        raise ValueError(f"a and b: shape mismatch, {tuple(shape_a)} vs {tuple(shape_b)}")
    return _scalar_or_array(_row_cosine(a2, b2), one_d)


def brute_force(w: Any, code: str = "pm1") -> Alignment:
    r"""Exhaustive maximiser of the same objective as :func:`align` (the test oracle), n ≤ 24.

    Enumerates all :math:`2^n` codes (the zero code excluded for ``"01"``) in vectorised chunks. Among
    codes whose cosine is within a relative ``TIE_RTOL`` of the maximum it returns, for ``"01"``, the
    one with the fewest ones and, for ``"pm1"``, the one with the most +1 entries (matching the tie
    rules of :func:`align`); remaining ties go to the lowest enumeration index (bit j of the index is
    entry j). ``k`` is the number of ones (+1 entries for ``"pm1"``) of that code.

    Parameters
    ----------
    w : array, shape (n,) or (m, n)
        As for :func:`align`; n ≤ ``MAX_BRUTE_FORCE_N``.
    code : {"pm1", "01"}

    Returns
    -------
    Alignment
    """
    check_choice(code, "code", _CODES)
    w2, one_d = _check_weights(w)
    xp = namespace(w2)
    m, n = w2.shape
    if n > MAX_BRUTE_FORCE_N:
        raise ValueError(
            f"w: brute force enumerates 2**n codes; n = {n} exceeds the limit "
            f"{MAX_BRUTE_FORCE_N} (use align, which is exact in O(n log n))"
        )
    target = xp.abs(w2) if code == "01" else w2
    target = target / xp.max(xp.abs(target), axis=-1, keepdims=True)
    tnorm = xp.sqrt(xp.sum(target * target, axis=-1))
    total = 1 << n
    shifts = xp.arange(n, dtype=xp.int64)

    def chunks():
        for start in range(0, total, _CHUNK):
            idx = xp.arange(start, min(start + _CHUNK, total), dtype=xp.int64)
            bits = ((idx[:, None] >> shifts[None, :]) & 1).astype(xp.float64)
            pc = xp.sum(bits, axis=-1)
            if code == "01":
                with np.errstate(divide="ignore", invalid="ignore"):
                    cos = (bits @ target.T) / (xp.sqrt(pc)[:, None] * tnorm[None, :])
                cos = xp.where((pc > 0)[:, None], cos, -xp.inf)
            else:
                cos = ((2.0 * bits - 1.0) @ target.T) / (math.sqrt(n) * tnorm[None, :])
            yield idx, pc.astype(xp.int64), cos

    # Two passes (maximum, then the tie rule); the first pass's chunks are kept when they fit in
    # _KEEP_BYTES so the second pass does not recompute them.
    keep = total * m * 8 <= _KEEP_BYTES
    kept = []
    best = xp.full((m,), -xp.inf)
    for chunk in chunks():
        best = xp.maximum(best, xp.max(chunk[2], axis=0))
        if keep:
            kept.append(chunk)
    thresh = best - TIE_RTOL * xp.abs(best)
    big = xp.int64((n + 1) << n)
    key = xp.full((m,), big, dtype=xp.int64)
    for idx, pc, cos in kept if keep else chunks():
        rank = pc if code == "01" else n - pc
        cand_key = xp.where(cos >= thresh[None, :], (rank * total + idx)[:, None], big)
        key = xp.minimum(key, xp.min(cand_key, axis=0))
    chosen = key % total
    bits = ((chosen[:, None] >> shifts[None, :]) & 1).astype(xp.int8)
    b = bits if code == "01" else (2 * bits - 1).astype(xp.int8)
    kk = xp.sum(bits, axis=-1).astype(xp.int64)
    cos = _row_cosine(target, b.astype(xp.float64))
    return Alignment(
        code=b[0] if one_d else b,
        k=_scalar_or_array(kk, one_d),
        cosine=_scalar_or_array(cos, one_d),
        alphabet=code,
        weights=w2[0] if one_d else w2,
    )
