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
