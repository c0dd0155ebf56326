"""An 8 x 8 int32 block transpose in vector registers, for the table-lookup tiles' outputs.

The table-lookup tile of :mod:`bnnlab.bits._tmac` holds one output per byte lane of a row vector:
its lanes are 32 rows of A against one column of B, so its sums come out column-major (a column's
32 rows contiguous), while the GEMM and the learner want them row-major (a row's columns
contiguous). Stored row-major straight from the tile, each of a column pair's rows is a separate
8-byte store (and, added into a 32 KiB buffer, a load and an add as well); stored column-major they
are 4 vector stores per row vector and column, and the turn to row-major is done here, 8 x 8 at a
time: 8 vector loads, the three unpack stages of the usual register transpose (32-bit and 64-bit
unpacks within the 128-bit lanes, then a swap of 128-bit halves: 24 shuffles) and 8 vector stores,
instead of 64 scalar loads and stores whose strides miss the cache.

The shuffles are plain LLVM ``shufflevector`` instructions, which LLVM lowers to ``vpunpck*`` and
``vperm2i128`` on AVX2 and to whatever the target has elsewhere, so the same code is portable.
"""

from __future__ import annotations

from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from bnnlab import _numba_cache

_numba_cache.install()  # numba's disk cache, safe for processes compiling at once

__all__ = ["transpose8", "transpose_block"]

_I32 = ir.IntType(32)
_I64 = ir.IntType(64)
_V8 = ir.VectorType(_I32, 8)


def _mask(values):
    return ir.Constant(ir.VectorType(_I32, len(values)), list(values))


# the three stages of the 8 x 8 transpose, as shufflevector masks of two <8 x i32>
_LO32 = _mask([0, 8, 1, 9, 4, 12, 5, 13])  # vpunpckldq
_HI32 = _mask([2, 10, 3, 11, 6, 14, 7, 15])  # vpunpckhdq
_LO64 = _mask([0, 1, 8, 9, 4, 5, 12, 13])  # vpunpcklqdq
_HI64 = _mask([2, 3, 10, 11, 6, 7, 14, 15])  # vpunpckhqdq
_LO128 = _mask([0, 1, 2, 3, 8, 9, 10, 11])  # vperm2i128 0x20
_HI128 = _mask([4, 5, 6, 7, 12, 13, 14, 15])  # vperm2i128 0x31


def _i32_matrix(t) -> bool:
    return isinstance(t, types.Array) and t.dtype == types.int32 and t.ndim == 2 and t.layout == "C"


@intrinsic
def transpose8(typingctx, src, sr, sc, dst, dr, dc):
    """``dst[dr + a, dc + b] = src[sr + b, sc + a]`` for ``a, b < 8``: one 8 x 8 block.

    ``src``, ``dst``: int32, 2-D, C-contiguous; the caller keeps both blocks inside the arrays
    (nothing is checked here)."""
    if not (_i32_matrix(src) and _i32_matrix(dst)):
        return None
    if not all(isinstance(v, types.Integer) for v in (sr, sc, dr, dc)):
        return None
    sig = types.none(src, sr, sc, dst, dr, dc)

    def codegen(context, builder, signature, args):
        sa = context.make_array(signature.args[0])(context, builder, args[0])
        da = context.make_array(signature.args[3])(context, builder, args[3])
        r0, c0, r1, c1 = (
            context.cast(builder, args[q], signature.args[q], types.int64) for q in (1, 2, 4, 5)
        )
        sw = builder.extract_value(sa.shape, 1)
        dw = builder.extract_value(da.shape, 1)

        def at(arr, width, row, col, q):
            flat = builder.add(builder.mul(builder.add(row, ir.Constant(_I64, q)), width), col)
            return builder.bitcast(builder.gep(arr.data, [flat]), _V8.as_pointer())

        rows = [builder.load(at(sa, sw, r0, c0, q), align=4) for q in range(8)]
        t = []
        for q in range(0, 8, 2):
            t.append(builder.shuffle_vector(rows[q], rows[q + 1], _LO32))
            t.append(builder.shuffle_vector(rows[q], rows[q + 1], _HI32))
        # t[2 p] / t[2 p + 1]: rows 2 p, 2 p + 1 interleaved, columns (0, 1, 4, 5) / (2, 3, 6, 7)
        u = []
        for half in (0, 4):
            a0, a1, b0, b1 = t[half], t[half + 1], t[half + 2], t[half + 3]
            u += [
                builder.shuffle_vector(a0, b0, _LO64),  # columns 0 and 4 of 4 rows
                builder.shuffle_vector(a0, b0, _HI64),  # 1 and 5
                builder.shuffle_vector(a1, b1, _LO64),  # 2 and 6
                builder.shuffle_vector(a1, b1, _HI64),  # 3 and 7
            ]
        for c in range(4):
            top, bottom = u[c], u[4 + c]  # rows 0-3 and rows 4-7 of columns c and c + 4
            builder.store(
                builder.shuffle_vector(top, bottom, _LO128), at(da, dw, r1, c1, c), align=4
            )
            builder.store(
                builder.shuffle_vector(top, bottom, _HI128), at(da, dw, r1, c1, c + 4), align=4
            )
        return context.get_dummy_value()

    return sig, codegen


@njit(cache=True, inline="always")
def transpose_block(src, sr, sc, dst, dr, dc, nr, nc):  # pragma: no cover - compiled
    """``dst[dr + a, dc + b] = src[sr + b, sc + a]`` for ``a < nr``, ``b < nc``: whole 8 x 8
    blocks by :func:`transpose8`, the edges element by element."""
    fr, fc = nr - nr % 8, nc - nc % 8
    for a in range(0, fr, 8):
        for b in range(0, fc, 8):
            transpose8(src, sr + b, sc + a, dst, dr + a, dc + b)
    for a in range(nr):
        for b in range(fc if a < fr else 0, nc):
            dst[dr + a, dc + b] = src[sr + b, sc + a]
