"""Primary CPU backend: numba kernels on LLVM ``ctpop``, register-tiled, threaded by problem size.

Implements the protocol of :mod:`bnnlab.bits._dispatch` (inputs trusted).

Design
------
* ``popcount`` is an ``@intrinsic`` emitting LLVM's ``llvm.ctpop.i64``; LLVM lowers it to the
  ``popcnt`` instruction for scalars, and when it vectorises the reduction loops to ``vpopcntq`` on
  AVX-512 VPOPCNTDQ or to the ``vpshufb`` nibble-lookup + ``vpsadbw`` sequence on AVX2 (check with
  ``python -m bnnlab.bits._asm``; documented in docs/performance.md).
* GEMM: a 4 x 2 register tile (4 rows of A, 2 rows of B: 6 loads feed 8 XOR+popcount+add per word)
  with the word loop innermost, on vectors of 8 words with one transposing reduction of the 8
  entries at the end (:mod:`bnnlab.bits._vpop`; LLVM's own vectorisation of the scalar tile
  reduced each entry alone and cost about 85 cycles per tile on Zen 4, 1024 x 1024 x 4096 one
  core 5.5-5.9 -> 4.9 ms), and B split into column blocks of about ``_B_BLOCK_BYTES`` so the
  block stays in L2 while every row tile of A streams over it. On AVX2 targets without VPOPCNTDQ
  the full tiles run the nibble-lookup tile of :mod:`bnnlab.bits._lut` instead (6 vector ops per
  4 word pairs instead of LLVM's 9; about 1.3x faster on Zen 3), chosen per target by
  :func:`_kernel`. Edges (M % 4, N % 2) use smaller
  tiles of the same loop.
* On the same targets, products of at least ``_TMAC_MIN_ROWS`` rows run the table-lookup tile of
  :mod:`bnnlab.bits._tmac` instead (XOR-popcount tables selected by B's nibbles, looked up by
  A's nibbles of 32 rows at once: 1 vector op per word pair; about 1.2x faster than the
  nibble-lookup GEMM on Zen 3): both operands re-laid out per call into per-thread buffers that
  are kept (:func:`_scratch`), row groups of 128 rows over threads, outputs stored from 128 x 64
  blocks.
* The fused sign kernel is the same loop with a different store: the comparison
  ``dot >= threshold`` is written straight into packed output words, so no (M, N) int array exists.
* Threads: the row range is cut into chunks (32 rows, or one 128-row group of the table-lookup
  tile) that the threads claim one after another by an atomic counter (:func:`claim`, a load
  balance for shared machines); the thread count is chosen from
  the work (``M * N * W`` words): below ``_PARALLEL_MIN_WORDS`` the serial kernel runs on the
  calling thread (on a loaded 2-core machine threading a small product only adds overhead), above
  it up to ``numba.get_num_threads()`` threads. The thread count never changes results.
* ``cache=True`` everywhere and one type signature per kernel (int16/int32 for the update), so
  the compile cost (a few seconds) is paid once per machine.
* Ternary corrections (``sign(0) = 0``) are serial loops over the zero entries only: their cost is
  the number of zeros (0.5-5 % of the entries in the local-binary runs) times the other dimension.
"""

from __future__ import annotations

import threading
from typing import Any

import numba
import numpy as np
from numba import njit, prange, types
from numba.extending import intrinsic

from bnnlab import _numba_cache
from bnnlab.bits import _lut, _tmac, _vpop
from bnnlab.bits._numpy import pack_last, unpack_last
from bnnlab.bits._transpose import transpose_block

_numba_cache.install()  # numba's disk cache, safe for processes compiling at once

__all__ = [
    "cycle_counter",
    "is_pm1",
    "outer_update",
    "outer_update_units",
    "pack_last",
    "pack_pm1_last",
    "pack_signs64",
    "pm1_words",
    "popcount",
    "popcount_cols",
    "popcount_rows",
    "prefetch",
    "sign_words",
    "subtract_zero_inputs",
    "subtract_zero_update",
    "subtract_zero_weights",
    "unpack_last",
    "value_range",
    "xnor_gemm",
    "xnor_gemm_sign",
    "zero_positions",
]

ARRAY_MODULE = "numpy"
_PARALLEL_MIN_WORDS = 1 << 21  # ~1 ms of single-core XOR+popcount work
_B_BLOCK_BYTES = 1 << 17  # B column block kept in L2
_CLAIM_ROWS = 32  # rows per chunk a GEMM thread claims (8 tiles: B re-read from L3 per chunk)
_TMAC_MIN_ROWS = 64  # rows from which the table-lookup tile runs by default (2 row vectors)
_ONE = np.uint64(1)
_NO_WORDS_2D = np.zeros((1, 1), dtype=np.uint64)


@intrinsic
def popcount(typingctx, x):
    """Number of one bits of a uint64 (``llvm.ctpop.i64``)."""
    if not isinstance(x, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        value = context.cast(builder, args[0], signature.args[0], types.uint64)
        return builder.ctpop(value)

    return types.uint64(x), codegen


@intrinsic
def claim(typingctx, counter):
    """``counter[0] += 1`` as one atomic add; returns the value before it (an int64 1-D array).

    The threaded GEMM's workers take their next chunk of rows by it, so that a thread slowed by
    another process on its core does fewer chunks instead of holding up the product."""
    if not (isinstance(counter, types.Array) and counter.dtype == types.int64):
        return None

    def codegen(context, builder, signature, args):
        from llvmlite import ir

        arr = context.make_array(signature.args[0])(context, builder, args[0])
        one = ir.Constant(ir.IntType(64), 1)
        return builder.atomic_rmw("add", arr.data, one, "monotonic")

    return types.int64(counter), codegen


@intrinsic
def prefetch(typingctx, a, i, j):
    """Hint the CPU to fetch ``a[i, j]`` (a 2-D array of any layout) into the cache for a write
    (``llvm.prefetch``: no effect on results; the index is not checked)."""
    if not (isinstance(a, types.Array) and a.ndim == 2):
        return None
    if not (isinstance(i, types.Integer) and isinstance(j, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        from llvmlite import ir
        from numba.core import cgutils

        arr = context.make_array(signature.args[0])(context, builder, args[0])
        idx = [context.cast(builder, args[q], signature.args[q], types.intp) for q in (1, 2)]
        ptr = cgutils.get_item_pointer(context, builder, signature.args[0], arr, idx)
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]), "llvm.prefetch"
        )
        # rw = 1 (write), locality = 3 (keep in all levels), cache type = 1 (data)
        builder.call(fn, [builder.bitcast(ptr, i8p), *(ir.Constant(i32, c) for c in (1, 3, 1))])
        return context.get_dummy_value()

    return types.none(a, i, j), codegen


@intrinsic
def cycle_counter(typingctx):
    """The CPU's cycle counter (``llvm.readcyclecounter``: ``rdtsc`` on x86, a constant-rate
    counter there; 0 on targets without one). For splitting a kernel's measured wall time among
    its phases, never as a time by itself."""

    def codegen(context, builder, signature, args):
        from llvmlite import ir
        from numba.core import cgutils

        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.IntType(64), []), "llvm.readcyclecounter"
        )
        return builder.call(fn, [])

    return types.int64(), codegen


def _masks64(
    dtypes: Any, compares: tuple[tuple[str, int], ...], doc: str, packs: bool = False
) -> Any:
    """An intrinsic ``f(row, base)`` returning one uint64 per ``(op, c)`` of ``compares``: bit
    ``b`` is ``row[base + b] op c``, for a C-contiguous 1-D row of one of ``dtypes`` holding at
    least ``base + 64`` entries. Each is one compare of 64 lanes whose ``<64 x i1>`` result is
    bit-cast to an integer: LLVM lowers that to a few packs and ``vpmovmskb`` on AVX2 (a k-mask
    on AVX-512), where the scalar ``word |= (v op c) << b`` loop costs 64 variable shifts.

    With ``packs`` (int32 or int16 rows, compares against 0 that only need the sign and the
    non-zero-ness of each entry) and an AVX2 target without AVX-512 VPOPCNTDQ, the 64 entries
    are narrowed to bytes first by the saturating packs ``vpackssdw`` / ``vpacksswb`` (which keep
    both), the 128-bit lanes' order restored by one permute per 32 bytes, and each compare is
    then 2 byte compares and ``vpmovmskb``: for int32 about 28 ops for both words against about
    90 for LLVM's lowering of two 64-lane int32 compares (its packs of the 16 compare masks and
    the shifts that join 8-lane ``vmovmskps``): 270 units x 12 words 35 -> 24 us on the
    development machine; int16 rows take one pack per 32 entries (:func:`_packed_compares`)."""

    def masks(typingctx, row, base):
        if not (isinstance(row, types.Array) and row.ndim == 1 and row.dtype in dtypes):
            return None
        if row.layout != "C" or not isinstance(base, types.Integer):
            return None

        def codegen(context, builder, signature, args):
            from llvmlite import ir

            dtype = signature.args[0].dtype
            arr = context.make_array(signature.args[0])(context, builder, args[0])
            start = context.cast(builder, args[1], signature.args[1], types.int64)
            if packs and _lut.use_lut():
                out = _packed_compares(builder, arr.data, start, compares, dtype.bitwidth)
            else:
                vec = ir.VectorType(ir.IntType(dtype.bitwidth), 64)
                ptr = builder.bitcast(builder.gep(arr.data, [start]), vec.as_pointer())
                values = builder.load(ptr, align=dtype.bitwidth // 8)
                word = ir.IntType(64)
                out = [
                    builder.bitcast(
                        builder.icmp_signed(op, values, ir.Constant(vec, [c] * 64)), word
                    )
                    for op, c in compares
                ]
            return context.make_tuple(builder, signature.return_type, out)

        return types.UniTuple(types.uint64, len(compares))(row, base), codegen

    masks.__doc__ = doc
    return intrinsic(masks)


def _packed_compares(builder, data, start, compares, width=32):
    """The words of :func:`_masks64` for 64 int32 (``width`` 32) or int16 (16) entries at
    ``data + start`` compared with 0, by the AVX2 saturating packs (a signed saturation keeps
    each entry's sign and whether it is 0). ``vpackssdw`` and ``vpacksswb`` work within 128-bit
    lanes: from int32 the bytes of 32 entries come out as the 4-entry runs 0, 2, 4, 6, 1, 3, 5, 7,
    put back in order by one ``vpermd``; from int16 as the 8-entry runs 0, 2, 1, 3 (one
    ``vpermq``)."""
    from llvmlite import ir
    from numba.core import cgutils

    i16, i32, i64 = ir.IntType(16), ir.IntType(32), ir.IntType(64)
    v8, v16, v32 = ir.VectorType(i32, 8), ir.VectorType(i16, 16), ir.VectorType(ir.IntType(8), 32)
    mod = builder.module
    to16 = cgutils.get_or_insert_function(
        mod, ir.FunctionType(v16, [v8, v8]), "llvm.x86.avx2.packssdw"
    )
    to8 = cgutils.get_or_insert_function(
        mod, ir.FunctionType(v32, [v16, v16]), "llvm.x86.avx2.packsswb"
    )
    per = 256 // width  # entries per 256-bit load
    vec = v8 if width == 32 else v16
    rows = []
    for q in range(64 // per):
        at = builder.gep(data, [builder.add(start, ir.Constant(i64, per * q))])
        rows.append(builder.load(builder.bitcast(at, vec.as_pointer()), align=width // 8))
    zero = ir.Constant(v32, [0] * 32)
    out = [ir.Constant(i64, 0)] * len(compares)
    for half in range(2):
        if width == 32:
            order = ir.Constant(v8, [0, 4, 1, 5, 2, 6, 3, 7])
            lo = builder.call(to16, rows[4 * half : 4 * half + 2])
            hi = builder.call(to16, rows[4 * half + 2 : 4 * half + 4])
            runs = builder.bitcast(builder.call(to8, [lo, hi]), v8)
        else:
            v4 = ir.VectorType(i64, 4)
            order = ir.Constant(ir.VectorType(i32, 4), [0, 2, 1, 3])
            runs = builder.bitcast(builder.call(to8, rows[2 * half : 2 * half + 2]), v4)
        nbytes = builder.bitcast(builder.shuffle_vector(runs, runs, order), v32)
        for e, (op, c) in enumerate(compares):
            if c != 0:
                raise ValueError("packed compares are against 0 only")
            bits = builder.bitcast(builder.icmp_signed(op, nbytes, zero), i32)
            shifted = builder.shl(builder.zext(bits, i64), ir.Constant(i64, 32 * half))
            out[e] = builder.or_(out[e], shifted)
    return out


pack_signs64 = _masks64(
    (types.int32, types.int16),
    ((">=", 0), ("!=", 0)),
    """``(ge, ne)``: bit ``b`` of ``ge`` is ``row[base + b] >= 0``, of ``ne`` is
    ``row[base + b] != 0``, for a C-contiguous 1-D int32 or int16 row holding at least
    ``base + 64`` entries (on AVX2 the saturating packs of :func:`_packed_compares`; see
    :func:`_masks64`).""",
    packs=True,
)
pm1_words = _masks64(
    (types.int8,),
    (("==", 1), ("==", -1)),
    """``(plus, minus)``: bit ``b`` of ``plus`` is ``row[base + b] == 1``, of ``minus`` is
    ``row[base + b] == -1``, for a C-contiguous 1-D int8 row holding at least ``base + 64``
    entries (``vpcmpeqb`` + ``vpmovmskb``, twice per 32 bytes, on AVX2; see :func:`_masks64`).""",
)


@njit(cache=True, inline="always")
def sign_words(row, base):  # pragma: no cover - compiled
    """``(ge, ne)`` of :func:`pack_signs64` for ``row[base:base + 64]`` of an int32 or int16
    row, also when fewer than 64 entries are left (the missing bits are 0): then from the last
    64 entries of the row, shifted down (rows of at least 64 entries), or entry by entry."""
    n = row.shape[0]
    if base + 64 <= n:
        return pack_signs64(row, base)
    if n >= 64:  # the 64 entries that end the row: entry base is bit 64 - (n - base)
        ge, ne = pack_signs64(row, n - 64)
        drop = np.uint64(64 - (n - base))
        return ge >> drop, ne >> drop
    ge = np.uint64(0)
    ne = np.uint64(0)
    for b in range(n - base):
        v = row[base + b]
        ge |= np.uint64(v >= 0) << np.uint64(b)
        ne |= np.uint64(v != 0) << np.uint64(b)
    return ge, ne


@njit(cache=True)
def _pack_pm1(x, out, store):  # pragma: no cover - compiled
    """Whether every entry of the int8 (n, k) ``x`` is ±1; with ``store``, ``out[i]`` (uint64
    (n, ceil(k / 64))) gets row ``i``'s words (+1 -> bit 1, LSB first, padding 0)."""
    n, k = x.shape
    full = k >> 6
    missing = np.uint64(0)  # the entries that are neither +1 nor -1, OR-ed over the array
    for i in range(n):
        row = x[i]
        for w in range(full):
            plus, minus = pm1_words(row, w << 6)
            missing |= ~(plus | minus)
            if store:
                out[i, w] = plus
        if k & 63:
            word = np.uint64(0)
            for b in range(k & 63):
                v = row[(full << 6) + b]
                word |= np.uint64(v == 1) << np.uint64(b)
                missing |= np.uint64(v != 1 and v != -1)
            if store:
                out[i, full] = word
    return missing == 0


def pack_pm1_last(x: np.ndarray, out: np.ndarray) -> bool:
    """``out`` = the ``pack(x, code="pm1")`` words of a C-contiguous int8 (n, k) ``x``, in one pass
    that also checks the values; ``False`` (``out`` then undefined) if an entry is not ±1."""
    return bool(_pack_pm1(x, out, True))


def is_pm1(x: np.ndarray) -> bool:
    """Whether every entry of a C-contiguous int8 (n, k) ``x`` is ±1 (one pass, 64 bytes per
    step)."""
    return bool(_pack_pm1(x, _NO_WORDS_2D, False))


def _clipped(op: str):
    """An intrinsic ``f(v, d, lo, hi) = min(max(v op d, lo), hi)`` computed in ``lo``'s type.

    numba widens small-integer arithmetic to int64, and on AVX2 LLVM then clips 4 int64 lanes per
    instruction with compare-and-blend; kept in the bounds' type it is 16 int16 (or 8 int32) lanes
    per instruction (``vpaddw``/``vpsubw``, ``vpmaxsw``, ``vpminsw``); in scalar code the clip is
    two conditional moves, never a data-dependent branch. ``v`` is sign-extended to that type and
    ``d`` converted to it; the caller guarantees that ``d`` fits and ``v op d`` does not wrap.
    """

    @intrinsic
    def clipped(typingctx, v, d, lo, hi):
        ints = all(isinstance(t, types.Integer) and t.signed for t in (v, d, lo, hi))
        if not ints or lo != hi or v.bitwidth > lo.bitwidth:
            return None

        def codegen(context, builder, signature, args):
            x = context.cast(builder, args[0], signature.args[0], lo)
            dx = context.cast(builder, args[1], signature.args[1], lo)
            low, high = args[2], args[3]
            y = builder.add(x, dx) if op == "+" else builder.sub(x, dx)
            y = builder.select(builder.icmp_signed("<", y, low), low, y)
            return builder.select(builder.icmp_signed(">", y, high), high, y)

        return lo(v, d, lo, hi), codegen

    return clipped


_add_clip = _clipped("+")
_sub_clip = _clipped("-")


@njit(cache=True, inline="always")
def _bit(words, r, t):
    """Bit ``t`` of packed row ``r`` (0 or 1): word ``t // 64``, bit ``t % 64`` from the LSB."""
    return (words[r, t >> 6] >> np.uint64(t & 63)) & _ONE


@njit(cache=True, inline="always")
def _pm1(words, r, t):
    """Element ``t`` of packed ±1 row ``r`` as an int64 (+1 for bit 1, -1 for bit 0)."""
    return 2 * np.int64(_bit(words, r, t)) - 1


@njit(cache=True)
def _dot(a, i, b, j, w):
    s = np.uint64(0)
    for t in range(w):
        s += popcount(a[i, t] ^ b[j, t])
    return s


@njit(cache=True)
def _store(out, bits, th, sign, k, i, j, s):
    d = k - 2 * np.int64(s)
    if sign:  # branch-free: the comparison is data dependent and mispredicts on random data
        bits[i, j >> 6] |= np.uint64(d >= th[j]) << np.uint64(j & 63)
    else:
        out[i, j] = d


@njit(cache=True, inline="always")
def _edge(a, b, k, out, bits, th, sign, r0, r1, c0, c1):
    """The entries (rows [r0, r1) x columns [c0, c1)) outside the full register tiles."""
    w = a.shape[1]
    for i in range(r0, r1):
        for j in range(c0, c1):
            _store(out, bits, th, sign, k, i, j, _dot(a, i, b, j, w))


@njit(cache=True, inline="always")
def _rows(a, b, halves, lut, k, out, bits, th, sign, i0, i1, jb):
    """Rows [i0, i1) of the product against all of b, in column blocks of jb rows of b.

    Full 4 x 2 tiles run :func:`bnnlab.bits._vpop.tile` (``ctpop`` on 8-word vectors) or, with
    ``lut``, the AVX2 nibble-lookup tile
    :func:`bnnlab.bits._lut.tile` on ``halves`` (the :func:`bnnlab.bits._lut.split` of a and b);
    the edges (M % 4 rows, N % 2 columns) the scalar loop on the words of a and b.
    """
    alo, ahi, blo, bhi = halves
    n = b.shape[0]
    i4 = i0 + ((i1 - i0) // 4) * 4
    for j0 in range(0, n, jb):
        j1 = min(n, j0 + jb)
        j2 = j0 + ((j1 - j0) // 2) * 2
        for i in range(i0, i4, 4):
            for j in range(j0, j2, 2):
                if not (lut or sign):  # the products stored from the vector
                    _vpop.tile_dot(a, b, i, j, k, out)
                    continue
                if lut:
                    s = _lut.tile(alo, ahi, blo, bhi, i, j)
                else:
                    s = _vpop.tile(a, b, i, j)
                for q in range(8):
                    _store(out, bits, th, sign, k, i + (q >> 1), j + (q & 1), s[q])
            _edge(a, b, k, out, bits, th, sign, i, i + 4, j2, j1)
        _edge(a, b, k, out, bits, th, sign, i4, i1, j0, j1)


# ``sign`` must be a compile-time constant in the callers of ``_rows``: LLVM inlines ``_rows`` and
# drops the unused store path, which makes the tile loop 2-3x faster than with a runtime flag.
# ``lut`` is a runtime flag: it picks the tile once per 4 x 2 tile, outside the word loop.
@njit(cache=True)
def _dot_serial(a, b, halves, lut, k, out, bits, th, jb):
    _rows(a, b, halves, lut, k, out, bits, th, False, 0, a.shape[0], jb)


@njit(cache=True)
def _sign_serial(a, b, halves, lut, k, out, bits, th, jb):
    _rows(a, b, halves, lut, k, out, bits, th, True, 0, a.shape[0], jb)


# The threaded kernels: one prange iteration per worker, each taking chunks of rows by an atomic
# counter (:func:`claim`) until none is left. numba's static split of a prange gives every thread
# the same share, so one thread slowed by another process on its core held up the whole product
# (1024 x 1024 x 4096 on 2 threads of a Zen 4 beside a process busy half the time on one core:
# median 4.7-5.1 ms split statically, 3.6-4.1 ms claimed in chunks of 32 rows; 2.5 ms either way
# on idle cores).
@njit(cache=True, parallel=True)
def _dot_parallel(a, b, halves, lut, k, out, bits, th, chunk, jb, counter, workers):
    m = a.shape[0]
    for _ in prange(workers):
        c = claim(counter)
        while c * chunk < m:
            _rows(
                a, b, halves, lut, k, out, bits, th, False, c * chunk, min(m, (c + 1) * chunk), jb
            )
            c = claim(counter)


@njit(cache=True, parallel=True)
def _sign_parallel(a, b, halves, lut, k, out, bits, th, chunk, jb, counter, workers):
    m = a.shape[0]
    for _ in prange(workers):
        c = claim(counter)
        while c * chunk < m:
            _rows(a, b, halves, lut, k, out, bits, th, True, c * chunk, min(m, (c + 1) * chunk), jb)
            c = claim(counter)


def _threads(work: int, rows: int) -> int:
    """Threads for ``work`` units spread over ``rows`` independent rows (1 below the threshold)."""
    if work < _PARALLEL_MIN_WORDS:
        return 1
    per_thread = max(1, _PARALLEL_MIN_WORDS // 2)
    return max(1, min(numba.get_num_threads(), work // per_thread, rows))


def _kernel(kernel: str | None, m: int, n: int) -> str:
    """``"tmac"``, ``"lut"`` or ``"ctpop"``: the register tile for an (m, n) product.

    ``None`` picks by target CPU: with AVX2 and without AVX-512 VPOPCNTDQ
    (:func:`bnnlab.bits._lut.use_lut`) the table-lookup tile of :mod:`bnnlab.bits._tmac` when the
    product has at least :data:`_TMAC_MIN_ROWS` rows (its row vectors hold 32 rows, so fewer
    would be mostly padding), else the nibble-lookup tile of :mod:`bnnlab.bits._lut` when it has
    one full 4 x 2 tile; LLVM's ``ctpop`` otherwise. A forced ``"tmac"`` runs on any shape.
    """
    if kernel is None:
        kernel = "lut" if _lut.use_lut() else "ctpop"
        if kernel == "lut" and m >= _TMAC_MIN_ROWS and n >= _tmac.COLS:
            kernel = "tmac"
    if kernel not in ("tmac", "lut", "ctpop"):
        raise ValueError(f"kernel: expected 'tmac', 'lut', 'ctpop' or None, got {kernel!r}")
    if kernel == "tmac":
        return kernel
    return kernel if m >= 4 and n >= 2 else "ctpop"


@njit(cache=True, inline="always")
def _groups(ax, blocks, bn, tabs, k, out, bits, th, sign, m, n, g0, g1):
    """Row groups [g0, g1) (up to 4 row vectors of 32 rows) against all of B by the table-lookup
    tile, in blocks of 64 columns, 8 at a time (:func:`bnnlab.bits._tmac.block_sums`, column-major,
    turned row-major by :func:`bnnlab.bits._transpose.transpose_block`), whose rows are then
    stored as contiguous runs of ``out`` (or, for the sign, one packed word each, by a 64-lane
    compare); the padding rows (>= m) and column (>= n) are not stored."""
    dst = np.empty((_tmac.GROUP * _tmac.BLOCK, 64), dtype=np.int32)
    strip = np.empty((8, _tmac.GROUP * _tmac.BLOCK), dtype=np.int32)  # 8 columns, column-major
    keep = np.empty(64, dtype=np.int32)  # 0 where d >= th, -1 elsewhere
    for g in range(g0, g1):
        i0 = g * _tmac.GROUP * _tmac.BLOCK
        for j0 in range(0, bn.shape[0], 64):
            j1 = min(bn.shape[0], j0 + 64)
            jn = min(j1, n) - j0
            rows = 0
            for j in range(j0, j1, 8):  # the sums 8 columns at a time, turned row-major
                je = min(j1, j + 8)
                rows = _tmac.block_sums(ax, blocks, bn, tabs, g, j, je, strip)
                transpose_block(strip, 0, 0, dst, 0, j - j0, rows * _tmac.BLOCK, je - j)
            ths = th[j0 : j0 + jn]  # slices: no index wraparound, the loops vectorise
            keep[jn:] = -1
            for i in range(i0, min(m, i0 + rows * _tmac.BLOCK)):
                d = dst[i - i0, :jn]
                if sign:
                    for c in range(jn):
                        keep[c] = 0 if k - 2 * np.int64(d[c]) >= ths[c] else -1
                    bits[i, j0 >> 6] = pack_signs64(keep, 0)[0]
                else:
                    o = out[i, j0 : j0 + jn]
                    for c in range(jn):
                        o[c] = k - 2 * d[c]


@njit(cache=True)
def _tmac_dot_serial(ax, blocks, bn, tabs, k, out, bits, th, m, n):
    _groups(ax, blocks, bn, tabs, k, out, bits, th, False, m, n, 0, ax.shape[0])


@njit(cache=True)
def _tmac_sign_serial(ax, blocks, bn, tabs, k, out, bits, th, m, n):
    _groups(ax, blocks, bn, tabs, k, out, bits, th, True, m, n, 0, ax.shape[0])


@njit(cache=True, parallel=True)
def _tmac_dot_parallel(ax, blocks, bn, tabs, k, out, bits, th, m, n, counter, workers):
    groups = ax.shape[0]
    for _ in prange(workers):  # one row group at a time, claimed as in _dot_parallel
        g = claim(counter)
        while g < groups:
            _groups(ax, blocks, bn, tabs, k, out, bits, th, False, m, n, g, g + 1)
            g = claim(counter)


@njit(cache=True, parallel=True)
def _tmac_sign_parallel(ax, blocks, bn, tabs, k, out, bits, th, m, n, counter, workers):
    groups = ax.shape[0]
    for _ in prange(workers):
        g = claim(counter)
        while g < groups:
            _groups(ax, blocks, bn, tabs, k, out, bits, th, True, m, n, g, g + 1)
            g = claim(counter)


_SCRATCH = threading.local()


def _scratch(name: str, size: int) -> np.ndarray:
    """A uint8 buffer of ``size`` bytes, kept per thread and reused by the next call.

    The table-lookup GEMM re-lays out both operands (twice their size) on every call; fresh
    memory of that size costs a page fault per 4 KiB page on first touch (about 0.9 ms per MiB
    on this project's KVM machines, as much as a 1024 x 1024 x 4096 product's whole re-layout),
    so the buffers are kept: the largest operands seen so far, per thread.
    """
    bufs = getattr(_SCRATCH, "bufs", None)
    if bufs is None:
        bufs = _SCRATCH.bufs = {}
    buf = bufs.get(name)
    if buf is None or buf.size < size:
        buf = bufs[name] = np.empty(size, dtype=np.uint8)
    return buf[:size]


def _gemm_tmac(a, b, k, out, bits, th, sign):
    """The product by the table-lookup tile: operands re-laid out (:func:`_tmac.nibble_rows`,
    :func:`_tmac.nibble_cols`), row groups split over threads as in :func:`_gemm`."""
    m, n = a.shape[0], b.shape[0]
    groups, _ = _tmac.row_groups(m)
    w16 = 16 * a.shape[1]
    ax = _scratch("tmac_a", groups * _tmac.GROUP * w16 * _tmac.BLOCK).reshape(groups, -1)
    bn = _scratch("tmac_b", (n + n % _tmac.COLS) * w16).reshape(-1, w16)
    blocks = _tmac.nibble_rows(a, ax)
    _tmac.nibble_cols(b, bn)
    threads = _threads(m * n * a.shape[1], groups)
    if threads == 1:
        (_tmac_sign_serial if sign else _tmac_dot_serial)(
            ax, blocks, bn, _tmac.TABLES, k, out, bits, th, m, n
        )
        return
    kern = _tmac_sign_parallel if sign else _tmac_dot_parallel
    counter = np.zeros(1, dtype=np.int64)
    _run_threads(
        kern, threads, ax, blocks, bn, _tmac.TABLES, k, out, bits, th, m, n, counter, threads
    )


def _gemm(a, b, k, out, bits, th, sign, kernel=None):
    m, w = a.shape
    kernel = _kernel(kernel, m, b.shape[0])
    if kernel == "tmac":
        _gemm_tmac(a, b, k, out, bits, th, sign)
        return
    lut = kernel == "lut"
    words = 2 * ((w + 3) // 4 * 4) if lut else w  # the lookup tile streams both halves of B
    jb = max(2, (_B_BLOCK_BYTES // (8 * words)) // 2 * 2)
    threads = _threads(m * b.shape[0] * w, -(-m // 4))
    halves = (*_lut.split(a), *_lut.split(b)) if lut else _lut.NO_HALVES
    if threads == 1:
        (_sign_serial if sign else _dot_serial)(a, b, halves, lut, k, out, bits, th, jb)
        return
    # chunks of whole 4-row tiles, claimed by the threads as they go (_dot_parallel)
    chunk = min(_CLAIM_ROWS, -(-m // (4 * threads)) * 4)
    kern = _sign_parallel if sign else _dot_parallel
    counter = np.zeros(1, dtype=np.int64)
    _run_threads(kern, threads, a, b, halves, lut, k, out, bits, th, chunk, jb, counter, threads)


_NO_BITS = np.zeros((1, 1), dtype=np.uint64)
_NO_TH = np.zeros(1, dtype=np.int32)
_NO_OUT = np.zeros((1, 1), dtype=np.int32)


def xnor_gemm(a, b, k, out, kernel=None):
    # ``kernel`` (not part of the protocol): force "lut" or "ctpop", for tests and benchmarks
    _gemm(a, b, np.int64(k), out, _NO_BITS, _NO_TH, False, kernel)
    return out


def xnor_gemm_sign(a, b, k, thresholds, out, kernel=None):
    out[...] = 0
    _gemm(a, b, np.int64(k), _NO_OUT, out, thresholds, True, kernel)
    return out


@njit(cache=True, parallel=True)
def _update_dense(h, x, e, step, lo, hi, acc):
    """Every (i, j) for every sample, branch-free: vectorises over j (for dense E)."""
    n_in, n_out = h.shape
    n_chunks = acc.shape[0]
    chunk = (n_in + n_chunks - 1) // n_chunks
    for c in prange(n_chunks):
        row = acc[c]
        for i in range(c * chunk, min(n_in, (c + 1) * chunk)):
            for j in range(n_out):
                row[j] = h[i, j]
            word = i >> 6
            shift = np.uint64(i & 63)
            for s in range(x.shape[0]):
                d = step if (x[s, word] >> shift) & _ONE else -step
                # e == 0 leaves the entry unchanged and it lies inside [lo, hi], so clipping every
                # entry is exact and keeps the loop free of branches
                for j in range(n_out):
                    row[j] = min(max(row[j] + d * e[s, j], lo), hi)
            for j in range(n_out):
                h[i, j] = row[j]


@njit(cache=True)
def _by_sample(e):
    """CSR of the nonzeros of ``e`` (B, n_out), samples in order: ``(ptr, cols, vals)``."""
    b, n = e.shape
    ptr = np.zeros(b + 1, dtype=np.int64)
    for s in range(b):
        c = 0
        for j in range(n):
            c += e[s, j] != 0
        ptr[s + 1] = ptr[s] + c
    cols = np.empty(ptr[b], dtype=np.int64)
    vals = np.empty(ptr[b], dtype=np.int8)
    p = 0
    for s in range(b):
        for j in range(n):
            if e[s, j] != 0:
                cols[p] = j
                vals[p] = e[s, j]
                p += 1
    return ptr, cols, vals


@njit(cache=True, parallel=True)
def _update_sparse(h, x, ptr, cols, vals, step, lo, hi, n_chunks):
    """Only the nonzero entries of E (CSR by sample), for each row i of H, samples in order."""
    n_in = h.shape[0]
    chunk = (n_in + n_chunks - 1) // n_chunks
    for c in prange(n_chunks):
        for i in range(c * chunk, min(n_in, (c + 1) * chunk)):
            word = i >> 6
            shift = np.uint64(i & 63)
            for s in range(x.shape[0]):
                d = step if (x[s, word] >> shift) & _ONE else -step
                for p in range(ptr[s], ptr[s + 1]):
                    j = cols[p]
                    h[i, j] = _add_clip(h[i, j], d * vals[p], lo, hi)


_SPARSE_DENSITY = 0.125  # below this fraction of nonzeros in E the CSR kernel does less work


def _run_threads(kernel, threads, *args):
    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        kernel(*args)
    finally:
        numba.set_num_threads(previous)


def _wide(h):
    # Intermediate sums h + step need one more bit than h: int32 for int16 counters, int64 for int32
    # (one specialisation per counter dtype).
    return np.int32 if h.dtype == np.int16 else np.int64


def outer_update(h, x, e, step, lo, hi):
    n_in, n_out = h.shape
    wide = _wide(h)
    ptr, cols, vals = _by_sample(e)
    if cols.size < _SPARSE_DENSITY * e.size:
        threads = _threads(4 * n_in * cols.size, n_in)
        args = (h, x, ptr, cols, vals, wide(step), wide(lo), wide(hi), threads)
        _run_threads(_update_sparse, threads, *args)
    else:
        threads = _threads(n_in * n_out * x.shape[0] // 8, n_in)
        acc = np.empty((threads, n_out), dtype=wide)
        _run_threads(_update_dense, threads, h, x, e, wide(step), wide(lo), wide(hi), acc)
    return h


@njit(cache=True)
def _by_unit(flat, words, n):
    """The nonzeros of E (``flat``: its (B * n,) int8 buffer) grouped by unit, samples ascending.

    ``words`` is the longest uint64 view of the start of ``flat``: zero words (eight entries) are
    skipped with one test, so the scan costs about one compare per eight entries of a sparse E.
    Returns ``(ptr, samples, signs, used)``: unit ``j`` owns entries ``ptr[j]:ptr[j + 1]``, in
    sample order (a stable counting sort of the row-major nonzeros); ``used[s]`` tells whether
    sample ``s`` has any nonzero.
    """
    b = flat.shape[0] // n
    pos = np.empty(flat.shape[0], dtype=np.int64)  # flat positions of the nonzeros, ascending
    z = 0
    for w in range(words.shape[0]):
        if words[w] != 0:
            for q in range(8 * w, 8 * w + 8):
                pos[z] = q
                z += flat[q] != 0
    for q in range(8 * words.shape[0], flat.shape[0]):
        pos[z] = q
        z += flat[q] != 0
    ptr = np.zeros(n + 1, dtype=np.int64)
    used = np.zeros(b, dtype=np.bool_)
    rows = np.empty(z, dtype=np.int32)
    s = 0
    for p in range(z):  # positions ascend, so the sample index only moves forward (no division)
        while pos[p] >= (s + 1) * n:
            s += 1
        rows[p] = s
        pos[p] -= s * n
        ptr[pos[p] + 1] += 1
        used[s] = True
    for j in range(n):
        ptr[j + 1] += ptr[j]
    fill = ptr[:n].copy()
    samples = np.empty(z, dtype=np.int32)
    signs = np.empty(z, dtype=np.int8)
    for p in range(z):
        j = pos[p]
        q = fill[j]
        samples[q] = rows[p]
        signs[q] = flat[rows[p] * n + j]
        fill[j] = q + 1
    return ptr, samples, signs, used


@njit(cache=True)
def _unpack_steps(x, used, up, down, out):
    """The rows of ``x`` that ``used`` marks, unpacked to ``up`` (bit 1) / ``down`` (bit 0) in ``out``

    (the other rows of ``out`` are left as they are: no unit reads them)."""
    b, nw = x.shape
    n_in = out.shape[1]
    for s in range(b):
        if used[s]:
            for w in range(nw):
                bw = x[s, w]
                for t in range(min(64, n_in - 64 * w)):
                    out[s, 64 * w + t] = up if (bw >> np.uint64(t)) & _ONE else down
    return out


@njit(cache=True, inline="always")
def _unit_rows(ht, xs, ptr, samples, signs, lo, hi, j0, j1):
    """Units [j0, j1): per unit, its samples in order, each one contiguous clipped row add.

    ``xs`` holds ``±step`` in a dtype wide enough for ``h ± step``: the counters' own dtype when
    ``[lo - step, hi + step]`` fits it (then LLVM adds and clips 16 int16 or 8 int32 lanes per
    AVX2 instruction), else the next wider one. The sign of E picks an add or a subtract loop.
    """
    n_in = ht.shape[1]
    for j in range(j0, j1):
        row = ht[j]
        for p in range(ptr[j], ptr[j + 1]):
            xr = xs[samples[p]]
            if signs[p] > 0:
                for i in range(n_in):
                    row[i] = _add_clip(row[i], xr[i], lo, hi)
            else:
                for i in range(n_in):
                    row[i] = _sub_clip(row[i], xr[i], lo, hi)


@njit(cache=True)
def _update_units_serial(ht, xs, ptr, samples, signs, lo, hi):
    _unit_rows(ht, xs, ptr, samples, signs, lo, hi, 0, ht.shape[0])


@njit(cache=True, parallel=True)
def _update_units_parallel(ht, xs, ptr, samples, signs, lo, hi, n_chunks):
    n_out = ht.shape[0]
    chunk = (n_out + n_chunks - 1) // n_chunks
    for c in prange(n_chunks):
        _unit_rows(ht, xs, ptr, samples, signs, lo, hi, c * chunk, min(n_out, (c + 1) * chunk))


def outer_update_units(ht, x, e, step, lo, hi):
    n_out, n_in = ht.shape
    flat = e.reshape(-1)
    words = flat[: flat.size - flat.size % 8].view(np.uint64)
    ptr, samples, signs, used = _by_unit(flat, words, n_out)
    info = np.iinfo(ht.dtype)
    narrow = lo - step >= info.min and hi + step <= info.max
    kind = ht.dtype.type if narrow else _wide(ht)
    xs = _unpack_steps(x, used, kind(step), kind(-step), np.empty((x.shape[0], n_in), dtype=kind))
    bounds = (kind(lo), kind(hi))
    threads = _threads(4 * n_in * samples.size, n_out)
    if threads == 1:
        _update_units_serial(ht, xs, ptr, samples, signs, *bounds)
    else:
        _run_threads(_update_units_parallel, threads, ht, xs, ptr, samples, signs, *bounds, threads)
    return ht


@njit(cache=True)
def _value_range(flat):
    lo = hi = flat[0]
    for i in range(1, flat.shape[0]):
        lo = min(lo, flat[i])
        hi = max(hi, flat[i])
    return lo, hi


def value_range(a):
    # one vectorised pass for min and max (numpy's a.min(), a.max() read the array twice)
    if not (a.flags.c_contiguous or a.flags.f_contiguous):
        return int(a.min()), int(a.max())
    lo, hi = _value_range(a.ravel(order="K"))
    return int(lo), int(hi)


@njit(cache=True)
def _popcount_rows(a, out):
    for r in range(a.shape[0]):
        s = np.uint64(0)
        for t in range(a.shape[1]):
            s += popcount(a[r, t])
        out[r] = s


@njit(cache=True)
def _popcount_cols(a, k, out):
    out[:] = 0
    for r in range(a.shape[0]):
        for t in range(k):
            out[t] += _bit(a, r, t)


def popcount_rows(a, k, out):
    _popcount_rows(a, out)
    return out


def popcount_cols(a, k, out):
    _popcount_cols(a, np.int64(k), out)
    return out


@njit(cache=True)
def _zero_positions(w):
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


@njit(cache=True)
def _subtract_zero_inputs(dot, a_zero, b):
    m, k = a_zero.shape
    n = dot.shape[1]
    for r in range(m):
        for t in range(k):
            if a_zero[r, t]:
                for j in range(n):
                    dot[r, j] -= _pm1(b, j, t)


@njit(cache=True)
def _subtract_zero_weights(dot, a, a_zero, has_zero, zi, zj):
    m = dot.shape[0]
    for p in range(zi.shape[0]):
        t = zi[p]
        j = zj[p]
        for r in range(m):
            if not (has_zero and a_zero[r, t]):
                dot[r, j] -= _pm1(a, r, t)


@njit(cache=True)
def _subtract_zero_update(h, x_zero, e, step):
    batch, n_in = x_zero.shape
    n_out = e.shape[1]
    for s in range(batch):
        for i in range(n_in):
            if x_zero[s, i]:
                for j in range(n_out):
                    if e[s, j] != 0:
                        h[i, j] -= step * e[s, j]


def zero_positions(w):
    return _zero_positions(w)


def subtract_zero_inputs(dot, a_zero, b):
    _subtract_zero_inputs(dot, a_zero, b)
    return dot


_NO_ZEROS = np.zeros((1, 1), dtype=np.bool_)


def subtract_zero_weights(dot, a, k, a_zero, zi, zj):
    has_zero = a_zero is not None
    _subtract_zero_weights(dot, a, a_zero if has_zero else _NO_ZEROS, has_zero, zi, zj)
    return dot


def subtract_zero_update(h, x_zero, e, step):
    # int64 arithmetic, stored back into h's dtype (the caller guarantees the result fits)
    _subtract_zero_update(h, x_zero, e, np.int64(step))
    return h
