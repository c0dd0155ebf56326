"""Bit-packed ±1 primitives: packing, XNOR/popcount GEMM, fused sign, integer updates, popcounts,
and the sparse corrections for ternary (sign(0) = 0) operands.

Layout: element ``t`` of the last axis is bit ``t % 64`` (LSB first) of uint64 word ``t // 64``;
bit 1 <-> +1, bit 0 <-> -1; padding bits are zero. Every kernel takes ``backend="auto"`` (numba on
the CPU, numpy as the reference, cupy for cupy arrays; see :mod:`bnnlab.bits._dispatch`), overridable
per call and by the ``BNNLAB_BACKEND`` environment variable.

Example
-------
>>> import numpy as np
>>> from bnnlab.bits import pack, xnor_gemm
>>> a = np.array([[1, -1, 1], [1, 1, 1]]); b = np.array([[1, 1, -1]])
>>> xnor_gemm(pack(a), pack(b), 3, backend="numpy")
array([[-1],
       [ 1]], dtype=int32)
"""

from __future__ import annotations

from bnnlab.bits._dispatch import available_backends
from bnnlab.bits.ops import (
    fraction_ones,
    outer_update,
    popcount_cols,
    popcount_rows,
    subtract_zero_inputs,
    subtract_zero_update,
    subtract_zero_weights,
    xnor_gemm,
    xnor_gemm_sign,
    zero_positions,
)
from bnnlab.bits.pack import n_words, pack, unpack

__all__ = [
    "available_backends",
    "fraction_ones",
    "n_words",
    "outer_update",
    "pack",
    "popcount_cols",
    "popcount_rows",
    "subtract_zero_inputs",
    "subtract_zero_update",
    "subtract_zero_weights",
    "unpack",
    "xnor_gemm",
    "xnor_gemm_sign",
    "zero_positions",
]
