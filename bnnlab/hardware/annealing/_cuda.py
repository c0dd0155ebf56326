"""GPU path of the built-in annealers: the raw kernels of ``cuda/anneal.cu`` and their launches.

:class:`AnnealKernels` is written against an array namespace ``xp`` and a ``get_function(name)``
returning a callable with ``cupy.RawKernel``'s ``(grid, block, args)`` call shape, so the same
launch code runs the real kernels (:func:`gpu_kernels`, ``xp = cupy``) and their CPU emulation in
the tests (``tests/cuda_emu``, ``xp = numpy``), as for the bit kernels
(:class:`bnnlab.bits._cuda_sources.CudaKernels`). Every launch is checked against the kernel's
parsed signature (exact scalar types, dtypes, contiguity). One thread per (row, read), 128 threads
per block, grid-stride loops, the grid capped at ``max_blocks``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bnnlab.bits import _cuda_sources as cs

SOURCE = Path(__file__).with_name("cuda") / "anneal.cu"
BLOCK = 128


@functools.cache
def signatures() -> dict[str, cs.Signature]:
    """The kernels of ``anneal.cu`` with their parameters."""
    return cs.parse_signatures(SOURCE.read_text(), {})


class AnnealKernels:
    """Launches of ``bnn_anneal_sa`` / ``bnn_anneal_sqa`` (see the module docstring)."""

    def __init__(
        self,
        xp: Any,
        get_function: Callable[[str], Any],
        *,
        max_blocks: int = cs.DEFAULT_MAX_BLOCKS,
        array_type: type | None = None,
    ) -> None:
        self.xp = xp
        self._get_function = get_function
        self.max_blocks = int(max_blocks)
        self.array_type = array_type

    def _launch(self, name: str, work: int, args: tuple[Any, ...]) -> None:
        grid = (max(1, min(-(-work // BLOCK), self.max_blocks)), 1, 1)
        g, b = cs.check_launch(
            signatures()[name], grid, (BLOCK, 1, 1), args, array_type=self.array_type
        )
        self._get_function(name)(g, b, args)

    def _common(self, kind, a, h, xt, y, keys, n_rows, reads, n):
        xp = self.xp
        dev = [xp.ascontiguousarray(xp.asarray(v)) for v in (a, h, xt, y, keys)]
        bsz = int(xt.shape[0]) if kind == 1 else 0
        size = n if kind == 0 else bsz
        return dev, bsz, size

    def sa(self, kind, a, h, xt, y, eps, keys, betas, out_shape) -> np.ndarray:
        """Run SA; returns the host int8 array ``out_shape`` = ``(rows, reads, n)``."""
        xp = self.xp
        rows, reads, n = out_shape
        (a_, h_, xt_, y_, k_), bsz, size = self._common(kind, a, h, xt, y, keys, rows, reads, n)
        betas_ = xp.ascontiguousarray(xp.asarray(betas))
        work = xp.empty(rows * reads * (n + size), dtype=np.float64)
        out = xp.empty(out_shape, dtype=np.int8)
        i64 = np.int64
        self._launch(
            "bnn_anneal_sa",
            rows * reads,
            (np.int32(kind), a_, h_, xt_, y_, np.float64(eps), k_, betas_, i64(rows), i64(reads),
             i64(n), i64(bsz), i64(betas.shape[1]), work, out),
        )  # fmt: skip
        return _host(out)

    def sqa(
        self, kind, a, h, offset, xt, y, eps, keys, beta, couplings, slices, out_shape
    ) -> np.ndarray:
        """Run SQA; returns the host int8 array ``out_shape`` = ``(rows, reads, n)``."""
        xp = self.xp
        rows, reads, n = out_shape
        (a_, h_, xt_, y_, k_), bsz, size = self._common(kind, a, h, xt, y, keys, rows, reads, n)
        off_, beta_, coup_ = (
            xp.ascontiguousarray(xp.asarray(v)) for v in (offset, beta, couplings)
        )
        work = xp.empty(rows * reads * slices * (n + size), dtype=np.float64)
        out = xp.empty(out_shape, dtype=np.int8)
        i64 = np.int64
        self._launch(
            "bnn_anneal_sqa",
            rows * reads,
            (np.int32(kind), a_, h_, off_, xt_, y_, np.float64(eps), k_, beta_, coup_,
             i64(slices), i64(rows), i64(reads), i64(n), i64(bsz), i64(couplings.shape[1]),
             work, out),
        )  # fmt: skip
        return _host(out)


def _host(a: Any) -> np.ndarray:
    get = getattr(a, "get", None)
    return np.asarray(get() if callable(get) else a)


@functools.cache
def gpu_kernels() -> AnnealKernels:
    """The kernels on the current GPU (``ImportError`` naming cupy without it)."""
    try:
        import cupy
    except ImportError as exc:
        raise ImportError(
            "backend: 'cupy' needs cupy and a CUDA GPU (pip install cupy-cuda13x)"
        ) from exc
    module = cupy.RawModule(code=SOURCE.read_text(), options=cs.NVRTC_OPTIONS)
    return AnnealKernels(cupy, module.get_function, array_type=cupy.ndarray)
