"""The AVX2 nibble-lookup GEMM tile (bnnlab.bits._lut) against the numpy oracle, and its gate."""

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import llvmlite.binding as ll
import numpy as np
import pytest

from bnnlab.bits import _lut, _numba, _numpy

sys.path.insert(0, str(Path(__file__).parent))
from gemm_cases import check_against_the_oracle, needs_avx2, operands

# (M, N, K): one tile; ragged edges (M % 4, N % 2, words % 4); byte counters at 31 vector steps
# (one full chunk), 32 (a chunk and one step), 62, 63 (two chunks and a bit); wide products
SHAPES = [
    (4, 2, 64),
    (5, 3, 65),
    (9, 7, 130),
    (3, 9, 300),
    (17, 33, 31 * 256),
    (8, 4, 32 * 256),
    (12, 6, 62 * 256),
    (6, 5, 63 * 256 - 7),
    (64, 64, 4096),
]


@needs_avx2
@pytest.mark.parametrize("m,n,k", SHAPES)
@pytest.mark.parametrize("pattern", ["random", "opposite", "equal"])
def test_lookup_tile_gemm_and_sign_match_the_oracle(m, n, k, pattern, rng):
    check_against_the_oracle(m, n, k, pattern, rng, "lut")


@needs_avx2
def test_lookup_tile_threaded_matches_serial(monkeypatch, rng):
    a, b = operands(37, 21, 1000, "random", rng)
    serial = _numba.xnor_gemm(a, b, 1000, np.empty((37, 21), dtype=np.int32), kernel="lut")
    monkeypatch.setattr(_numba, "_PARALLEL_MIN_WORDS", 1)
    threaded = _numba.xnor_gemm(a, b, 1000, np.empty((37, 21), dtype=np.int32), kernel="lut")
    assert np.array_equal(serial, threaded)
    assert np.array_equal(serial, _numpy.xnor_gemm(a, b, 1000, np.empty((37, 21), np.int32)))


def test_split_halves_and_padding(rng):
    a = rng.integers(0, 2**63, size=(3, 5), dtype=np.uint64)
    lo, hi = _lut.split(a)
    assert lo.shape == hi.shape == (3, 8)  # padded to a multiple of 4 words, with zeros
    assert not lo[:, 5:].any() and not hi[:, 5:].any()
    assert np.array_equal(lo[:, :5] | (hi[:, :5] << np.uint64(4)), a)
    assert not (lo & np.uint64(0xF0F0F0F0F0F0F0F0)).any()
    assert not (hi & np.uint64(0xF0F0F0F0F0F0F0F0)).any()


def test_kernel_choice():
    isa = _lut.target_isa()
    host = ll.get_host_cpu_features()  # an independent reading of the host (no NUMBA_CPU_NAME)
    if not os.environ.get("NUMBA_CPU_NAME"):
        assert isa["avx2"] == bool(host.get("avx2"))
        assert isa["avx512vpopcntdq"] == bool(host.get("avx512vpopcntdq"))
    want = "lut" if isa["avx2"] and not isa["avx512vpopcntdq"] else "ctpop"
    assert _numba._kernel(None, 4, 2) == want
    assert _numba._kernel("lut", 3, 2) == _numba._kernel("lut", 4, 1) == "ctpop"  # no full tile
    with pytest.raises(ValueError, match=r"^kernel: expected 'tmac', 'lut', 'ctpop' or None"):
        _numba._kernel("avx", 4, 2)


@pytest.mark.slow
@pytest.mark.parametrize(
    "cpu,avx2,vpopcntdq",
    [("haswell", True, False), ("znver4", True, True), ("x86-64", False, False)],
)
def test_target_isa_follows_numba_cpu_name(cpu, avx2, vpopcntdq, tmp_path):
    code = "import json; from bnnlab.bits import _lut; print(json.dumps(_lut.target_isa()))"
    env = dict(os.environ, NUMBA_CPU_NAME=cpu, NUMBA_CPU_FEATURES="", NUMBA_CACHE_DIR=str(tmp_path))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    isa = json.loads(out.stdout.strip().splitlines()[-1])
    assert isa == {"avx2": avx2, "avx512vpopcntdq": vpopcntdq}


@pytest.mark.slow
def test_lookup_tile_on_a_target_without_avx2_falls_back_to_scalar_popcounts(tmp_path):
    # compiled for generic x86-64 (no AVX2) and run here: the tiles' portable code paths, forced
    # (the nibble-lookup and the table-lookup GEMM tiles, the learner's forward tiles)
    code = """
import json, numpy as np
from bnnlab.bits import _lut, _numba, _numpy, pack
rng = np.random.default_rng(5)
ok = []
for m, n, k in [(4, 2, 64), (9, 7, 130), (12, 6, 2100)]:
    a, b = pack(rng.random((m, k)) < 0.5), pack(rng.random((n, k)) < 0.5)
    want = _numpy.xnor_gemm(a, b, k, np.empty((m, n), dtype=np.int32))
    for kernel in ("lut", "tmac"):
        got = _numba.xnor_gemm(a, b, k, np.empty((m, n), dtype=np.int32), kernel=kernel)
        ok.append(bool(np.array_equal(got, want)))
# the learner's forward tiles (every mask mode) against LLVM ctpop row by row
from bnnlab.learn.local import _fused
xb, xl = rng.integers(0, 2**63, size=(2, 9, 3), dtype=np.uint64)
wb, wl = rng.integers(0, 2**63, size=(2, 3, 11), dtype=np.uint64)
hb = rng.integers(0, 2**63, size=(4, 1), dtype=np.uint64)
from bnnlab.bits import _tmac
for masks in [(False, False), (True, False), (False, True), (True, True)]:
    args = (xb, xl, masks[0], wb, wl, masks[1], 192, hb, True, 1)
    a = _fused.forward_layer(*args, _lut.FORWARD_ROWS)
    for kernel in (_lut.FORWARD_NIBBLES, _lut.FORWARD_WORDS):
        b = _fused.forward_layer(*args, kernel)
        ok.append(all(bool(np.array_equal(p, q)) for p, q in zip(a, b)))
    pairs = masks[0]
    off = np.zeros((12, (32 if pairs else 16) * 3), dtype=np.uint8 if pairs else np.uint16)
    _tmac.unit_offsets(wb, wl, masks[1], off, np.arange(11))
    tabs = _tmac.TABLES_PAIRS if pairs else _tmac.TABLES_MASKED
    c = _fused.forward_tables(*args, off, tabs, np.zeros((0, 0), dtype=np.int8))
    ok.append(all(bool(np.array_equal(p, q)) for p, q in zip(a, c)))
# the sign words' portable lowering (no saturating packs) against a bit loop
from numba import njit
signs = njit(lambda row, base: _numba.pack_signs64(row, base))
row = rng.integers(-3, 4, size=128).astype(np.int32)
row[70:76] = [2**16, -(2**16), 256, -256, 2**31 - 1, -(2**31)]
row16 = row.astype(np.int16)  # the int16 hidden weights' rows (2**16 wraps to 0, kept: 0)
for r in (row, row16):
    for base in (0, 64, 13):
        ge, ne = signs(r, base)
        seg = r[base : base + 64]
        ok.append(int(ge) == sum(1 << b for b in range(64) if seg[b] >= 0)
                  and int(ne) == sum(1 << b for b in range(64) if seg[b] != 0))
print(json.dumps({"isa": _lut.target_isa(), "kernel": _numba._kernel(None, 4, 2), "ok": ok}))
"""
    env = dict(
        os.environ, NUMBA_CPU_NAME="x86-64", NUMBA_CPU_FEATURES="", NUMBA_CACHE_DIR=str(tmp_path)
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    rep = json.loads(out.stdout.strip().splitlines()[-1])
    assert rep["isa"]["avx2"] is False and rep["kernel"] == "ctpop"
    assert rep["ok"] == [True] * 24


def test_pack_signs64_against_a_bit_loop(rng):
    from numba import njit

    @njit
    def packed(row, base):
        return _numba.pack_signs64(row, base)

    row = rng.integers(-3, 4, size=200).astype(np.int32)
    row[[0, 63, 64, 127]] = [0, -1, 0, 5]
    row[130:140] = np.iinfo(np.int32).min  # the sign bit alone
    # values whose low 16 or 8 bits are 0 or whose sign a plain truncation would change: the
    # AVX2 path narrows by saturating packs, which must keep sign and non-zero-ness
    big = [2**16, -(2**16), 2**31 - 1, 256, -256, 2**15, -(2**15) - 1, 128, -129, 0x7FFF0000]
    row[150 : 150 + len(big)] = big
    row[170:180] = rng.integers(-(2**31), 2**31, size=10)
    # int16 rows (the learner's narrow hidden weights): the same values where they fit, the
    # int16 extremes and values whose low byte is 0
    row16 = np.clip(row, -(2**15), 2**15 - 1).astype(np.int16)
    row16[185:195] = [256, -256, 2**15 - 1, -(2**15), 128, -129, 0x7F00, -0x7F00, 1, -1]
    for r in (row, row16):
        for base in (0, 1, 64, 100, 136, 130, 136):
            ge, ne = packed(r, base)
            seg = r[base : base + 64]
            assert int(ge) == sum(1 << b for b in range(64) if seg[b] >= 0), (r.dtype, base)
            assert int(ne) == sum(1 << b for b in range(64) if seg[b] != 0), (r.dtype, base)


def test_sign_words_on_the_last_partial_word(rng):
    # fewer than 64 entries left: from the row's last 64 entries shifted down (rows of 64 or
    # more), or entry by entry (shorter rows); the bits past the row's end are 0
    from numba import njit

    @njit
    def words(row, base):
        return _numba.sign_words(row, base)

    for n, dtype in itertools.product(
        (1, 13, 63, 64, 65, 100, 128, 129, 784), (np.int32, np.int16)
    ):
        row = rng.integers(-2, 3, size=n).astype(dtype)
        for base in range(0, n, 64):
            ge, ne = words(row, base)
            seg = row[base : base + 64]
            assert int(ge) == sum(1 << b for b in range(len(seg)) if seg[b] >= 0), (n, base)
            assert int(ne) == sum(1 << b for b in range(len(seg)) if seg[b] != 0), (n, base)
