"""Machine facts for the bit-kernel benchmarks: popcount peak measured at run time, BLAS, CPU model.

The popcount peak is the throughput of the GEMM's own inner instruction sequence (the register
tile the GEMM runs on this CPU for a large product: the AVX2 table-lookup tile of
``bnnlab.bits._tmac``, the AVX2 nibble-lookup tile of ``bnnlab.bits._lut``, or LLVM ``ctpop`` in
``bnnlab.bits._numba._rows``) on operands that stay in L1, one independent copy per thread, so
that nothing but that sequence limits it. A kernel reaching it would be bound by
the popcount instructions alone; the fraction of it that a GEMM reaches shows what cache traffic,
edges and threading cost. Nothing is hard-coded.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time

import numba
import numpy as np
from numba import njit, prange

from bnnlab.bits import _lut, _tmac
from bnnlab.bits import _numba as nbk

_L1_ROWS = 8  # rows of A and of B in the L1-resident problem
# words per row, as in the 1024 x 1024 x 4096 benchmark: with both nibble halves of A and B,
# 4 * 8 * 64 * 8 B = 16 KiB, inside a 32 KiB L1d
_L1_WORDS = 64


@njit(cache=True, parallel=True)
def _peak_kernel(a, b, lut, out, bits, th, reps):
    n_threads = a.shape[0]
    k = np.int64(64 * a.shape[2])
    for p in prange(n_threads):
        halves = (*_lut.split(a[p]), *_lut.split(b[p]))
        for _ in range(reps):
            nbk._rows(a[p], b[p], halves, lut, k, out[p], bits, th, False, 0, a.shape[1],
                      b.shape[1])  # fmt: skip


# the table-lookup tile: one group of 4 row vectors (128 rows) of 12 words (192 nibble steps,
# 128 x 192 B = 24 KiB of A, inside a 32 KiB L1d) against _TMAC_COLS columns
_TMAC_WORDS = 12
_TMAC_COLS = 8


@njit(cache=True, parallel=True)
def _peak_tmac(ax, bn, tabs, reps):
    for p in prange(ax.shape[0]):
        dst = np.zeros((64, _tmac.GROUP * _tmac.BLOCK), dtype=np.int32)  # column-major
        for _ in range(reps):
            for j in range(0, bn.shape[1], _tmac.COLS):
                _tmac.tile4(ax[p], bn[p], tabs, 0, j, 0, bn.shape[2], dst, j)


def _tmac_operands(threads: int):
    rng = np.random.default_rng(0)
    rows = _tmac.GROUP * _tmac.BLOCK
    ax = np.empty((threads, 1, rows * 16 * _TMAC_WORDS), dtype=np.uint8)
    bn = np.empty((threads, _TMAC_COLS, 16 * _TMAC_WORDS), dtype=np.uint8)
    for p in range(threads):
        a = rng.integers(0, 2**63, size=(rows, _TMAC_WORDS), dtype=np.uint64)
        b = rng.integers(0, 2**63, size=(_TMAC_COLS, _TMAC_WORDS), dtype=np.uint64)
        _tmac.nibble_rows(a, ax[p])
        _tmac.nibble_cols(b, bn[p])
    return ax, bn, rows * _TMAC_COLS * _TMAC_WORDS


def gemm_kernel() -> str:
    """The tile the numba GEMM runs on this CPU for a 1024 x 1024 product: ``"tmac"``, ``"lut"``
    or ``"ctpop"``."""
    return nbk._kernel(None, 1024, 1024)


def popcount_peak(threads: int, *, seconds: float = 0.3, repeats: int = 5) -> float:
    """Best XOR+popcount word throughput (words/s) of the GEMM inner loop on L1-resident data.

    The best of ``repeats`` runs, not the median: a peak is what the machine can do, and on a shared
    machine slower runs only measure the other tenants.
    """
    kernel = gemm_kernel()
    if kernel == "tmac":
        ax, bn, words_per_rep = _tmac_operands(threads)

        def run(reps):
            _peak_tmac(ax, bn, _tmac.TABLES, reps)
    else:
        lut = kernel == "lut"
        rng = np.random.default_rng(0)
        shape = (threads, _L1_ROWS, _L1_WORDS)
        a = rng.integers(0, 2**63, size=shape, dtype=np.uint64)
        b = rng.integers(0, 2**63, size=shape, dtype=np.uint64)
        out = np.empty((threads, _L1_ROWS, _L1_ROWS), dtype=np.int32)
        words_per_rep = _L1_ROWS * _L1_ROWS * _L1_WORDS
        unused = (np.zeros((1, 1), dtype=np.uint64), np.zeros(1, dtype=np.int32))

        def run(reps):
            _peak_kernel(a, b, lut, out, *unused, reps)

    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        run(1)
        reps = 64
        while True:  # calibrate to ~seconds / repeats per measurement
            t0 = time.perf_counter()
            run(reps)
            dt = time.perf_counter() - t0
            if dt > seconds / repeats or reps > 1 << 24:
                break
            reps *= 4
        rates = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            run(reps)
            rates.append(threads * reps * words_per_rep / (time.perf_counter() - t0))
    finally:
        numba.set_num_threads(previous)
    return float(np.max(rates))


def cpu_model() -> str:
    """CPU model name as ``lscpu`` reports it (falls back to /proc/cpuinfo, then platform)."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def simd_flags() -> str:
    """Which popcount-relevant ISA extensions LLVM sees on this host."""
    import llvmlite.binding as ll

    feats = ll.get_host_cpu_features()
    names = ("popcnt", "avx2", "avx512f", "avx512vpopcntdq", "avx512bw")
    return f"{ll.get_host_cpu_name()} " + " ".join(n for n in names if feats.get(n))


def blas_info() -> str:
    """The BLAS numpy uses, as threadpoolctl reports it (library, kernel architecture, threads)."""
    from threadpoolctl import threadpool_info

    rows = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    mine = [i for i in rows if "numpy" in str(i.get("filepath", ""))] or rows  # numpy's own BLAS
    return "; ".join(
        f"{i.get('internal_api')} {i.get('version')} kernel={i.get('architecture')} "
        f"threads={i.get('num_threads')}"
        for i in mine
    )


_SUBPROCESS_MATMUL = """
import json, sys, time
import numpy as np
from threadpoolctl import threadpool_info
m, n, k, reps = map(int, sys.argv[1:5])
a = np.ones((m, k), dtype=np.float32); b = np.ones((k, n), dtype=np.float32)
a[::3] = -1.0
a @ b
ts = []
for _ in range(reps):
    t0 = time.perf_counter(); a @ b; ts.append(time.perf_counter() - t0)
arch = [i.get("architecture") for i in threadpool_info() if "numpy" in str(i.get("filepath"))]
print(json.dumps({"seconds": sorted(ts)[len(ts) // 2], "kernel": arch}))
"""


def matmul_f32_without_coretype(m: int, n: int, k: int, reps: int = 3) -> dict | None:
    """float32 matmul timing in a subprocess with ``OPENBLAS_CORETYPE`` unset (None if not set)."""
    if "OPENBLAS_CORETYPE" not in os.environ:
        return None
    env = {key: v for key, v in os.environ.items() if key != "OPENBLAS_CORETYPE"}
    out = subprocess.run(
        [sys.executable, "-c", _SUBPROCESS_MATMUL, str(m), str(n), str(k), str(reps)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def median_seconds(fn, *, repeats: int = 3, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` over ``repeats`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))
