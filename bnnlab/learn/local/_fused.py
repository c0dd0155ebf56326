r"""Compiled (numba) kernels of the local-binary step: forward, error selection, error update.

The generic step (:meth:`bnnlab.learn.local.local_binary.LocalBinaryLearner._step`) runs the
products, the activation packing, the wrong-sample mask, the least-action selection, the
outer-product update, the column re-packing and the zero-weight bookkeeping as a chain of calls,
each allocating its intermediates (the dense ``int8`` error matrix ``M``, ``h[wrong]``, the targets
``B[:, y]^T``, the packed columns, the zero lists). For the numba backend the same arithmetic is
four kernels per layer and mini-batch, run in one call (:func:`train_layer`):

1. :func:`forward_layer` -- ``h = x @ sign(W)``, ``a = sign(h)`` (value bits and live mask) and
   the local-head scores ``s = a @ B``. Rows and weights are ternary under ``sign(0) = 0``:
   ``x . t = popcount(m) - 2 popcount(m & (x ^ t))`` with ``m`` the AND of the live (non-zero)
   masks, which is exact and replaces the sparse zero corrections of the generic engine. On AVX2
   targets without VPOPCNTDQ, with ternary weights (``sign(0) = 0``), the learner runs
   :func:`forward_tables`: the table-lookup tiles of
   :mod:`bnnlab.bits._tmac` (the rows' nibbles, or pairs of value and live bits, looked up 32
   rows at a time in tables chosen by the weights' bits, whose offsets the learner keeps next to
   the packed words; the deeper layers' ternary inputs by the ±1 nibbles, their few zeros
   corrected by a row-major ``sign(W)`` that the update keeps in step); :func:`forward_layer`
   has the nibble-lookup tiles of
   :mod:`bnnlab.bits._lut` (4 rows x 8 units), its tiles on whole words (4 x 16, one
   ``vpopcntq`` on ``zmm`` per 8 word pairs: what runs with AVX-512 VPOPCNTDQ, 784 x 525
   about 160 -> 85 us and 525 x 525 130 -> 80-90 us per batch of 100 against ``ctpop`` row by
   row on a Zen 4) and LLVM
   ``ctpop`` row by row. The signs of 64 units
   are packed by one vector compare (:func:`bnnlab.bits._numba.pack_signs64`).
2. :func:`select_errors` -- per sample: ``pred = argmax s`` (ties to the lowest class),
   ``top1 - top2`` with multiplicity, ``wrong = pred != y or top1 - top2 < margin``; per wrong
   sample and group of γ consecutive units, the unit with ``h t < 0`` (``t = B[u, y]``) and the
   smallest ``|h|`` (ties to the lowest index). ``M`` is kept sparse: one unit (or -1) per group.
3. :func:`update_columns` -- for every selected unit ``j``
   ``W[:, j] += step \sum_{(s, j) selected} t_{s j} x_s`` with ``x_s`` the ±1 input row (0 where
   its live mask is clear, the ``sign(0) = 0`` rule), and the packed ``sign(W)`` (ties +1) and
   ``W != 0`` of that unit rewritten from the new integers in the same pass. The learner holds
   ``W`` in Fortran order (unit-major), so a unit's column is one contiguous row of ``W^T`` and
   units without a selection are never touched; the selected rows are added straight into it in
   the lanes of ``W``'s type and its packed words rebuilt by
   :func:`bnnlab.bits._numba.pack_signs64`. The learner holds ``W`` as int16 while a bound of
   ``max |W|`` leaves room for the next step (:func:`headroom`; half the bytes and twice the
   lanes of int32: the update of 784 x 525 about 30 % faster), else as int32.
4. The reinforcement (:func:`reinforce_field`, at the end of :func:`train_layer`): numpy's two
   draws (``binomial``, then ``choice`` on Floyd's branch) made from the generator's own
   ``bitgen_t`` by :mod:`bnnlab.learn.local._choice`, and ``W += step sign(W)`` at the positions.

The packed weights are held unit-major (``(ceil(N / 64), K)``: word ``t`` of unit ``j`` at
``[t, j]``), so the popcounts and the re-packing run over the units of one word (contiguous,
vectorised). With ``threads > 1`` (``LocalBinaryLearner(threads=...)``, default 1) the forward
kernel splits the batch's rows and the update the touched units over numba's threads; it is
opt-in because numba's OpenMP threads spin at every kernel's barrier, so on a loaded machine a
descheduled thread stalls each mini-batch. The selection's rows and the reinforcement's
apply are split too; the reinforcement's draw is serial (one random stream).

Everything is exact integer arithmetic on the values the generic step computes, with numpy's
random draws in the same order, so the learner stays bit-identical to the dense oracle.

References
----------
L. Colombo, F. Pittorino, M. Roveri, "Training Multi-Layer Binary Neural Networks With Local Binary
Error Signals", Mach. Learn.: Sci. Technol. 6(3):035015 (2025), arXiv:2412.00119.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange, types
from numba.extending import overload

from bnnlab import _numba_cache
from bnnlab.bits._lut import (
    FORWARD_NIBBLES,
    FORWARD_WORDS,
    NO_HALVES,
    TILE_UNITS,
    TILE_UNITS_BOTH,
    TILE_UNITS_WORDS,
    pad_rows,
    pad_units,
    split_rows,
    split_units,
    units_tiles,
    word_tiles,
)
from bnnlab.bits._numba import cycle_counter, popcount, sign_words
from bnnlab.bits._tmac import (
    BLOCK,
    GROUP,
    block_sums,
    nibble_rows,
    pair_rows,
    row_groups,
    unit_offsets,
)
from bnnlab.bits._transpose import transpose_block
from bnnlab.learn.local._choice import binomial, floyd, shuffles_tail

_numba_cache.install()  # numba's disk cache, safe for processes compiling at once

__all__ = [
    "INT16_MAX",
    "clip_units",
    "forward_layer",
    "forward_tables",
    "headroom",
    "max_abs",
    "reach",
    "reinforce",
    "reinforce_drawn",
    "reinforce_field",
    "room",
    "select_errors",
    "train_layer",
    "update_columns",
]

_ONE = np.uint64(1)
_STRIP = 16  # units per strip of the table forward's sums (8 KiB; 2-3 % faster than 8 columns)
_DEAD_LIMIT = 40  # ternary rows by the ±1 tables while at most 1/40 of their positions are 0
_CTPOP_TAIL = 8  # rows past the last full row vector that forward_tables leaves to ctpop
# byte b of a packed row -> its 8 values 2 bit - 1 as int8 bytes of one word (bit i -> byte i),
# and the live byte -> 0xFF where a bit is set: the update's unpacking, a word per 8 inputs
_BYTE_SIGNS = np.array(
    [sum((1 if (b >> i) & 1 else 0xFF) << (8 * i) for i in range(8)) for b in range(256)],
    dtype=np.uint64,
)
_BYTE_LIVE = np.array(
    [sum((0xFF if (b >> i) & 1 else 0) << (8 * i) for i in range(8)) for b in range(256)],
    dtype=np.uint64,
)
_units_plain = units_tiles["plain"]
_units_wlive = units_tiles["wlive"]
_units_xlive = units_tiles["xlive"]
_units_both = units_tiles["both"]
_words_plain = word_tiles["plain"]
_words_wlive = word_tiles["wlive"]
_words_xlive = word_tiles["xlive"]
_words_both = word_tiles["both"]


@njit(cache=True, inline="always")
def _popcount(x):  # pragma: no cover - compiled
    """Bits set in a uint64 as int64 (:func:`bnnlab.bits._numba.popcount`: one ``popcnt``)."""
    return np.int64(popcount(x))


@njit(cache=True, inline="always")
def _xdot(a, b, words):  # pragma: no cover - compiled
    """``sum_t popcount(a_t ^ b_t)`` of two packed rows."""
    d = np.int64(0)
    for t in range(words):
        d += _popcount(a[t] ^ b[t])
    return d


@njit(cache=True, inline="always")
def _mdot(a, b, m, words):  # pragma: no cover - compiled
    """``sum_t popcount(m_t) - 2 popcount(m_t & (a_t ^ b_t))``: the ternary dot product."""
    live = np.int64(0)
    d = np.int64(0)
    for t in range(words):
        live += _popcount(m[t])
        d += _popcount(m[t] & (a[t] ^ b[t]))
    return live - 2 * d


@njit(cache=True, inline="always")
def _row_ctpop(xb, xl, has_xl, wb, wl, has_wl, n_in, wlive, i, acc, live, hrow):
    """``h[i]`` of :func:`forward_layer` with LLVM ``ctpop`` (one row, all units)."""
    k = wb.shape[1]
    # unit-major words: the inner loops run over the K units of one word (contiguous,
    # vectorised popcounts), not over the few words of one unit
    acc[:] = 0
    if has_xl:  # counted per row below (wlive may hold the weights' live counts)
        live[:] = 0
    else:
        live[:] = wlive[:k]
    for t in range(xb.shape[1]):
        xv = xb[i, t]
        row = wb[t]
        if has_xl and has_wl:
            xm = xl[i, t]
            lrow = wl[t]
            for j in range(k):
                m = xm & lrow[j]
                live[j] += _popcount(m)
                acc[j] += _popcount(m & (xv ^ row[j]))
        elif has_xl:
            xm = xl[i, t]
            pm = _popcount(xm)
            for j in range(k):
                live[j] += pm
                acc[j] += _popcount(xm & (xv ^ row[j]))
        elif has_wl:
            lrow = wl[t]
            for j in range(k):
                acc[j] += _popcount(lrow[j] & (xv ^ row[j]))
        else:
            for j in range(k):
                acc[j] += _popcount(xv ^ row[j])
    if has_xl or has_wl:
        for j in range(k):
            hrow[j] = live[j] - 2 * acc[j]
    else:
        for j in range(k):
            hrow[j] = n_in - 2 * acc[j]


@njit(cache=True, inline="always")
def _rows_tiles(xs, ws, words, has_xl, has_wl, n_in, wlive, xlive, h, i0):
    """``h[i0:i0 + 4]`` of :func:`forward_layer` by the unit tiles of :mod:`bnnlab.bits._lut`:
    on whole words (``words``; ``xs``/``ws`` the padded words) or by the AVX2 nibble lookup
    (``xs``/``ws`` the nibble halves); rows past ``h`` are skipped."""
    both = has_xl and has_wl
    per = TILE_UNITS_WORDS if words else TILE_UNITS_BOTH if both else TILE_UNITS
    for j in range(0, h.shape[1], per):
        if both and words:
            _words_both(xs, ws, wlive, n_in, h, i0, j)
        elif both:
            _units_both(xs, ws, wlive, n_in, h, i0, j)
        elif has_xl and words:
            _words_xlive(xs, ws, xlive, n_in, h, i0, j)
        elif has_xl:
            _units_xlive(xs, ws, xlive, n_in, h, i0, j)
        elif has_wl and words:
            _words_wlive(xs, ws, wlive, n_in, h, i0, j)
        elif has_wl:
            _units_wlive(xs, ws, wlive, n_in, h, i0, j)
        elif words:
            _words_plain(xs, ws, wlive, n_in, h, i0, j)
        else:
            _units_plain(xs, ws, wlive, n_in, h, i0, j)


@njit(cache=True, inline="always")
def _row_tail(h, ab, al, s, hb, zero, i):
    """Row ``i`` after ``h[i]``: the activation bits and live mask, and the local-head scores."""
    k = h.shape[1]
    c = hb.shape[0]
    kw = hb.shape[1]
    hrow = h[i]
    for q in range(kw):  # the signs of 64 units at once: a vector compare and a movemask
        vw, lw = sign_words(hrow, q * 64)
        ab[i, q] = vw
        if zero:
            al[i, q] = lw
    if not zero:  # every unit live: the low min(64, K - 64 q) bits of word q
        for q in range(kw):
            nb = min(64, k - q * 64)
            al[i, q] = ~np.uint64(0) if nb == 64 else (_ONE << np.uint64(nb)) - _ONE
    for cc in range(c):
        if zero:
            s[i, cc] = _mdot(ab[i], hb[cc], al[i], kw)
        else:
            s[i, cc] = k - 2 * _xdot(ab[i], hb[cc], kw)


@njit(cache=True, inline="always")
def _outputs(n, k, wl, count_live, hb):  # pragma: no cover - compiled
    """The forward's outputs for ``n`` rows of ``k`` units (``h``, activation bits and live
    mask, head scores), and the live weights per unit of ``wl`` (the same for every row; counted
    when ``count_live``), padded to a multiple of 16 for the unit tiles' vector loads."""
    kw = hb.shape[1]
    h = np.empty((n, k), dtype=np.int32)
    ab = np.zeros((n, kw), dtype=np.uint64)
    al = np.zeros((n, kw), dtype=np.uint64)
    s = np.empty((n, hb.shape[0]), dtype=np.int32)
    wlive = np.zeros((k + 15) // 16 * 16, dtype=np.int64)
    if count_live:
        for t in range(wl.shape[0]):
            wrow = wl[t]
            for j in range(k):
                wlive[j] += _popcount(wrow[j])
    return h, ab, al, s, wlive


@njit(cache=True, inline="always")
def _forward_rows(
    xb, xl, has_xl, wb, wl, has_wl, n_in, hb, zero, wlive, kind, xs, ws, xlive, h, ab, al, s, lo, hi
):  # pragma: no cover - compiled
    """Rows ``lo .. hi - 1`` of :func:`forward_layer` (its outputs written in place); ``kind``
    is its ``kernel``: by the unit tiles 4 rows at a time (``lo`` a multiple of 4), or by
    ``ctpop`` row by row."""
    k = wb.shape[1]
    acc = np.empty(k, dtype=np.int64)
    live = np.empty(k, dtype=np.int64)
    step = 4 if kind else 1
    for i0 in range(lo, hi, step):
        i1 = min(hi, i0 + step)
        if kind:
            _rows_tiles(xs, ws, kind == FORWARD_WORDS, has_xl, has_wl, n_in, wlive, xlive, h, i0)
        else:
            _row_ctpop(xb, xl, has_xl, wb, wl, has_wl, n_in, wlive, i0, acc, live, h[i0])
        for i in range(i0, i1):
            _row_tail(h, ab, al, s, hb, zero, i)


@njit(cache=True, parallel=True)
def _forward_parallel(
    xb, xl, has_xl, wb, wl, has_wl, n_in, hb, zero, wlive, kind, xs, ws, xlive, h, ab, al, s, chunks
):  # pragma: no cover - compiled
    n = xb.shape[0]
    size = (n + chunks - 1) // chunks
    size = (size + 3) // 4 * 4  # chunks of whole 4-row tiles
    for ch in prange((n + size - 1) // size):
        _forward_rows(xb, xl, has_xl, wb, wl, has_wl, n_in, hb, zero, wlive, kind, xs, ws,
                      xlive, h, ab, al, s, ch * size, min(n, (ch + 1) * size))  # fmt: skip


@njit(cache=True)
def forward_layer(
    xb, xl, has_xl, wb, wl, has_wl, n_in, hb, zero, threads, kernel
):  # pragma: no cover
    r"""One layer's forward pass on packed ternary rows, in one kernel.

    ``h = x @ t`` (``t = sign(W)``), ``a = sign(h)`` and the local-head scores ``s = a @ B``::

        h[i, j] = popcount(m) - 2 popcount(m & (x_i ^ w_j)),  m = live(x_i) & live(w_j)

    (``n_in - 2 popcount(x_i ^ w_j)`` when both are ±1). With ``zero`` the activation has
    ``sign(0) = 0`` (its live mask is ``h != 0``), otherwise ties are +1 and every unit is live.

    Parameters
    ----------
    xb, xl : uint64 (n, ceil(N / 64))   input value bits and live mask (``has_xl``)
    wb, wl : uint64 (ceil(N / 64), K)   unit-major words of ``sign(W)`` (ties +1) and of ``W != 0``
                                        (``has_wl``): word ``t`` of unit ``j`` at ``[t, j]``
    n_in : int                          ``N``
    hb : uint64 (C, ceil(K / 64))       packed ``B^T`` of the ±1 local head
    zero : bool                         the ``sign(0) = 0`` rule
    threads : int                       rows are split into this many chunks (at most one per 16
                                        rows), run in parallel on numba's threads; the result does
                                        not depend on it
    kernel : int                        the products (:func:`bnnlab.bits._lut.forward_kernel`):
                                        ``FORWARD_NIBBLES`` by the AVX2 nibble-lookup tiles of
                                        :mod:`bnnlab.bits._lut` (4 rows x 8 units, 4 x 4 when
                                        both operands are ternary; the operands split into
                                        nibble halves here), ``FORWARD_WORDS`` by its tiles on
                                        whole words (4 x 16, ``ctpop`` on 8 words: ``vpopcntq``
                                        with AVX-512 VPOPCNTDQ; the operands padded here),
                                        ``FORWARD_ROWS`` by LLVM ``ctpop`` row by row; the
                                        same integers every way

    Returns
    -------
    h : int32 (n, K);  ab, al : uint64 (n, ceil(K / 64)) activation bits and live mask
    (``al`` all live bits when not ``zero``);  s : int32 (n, C)
    """
    n = xb.shape[0]
    k = wb.shape[1]
    words = xb.shape[1]
    h, ab, al, s, wlive = _outputs(n, k, wl, has_wl and not has_xl, hb)
    xlive = np.zeros((n + 3) // 4 * 4, dtype=np.int64)  # live inputs per row (every unit)
    if kernel and has_xl and not has_wl:
        for i in range(n):
            for t in range(words):
                xlive[i] += _popcount(xl[i, t])
    if kernel == FORWARD_WORDS:  # padded copies: O((n + K) W) words against O(n K W)
        xp, wp = pad_rows(xb), pad_units(wb)
        xm = pad_rows(xl) if has_xl else xp
        wm = pad_units(wl) if has_wl else wp
        xs = (xp, xp, xm, xm)
        ws = (wp, wp, wm, wm)
    elif kernel == FORWARD_NIBBLES:  # nibble halves, as many words
        x_lo, x_hi = split_rows(xb)
        w_lo, w_hi = split_units(wb)
        xm_lo, xm_hi = split_rows(xl) if has_xl else (x_lo, x_hi)
        wm_lo, wm_hi = split_units(wl) if has_wl else (w_lo, w_hi)
        xs = (x_lo, x_hi, xm_lo, xm_hi)
        ws = (w_lo, w_hi, wm_lo, wm_hi)
    else:
        xs = ws = NO_HALVES
    if threads > 1 and n >= 32:
        _forward_parallel(xb, xl, has_xl, wb, wl, has_wl, n_in, hb, zero, wlive, kernel, xs, ws,
                          xlive, h, ab, al, s, min(threads, n // 16))  # fmt: skip
    else:
        _forward_rows(xb, xl, has_xl, wb, wl, has_wl, n_in, hb, zero, wlive, kernel, xs, ws,
                      xlive, h, ab, al, s, 0, n)  # fmt: skip
    return h, ab, al, s


@njit(cache=True, inline="always")
def _table_block(
    ax, blocks, off, tabs, pairs, has_wl, n_in, wlive, h, j0, width
):  # pragma: no cover
    """``h[:, j0:j0 + width]`` (``j0`` and ``width`` even) of :func:`forward_tables`: per row
    group and strip of :data:`_STRIP` units the table tiles' sums
    (:func:`bnnlab.bits._tmac.block_sums`, column-major), the products from the sums, turned
    row-major into ``h`` (:func:`bnnlab.bits._transpose.transpose_block`)."""
    n, k = h.shape
    steps = off.shape[1]
    strip = np.empty((_STRIP, GROUP * BLOCK), dtype=np.int32)
    j1 = min(off.shape[0], j0 + width)
    for g in range(ax.shape[0]):
        i0 = g * GROUP * BLOCK
        for j in range(j0, j1, _STRIP):
            je = min(j1, j + _STRIP)
            rows = block_sums(ax, blocks, off, tabs, g, j, je, strip)
            nr = min(n, i0 + rows * BLOCK) - i0
            jn = min(je, k) - j
            for c in range(jn):
                d = strip[c, :nr]  # slices: no index wraparound, the loops vectorise
                if pairs:  # the biased pair products: remove 2 per step
                    bias = 2 * steps
                    for i in range(nr):
                        d[i] = d[i] - bias
                else:
                    base = wlive[j + c] if has_wl else n_in
                    for i in range(nr):
                        d[i] = base - 2 * d[i]
            transpose_block(strip, 0, 0, h, i0, j, nr, jn)


@njit(cache=True, parallel=True)
def _tables_parallel(
    ax, blocks, off, tabs, pairs, has_wl, n_in, wlive, h, threads
):  # pragma: no cover
    # as many blocks per thread, of even widths (block_sums pairs the columns from an even
    # j0; an odd last block would read a table offset past the array) as equal as can be: 525
    # units on 2 threads go as 10 blocks of 54 (270 + 255 units) instead of 9 of 64 (320 + 205)
    k = off.shape[0]
    n_blocks = threads * ((k + 64 * threads - 1) // (64 * threads))
    width = ((k + n_blocks - 1) // n_blocks + 1) // 2 * 2
    for b in prange((k + width - 1) // width):
        _table_block(ax, blocks, off, tabs, pairs, has_wl, n_in, wlive, h, b * width, width)


@njit(cache=True, inline="always")
def _valid_bits(t, words, n_in):  # pragma: no cover - compiled
    """The bits of word ``t`` (of ``words``) that hold one of ``n_in`` positions."""
    rest = n_in - 64 * (words - 1)
    if t < words - 1 or rest == 64:
        return ~np.uint64(0)
    return (_ONE << np.uint64(rest)) - _ONE


@njit(cache=True, inline="always")
def _low_bit(x):  # pragma: no cover - compiled
    """The index of the lowest set bit of a non-zero uint64 (``popcount((x & -x) - 1)``)."""
    return _popcount((x & (~x + _ONE)) - _ONE)


@njit(cache=True, inline="always")
def _dead_fix(xl, sw, n_in, hrow, i, dead, acc8):  # pragma: no cover - compiled
    """``h[i] -= sign(W)[p]`` for the ``dead`` dead (0) positions ``p`` of input row ``i``, which
    the ±1 tables took as +1 (``sw``: ``sign(W)`` int8 (N, K), row-major). From 4 to 127 dead
    positions the rows of ``sw`` are summed in int8 (``acc8``, (K,): 32 units per vector op, the
    sum exact), then added into ``h[i]`` once (525 units, 1.4 % dead: 33 -> 21 µs per 96 rows);
    else each is subtracted from ``h[i]`` (int32), cheaper for a few."""
    words = xl.shape[1]
    k = hrow.shape[0]
    small = 4 <= dead <= 127
    if small:
        acc8[:] = 0
    for t in range(words):
        d = ~xl[i, t] & _valid_bits(t, words, n_in)
        while d:
            srow = sw[64 * t + _low_bit(d)]
            d &= d - _ONE
            if small:
                for j in range(k):
                    acc8[j] = acc8[j] - srow[j]
            else:
                for j in range(k):
                    hrow[j] -= np.int32(srow[j])
    if small:
        for j in range(k):
            hrow[j] += np.int32(acc8[j])


@njit(cache=True, inline="always")
def _tails(
    xb, xl, has_xl, wb, wl, has_wl, n_in, wlive, h, ab, al, s, hb, zero, n_tab, dead, sw, lo, hi
):  # pragma: no cover - compiled
    """Rows ``lo .. hi - 1`` of :func:`forward_tables` after the tables: ``h`` by ``ctpop`` for
    the rows from ``n_tab`` on (the rows before it corrected for their ``dead[i]`` dead inputs
    where ``dead`` has rows: :func:`_dead_fix`), then every row's activation and head scores."""
    k = wb.shape[1]
    acc = np.empty(k, dtype=np.int64)
    live = np.empty(k, dtype=np.int64)
    acc8 = np.empty(k, dtype=np.int8)
    for i in range(lo, hi):
        if i >= n_tab:
            _row_ctpop(xb, xl, has_xl, wb, wl, has_wl, n_in, wlive, i, acc, live, h[i])
        elif dead.shape[0] and dead[i]:
            _dead_fix(xl, sw, n_in, h[i], i, dead[i], acc8)
        _row_tail(h, ab, al, s, hb, zero, i)


@njit(cache=True, parallel=True)
def _tails_parallel(
    xb, xl, has_xl, wb, wl, has_wl, n_in, wlive, h, ab, al, s, hb, zero, n_tab, dead, sw, chunks
):  # pragma: no cover - compiled
    n = h.shape[0]
    size = (n + chunks - 1) // chunks
    for ch in prange(chunks):
        _tails(xb, xl, has_xl, wb, wl, has_wl, n_in, wlive, h, ab, al, s, hb, zero, n_tab, dead,
               sw, ch * size, min(n, (ch + 1) * size))  # fmt: skip


@njit(cache=True)
def forward_tables(
    xb, xl, has_xl, wb, wl, has_wl, n_in, hb, zero, threads, off, tabs, sw
):  # pragma: no cover
    r""":func:`forward_layer` by the AVX2 table-lookup tiles of :mod:`bnnlab.bits._tmac`.

    The products come from lookups of the batch rows' bits in tables chosen by the weights'
    bits, 32 rows per ``vpshufb``: with ±1 inputs the rows' nibbles index
    ``popcount(l & (u ^ v))`` (:data:`~bnnlab.bits._tmac.TABLES_MASKED`, ``v``/``l`` a nibble of a
    unit's value bits and live mask, all live without ``has_wl``), and
    ``h = popcount(live(w_j)) - 2 sum``; with ternary inputs (``has_xl``) 2 positions at a time,
    value and live bits of the rows as the index of the biased ternary product of the 2 positions
    (:data:`~bnnlab.bits._tmac.TABLES_PAIRS`), ``h = sum - 2 steps``. The same integers as
    :func:`forward_layer`.

    ``off`` are the weights' table offsets (:func:`bnnlab.bits._tmac.unit_offsets`; uint16 by
    nibble, at least the ``ceil(n_in / 4)`` nibbles that hold inputs -- the learner keeps
    :func:`~bnnlab.bits._tmac.nibble_steps` of them, not the padding nibbles of the last word --
    or uint8 by pair with ``has_xl``), kept by the caller in step with ``wb``/``wl``;
    ``tabs`` the matching tables. ``threads > 1`` splits blocks of 64 units over numba's threads.

    Ternary inputs with nibble offsets (the learner's deeper layers) go by the ±1 nibble tables
    on their value bits with the dead (0) positions set, i.e. taken as +1, and ``h`` is then
    corrected by ``- sum_{dead p} sign(W)[p]`` from ``sw``, ``sign(W)`` as int8 (N, K)
    row-major (kept by the caller, :func:`update_columns`): 32 units per vector op, so the
    correction is cheap while few inputs are 0 (about 0.5 % of a trained layer's activations;
    beyond 1/:data:`_DEAD_LIMIT` of them the kernel runs :func:`forward_layer` instead).
    ``sw`` is unused otherwise (a (0, 0) array).
    """
    n = xb.shape[0]
    k = wb.shape[1]
    words = xb.shape[1]
    pairs = has_xl and off.shape[1] == 32 * words  # else nibble offsets
    fix = has_xl and not pairs
    if not pairs and 4 * off.shape[1] < n_in:
        raise ValueError("off: nibble offsets that cover the n_in inputs are needed")
    # a last row vector with only a few rows (the batch of 100: 3 x 32 + 4) would be mostly
    # padding: those rows go by ctpop, the others by the tables
    tail = n % BLOCK
    n_tab = n - tail if tail <= _CTPOP_TAIL else n
    xv = xb[:n_tab]
    dead = np.zeros(n_tab if fix else 0, dtype=np.int64)  # the dead positions per row
    if fix:
        if sw.shape[0] != n_in or sw.shape[1] != k:
            raise ValueError("sw: sign(W) of shape (n_in, K) is needed for ternary inputs")
        xv = np.empty((n_tab, words), dtype=np.uint64)
        for i in range(n_tab):
            for t in range(words):
                gone = ~xl[i, t] & _valid_bits(t, words, n_in)
                xv[i, t] = xb[i, t] | gone
                dead[i] += _popcount(gone)
        if dead.sum() * _DEAD_LIMIT > n_tab * n_in:  # the corrections would cost more
            return forward_layer(xb, xl, has_xl, wb, wl, has_wl, n_in, hb, zero, threads,
                                 FORWARD_NIBBLES)  # fmt: skip
    h, ab, al, s, wlive = _outputs(n, k, wl, has_wl and not pairs, hb)
    groups, _ = row_groups(n_tab)
    per_word = 32 if pairs else 16
    ax = np.empty((groups, GROUP * per_word * words * BLOCK), dtype=np.uint8)
    if pairs:
        blocks = pair_rows(xb[:n_tab], xl[:n_tab], ax)
    else:
        blocks = nibble_rows(xv, ax)
    if threads > 1 and k > 64:
        _tables_parallel(ax, blocks, off, tabs, pairs, has_wl, n_in, wlive, h, threads)
        _tails_parallel(xb, xl, has_xl, wb, wl, has_wl, n_in, wlive, h, ab, al, s, hb, zero,
                        n_tab, dead, sw, max(1, min(threads, n // 16)))  # fmt: skip
    else:
        _table_block(ax, blocks, off, tabs, pairs, has_wl, n_in, wlive, h, 0, off.shape[0])
        _tails(xb, xl, has_xl, wb, wl, has_wl, n_in, wlive, h, ab, al, s, hb, zero, n_tab, dead,
               sw, 0, n)  # fmt: skip
    return h, ab, al, s


@njit(cache=True, inline="always")
def _select_row(h, ht, y, widx, sel, gamma, r):  # pragma: no cover - compiled
    """Row ``r`` of :func:`select_errors`' ``sel``: per group of γ units of wrong sample
    ``widx[r]`` the unit with ``h t < 0`` and the smallest ``|h|`` (ties to the lowest), or -1."""
    i = widx[r]
    hi = h[i]
    ti = ht[y[i]]
    big = np.int64(1) << 40
    for gg in range(sel.shape[1]):
        # min over (|h| or 2^40 where not wrong) * 2^20 + offset: one vectorisable reduction
        # that picks the smallest |h| among the wrong units, ties to the lowest index (on
        # slices indexed by the loop variable alone: numba then emits no index wraparound
        # and LLVM vectorises the loop)
        hg = hi[gg * gamma : (gg + 1) * gamma]
        tg = ti[gg * gamma : (gg + 1) * gamma]
        best = np.int64(1) << 62
        for o in range(gamma):
            hv = np.int64(hg[o])
            av = hv if hv > 0 else -hv
            key = (av if hv * tg[o] < 0 else big) * 1048576 + o
            best = min(best, key)
        sel[r, gg] = gg * gamma + (best & 1048575) if (best >> 20) < big else -1


@njit(cache=True, parallel=True)
def _select_parallel(h, ht, y, widx, sel, gamma, chunks):  # pragma: no cover - compiled
    nw = widx.shape[0]
    size = (nw + chunks - 1) // chunks
    for ch in prange(chunks):
        for r in range(ch * size, min(nw, (ch + 1) * size)):
            _select_row(h, ht, y, widx, sel, gamma, r)


@njit(cache=True)
def select_errors(s, y, margin, h, heads, gamma, threads):  # pragma: no cover - compiled
    """Wrong-sample mask and least-action selection of one layer (see the module docstring).

    Parameters
    ----------
    s : int32 (n, C)   local-head scores
    y : int64 (n,)     labels
    margin : int       ``floor(rob K)``
    h : int32 (n, K)   pre-activations
    heads : int8 (K, C) ±1 local head ``B``
    gamma : int        group size (divides K)
    threads : int      the wrong samples' selections are split into this many chunks (at
                       most one per 16 samples) on numba's threads; the result does not
                       depend on it

    Returns
    -------
    correct : int        number of samples with ``argmax s == y``
    wrong : bool (n,)    the wrong-sample mask
    widx : int64 (nw,)   indices of the wrong samples
    sel : int32 (nw, K / γ)  selected unit per wrong sample and group, -1 where none
    """
    n, c = s.shape
    k = h.shape[1]
    if gamma >= 1048576:
        raise ValueError("gamma: group sizes of 2^20 or more are not supported by the kernel")
    g = k // gamma
    wrong = np.zeros(n, dtype=np.bool_)
    correct = 0
    nw = 0
    for i in range(n):
        best = 0
        top1 = s[i, 0]
        top2 = np.iinfo(np.int64).min
        for cc in range(1, c):
            v = s[i, cc]
            if v > top1:
                top2 = top1
                top1 = v
                best = cc
            elif v > top2:
                top2 = v
        if c == 1:
            top2 = top1
        if best == y[i]:
            correct += 1
        if best != y[i] or np.int64(top1) - np.int64(top2) < margin:
            wrong[i] = True
            nw += 1
    widx = np.empty(nw, dtype=np.int64)
    sel = np.empty((nw, g), dtype=np.int32)
    r = 0
    for i in range(n):
        if wrong[i]:
            widx[r] = i
            r += 1
    ht = np.ascontiguousarray(heads.T)  # (C, K): the targets of a class are one contiguous row
    if threads > 1 and nw >= 32:
        _select_parallel(h, ht, y, widx, sel, gamma, min(threads, nw // 16))
    else:
        for r in range(nw):
            _select_row(h, ht, y, widx, sel, gamma, r)
    return correct, wrong, widx, sel


@njit(cache=True, inline="always")
def _sign_at(vb, lb, b, has_wl):  # pragma: no cover - compiled
    """``sign(W)`` (int8: -1, 0, +1) of bit ``b`` of the value and live words ``vb``, ``lb``."""
    v = np.int8((vb >> b) & _ONE)
    live = np.int8((lb >> b) & _ONE) if has_wl else np.int8(1)
    return live * (2 * v - 1)


@njit(cache=True, inline="always")
def _update_units(
    wt, wbits, wlive, has_wl, xd, cols, cnt, srow, sgn, step, sw, lo, hi
):  # pragma: no cover - compiled
    """Touched units ``cols[lo:hi]`` of :func:`update_columns`."""
    n_in = wt.shape[1]
    words = wbits.shape[0]
    for q in range(lo, hi):
        j = cols[q]
        wr = wt[j]
        # each selected sample's ±1/0 input row added straight into the unit's contiguous row of
        # W^T (integer sums: the order of the samples does not change the result), in the
        # lanes of W's own type (int16: 16 per vector op; the caller's bound keeps the sums in
        # range, headroom)
        for e in range(cnt[j], cnt[j + 1]):
            row = xd[srow[e]]
            d = np.int32(step * sgn[e])
            for i in range(n_in):
                wr[i] = wr[i] + d * np.int32(row[i])
        for wi in range(words):  # 64 signs at once: a vector compare and a movemask
            vb, lb = sign_words(wr, wi * 64)
            if sw.shape[0]:  # the flipped signs into the row-major sign(W)
                flips = (wbits[wi, j] ^ vb) | ((wlive[wi, j] ^ lb) if has_wl else np.uint64(0))
                # the first two flips of the word written unconditionally: with none left, bit 0
                # (a position of every word) gets its sign again, which it already has; so only
                # words of 3 or more flips branch (a loop per word mispredicted its exit at
                # almost every word: 525 x 525, 3 000 flips, 65 -> 56 µs per update)
                for _ in range(2):
                    b = _low_bit(flips) & np.uint64(63)
                    flips &= flips - _ONE
                    sw[64 * wi + b, j] = _sign_at(vb, lb, b, has_wl)
                while flips:
                    b = _low_bit(flips)
                    flips &= flips - _ONE
                    sw[64 * wi + b, j] = _sign_at(vb, lb, b, has_wl)
            wbits[wi, j] = vb
            if has_wl:
                wlive[wi, j] = lb


@njit(cache=True, parallel=True)
def _update_parallel(
    wt, wbits, wlive, has_wl, xd, cols, cnt, srow, sgn, step, sw, chunks
):  # pragma: no cover - compiled
    ncols = cols.shape[0]
    size = (ncols + chunks - 1) // chunks
    for ch in prange(chunks):
        _update_units(wt, wbits, wlive, has_wl, xd, cols, cnt, srow, sgn, step, sw,
                      ch * size, min(ncols, (ch + 1) * size))  # fmt: skip


@njit(cache=True)
def update_columns(
    wt, wbits, wlive, has_wl, xb, xl, has_xl, widx, sel, heads, y, step, threads, sw
):  # pragma: no cover
    """In place ``W += step x[wrong]^T M`` and re-pack the touched units of ``sign(W)^T``.

    Parameters
    ----------
    wt : int16/int32 (K, N) the hidden weights unit-major, ``W^T`` (the learner holds ``W`` in
                            Fortran order and passes ``W.T``: each unit's column contiguous),
                            with room for the update in its type (:func:`headroom`)
    wbits : uint64 (ceil(N / 64), K)  unit-major packed ``sign(W)`` (ties +1), rewritten
    xb : uint64 (n, ceil(N / 64))     packed ±1 input rows of the batch
    wlive : uint64 (ceil(N / 64), K)  unit-major packed ``W != 0``, rewritten (``has_wl``)
    xl : uint64 (n, ceil(N / 64))     packed live (non-zero) mask of the inputs (when ``has_xl``)
    widx, sel               from :func:`select_errors`
    heads : int8 (K, C)     local head (targets ``t = B[u, y]``)
    y : int64 (n,)          labels
    step : int              increment
    threads : int           the touched units are split into this many chunks (at most one per
                            32 units) run on numba's threads; the result does not depend on it
    sw : int8 (N, K)        ``sign(W)`` row-major (ternary under ``has_wl``, else ±1), rewritten
                            where a sign flips (for :func:`forward_tables`); (0, 0): not kept

    Returns
    -------
    cols : int64 (m,)       the touched units, ascending
    """
    k = wt.shape[0]
    nw, g = sel.shape
    words = wbits.shape[0]
    cnt = np.zeros(k + 1, dtype=np.int64)
    for r in range(nw):
        for gg in range(g):
            u = sel[r, gg]
            if u >= 0:
                cnt[u + 1] += 1
    ncols = 0
    for j in range(k):
        if cnt[j + 1]:
            ncols += 1
        cnt[j + 1] += cnt[j]
    cols = np.empty(ncols, dtype=np.int64)
    c = 0
    for j in range(k):
        if cnt[j + 1] > cnt[j]:
            cols[c] = j
            c += 1
    fill = cnt[:k].copy()
    sgn = np.empty(cnt[k], dtype=np.int32)
    srow = np.empty(cnt[k], dtype=np.int64)
    for r in range(nw):
        i = widx[r]
        for gg in range(g):
            u = sel[r, gg]
            if u >= 0:
                srow[fill[u]] = r
                sgn[fill[u]] = heads[u, y[i]]
                fill[u] += 1
    # the wrong input rows unpacked once to int8 values in {-1, 0, +1}: per byte of the packed
    # words the 8 values (2 bit - 1) as one word, zeroed where the live mask is clear
    xd = np.empty((nw, words * 64), dtype=np.int8)
    xv = xd.view(np.uint64)  # 8 values per word; one view (a view per row: 2.5 -> 1.1 µs for 95
    # rows of 3 words)
    for r in range(nw):
        sr = widx[r]
        xr = xv[r]
        for wi in range(words):
            bw = xb[sr, wi]
            live = xl[sr, wi] if has_xl else ~np.uint64(0)
            for q in range(8):
                sh = np.uint64(8 * q)
                v = _BYTE_SIGNS[(bw >> sh) & np.uint64(255)]
                xr[8 * wi + q] = v & _BYTE_LIVE[(live >> sh) & np.uint64(255)]
    # per touched unit: the selected samples' input rows added into the unit's contiguous row of
    # W^T, whose packed words are rebuilt in the same pass; untouched units are not visited
    if threads > 1 and ncols >= 64:
        _update_parallel(wt, wbits, wlive, has_wl, xd, cols, cnt, srow, sgn, step, sw,
                         min(threads, ncols // 32))  # fmt: skip
    else:
        _update_units(wt, wbits, wlive, has_wl, xd, cols, cnt, srow, sgn, step, sw, 0, ncols)
    return cols


@njit(cache=True)
def clip_units(wt, cols, lo, hi):  # pragma: no cover - compiled
    """In place ``W^T[j] = clip(W^T[j], lo, hi)`` for the units ``j`` in ``cols`` (``wt`` the
    unit-major weights, (K, N))."""
    for j in cols:
        row = wt[j]
        for i in range(row.shape[0]):
            row[i] = min(max(row[i], lo), hi)


@njit(cache=True)
def max_abs(wt):  # pragma: no cover - compiled
    """``max |W|`` (int64) of the hidden weights ``wt`` (any 2-D integer array, e.g. the
    unit-major ``W^T``; 0 when empty): per row the largest and the smallest entry in the
    array's own type (vector max / min), their magnitudes compared in int64."""
    best = np.int64(0)
    for j in range(wt.shape[0]):
        row = wt[j]
        if row.shape[0] == 0:
            continue
        hi = row[0]
        lo = row[0]
        for i in range(row.shape[0]):
            hi = max(hi, row[i])
            lo = min(lo, row[i])
        best = max(best, max(np.int64(hi), -np.int64(lo)))
    return best


INT16_MAX = 32767  # the largest magnitude an int16 holds on both sides


@njit(cache=True, inline="always")
def _limit(wt):  # pragma: no cover - compiled
    """The largest magnitude ``wt``'s integer type holds on both sides (int16 or int32)."""
    return np.int64(INT16_MAX) if wt.itemsize == 2 else np.int64(2147483647)


@njit(cache=True, inline="always")
def reach(step, rows):  # pragma: no cover - compiled
    """The most one step on ``rows`` samples moves a hidden weight: ``|step| (rows + 1)`` --
    ``|step|`` per wrong sample (a unit is selected at most once per sample, each input is ±1
    or 0) and ``|step|`` for the reinforcement."""
    return abs(step) * (rows + 1)


@njit(cache=True)
def room(bound, step, rows, limit):  # pragma: no cover - compiled
    """Whether weights of magnitude at most ``bound`` stay within ``±limit`` through a step on
    ``rows`` samples (:func:`reach`)."""
    return bound + reach(step, rows) <= limit


@njit(cache=True)
def headroom(wt, bound, step, rows):  # pragma: no cover - compiled
    """Whether a mini-batch of ``rows`` samples can train the hidden weights ``wt`` (int16 or
    int32) in their type (:func:`room`): ``bound[0]`` (int64 (1,)) is an upper bound of
    ``max |W|``, which :func:`train_layer` raises by :func:`reach` after each step with an
    update. Where the bound leaves too little room it is first recomputed exactly
    (:func:`max_abs`, in place). False: the caller has to widen ``wt`` (``int16 -> int32``)
    before the step."""
    if room(bound[0], step, rows, _limit(wt)):
        return True
    bound[0] = max_abs(wt)
    return room(bound[0], step, rows, _limit(wt))


@njit(cache=True)
def train_layer(
    xb,
    xl,
    has_xl,
    wt,
    wb,
    wl,
    has_wl,
    n_in,
    hb,
    zero,
    threads,
    off,
    tabs,
    kernel,
    y,
    margin,
    heads,
    gamma,
    step,
    clip,
    in_range,
    lo,
    hi,
    bitgen,
    threshold,
    sw,
    bound,
):  # pragma: no cover - compiled
    """One layer of the compiled training step in one call: :func:`forward_tables` (when ``off``
    has rows) or :func:`forward_layer`, :func:`select_errors`, and, if a sample is wrong,
    :func:`update_columns`, the touched units' table offsets
    (:func:`bnnlab.bits._tmac.unit_offsets`), with ``clip`` the clip to ``[lo, hi]`` (of the
    touched units by :func:`clip_units` when ``in_range``, i.e. ``wt = W^T`` is known to be
    within the bounds elsewhere, else of all of ``wt``), and the reinforcement
    (:func:`reinforce_field`, when ``bitgen`` is a ``bitgen_t`` address, not 0: the field's
    hits drawn with probability ``threshold / 2^32`` from that generator, whose lock the caller
    holds). ``sw`` is the layer's row-major ``sign(W)`` for the ternary inputs' table forward
    (kept in step by the update; (0, 0) where not used, see :func:`forward_tables`).

    Returns ``(h, ab, al, s, correct, wrong, n_wrong, left, ticks)``: the forward's outputs, the
    selection's counts and mask, the hits the caller still has to place by numpy's ``choice``
    (:func:`reinforce_field`; -1 when none), and the cycle counter's ticks
    (:func:`~bnnlab.bits._numba.cycle_counter`) spent in the forward, the selection, the update
    and the reinforcement, by which the caller splits the call's wall time among the phases.
    """
    if not room(bound[0], step, xb.shape[0], _limit(wt)):
        raise OverflowError("wt: the step could leave the hidden weights' integer type")
    t0 = cycle_counter()
    if off.shape[0]:
        h, ab, al, s = forward_tables(
            xb, xl, has_xl, wb, wl, has_wl, n_in, hb, zero, threads, off, tabs, sw
        )
    else:
        h, ab, al, s = forward_layer(xb, xl, has_xl, wb, wl, has_wl, n_in, hb, zero, threads,
                                     kernel)  # fmt: skip
    t1 = cycle_counter()
    correct, wrong, widx, sel = select_errors(s, y, margin, h, heads, gamma, threads)
    t2 = cycle_counter()
    if widx.shape[0]:
        bound[0] += reach(step, widx.shape[0])  # the update's and the reinforcement's
        cols = update_columns(
            wt, wb, wl, has_wl, xb, xl, has_xl, widx, sel, heads, y, step, threads, sw
        )
        if off.shape[0]:
            unit_offsets(wb, wl, has_wl, off, cols)
        if clip and in_range:
            clip_units(wt, cols, lo, hi)
        elif clip:  # the first clip since W was set: all of it
            clip_units(wt, np.arange(wt.shape[0]), lo, hi)
    t3 = cycle_counter()
    left = -1
    if widx.shape[0] and bitgen != 0:
        left = reinforce_field(wt.T, bitgen, threshold, step, zero, lo, hi, threads)
    t4 = cycle_counter()
    return (h, ab, al, s, correct, wrong, widx.shape[0], left,
            (t1 - t0, t2 - t1, t3 - t2, t4 - t3))  # fmt: skip


@njit(cache=True, inline="always")
def _reinforced(v, step, zero, lo, hi):  # pragma: no cover - compiled
    """``clip(v + step sign(v), lo, hi)``, branch-free (the sign of a random weight mispredicts
    half of the time)."""
    if zero:  # sign(0) = 0: a zero weight stays 0
        u = v + step * (np.int64(v > 0) - np.int64(v < 0))
    else:  # sign(0) = +1
        u = v + step * (2 * np.int64(v >= 0) - 1)
    return min(max(u, lo), hi)


@njit(cache=True, inline="always")
def _divmod(p, k, inv_k):  # pragma: no cover - compiled
    """``divmod(p, k)`` for ``0 <= p < 2^52`` without an integer division: the float quotient
    is off by at most one, and the remainder's sign tells which way."""
    q = np.int64(np.float64(p) * inv_k)
    r = p - q * k
    if r < 0:
        q -= 1
        r += k
    elif r >= k:
        q += 1
        r -= k
    return q, r


def _reinforce_at(w, pos, step, zero, lo, hi):  # pragma: no cover - compiled by its overload
    """:func:`reinforce` in compiled callers, specialised on ``W``'s memory layout."""
    raise NotImplementedError("compiled only")


@overload(_reinforce_at, inline="always")
def _reinforce_at_layout(w, pos, step, zero, lo, hi):
    # the weights' flat offsets first, then the weights in a second pass: the random loads of W
    # (from L2 or L3: 0.8 MB at 784 x 525 in int16) then overlap each other instead of waiting
    # on each position's division (784 x 525, 5 300 hits: 5.3 -> 3.9 ns per hit, against 5.0
    # for the same two passes with 2-D indices); the row-major offsets are the positions
    if not isinstance(w, types.Array):
        return None
    if w.layout == "C":

        def row_major(w, pos, step, zero, lo, hi):  # pragma: no cover - compiled
            flat = w.reshape(-1)
            for q in range(pos.shape[0]):
                flat[pos[q]] = _reinforced(flat[pos[q]], step, zero, lo, hi)

        return row_major
    if w.layout == "F":

        def unit_major(w, pos, step, zero, lo, hi):  # pragma: no cover - compiled
            n_in, k = w.shape
            inv_k = 1.0 / k
            at = np.empty(pos.shape[0], dtype=np.int64)
            for q in range(pos.shape[0]):  # the learner's W: W[i, j] at j N + i
                i, j = _divmod(pos[q], k, inv_k)
                at[q] = j * n_in + i
            flat = w.T.reshape(-1)
            for q in range(pos.shape[0]):
                flat[at[q]] = _reinforced(flat[at[q]], step, zero, lo, hi)

        return unit_major

    def strided(w, pos, step, zero, lo, hi):  # pragma: no cover - compiled
        inv_k = 1.0 / w.shape[1]
        for q in range(pos.shape[0]):
            i, j = _divmod(pos[q], w.shape[1], inv_k)
            w[i, j] = _reinforced(w[i, j], step, zero, lo, hi)

    return strided


@njit(cache=True)
def reinforce(w, pos, step, zero, lo, hi):  # pragma: no cover - compiled
    """In place ``W = clip(W + step sign(W), lo, hi)`` at the flat row-major positions ``pos`` of
    ``W`` (N, K) (``lo, hi`` the int32 range for no clip).

    ``sign(0)`` is 0 under ``zero`` (a zero weight stays 0), else +1; ``W`` may be in either
    memory order (the learner's is Fortran). The positions are distinct, so their order does
    not matter. Reinforcement never changes a sign (nor does a clip to ``lo < 0 < hi``), so the
    packed words need no update.
    """
    _reinforce_at(w, pos, step, zero, lo, hi)


@njit(cache=True, parallel=True)
def _reinforce_parallel(w, pos, step, zero, lo, hi, chunks):  # pragma: no cover - compiled
    n = pos.shape[0]
    size = (n + chunks - 1) // chunks
    for ch in prange(chunks):  # the positions are distinct: the chunks touch disjoint weights
        _reinforce_at(w, pos[ch * size : min(n, (ch + 1) * size)], step, zero, lo, hi)


@njit(cache=True)
def reinforce_drawn(w, bitgen, hits, step, zero, lo, hi, threads):  # pragma: no cover - compiled
    """:func:`reinforce` at ``choice(W.size, hits, replace=False, shuffle=False)``'s positions,
    drawn in the same kernel from the bit generator at address ``bitgen``
    (:func:`bnnlab.learn.local._choice.floyd`: numpy's positions and generator state; the
    caller holds its lock). The draw is serial; with ``threads > 1`` the positions are applied
    in that many chunks (at most one per 1024) on numba's threads. (Applying each weight a few
    draws after prefetching it, to overlap the cache misses with the draws, measured no
    faster.)"""
    pos = floyd(bitgen, w.shape[0] * w.shape[1], hits)
    if threads > 1 and hits >= 2048:
        _reinforce_parallel(w, pos, step, zero, lo, hi, min(threads, hits // 1024))
    else:
        _reinforce_at(w, pos, step, zero, lo, hi)


@njit(cache=True)
def reinforce_field(w, bitgen, threshold, step, zero, lo, hi, threads):  # pragma: no cover
    """The whole reinforcement of ``W`` (N, K) from the bit generator at address ``bitgen``:
    ``hits = Generator.binomial(N K, threshold / 2^32)`` (:func:`bnnlab.learn.local._choice.
    binomial`), then :func:`reinforce_drawn` at ``choice(N K, hits, replace=False,
    shuffle=False)``'s positions -- where numpy's ``choice`` takes Floyd's branch (``N K <=
    10000`` or ``hits <= N K // 20``). Returns -1, or ``hits`` when numpy would shuffle a tail
    instead (the caller then places them with numpy's ``choice``; nothing else was drawn)."""
    size = w.shape[0] * w.shape[1]
    hits = binomial(bitgen, size, threshold / 4294967296.0)
    if shuffles_tail(size, hits):
        return hits
    if hits:
        reinforce_drawn(w, bitgen, hits, step, zero, lo, hi, threads)
    return -1
