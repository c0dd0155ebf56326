r"""Built-in batched simulated quantum annealing: discrete-time path-integral Monte Carlo.

The transverse-field Ising model :math:`H(s) = E(g) - \Gamma(s) \sum_i \sigma^x_i` at inverse
temperature :math:`\beta` is mapped by the Suzuki–Trotter decomposition onto ``P`` coupled
classical replicas (Trotter slices) on a ring in imaginary time:

.. math:: \beta H_{\text{eff}} = \frac{\beta}{P} \sum_{k=1}^{P} E(g^k)
          - J_\perp \sum_{k=1}^{P} \sum_i g^k_i g^{k+1}_i, \qquad
          J_\perp = -\tfrac12 \ln\tanh\!\Big(\frac{\beta\Gamma}{P}\Big)

(Martoňák, Santoro & Tosatti, PRB 66, 094203, 2002). The field :math:`\Gamma` falls linearly from
``gamma_range[0]`` to ``gamma_range[1]`` over the sweeps at fixed β (as OpenJij's ``SQASampler``
does with its schedule parameter s); each sweep proposes a Metropolis flip of every spin of every
slice. The returned sample of a read is its lowest-energy slice at the end. Defaults: ``P = 8``,
β the cold end of the SA default (:mod:`._common`) times ``P`` — so that each slice sees the
classical cold temperature — and Γ from the largest single-flip energy change down to a thousandth
of the smallest.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bnnlab._validation import check_choice, check_int, check_real
from bnnlab.hardware.annealing import _common, _kernels
from bnnlab.hardware.annealing.sa import BACKENDS


def _pair(value: Any, name: str) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected two numbers, got {value!r}") from None
    check_real(a, f"{name}[0]", low=0.0, open_low=True)
    check_real(b, f"{name}[1]", low=0.0, open_low=True)
    return a, b


def sqa(
    problem: Any,
    *,
    num_reads: int = 1,
    seed: Any = None,
    num_sweeps: int = 1000,
    trotter: int = 8,
    beta: float | None = None,
    gamma_range: Any = None,
    backend: str = "numba",
) -> np.ndarray:
    """Anneal every row ``num_reads`` times: int8 ``(rows, num_reads, n)``.

    Parameters
    ----------
    problem : LsqProblem or SignProblem
    num_reads : int
    seed : int or numpy.random.Generator
        Required: the keys of every (row, read) stream are drawn from it.
    num_sweeps : int
        Monte Carlo sweeps (each visits every spin of every slice once).
    trotter : int
        Trotter slices ``P`` (1 gives classical annealing at fixed β with no field).
    beta : float, optional
        Inverse temperature (default per row, see the module docstring).
    gamma_range : (float, float), optional
        Initial and final transverse field, ``start >= end`` (default per row).
    backend : {"numba", "cupy"}
        The CPU kernel or the CUDA kernel (:mod:`bnnlab.hardware.annealing._cuda`).
    """
    num_sweeps = check_int(num_sweeps, "num_sweeps", minimum=1)
    trotter = check_int(trotter, "trotter", minimum=1)
    check_choice(backend, "backend", BACKENDS)
    rows = problem.rows
    if beta is None:
        betas = _common.beta_range(problem)[:, 1] * trotter
    else:
        betas = np.full(rows, check_real(beta, "beta", low=0.0, open_low=True))
    if gamma_range is None:
        dmin, dmax = _common.delta_range(problem)
        g0 = np.where(dmax > 0, dmax, 1.0)
        g1 = np.where(dmin > 0, dmin, 1.0) * 1e-3
    else:
        a, b = _pair(gamma_range, "gamma_range")
        if b > a:
            raise ValueError(f"gamma_range: the field must fall, got start {a} < end {b}")
        g0, g1 = np.full(rows, a), np.full(rows, b)
    t = np.linspace(0.0, 1.0, num_sweeps) if num_sweeps > 1 else np.ones(1)
    gamma = g0[:, None] + (g1 - g0)[:, None] * t[None, :]
    with np.errstate(divide="ignore"):
        couplings = -0.5 * np.log(np.tanh(betas[:, None] * gamma / trotter))
    couplings = np.ascontiguousarray(np.minimum(couplings, 1e6))  # Γ -> 0: slices locked
    kind, a_, h, xt, y, eps = _common.kernel_arrays(problem)
    shape = (rows, num_reads, problem.n)
    k = _common.keys(seed, rows, num_reads)
    offset = _common.offsets(problem)
    if backend == "cupy":
        from bnnlab.hardware.annealing import _cuda

        return _cuda.gpu_kernels().sqa(
            kind, a_, h, offset, xt, y, eps, k, betas, couplings, trotter, shape
        )
    out = np.empty(shape, dtype=np.int8)
    _kernels.simulated_quantum_annealing(
        kind, a_, h, offset, xt, y, eps, k, betas, couplings, trotter, out
    )
    return out
