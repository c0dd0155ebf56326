r"""Public bit kernels on packed ±1 data: XNOR/popcount GEMM, fused sign, integer update, popcounts,
and the sparse corrections that make the GEMM and the update exact for ternary (sign(0) = 0) operands.

For ±1 vectors packed as bits (1 -> +1, 0 -> -1, layout in :mod:`bnnlab.bits.pack`),

.. math:: \sum_{t<K} a_t b_t = K - 2\,\mathrm{popcount}(a \oplus b)

since each agreeing position (XNOR = 1) contributes +1 and each disagreeing one -1. This is the
XNOR-Net identity (Rastegari et al., ECCV 2016; Courbariaux et al., "Binarized Neural Networks",
NeurIPS 2016). The integer update :func:`outer_update` is the increment/decrement rule of the fully
binary local learner of Colombo, Pittorino & Roveri (arXiv 2412.00119, MLST 2025). When that learner
takes ``sign(0) = 0`` the operands are ternary; they stay packed with ties mapped to +1 and the few
zero entries are corrected afterwards (:func:`zero_positions`, :func:`subtract_zero_inputs`,
:func:`subtract_zero_weights`, :func:`subtract_zero_update`).

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
    "subtract_zero_inputs",
    "subtract_zero_update",
    "subtract_zero_weights",
    "xnor_gemm",
    "xnor_gemm_sign",
    "zero_positions",
]

_I32 = np.iinfo(np.int32)


def _operands(a: Any, b: Any, k: Any) -> tuple[Any, Any, int]:
    a = _checks.packed(a, "a")
    b = _checks.packed(b, "b")
    _checks.same_words(a, b, "a", "b")
    k = _checks.bit_count(k, a, "a")
    _checks.bit_count(k, b, "b")
    if k > _I32.max:
        raise ValueError(f"k: {k} does not fit the int32 dot products (k <= {_I32.max})")
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
        Number of valid bits per row, at most ``2**31 - 1`` (the output is int32).
    out : int32 array (M, N), optional
        Written in place and returned; must be writeable.
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
    if out is None:
        return mod.xnor_gemm(a, b, k, xp.empty(shape, dtype=np.int32))
    out = as_array(out, "out", ndim=2)
    if np.dtype(out.dtype) != np.int32:
        raise TypeError(f"out: expected dtype int32, got {out.dtype}")
    if tuple(out.shape) != shape:
        raise ValueError(f"out: expected shape {shape}, got {tuple(out.shape)}")
    _checks.writeable(out, "out", "xnor_gemm writes the product into it")
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
        Number of valid bits per row, at most ``2**31 - 1`` (the dot products are int32).
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
        Hidden integer weights, updated in place; must lie within [lo, hi]. C order (row-major)
        or Fortran order (unit-major: the counters of one output unit contiguous, so each
        selected unit is updated as one contiguous row, 16 int16 counters per AVX2 instruction;
        on the numba backend about 4x faster than row-major at the local-binary training
        shape, docs/performance.md). Any other layout is worked on in a contiguous copy.
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
    h = _counters(h, "outer_update")
    n_in, n_out = (int(s) for s in h.shape)
    x = _checks.packed(x, "x")
    _checks.bit_count(n_in, x, "x", k_name="h.shape[0]")
    e = _checks.unit_signs(e, "e", (int(x.shape[0]), n_out), "(B, n_out)")
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
    mod = resolve(backend, h, x, e)
    h_min, h_max = mod.value_range(h)
    if h_min < lo or h_max > hi:
        raise ValueError(f"h: values lie outside the saturation bounds [{lo}, {hi}]")
    if not h.flags.c_contiguous and h.flags.f_contiguous:
        # unit-major counters (h.T C-contiguous): each selected unit is one contiguous row
        mod.outer_update_units(h.T, x, e, step, lo, hi)
        return h
    return _checks.in_place(h, lambda work: mod.outer_update(work, x, e, step, lo, hi))


def _counters(h: Any, op: str) -> Any:
    """Check the in-place integer counters ``h`` of an update: 2-D, int16/int32, writeable."""
    h = as_array(h, "h", ndim=2)
    if np.dtype(h.dtype) not in (np.dtype(np.int16), np.dtype(np.int32)):
        raise TypeError(f"h: expected dtype int16 or int32, got {h.dtype}")
    _checks.writeable(h, "h", f"{op} works in place")
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


# -- ternary operands: sparse corrections for sign(0) = 0 ------------------------------------------
#
# A ternary row a in {-1, 0, +1}^k is held as its packed ties-+1 sign a1 (bit 1 where a >= 0) and
# the boolean mask z_a of its zeros: a = a1 - z_a elementwise (a1 = +1 where a = 0). Likewise a
# ternary weight matrix T = sign(W): packed ties-+1 rows b1 and the zero coordinates of W. Then
#
#     a . t = a1 . b1 - sum_{i: z_a(i)} b1(i) - sum_{i: z_w(i)} a(i)
#
# (the second sum over the ternary a: a zero weight meeting a zero input is subtracted once), and
# the packed outer update computed on a1 is made exact by removing step * e for each zero input.


def zero_positions(w: Any, *, backend: str = "auto") -> tuple[Any, Any]:
    r"""Coordinates of the zero entries of an integer matrix, in row-major order.

    .. math:: \{(z_i[p], z_j[p])\}_p = \{(i, j) : W_{ij} = 0\},\qquad
              z_i[p] K_{\mathrm{out}} + z_j[p] \text{ strictly increasing in } p

    These are the zero weights whose ``sign(0) = 0`` :func:`subtract_zero_weights` corrects.

    Parameters
    ----------
    w : integer array (K_in, K_out)
        Hidden integer weights (any integer dtype).
    backend : str
        ``"auto"``, ``"numpy"``, ``"numba"`` or ``"cupy"``.

    Returns
    -------
    zi, zj : int64 arrays (Z,)
        Row and column of every zero, ``Z >= 0``; the same array library as ``w``.
    """
    w = as_array(w, "w", ndim=2)
    if np.dtype(w.dtype).kind not in "iu":
        raise TypeError(f"w: expected an integer array, got dtype {w.dtype}")
    w = _checks.contiguous(w)
    return resolve(backend, w).zero_positions(w)


def _dot_target(dot: Any, shape: tuple[int, int], source: str, k: int, op: str) -> Any:
    """Check the int32 product ``dot`` corrected in place by ``op``: shape (taken from ``source``),
    dtype, writeable, and room for up to ``k`` unit subtractions per entry within int32."""
    dot = as_array(dot, "dot", ndim=2)
    if np.dtype(dot.dtype) != np.int32:
        raise TypeError(f"dot: expected dtype int32 (the output of xnor_gemm), got {dot.dtype}")
    if tuple(dot.shape) != shape:
        raise ValueError(f"dot: expected shape (M, N) = {shape} ({source}), got {tuple(dot.shape)}")
    _checks.writeable(dot, "dot", f"{op} works in place")
    if int(dot.min()) - k < _I32.min or int(dot.max()) + k > _I32.max:
        raise ValueError(
            f"dot: values must lie in [{int(_I32.min) + k}, {int(_I32.max) - k}] so that the "
            f"correction (at most k = {k} per entry) stays within int32"
        )
    return dot


def subtract_zero_inputs(dot: Any, a_zero: Any, b: Any, *, backend: str = "auto") -> Any:
    r"""Remove the zero inputs from a packed ±1 product, in place: ternary ``a`` times ±1 ``b``.

    ``dot`` is :func:`xnor_gemm` of the ties-+1 signs ``a1`` (packed) and ``b1``. For ternary rows
    :math:`a = a_1 - z_a` (:math:`z_a` the indicator of the zeros of ``a``, where :math:`a_1 = +1`):

    .. math:: \mathrm{dot}_{mj} \leftarrow \mathrm{dot}_{mj} - \sum_{t:\, z_a[m, t]} b_1[j, t]
              \quad\Longrightarrow\quad \mathrm{dot}_{mj} = \sum_t a[m, t]\, b_1[j, t]

    i.e. for every zero input :math:`(m, t)` the row :math:`b_1[:, t]` is subtracted from row
    :math:`m` (the sign(0) = 0 rule of the local-binary learner, Colombo et al. 2025). Exact integer
    arithmetic; the cost is proportional to the number of zeros times ``N``.

    Parameters
    ----------
    dot : int32 array (M, N)
        The product to correct, updated in place; must be writeable and leave room for ``k``
        subtractions per entry within int32 (true of any output of :func:`xnor_gemm`).
    a_zero : bool array (M, k)
        True where the input is 0 (its packed bit must be 1, the ties-+1 sign).
    b : uint64 array (N, ceil(k/64))
        Packed ±1 rows of B, the ``b`` given to :func:`xnor_gemm`.
    backend : str
        ``"auto"``, ``"numpy"``, ``"numba"`` or ``"cupy"``.

    Returns
    -------
    dot
    """
    b = _checks.packed(b, "b")
    a_zero = as_array(a_zero, "a_zero", ndim=2)
    k = int(a_zero.shape[1])
    _checks.bit_count(k, b, "b", k_name="a_zero.shape[1]")
    if k > _I32.max:
        raise ValueError(f"a_zero: {k} columns do not fit the int32 dot products")
    shape = (int(a_zero.shape[0]), int(b.shape[0]))
    dot = _dot_target(dot, shape, "rows of a_zero, rows of b", k, "subtract_zero_inputs")
    a_zero = _checks.mask(a_zero, "a_zero", (int(dot.shape[0]), k), "(M, k)")
    mod = resolve(backend, dot, a_zero, b)
    return _checks.in_place(dot, lambda work: mod.subtract_zero_inputs(work, a_zero, b))


def subtract_zero_weights(
    dot: Any,
    a: Any,
    k: int,
    zi: Any,
    zj: Any,
    *,
    a_zero: Any = None,
    backend: str = "auto",
) -> Any:
    r"""Remove the zero weights from a packed product, in place: ``a`` times ternary ``sign(W)``.

    The packed weights hold :math:`b_1 = ` ``sign(W)`` with ties +1; the ternary
    :math:`t = b_1 - z_w` differs at the zeros :math:`(z_i[p], z_j[p])` of ``W``
    (:func:`zero_positions`). For each of them:

    .. math:: \mathrm{dot}[:, z_j[p]] \leftarrow \mathrm{dot}[:, z_j[p]] - a[:, z_i[p]]

    where ``a`` is the (ternary) left operand: the packed ±1 rows ``a`` with the zeros ``a_zero``
    (None: no zero inputs). After :func:`subtract_zero_inputs` with the same ``a_zero`` this gives
    the ternary product :math:`a \cdot t = a_1 \cdot b_1 - \sum_{z_a} b_1 - \sum_{z_w} a`, the
    forward step of the local-binary learner with sign(0) = 0 (Colombo et al. 2025). Exact integer
    arithmetic; the cost is proportional to the number of zero weights times ``M``.

    Parameters
    ----------
    dot : int32 array (M, N)
        The product to correct, updated in place (writeable, room for ``k`` subtractions).
    a : uint64 array (M, ceil(k/64))
        Packed ties-+1 signs of the left operand (the ``a`` given to :func:`xnor_gemm`).
    k : int
        Number of valid bits per row of ``a`` (the rows of ``W``).
    zi, zj : integer arrays (Z,)
        Coordinates of the zeros of ``W (k, N)``, distinct and in row-major order as
        :func:`zero_positions` returns them; ``Z = 0`` leaves ``dot`` unchanged.
    a_zero : bool array (M, k), optional
        True where the left operand is 0; those entries contribute nothing.
    backend : str
        ``"auto"``, ``"numpy"``, ``"numba"`` or ``"cupy"``.

    Returns
    -------
    dot
    """
    a = _checks.packed(a, "a")
    k = _checks.bit_count(k, a, "a")
    if k > _I32.max:
        raise ValueError(f"k: {k} does not fit the int32 dot products (k <= {_I32.max})")
    dot = as_array(dot, "dot", ndim=2)
    n = int(dot.shape[1])
    dot = _dot_target(
        dot, (int(a.shape[0]), n), "rows of a, columns of W", k, "subtract_zero_weights"
    )
    if a_zero is not None:
        a_zero = _checks.mask(a_zero, "a_zero", (int(a.shape[0]), k), "(M, k)")
    zi = _checks.index_array(zi, "zi", k)
    zj = _checks.index_array(zj, "zj", n)
    if zi.shape[0] != zj.shape[0]:
        raise ValueError(f"zi and zj: lengths differ ({zi.shape[0]} vs {zj.shape[0]})")
    mod = resolve(backend, dot, a, a_zero, zi, zj)
    if zi.shape[0] == 0:
        return dot
    flat = zi * n + zj
    if not bool((flat[1:] > flat[:-1]).all()):
        raise ValueError(
            "zi and zj: positions must be distinct and in row-major order (as zero_positions "
            "returns them)"
        )
    return _checks.in_place(dot, lambda work: mod.subtract_zero_weights(work, a, k, a_zero, zi, zj))


def subtract_zero_update(
    h: Any, x_zero: Any, e: Any, *, step: int = 1, backend: str = "auto"
) -> Any:
    r"""Remove the zero inputs from an unsaturated :func:`outer_update`, in place.

    :func:`outer_update` on the packed ties-+1 inputs :math:`x_1` adds :math:`\mathrm{step}\,
    x_1^T E`; for ternary inputs :math:`x = x_1 - z_x` the exact update is
    :math:`\mathrm{step}\, x^T E`, so for every zero input :math:`(b, i)`:

    .. math:: H[i, :] \leftarrow H[i, :] - \mathrm{step}\cdot E[b, :]

    i.e. :math:`H \leftarrow H - \mathrm{step}\, z_x^T E` (plain integer sums, no saturation: the
    correction is exact only where the update it corrects did not saturate, as in the local-binary
    learner of Colombo et al. 2025 whose counters never reach the dtype limits).

    Parameters
    ----------
    h : int16 or int32 array (n_in, n_out)
        Hidden integer weights, updated in place; the corrected values must fit the dtype (checked
        per row against ``step`` times the number of zero inputs of that row).
    x_zero : bool array (B, n_in)
        True where the input was 0.
    e : integer array (B, n_out), values in {-1, 0, +1}
        The signed error of the update (converted to int8).
    step : int >= 1
        Increment size of the update.
    backend : str
        ``"auto"``, ``"numpy"``, ``"numba"`` or ``"cupy"``.

    Returns
    -------
    h
    """
    h = _counters(h, "subtract_zero_update")
    n_in, n_out = (int(s) for s in h.shape)
    x_zero = as_array(x_zero, "x_zero", ndim=2)
    batch = int(x_zero.shape[0])
    x_zero = _checks.mask(x_zero, "x_zero", (batch, n_in), "(B, n_in)")
    e = _checks.unit_signs(e, "e", (batch, n_out), "(B, n_out)")
    info = np.iinfo(h.dtype)
    step = check_int(step, "step", minimum=1, maximum=int(info.max))
    reach = step * x_zero.sum(axis=0, dtype=np.int64)
    if bool(
        (h.min(axis=1).astype(np.int64) - reach < int(info.min)).any()
        or (h.max(axis=1).astype(np.int64) + reach > int(info.max)).any()
    ):
        raise ValueError(
            f"h: the correction (step times the zero inputs of a row) could leave the range of "
            f"{np.dtype(h.dtype).name}"
        )
    mod = resolve(backend, h, x_zero, e)
    return _checks.in_place(h, lambda work: mod.subtract_zero_update(work, x_zero, e, step))
