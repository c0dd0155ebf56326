r"""Annealer realism, off by default: what a D-Wave Advantage QPU would solve instead of the
problem it is given.

A QPU takes an Ising model with fields :math:`h_i \in [-4, 4]` and couplings
:math:`J_{ik} \in [-1, 1]` (Advantage ``h_range`` and ``j_range``, D-Wave solver properties
docs) and, with ``auto_scale`` (the QPU default), divides the whole model by the common factor

.. math:: s = \max\Big(\max_i \frac{|h_i|}{4},\ \max_{i<k} \frac{|J_{ik}|}{1}\Big),

then realises it with *integrated control errors* (ICE): it solves
:math:`(h + \delta h,\ J + \delta J)` with Gaussian :math:`\delta h, \delta J` (D-Wave docs, "Errors
and Error Correction", Overview of ICE). Defaults: :math:`\sigma_h = 0.02`, :math:`\sigma_J = 0.015`
in the QPU's units, inside the ranges the docs plot for representative systems
(:math:`\sigma(\delta h) \approx 0.01\text{–}0.025`, :math:`\sigma(\delta J) \approx
0.01\text{–}0.015` over the anneal). Each row of a layer is its own QPU programming, so every row
gets its own draw. :func:`perturb` returns the problems the sampler sees; the energies
:func:`~bnnlab.hardware.annealing.solve` reports stay those of the *true* problem. Only the
quadratic ``lsq`` problems have an ``(h, J)`` to perturb.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from bnnlab._validation import check_real

#: D-Wave Advantage programmable ranges (solver properties ``h_range``, ``j_range``).
H_RANGE = (-4.0, 4.0)
J_RANGE = (-1.0, 1.0)


@dataclasses.dataclass(frozen=True)
class Realism:
    """What to emulate (see the module docstring).

    Attributes
    ----------
    autoscale : bool
        Scale each row into the QPU's ranges (the QPU's ``auto_scale``) before the errors.
    sigma_h, sigma_j : float
        Standard deviations of the Gaussian control errors, in the QPU's units (0: none).
    """

    autoscale: bool = True
    sigma_h: float = 0.02
    sigma_j: float = 0.015

    def __post_init__(self) -> None:
        if not isinstance(self.autoscale, bool | np.bool_):
            raise TypeError(f"autoscale: expected a bool, got {type(self.autoscale).__name__}")
        check_real(self.sigma_h, "sigma_h", low=0.0)
        check_real(self.sigma_j, "sigma_j", low=0.0)


def scale(problem: Any, row: int) -> float:
    """The factor ``s`` that brings row ``row``'s ``h`` and ``J = 2A`` into the QPU's ranges
    (1 for an all-zero row)."""
    s = max(
        float(np.abs(problem.h[row]).max(initial=0.0)) / H_RANGE[1],
        float(np.abs(2.0 * problem.A).max(initial=0.0)) / J_RANGE[1],
    )
    return s if s > 0 else 1.0


def perturb(problem: Any, realism: Realism, rng: np.random.Generator) -> list[Any]:
    """One single-row problem per row of ``problem``: scaled (if ``autoscale``) and with control
    errors drawn from ``rng`` (fields first, then the couplings ``i < k``, row by row)."""
    from bnnlab.hardware.qubo import LsqProblem

    if not isinstance(problem, LsqProblem):
        raise ValueError(
            f"realism: applies to the quadratic lsq problems (h, J), not {problem.formulation!r}"
        )
    n = problem.n
    iu = np.triu_indices(n, 1)
    out = []
    for row in range(problem.rows):
        s = scale(problem, row) if realism.autoscale else 1.0
        h = problem.h[row] / s + rng.normal(0.0, realism.sigma_h, size=n)
        j = 2.0 * problem.A[iu] / s + rng.normal(0.0, realism.sigma_j, size=len(iu[0]))
        a = np.zeros((n, n))
        a[iu] = j / 2.0
        a = a + a.T
        out.append(LsqProblem(A=a, h=h[None, :], offset=problem.offset[row : row + 1] / s))
    return out
