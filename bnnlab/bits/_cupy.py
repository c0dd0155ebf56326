"""GPU backend of :mod:`bnnlab.bits`: the CUDA kernels of ``bnnlab/bits/cuda`` through cupy.

Implements the backend protocol of :mod:`bnnlab.bits._dispatch` on cupy arrays: cupy arrays in, cupy
arrays out, every step on the device (kernel launches and cupy element-wise operations; nothing is
copied to the host). Importing this module imports cupy and raises ``ImportError`` without it, which
the dispatch records; ``import bnnlab`` never imports it. ``backend="auto"`` picks it for cupy
inputs.

Each kernel family (``pack``, ``gemm``, ``update``, ``popcount``, ``zero``; one ``.cu`` file each) is compiled
once per process by NVRTC through ``cupy.RawModule`` (cupy also keeps the binary in its on-disk
kernel cache, keyed by the source) on first use, and loaded per device by cupy. The launch
configurations, and the check of every launch against the kernel signatures, are in
:class:`bnnlab.bits._cuda_sources.CudaKernels`, the code the CPU emulation of the tests runs too.

The kernels are the XNOR-Net / BNN identity ``dot = k - 2 popcount(a XOR b)`` (Rastegari et al.,
ECCV 2016; Courbariaux et al., NeurIPS 2016) and the saturating integer update of Colombo, Pittorino
& Roveri (arXiv 2412.00119, 2025), with the exact corrections for its ``sign(0) = 0`` rule; see the
``.cu`` files for the math of each.
"""

from __future__ import annotations

import functools
from typing import Any

import cupy  # ImportError without cupy: the dispatch reports the backend as unavailable

from bnnlab.bits import _cuda_sources as _cs

ARRAY_MODULE = "cupy"


@functools.cache
def module(family: str) -> Any:
    """The ``cupy.RawModule`` of a kernel family (compiled on first use, then cached)."""
    return cupy.RawModule(code=_cs.read_source(family), options=_cs.NVRTC_OPTIONS)


def get_function(name: str) -> Any:
    """The ``cupy.RawKernel`` of a kernel of the package, by name."""
    family, _ = _cs.signatures()[name]
    return module(family).get_function(name)


@functools.cache
def kernels() -> _cs.CudaKernels:
    """The launcher of every protocol operation on cupy arrays."""
    return _cs.CudaKernels(cupy, get_function, array_type=cupy.ndarray)


def pack_last(x: Any, out: Any) -> Any:
    return kernels().pack_last(x, out)


def unpack_last(words: Any, k: int, out: Any) -> Any:
    return kernels().unpack_last(words, k, out)


def xnor_gemm(a: Any, b: Any, k: int, out: Any) -> Any:
    return kernels().xnor_gemm(a, b, k, out)


def xnor_gemm_sign(a: Any, b: Any, k: int, thresholds: Any, out: Any) -> Any:
    return kernels().xnor_gemm_sign(a, b, k, thresholds, out)


def outer_update(h: Any, x: Any, e: Any, step: int, lo: int, hi: int) -> Any:
    return kernels().outer_update(h, x, e, step, lo, hi)


def outer_update_units(ht: Any, x: Any, e: Any, step: int, lo: int, hi: int) -> Any:
    # no unit-major CUDA kernel yet: one device-side transposed copy, the row-major kernel, and the
    # result written back (the data never leaves the GPU)
    h = cupy.ascontiguousarray(ht.T)
    kernels().outer_update(h, x, e, step, lo, hi)
    ht[...] = h.T
    return ht


def popcount_rows(a: Any, k: int, out: Any) -> Any:
    return kernels().popcount_rows(a, k, out)


def popcount_cols(a: Any, k: int, out: Any) -> Any:
    return kernels().popcount_cols(a, k, out)


def zero_positions(w: Any) -> tuple[Any, Any]:
    return kernels().zero_positions(w)


def subtract_zero_inputs(dot: Any, a_zero: Any, b: Any) -> Any:
    return kernels().subtract_zero_inputs(dot, a_zero, b)


def subtract_zero_weights(dot: Any, a: Any, k: int, a_zero: Any, zi: Any, zj: Any) -> Any:
    return kernels().subtract_zero_weights(dot, a, k, a_zero, zi, zj)


def subtract_zero_update(h: Any, x_zero: Any, e: Any, step: int) -> Any:
    return kernels().subtract_zero_update(h, x_zero, e, step)


def value_range(a: Any) -> tuple[int, int]:
    return kernels().value_range(a)
