r"""Exact ground states by Gray-code enumeration (the ground truth of the annealers), n ≤ 24.

All :math:`2^n` assignments of a row are visited in reflected Gray-code order, one spin flip per
step, the energy updated by the flip's change (:mod:`bnnlab.hardware.annealing._kernels`: for
``lsq`` :math:`\Delta = -2 g_i (h_i + 2 (A g)_i)` with the local fields updated in :math:`O(n)`,
for ``sign`` :math:`O(B)` from :math:`\tilde X g`), so a row costs :math:`O(2^n n)` or
:math:`O(2^n B)`; rows run in parallel. The best assignment is the first of the lowest energy in
Gray-code order (starting from all −1). Every read of a row returns that same ground state.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bnnlab.hardware.annealing import _common, _kernels

MAX_N = 24


def exact(problem: Any, *, num_reads: int = 1, seed: Any = None) -> np.ndarray:
    """Ground states of every row of ``problem``: int8 ``(rows, num_reads, n)`` (``seed`` unused)."""
    n = problem.n
    if n > MAX_N:
        raise ValueError(f"n: the exact solver enumerates 2^n assignments, n <= {MAX_N}, got {n}")
    kind, a, h, xt, y, eps = _common.kernel_arrays(problem)
    best = np.empty((problem.rows, n), dtype=np.int8)
    _kernels.gray_code_ground_states(kind, a, h, xt, y, eps, best)
    return np.repeat(best[:, None, :], num_reads, axis=1)
