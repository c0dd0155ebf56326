"""Reference backend in pure NumPy (``np.bitwise_count``): the oracle of the tests.

Implements the protocol documented in :mod:`bnnlab.bits._dispatch`; inputs are trusted. Work is done
in row blocks so that no temporary grows with ``M * N * W``: the largest temporary holds at most
``_BLOCK_WORDS`` words.
"""

from __future__ import annotations

import numpy as np

ARRAY_MODULE = "numpy"
_BLOCK_WORDS = 1 << 22  # 32 MiB of uint64 per temporary block


def _row_block(n_rows: int, words_per_row: int) -> int:
    return max(1, min(n_rows, _BLOCK_WORDS // max(1, words_per_row)))


def pack_last(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    r, k = x.shape
    w = out.shape[1]
    padded = np.zeros((r, 64 * w), dtype=bool)
    padded[:, :k] = x
    out[...] = np.packbits(padded, axis=1, bitorder="little").view("<u8")
    return out


def unpack_last(words: np.ndarray, k: int, out: np.ndarray) -> np.ndarray:
    as_bytes = words.astype("<u8", copy=False).view(np.uint8)
    out[...] = np.unpackbits(as_bytes, axis=1, count=k, bitorder="little").view(bool)
    return out


def _dot_block(a_blk: np.ndarray, b: np.ndarray, k: int) -> np.ndarray:
    """int32 (rows, N) block of ±1 dot products, via one (rows, N, W) temporary."""
    ones = np.bitwise_count(a_blk[:, None, :] ^ b[None, :, :]).sum(axis=2, dtype=np.int32)
    return np.int32(k) - 2 * ones


def xnor_gemm(a: np.ndarray, b: np.ndarray, k: int, out: np.ndarray) -> np.ndarray:
    m, w = a.shape
    step = _row_block(m, b.shape[0] * w)
    for i in range(0, m, step):
        out[i : i + step] = _dot_block(a[i : i + step], b, k)
    return out


def xnor_gemm_sign(
    a: np.ndarray, b: np.ndarray, k: int, thresholds: np.ndarray, out: np.ndarray
) -> np.ndarray:
    m, w = a.shape
    step = _row_block(m, b.shape[0] * w)
    for i in range(0, m, step):
        bits = _dot_block(a[i : i + step], b, k) >= thresholds[None, :]
        pack_last(bits, out[i : i + step])
    return out


def outer_update(
    h: np.ndarray, x: np.ndarray, e: np.ndarray, step: int, lo: int, hi: int
) -> np.ndarray:
    n_in = h.shape[0]
    xs = np.zeros((x.shape[0], n_in), dtype=bool)
    unpack_last(x, n_in, xs)
    xpm = np.where(xs, np.int32(1), np.int32(-1))
    active = e != 0
    # Saturation cannot trigger when no entry can leave [lo, hi] even if all its increments agree:
    # then the sequential clipped sum equals the plain sum, computed exactly with a float64 BLAS
    # product (every partial sum is an integer of magnitude <= B, exact in float64).
    reach = step * int(active.sum(axis=0).max(initial=0))
    if int(h.min()) - reach >= lo and int(h.max()) + reach <= hi:
        delta = xpm.T.astype(np.float64) @ e.astype(np.float64)
        h[...] = h + step * delta.astype(np.int64)
        return h
    acc = h.astype(np.int64)
    for bi in range(x.shape[0]):
        cols = np.flatnonzero(active[bi])
        if cols.size == 0:
            continue
        inc = step * xpm[bi].astype(np.int64)[:, None] * e[bi, cols].astype(np.int64)[None, :]
        acc[:, cols] = np.clip(acc[:, cols] + inc, lo, hi)
    h[...] = acc
    return h


def outer_update_units(
    ht: np.ndarray, x: np.ndarray, e: np.ndarray, step: int, lo: int, hi: int
) -> np.ndarray:
    # the same arithmetic on the transposed view: h = ht.T is written through in place
    outer_update(ht.T, x, e, step, lo, hi)
    return ht


def popcount_rows(a: np.ndarray, k: int, out: np.ndarray) -> np.ndarray:
    out[...] = np.bitwise_count(a).sum(axis=1, dtype=np.int64)
    return out


def popcount_cols(a: np.ndarray, k: int, out: np.ndarray) -> np.ndarray:
    r = a.shape[0]
    step = _row_block(r, 64 * a.shape[1])
    out[...] = 0
    for i in range(0, r, step):
        blk = a[i : i + step]
        bits = np.empty((blk.shape[0], k), dtype=bool)
        unpack_last(blk, k, bits)
        out += bits.sum(axis=0, dtype=np.int64)
    return out


# -- ternary corrections: dense products of the unpacked operands ----------------------------------
# Written independently of the sparse kernels: unpack to ±1, build the dense zero masks, multiply.
# float64 BLAS products are exact here (0/±1 entries, |partial sums| <= k or B, far below 2**53).


def _pm1(words: np.ndarray, k: int) -> np.ndarray:
    """float64 ±1 ``(R, k)`` of packed rows."""
    bits = np.empty((words.shape[0], k), dtype=bool)
    unpack_last(words, k, bits)
    return np.where(bits, 1.0, -1.0)


def zero_positions(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    zi, zj = np.nonzero(w == 0)  # strided views of one (Z, 2) array
    return np.ascontiguousarray(zi, dtype=np.int64), np.ascontiguousarray(zj, dtype=np.int64)


def subtract_zero_inputs(dot: np.ndarray, a_zero: np.ndarray, b: np.ndarray) -> np.ndarray:
    k = a_zero.shape[1]
    n = b.shape[0]
    z = a_zero.astype(np.float64)
    step = _row_block(n, k)  # the unpacked block of b holds at most _BLOCK_WORDS values
    for j in range(0, n, step):
        dot[:, j : j + step] -= (z @ _pm1(b[j : j + step], k).T).astype(np.int32)
    return dot


def subtract_zero_weights(
    dot: np.ndarray,
    a: np.ndarray,
    k: int,
    a_zero: np.ndarray | None,
    zi: np.ndarray,
    zj: np.ndarray,
) -> np.ndarray:
    ternary = _pm1(a, k)
    if a_zero is not None:
        ternary[a_zero] = 0.0
    w_zero = np.zeros((k, dot.shape[1]))
    w_zero[zi, zj] = 1.0
    dot -= (ternary @ w_zero).astype(np.int32)
    return dot


def subtract_zero_update(h: np.ndarray, x_zero: np.ndarray, e: np.ndarray, step: int) -> np.ndarray:
    delta = x_zero.T.astype(np.float64) @ e.astype(np.float64)
    h[...] = h - step * delta.astype(np.int64)
    return h


def value_range(a: np.ndarray) -> tuple[int, int]:
    return int(a.min()), int(a.max())
