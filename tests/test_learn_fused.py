"""The compiled kernels of the fused local-binary step (bnnlab.learn.local._fused) one by one,
against dense integer arithmetic written here: the ternary forward pass, the wrong-sample mask and
least-action selection, and the error update with its re-packed sign and live bits."""

from __future__ import annotations

import time

import numpy as np
import pytest

_fused = pytest.importorskip("bnnlab.learn.local._fused")

from bnnlab import bits  # noqa: E402
from bnnlab.bits import _lut, _tmac  # noqa: E402


def sign0(v):
    return np.sign(v).astype(np.int64)  # sign(0) = 0


def unit_major(mask):
    """(N, K) bool -> unit-major packed words (ceil(N / 64), K)."""
    return np.ascontiguousarray(bits.pack(np.ascontiguousarray(mask.T), backend="numpy").T)


# the products' kernels: LLVM ctpop, the nibble-lookup tiles (AVX2 targets), the whole-word tiles
# (vpopcntq with AVX-512 VPOPCNTDQ, LLVM's lowering of ctpop elsewhere: run on every target), the
# table-lookup tiles (compiled for every target: plain loops without AVX2)
KERNELS = (
    ["ctpop", "lut", "words", "tables"]
    if _lut.target_isa()["avx2"]
    else ["ctpop", "words", "tables"]
)
FORWARD = {"ctpop": _lut.FORWARD_ROWS, "lut": _lut.FORWARD_NIBBLES, "words": _lut.FORWARD_WORDS}
MASKS = [(False, False), (True, False), (False, True), (True, True)]  # (inputs, weights) ternary
NO_CLIP = (-(2**31), 2**31 - 1)


def table_offsets(wb, wl, has_wl, pairs, junk=77, n_in=None):
    """The weights' table offsets of :func:`_fused.forward_tables`, every unit (junk first):
    all nibbles (or pairs) of the words, or with ``n_in`` the even number of nibbles that
    covers the inputs (the learner's)."""
    words, k = wb.shape
    per_word, dtype = (32, np.uint8) if pairs else (16, np.uint16)
    width = per_word * words if n_in is None else -(-n_in // 8) * 2
    off = np.full((k + k % 2, width), junk, dtype=dtype)
    _tmac.unit_offsets(wb, wl, has_wl, off, np.arange(k))
    return off


def forward(kernel, xb, xl, has_xl, wb, wl, has_wl, n_in, hb, zero, threads):
    """One layer's forward pass by ``kernel``."""
    args = (xb, xl, has_xl, wb, wl, has_wl, n_in, hb, zero, threads)
    if kernel == "tables":
        tabs = _tmac.TABLES_PAIRS if has_xl else _tmac.TABLES_MASKED
        off = table_offsets(wb, wl, has_wl, has_xl)
        return _fused.forward_tables(*args, off, tabs, np.zeros((0, 0), dtype=np.int8))
    return _fused.forward_layer(*args, FORWARD[kernel])


# (n_in, K, sign(0) = 0, ternary inputs, ternary weights); 2600 inputs: two byte-counter chunks of
# the lookup tile; 129 units: the tables' parallel path (3 blocks of 64); without sign(0) = 0
# nothing is ternary
SHAPES = [(n, k, True, *m) for n, k in [(70, 9), (130, 64), (2600, 7), (150, 129)] for m in MASKS]
SHAPES.append((64, 5, False, False, False))


@pytest.mark.parametrize(("n_in", "k", "zero", "has_xl", "has_wl"), SHAPES)
@pytest.mark.parametrize("threads", [1, 2, 3])  # rows (units for the tables) in 1-3 chunks
@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("n", [50, 100, 130])  # tables: 2 row vectors; 3 + a ctpop tail; 2 groups
def test_forward_layer_equals_dense_ternary_products(
    n_in, k, zero, has_xl, has_wl, threads, kernel, n
):
    rng = np.random.default_rng(n_in + k)
    c = 4
    x = rng.choice([-1, 0, 1], size=(n, n_in)) if has_xl else rng.choice([-1, 1], size=(n, n_in))
    w = rng.integers(-2, 3, size=(n_in, k)) if has_wl else rng.choice([-3, 1, 2], size=(n_in, k))
    heads = rng.choice(np.array([-1, 1], dtype=np.int8), size=(k, c))
    xb = bits.pack(x >= 0, backend="numpy")
    xl = bits.pack(x != 0, backend="numpy")
    wb, wl = unit_major(w >= 0), unit_major(w != 0)
    hb = bits.pack(np.ascontiguousarray(heads.T >= 0), backend="numpy")
    h, ab, al, s = forward(kernel, xb, xl, has_xl, wb, wl, has_wl, n_in, hb, zero, threads)
    t = sign0(w) if zero else np.where(w >= 0, 1, -1)
    expected_h = x @ t
    np.testing.assert_array_equal(h, expected_h)
    a = sign0(expected_h) if zero else np.where(expected_h >= 0, 1, -1)
    np.testing.assert_array_equal(ab, bits.pack(a >= 0, backend="numpy"))
    if zero:
        np.testing.assert_array_equal(al, bits.pack(a != 0, backend="numpy"))
    np.testing.assert_array_equal(s, a @ heads.astype(np.int64))


@pytest.mark.parametrize(("n_in", "k"), [(70, 9), (130, 64), (150, 129), (525, 30), (64, 5)])
@pytest.mark.parametrize("dead", [0.0, 0.005, 0.02, 0.3])  # 0.3: past the limit, the fallback
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("n", [50, 100, 130])
def test_forward_tables_ternary_inputs_by_nibbles(n_in, k, dead, threads, n):
    # ternary inputs through the ±1 nibble tables (the learner's deeper layers): the dead (0)
    # positions taken as +1 by the tables, then corrected by the row-major sign(W); the rows of
    # the ctpop tail exact by themselves; with many dead positions forward_layer instead
    rng = np.random.default_rng(n_in * k + n)
    x = rng.choice([-1, 1], size=(n, n_in))
    x[rng.random((n, n_in)) < dead] = 0
    x[0, -1] = 0  # a dead position in the last word (only its valid bits count)
    w = rng.integers(-2, 3, size=(n_in, k))
    heads = rng.choice(np.array([-1, 1], dtype=np.int8), size=(k, 4))
    # the value bits of dead positions are any (the live mask decides): random here
    anyway = rng.random((n, n_in)) < 0.5
    xb = bits.pack((x > 0) | ((x == 0) & anyway), backend="numpy")
    xl = bits.pack(x != 0, backend="numpy")
    wb, wl = unit_major(w >= 0), unit_major(w != 0)
    hb = bits.pack(np.ascontiguousarray(heads.T >= 0), backend="numpy")
    sw = np.ascontiguousarray(sign0(w).astype(np.int8))
    expected_h = x @ sign0(w)
    a = sign0(expected_h)
    # the offsets of the nibbles that hold inputs (the learner's), and of every nibble
    for off in (table_offsets(wb, wl, True, False, n_in=n_in), table_offsets(wb, wl, True, False)):
        args = (xb, xl, True, wb, wl, True, n_in, hb, True, threads, off, _tmac.TABLES_MASKED, sw)
        h, ab, al, s = _fused.forward_tables(*args)
        np.testing.assert_array_equal(h, expected_h)
        np.testing.assert_array_equal(ab, bits.pack(a >= 0, backend="numpy"))
        np.testing.assert_array_equal(al, bits.pack(a != 0, backend="numpy"))
        np.testing.assert_array_equal(s, a @ heads.astype(np.int64))
    with pytest.raises(ValueError, match=r"^sw: sign\(W\) of shape"):
        _fused.forward_tables(*args[:-1], np.zeros((0, 0), dtype=np.int8))
    with pytest.raises(ValueError, match=r"^off: nibble offsets that cover the n_in inputs"):
        narrow = np.ascontiguousarray(off[:, : (n_in - 1) // 4])
        _fused.forward_tables(*args[:10], narrow, *args[11:])


@pytest.mark.parametrize("n_in", [70, 130])
def test_forward_tables_ternary_inputs_by_nibbles_pm1_weights(n_in):
    # ±1 weights (no live mask): the padding positions of the last word must not count as +1
    # inputs against the weights' 0 padding bits
    n, k = 100, 9
    rng = np.random.default_rng(n_in)
    x = rng.choice([-1, 0, 1], size=(n, n_in), p=[0.49, 0.02, 0.49])
    w = rng.choice([-1, 1], size=(n_in, k))
    xb, xl = bits.pack(x > 0, backend="numpy"), bits.pack(x != 0, backend="numpy")
    wb = unit_major(w >= 0)
    hb = bits.pack(np.ones((2, k), dtype=bool), backend="numpy")
    off = table_offsets(wb, wb, False, False)  # every nibble of the words, padding included
    sw = np.ascontiguousarray(w.astype(np.int8))
    args = (xb, xl, True, wb, wb, False, n_in, hb, True, 1, off, _tmac.TABLES_MASKED, sw)
    np.testing.assert_array_equal(_fused.forward_tables(*args)[0], x @ w)


@pytest.mark.parametrize("threads", [1, 2])
def test_forward_tables_dead_inputs_at_the_int8_bounds(threads):
    # the dead inputs' correction sums sign(W) rows in int8 for 4 to 127 dead positions of a
    # row, else in int32: rows with 3, 4, 127 and 128 dead positions whose weights in units 0
    # and 1 are all -1 / +1 there (the int8 sums at +-127, one past it in int32)
    n_in, k, n = 700, 33, 100
    rng = np.random.default_rng(7)
    x = rng.choice([-1, 1], size=(n, n_in))
    w = rng.integers(-2, 3, size=(n_in, k))
    for row, count in enumerate((3, 4, 127, 128)):
        dead = rng.choice(n_in, size=count, replace=False)
        x[row, dead] = 0
        w[dead, 0], w[dead, 1] = -1, 1
    xb, xl = bits.pack(x > 0, backend="numpy"), bits.pack(x != 0, backend="numpy")
    wb, wl = unit_major(w >= 0), unit_major(w != 0)
    hb = bits.pack(np.ones((2, k), dtype=bool), backend="numpy")
    off = table_offsets(wb, wl, True, False, n_in=n_in)
    sw = np.ascontiguousarray(sign0(w).astype(np.int8))
    args = (xb, xl, True, wb, wl, True, n_in, hb, True, threads, off, _tmac.TABLES_MASKED, sw)
    h = _fused.forward_tables(*args)[0]
    expected = x @ sign0(w)
    np.testing.assert_array_equal(h, expected)
    # the dead positions' +1 taken by the tables is undone in full: 127 / 128 of them in unit 0
    plus = np.where(x == 0, 1, x) @ sign0(w)
    assert (plus - expected)[2:4, 0].tolist() == [-127, -128]


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize(("has_xl", "has_wl"), MASKS)
def test_forward_layer_extreme_products(kernel, has_xl, has_wl):
    # every input agrees (or disagrees) with the weights over 2 600 live inputs (41 words): the
    # largest per-byte counts the lookup tiles' byte counters must hold between widenings
    n_in, n, k = 2600, 8, 9
    rng = np.random.default_rng(1)
    x = rng.choice([-1, 1], size=(n, n_in))
    w = np.empty((n_in, k), dtype=np.int64)
    for j in range(k):
        w[:, j] = x[j % n] * (1 if j % 2 == 0 else -1)  # unit j: +-row j % n
    xb, xl = bits.pack(x >= 0, backend="numpy"), bits.pack(x != 0, backend="numpy")
    wb, wl = unit_major(w >= 0), unit_major(w != 0)
    hb = bits.pack(np.ones((3, k), dtype=bool), backend="numpy")
    h, _, _, _ = forward(kernel, xb, xl, has_xl, wb, wl, has_wl, n_in, hb, True, 1)
    np.testing.assert_array_equal(h, x @ w)
    assert h[0, 0] == n_in and h[1, 1] == -n_in


def test_table_offsets_and_tables_against_the_ternary_values(rng):
    # the offsets of a unit select, per nibble (or pair) of inputs, the table of that unit's bits;
    # checked from the ternary weights themselves, not from the packing code
    n_in, k = 100, 5
    w = rng.integers(-1, 2, size=(n_in, k))
    wb, wl = unit_major(w >= 0), unit_major(w != 0)
    quad = table_offsets(wb, wl, True, pairs=False)
    pair = table_offsets(wb, wl, True, pairs=True)
    assert quad.shape == (k + 1, 32) and pair.shape == (k + 1, 64)
    assert not quad[k].any() and not pair[k].any()  # the padding unit
    # the first 26 nibbles only (the 100 inputs, rounded up to even): the same offsets
    short = table_offsets(wb, wl, True, pairs=False, n_in=n_in)
    assert short.shape == (k + 1, 26) and _tmac.nibble_steps(n_in) == 26
    np.testing.assert_array_equal(short, quad[:, :26])
    for width in (25, 34):  # odd, or past the 2 words' 32 nibbles
        with pytest.raises(ValueError, match=r"^off: an even number of nibble offsets"):
            _tmac.unit_offsets(wb, wl, True, np.zeros((k + 1, width), np.uint16), np.arange(k))
    for j in range(k):
        for p in range(n_in // 4):  # nibble p: inputs 4 p .. 4 p + 3
            wv = w[4 * p : 4 * p + 4, j]
            for u in range(16):  # any 4 inputs x in {-1, +1} (bit 1 = +1)
                x = np.array([1 if (u >> b) & 1 else -1 for b in range(4)])
                # popcount(l & (u ^ v)): the live weights the inputs disagree with
                assert _tmac.TABLES_MASKED[quad[j, p] + u] == np.sum((wv != 0) & (np.sign(wv) != x))
        for p in range(n_in // 2):  # pair p: inputs 2 p, 2 p + 1
            wv = w[2 * p : 2 * p + 2, j]
            for u in range(16):  # value bits x + 4 * live bits m of the two inputs
                xv = np.array(
                    [(1 if (u >> b) & 1 else -1) * ((u >> (2 + b)) & 1) for b in range(2)]
                )
                assert _tmac.TABLES_PAIRS[pair[j, p] + u] == xv @ np.sign(wv) + 2


@pytest.mark.parametrize("threads", [1, 2])
def test_select_errors_equals_the_rules(threads):
    from bnnlab.learn.local.rules import select_units, wrong_mask

    rng = np.random.default_rng(3)
    n, k, c, gamma, margin = 120, 12, 5, 3, 2  # about 90 wrong samples: parallel with 2
    s = rng.integers(-6, 7, size=(n, c)).astype(np.int32)
    y = rng.integers(0, c, size=n)
    h = rng.integers(-4, 5, size=(n, k)).astype(np.int32)
    heads = rng.choice(np.array([-1, 1], dtype=np.int8), size=(k, c))
    correct, wrong, widx, sel = _fused.select_errors(s, y, margin, h, heads, gamma, threads)
    assert len(widx) >= 32
    ref_wrong, pred = wrong_mask(s, y, margin)
    assert correct == int((pred == y).sum())
    np.testing.assert_array_equal(wrong, ref_wrong)
    np.testing.assert_array_equal(widx, np.flatnonzero(ref_wrong))
    m = select_units(h[ref_wrong], heads[:, y[ref_wrong]].T, gamma)
    for r in range(len(widx)):
        for g in range(k // gamma):
            units = np.flatnonzero(m[r, g * gamma : (g + 1) * gamma])
            assert sel[r, g] == (g * gamma + units[0] if len(units) else -1)


@pytest.mark.parametrize("zero", [True, False])
@pytest.mark.parametrize(("k", "threads"), [(10, 1), (200, 1), (200, 2), (200, 3)])
def test_update_columns_equals_the_dense_update_and_repacks(zero, k, threads):
    # k = 200: about 100 touched units, in 1, 2 or 3 chunks of at least 32
    rng = np.random.default_rng(7)
    n, n_in, c, step, gamma = 30, 100, 3, 2, 5
    x = rng.choice([-1, 0, 1], size=(n, n_in)) if zero else rng.choice([-1, 1], size=(n, n_in))
    w = np.asfortranarray(rng.integers(-3, 4, size=(n_in, k)).astype(np.int32))  # unit-major
    heads = rng.choice(np.array([-1, 1], dtype=np.int8), size=(k, c))
    y = rng.integers(0, c, size=n)
    widx = np.sort(rng.choice(n, size=12, replace=False)).astype(np.int64)
    offs = rng.integers(0, gamma, size=(widx.size, k // gamma))
    sel = (np.arange(k // gamma) * gamma + offs).astype(np.int32)  # one unit per group, or none
    sel[rng.random(sel.shape) < 0.6] = -1
    expected = w.astype(np.int64).copy()
    for r, i in enumerate(widx):
        for u in sel[r]:
            if u >= 0:
                expected[:, u] += step * heads[u, y[i]] * x[i]
    wbits, wlive = unit_major(w >= 0), unit_major(w != 0)
    xb = bits.pack(x >= 0, backend="numpy")
    xl = bits.pack(x != 0, backend="numpy")
    signed = sign0 if zero else (lambda v: np.where(v >= 0, 1, -1))
    sw = np.ascontiguousarray(signed(w).astype(np.int8))  # the row-major sign(W), kept in step
    cols = _fused.update_columns(
        w.T, wbits, wlive, zero, xb, xl, zero, widx, sel, heads, y, step, threads, sw
    )
    np.testing.assert_array_equal(w, expected)
    np.testing.assert_array_equal(cols, np.unique(sel[sel >= 0]))
    np.testing.assert_array_equal(wbits, unit_major(w >= 0))
    if zero:
        np.testing.assert_array_equal(wlive, unit_major(w != 0))
    np.testing.assert_array_equal(sw, signed(w))


@pytest.mark.parametrize("zero", ["plus", "zero"])
def test_reinforcement_at_flat_positions_in_either_layout(zero):
    # positions are row-major flat indices of (N, K) whatever the memory order of W
    from bnnlab.learn.local.engine import _reinforce_at

    rng = np.random.default_rng(3)
    w = rng.integers(-2, 3, size=(7, 5)).astype(np.int32)
    pos = np.array([0, 4, 5, 17, 34], dtype=np.int64)
    w.reshape(-1)[[0, 17]] = 0  # zero weights at two drawn positions: the sign(0) rule matters
    w.reshape(-1)[[4, 5]] = [-2, 1]
    expected = w.astype(np.int64).copy()
    for p in pos:
        i, j = divmod(int(p), 5)
        v = expected[i, j]
        expected[i, j] = v + 2 * (np.sign(v) if zero == "zero" else (1 if v >= 0 else -1))
    for order in ("C", "F"):
        got = np.asarray(w, order=order).copy(order=order)
        _reinforce_at(got, pos, 2, zero)
        np.testing.assert_array_equal(got, expected)
        got = np.asarray(w, order=order).copy(order=order)
        _fused.reinforce(got, pos, 2, zero == "zero", *NO_CLIP)  # the compiled step's version
        np.testing.assert_array_equal(got, expected)
    for dtype in (np.int32, np.int16):  # the compiled version specialises on the layout
        for order in ("C", "F", "strided"):
            base = np.zeros((14, 10), dtype=dtype)
            got = base[::2, ::2] if order == "strided" else np.zeros((7, 5), dtype, order=order)
            got[...] = w
            _fused.reinforce(got, pos, 2, zero == "zero", *NO_CLIP)
            np.testing.assert_array_equal(got, expected)
    base = np.zeros((14, 10), dtype=np.int32)
    base[::2, ::2] = w  # neither C nor Fortran order: written through the view
    _reinforce_at(base[::2, ::2], pos, 2, zero)
    np.testing.assert_array_equal(base[::2, ::2], expected)


@pytest.mark.parametrize("zero", [True, False])
@pytest.mark.parametrize("shape", [(784, 525), (70, 3), (1, 130), (65, 64)])
def test_compiled_reinforcement_many_positions_in_either_layout(zero, shape):
    # the bitmap pass in memory order: every drawn position exactly once, none other, either
    # layout; against a plain numpy oracle of W += 2 sign(W) at the row-major flat positions
    rng = np.random.default_rng(11)
    w = rng.integers(-3, 4, size=shape).astype(np.int32)
    for hits in (1, w.size // 7, w.size):
        pos = rng.choice(w.size, size=hits, replace=False)
        expected = w.astype(np.int64).reshape(-1).copy()
        v = expected[pos]
        expected[pos] = v + 2 * (np.sign(v) if zero else np.where(v >= 0, 1, -1))
        for order in ("C", "F"):
            got = np.asarray(w, order=order).copy(order=order)
            _fused.reinforce(got, pos.astype(np.int64), 2, zero, *NO_CLIP)
            np.testing.assert_array_equal(got.reshape(-1), expected)


@pytest.mark.parametrize("zero", [True, False])
@pytest.mark.parametrize("buffered", [False, True])
@pytest.mark.parametrize("threads", [1, 2])
def test_reinforcement_drawn_in_the_kernel_is_numpys_choice(zero, buffered, threads):
    # the kernel's own draw: numpy's choice(size, hits, replace=False, shuffle=False) positions,
    # the generator left where choice leaves it, W += 2 sign(W) there and clipped to [lo, hi]
    from bnnlab.learn.local.rules import _same

    rng = np.random.default_rng(21)
    w = np.asfortranarray(rng.integers(-5, 6, size=(131, 70)).astype(np.int32))
    for hits in (1, 17, 400, 3000):  # 3000: applied in parallel with 2 threads
        a, b = np.random.default_rng(hits), np.random.default_rng(hits)
        if buffered:  # a buffered 32-bit half in both
            a.integers(0, 9, dtype=np.uint32)
            b.integers(0, 9, dtype=np.uint32)
        pos = a.choice(w.size, size=hits, replace=False, shuffle=False)
        expected = w.astype(np.int64).reshape(-1).copy()
        v = expected[pos]
        expected[pos] = np.clip(v + 2 * (np.sign(v) if zero else np.where(v >= 0, 1, -1)), -6, 5)
        got = w.copy(order="F")
        with b.bit_generator.lock:
            _fused.reinforce_drawn(
                got, b.bit_generator.ctypes.bit_generator.value, hits, 2, zero, -6, 5, threads
            )
        np.testing.assert_array_equal(got.reshape(-1), expected)
        assert _same(a.bit_generator.state, b.bit_generator.state)


@pytest.mark.parametrize("zero", [True, False])
@pytest.mark.parametrize(
    ("shape", "threshold"),
    [((131, 70), 0), ((131, 70), 1 << 31), ((131, 100), 1 << 25), ((100, 131), 3 << 28),
     ((7, 9), 1 << 31)],
)  # fmt: skip
def test_reinforcement_field_in_the_kernel_is_numpys_draws(zero, shape, threshold):
    # the whole field drawn in the kernel: numpy's binomial, then choice's positions where numpy
    # takes Floyd's branch (always at 9 170 and 63 weights, even with half of them hit); on
    # numpy's tail-shuffle branch (size > 10 000, hits > size // 20: 3/16 of 13 100 weights)
    # the kernel returns the hits and has placed nothing
    from bnnlab.learn.local.rules import _same

    rng = np.random.default_rng(4)
    w = np.asfortranarray(rng.integers(-5, 6, size=shape).astype(np.int32))
    a, b = np.random.default_rng(threshold), np.random.default_rng(threshold)
    hits = int(a.binomial(w.size, threshold / 2**32))
    tail = w.size > 10_000 and hits > w.size // 20
    expected = w.astype(np.int64).reshape(-1).copy()
    if not tail and hits:
        pos = a.choice(w.size, size=hits, replace=False, shuffle=False)
        v = expected[pos]
        expected[pos] = np.clip(v + 2 * (np.sign(v) if zero else np.where(v >= 0, 1, -1)), -6, 5)
    got = w.copy(order="F")
    with b.bit_generator.lock:
        left = _fused.reinforce_field(
            got, b.bit_generator.ctypes.bit_generator.value, threshold, 2, zero, -6, 5, 1
        )
    assert left == (hits if tail else -1)
    np.testing.assert_array_equal(got.reshape(-1), expected)
    assert _same(a.bit_generator.state, b.bit_generator.state)


def test_phase_timers_split_a_call_by_its_ticks():
    from bnnlab.learn import LocalBinaryConfig, LocalBinaryLearner
    from bnnlab.learn.local.base import Timers

    tm = Timers()
    t0 = time.perf_counter() - 1.0
    tm.split(t0, {"forward": 3, "selection": 0, "update": 1})
    assert tm["selection"] == 0.0 and 2.9 < tm["forward"] / tm["update"] < 3.1
    assert 0.99 < tm["forward"] + tm["update"] < 1.5
    tm.split(time.perf_counter() - 1.0, {"a": 0, "b": 0})  # no ticks: all to the first phase
    assert tm["a"] >= 1.0 and tm["b"] == 0.0
    rng = np.random.default_rng(2)
    x = rng.choice(np.array([-1, 1], dtype=np.int8), size=(200, 70))
    y = rng.integers(0, 3, size=200)
    cfg = LocalBinaryConfig(n_features=70, n_classes=3, layers=(64, 64), batch_size=50)
    model = LocalBinaryLearner(cfg, seed=0, backend="numba")
    model.fit(x, y, epochs=1)
    assert set(model.timers) == {"forward", "selection", "update", "reinforcement"}
    assert all(v > 0 for v in model.timers.values())


def test_clipped_reinforcement_and_unit_clip():
    # the compiled step clips only what can leave the bounds: the reinforced entries as they are
    # reinforced, the touched units' rows after the update
    rng = np.random.default_rng(12)
    w = rng.integers(-6, 7, size=(9, 5)).astype(np.int32)
    pos = rng.choice(w.size, size=20, replace=False).astype(np.int64)
    expected = w.astype(np.int64).reshape(-1).copy()
    expected[pos] = np.clip(expected[pos] + 2 * np.sign(expected[pos]), -4, 5)
    got = np.asfortranarray(w)
    _fused.reinforce(got, pos, 2, True, -4, 5)
    np.testing.assert_array_equal(got.reshape(-1), expected)
    wt = rng.integers(-9, 10, size=(5, 9)).astype(np.int32)
    cols = np.array([1, 3], dtype=np.int64)
    expected = wt.copy()
    expected[cols] = np.clip(wt[cols], -4, 5)
    _fused.clip_units(wt, cols, -4, 5)
    np.testing.assert_array_equal(wt, expected)


def test_fused_learner_holds_its_hidden_weights_unit_major(tmp_path):
    from bnnlab.learn import LocalBinaryConfig, LocalBinaryLearner

    rng = np.random.default_rng(0)
    x = rng.choice(np.array([-1, 1], dtype=np.int8), size=(60, 70))
    y = rng.integers(0, 3, size=60)
    cfg = LocalBinaryConfig(n_features=70, n_classes=3, layers=(15, 15), batch_size=20)
    model = LocalBinaryLearner(cfg, seed=0, backend="numba")
    assert all(w.flags.f_contiguous for w in model.hidden)
    model.fit(x, y, epochs=1)
    assert all(w.flags.f_contiguous for w in model.hidden)
    arrays, meta = model.state_dict()
    again = LocalBinaryLearner(cfg, seed=1, backend="numba")
    again.load_state_dict({k: np.ascontiguousarray(v) for k, v in arrays.items()}, meta)
    assert all(w.flags.f_contiguous for w in again.hidden)
    for a, b in zip(model.hidden, again.hidden, strict=True):
        np.testing.assert_array_equal(a, b)


def test_threads_change_nothing_but_the_schedule():
    from bnnlab.learn import LocalBinaryConfig, LocalBinaryLearner

    rng = np.random.default_rng(1)
    x = rng.choice(np.array([-1, 1], dtype=np.int8), size=(200, 130))
    y = rng.integers(0, 4, size=200)
    cfg = LocalBinaryConfig(n_features=130, n_classes=4, layers=(256, 128), batch_size=100)
    runs = []
    for threads in (1, 2):
        model = LocalBinaryLearner(cfg, seed=3, backend="numba", threads=threads)
        model.fit(x, y, epochs=2)
        runs.append(model)
    for a, b in zip(runs[0].hidden, runs[1].hidden, strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="threads"):
        LocalBinaryLearner(cfg, seed=3, backend="numba", threads=0)


def test_float_divmod_is_exact_at_every_boundary():
    from numba import njit

    @njit
    def run(p, k):
        inv = 1.0 / k
        q = np.empty_like(p)
        r = np.empty_like(p)
        for t in range(p.shape[0]):
            q[t], r[t] = _fused._divmod(p[t], k, inv)
        return q, r

    for k in (1, 3, 7, 64, 525, 1035, 999_983):
        i = np.arange(0, 4000, dtype=np.int64)
        p = np.concatenate([i * k - 1, i * k, i * k + 1, (i + 2**20) * k - 1, (i + 2**20) * k])
        p = p[p >= 0]
        q, r = run(p, k)
        eq, er = np.divmod(p, k)
        np.testing.assert_array_equal(q, eq)
        np.testing.assert_array_equal(r, er)
