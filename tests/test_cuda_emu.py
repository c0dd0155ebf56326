"""The CUDA kernels of bnnlab/bits/cuda executed on the CPU, bit for bit against the numpy oracle.

The very ``.cu`` files the GPU backend compiles are built with g++ through tests/cuda_emu (one
std::thread per CUDA thread, a std::barrier for ``__syncthreads``) and driven by the GPU backend's own
launch code (:class:`bnnlab.bits._cuda_sources.CudaKernels`): kernel choice, grid and block, and the
numpy scalar types of every argument are those a GPU would get. Most cases use a small tiling (8
threads per GEMM block, 2 words per k step) so that the sweep crosses many tile and k-step
boundaries with few threads; the default tiling runs on a few shapes. A copy of the GEMM kernel with
one ``__syncthreads`` removed must give a wrong result.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bnnlab.bits import _cuda_sources as cs
from bnnlab.bits import _numpy as oracle

sys.path.insert(0, str(Path(__file__).parent))
from cuda_emu import harness

pytestmark = pytest.mark.skipif(harness.compiler() is None, reason="no g++ for the CUDA emulation")

# 8 threads per GEMM block (4 x 2), 4 x 64 outputs per block, 2 words per k step; 16-thread 1-D blocks.
SMALL = {
    "BNN_GEMM_TX": 4,
    "BNN_GEMM_TY": 2,
    "BNN_GEMM_RM": 2,
    "BNN_GEMM_RN": 16,
    "BNN_GEMM_KW": 2,
    "BNN_BLOCK_THREADS": 16,
}
KS = (1, 63, 64, 65, 127, 1000)
PATTERNS = ("plus", "minus", "mixed", "alternating", "random")


def bits(pattern: str, rows: int, k: int, rng: np.random.Generator, *, second: bool = False):
    """Bool (rows, k) operand: all +1, all -1, +1 against -1, alternating by row phase, random."""
    if pattern == "plus" or (pattern == "mixed" and not second):
        return np.ones((rows, k), dtype=bool)
    if pattern in ("minus", "mixed"):
        return np.zeros((rows, k), dtype=bool)
    if pattern == "alternating":
        phase = np.arange(rows)[:, None] + (1 if second else 0)
        return (np.arange(k)[None, :] + phase) % 2 == 0
    return rng.random((rows, k)) < 0.5


def packed(x: np.ndarray) -> np.ndarray:
    out = np.empty((x.shape[0], -(-x.shape[1] // 64)), dtype=np.uint64)
    return oracle.pack_last(np.ascontiguousarray(x), out)


@pytest.fixture(scope="module")
def small():
    return harness.emulated_backend(defines=SMALL)


@pytest.fixture(scope="module")
def default():
    return harness.emulated_backend()


# -- pack / unpack ---------------------------------------------------------------------------------
@pytest.mark.parametrize("k", KS)
@pytest.mark.parametrize("pattern", PATTERNS)
def test_pack_unpack(small, k, pattern, rng):
    x = bits(pattern, 9, k, rng)
    w = -(-k // 64)
    got = small.pack_last(x, np.full((9, w), 0xFFFF, dtype=np.uint64))
    assert np.array_equal(got, packed(x))
    back = small.unpack_last(got, k, np.zeros((9, k), dtype=bool))
    assert np.array_equal(back, x)


# -- GEMM and fused sign ---------------------------------------------------------------------------
GEMM_SHAPES = ((7, 70), (1, 70), (5, 3), (2, 32))  # tiled, thin, thin, tiled edge


def _gemm_case(backend, m, n, k, pattern, rng):
    a = packed(bits(pattern, m, k, rng))
    b = packed(bits(pattern, n, k, rng, second=True))
    want = oracle.xnor_gemm(a, b, k, np.empty((m, n), dtype=np.int32))
    got = backend.xnor_gemm(a, b, k, np.full((m, n), -7, dtype=np.int32))
    assert np.array_equal(got, want), backend.last_launch
    # thresholds hitting ties (>= is inclusive), one above and one below the actual dot products
    thr = (want[0] + (np.arange(n) % 3) - 1).astype(np.int32)
    want_s = oracle.xnor_gemm_sign(a, b, k, thr, np.empty((m, -(-n // 64)), dtype=np.uint64))
    got_s = backend.xnor_gemm_sign(a, b, k, thr, np.full(want_s.shape, 0xAB, dtype=np.uint64))
    assert np.array_equal(got_s, want_s), backend.last_launch
    return backend.last_launch[0]


@pytest.mark.parametrize("k", KS)
@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize(("m", "n"), GEMM_SHAPES)
def test_gemm_small_tiling(small, m, n, k, pattern, rng):
    kind = _gemm_case(small, m, n, k, pattern, rng)
    assert kind.endswith("_tiled") == small.use_tiled_gemm(m, n)


@settings(max_examples=25)
@given(
    m=st.integers(1, 20),
    n=st.integers(1, 140),
    k=st.integers(1, 300),
    seed=st.integers(0, 2**32 - 1),
)
def test_gemm_random_shapes(small, m, n, k, seed):
    _gemm_case(small, m, n, k, "random", np.random.default_rng(seed))


@pytest.mark.parametrize(("m", "n", "k"), [(70, 65, 1000), (33, 129, 65), (3, 200, 127)])
def test_gemm_default_tiling(default, m, n, k, rng):
    _gemm_case(default, m, n, k, "random", rng)


@pytest.mark.parametrize("mode", ["reverse", "free"])
def test_gemm_other_schedules(mode, rng):
    backend = harness.emulated_backend(defines=SMALL, mode=mode)
    assert _gemm_case(backend, 9, 100, 1000, "random", rng) == "bnn_xnor_gemm_sign_tiled"


# -- outer-product update with saturation ----------------------------------------------------------
@pytest.mark.parametrize("n_in", (1, 63, 64, 65, 127, 200))
@pytest.mark.parametrize("dtype", (np.int16, np.int32))
@pytest.mark.parametrize(
    ("step", "bounds"), [(1, (-3, 2)), (3, (-4, 7)), (1, None), ("max", None), (2, (0, 0))]
)
def test_outer_update(small, n_in, dtype, step, bounds, rng):
    info = np.iinfo(dtype)
    lo, hi = bounds if bounds is not None else (int(info.min), int(info.max))
    step = int(info.max) if step == "max" else step
    n_out, batch = 5, 7
    x = packed(rng.random((batch, n_in)) < 0.5)
    e = rng.integers(-1, 2, size=(batch, n_out)).astype(np.int8)
    e[:, 0] = 1  # a column that saturates for sure when the bounds are tight
    if bounds is None:  # start at the dtype limits: no wrap-around allowed
        h = rng.choice([info.min, info.max, 0], size=(n_in, n_out)).astype(dtype)
    else:
        h = rng.integers(lo, hi + 1, size=(n_in, n_out)).astype(dtype)
    want = oracle.outer_update(h.copy(), x, e, step, lo, hi)
    got = small.outer_update(h.copy(), x, e, step, lo, hi)
    assert got.dtype == dtype
    assert np.array_equal(got, want)


def test_outer_update_default_tiling(default, rng):
    x = packed(rng.random((100, 300)) < 0.5)
    e = rng.integers(-1, 2, size=(100, 7)).astype(np.int8)
    h = rng.integers(-20, 21, size=(300, 7)).astype(np.int16)
    want = oracle.outer_update(h.copy(), x, e, 1, -15, 15)
    assert np.array_equal(default.outer_update(h.copy(), x, e, 1, -15, 15), want)


# -- popcounts -------------------------------------------------------------------------------------
@pytest.mark.parametrize("k", KS)
@pytest.mark.parametrize("rows", (1, 33))
def test_popcounts(small, k, rows, rng):
    a = packed(rng.random((rows, k)) < 0.3)
    want_r = oracle.popcount_rows(a, k, np.empty(rows, dtype=np.int64))
    got_r = small.popcount_rows(a, k, np.full(rows, -1, dtype=np.int64))
    assert np.array_equal(got_r, want_r)
    assert small.last_launch[0].endswith("_block") == small.use_block_rows(*a.shape)
    want_c = oracle.popcount_cols(a, k, np.empty(k, dtype=np.int64))
    got_c = small.popcount_cols(a, k, np.full(k, -1, dtype=np.int64))
    assert np.array_equal(got_c, want_c)


def test_popcounts_default_tiling(default, rng):
    a = packed(rng.random((600, 1000)) < 0.5)  # 16 words: block reduction; 3 row chunks of cols
    assert np.array_equal(
        default.popcount_rows(a[:5], 1000, np.empty(5, dtype=np.int64)),
        oracle.popcount_rows(a[:5], 1000, np.empty(5, dtype=np.int64)),
    )
    assert default.last_launch[0] == "bnn_popcount_rows_block"
    assert np.array_equal(
        default.popcount_cols(a, 1000, np.empty(1000, dtype=np.int64)),
        oracle.popcount_cols(a, 1000, np.empty(1000, dtype=np.int64)),
    )
    assert default.last_launch[1][1] == 3


# -- ternary corrections (sign(0) = 0) ---------------------------------------------------------------
def _zero_case(backend, m, n, k, p_zero, rng):
    """Every zero-correction kernel against the oracle on one random ternary case."""
    az = rng.random((m, k)) < p_zero
    a = packed((rng.random((m, k)) < 0.5) | az)  # ties-+1: the bit of a zero input is 1
    w = np.where(rng.random((k, n)) < p_zero, 0, rng.integers(-3, 4, size=(k, n)))
    b = packed(np.ascontiguousarray(w.T >= 0))
    zi, zj = oracle.zero_positions(w)
    got_i, got_j = backend.zero_positions(w)
    assert np.array_equal(got_i, zi) and np.array_equal(got_j, zj)
    dot0 = rng.integers(-k, k + 1, size=(m, n)).astype(np.int32)
    want = oracle.subtract_zero_inputs(dot0.copy(), az, b)
    assert np.array_equal(backend.subtract_zero_inputs(dot0.copy(), az, b), want)
    for zeros in (None, az):
        if zi.size:
            want = oracle.subtract_zero_weights(dot0.copy(), a, k, zeros, zi, zj)
            got = backend.subtract_zero_weights(dot0.copy(), a, k, zeros, zi, zj)
            assert np.array_equal(got, want), backend.last_launch
    batch, n_in, n_out = m, k, n
    e = rng.integers(-1, 2, size=(batch, n_out)).astype(np.int8)
    for dtype in (np.int16, np.int32):
        h = rng.integers(-100, 101, size=(n_in, n_out)).astype(dtype)
        want = oracle.subtract_zero_update(h.copy(), az, e, 3)
        got = backend.subtract_zero_update(h.copy(), az, e, 3)
        assert got.dtype == dtype and np.array_equal(got, want)


@pytest.mark.parametrize("k", KS)
@pytest.mark.parametrize("p_zero", (0.0, 0.1, 1.0))
@pytest.mark.parametrize(("m", "n"), ((1, 1), (5, 3), (7, 70)))
def test_zero_corrections(small, m, n, k, p_zero, rng):
    _zero_case(small, m, n, k, p_zero, rng)


@settings(max_examples=20)
@given(
    m=st.integers(1, 12),
    n=st.integers(1, 40),
    k=st.integers(1, 200),
    p_zero=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_zero_corrections_random_shapes(small, m, n, k, p_zero, seed):
    _zero_case(small, m, n, k, p_zero, np.random.default_rng(seed))


def test_zero_corrections_default_tiling(default, rng):
    _zero_case(default, 40, 90, 300, 0.05, rng)
    assert default.last_launch[2] == (256, 1, 1)


# -- grid-stride loops: a capped grid gives the same results ----------------------------------------
def test_capped_grid(rng):
    capped = harness.emulated_backend(defines=SMALL, max_blocks=1)
    _gemm_case(capped, 9, 130, 200, "random", rng)
    _gemm_case(capped, 1, 130, 200, "random", rng)
    assert capped.last_launch[1] == (1, 1, 1)
    a = packed(rng.random((40, 1000)) < 0.5)
    for name in ("popcount_rows", "popcount_cols"):
        n = 40 if name == "popcount_rows" else 1000
        want = getattr(oracle, name)(a, 1000, np.empty(n, dtype=np.int64))
        assert np.array_equal(getattr(capped, name)(a, 1000, np.empty(n, dtype=np.int64)), want)
    x = rng.random((40, 130)) < 0.5
    assert np.array_equal(capped.pack_last(x, np.empty((40, 3), dtype=np.uint64)), packed(x))
    _zero_case(capped, 9, 40, 130, 0.2, rng)
    assert capped.last_launch[1] == (1, 1, 1)


# -- the public API routed through the GPU backend's launch code ------------------------------------
@pytest.fixture
def emulated_as_cupy(monkeypatch):
    """Install the emulated GPU backend as backend ``"cupy"`` for numpy arrays; return call counts."""
    from bnnlab.bits import _dispatch

    kern = harness.emulated_backend(defines=SMALL)
    fake = types.SimpleNamespace(ARRAY_MODULE="numpy")
    calls: dict[str, int] = {}

    def counted(name):
        def call(*args):
            calls[name] = calls.get(name, 0) + 1
            return getattr(kern, name)(*args)

        return call

    for name in _dispatch.PROTOCOL:
        setattr(fake, name, counted(name))
    monkeypatch.setitem(_dispatch._loaded, "cupy", fake)
    return calls


def test_public_api_through_emulated_backend(emulated_as_cupy, rng):
    from bnnlab import bits as B

    x = np.where(rng.random((3, 130, 4)) < 0.5, 1, -1).astype(np.int8)
    got = B.pack(x, axis=1, backend="cupy")
    assert np.array_equal(got, B.pack(x, axis=1, backend="numpy"))
    assert np.array_equal(B.unpack(got, 130, axis=1, backend="cupy"), x)
    w = B.pack(x[0].T, backend="numpy")
    assert B.fraction_ones(w, 130, backend="cupy") == B.fraction_ones(w, 130, backend="numpy")
    assert np.array_equal(
        B.xnor_gemm(w, w, 130, backend="cupy"), B.xnor_gemm(w, w, 130, backend="numpy")
    )
    assert set(emulated_as_cupy) == {"pack_last", "unpack_last", "popcount_rows", "xnor_gemm"}


@pytest.mark.parametrize("sign_zero", ["zero", "plus"])
def test_local_binary_learner_through_emulated_backend(emulated_as_cupy, rng, sign_zero):
    """The learner's bit-packed training, every kernel on the GPU path, equals the numpy run."""
    lb = pytest.importorskip("bnnlab.learn.local.local_binary")
    cfg = lb.LocalBinaryConfig(
        n_features=100,
        n_classes=4,
        layers=(70, 30),
        batch_size=40,
        init_std=3.0,  # small weights: zero weights and h = 0 occur, so sign(0) = 0 matters
        sign_zero=sign_zero,
    )
    x = rng.choice(np.array([-1, 1], dtype=np.int8), size=(120, 100))
    y = rng.integers(0, 4, size=120)
    runs = {}
    for backend in ("numpy", "cupy"):
        model = lb.LocalBinaryLearner(cfg, seed=5, backend=backend)
        runs[backend] = (model.fit(x, y, epochs=1), model.state_dict()[0])
    assert {"pack_last", "xnor_gemm", "outer_update"} <= set(emulated_as_cupy), emulated_as_cupy
    zero_ops = {
        "zero_positions",
        "subtract_zero_inputs",
        "subtract_zero_weights",
        "subtract_zero_update",
    }
    if sign_zero == "zero":
        assert zero_ops <= set(emulated_as_cupy), emulated_as_cupy
    else:
        assert not zero_ops & set(emulated_as_cupy), emulated_as_cupy
    assert runs["numpy"][0][0]["train_accuracy"] == runs["cupy"][0][0]["train_accuracy"]
    for key, value in runs["numpy"][1].items():
        assert np.array_equal(value, runs["cupy"][1][key]), key


# -- the harness catches what a GPU would not report ------------------------------------------------
@pytest.fixture(scope="module")
def gemm_thin():
    return harness.package_module("gemm", defines=SMALL).get_function("bnn_xnor_gemm_thin")


def _thin_args(**change):
    a = np.zeros((2, 1), dtype=np.uint64)
    args = {
        "a": a,
        "b": a,
        "out": np.zeros((2, 2), dtype=np.int32),
        "m": np.int64(2),
        "n": np.int64(2),
        "nw": np.int64(1),
        "k": np.int32(64),
    }
    args.update(change)
    return tuple(args.values())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"k": 64}, "Python int"),  # cupy would push 8 bytes where the kernel reads 4
        ({"k": np.int64(64)}, "numpy.int32 scalar, got int64"),
        ({"m": np.int32(2)}, "numpy.int64 scalar, got int32"),
        ({"m": 2.0}, "Python float"),
        ({"out": np.zeros((2, 2), dtype=np.int64)}, "dtype int32, got int64"),
        ({"a": np.zeros((2, 1), dtype=np.int64)}, "dtype uint64, got int64"),
        ({"out": np.zeros((2, 4), dtype=np.int32)[:, ::2]}, "C-contiguous"),
        ({"a": np.uint64(0)}, "expects an array"),
    ],
)
def test_argument_mismatch_is_caught(gemm_thin, change, message):
    with pytest.raises(TypeError, match=message):
        gemm_thin((1, 1, 1), (16, 1, 1), _thin_args(**change))


def test_launch_shape_and_count_are_checked(gemm_thin):
    with pytest.raises(TypeError, match="expected 7 arguments"):
        gemm_thin((1, 1, 1), (16, 1, 1), _thin_args()[:-1])
    with pytest.raises(ValueError, match="__launch_bounds__"):
        gemm_thin((1, 1, 1), (32, 1, 1), _thin_args())  # compiled with BNN_BLOCK_THREADS=16
    with pytest.raises(ValueError, match="CUDA limits"):
        gemm_thin((1, 70000, 1), (16, 1, 1), _thin_args())
    ro = np.zeros((2, 2), dtype=np.int32)
    ro.flags.writeable = False
    with pytest.raises(TypeError, match="read-only"):
        gemm_thin((1, 1, 1), (16, 1, 1), _thin_args(out=ro))
    kern = cs.CudaKernels(np, lambda name: None, array_type=types.SimpleNamespace)
    with pytest.raises(TypeError, match=r"expects a types\.SimpleNamespace"):
        kern.xnor_gemm(*_thin_args()[:2], 64, _thin_args()[2])


def test_parser_refuses_platform_dependent_types():
    for ctype in ("long", "char", "size_t"):
        src = f'extern "C" __global__ void f({ctype}* p, int n) {{}}'
        with pytest.raises(ValueError, match="fixed size on every platform"):
            cs.parse_signatures(src, cs.constants())


def test_out_of_bounds_and_const_writes_are_caught(tmp_path):
    src = tmp_path / "bad.cu"
    src.write_text(
        'extern "C" __global__ void past_end(int* out, long long n)\n'
        "{ if (threadIdx.x == 0) out[n] = 1; }\n"
        'extern "C" __global__ void into_const(const int* in, int* out)\n'
        "{ const_cast<int*>(in)[threadIdx.x] = 5; out[threadIdx.x] = 0; }\n"
    )
    mod = harness.EmuModule(src)
    with pytest.raises(RuntimeError, match="wrote outside argument out"):
        mod.get_function("past_end")((1,), (4,), (np.zeros(4, np.int32), np.int64(4)))
    with pytest.raises(RuntimeError, match="wrote into const argument in"):
        mod.get_function("into_const")((1,), (4,), (np.zeros(4, np.int32), np.zeros(4, np.int32)))


# -- a missing __syncthreads is a wrong result --------------------------------------------------------
def _gemm_copy(tmp_path: Path, drop: int | None) -> Path:
    """Copy of gemm.cu (and common.cuh) with the ``drop``-th __syncthreads of the tile loop removed."""
    text = cs.source_path("gemm").read_text()
    if drop is not None:
        tile = text.index("bnn_gemm_tile(")
        at = tile
        for _ in range(drop + 1):
            at = text.index("__syncthreads();", at + 1)
        why = ("the tile is complete", "everyone is done reading")[drop]
        assert text[at : at + 80].find(why) > 0, "gemm.cu changed: update this test"
        text = text[:at] + "/* removed */" + text[at + len("__syncthreads();") :]
    (tmp_path / cs.HEADER).write_text((cs.SOURCE_DIR / cs.HEADER).read_text())
    path = tmp_path / f"gemm_drop{drop}.cu"
    path.write_text(text)
    return path


@pytest.mark.parametrize("drop", [None, 0, 1])
@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_removed_syncthreads_fails(tmp_path, rng, drop, mode):
    mod = harness.EmuModule(_gemm_copy(tmp_path, drop), defines=SMALL, mode=mode)
    m, n, k = 6, 70, 1000  # 8 k steps per tile
    a = packed(rng.random((m, k)) < 0.5)
    b = packed(rng.random((n, k)) < 0.5)
    want = oracle.xnor_gemm(a, b, k, np.empty((m, n), dtype=np.int32))
    kern = cs.CudaKernels(np, mod.get_function, defines=SMALL)
    got = kern.xnor_gemm(a, b, k, np.empty((m, n), dtype=np.int32))
    assert kern.last_launch[0] == "bnn_xnor_gemm_tiled"
    if drop is None:
        assert np.array_equal(got, want)
    else:
        assert not np.array_equal(got, want), "the race went unnoticed"
