"""The CUDA annealers (bnnlab/hardware/annealing/cuda/anneal.cu) run on the CPU emulation through
the very launch code of the GPU path, and reproduce the numba kernels sample for sample; the
source compiles for sm_80/sm_90 with NVRTC (as cupy compiles it) and nvcc where present."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

from bnnlab.bits import _cuda_sources as cs
from bnnlab.hardware.annealing import _cuda, solve
from bnnlab.hardware.qubo import layer_problem

sys.path.insert(0, str(Path(__file__).parent))
from cuda_emu import harness, nvcc

needs_cxx = pytest.mark.skipif(
    harness.compiler() is None, reason="no C++ compiler for the emulation"
)


@pytest.fixture(scope="module")
def emulated():
    module = harness.EmuModule(_cuda.SOURCE, mode="free")
    return _cuda.AnnealKernels(np, module.get_function, max_blocks=2, array_type=np.ndarray)


@pytest.fixture
def as_gpu(monkeypatch, emulated):
    """backend='cupy' served by the emulated kernels."""
    monkeypatch.setattr(_cuda, "gpu_kernels", lambda: emulated)


def batch(seed, b, n, m):
    rng = np.random.default_rng(seed)
    x = np.where(rng.random((b, n)) < 0.5, 1, -1).astype(np.int8)
    return x, rng.normal(size=(b, m))


@needs_cxx
@pytest.mark.parametrize("formulation", ["lsq", "sign"])
@pytest.mark.parametrize(
    ("sampler", "params"),
    [
        ("sa", {"num_sweeps": 15}),
        ("sa", {"num_sweeps": 4, "beta_range": (0.05, 0.5), "beta_schedule": "linear"}),
        ("sqa", {"num_sweeps": 6, "trotter": 4}),
        ("sqa", {"num_sweeps": 3, "trotter": 1, "beta": 0.7, "gamma_range": (1.0, 0.1)}),
    ],
)
def test_emulated_gpu_kernels_equal_numba_sample_for_sample(as_gpu, formulation, sampler, params):
    # 5 rows x 60 reads = 300 threads over a grid capped at 2 blocks of 128: grid-stride loops
    p = layer_problem(*batch(3, b=7, n=9, m=5), formulation=formulation)
    cpu = solve(p, sampler, num_reads=60, seed=8, **params)
    gpu = solve(p, sampler, num_reads=60, seed=8, backend="cupy", **params)
    assert np.array_equal(cpu.samples, gpu.samples)
    assert len({s.tobytes() for s in cpu.samples.reshape(-1, 9)}) > 1  # not a trivial case


def test_unknown_backend_is_refused():
    p = layer_problem(*batch(0, b=3, n=2, m=1))
    with pytest.raises(ValueError, match="backend"):
        solve(p, "sa", seed=0, backend="opencl")


def test_launches_are_checked_against_the_signature(emulated):
    with pytest.raises(TypeError, match="argument kind"):
        emulated._launch("bnn_anneal_sa", 1, (1,) * 15)


def _kernels_in(binary: bytes) -> None:
    for name in _cuda.signatures():
        assert b".text." + name.encode() + b"\0" in binary, f"{name} missing from the cubin"


@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
def test_source_compiles_with_nvrtc(arch):
    """As cupy.RawModule compiles it (required on CI: BNNLAB_REQUIRE_NVRTC)."""
    if nvcc.nvrtc_library() is None:
        if os.environ.get("BNNLAB_REQUIRE_NVRTC"):
            pytest.fail("BNNLAB_REQUIRE_NVRTC is set but no libnvrtc was found")
        pytest.skip("no NVRTC library (libnvrtc); install the test extra (nvidia-cuda-nvrtc)")
    _kernels_in(nvcc.nvrtc_cubin(_cuda.SOURCE.read_text(), arch, cs.NVRTC_OPTIONS))


@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
def test_source_compiles_with_nvcc_warnings_as_errors(arch):
    if nvcc.nvcc() is None:
        pytest.skip("no CUDA compiler (nvcc) found")
    _kernels_in(nvcc.cubin(_cuda.SOURCE.read_text(), arch))


@pytest.mark.gpu
@pytest.mark.parametrize("formulation", ["lsq", "sign"])
@pytest.mark.parametrize("sampler", ["sa", "sqa"])
def test_real_gpu_reaches_the_ground_state_and_mostly_matches_numba(formulation, sampler):
    """On a GPU, NVRTC may fuse multiply-adds and round exp() differently: the samples equal the
    CPU ones in distribution; with a long anneal both find the enumerated ground state."""
    p = layer_problem(*batch(4, b=10, n=10, m=4), formulation=formulation)
    exact = solve(p, "exact").energies[:, 0]
    gpu = solve(p, sampler, num_reads=32, seed=1, num_sweeps=300, backend="cupy")
    np.testing.assert_allclose(gpu.energies.min(axis=1), exact, rtol=1e-9, atol=1e-9)
    cpu = solve(p, sampler, num_reads=32, seed=1, num_sweeps=300)
    assert (gpu.samples == cpu.samples).all(axis=2).mean() > 0.5
