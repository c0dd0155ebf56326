"""The cupy backend on a real GPU, bit for bit against the numpy oracle (skipped without a GPU).

Every public kernel of :mod:`bnnlab.bits` is called with cupy arrays (``backend="auto"`` must pick
``cupy``), on the adversarial shapes of the CPU tests and on shapes that fill many default tiles; the
results must be cupy arrays equal to ``backend="numpy"`` on the host copies. The backend functions
must not synchronise with the host (no hidden transfer), mixed numpy/cupy calls must raise
``TypeError``, and the bit-packed local-binary learner must train identically on both devices.
"""

from __future__ import annotations

import numpy as np
import pytest

from bnnlab import bits as B
from bnnlab.bits import _dispatch

pytestmark = pytest.mark.gpu

KS = (1, 63, 64, 65, 127, 1000)
PATTERNS = ("plus", "minus", "alternating", "random")
SHAPES = ((1, 1), (5, 3), (7, 70), (33, 65), (130, 257))


@pytest.fixture(scope="module")
def cp():
    import cupy

    return cupy


def _pm1(pattern: str, rows: int, k: int, rng: np.random.Generator, shift: int = 0) -> np.ndarray:
    if pattern == "plus":
        return np.ones((rows, k), dtype=np.int8)
    if pattern == "minus":
        return -np.ones((rows, k), dtype=np.int8)
    if pattern == "alternating":
        phase = np.arange(rows)[:, None] + np.arange(k)[None, :] + shift
        return np.where(phase % 2 == 0, 1, -1).astype(np.int8)
    return rng.choice(np.array([-1, 1], dtype=np.int8), size=(rows, k))


def _same(got, want, cp) -> None:
    assert isinstance(got, cp.ndarray)
    assert got.dtype == want.dtype
    assert np.array_equal(cp.asnumpy(got), want)


def test_auto_picks_cupy(cp):
    from bnnlab.bits import _cupy

    assert _dispatch.resolve("auto", cp.zeros(3)) is _cupy
    assert "cupy" in B.available_backends()


@pytest.mark.parametrize("k", KS)
@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize(("m", "n"), SHAPES)
def test_gemm_and_sign(cp, rng, m, n, k, pattern):
    x, y = _pm1(pattern, m, k, rng), _pm1(pattern, n, k, rng, shift=1)
    a, b = B.pack(x, backend="numpy"), B.pack(y, backend="numpy")
    da, db = cp.asarray(a), cp.asarray(b)
    _same(B.pack(cp.asarray(x)), a, cp)
    want = B.xnor_gemm(a, b, k, backend="numpy")
    _same(B.xnor_gemm(da, db, k), want, cp)
    out = cp.full((m, n), 7, dtype=cp.int32)
    assert B.xnor_gemm(da, db, k, out=out) is out
    _same(out, want, cp)
    thr = (want[0] + (np.arange(n) % 3) - 1).astype(np.int32)
    _same(B.xnor_gemm_sign(da, db, k), B.xnor_gemm_sign(a, b, k, backend="numpy"), cp)
    _same(
        B.xnor_gemm_sign(da, db, k, thresholds=cp.asarray(thr)),
        B.xnor_gemm_sign(a, b, k, thresholds=thr, backend="numpy"),
        cp,
    )


@pytest.mark.parametrize("k", KS)
def test_pack_unpack_popcounts(cp, rng, k):
    x = _pm1("random", 3 * 37, k, rng).reshape(3, 37, k)
    for axis in (-1, 1, 0):
        want = B.pack(x, axis=axis, backend="numpy")
        got = B.pack(cp.asarray(x), axis=axis)
        _same(got, want, cp)
        length = x.shape[axis]
        _same(B.unpack(got, length, axis=axis), x, cp)
    w = B.pack(x, backend="numpy")
    dw = cp.asarray(w)
    _same(B.popcount_rows(dw, k), B.popcount_rows(w, k, backend="numpy"), cp)
    _same(B.popcount_cols(dw, k), B.popcount_cols(w, k, backend="numpy"), cp)
    assert B.fraction_ones(dw, k) == B.fraction_ones(w, k, backend="numpy")


@pytest.mark.parametrize("dtype", [np.int16, np.int32])
@pytest.mark.parametrize(("step", "lo", "hi"), [(1, -3, 2), (2, None, None), (5, -100, 100)])
@pytest.mark.parametrize("n_in", [1, 64, 65, 784])
@pytest.mark.parametrize("order", ["C", "F"])
def test_outer_update(cp, rng, dtype, step, lo, hi, n_in, order):
    batch, n_out = 100, 33
    x = B.pack(_pm1("random", batch, n_in, rng), backend="numpy")
    e = rng.integers(-1, 2, size=(batch, n_out)).astype(np.int8)
    info = np.iinfo(dtype)
    low = info.min if lo is None else lo
    high = info.max if hi is None else hi
    h = rng.integers(low, int(high) + 1, size=(n_in, n_out), dtype=np.int64).astype(dtype)
    want = B.outer_update(h.copy(), x, e, step=step, lo=lo, hi=hi, backend="numpy")
    dh = cp.asarray(h, order=order)
    got = B.outer_update(dh, cp.asarray(x), cp.asarray(e), step=step, lo=lo, hi=hi)
    assert got is dh
    _same(got, want, cp)


@pytest.mark.parametrize("k", KS)
@pytest.mark.parametrize("p_zero", (0.0, 0.05, 1.0))
def test_zero_corrections(cp, rng, k, p_zero):
    m, n, batch = 33, 65, 40
    az = rng.random((m, k)) < p_zero
    a = B.pack((_pm1("random", m, k, rng) > 0) | az, backend="numpy")  # ties-+1 bits
    w = np.where(rng.random((k, n)) < p_zero, 0, rng.integers(-3, 4, size=(k, n)))
    b = B.pack(np.ascontiguousarray(w.T >= 0), backend="numpy")
    zi, zj = B.zero_positions(w, backend="numpy")
    dzi, dzj = B.zero_positions(cp.asarray(w))
    _same(dzi, zi, cp)
    _same(dzj, zj, cp)
    dot = B.xnor_gemm(a, b, k, backend="numpy")
    want = B.subtract_zero_inputs(dot.copy(), az, b, backend="numpy")
    got = B.subtract_zero_inputs(cp.asarray(dot), cp.asarray(az), cp.asarray(b))
    _same(got, want, cp)
    want = B.subtract_zero_weights(want, a, k, zi, zj, a_zero=az, backend="numpy")
    got = B.subtract_zero_weights(got, cp.asarray(a), k, dzi, dzj, a_zero=cp.asarray(az))
    _same(got, want, cp)
    xz = rng.random((batch, k)) < p_zero
    e = rng.integers(-1, 2, size=(batch, n)).astype(np.int8)
    for dtype in (np.int16, np.int32):
        h = rng.integers(-100, 101, size=(k, n)).astype(dtype)
        want = B.subtract_zero_update(h.copy(), xz, e, step=2, backend="numpy")
        dh = cp.asarray(h)
        assert B.subtract_zero_update(dh, cp.asarray(xz), cp.asarray(e), step=2) is dh
        _same(dh, want, cp)


def test_large_default_tiles(cp, rng):
    m, n, k = 1000, 700, 2304
    a = B.pack(_pm1("random", m, k, rng), backend="numpy")
    b = B.pack(_pm1("random", n, k, rng), backend="numpy")
    da, db = cp.asarray(a), cp.asarray(b)
    _same(B.xnor_gemm(da, db, k), B.xnor_gemm(a, b, k, backend="numpy"), cp)
    thr = rng.integers(-40, 41, size=n).astype(np.int32)
    _same(
        B.xnor_gemm_sign(da, db, k, thresholds=cp.asarray(thr)),
        B.xnor_gemm_sign(a, b, k, thresholds=thr, backend="numpy"),
        cp,
    )
    big = B.pack(_pm1("random", 3, 64 * 300, rng), backend="numpy")  # block-per-row popcount
    _same(B.popcount_rows(cp.asarray(big), 64 * 300), B.popcount_rows(big, 64 * 300), cp)


def test_backend_never_synchronises(cp, rng):
    """The protocol functions only launch kernels: no device-to-host copy, no synchronisation."""
    import cupyx

    from bnnlab.bits import _cupy

    k, m, n = 200, 70, 90
    x = cp.asarray(_pm1("random", m, k, rng) > 0)
    a = cp.empty((m, 4), dtype=cp.uint64)
    b = cp.asarray(B.pack(_pm1("random", n, k, rng), backend="numpy"))
    e = cp.asarray(rng.integers(-1, 2, size=(m, 9)).astype(np.int8))
    calls = [
        lambda: _cupy.pack_last(x, a),
        lambda: _cupy.unpack_last(a, k, cp.empty((m, k), dtype=bool)),
        lambda: _cupy.xnor_gemm(a, b, k, cp.empty((m, n), dtype=cp.int32)),
        lambda: _cupy.xnor_gemm_sign(
            a, b, k, cp.zeros(n, dtype=cp.int32), cp.empty((m, 2), dtype=cp.uint64)
        ),
        lambda: _cupy.outer_update(cp.zeros((k, 9), dtype=cp.int16), a, e, 1, -5, 5),
        lambda: _cupy.popcount_rows(a, k, cp.empty(m, dtype=cp.int64)),
        lambda: _cupy.popcount_cols(a, k, cp.empty(k, dtype=cp.int64)),
        lambda: _cupy.subtract_zero_inputs(cp.zeros((m, n), dtype=cp.int32), x, b),
        lambda: _cupy.subtract_zero_weights(
            cp.zeros((m, n), dtype=cp.int32), a, k, x, cp.arange(3) * 50, cp.arange(3) * 20
        ),
        lambda: _cupy.subtract_zero_update(cp.zeros((k, 9), dtype=cp.int16), x, e, 2),
    ]
    for call in calls:
        call()  # compile and load the modules first
    cp.cuda.Device().synchronize()
    with cupyx.allow_synchronize(False):
        for call in calls:
            call()
    cp.cuda.Device().synchronize()


def test_mixed_arrays_raise(cp, rng):
    a = B.pack(_pm1("random", 4, 70, rng), backend="numpy")
    with pytest.raises(TypeError, match="numpy and cupy mixed"):
        B.xnor_gemm(cp.asarray(a), a, 70)
    with pytest.raises(TypeError, match="numpy and cupy mixed"):
        B.xnor_gemm(cp.asarray(a), cp.asarray(a), 70, out=np.empty((4, 4), dtype=np.int32))
    with pytest.raises(TypeError, match="numpy and cupy mixed"):
        B.outer_update(cp.zeros((70, 2), cp.int16), a, np.zeros((4, 2), np.int8))
    with pytest.raises(TypeError, match="cupy"):
        B.xnor_gemm(a, a, 70, backend="cupy")
    with pytest.raises(TypeError, match="numpy"):
        B.xnor_gemm(cp.asarray(a), cp.asarray(a), 70, backend="numpy")


def test_bad_input_as_on_the_cpu(cp, rng):
    a = cp.asarray(B.pack(_pm1("random", 4, 70, rng), backend="numpy"))
    with pytest.raises(TypeError, match=r"^a: "):
        B.xnor_gemm(a.astype(cp.int64), a, 70)
    with pytest.raises(ValueError, match=r"^k: "):
        B.xnor_gemm(a, a, 200)
    with pytest.raises(ValueError, match=r"^a and b: "):
        B.xnor_gemm(a, a[:, :1], 70)
    with pytest.raises(ValueError, match=r"^x: "):
        B.pack(cp.asarray([[0.5, 1.0]]))


@pytest.mark.parametrize("sign_zero", ["zero", "plus"])
def test_local_binary_learner_same_on_both_devices(cp, rng, sign_zero):
    lb = pytest.importorskip("bnnlab.learn.local.local_binary")
    cfg = lb.LocalBinaryConfig(
        n_features=200,
        n_classes=10,
        layers=(128, 64),
        batch_size=50,
        init_std=4.0,  # small: zero weights and h = 0 occur, so sign(0) matters
        sign_zero=sign_zero,
    )
    x = _pm1("random", 400, 200, rng)
    y = rng.integers(0, 10, size=400)
    cpu = lb.LocalBinaryLearner(cfg, seed=3, backend="numba")
    gpu = lb.LocalBinaryLearner(cfg, seed=3, backend="cupy")
    hist_cpu = cpu.fit(x, y, epochs=2)
    hist_gpu = gpu.fit(x, y, epochs=2)
    assert [r["train_accuracy"] for r in hist_cpu] == [r["train_accuracy"] for r in hist_gpu]
    arrays_cpu, _ = cpu.state_dict()
    arrays_gpu, _ = gpu.state_dict()
    for key, value in arrays_cpu.items():
        assert np.array_equal(value, arrays_gpu[key]), key
