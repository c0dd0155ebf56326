r"""Public bit kernels on packed ±1 data: XNOR/popcount GEMM, fused sign, integer update, popcounts.

For ±1 vectors packed as bits (1 -> +1, 0 -> -1, layout in :mod:`bnnlab.bits.pack`),

.. math:: \sum_{t<K} a_t b_t = K - 2\,\mathrm{popcount}(a \oplus b)

since each agreeing position (XNOR = 1) contributes +1 and each disagreeing one -1. This is the
XNOR-Net identity (Rastegari et al., ECCV 2016; Courbariaux et al., "Binarized Neural Networks",
NeurIPS 2016). The integer update :func:`outer_update` is the increment/decrement rule of the fully
binary local learner of Colombo, Pittorino & Roveri (arXiv 2412.00119, MLST 2025).

Every function validates its arguments here, once, then calls the backend chosen by
:func:`bnnlab.bits._dispatch.resolve` (``backend="auto"``, the ``BNNLAB_BACKEND`` environment
variable, or a name). Non-contiguous inputs are copied once, explicitly, to C order.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bnnlab._validation import as_array, check_int
from bnnlab._xp import namespace
from bnnlab.bits import _checks
from bnnlab.bits._dispatch import resolve

__all__ = [
    "fraction_ones",
    "outer_update",
    "popcount_cols",
    "popcount_rows",
    "xnor_gemm",
    "xnor_gemm_sign",
]

_I32 = np.iinfo(np.int32)


def _operands(a: Any, b: Any, k: Any) -> tuple[Any, Any, int]:
    a = _checks.packed(a, "a")
    b = _checks.packed(b, "b")
    _checks.same_words(a, b, "a", "b")
    k = _checks.bit_count(k, a, "a")
    _checks.bit_count(k, b, "b")
    return a, b, k


def xnor_gemm(a: Any, b: Any, k: int, *, out: Any = None, backend: str = "auto") -> Any:
    r"""Integer ±1 matrix product of packed operands: ``out = A @ B.T``.

    .. math:: \mathrm{out}_{ij} = \sum_{t<k} a_{it} b_{jt} = k - 2\,\mathrm{popcount}(a_i \oplus b_j)

    Parameters
    ----------
    a : uint64 array (M, ceil(k/64))
        Packed ±1 rows of A.
    b : uint64 array (N, ceil(k/64))
        Packed ±1 rows of B (B is given row-major by output column, i.e. already "transposed").
    k : int
        Number of valid bits per row.
    out : int32 array (M, N), optional
        Written in place and returned.
    backend : str
        ``"auto"``, ``"numpy"``, ``"numba"`` or ``"cupy"``.

    Returns
    -------
    int32 array (M, N), exact (|out| <= k).
    """
    a, b, k = _operands(a, b, k)
    xp = namespace(a, b, out)
    mod = resolve(backend, a, b, out)
    shape = (a.shape[0], b.shape[0])
    if k > _I32.max:
        raise ValueError(f"k: {k} does not fit the int32 output")
    if out is None:
        return mod.xnor_gemm(a, b, k, xp.empty(shape, dtype=np.int32))
    out = as_array(out, "out", ndim=2)
    if np.dtype(out.dtype) != np.int32:
        raise TypeError(f"out: expected dtype int32, got {out.dtype}")
    if tuple(out.shape) != shape:
        raise ValueError(f"out: expected shape {shape}, got {tuple(out.shape)}")
    if out.flags.c_contiguous:
        return mod.xnor_gemm(a, b, k, out)
    out[...] = mod.xnor_gemm(a, b, k, xp.empty(shape, dtype=np.int32))
    return out


def _thresholds(thresholds: Any, n: int, xp: Any) -> Any:
    if thresholds is None:
        return xp.zeros(n, dtype=np.int32)
    if isinstance(thresholds, int | np.integer) and not isinstance(thresholds, bool):
        t = check_int(thresholds, "thresholds", minimum=int(_I32.min), maximum=int(_I32.max))
        return xp.full(n, t, dtype=np.int32)
    t = as_array(thresholds, "thresholds", ndim=1)
    if np.dtype(t.dtype).kind not in "iu":
        raise TypeError(f"thresholds: expected an integer array, got dtype {t.dtype}")
    if t.shape[0] != n:
        raise ValueError(f"thresholds: expected {n} values (one per row of b), got {t.shape[0]}")
    if int(t.min()) < _I32.min or int(t.max()) > _I32.max:
        raise ValueError("thresholds: values must fit int32")
    return _checks.contiguous(t.astype(np.int32, copy=False))


def xnor_gemm_sign(a: Any, b: Any, k: int, *, thresholds: Any = None, backend: str = "auto") -> Any:
    r"""Thresholded ±1 product, returned packed: the binary layer-to-layer inference step.

    .. math:: y_{ij} = [\,\mathrm{dot}_{ij} \ge \theta_j\,],\qquad
              \mathrm{dot}_{ij} = k - 2\,\mathrm{popcount}(a_i \oplus b_j)

    With the default ``thresholds=None`` (:math:`\theta = 0`) this is the sign activation with ties
    mapped to +1 (``sign(0) = +1``); ties only occur for even ``k``.

    Parameters
    ----------
    a : uint64 (M, ceil(k/64)), b : uint64 (N, ceil(k/64))
        Packed ±1 operands as in :func:`xnor_gemm`.
    k : int
        Number of valid bits per row.
    thresholds : None, int, or integer array (N,)
        Per-output-column integer thresholds :math:`\theta_j` (a scalar applies to all columns).

    Returns
    -------
    uint64 array (M, ceil(N/64))
        Bit j of row i is :math:`y_{ij}` (1 <-> +1), zero padding; feed it to the next layer as ``a``.
    """
    a, b, k = _operands(a, b, k)
    xp = namespace(a, b)
    th = _thresholds(thresholds, b.shape[0], xp)
    mod = resolve(backend, a, b, th)
    out = xp.empty((a.shape[0], _checks.n_words(b.shape[0])), dtype=np.uint64)
    return mod.xnor_gemm_sign(a, b, k, th, out)


def outer_update(
    h: Any,
    x: Any,
    e: Any,
    *,
    step: int = 1,
    lo: int | None = None,
    hi: int | None = None,
    backend: str = "auto",
) -> Any:
    r"""Integer outer-product update ``H += step * X^T E`` with saturating counters, in place.

    For samples :math:`b = 0, \dots, B-1` **in order**, and every :math:`(i, j)` with
    :math:`e_{bj} \ne 0`:

    .. math:: H_{ij} \leftarrow \mathrm{clip}(H_{ij} + \mathrm{step}\cdot x_{bi}\, e_{bj},\ lo,\ hi)

    with :math:`x_{bi} \in \{-1, +1\}`. Each sample changes each counter by at most one increment
    or decrement, so this is per-increment saturation, as a saturating hardware counter would do;
    it differs from clipping the final sum only when a bound is reached mid-batch. Without bounds
    (``lo``/``hi`` None) the dtype limits are the bounds, so the counters never wrap. Bit-level
    reading (Colombo et al. 2025): for an active (b, j), :math:`H_{ij}` is incremented where
    :math:`\mathrm{XNOR}(x_{bi}, t_{bj}) = 1` (t the sign of e) and decremented otherwise.

    Parameters
    ----------
    h : int16 or int32 array (n_in, n_out)
        Hidden integer weights, updated in place; must lie within [lo, hi].
    x : uint64 array (B, ceil(n_in/64))
        Packed ±1 inputs of the batch.
    e : integer array (B, n_out), values in {-1, 0, +1}
        Sparse signed error/target (converted to int8).
    step : int >= 1
        Increment size.
    lo, hi : int, optional
        Saturation bounds, within the dtype range; default the dtype limits.

    Returns
    -------
    h
    """
    h = as_array(h, "h", ndim=2)
    if np.dtype(h.dtype) not in (np.dtype(np.int16), np.dtype(np.int32)):
        raise TypeError(f"h: expected dtype int16 or int32, got {h.dtype}")
    if hasattr(h, "flags") and not getattr(h.flags, "writeable", True):
        raise ValueError("h: array is read-only; outer_update works in place")
    n_in, n_out = (int(s) for s in h.shape)
    x = _checks.packed(x, "x")
    _checks.bit_count(n_in, x, "x", k_name="h.shape[0]")
    e = as_array(e, "e", ndim=2)
    if np.dtype(e.dtype).kind != "i":
        raise TypeError(
            f"e: expected a signed integer array with values in {{-1, 0, 1}}, got {e.dtype}"
        )
    if tuple(e.shape) != (x.shape[0], n_out):
        raise ValueError(
            f"e: expected shape (B, n_out) = {(int(x.shape[0]), n_out)} from x and h, "
            f"got {tuple(e.shape)}"
        )
    if int(e.min()) < -1 or int(e.max()) > 1:
        raise ValueError("e: expected values in {-1, 0, +1}")
    e = _checks.contiguous(e.astype(np.int8, copy=False))
    info = np.iinfo(h.dtype)
    lo = (
        int(info.min)
        if lo is None
        else check_int(lo, "lo", minimum=int(info.min), maximum=int(info.max))
    )
    hi = (
        int(info.max)
        if hi is None
        else check_int(hi, "hi", minimum=int(info.min), maximum=int(info.max))
    )
    if lo > hi:
        raise ValueError(f"lo: expected lo <= hi, got lo={lo}, hi={hi}")
    step = check_int(step, "step", minimum=1, maximum=int(info.max))
    if int(h.min()) < lo or int(h.max()) > hi:
        raise ValueError(f"h: values lie outside the saturation bounds [{lo}, {hi}]")
    mod = resolve(backend, h, x, e)
    if h.flags.c_contiguous:
        return mod.outer_update(h, x, e, step, lo, hi)
    work = _checks.contiguous(h)
    mod.outer_update(work, x, e, step, lo, hi)
    h[...] = work
    return h


def _rows(a: Any, k: Any) -> tuple[Any, int]:
    a = _checks.packed(a, "a", ndim=tuple(range(1, 33)))
    k = _checks.bit_count(k, a, "a")
    return a.reshape(-1, a.shape[-1]), k


def popcount_rows(a: Any, k: int, *, backend: str = "auto") -> Any:
    """Number of one bits (+1 entries) in each packed row: int64 array of shape ``a.shape[:-1]``."""
    flat, k = _rows(a, k)
    xp = namespace(flat)
    mod = resolve(backend, flat)
    out = mod.popcount_rows(flat, k, xp.empty(flat.shape[0], dtype=np.int64))
    return out.reshape(a.shape[:-1])


def popcount_cols(a: Any, k: int, *, backend: str = "auto") -> Any:
    """Number of rows with bit ``t`` set, for each of the ``k`` bit positions: int64 array (k,).

    All leading axes of ``a`` count as rows.
    """
    flat, k = _rows(a, k)
    xp = namespace(flat)
    mod = resolve(backend, flat)
    return mod.popcount_cols(flat, k, xp.empty(k, dtype=np.int64))


def fraction_ones(a: Any, k: int, *, backend: str = "auto") -> float:
    """Fraction of the valid bits of ``a`` that are 1 (+1 entries); padding bits are not counted."""
    flat, k = _rows(a, k)
    total = popcount_rows(flat, k, backend=backend).sum()
    return float(total) / (flat.shape[0] * k)
