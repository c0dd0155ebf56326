"""Solvers of the per-layer problems (:mod:`bnnlab.hardware.qubo`) behind one call, by alias.

``solve(problem, sampler="exact", num_reads=1, seed=None)`` returns a :class:`SolveResult` with
``samples`` (``int8 (rows, reads, n)``, ±1), ``energies`` (``(rows, reads)``) and ``seconds``.
Built-in solvers (every formulation of :mod:`bnnlab.hardware.qubo`, all rows × reads at once):

==========  ==============================================================================
``exact``   Gray-code enumeration, the ground truth, n ≤ 24 (:mod:`.exact`)
``sa``      batched simulated annealing, numba (:mod:`.sa`)
``sqa``     batched path-integral simulated quantum annealing, numba (:mod:`.sqa`)
==========  ==============================================================================

The samplers of Ocean (dwave-samplers) and OpenJij through dimod BQMs, in the optional extra
``bnnlab[annealing]``: ``dwave-sa``, ``dwave-greedy``, ``dwave-tabu``, ``dwave-pathintegral``,
``openjij-sa``, ``openjij-sqa`` (:mod:`.ocean`).

A solver is ``f(problem, *, num_reads, seed, **params) -> int8 (rows, num_reads, n)`` of ±1; the
energies are always recomputed on the problem itself (:meth:`LayerProblem.energy`).
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
SOLVERS.register("sa", "bnnlab.hardware.annealing.sa:sa")
SOLVERS.register("sqa", "bnnlab.hardware.annealing.sqa:sqa")
for _alias in ("dwave-sa", "dwave-greedy", "dwave-tabu", "dwave-pathintegral", "openjij-sa",
               "openjij-sqa"):  # fmt: skip
    SOLVERS.register(_alias, f"bnnlab.hardware.annealing.ocean:{_alias.replace('-', '_')}")

available = SOLVERS.available


@dataclasses.dataclass(frozen=True)
class SolveResult:
    """Samples (``int8 (rows, reads, n)``), their energies (``(rows, reads)``), wall seconds."""

    samples: np.ndarray
    energies: np.ndarray
    sampler: str
    seconds: float


def solve(
    problem: Any,
    sampler: str = "exact",
    *,
    num_reads: int = 1,
    seed: Any = None,
    realism: Any = None,
    **params: Any,
) -> SolveResult:
    """Solve every row of ``problem`` with the solver registered as ``sampler``.

    ``realism`` (a :class:`~bnnlab.hardware.annealing.realism.Realism`, ``lsq`` problems only)
    makes the solver see each row as a QPU would realise it (scaled into range, with control
    errors drawn from ``seed``); the returned energies are always those of ``problem`` itself.
    """
    from bnnlab.hardware.qubo import LayerProblem

    if not isinstance(problem, LayerProblem):
        raise TypeError(f"problem: expected a LayerProblem, got {type(problem).__name__}")
    if not isinstance(sampler, str) or sampler not in SOLVERS:
        raise ValueError(
            f"sampler: unknown solver {sampler!r}; available: {', '.join(available())}"
        )
    num_reads = check_int(num_reads, "num_reads", minimum=1)
    solver = SOLVERS.get(sampler)
    t0 = time.perf_counter()
    if realism is None:
        samples = solver(problem, num_reads=num_reads, seed=seed, **params)
    else:
        from bnnlab._validation import make_rng
        from bnnlab.hardware.annealing.realism import Realism, perturb

        if not isinstance(realism, Realism):
            raise TypeError(f"realism: expected a Realism, got {type(realism).__name__}")
        rng = make_rng(seed)
        rows = perturb(problem, realism, rng)
        samples = np.concatenate(
            [solver(p, num_reads=num_reads, seed=rng, **params) for p in rows], axis=0
        )
    seconds = time.perf_counter() - t0
    return SolveResult(samples, problem.energy(samples), sampler, seconds)
