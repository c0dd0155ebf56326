"""Solvers of the per-layer problems (:mod:`bnnlab.hardware.qubo`) behind one call, by alias.

``solve(problem, sampler="exact", num_reads=1, seed=None)`` returns a :class:`SolveResult` with
``samples`` (``int8 (rows, reads, n)``, ±1), ``energies`` (``(rows, reads)``) and ``seconds``.
Built so far: ``exact`` (:mod:`bnnlab.hardware.annealing.exact`, the ground truth for n ≤ 24).
Not yet (issue 11): the batched simulated (quantum) annealers and the Ocean/OpenJij adapters.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np

from bnnlab._registry import Registry
from bnnlab._validation import check_int

__all__ = ["SOLVERS", "SolveResult", "available", "solve"]

SOLVERS = Registry("solver")
SOLVERS.register("exact", "bnnlab.hardware.annealing.exact:exact")

available = SOLVERS.available


@dataclasses.dataclass(frozen=True)
class SolveResult:
    """Samples (``int8 (rows, reads, n)``), their energies (``(rows, reads)``), wall seconds."""

    samples: np.ndarray
    energies: np.ndarray
    sampler: str
    seconds: float


def solve(
    problem: Any, sampler: str = "exact", *, num_reads: int = 1, seed: Any = None, **params: Any
) -> SolveResult:
    """Solve every row of ``problem`` with the solver registered as ``sampler``."""
    from bnnlab.hardware.qubo import LayerProblem

    if not isinstance(problem, LayerProblem):
        raise TypeError(f"problem: expected a LayerProblem, got {type(problem).__name__}")
    if not isinstance(sampler, str) or sampler not in SOLVERS:
        raise ValueError(
            f"sampler: unknown solver {sampler!r}; available: {', '.join(available())}"
        )
    num_reads = check_int(num_reads, "num_reads", minimum=1)
    t0 = time.perf_counter()
    samples = SOLVERS.get(sampler)(problem, num_reads=num_reads, seed=seed, **params)
    seconds = time.perf_counter() - t0
    return SolveResult(samples, problem.energy(samples), sampler, seconds)
