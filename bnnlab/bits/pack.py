"""Packing binary arrays into uint64 words and back.

Bit layout (the contract every kernel and backend relies on): along the packed axis, element ``t``
goes to word ``t // 64``, bit ``t % 64`` counted from the least significant bit. Bit 1 encodes
+1 (or 1, or True), bit 0 encodes -1 (or 0, or False). The last word is padded with **zero** bits,
and no kernel lets them reach a result: every public kernel checks that they are zero.

Packing ``K`` values gives ``ceil(K / 64)`` words, a 64x (int64/float64) or 8x (int8/bool) saving.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bnnlab._validation import as_array, check_choice, check_finite, check_int
from bnnlab._xp import namespace
from bnnlab.bits import _checks
from bnnlab.bits._checks import n_words
from bnnlab.bits._dispatch import resolve

__all__ = ["all_pm1", "n_words", "pack", "unpack"]

PACK_CODES = ("auto", "pm1", "01")
UNPACK_CODES = ("pm1", "01", "bool")


def _axis(axis: Any, ndim: int, name: str = "axis") -> int:
    axis = check_int(axis, name, minimum=-ndim, maximum=ndim - 1)
    return axis % ndim


def _binary_bits(x: Any, code: str) -> Any:
    """Boolean array of the bits of ``x`` after checking its values against ``code``."""
    if x.dtype == bool:
        return x
    kind = np.dtype(x.dtype).kind
    if kind not in "iuf":
        raise TypeError(f"x: expected a bool, integer or float array, got dtype {x.dtype}")
    check_finite(x, "x")
    one = x == 1
    pm1 = bool((one | (x == -1)).all()) if code in ("auto", "pm1") else False
    zo = bool((one | (x == 0)).all()) if code in ("auto", "01") and not pm1 else False
    if not (pm1 or zo):
        want = {"auto": "values in {-1, +1} or in {0, 1}", "pm1": "values in {-1, +1}"}.get(
            code, "values in {0, 1}"
        )
        raise ValueError(f"x: expected {want} (code={code!r}), got other values")
    return one


def _pm1_rows(x: Any, ax: int) -> bool:
    """Whether ``x`` is a non-empty C-contiguous numpy int8 array packed along its last axis."""
    return (
        isinstance(x, np.ndarray)
        and x.dtype == np.int8
        and ax == x.ndim - 1
        and x.size > 0
        and x.flags.c_contiguous
    )


def all_pm1(x: Any, backend: str = "auto") -> bool:
    """Whether every entry of ``x`` is +1 or -1 (``x`` already an array: numpy or cupy).

    C-contiguous numpy int8 (the learners' data) is checked in one compiled pass where the
    backend has one (numba: :func:`bnnlab.bits._numba.is_pm1`), anything else by
    ``((x == 1) | (x == -1)).all()``.
    """
    check = getattr(resolve(backend, x), "is_pm1", None)
    if check is not None and _pm1_rows(x, x.ndim - 1):
        return check(x.reshape(-1, x.shape[-1]))
    return bool(((x == 1) | (x == -1)).all())


def pack(x: Any, axis: int = -1, *, code: str = "auto", backend: str = "auto") -> Any:
    """Pack a binary array into uint64 words along ``axis``.

    Parameters
    ----------
    x : array_like, ndim >= 1
        Bool (True -> bit 1), or integer/float with values in {-1, +1} (``code="pm1"``: +1 -> 1,
        -1 -> 0) or in {0, 1} (``code="01"``: 1 -> 1, 0 -> 0). With ``code="auto"`` either set is
        accepted, but not a mixture: an array holding both -1 and 0 is refused.
    axis : int
        Axis to pack; its length ``K`` becomes ``ceil(K / 64)`` words at the same position.
    code : {"auto", "pm1", "01"}
        Which value set numeric input must come from (ignored for bool input).
    backend : str
        ``"auto"``, ``"numpy"``, ``"numba"`` or ``"cupy"`` (see :mod:`bnnlab.bits._dispatch`).

    Returns
    -------
    uint64 array, same array library as ``x``
        Element ``t`` of the axis is bit ``t % 64`` (LSB first) of word ``t // 64``; padding bits 0.

    Raises
    ------
    ValueError
        NaN/inf, values outside the accepted set, or a bad ``axis``/``code``.
    """
    x = as_array(x, "x")
    if x.ndim < 1:
        raise ValueError("x: expected an array with at least 1 dimension, got a scalar")
    check_choice(code, "code", PACK_CODES)
    ax = _axis(axis, x.ndim)
    mod = resolve(backend, x)
    xp = namespace(x)
    fast = getattr(mod, "pack_pm1_last", None)
    if fast is not None and code != "01" and _pm1_rows(x, ax):
        # ±1 int8 rows (the learners' data): checked and packed in one compiled pass
        out = np.empty((*x.shape[:-1], n_words(x.shape[-1])), dtype=np.uint64)
        if fast(x.reshape(-1, x.shape[-1]), out.reshape(-1, out.shape[-1])):
            return out
    bits = xp.moveaxis(_binary_bits(x, code), ax, -1)
    lead, k = bits.shape[:-1], bits.shape[-1]
    flat = _checks.contiguous(bits.reshape(-1, k))
    out = xp.empty((flat.shape[0], n_words(k)), dtype=np.uint64)
    mod.pack_last(flat, out)
    return xp.moveaxis(out.reshape(*lead, out.shape[-1]), -1, ax)


def unpack(
    words: Any,
    k: int,
    axis: int = -1,
    code: str = "pm1",
    dtype: Any = np.int8,
    *,
    backend: str = "auto",
) -> Any:
    """Inverse of :func:`pack`: ``k`` values along ``axis`` from uint64 words.

    Parameters
    ----------
    words : uint64 array, ndim >= 1
        Packed data with ``ceil(k / 64)`` words along ``axis`` and zero padding bits.
    k : int
        Number of values packed along ``axis`` (``64 * (W - 1) < k <= 64 * W``).
    axis : int
        The packed axis.
    code : {"pm1", "01", "bool"}
        Output values: bit 1/0 -> +1/-1, 1/0, or True/False.
    dtype : numpy dtype
        Output dtype for ``"pm1"`` (signed integer or float) and ``"01"`` (integer or float);
        ignored for ``"bool"``, which returns bool.

    Returns
    -------
    array with the packed axis replaced by ``k`` values.
    """
    words = _checks.packed(words, "words", ndim=tuple(range(1, 33)))
    check_choice(code, "code", UNPACK_CODES)
    ax = _axis(axis, words.ndim)
    xp = namespace(words)
    moved = _checks.contiguous(xp.moveaxis(words, ax, -1))
    k = _checks.bit_count(k, moved, "words")
    if code != "bool":
        dt = np.dtype(dtype)
        ok = dt.kind in ("if" if code == "pm1" else "iuf")
        if not ok:
            want = "a signed integer or float" if code == "pm1" else "an integer or float"
            raise TypeError(f"dtype: code={code!r} needs {want} dtype, got {dt}")
    mod = resolve(backend, words)
    lead = moved.shape[:-1]
    flat = moved.reshape(-1, moved.shape[-1])
    bits = xp.empty((flat.shape[0], k), dtype=bool)
    mod.unpack_last(flat, k, bits)
    if code == "pm1":
        values = xp.where(bits, dt.type(1), dt.type(-1)).astype(dt, copy=False)
    elif code == "01":
        values = bits.astype(dt)
    else:
        values = bits
    return xp.moveaxis(values.reshape(*lead, k), -1, ax)
