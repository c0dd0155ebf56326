r"""Compiled inner loops of the built-in solvers, one per algorithm, every formulation in each.

A *state* is what makes a single-spin flip cheap to evaluate; the loops below are written once and
call :func:`_delta` / :func:`_flip` for the formulation ``kind``:

``kind = 0`` (``lsq``, any quadratic problem with a shared coupling matrix ``A`` and per-row fields
``h``): the state is the local fields :math:`f = A g` (length ``n``). Flipping spin ``i`` changes
:math:`E = g^\top A g + h^\top g + c` by :math:`\Delta = -2 g_i (h_i + 2 f_i)` — :math:`O(1)` — and
an accepted flip updates :math:`f` in :math:`O(n)`.

``kind = 1`` (``sign``): the state is :math:`z = \tilde X g` (length ``B``); a flip moves it by
:math:`-2 g_i \tilde X_{:,i}` and changes :math:`E = \sum_b (s_b - y_b)^2` by
:math:`\sum_b -2 y_b (s'_b - s_b)` (:math:`s^2 = 1`) — :math:`O(B)` per proposal and per flip.

Random numbers: a counter-based generator (SplitMix64 of ``key + counter * golden``), one key per
(row, read), so every (row, read) is an independent, reproducible stream whatever the thread
schedule; the uniform in ``[0, 1)`` is the top 53 bits times :math:`2^{-53}`. The counter of a
draw is its position: the initial spins take ``0 .. n-1`` (SQA: ``0 .. P n - 1``), and the proposal
of spin ``i`` in sweep ``s`` (SQA: of slice ``k``) takes ``n + s n + i`` (SQA:
``P n + (s P + k) n + i``), so a uniform is computed only where it is needed. A flip is accepted
when :math:`x = \beta\Delta \le 0`, or when :math:`x < 37.5` and :math:`u < e^{-x}`: above
37.5, :math:`e^{-x} < 2^{-53}` (the smallest non-zero uniform) and the move is refused outright —
the Metropolis chain with its acceptance probability truncated below :math:`2^{-53}`, which costs
neither an exp nor a random number in the cold part of the anneal.
"""

from __future__ import annotations

import numba
import numpy as np

from bnnlab import _numba_cache

_numba_cache.install()  # numba's disk cache, safe for processes compiling at once

GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@numba.njit(cache=True, inline="always")
def _uniform(key, counter):  # pragma: no cover - compiled
    z = key + counter * np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return np.float64(z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


#: above this exponent exp(-x) < 2^-53, the smallest non-zero uniform: the move is refused
EXP_CUTOFF = 37.5


@numba.njit(cache=True, inline="always")
def _accept(x, key, counter):  # pragma: no cover - compiled
    """Metropolis with the acceptance truncated below 2^-53 (module docstring)."""
    if x <= 0.0:
        return True
    if x >= 37.5:
        return False
    return _uniform(key, counter) < np.exp(-x)


@numba.njit(cache=True, inline="always")
def _sgn(v, eps):  # pragma: no cover - compiled
    return 1.0 if v + eps >= 0.0 else -1.0


@numba.njit(cache=True)
def _init_state(kind, a, xt, g, state):  # pragma: no cover - compiled
    """``state`` from ``g``: local fields ``A g`` (kind 0) or ``X~ g`` (kind 1)."""
    if kind == 0:
        n = g.shape[0]
        for k in range(n):
            acc = 0.0
            for i in range(n):
                acc += a[k, i] * g[i]
            state[k] = acc
    else:
        bsz = xt.shape[0]
        for b in range(bsz):
            acc = 0.0
            for i in range(g.shape[0]):
                acc += xt[b, i] * g[i]
            state[b] = acc


@numba.njit(cache=True, inline="always")
def _delta(kind, a, h_r, xt, y_r, eps, g, state, i):  # pragma: no cover - compiled
    """Energy change of flipping spin ``i``."""
    if kind == 0:
        return -2.0 * g[i] * (h_r[i] + 2.0 * state[i])
    d = 0.0
    step = -2.0 * g[i]
    for b in range(xt.shape[0]):
        old = _sgn(state[b], eps)
        new = _sgn(state[b] + step * xt[b, i], eps)
        if new != old:
            d += -2.0 * y_r[b] * (new - old)
    return d


@numba.njit(cache=True, inline="always")
def _flip(kind, a, xt, g, state, i):  # pragma: no cover - compiled
    """Flip spin ``i`` and update the state."""
    g[i] = -g[i]
    if kind == 0:
        two = 2.0 * g[i]
        for k in range(g.shape[0]):  # row i (A is exactly symmetric): contiguous
            state[k] += two * a[i, k]
    else:
        two = 2.0 * g[i]
        for b in range(xt.shape[0]):
            state[b] += two * xt[b, i]


@numba.njit(cache=True)
def _energy(kind, a, h_r, offset_r, xt, y_r, eps, g, state):  # pragma: no cover - compiled
    """Energy of ``g`` from its state (used to compare Trotter slices)."""
    if kind == 0:
        e = offset_r
        for i in range(g.shape[0]):
            e += g[i] * (state[i] + h_r[i])
        return e
    e = 0.0
    for b in range(xt.shape[0]):
        d = _sgn(state[b], eps) - y_r[b]
        e += d * d
    return e


@numba.njit(cache=True, parallel=True)
def simulated_annealing(kind, a, h, xt, y, eps, keys, betas, out):  # pragma: no cover - compiled
    """Metropolis single-spin-flip sweeps over every (row, read) at once.

    ``betas`` is ``(rows, sweeps)``: the inverse temperature of each sweep of each row. Spins start
    uniformly at random and are visited in order ``0..n-1`` every sweep. ``out`` (int8
    ``(rows, reads, n)``) receives the final states.
    """
    rows, reads, n = out.shape
    size = n if kind == 0 else xt.shape[0]
    for t in numba.prange(rows * reads):
        r = t // reads
        key = keys[t]
        g = np.empty(n, dtype=np.float64)
        for i in range(n):
            g[i] = 1.0 if _uniform(key, np.uint64(i)) < 0.5 else -1.0
        state = np.empty(size, dtype=np.float64)
        _init_state(kind, a, xt, g, state)
        h_r = h[r] if kind == 0 else h[0]
        y_r = y[r] if kind == 1 else y[0]
        for s in range(betas.shape[1]):
            beta = betas[r, s]
            base = np.uint64(n + s * n)
            for i in range(n):
                d = _delta(kind, a, h_r, xt, y_r, eps, g, state, i)
                if _accept(beta * d, key, base + np.uint64(i)):
                    _flip(kind, a, xt, g, state, i)
        for i in range(n):
            out[r, t % reads, i] = np.int8(g[i])


@numba.njit(cache=True, parallel=True)
def simulated_quantum_annealing(
    kind, a, h, offset, xt, y, eps, keys, beta, couplings, slices, out
):  # pragma: no cover - compiled
    """Path-integral Monte Carlo (discrete-time Suzuki–Trotter) over every (row, read) at once.

    ``couplings`` ``(rows, sweeps)`` is :math:`J_\\perp` of each sweep (from the transverse-field
    schedule), ``beta`` ``(rows,)`` the inverse temperature. ``P = slices`` Trotter replicas of the ``n`` spins
    are coupled along the imaginary-time ring; flipping spin ``i`` of slice ``k`` costs
    :math:`(\\beta/P)\\,\\Delta E_k(i) + 2 J_\\perp g^k_i (g^{k-1}_i + g^{k+1}_i)`. Each sweep visits
    every slice in order and every spin in order. The lowest-energy slice of the final state is
    returned (the first of equal ones).
    """
    rows, reads, n = out.shape
    size = n if kind == 0 else xt.shape[0]
    for t in numba.prange(rows * reads):
        r = t // reads
        key = keys[t]
        g = np.empty((slices, n), dtype=np.float64)
        state = np.empty((slices, size), dtype=np.float64)
        for k in range(slices):
            for i in range(n):
                g[k, i] = 1.0 if _uniform(key, np.uint64(k * n + i)) < 0.5 else -1.0
            _init_state(kind, a, xt, g[k], state[k])
        h_r = h[r] if kind == 0 else h[0]
        y_r = y[r] if kind == 1 else y[0]
        bp = beta[r] / slices
        for s in range(couplings.shape[1]):
            jp = couplings[r, s]
            for k in range(slices):
                up = (k + 1) % slices
                down = (k - 1 + slices) % slices
                base = np.uint64(slices * n + (s * slices + k) * n)
                for i in range(n):
                    d = bp * _delta(kind, a, h_r, xt, y_r, eps, g[k], state[k], i)
                    if slices > 1:
                        d += 2.0 * jp * g[k, i] * (g[up, i] + g[down, i])
                    if _accept(d, key, base + np.uint64(i)):
                        _flip(kind, a, xt, g[k], state[k], i)
        best = 0
        best_e = np.inf
        for k in range(slices):
            e = _energy(kind, a, h_r, offset[r], xt, y_r, eps, g[k], state[k])
            if e < best_e:
                best_e = e
                best = k
        for i in range(n):
            out[r, t % reads, i] = np.int8(g[best, i])


@numba.njit(cache=True, parallel=True)
def gray_code_ground_states(kind, a, h, xt, y, eps, out):  # pragma: no cover - compiled
    """Exact ground state of every row by reflected-Gray-code enumeration from all −1.

    ``out`` int8 ``(rows, n)``. The first assignment of the lowest energy in Gray-code order wins
    (energies compared as accumulated; the caller recomputes the winner's energy exactly).
    """
    rows, n = out.shape
    size = n if kind == 0 else xt.shape[0]
    for r in numba.prange(rows):
        g = -np.ones(n, dtype=np.float64)
        state = np.empty(size, dtype=np.float64)
        _init_state(kind, a, xt, g, state)
        h_r = h[r] if kind == 0 else h[0]
        y_r = y[r] if kind == 1 else y[0]
        energy = _energy(kind, a, h_r, 0.0, xt, y_r, eps, g, state)
        best = energy
        best_code = 0
        code = 0
        for step in range(1, 1 << n):
            i = 0
            s = step
            while (s & 1) == 0:
                s >>= 1
                i += 1
            energy += _delta(kind, a, h_r, xt, y_r, eps, g, state, i)
            _flip(kind, a, xt, g, state, i)
            code ^= 1 << i
            if energy < best - 1e-12 * (1.0 + abs(best)):
                best = energy
                best_code = code
        for k in range(n):
            out[r, k] = 1 if (best_code >> k) & 1 else -1
