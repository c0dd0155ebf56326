r"""What every built-in solver needs from a problem: the kernel's arguments, the per-(row, read)
random keys, and the default inverse-temperature range from the problem's energy scale.

Default β range (per row, as dwave-samplers chooses its default, REFERENCES §3; Ocean docs
"SimulatedAnnealingSampler": the hottest β accepts the largest single-flip energy increase with
probability 1/2, the coldest accepts the smallest non-zero one with probability 1/100):

.. math:: \beta_0 = \frac{\ln 2}{\Delta_{\max}}, \qquad \beta_1 = \frac{\ln 100}{\Delta_{\min}}.

For ``lsq``: :math:`\Delta_{\max} = \max_i 2(|h_i| + 2\sum_k |A_{ik}|)` bounds every flip, and
:math:`\Delta_{\min} = 2 \min(\text{non-zero } |h_i|, 2|A_{ik}|)`, "non-zero" meaning above
:data:`RELATIVE_ZERO` times the row's largest coefficient. For ``sign``: a flip that turns
sample ``b`` costs :math:`4|y_b|`, so :math:`\Delta_{\max} = 4\sum_b |y_b|`, :math:`\Delta_{\min} =
4 \min_{y_b \ne 0} |y_b|`. A row whose coefficients are all zero gets ``(1, 1)`` (every state has
the same energy).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bnnlab._validation import check_real, make_rng

_EMPTY = np.zeros((1, 1), dtype=np.float64)

#: coefficients below this fraction of a row's largest are rounding residue (e.g. a coupling of
#: two orthogonal input columns computed as 1e-19), not energy scales: the cold end ignores them
RELATIVE_ZERO = 1e-9


def kernel_arrays(
    problem: Any,
) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """``(kind, A, h, xt, y, eps)`` of ``problem`` for :mod:`._kernels` (unused ones 1 x 1)."""
    from bnnlab.hardware.qubo import LsqProblem, SignProblem

    if isinstance(problem, LsqProblem):
        a = np.ascontiguousarray(problem.A, dtype=np.float64)
        h = np.ascontiguousarray(problem.h, dtype=np.float64)
        return 0, a, h, _EMPTY, _EMPTY, 0.0
    if isinstance(problem, SignProblem):  # "sign" and "neuron"
        xt = np.ascontiguousarray(problem.xt, dtype=np.float64)
        y = np.ascontiguousarray(problem.y, dtype=np.float64)
        return 1, _EMPTY, _EMPTY, xt, y, float(problem.eps)
    raise ValueError(  # pragma: no cover - guarded by solve()
        f"problem: the built-in solvers do not handle formulation {problem.formulation!r}"
    )


def offsets(problem: Any) -> np.ndarray:
    """Per-row constants the kernels leave out of ``lsq`` energies (zero for the others)."""
    if problem.formulation == "lsq":
        return np.ascontiguousarray(problem.offset, dtype=np.float64)
    return np.zeros(problem.rows, dtype=np.float64)


def keys(seed: Any, rows: int, reads: int) -> np.ndarray:
    """One 64-bit key per (row, read), row-major, from ``seed`` (an int or a Generator)."""
    rng = make_rng(seed)
    return rng.integers(
        0, np.iinfo(np.uint64).max, size=rows * reads, dtype=np.uint64, endpoint=True
    )


def delta_range(problem: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(delta_min, delta_max)`` per row (see the module docstring); 0 where a row is empty."""
    if problem.formulation == "lsq":
        absa = np.abs(problem.A)
        absh = np.abs(problem.h)
        dmax = (2.0 * (absh + 2.0 * absa.sum(axis=1)[None, :])).max(axis=1)
        tiny = RELATIVE_ZERO * np.maximum(absh.max(axis=1), 2.0 * absa.max(initial=0.0))
        nz_a = 2.0 * absa[2.0 * absa > tiny.min(initial=np.inf)]
        a_min = nz_a.min() if nz_a.size else np.inf
        h_min = np.where(absh > tiny[:, None], absh, np.inf).min(axis=1)
        a_row = np.where(np.isfinite(a_min) & (a_min > tiny), a_min, np.inf)
        dmin = 2.0 * np.minimum(h_min, a_row)
    else:
        absy = np.abs(problem.y)
        tiny = RELATIVE_ZERO * absy.max(axis=1, initial=0.0)
        dmax = 4.0 * absy.sum(axis=1)
        dmin = 4.0 * np.where(absy > tiny[:, None], absy, np.inf).min(axis=1)
    dmin = np.where(np.isfinite(dmin), dmin, 0.0)
    return dmin, dmax


def beta_range(problem: Any, given: Any = None) -> np.ndarray:
    """``(rows, 2)`` hot and cold β: ``given`` (two positive numbers, hot <= cold) for every row,
    or the default of the module docstring."""
    rows = problem.rows
    if given is not None:
        try:
            lo, hi = (float(v) for v in given)
        except (TypeError, ValueError):
            raise ValueError(
                f"beta_range: expected two numbers (hot, cold), got {given!r}"
            ) from None
        check_real(lo, "beta_range[0]", low=0.0, open_low=True)
        check_real(hi, "beta_range[1]", low=0.0, open_low=True)
        if lo > hi:
            raise ValueError(f"beta_range: the hot beta {lo} exceeds the cold one {hi}")
        return np.tile([lo, hi], (rows, 1))
    dmin, dmax = delta_range(problem)
    hot = np.where(dmax > 0, np.log(2.0) / np.where(dmax > 0, dmax, 1.0), 1.0)
    cold = np.where(dmin > 0, np.log(100.0) / np.where(dmin > 0, dmin, 1.0), 1.0)
    return np.stack([hot, np.maximum(hot, cold)], axis=1)
