"""AVX2 table-lookup GEMM tile: tables from B's nibbles, indices from A's, 1 vector op per word pair.

The nibble-lookup tile of :mod:`bnnlab.bits._lut` spends 6 vector ops per 4 word pairs: two XORs
of pre-split nibbles, two ``vpshufb`` on a fixed popcount table, two byte adds. The XOR can go
into the table instead. For one nibble ``v`` of a row of B, ``popcount(u ^ v)`` over the 16
values ``u`` of a nibble of A is a 16-byte table ``T_v[u] = popcount(u ^ v)`` -- and ``vpshufb``
looks up 32 indices in a 16-byte table (per 128-bit lane) at once. So:

* **A's nibbles are transposed across rows** (:func:`nibble_rows`): byte ``l`` of vector
  ``(blk, p)`` is nibble ``p`` of row ``32 blk + l`` (``O(M W)`` work, twice A's memory), the
  vectors of a group of 4 interleaved by nibble so that one step reads 128 consecutive bytes.
* **B's nibbles select tables** (:func:`nibble_cols`): for column ``j`` and nibble ``p`` the byte
  ``16 v`` is the offset of ``T_v`` in the 256-byte array :data:`TABLES` (L1-resident).
* One ``vpshufb(T_{b_jp}, A_{blk,p})`` then gives ``popcount`` of nibble ``p`` for 32 rows against
  column ``j``, and one ``vpaddb`` adds it to that (32 rows, column) byte counter: **2 vector ops
  per 32 nibble pairs = 2 word pairs** (1 per word pair, against 1.5 for the ``_lut`` tile), with
  no horizontal sums at all: each byte of a counter is one output.

The register tile is up to 4 row vectors (128 rows of A) x 2 columns of B: 8 byte counters, 2
broadcast tables and the current row vector. Per nibble step: 8 ``vpshufb`` (Zen 3: 2 shuffle
pipes, 4 cycles), 8 ``vpaddb``, 4 row loads, 2 byte loads and 2 ``vbroadcasti128`` (load-only on
Zen 3) for the tables: 16 vector ALU ops and about 27 macro-ops for 16 word pairs, so the ceiling
is **about 3.5 word pairs per cycle and core** (4.5 cycles at Zen 3's 6-wide dispatch; the ALU
pipes alone would allow 4), against 8/3 for the ``_lut`` tile. A byte counter gains at most 4 per
step, so after 63 steps (252 < 256) the counters are widened into int16 sums (at most
:data:`MAX_STEPS` steps per tile call), which are added into an int32 output block at the end.

This is the table-lookup formulation of T-MAC (Wei et al., "T-MAC: CPU Renaissance via Table
Lookup for Low-Bit LLM Deployment on Edge", EuroSys 2025), with the table a function of B's bits
alone (a 16-entry XOR-popcount table), so the tables are shared constants instead of built per
activation group.

Without AVX2 the intrinsic compiles a plain loop over the same layout (portable codegen; the GEMM
never selects this tile there, see :func:`bnnlab.bits._numba._kernel`). The same numba on-disk
cache caveat as :mod:`bnnlab.bits._lut` applies: the GEMM entries inlining this tile live in
:mod:`bnnlab.bits._numba`, clear its ``__pycache__`` after editing this file.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from bnnlab import _numba_cache
from bnnlab.bits._lut import _avx2, _chunked, target_isa

_numba_cache.install()  # numba's disk cache, safe for processes compiling at once

__all__ = [
    "BLOCK",
    "COLS",
    "GROUP",
    "MAX_STEPS",
    "TABLES",
    "TABLES_MASKED",
    "TABLES_PAIRS",
    "block_sums",
    "nibble_cols",
    "nibble_rows",
    "nibble_steps",
    "pair_rows",
    "row_groups",
    "tile",
    "tile1",
    "tile2",
    "tile3",
    "tile4",
    "unit_offsets",
]

BLOCK = 32  # rows of A per row vector (one byte each)
GROUP = 4  # row vectors per tile at most
COLS = 2  # columns of B per tile
_CHUNK = 63  # nibble steps a byte counter takes before it could overflow (63 * 4 < 256)
MAX_STEPS = 16383  # nibble steps per tile call: int16 sums up to 4 * 16383 < 2^16 (unsigned)
#: ``TABLES[16 v + u] = popcount(u ^ v)``: the 16 XOR-popcount tables, 256 bytes
TABLES = np.array([bin(u ^ v).count("1") for v in range(16) for u in range(16)], dtype=np.uint8)


def _pc(v: int) -> int:
    return bin(v).count("1")


#: ternary weights: ``TABLES_MASKED[16 (v + 16 l) + u] = popcount(l & (u ^ v))`` for a nibble
#: ``v`` of the value bits and ``l`` of the live mask of a row of B, 4096 bytes
TABLES_MASKED = np.array(
    [_pc(lv & (u ^ v)) for lv in range(16) for v in range(16) for u in range(16)], dtype=np.uint8
)
#: both operands ternary, 2 bits at a time: ``TABLES_PAIRS[16 (v + 4 l) + (x + 4 m)] =
#: popcount(c) - 2 popcount(c & (x ^ v)) + 2`` with ``c = m & l`` (values ``x, v`` and live masks
#: ``m, l`` of 2 positions of A and B): the ternary product of the two positions, biased into
#: [0, 4]; 256 bytes
TABLES_PAIRS = np.array(
    [
        _pc(mx & lv) - 2 * _pc(mx & lv & (x ^ v)) + 2
        for lv in range(4)
        for v in range(4)
        for mx in range(4)
        for x in range(4)
    ],
    dtype=np.uint8,
)

_I8 = ir.IntType(8)
_I32 = ir.IntType(32)
_I64 = ir.IntType(64)
_I8X16 = ir.VectorType(_I8, 16)
_I8X32 = ir.VectorType(_I8, 32)
_I16X32 = ir.VectorType(ir.IntType(16), 32)
_I32X32 = ir.VectorType(_I32, 32)
_BROADCAST = ir.Constant(ir.VectorType(_I32, 32), list(range(16)) * 2)


@njit(cache=True)
def row_groups(m):  # pragma: no cover - compiled
    """``(groups, blocks)`` of :func:`nibble_rows` for ``m`` rows: row vectors of 32 rows
    (``blocks``), in groups of :data:`GROUP`."""
    blocks = (m + BLOCK - 1) // BLOCK
    return (blocks + GROUP - 1) // GROUP, blocks


@njit(cache=True)
def nibble_rows(a, ax):  # pragma: no cover - compiled
    """A's nibbles across rows, grouped for the tile; returns the number of row vectors.

    Row vector ``blk`` holds rows ``32 blk .. 32 blk + 31`` of ``a`` (M, W), padded with zero rows;
    the vectors come in groups of :data:`GROUP` (the last group may have fewer, ``R``), and a
    group's vectors are interleaved by nibble: byte ``l`` at ``ax[g, (p R + r) 32 + l]`` is nibble
    ``p`` (word ``p // 16``, bits ``4 (p % 16) ..``) of row ``32 (GROUP g + r) + l``, so one nibble
    step of a tile reads ``32 R`` consecutive bytes. Written into ``ax``, uint8
    (groups, GROUP 16 W 32) (:func:`row_groups`), every byte of it; returns ``blocks``."""
    m, w = a.shape
    blocks = (m + BLOCK - 1) // BLOCK
    halves = np.empty((2, GROUP * BLOCK), dtype=np.uint32)  # one word of the group's rows
    for g in range(ax.shape[0]):
        i0 = g * GROUP * BLOCK
        width = min(GROUP, blocks - g * GROUP) * BLOCK  # 32 x the group's row vectors
        row = ax[g]
        for t in range(w):
            for e in range(width):
                v = a[i0 + e, t] if i0 + e < m else np.uint64(0)  # zero rows past the end
                halves[0, e] = np.uint32(v & np.uint64(0xFFFFFFFF))
                halves[1, e] = np.uint32(v >> np.uint64(32))
            for q in range(16):  # slices, so that numba's loop has no index wraparound and
                src = halves[q // 8, :width]  # LLVM vectorises it
                at = (16 * t + q) * width
                dst = row[at : at + width]
                shift = np.uint32(4 * (q % 8))
                for e in range(width):
                    dst[e] = np.uint8((src[e] >> shift) & np.uint32(15))
        row[16 * w * width :] = 0
    return blocks


@njit(cache=True)
def nibble_cols(b, bn):  # pragma: no cover - compiled
    """B's nibbles as table offsets: ``bn[j, p] = 16 * nibble p of row j`` of ``b`` (N, W), rows
    padded with a zero row to an even count, written into ``bn``, uint8 (N + N % 2, 16 W)."""
    n, w = b.shape
    bn[n:] = 0
    by = b.view(np.uint8)  # byte h of word t = nibbles 16 t + 2 h (low), 16 t + 2 h + 1 (high)
    for j in range(n):
        for e in range(8 * w):
            v = by[j, e]
            bn[j, 2 * e] = v << np.uint8(4)
            bn[j, 2 * e + 1] = v & np.uint8(0xF0)


@njit(cache=True)
def pair_rows(a, live, ax):  # pragma: no cover - compiled
    """:func:`nibble_rows` for ternary rows, 2 positions per byte: the byte of position ``p``
    (bits ``2 p, 2 p + 1`` of the row) is ``x + 4 m``, ``x`` those 2 value bits of ``a`` and ``m``
    those 2 bits of the live mask ``live`` (both (M, W) uint64), for :data:`TABLES_PAIRS`.
    ``ax``: uint8 (groups, GROUP 32 W 32), every byte written; returns ``blocks``."""
    m, w = a.shape
    blocks = (m + BLOCK - 1) // BLOCK
    pairs = np.empty((2, GROUP * BLOCK), dtype=np.uint64)
    for g in range(ax.shape[0]):
        i0 = g * GROUP * BLOCK
        width = min(GROUP, blocks - g * GROUP) * BLOCK
        row = ax[g]
        for t in range(w):
            for e in range(width):
                inside = i0 + e < m
                pairs[0, e] = a[i0 + e, t] if inside else np.uint64(0)
                pairs[1, e] = live[i0 + e, t] if inside else np.uint64(0)
            for q in range(32):
                vals, lives = pairs[0, :width], pairs[1, :width]
                at = (32 * t + q) * width
                dst = row[at : at + width]
                shift = np.uint64(2 * q)
                for e in range(width):
                    x = (vals[e] >> shift) & np.uint64(3)
                    mk = (lives[e] >> shift) & np.uint64(3)
                    dst[e] = np.uint8(x | (mk << np.uint64(2)))
        row[32 * w * width :] = 0
    return blocks


@njit(cache=True)
def nibble_steps(n_in):  # pragma: no cover - compiled
    """The nibble steps that cover ``n_in`` positions, rounded up to an even count: the width of
    a table-offset array by nibble (:func:`unit_offsets`) that skips the padding nibbles of the
    last word (784 inputs: 196 of 13 words' 208; 525: 132 of 144; 135: 34 of 48)."""
    return 2 * ((n_in + 7) // 8)


@njit(cache=True)
def unit_offsets(wb, wl, has_wl, off, units):  # pragma: no cover - compiled
    """Table offsets of the units ``units`` of unit-major words (word ``t`` of unit ``j`` at
    ``wb[t, j]``; live mask ``wl`` when ``has_wl``, else all live), written into row ``j`` of
    ``off``: with ``off`` uint16 (K + K % 2, S), ``16 (v + 16 l)`` for each of the first ``S``
    nibbles (``S`` even, at most ``16 W``; :func:`nibble_steps` of the inputs, so that the
    nibbles past the last input are not stepped over) (:data:`TABLES_MASKED`); with ``off``
    uint8 (K + K % 2, 32 W), ``16 (v + 4 l)`` per 2 bits (:data:`TABLES_PAIRS`). A padding row
    ``K`` (odd ``K``) gets offset 0."""
    w, k = wb.shape
    steps = off.shape[1]
    pairs = steps == 32 * w  # else nibbles
    if not pairs and (steps % 2 or steps > 16 * w):
        raise ValueError("off: an even number of nibble offsets, at most 16 per word, is needed")
    vw = np.empty(w, dtype=np.uint64)  # the unit's words, contiguous, then read as bytes
    lw = np.empty(w, dtype=np.uint64)
    vb = vw.view(np.uint8)
    lb = lw.view(np.uint8)
    # the nibble offsets by byte: both of its offsets as one little-endian uint32 (a view of all
    # rows taken once: a view per row costs about as much as the row's loop)
    o32 = off.view(np.uint32) if not pairs else np.empty((0, 0), dtype=np.uint32)
    for j in units:
        for t in range(w):
            vw[t] = wb[t, j]
            lw[t] = wl[t, j] if has_wl else ~np.uint64(0)
        if pairs:  # byte e holds positions 4 e .. 4 e + 3 (2 bits each)
            o = off[j]
            for e in range(8 * w):
                v, lv = vb[e], lb[e]
                for r in range(4):
                    code = ((v >> np.uint8(2 * r)) & np.uint8(3)) | (
                        ((lv >> np.uint8(2 * r)) & np.uint8(3)) << np.uint8(2)
                    )
                    o[4 * e + r] = code << np.uint8(4)
        else:  # byte e holds nibbles 2 e (low) and 2 e + 1 (high); a loop LLVM vectorises
            o = o32[j]
            for e in range(steps // 2):
                v, lv = np.uint32(vb[e]), np.uint32(lb[e])
                low = (v & np.uint32(15)) | ((lv & np.uint32(15)) << np.uint32(4))
                high = (v >> np.uint32(4)) | (lv & np.uint32(0xF0))
                o[e] = (low << np.uint32(4)) | (high << np.uint32(20))
    off[k:] = 0


def _portable(rows):
    """The tile as plain loops (targets without AVX2): the same sums, the same layout."""

    def tile(ax, bn, tabs, g, j, p0, p1, dst, col):
        for r in range(rows):
            for c in range(COLS):
                for lane in range(BLOCK):
                    s = 0
                    for p in range(p0, p1):
                        u = ax[g, (p * rows + r) * BLOCK + lane]
                        s += tabs[np.int64(bn[j + c, p]) + np.int64(u)]
                    dst[col + c, r * BLOCK + lane] += s

    return tile


def _tile(rows: int):
    """An intrinsic ``tile(ax, bn, tabs, g, j, p0, p1, dst, col)`` adding
    ``sum_{p0 <= p < p1} popcount(nibble p of a_{32 (GROUP g + r) + l} ^ nibble p of b_{j + c})``
    to ``dst[col + c, 32 r + l]`` for ``r < rows``, ``c < 2``, ``l < 32``: column-major, the
    layout of the lanes (:mod:`bnnlab.bits._transpose` turns blocks of it row-major).

    ``ax``: :func:`nibble_rows` (group ``g`` must have ``rows`` row vectors), ``bn``:
    :func:`nibble_cols` (rows ``j, j + 1``), ``tabs``: :data:`TABLES`, ``dst``: int32, C-contiguous,
    (or any byte rows ``ax``, uint8 or uint16 table offsets ``bn`` and tables ``tabs`` whose
    entries are at most 4: :func:`pair_rows`, :func:`unit_offsets`, :data:`TABLES_MASKED`,
    :data:`TABLES_PAIRS`);
    at least ``col + 2`` rows and ``32 rows`` columns; ``p1 - p0`` at most
    :data:`MAX_STEPS`. Rows of A beyond its end are
    the zero padding (they count B's bits; the caller does not store them).

    Byte counters (one per row vector and column) are widened every 63 steps into int16 sums kept
    in memory (volatile, so LLVM does not hold 16 more vectors in registers and spill), which are
    added to ``dst`` once at the end, 4 vector loads, adds and stores per row vector and column.
    (Added row-major, each row's pair of sums was a separate load, add and store: with the
    scattered lines of a 32 KiB buffer that cost 20-25 % of the learner's table forward.)
    """

    @intrinsic
    def tile(typingctx, ax, bn, tabs, g, j, p0, p1, dst, col):
        def u8(t, ndim):
            return isinstance(t, types.Array) and t.dtype == types.uint8 and t.ndim == ndim

        ok = (
            u8(ax, 2)
            and ax.layout == "C"
            and isinstance(bn, types.Array)
            and bn.dtype in (types.uint8, types.uint16)
            and bn.ndim == 2
            and bn.layout == "C"
            and u8(tabs, 1)
            and isinstance(dst, types.Array)
            and dst.dtype == types.int32
            and dst.ndim == 2
            and dst.layout == "C"
            and all(isinstance(v, types.Integer) for v in (g, j, p0, p1, col))
        )
        if not ok:
            return None
        sig = types.none(ax, bn, tabs, g, j, p0, p1, dst, col)

        def codegen(context, builder, signature, args):
            if not target_isa()["avx2"]:
                return context.compile_internal(builder, _portable(rows), signature, args)
            axa, bna, taba = (
                context.make_array(t)(context, builder, v)
                for t, v in zip(signature.args[:3], args[:3], strict=True)
            )
            dsta = context.make_array(signature.args[7])(context, builder, args[7])
            g0, j0, first, last, c0 = (
                context.cast(builder, args[q], signature.args[q], types.int64)
                for q in (3, 4, 5, 6, 8)
            )
            steps = builder.extract_value(bna.shape, 1)
            group = builder.mul(g0, builder.extract_value(axa.shape, 1))
            pshufb, _ = _avx2(builder)
            zero8 = ir.Constant(_I8X32, [0] * 32)
            n_acc = rows * COLS
            counts = [cgutils.alloca_once(builder, _I8X32) for _ in range(n_acc)]
            wide = [cgutils.alloca_once(builder, _I16X32) for _ in range(n_acc)]
            for ptr in wide:
                builder.store(ir.Constant(_I16X32, [0] * 32), ptr).volatile = True
            col_base = [
                builder.mul(builder.add(j0, ir.Constant(_I64, c)), steps) for c in range(COLS)
            ]

            def reset():
                for acc in counts:
                    builder.store(zero8, acc)

            def step(t):
                p = builder.add(first, t)
                tables = []
                for c in range(COLS):
                    off = builder.load(builder.gep(bna.data, [builder.add(col_base[c], p)]))
                    ptr = builder.gep(taba.data, [builder.zext(off, _I64)])
                    half = builder.load(builder.bitcast(ptr, _I8X16.as_pointer()), align=1)
                    tables.append(builder.shuffle_vector(half, half, _BROADCAST))
                base = builder.add(group, builder.mul(p, ir.Constant(_I64, rows * BLOCK)))
                for r in range(rows):
                    at = builder.add(base, ir.Constant(_I64, r * BLOCK))
                    ptr = builder.bitcast(builder.gep(axa.data, [at]), _I8X32.as_pointer())
                    vec = builder.load(ptr, align=1)
                    for c in range(COLS):
                        acc = counts[r * COLS + c]
                        look = builder.call(pshufb, [tables[c], vec])
                        builder.store(builder.add(builder.load(acc), look), acc)

            def widen(_):
                for acc, ptr in zip(counts, wide, strict=True):
                    more = builder.zext(builder.load(acc), _I16X32)
                    total = builder.load(ptr)
                    total.volatile = True
                    builder.store(builder.add(total, more), ptr).volatile = True

            _chunked(builder, builder.sub(last, first), _CHUNK, reset, step, widen)
            # dst[col + c, 32 r + l] += sum: each column's sums of a row vector one contiguous
            # run of 32 int32 (4 vector loads, adds and stores)
            width = builder.extract_value(dsta.shape, 1)
            for r in range(rows):
                for c in range(COLS):
                    total = builder.load(wide[r * COLS + c])
                    total.volatile = True
                    sums = builder.zext(total, _I32X32)
                    row = builder.add(c0, ir.Constant(_I64, c))
                    at = builder.add(builder.mul(row, width), ir.Constant(_I64, r * BLOCK))
                    ptr = builder.bitcast(builder.gep(dsta.data, [at]), _I32X32.as_pointer())
                    builder.store(builder.add(builder.load(ptr, align=4), sums), ptr, align=4)
            return context.get_dummy_value()

        return sig, codegen

    return tile


#: ``tile<r>``: the tile of ``r`` row vectors (r = 1 .. :data:`GROUP`)
tile1, tile2, tile3, tile4 = (_tile(r) for r in range(1, GROUP + 1))


@njit(cache=True, inline="always")
def tile(ax, bn, tabs, g, j, p0, p1, rows, dst, col):  # pragma: no cover - compiled
    """The tile of ``rows`` row vectors (:func:`tile1` .. :func:`tile4`), chosen at run time."""
    if rows == 4:
        tile4(ax, bn, tabs, g, j, p0, p1, dst, col)
    elif rows == 3:
        tile3(ax, bn, tabs, g, j, p0, p1, dst, col)
    elif rows == 2:
        tile2(ax, bn, tabs, g, j, p0, p1, dst, col)
    else:
        tile1(ax, bn, tabs, g, j, p0, p1, dst, col)


@njit(cache=True, inline="always")
def block_sums(ax, blocks, bn, tabs, g, j0, j1, dst):  # pragma: no cover - compiled
    """``dst[c, r]`` = the popcount sum of row ``r`` of group ``g`` against column ``j0 + c``
    (column-major, as :func:`tile` writes it), for columns ``j0 .. j1 - 1`` (``j0`` even,
    ``j1 - j0 <= dst.shape[0]``, ``dst.shape[1] >= GROUP * BLOCK``), over all nibble steps (tile
    calls of at most :data:`MAX_STEPS` steps; shorter passes over K measured slower, even where
    a group's rows are 256 KiB); returns the group's row vectors. The callers take 8 or 16
    columns at a time, so that ``dst`` (4 or 8 KiB) stays in L1 next to the group's rows."""
    steps = bn.shape[1]
    rows = min(GROUP, blocks - g * GROUP)
    dst[: j1 - j0, : rows * BLOCK] = 0
    for j in range(j0, j1, COLS):
        for p0 in range(0, steps, MAX_STEPS):
            tile(ax, bn, tabs, g, j, p0, min(steps, p0 + MAX_STEPS), rows, dst, j - j0)
    return rows
