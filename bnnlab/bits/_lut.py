"""AVX2 nibble-lookup register tile for the numba GEMM: 6 vector ops per 4 word pairs instead of 9.

LLVM lowers ``ctpop`` on 4 x 64-bit lanes without AVX-512 VPOPCNTDQ to a nibble lookup, per
vector of 4 words of ``x = a ^ b``: ``vpand``, ``vpsrlw``, ``vpand`` (split the nibbles), two
``vpshufb`` (look up their popcounts), ``vpaddb``, ``vpsadbw`` (sum the bytes of each 64-bit lane)
and ``vpaddq`` into the accumulator: with the XOR, **9 vector ops per 4 word pairs** (Muła, Kurz &
Lemire, "Faster Population Counts Using AVX2 Instructions", Comput. J. 61(1), 2018). This tile
removes three of them:

* **Nibbles split once per operand, not once per pair.** ``popcount(a ^ b)`` is
  ``lut[(a ^ b) & 0x0F] + lut[((a ^ b) >> 4) & 0x0F]`` per byte, and ``(a ^ b) & 0x0F`` is
  ``(a & 0x0F) ^ (b & 0x0F)``: :func:`split` stores the low and the high nibbles of every row of A
  and B in two arrays (``O((M + N) W)`` work, twice the operand memory), so a pair costs two XORs of
  pre-split vectors and no masking or shifting.
* **Byte counters, summed rarely.** Each byte of a lookup is at most 4, so a byte of the sum of
  the two lookups is at most 8, and a byte accumulator takes 31 vector steps before it could
  overflow (31 x 8 = 248 < 256). The ``vpsadbw`` that widens the bytes into 64-bit lane sums runs
  once per 31 steps instead of once per step.

Per vector of 4 word pairs: ``vpxor`` x 2, ``vpshufb`` x 2, ``vpaddb`` x 2 = **6 ops**, 2 of them
on the shuffle pipes. In the 4 x 2 tile (4 rows of A, 2 rows of B, 8 byte accumulators) that is 48
vector ALU ops and 12 loads per 32 word pairs: about 12 cycles on Zen 3's four vector pipes
(shuffles, 16 on two pipes, take 8), so the ceiling is **8/3 ≈ 2.7 word pairs ≈ 170 binary MACs
per cycle and core**, against 1.8 word pairs for LLVM's ``ctpop`` lowering (``docs/performance.md``).

The tile is an ``@intrinsic`` written in LLVM IR (``llvm.x86.avx2.pshuf.b``,
``llvm.x86.avx2.psad.bw``), compiled by numba for the CPU it targets; :func:`target_isa` asks LLVM
itself whether that target has AVX2 and AVX-512 VPOPCNTDQ, and the GEMM uses this tile only with
AVX2 and without VPOPCNTDQ (where ``vpopcntq`` does one op per 4 words, LLVM's ``ctpop`` wins).

numba's on-disk cache keys a compiled function on its own source file only: the GEMM entries that
inline this tile live in :mod:`bnnlab.bits._numba`, so after editing this file clear that
module's ``__pycache__`` (or set ``NUMBA_CACHE_DIR``) before measuring or testing. An installed
release rewrites both files, which invalidates the cache.
"""

from __future__ import annotations

import functools
import re

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from bnnlab import _numba_cache

_numba_cache.install()  # numba's disk cache, safe for processes compiling at once

__all__ = [
    "COLS",
    "FORWARD_NIBBLES",
    "FORWARD_ROWS",
    "FORWARD_WORDS",
    "NO_HALVES",
    "ROWS",
    "TILE_UNITS",
    "TILE_UNITS_BOTH",
    "TILE_UNITS_WORDS",
    "UNIT_MODES",
    "forward_kernel",
    "pad_rows",
    "pad_units",
    "split",
    "split_rows",
    "split_units",
    "target_isa",
    "tile",
    "units_tiles",
    "use_lut",
    "word_tiles",
]

ROWS, COLS = 4, 2  # the register tile: rows of A x rows of B
NO_HALVES = (np.zeros((4, 4), dtype=np.uint64),) * 4  # the halves argument when no tile runs
_CHUNK = 31  # vector steps a byte accumulator takes before it could overflow (31 * 8 < 256)
_NIBBLES = np.uint64(0x0F0F0F0F0F0F0F0F)
_FOUR = np.uint64(4)

_I8X32 = ir.VectorType(ir.IntType(8), 32)
_I64X4 = ir.VectorType(ir.IntType(64), 4)
_I64 = ir.IntType(64)
_I32 = ir.IntType(32)
_LUT = ir.Constant(_I8X32, [bin(v).count("1") for v in range(16)] * 2)  # per 128-bit lane
# 4 - 2 popcount, mod 256: with _LUT on the live mask, a byte of one step is in [0, 16]
_LUT_BIASED = ir.Constant(_I8X32, [(4 - 2 * bin(v).count("1")) % 256 for v in range(16)] * 2)
_CHUNK_BIASED = 15  # steps of biased byte counters (15 * 16 = 240 < 256)


@functools.cache
def target_isa() -> dict[str, bool]:
    """Whether the CPU numba compiles for has AVX2 and AVX-512 VPOPCNTDQ, as LLVM answers it.

    The target is numba's: ``NUMBA_CPU_NAME`` / ``NUMBA_CPU_FEATURES`` when set, else the host. A
    probe module is compiled for it (never run): 8 x int32 adds must become one ``vpaddd`` on
    ``ymm`` registers (AVX2), and ``ctpop`` of 8 x int64 one ``vpopcntq`` (AVX-512 VPOPCNTDQ).
    """
    import llvmlite.binding as ll
    from numba.core import config

    cpu = config.CPU_NAME or ll.get_host_cpu_name()
    features = config.CPU_FEATURES
    if features is None:
        features = ll.get_host_cpu_features().flatten() if not config.CPU_NAME else ""
    mod = ir.Module(name="bnnlab_isa_probe")
    mod.triple = ll.get_process_triple()
    i32x8, i64x8 = ir.VectorType(_I32, 8), ir.VectorType(_I64, 8)
    add = ir.Function(mod, ir.FunctionType(i32x8, [i32x8, i32x8]), name="probe_add")
    builder = ir.IRBuilder(add.append_basic_block())
    builder.ret(builder.add(*add.args))
    pop = ir.Function(mod, ir.FunctionType(i64x8, [i64x8]), name="probe_pop")
    ctpop = ir.Function(mod, ir.FunctionType(i64x8, [i64x8]), name="llvm.ctpop.v8i64")
    builder = ir.IRBuilder(pop.append_basic_block())
    builder.ret(builder.call(ctpop, list(pop.args)))
    target = ll.Target.from_triple(mod.triple)
    machine = target.create_target_machine(cpu=cpu, features=features, opt=2)
    parsed = ll.parse_assembly(str(mod))
    parsed.verify()
    asm = machine.emit_assembly(parsed)
    return {
        "avx2": re.search(r"vpaddd\s+%ymm", asm) is not None,
        "avx512vpopcntdq": "vpopcntq" in asm,
    }


def use_lut() -> bool:
    """True when the GEMM should run this tile: the target has AVX2 but not VPOPCNTDQ."""
    isa = target_isa()
    return isa["avx2"] and not isa["avx512vpopcntdq"]


@njit(cache=True)
def _halves(a, rows, cols):  # pragma: no cover - compiled
    """The low and high nibbles of each byte of ``a``, in zero arrays of shape (rows, cols)."""
    lo = np.zeros((rows, cols), dtype=np.uint64)
    hi = np.zeros((rows, cols), dtype=np.uint64)
    for i in range(a.shape[0]):
        for t in range(a.shape[1]):
            v = a[i, t]
            lo[i, t] = v & _NIBBLES
            hi[i, t] = (v >> _FOUR) & _NIBBLES
    return lo, hi


@njit(cache=True)
def split(a):  # pragma: no cover - compiled
    """``(lo, hi)``: the low and high nibbles of each byte of ``a`` (M, W), rows padded with zero
    words to a multiple of 4 words (one 256-bit vector); zero pads add nothing to a popcount."""
    return _halves(a, a.shape[0], (a.shape[1] + 3) // 4 * 4)


def _avx2(builder):
    """``(pshufb, psadbw)``: the AVX2 byte shuffle and sum-of-absolute-differences intrinsics."""
    mod = builder.module
    pshufb = cgutils.get_or_insert_function(
        mod, ir.FunctionType(_I8X32, [_I8X32, _I8X32]), "llvm.x86.avx2.pshuf.b"
    )
    psadbw = cgutils.get_or_insert_function(
        mod, ir.FunctionType(_I64X4, [_I8X32, _I8X32]), "llvm.x86.avx2.psad.bw"
    )
    return pshufb, psadbw


def _chunked(builder, steps, chunk, begin, body, end):
    """Emit ``for t in range(steps)`` in chunks of ``chunk`` steps: ``begin()`` before each chunk
    (reset the byte counters), ``body(t)`` per step, ``end(n)`` after each chunk of ``n`` steps
    (widen them)."""
    one = ir.Constant(_I64, 1)
    size = ir.Constant(_I64, chunk)
    n_chunks = builder.udiv(builder.add(steps, ir.Constant(_I64, chunk - 1)), size)
    with cgutils.for_range(builder, n_chunks) as outer:
        begin()
        start = builder.mul(outer.index, size)
        stop = builder.add(start, size)
        stop = builder.select(builder.icmp_signed("<", stop, steps), stop, steps)
        with cgutils.for_range_slice(builder, start, stop, one, inc=True) as (t, _):
            body(t)
        end(builder.sub(stop, start))


def _portable(builder, arrays, ii, jj, width):
    """The tile's sums with LLVM's scalar ``ctpop`` on both halves, for targets without AVX2.

    The GEMM never runs the lookup tile there (:func:`use_lut`), but the code that calls it is
    compiled for every target; the halves partition the bits, so the sums are the same.
    """
    ctpop = builder.module.declare_intrinsic("llvm.ctpop", [_I64])
    sums = [cgutils.alloca_once_value(builder, ir.Constant(_I64, 0)) for _ in range(ROWS * COLS)]
    with cgutils.for_range(builder, width) as loop:
        t = loop.index

        def word(array, row):
            return builder.load(builder.gep(array.data, [builder.add(builder.mul(row, width), t)]))

        for r in range(ROWS):
            for c in range(COLS):
                rows = (
                    builder.add(ii, ir.Constant(_I64, r)),
                    builder.add(jj, ir.Constant(_I64, c)),
                )
                total = builder.load(sums[r * COLS + c])
                for half in range(2):
                    x = builder.xor(word(arrays[half], rows[0]), word(arrays[2 + half], rows[1]))
                    total = builder.add(total, builder.call(ctpop, [x]))
                builder.store(total, sums[r * COLS + c])
    return [builder.load(v) for v in sums]


@intrinsic
def tile(typingctx, alo, ahi, blo, bhi, i, j):
    """``popcount(a[i + r] ^ b[j + c])`` for the 4 x 2 tile, as a tuple of 8 int64 (r-major).

    ``alo``/``ahi`` and ``blo``/``bhi`` are the :func:`split` halves of A and B (C-contiguous
    uint64, rows a multiple of 4 words); rows ``i .. i + 3`` of A and ``j, j + 1`` of B must exist.
    """
    if not all(_words(t) for t in (alo, ahi, blo, bhi)):
        return None
    if not (isinstance(i, types.Integer) and isinstance(j, types.Integer)):
        return None
    ret = types.UniTuple(types.int64, ROWS * COLS)

    def codegen(context, builder, signature, args):
        arrays = [
            context.make_array(ty)(context, builder, a)
            for ty, a in zip(signature.args[:4], args[:4], strict=True)
        ]
        ii = context.cast(builder, args[4], signature.args[4], types.int64)
        jj = context.cast(builder, args[5], signature.args[5], types.int64)
        width = builder.extract_value(arrays[0].shape, 1)  # words per row, a multiple of 4
        if not target_isa()["avx2"]:
            return context.make_tuple(builder, ret, _portable(builder, arrays, ii, jj, width))
        steps = builder.udiv(width, ir.Constant(_I64, 4))
        pshufb, psadbw = _avx2(builder)

        def row(array, first, offset):
            start = builder.mul(builder.add(first, ir.Constant(_I64, offset)), width)
            return builder.bitcast(builder.gep(array.data, [start]), _I8X32.as_pointer())

        a_rows = [(row(arrays[0], ii, r), row(arrays[1], ii, r)) for r in range(ROWS)]
        b_rows = [(row(arrays[2], jj, c), row(arrays[3], jj, c)) for c in range(COLS)]
        zero8 = ir.Constant(_I8X32, [0] * 32)
        lanes = [cgutils.alloca_once_value(builder, ir.Constant(_I64X4, [0] * 4)) for _ in ret]
        counts = [cgutils.alloca_once(builder, _I8X32) for _ in ret]

        def reset():
            for acc in counts:
                builder.store(zero8, acc)

        def step(t):
            def load(ptr):
                return builder.load(builder.gep(ptr, [t]), align=8)

            bv = [(load(lo), load(hi)) for lo, hi in b_rows]
            for r, (lo, hi) in enumerate(a_rows):
                av = (load(lo), load(hi))
                for c in range(COLS):
                    look_lo = builder.call(pshufb, [_LUT, builder.xor(av[0], bv[c][0])])
                    look_hi = builder.call(pshufb, [_LUT, builder.xor(av[1], bv[c][1])])
                    acc = counts[r * COLS + c]
                    builder.store(
                        builder.add(builder.load(acc), builder.add(look_lo, look_hi)), acc
                    )

        def widen(_):
            for acc, lane in zip(counts, lanes, strict=True):
                wide = builder.call(psadbw, [builder.load(acc), zero8])
                builder.store(builder.add(builder.load(lane), wide), lane)

        _chunked(builder, steps, _CHUNK, reset, step, widen)
        sums = []
        for lane in lanes:
            v = builder.load(lane)
            total = builder.extract_element(v, ir.Constant(_I32, 0))
            for e in range(1, 4):
                total = builder.add(total, builder.extract_element(v, ir.Constant(_I32, e)))
            sums.append(total)
        return context.make_tuple(builder, ret, sums)

    return ret(alo, ahi, blo, bhi, i, j), codegen


# -- the same lookup on unit-major words: the local-binary forward products -----------------------
UNIT_MODES = ("plain", "wlive", "xlive", "both")
TILE_ROWS = 4  # rows of x per tile


TILE_UNITS = 8  # units per tile (two 4-unit vectors)
TILE_UNITS_BOTH = 4  # with both operands ternary: four halves per unit vector fit 16 registers once
TILE_UNITS_WORDS = 16  # on whole words: two 8-unit vectors (zmm), both modes

# the learner's forward products (:func:`bnnlab.learn.local._fused.forward_layer`): LLVM ``ctpop``
# row by row, the nibble-lookup unit tiles, or the unit tiles on whole words with ``ctpop``
FORWARD_ROWS, FORWARD_NIBBLES, FORWARD_WORDS = 0, 1, 2


def forward_kernel() -> int:
    """The learner's forward products for the target CPU: :data:`FORWARD_WORDS` with AVX-512
    VPOPCNTDQ (``vpopcntq`` counts whole words, so the tiles skip the nibble split),
    :data:`FORWARD_NIBBLES` with AVX2 alone, else :data:`FORWARD_ROWS`."""
    isa = target_isa()
    if isa["avx512vpopcntdq"]:
        return FORWARD_WORDS
    return FORWARD_NIBBLES if isa["avx2"] else FORWARD_ROWS


def tile_units(mode: str, words: bool = False) -> int:
    """Units per tile of ``mode``: on nibble halves :data:`TILE_UNITS`, for ``"both"``
    :data:`TILE_UNITS_BOTH` (their four halves per vector fill AVX2's 16 registers); on whole
    words :data:`TILE_UNITS_WORDS` in every mode (two 8-unit vectors per row, two counters per
    entry for ``"both"``: 16 of AVX-512's 32 registers)."""
    if words:
        return TILE_UNITS_WORDS
    return TILE_UNITS_BOTH if mode == "both" else TILE_UNITS


@njit(cache=True)
def split_rows(x):  # pragma: no cover - compiled
    """:func:`split` of rows ``x`` (n, W) without word padding, the rows padded with zero rows to
    a multiple of 4 (one tile): ``(lo, hi)`` of shape (n4, W)."""
    return _halves(x, (x.shape[0] + 3) // 4 * 4, x.shape[1])


@njit(cache=True)
def split_units(w):  # pragma: no cover - compiled
    """:func:`split` for unit-major words ``w`` (W, K): ``(lo, hi)`` of shape (W, K8), K8 the
    units rounded up to a multiple of 8 (two 256-bit vectors of 4 units), padded with zeros."""
    return _halves(w, w.shape[0], (w.shape[1] + 7) // 8 * 8)


@njit(cache=True)
def _padded(a, rows, cols):  # pragma: no cover - compiled
    """``a`` in a zero array of shape (rows, cols)."""
    out = np.zeros((rows, cols), dtype=np.uint64)
    out[: a.shape[0], : a.shape[1]] = a
    return out


@njit(cache=True)
def pad_rows(x):  # pragma: no cover - compiled
    """Rows ``x`` (n, W) padded with zero rows to a multiple of 4 (one tile): the whole-word
    operand of the unit tiles, as :func:`split_rows` gives the halves."""
    return _padded(x, (x.shape[0] + 3) // 4 * 4, x.shape[1])


@njit(cache=True)
def pad_units(w):  # pragma: no cover - compiled
    """Unit-major words ``w`` (W, K) with the units padded with zeros to a multiple of
    :data:`TILE_UNITS_WORDS`: the whole-word operand of the unit tiles, as :func:`split_units`
    gives the halves."""
    return _padded(
        w, w.shape[0], (w.shape[1] + TILE_UNITS_WORDS - 1) // TILE_UNITS_WORDS * TILE_UNITS_WORDS
    )


def _words(t) -> bool:
    """A C-contiguous 2-D uint64 array type (writable or not)."""
    return (
        isinstance(t, types.Array) and t.dtype == types.uint64 and t.ndim == 2 and t.layout == "C"
    )


def _units_tile(mode: str, words: bool):
    """An intrinsic ``tile(x, w, live, n_in, h, i, j)`` writing the ternary products
    ``h[i + r, j + u] = L - 2 popcount(m & (x_{i+r} ^ w_{j+u}))`` of a tile of 4 rows and
    :func:`tile_units` units (entries beyond ``h``'s shape are not written).

    ``x`` and ``w`` are 4-tuples of :func:`split_rows` (rows, (n4, W)) and :func:`split_units`
    (unit-major, (W, K8)) halves: ``(lo, hi)`` of the values, then ``(lo, hi)`` of the live mask,
    read only where ``mode`` uses one. ``m`` is the AND of the live masks of the mode
    (``"xlive"``: the inputs', ``"wlive"``: the weights', ``"both"``; all ones for ``"plain"``)
    and ``L`` the number of live terms: ``n_in`` (plain), ``live[j + u]`` (wlive: int64 (K8,)),
    ``live[i + r]`` (xlive: int64 (n4,)), ``popcount(m)`` counted here (both).

    Per word and row the row's halves are broadcast to the 4 units' lanes, then looked up as in
    :func:`tile` (two ``vpshufb`` per popcount) into byte counters widened every 31 words; for
    ``"both"`` one counter holds ``popcount(m) - 2 popcount(m & (x ^ w))`` per byte, biased by +8
    (a second table, ``4 - 2 popcount``), widened every 15 words with the bias removed. The
    results are stored as int32 vectors. Without AVX2 the same code uses ``ctpop`` on 4 x i64.

    With ``words`` the tuples hold whole words instead, :func:`pad_rows` and :func:`pad_units`
    (``(values, values, live, live)``: the second of each pair is not read), the vectors hold 8
    units (4 rows x 16 units per tile), and each masked XOR is counted by one ``ctpop`` on
    8 x i64 straight into 64-bit counters: one ``vpopcntq`` on ``zmm`` per 8 word pairs with
    AVX-512 VPOPCNTDQ, where the lookup needs two ``vpshufb`` per 4 on the halves plus the
    split. For ``"both"`` a second counter per entry holds ``popcount(m)``.
    """
    width = 8 if words else 4  # units per vector: zmm on whole words, ymm on the halves
    n_vec = tile_units(mode, words) // width
    vec = ir.VectorType(_I64, width)
    parts = 1 if words else 2  # the vectors per operand and step: a word, or its two halves

    @intrinsic
    def units_tile(typingctx, x, w, live, n_in, h, i, j):
        ok = (
            isinstance(x, types.UniTuple)
            and isinstance(w, types.UniTuple)
            and _words(x.dtype)
            and _words(w.dtype)
            and len(x) == len(w) == 4
            and isinstance(live, types.Array)
            and live.dtype == types.int64
            and live.ndim == 1
            and isinstance(h, types.Array)
            and h.dtype == types.int32
            and h.ndim == 2
            and h.layout == "C"
        )
        ints = all(isinstance(v, types.Integer) for v in (n_in, i, j))
        if not (ok and ints):
            return None

        def codegen(context, builder, signature, args):
            xa = [context.make_array(x.dtype)(context, builder, v)
                  for v in cgutils.unpack_tuple(builder, args[0], 4)]  # fmt: skip
            wa = [context.make_array(w.dtype)(context, builder, v)
                  for v in cgutils.unpack_tuple(builder, args[1], 4)]  # fmt: skip
            la = context.make_array(live)(context, builder, args[2])
            ha = context.make_array(h)(context, builder, args[4])
            n_live = context.cast(builder, args[3], signature.args[3], types.int64)
            ii = context.cast(builder, args[5], signature.args[5], types.int64)
            jj = context.cast(builder, args[6], signature.args[6], types.int64)
            n_words = builder.extract_value(xa[0].shape, 1)
            k8 = builder.extract_value(wa[0].shape, 1)
            n_rows = builder.extract_value(ha.shape, 0)
            n_units = builder.extract_value(ha.shape, 1)
            lut = target_isa()["avx2"] and not words
            if lut:
                pshufb, psadbw = _avx2(builder)
            ctpop = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(vec, [vec]), f"llvm.ctpop.v{width}i64"
            )
            zero4 = ir.Constant(vec, [0] * width)
            zero8 = ir.Constant(_I8X32, [0] * 32)
            # counters [row][vector]: popcount(m & (x ^ w)); for "both" directly the product
            # popcount(m) - 2 popcount(m & (x ^ w)), per byte biased by +8 into [0, 16]
            n_acc = TILE_ROWS * n_vec
            lanes = [cgutils.alloca_once_value(builder, zero4) for _ in range(n_acc)]
            counts = [cgutils.alloca_once(builder, _I8X32) for _ in range(n_acc)]
            store = counts if lut else lanes
            # whole words, "both": popcount(m) in its own 64-bit counters
            both_words = words and mode == "both"
            lives = [cgutils.alloca_once_value(builder, zero4) for _ in range(n_acc * both_words)]

            def count(v):
                if lut:
                    lo, hi = (builder.bitcast(half, _I8X32) for half in v)
                    return builder.add(
                        builder.call(pshufb, [_LUT, lo]), builder.call(pshufb, [_LUT, hi])
                    )
                if words:
                    return builder.call(ctpop, [v[0]])
                return builder.add(builder.call(ctpop, [v[0]]), builder.call(ctpop, [v[1]]))

            def add(q, v):
                builder.store(builder.add(builder.load(store[q]), count(v)), store[q])

            def add_product(q, m, md):
                """Counter ``q`` += popcount(m) - 2 popcount(md) (+ 8 per byte with the lookup);
                on whole words the two counts go to two counters, subtracted at the end."""
                if words:
                    builder.store(builder.add(builder.load(lives[q]), count(m)), lives[q])
                    add(q, md)
                    return
                if lut:
                    look = [builder.bitcast(half, _I8X32) for half in (*m, *md)]
                    value = builder.add(
                        builder.add(builder.call(pshufb, [_LUT, look[0]]),
                                    builder.call(pshufb, [_LUT, look[1]])),
                        builder.add(builder.call(pshufb, [_LUT_BIASED, look[2]]),
                                    builder.call(pshufb, [_LUT_BIASED, look[3]])),
                    )  # fmt: skip
                else:
                    value = builder.sub(
                        count(m), builder.mul(ir.Constant(vec, [2] * width), count(md))
                    )
                builder.store(builder.add(builder.load(store[q]), value), store[q])

            def splat(value):
                v = builder.insert_element(zero4, value, ir.Constant(_I32, 0))
                return builder.shuffle_vector(
                    v, zero4, ir.Constant(ir.VectorType(_I32, width), [0] * width)
                )

            def vec_at(array, offset):
                ptr = builder.bitcast(builder.gep(array.data, [offset]), vec.as_pointer())
                return builder.load(ptr, align=8)

            def reset():
                for acc in counts if lut else ():
                    builder.store(zero8, acc)

            def step(t):
                base = builder.add(builder.mul(t, k8), jj)
                # the operand vectors read: values (1 word or 2 halves), then the live mask's
                used = [q for q in range(4) if q % 2 < parts and (q < 2 or mode != "plain")]
                wv = [
                    {
                        q: vec_at(wa[q], builder.add(base, ir.Constant(_I64, width * v)))
                        for q in used
                    }
                    for v in range(n_vec)
                ]
                for r in range(TILE_ROWS):
                    row = builder.add(ii, ir.Constant(_I64, r))
                    at = builder.add(builder.mul(row, n_words), t)
                    xv = {q: splat(builder.load(builder.gep(xa[q].data, [at]))) for q in used}
                    for v in range(n_vec):
                        d = [builder.xor(xv[q], wv[v][q]) for q in range(parts)]
                        if mode == "both":
                            m = [builder.and_(xv[2 + q], wv[v][2 + q]) for q in range(parts)]
                        elif mode == "xlive":
                            m = [xv[2 + q] for q in range(parts)]
                        elif mode == "wlive":
                            m = [wv[v][2 + q] for q in range(parts)]
                        else:
                            m = None
                        if m is not None:
                            d = [builder.and_(m[q], d[q]) for q in range(parts)]
                        if mode == "both":
                            add_product(r * n_vec + v, m, d)
                        else:
                            add(r * n_vec + v, d)

            def widen(n_steps):
                # "both": remove the bias, 8 per byte and step = 64 per 64-bit lane and step
                bias = splat(builder.mul(n_steps, ir.Constant(_I64, 64)))
                for acc, lane in zip(counts, lanes, strict=True) if lut else ():
                    wide = builder.call(psadbw, [builder.load(acc), zero8])
                    if mode == "both":
                        wide = builder.sub(wide, bias)
                    builder.store(builder.add(builder.load(lane), wide), lane)

            chunk = (_CHUNK_BIASED if mode == "both" else _CHUNK) if lut else 1 << 40
            _chunked(builder, n_words, chunk, reset, step, widen)
            i32x4 = ir.VectorType(_I32, width)
            two = ir.Constant(vec, [2] * width)
            for r in range(TILE_ROWS):
                row = builder.add(ii, ir.Constant(_I64, r))
                with builder.if_then(builder.icmp_signed("<", row, n_rows)):
                    for v in range(n_vec):
                        col = builder.add(jj, ir.Constant(_I64, width * v))
                        acc = builder.load(lanes[r * n_vec + v])
                        if mode == "both" and words:
                            count_live = builder.load(lives[r * n_vec + v])
                        elif mode == "both":
                            count_live = None  # the counter is the product itself
                        elif mode == "wlive":
                            count_live = vec_at(la, col)
                        elif mode == "xlive":
                            count_live = splat(builder.load(builder.gep(la.data, [row])))
                        else:
                            count_live = splat(n_live)
                        value = (
                            acc
                            if count_live is None
                            else builder.sub(count_live, builder.mul(two, acc))
                        )
                        out = builder.trunc(value, i32x4)
                        offset = builder.add(builder.mul(row, n_units), col)
                        inside = builder.icmp_signed(
                            "<=", builder.add(col, ir.Constant(_I64, width)), n_units
                        )
                        with builder.if_else(inside) as (whole, edge):
                            with whole:
                                ptr = builder.bitcast(
                                    builder.gep(ha.data, [offset]), i32x4.as_pointer()
                                )
                                builder.store(out, ptr, align=4)
                            with edge:
                                for u in range(width):
                                    cu = builder.add(col, ir.Constant(_I64, u))
                                    with builder.if_then(builder.icmp_signed("<", cu, n_units)):
                                        ptr = builder.gep(
                                            ha.data, [builder.add(offset, ir.Constant(_I64, u))]
                                        )
                                        builder.store(
                                            builder.extract_element(out, ir.Constant(_I32, u)), ptr
                                        )
            return context.get_dummy_value()

        return types.none(x, w, live, n_in, h, i, j), codegen

    return units_tile


units_tiles = {mode: _units_tile(mode, False) for mode in UNIT_MODES}  # nibble halves
word_tiles = {mode: _units_tile(mode, True) for mode in UNIT_MODES}  # whole words
