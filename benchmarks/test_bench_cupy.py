"""GPU (cupy backend) benchmarks, each against the obvious cupy alternative in the same run.

Skipped without cupy or a CUDA device. Run with ``nox -s bench`` (or
``pytest benchmarks/test_bench_cupy.py --benchmark-only -s``). Printed, with the GPU model:

* XNOR/popcount GEMM (the backend call, i.e. the kernel launch; and the public call, which adds the
  argument checks, among them a device-to-host read of the padding check) at the CPU issue's shapes,
  its effective binary MAC/s (M N K / t), and the ratio to ``cupy.matmul`` of the equivalent ±1
  matrices in float32 (cuBLAS; TF32 only if ``CUPY_TF32=1``) and in int8 (cupy's integer matmul;
  its int8 result wraps for K > 127, so it is a timing reference only);
* the fused sign kernel at the same shapes (packed output);
* the saturating update ``H += X^T E`` at the training shape (B = 100, N_in = 784, N_out = 525)
  against the float32 product ``X^T E``;
* one epoch of the bit-packed local-binary learner (784 -> 525 -> 525, batch 100) on the 10000
  embedded Fashion-MNIST training images, on the GPU and, for the ratio, on the CPU (numba).

Device times are medians of CUDA-event timings after warm-up; the pytest-benchmark records time the
backend call followed by a device synchronisation.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # importlib import mode: make _peak importable
from _peak import cpu_model

from bnnlab import bits as B

cp = pytest.importorskip("cupy", reason="cupy not installed: GPU benchmarks skipped")
try:
    _N_DEVICES = cp.cuda.runtime.getDeviceCount()
except Exception:  # no driver, or a broken CUDA install
    _N_DEVICES = 0
if _N_DEVICES == 0:
    pytest.skip("no CUDA device: GPU benchmarks skipped", allow_module_level=True)

_cupy = importlib.import_module("bnnlab.bits._cupy")  # the backend's protocol functions

pytestmark = [pytest.mark.bench, pytest.mark.gpu]

GEMM_SHAPES = {
    "1024x1024x4096": (1024, 1024, 4096),
    "2048x2048x8192": (2048, 2048, 8192),
    "conv12544x256x2304": (12544, 256, 2304),
}


def gpu_model() -> str:
    props = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)
    name = props["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def device_seconds(fn, *, repeats: int = 10, warmup: int = 2) -> float:
    """Median device time of ``fn()`` (CUDA events on the current stream) after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start, end = cp.cuda.Event(), cp.cuda.Event()
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(cp.cuda.get_elapsed_time(start, end) / 1e3)
    return float(np.median(times))


def _record(benchmark, fn, rounds: int = 5) -> None:
    def synced():
        fn()
        cp.cuda.Device().synchronize()

    benchmark.pedantic(synced, rounds=rounds, iterations=1, warmup_rounds=1)


def _pm1(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    return rng.choice(np.array([-1, 1], dtype=np.int8), size=shape)


def _header(what: str) -> None:
    tf32 = os.environ.get("CUPY_TF32", "(unset)")
    print(f"\n[cupy bench] {what} on {gpu_model()}; cupy {cp.__version__}; CUPY_TF32={tf32}")


@pytest.mark.parametrize("name", list(GEMM_SHAPES))
def test_bench_gemm(benchmark, name):
    m, n, k = GEMM_SHAPES[name]
    rng = np.random.default_rng(0)
    x, y = _pm1(rng, (m, k)), _pm1(rng, (n, k))
    a, b = cp.asarray(B.pack(x)), cp.asarray(B.pack(y))
    out = cp.empty((m, n), dtype=cp.int32)
    sign_out = cp.empty((m, B.n_words(n)), dtype=cp.uint64)
    thr = cp.zeros(n, dtype=cp.int32)
    xf, yf = cp.asarray(x, dtype=cp.float32), cp.asarray(y, dtype=cp.float32)
    x8, y8 = cp.asarray(x), cp.asarray(y)

    t_xnor = device_seconds(lambda: _cupy.xnor_gemm(a, b, k, out))
    t_public = device_seconds(lambda: B.xnor_gemm(a, b, k, out=out), repeats=5)
    t_sign = device_seconds(lambda: _cupy.xnor_gemm_sign(a, b, k, thr, sign_out))
    t_f32 = device_seconds(lambda: cp.matmul(xf, yf.T))
    t_i8 = device_seconds(lambda: cp.matmul(x8, y8.T), repeats=3)
    assert bool((out == cp.matmul(xf, yf.T).astype(cp.int32)).all())  # exact, same data
    _record(benchmark, lambda: _cupy.xnor_gemm(a, b, k, out))

    macs = m * n * k
    _header(f"GEMM {name}")
    print(
        f"[cupy bench]   xnor kernel {t_xnor * 1e3:9.3f} ms = {macs / t_xnor / 1e12:8.2f} T binary "
        f"MAC/s | public call {t_public * 1e3:9.3f} ms | fused sign {t_sign * 1e3:9.3f} ms"
    )
    print(
        f"[cupy bench]   float32 matmul {t_f32 * 1e3:9.3f} ms -> xnor is {t_f32 / t_xnor:6.2f}x "
        f"| int8 matmul {t_i8 * 1e3:9.3f} ms -> xnor is {t_i8 / t_xnor:6.2f}x"
    )


def test_bench_update(benchmark):
    batch, n_in, n_out = 100, 784, 525
    rng = np.random.default_rng(1)
    x = _pm1(rng, (batch, n_in))
    # the learner's error matrix: a few selected units per sample (group size 105 -> <= 5 of 525)
    e = np.zeros((batch, n_out), dtype=np.int8)
    for row in e:
        cols = rng.choice(n_out, size=5, replace=False)
        row[cols] = rng.choice(np.array([-1, 1], dtype=np.int8), size=5)
    dense_e = rng.integers(-1, 2, size=(batch, n_out)).astype(np.int8)
    xp_, h = cp.asarray(B.pack(x)), cp.zeros((n_in, n_out), dtype=cp.int16)
    xf = cp.asarray(x, dtype=cp.float32)
    lo, hi = -1000, 1000
    times = {}
    for label, ev in (("sparse E", e), ("dense E", dense_e)):
        de, ef = cp.asarray(ev), cp.asarray(ev, dtype=cp.float32)
        times[label] = (
            device_seconds(lambda de=de: _cupy.outer_update(h, xp_, de, 1, lo, hi)),
            device_seconds(lambda ef=ef: cp.matmul(xf.T, ef)),
        )
    _record(benchmark, lambda: _cupy.outer_update(h, xp_, cp.asarray(e), 1, lo, hi))
    _header(f"update H += X^T E, B={batch}, N_in={n_in}, N_out={n_out}, int16, saturating")
    for label, (t_upd, t_f32) in times.items():
        print(
            f"[cupy bench]   {label}: update {t_upd * 1e6:9.1f} us | float32 X^T E "
            f"{t_f32 * 1e6:9.1f} us -> ratio {t_f32 / t_upd:6.2f}x"
        )


def test_bench_local_binary_epoch(benchmark):
    lb = pytest.importorskip("bnnlab.learn.local.local_binary")
    from bnnlab.data import load
    from bnnlab.data.binarize import global_median

    images, labels = load("fashion-mnist-mini", "train")
    x, _ = global_median(images.reshape(len(images), -1))
    cfg = lb.LocalBinaryConfig(n_features=784, n_classes=10, layers=(525, 525), batch_size=100)

    def epoch(device: str) -> float:
        model = lb.LocalBinaryLearner(cfg, seed=0, backend={"cpu": "numba", "cuda": "cupy"}[device])
        model.fit(x, labels, epochs=1)  # warm-up: compiles kernels, fills caches
        if device == "cuda":
            cp.cuda.Device().synchronize()
        t0 = time.perf_counter()
        model.fit(x, labels, epochs=1)
        if device == "cuda":
            cp.cuda.Device().synchronize()
        return time.perf_counter() - t0

    t_gpu = epoch("cuda")
    t_cpu = epoch("cpu")
    model = lb.LocalBinaryLearner(cfg, seed=0, backend="cupy")
    benchmark.pedantic(lambda: model.fit(x, labels, epochs=1), rounds=2, iterations=1)
    _header(f"local-binary epoch, {len(x)} images, 784-525-525")
    print(
        f"[cupy bench]   GPU {t_gpu:7.2f} s | CPU ({cpu_model()}, {os.cpu_count()} cores, "
        f"numba) {t_cpu:7.2f} s -> GPU is {t_cpu / t_gpu:6.2f}x"
    )
