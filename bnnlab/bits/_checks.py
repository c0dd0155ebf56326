"""Argument checks shared by :mod:`bnnlab.bits.pack` and :mod:`bnnlab.bits.ops`.

Done once at the public boundary; backends trust what passes here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bnnlab._validation import as_array, check_int
from bnnlab._xp import namespace

WORD_BITS = 64


def n_words(k: int) -> int:
    """Number of uint64 words holding ``k`` bits: ``ceil(k / 64)``."""
    k = check_int(k, "k", minimum=1)
    return -(-k // WORD_BITS)


def contiguous(x: Any) -> Any:
    """``x`` itself when C-contiguous, else one explicit C-contiguous copy."""
    if x.flags.c_contiguous:
        return x
    return namespace(x).ascontiguousarray(x)


def packed(a: Any, name: str, *, ndim: int | tuple[int, ...] = 2) -> Any:
    """Check that ``a`` is a uint64 packed array of the given ndim; return it C-contiguous."""
    a = as_array(a, name, ndim=ndim)
    if np.dtype(a.dtype) != np.uint64:
        raise TypeError(f"{name}: expected a packed array of dtype uint64, got {a.dtype}")
    return contiguous(a)


def bit_count(k: Any, a: Any, name: str, k_name: str = "k") -> int:
    """Check that ``k`` bits fit exactly the last axis of packed ``a`` and its padding is zero."""
    w = int(a.shape[-1])
    k = check_int(k, k_name, minimum=1)
    if n_words(k) != w:
        raise ValueError(
            f"{k_name}: {k} bits need {n_words(k)} words of 64 bits, but {name} has {w} words per row "
            f"(expected {64 * (w - 1) + 1} <= k <= {64 * w})"
        )
    tail = k % WORD_BITS
    if tail:
        mask = np.uint64(~((1 << tail) - 1) & 0xFFFFFFFFFFFFFFFF)
        if bool((a[..., -1] & mask).any()):
            raise ValueError(
                f"{name}: padding bits beyond k={k} are set; packed arrays must have zero "
                f"padding (use bnnlab.bits.pack)"
            )
    return k


def same_words(a: Any, b: Any, name_a: str, name_b: str) -> None:
    """Raise ``ValueError`` when two packed arrays disagree in words per row."""
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(
            f"{name_a} and {name_b}: word counts disagree ({a.shape[-1]} vs {b.shape[-1]} words "
            f"per row); both must pack the same k"
        )


def writeable(x: Any, name: str, why: str) -> None:
    """Raise ``ValueError`` when ``x`` is a read-only array (``why``: what writes into it)."""
    if not getattr(x.flags, "writeable", True):  # cupy arrays are always writeable
        raise ValueError(f"{name}: array is read-only; {why}")


def in_place(target: Any, run: Any) -> Any:
    """``run(target)`` when ``target`` is C-contiguous, else ``run`` on one C-contiguous copy that
    is then written back into ``target``; returns ``target`` (backends only take C order)."""
    if target.flags.c_contiguous:
        run(target)
        return target
    work = contiguous(target)
    run(work)
    target[...] = work
    return target


def mask(z: Any, name: str, shape: tuple[int, int], what: str) -> Any:
    """Check a boolean ``(R, C)`` mask of the given ``shape`` (``what`` explains it); C order."""
    z = as_array(z, name, ndim=2)
    if z.dtype != bool:
        raise TypeError(f"{name}: expected a bool array (True at the zero entries), got {z.dtype}")
    if tuple(z.shape) != tuple(shape):
        raise ValueError(f"{name}: expected shape {what} = {tuple(shape)}, got {tuple(z.shape)}")
    return contiguous(z)


def unit_signs(e: Any, name: str, shape: tuple[int, int], what: str) -> Any:
    """Check a signed integer ``(B, n)`` array with values in {-1, 0, +1}; return it int8, C order."""
    e = as_array(e, name, ndim=2)
    if np.dtype(e.dtype).kind != "i":
        raise TypeError(
            f"{name}: expected a signed integer array with values in {{-1, 0, 1}}, got {e.dtype}"
        )
    if tuple(e.shape) != tuple(shape):
        raise ValueError(f"{name}: expected shape {what} = {tuple(shape)}, got {tuple(e.shape)}")
    if int(e.min()) < -1 or int(e.max()) > 1:
        raise ValueError(f"{name}: expected values in {{-1, 0, +1}}")
    return contiguous(e.astype(np.int8, copy=False))


def index_array(x: Any, name: str, bound: int) -> Any:
    """Check a 1-D integer index array (may be empty) with values in ``[0, bound)``; int64, C order."""
    if x is None:
        raise TypeError(f"{name}: expected an array, got None")
    xp = namespace(x)
    arr = x if hasattr(x, "dtype") and hasattr(x, "shape") else xp.asarray(x)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected 1-D array, got shape {tuple(arr.shape)}")
    if arr.size == 0 and np.dtype(arr.dtype).kind == "f":  # np.asarray([]) is float64
        arr = arr.astype(np.int64)
    if np.dtype(arr.dtype).kind not in "iu":
        raise TypeError(f"{name}: expected an integer array, got dtype {arr.dtype}")
    if arr.size and (int(arr.min()) < 0 or int(arr.max()) >= bound):
        raise ValueError(f"{name}: expected indices in [0, {bound}), got values outside")
    return contiguous(arr.astype(np.int64, copy=False))
