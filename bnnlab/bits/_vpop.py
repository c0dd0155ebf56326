"""The GEMM's 4 x 2 ``ctpop`` tile on vectors of 8 words, with one transposing reduction.

The tile computes ``popcount(a[i + r] ^ b[j + c])`` summed over the words, for 4 rows of A and
2 of B. Written as scalar code (the GEMM's tile before), LLVM
vectorises its word loop into 8 vector accumulators and then reduces each one across its lanes on
its own (about 7 ops per entry: extract, add, extract, add, shuffle, add, move), and peels the
words that do not fill its unrolled step into a scalar loop. On a Zen 4 (AVX-512 VPOPCNTDQ) that
cost about 85 cycles per tile, so at K = 4096 (64 words, 8 vector steps per row) almost half of
the time went to the ends of the tiles (measured: 4.0 Gpairs/s at K = 1024, 14.5 at K = 16384,
one core, 512 x 512).

This tile is written in LLVM IR (an ``@intrinsic``): 8 accumulators of ``<8 x i64>``, one step
per 8 words (6 vector loads, then per entry XOR, ``llvm.ctpop.v8i64``, add: one ``vpopcntq`` on
``zmm`` per 8 word pairs with AVX-512 VPOPCNTDQ), the last ``W mod 8`` words scalar, and the 8
accumulators reduced together by a transposing tree (3 levels of 2 shuffles and an add: 7 adds
and 14 shuffles for all 8 entries, against about 56 ops one by one). Other targets get the same
IR lowered by LLVM (two ``ymm`` halves, or the nibble-lookup popcount on AVX2), the same sums.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from bnnlab.bits._lut import _words

__all__ = ["LANES", "tile", "tile_dot"]

LANES = 8  # words per vector step
_ROWS, _COLS = 4, 2
_I32 = ir.IntType(32)
_I64 = ir.IntType(64)
_V = ir.VectorType(_I64, LANES)


def _reduce(builder, vectors):
    """``[sum(v) for v in vectors]`` of 8 vectors of 8 lanes as one vector (lane ``e`` the sum of
    ``vectors[e]``): at level ``s`` (1, 2, 4) pairs of vectors are combined, each output lane
    adding the two blocks of ``s`` lanes that hold the same entry."""
    level = list(vectors)
    size = 1
    while len(level) > 1:
        # each vector holds ``size`` entries, lane l the partial sum of entry l mod size over
        # block l // size; output lane q is entry q mod 2 size of the pair (the first vector's
        # where q mod 2 size < size, else the second's): lanes base and base + size of that
        # vector, one entry in two neighbouring blocks, added
        lo, hi = [], []
        for q in range(LANES):
            base = q // (2 * size) * 2 * size + q % size
            src = base if q % (2 * size) < size else base + LANES
            lo.append(src)
            hi.append(src + size)
        lo_mask = ir.Constant(ir.VectorType(_I32, LANES), lo)
        hi_mask = ir.Constant(ir.VectorType(_I32, LANES), hi)
        level = [
            builder.add(
                builder.shuffle_vector(level[p], level[p + 1], lo_mask),
                builder.shuffle_vector(level[p], level[p + 1], hi_mask),
            )
            for p in range(0, len(level), 2)
        ]
        size *= 2
    return level[0]


def _sums(context, builder, signature, args):
    """The 8 entries' popcount sums as ``(vector, tail, rem)``: the vector steps' sums reduced
    into one ``<8 x i64>`` (lane ``e`` = entry ``e``, r-major), the scalar sums of the last
    ``rem = W mod 8`` words per entry (still to be added), and ``rem``."""
    aa = context.make_array(signature.args[0])(context, builder, args[0])
    ba = context.make_array(signature.args[1])(context, builder, args[1])
    ii = context.cast(builder, args[2], signature.args[2], types.int64)
    jj = context.cast(builder, args[3], signature.args[3], types.int64)
    width = builder.extract_value(aa.shape, 1)
    steps = builder.udiv(width, ir.Constant(_I64, LANES))
    done = builder.mul(steps, ir.Constant(_I64, LANES))

    def row(array, first, offset):
        start = builder.mul(builder.add(first, ir.Constant(_I64, offset)), width)
        return builder.gep(array.data, [start])

    a_rows = [row(aa, ii, r) for r in range(_ROWS)]
    b_rows = [row(ba, jj, c) for c in range(_COLS)]

    def accumulate(load, counters, ctpop):
        """counters[r, c] += ctpop(A row r ^ B row c), the operands read by ``load``."""
        bv = [load(p) for p in b_rows]
        for r, p in enumerate(a_rows):
            av = load(p)
            for c in range(_COLS):
                q = counters[r * _COLS + c]
                count = builder.call(ctpop, [builder.xor(av, bv[c])])
                builder.store(builder.add(builder.load(q), count), q)

    entries = _ROWS * _COLS
    acc = [cgutils.alloca_once_value(builder, ir.Constant(_V, [0] * LANES)) for _ in range(entries)]
    ctpop = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(_V, [_V]), "llvm.ctpop.v8i64"
    )
    with cgutils.for_range(builder, steps) as loop:
        at = builder.mul(loop.index, ir.Constant(_I64, LANES))

        def vector(ptr):
            return builder.load(builder.bitcast(builder.gep(ptr, [at]), _V.as_pointer()), align=8)

        accumulate(vector, acc, ctpop)
    tail = [cgutils.alloca_once_value(builder, ir.Constant(_I64, 0)) for _ in range(entries)]
    pop1 = builder.module.declare_intrinsic("llvm.ctpop", [_I64])
    one = ir.Constant(_I64, 1)
    with cgutils.for_range_slice(builder, done, width, one, inc=True) as (t, _):
        accumulate(lambda ptr: builder.load(builder.gep(ptr, [t])), tail, pop1)
    sums = _reduce(builder, [builder.load(q) for q in acc])
    return sums, [builder.load(q) for q in tail], builder.sub(width, done)


@intrinsic
def tile(typingctx, a, b, i, j):
    """``popcount(a[i + r] ^ b[j + c])`` for the 4 x 2 tile, as a tuple of 8 int64 (r-major).

    ``a`` (M, W) and ``b`` (N, W) are C-contiguous uint64 words; rows ``i .. i + 3`` of ``a`` and
    ``j, j + 1`` of ``b`` must exist (not checked).
    """
    if not (_words(a) and _words(b)):
        return None
    if not (isinstance(i, types.Integer) and isinstance(j, types.Integer)):
        return None
    ret = types.UniTuple(types.int64, _ROWS * _COLS)

    def codegen(context, builder, signature, args):
        sums, tail, _ = _sums(context, builder, signature, args)
        out = [
            builder.add(builder.extract_element(sums, ir.Constant(_I32, e)), tail[e])
            for e in range(len(ret))
        ]
        return context.make_tuple(builder, ret, out)

    return ret(a, b, i, j), codegen


@intrinsic
def tile_dot(typingctx, a, b, i, j, k, out):
    """:func:`tile` stored as the ±1 products: ``out[i + r, j + c] = k - 2 popcount(...)``.

    ``out`` is an int32 (M, N) array; in C order the two columns of a row are one 8-byte store,
    so the 8 results leave the vector by one subtraction, one narrowing and 4 stores (extracting
    8 lanes and storing them one by one cost about as much as 2 of the tile's 8 vector steps at
    K = 4096). The scalar tail of ``W mod 8`` words is added only where there is one.
    """
    if not (_words(a) and _words(b)):
        return None
    if not all(isinstance(v, types.Integer) for v in (i, j, k)):
        return None
    if not (isinstance(out, types.Array) and out.dtype == types.int32 and out.ndim == 2):
        return None

    def codegen(context, builder, signature, args):
        sums, tail, rem = _sums(context, builder, signature, args)
        total = cgutils.alloca_once_value(builder, sums)
        with builder.if_then(builder.icmp_unsigned("!=", rem, ir.Constant(_I64, 0))):
            vec = ir.Constant(_V, [0] * LANES)
            for e, v in enumerate(tail):
                vec = builder.insert_element(vec, v, ir.Constant(_I32, e))
            builder.store(builder.add(builder.load(total), vec), total)
        kk = context.cast(builder, args[4], signature.args[4], types.int64)
        kv = builder.shuffle_vector(
            builder.insert_element(ir.Constant(_V, [0] * LANES), kk, ir.Constant(_I32, 0)),
            ir.Constant(_V, [0] * LANES),
            ir.Constant(ir.VectorType(_I32, LANES), [0] * LANES),
        )
        two = ir.Constant(_V, [2] * LANES)
        vals = builder.trunc(
            builder.sub(kv, builder.mul(two, builder.load(total))), ir.VectorType(_I32, LANES)
        )
        oa = context.make_array(signature.args[5])(context, builder, args[5])
        ii = context.cast(builder, args[2], signature.args[2], types.int64)
        jj = context.cast(builder, args[3], signature.args[3], types.int64)
        contiguous = signature.args[5].layout == "C"
        pairs = builder.bitcast(vals, ir.VectorType(_I64, LANES // 2))
        for r in range(_ROWS):
            row = builder.add(ii, ir.Constant(_I64, r))
            if contiguous:  # columns j, j + 1 of the row: one 8-byte store
                at = builder.add(builder.mul(row, builder.extract_value(oa.shape, 1)), jj)
                ptr = builder.bitcast(builder.gep(oa.data, [at]), _I64.as_pointer())
                builder.store(builder.extract_element(pairs, ir.Constant(_I32, r)), ptr, align=4)
                continue
            for c in range(_COLS):
                col = builder.add(jj, ir.Constant(_I64, c))
                ptr = cgutils.get_item_pointer2(
                    context, builder, oa.data, cgutils.unpack_tuple(builder, oa.shape, 2),
                    cgutils.unpack_tuple(builder, oa.strides, 2), signature.args[5].layout,
                    [row, col],
                )  # fmt: skip
                builder.store(builder.extract_element(vals, ir.Constant(_I32, r * 2 + c)), ptr)
        return context.get_dummy_value()

    return types.none(a, b, i, j, k, out), codegen
