r"""Built-in batched simulated annealing: every row × read of a layer's problems at once.

Metropolis single-spin-flip sweeps (spins in order, one uniform draw per proposal, accepted when
:math:`\Delta \le 0` or :math:`u < e^{-\beta\Delta}`) under a geometric β schedule from the hot to
the cold end of ``beta_range`` (default from the problem's energy scale,
:func:`bnnlab.hardware.annealing._common.beta_range`), from a uniformly random start. ``lsq`` keeps
the local fields (flip cost :math:`O(1)`, an accepted flip :math:`O(n)`); ``sign`` keeps
:math:`\tilde X g` (:math:`O(B)` each) — see :mod:`bnnlab.hardware.annealing._kernels`. Reads and
rows run in parallel (numba ``prange``), each with its own counter-based random stream keyed from
``seed``, so results do not depend on the thread count.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bnnlab._validation import check_choice, check_int
from bnnlab.hardware.annealing import _common, _kernels

SCHEDULES = ("geometric", "linear")
BACKENDS = ("numba", "cupy")


def schedule(beta: np.ndarray, sweeps: int, kind: str = "geometric") -> np.ndarray:
    """``(rows, sweeps)`` inverse temperatures from ``beta`` ``(rows, 2)`` (hot, cold)."""
    check_choice(kind, "beta_schedule", SCHEDULES)
    t = np.linspace(0.0, 1.0, sweeps) if sweeps > 1 else np.ones(1)
    lo, hi = beta[:, :1], beta[:, 1:]
    if kind == "geometric":
        return np.ascontiguousarray(lo * (hi / lo) ** t[None, :])
    return np.ascontiguousarray(lo + (hi - lo) * t[None, :])


def sa(
    problem: Any,
    *,
    num_reads: int = 1,
    seed: Any = None,
    num_sweeps: int = 1000,
    beta_range: Any = None,
    beta_schedule: str = "geometric",
    backend: str = "numba",
) -> np.ndarray:
    """Anneal every row ``num_reads`` times: int8 ``(rows, num_reads, n)``.

    Parameters
    ----------
    problem : LsqProblem or SignProblem
    num_reads : int
        Independent anneals per row.
    seed : int or numpy.random.Generator
        Required: the keys of every (row, read) stream are drawn from it.
    num_sweeps : int
        Sweeps per anneal (each proposes a flip of every spin once).
    beta_range : (float, float), optional
        Hot and cold inverse temperature for every row (default: per row, from its energy scale).
    beta_schedule : {"geometric", "linear"}
    backend : {"numba", "cupy"}
        The CPU kernel, or the CUDA kernel of ``cuda/anneal.cu`` (the same algorithm and random
        streams; :mod:`bnnlab.hardware.annealing._cuda`).
    """
    num_sweeps = check_int(num_sweeps, "num_sweeps", minimum=1)
    check_choice(backend, "backend", BACKENDS)
    betas = schedule(_common.beta_range(problem, beta_range), num_sweeps, beta_schedule)
    kind, a, h, xt, y, eps = _common.kernel_arrays(problem)
    shape = (problem.rows, num_reads, problem.n)
    k = _common.keys(seed, problem.rows, num_reads)
    if backend == "cupy":
        from bnnlab.hardware.annealing import _cuda

        return _cuda.gpu_kernels().sa(kind, a, h, xt, y, eps, k, betas, shape)
    out = np.empty(shape, dtype=np.int8)
    _kernels.simulated_annealing(kind, a, h, xt, y, eps, k, betas, out)
    return out
