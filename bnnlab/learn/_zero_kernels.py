"""Sparse, exact corrections for ``sign(0) = 0`` on bit-packed operands (host and device).

The local-binary learner with ``sign_zero="zero"`` keeps ``sign`` as packed bits with ties +1 and
corrects the few zero entries (zero hidden weights, zero pre-activations) afterwards. With
``a = a_1 - z_a`` and ``t = b_1 - z_w`` (``a_1``, ``b_1`` the ties-+1 signs, ``z`` the indicators
of the zeros)

.. math:: a \\cdot t = a_1 \\cdot b_1 - \\sum_{i:\\, z_a(i)} b_1[i, :]
          - \\sum_{(i, j):\\, W_{ij} = 0} a[:, i]\\, e_j ,

and the outer-product update ``W += step a^T M`` computed on ``a_1`` is corrected by
``W[i, :] -= step M[n, :]`` for every zero input ``(n, i)``. Host arrays go through numba loops
over the zero entries only (integer arithmetic, exact); device (cupy) arrays through gathers and
``cupyx.scatter_add``. Bits follow :mod:`bnnlab.bits`: bit ``k % 64`` of word ``k // 64``,
LSB first, bit 1 = +1.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from bnnlab._xp import namespace

_ONE = np.uint64(1)
_SIX = np.uint64(6)
_MASK = np.uint64(63)


@numba.njit(cache=True, nogil=True)
def _rows_kernel(h, xz, wb):  # pragma: no cover - compiled
    n, k_in = xz.shape
    k_out = h.shape[1]
    for r in range(n):
        for i in range(k_in):
            if xz[r, i]:
                word = np.uint64(i) >> _SIX
                shift = np.uint64(i) & _MASK
                for j in range(k_out):
                    bit = (wb[j, word] >> shift) & _ONE
                    h[r, j] -= 2 * np.int32(bit) - 1


@numba.njit(cache=True, nogil=True)
def _cols_kernel(h, xb, xz, has_z, zi, zj):  # pragma: no cover - compiled
    n = h.shape[0]
    for k in range(zi.shape[0]):
        i = zi[k]
        j = zj[k]
        word = np.uint64(i) >> _SIX
        shift = np.uint64(i) & _MASK
        for r in range(n):
            if has_z and xz[r, i]:
                continue
            bit = (xb[r, word] >> shift) & _ONE
            h[r, j] -= 2 * np.int32(bit) - 1


@numba.njit(cache=True, nogil=True)
def _update_kernel(w, xz, m, step):  # pragma: no cover - compiled
    n, k_in = xz.shape
    k_out = m.shape[1]
    for r in range(n):
        for i in range(k_in):
            if xz[r, i]:
                for j in range(k_out):
                    if m[r, j] != 0:
                        w[i, j] -= step * m[r, j]


@numba.njit(cache=True, nogil=True)
def _zeros_kernel(w):  # pragma: no cover - compiled
    n_in, n_out = w.shape
    count = 0
    for i in range(n_in):
        for j in range(n_out):
            if w[i, j] == 0:
                count += 1
    zi = np.empty(count, dtype=np.int64)
    zj = np.empty(count, dtype=np.int64)
    c = 0
    for i in range(n_in):
        for j in range(n_out):
            if w[i, j] == 0:
                zi[c] = i
                zj[c] = j
                c += 1
    return zi, zj


def _bits_at(words: Any, idx: Any) -> Any:
    """±1 ``int32 (R, len(idx))``: bit ``idx`` of every packed row of ``words (R, n_words)``."""
    xp = namespace(words)
    shift = (idx & 63).astype(xp.uint64)
    b = (words[:, idx >> 6] >> shift) & xp.uint64(1)
    return b.astype(xp.int32) * 2 - 1


def _scatter_sub(target: Any, index: Any, values: Any) -> None:
    """``target[index[k]] -= values[k]`` along axis 0, repeated indices accumulated."""
    if namespace(target) is np:
        np.subtract.at(target, index, values.astype(target.dtype))
        return
    import cupyx  # pragma: no cover - needs a GPU

    cupyx.scatter_add(target, index, -values.astype(target.dtype))  # pragma: no cover


def zero_positions(w: Any) -> tuple[Any, Any]:
    """``(zi, zj)``: the coordinates of ``w == 0`` (``int64``)."""
    if namespace(w) is np:
        return _zeros_kernel(np.ascontiguousarray(w))
    return namespace(w).nonzero(w == 0)


def subtract_zero_rows(h: Any, xz: Any, wb: Any, *, generic: bool = False) -> None:
    """In place ``h[n, :] -= b_1[i, :]`` for every zero input ``xz[n, i]`` (``wb``: packed
    ``b_1^T``, shape ``(K_out, words)``). ``generic`` forces the gather/scatter path that device
    arrays take (tests run it on the host)."""
    if namespace(h) is np and not generic:
        _rows_kernel(h, xz, wb)
        return
    xp = namespace(h)
    rows, units = xp.nonzero(xz)
    if int(rows.shape[0]):
        _scatter_sub(h, rows, _bits_at(wb, units).T)


def subtract_zero_cols(
    h: Any, xb: Any, xz: Any, zi: Any, zj: Any, *, generic: bool = False
) -> None:
    """In place ``h[:, j] -= a[:, i]`` for every zero weight ``(i, j)``, ``a`` the (ternary)
    inputs: packed ``xb`` with zeros ``xz`` (``None``: no zero inputs)."""
    if namespace(h) is np and not generic:
        has_z = xz is not None
        z = xz if has_z else np.zeros((0, 0), dtype=np.bool_)
        _cols_kernel(h, xb, z, has_z, zi, zj)
        return
    a = _bits_at(xb, zi)
    if xz is not None:
        a[xz[:, zi]] = 0
    _scatter_sub(h.T, zj, a.T)


def subtract_zero_update(w: Any, xz: Any, m: Any, step: int, *, generic: bool = False) -> None:
    """In place ``W[i, :] -= step M[n, :]`` for every zero input ``xz[n, i]``."""
    if namespace(w) is np and not generic:
        _update_kernel(w, xz, m, w.dtype.type(step))
        return
    xp = namespace(w)
    rows, units = xp.nonzero(xz)
    if int(rows.shape[0]):
        _scatter_sub(w, units, step * m[rows].astype(w.dtype))
