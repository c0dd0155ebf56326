r"""Exact ground states by Gray-code enumeration (the ground truth of the annealers), n ≤ 24.

All :math:`2^n` assignments of a row are visited in reflected Gray-code order, one spin flip per
step; flipping spin :math:`i` changes :math:`E(g) = g^\top A g + h^\top g + c` (``A`` symmetric,
zero diagonal) by :math:`\Delta = -2 g_i (h_i + 2 (A g)_i)`, and the local fields :math:`Ag` are
updated in :math:`O(n)`, so a row costs :math:`O(2^n n)`. The best assignment is the first of
the lowest energy in Gray-code order (starting from all −1); its energy is recomputed exactly at
the end. Every read of a row returns that same ground state.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

MAX_N = 24


@numba.njit(cache=True, nogil=True)
def _ground_state(a, h):  # pragma: no cover - compiled
    n = h.shape[0]
    g = -np.ones(n, dtype=np.float64)
    field = a @ g
    energy = g @ field + h @ g
    best = energy
    best_code = 0
    code = 0
    for step in range(1, 1 << n):
        i = 0
        s = step
        while (s & 1) == 0:  # the flipped bit: trailing zeros of the step
            s >>= 1
            i += 1
        energy += -2.0 * g[i] * (h[i] + 2.0 * field[i])
        g[i] = -g[i]
        for k in range(n):
            field[k] += 2.0 * a[k, i] * g[i]
        code ^= 1 << i
        if energy < best:
            best = energy
            best_code = code
    out = np.empty(n, dtype=np.int8)
    for k in range(n):
        out[k] = 1 if (best_code >> k) & 1 else -1
    return out


def exact(problem: Any, *, num_reads: int = 1, seed: Any = None) -> np.ndarray:
    """Ground states of every row of ``problem``: ``int8 (rows, num_reads, n)``."""
    n = problem.n
    if n > MAX_N:
        raise ValueError(f"n: the exact solver enumerates 2^n assignments, n <= {MAX_N}, got {n}")
    a = np.ascontiguousarray(problem.A, dtype=np.float64)
    best = np.stack([_ground_state(a, np.ascontiguousarray(h)) for h in problem.h])
    return np.repeat(best[:, None, :], num_reads, axis=1)
