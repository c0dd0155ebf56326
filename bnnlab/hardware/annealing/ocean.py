r"""The samplers users know, behind :func:`bnnlab.hardware.annealing.solve`: Ocean's
dwave-samplers and OpenJij, on the dimod BQM of every row (:meth:`LayerProblem.to_bqm`).

=======================  ========================================================================
alias                    sampler
=======================  ========================================================================
``dwave-sa``             ``dwave.samplers.SimulatedAnnealingSampler``
``dwave-greedy``         ``dwave.samplers.SteepestDescentSolver`` (steepest descent from random
                         starts)
``dwave-tabu``           ``dwave.samplers.TabuSampler``
``dwave-pathintegral``   ``dwave.samplers.PathIntegralAnnealingSampler`` (SQA)
``openjij-sa``           ``openjij.SASampler``
``openjij-sqa``          ``openjij.SQASampler``
=======================  ========================================================================

Every row is sampled separately with ``num_reads`` reads and a 31-bit seed drawn from ``seed``
(all six samplers take one and are reproducible with it). OpenJij (0.12) given a seed returns the
*same* run for every read of a call, so its reads are made one call each, with seeds drawn from the
row's seed — independent and reproducible; auxiliary variables (the sign QUBO's
labelled ones) are relabelled ``n, n+1, ...`` first, since OpenJij sorts labels; ``params`` go to the sampler after a
check against the names it accepts (an unknown name is refused here, naming the sampler's). The
returned samples are variables ``0..n-1`` (the gradient bits; the sign QUBO's auxiliary bits are
dropped) as ±1, in the sampler's read order — the order it produced them in, not sorted by energy
(``SampleSet.record``), which the ``"first"`` selection of the annealer realism relies on. The
energies :func:`~bnnlab.hardware.annealing.solve` reports are recomputed on the problem itself.

Needs the optional extra: ``pip install 'bnnlab[annealing]'`` (dimod, dwave-samplers, openjij,
minorminer, dwave-networkx); imported only when an adapter is called.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from bnnlab._validation import make_rng

#: alias -> (module, class)
SAMPLERS: dict[str, tuple[str, str]] = {
    "dwave-sa": ("dwave.samplers", "SimulatedAnnealingSampler"),
    "dwave-greedy": ("dwave.samplers", "SteepestDescentSolver"),
    "dwave-tabu": ("dwave.samplers", "TabuSampler"),
    "dwave-pathintegral": ("dwave.samplers", "PathIntegralAnnealingSampler"),
    "openjij-sa": ("openjij", "SASampler"),
    "openjij-sqa": ("openjij", "SQASampler"),
}
EXTRA = "pip install 'bnnlab[annealing]'"


@functools.cache
def sampler(alias: str) -> Any:
    """An instance of the sampler of ``alias`` (``ImportError`` naming the extra without it)."""
    module, name = SAMPLERS[alias]
    try:
        return getattr(importlib.import_module(module), name)()
    except ImportError as exc:
        raise ImportError(f"sampler {alias!r} needs {module}: {EXTRA}") from exc


def accepted(alias: str) -> frozenset[str]:
    """Parameter names the sampler of ``alias`` accepts: dimod's ``parameters`` and the keyword
    arguments of its ``sample`` (OpenJij lists only some of them in ``parameters``)."""
    s = sampler(alias)
    names = set(getattr(s, "parameters", None) or ())
    sig = inspect.signature(s.sample)
    names |= {
        p.name
        for p in sig.parameters.values()
        if p.name not in ("self", "bqm") and p.kind is not inspect.Parameter.VAR_KEYWORD
    }
    return frozenset(names)


def _spins(record: Any, variables: Any, n: int, vartype: Any) -> np.ndarray:
    index = {v: i for i, v in enumerate(variables)}
    try:
        cols = [index[i] for i in range(n)]
    except KeyError as exc:  # pragma: no cover - every BQM of a problem has 0..n-1
        raise ValueError(f"sampler returned no value for gradient variable {exc}") from None
    values = np.asarray(record.sample)[:, cols]
    if str(vartype).endswith("BINARY"):
        values = 2 * values - 1
    return values.astype(np.int8)


def run(alias: str, problem: Any, *, num_reads: int = 1, seed: Any = None, **params: Any):
    """Sample every row of ``problem`` with the sampler of ``alias``: int8 ``(rows, reads, n)``."""
    if alias not in SAMPLERS:
        raise ValueError(f"sampler: unknown Ocean/OpenJij alias {alias!r}; have {sorted(SAMPLERS)}")
    allowed = accepted(alias)
    for reserved in ("num_reads", "seed"):
        if reserved in params:
            raise ValueError(f"{reserved}: given by solve(), not as a sampler parameter")
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ValueError(
            f"params: {alias} does not take {', '.join(unknown)}; it takes "
            f"{', '.join(sorted(allowed - {'num_reads', 'seed'}))}"
        )
    rng = make_rng(seed)
    s = sampler(alias)
    out = np.empty((problem.rows, num_reads, problem.n), dtype=np.int8)
    for row in range(problem.rows):
        bqm = problem.to_bqm(row)
        aux = [v for v in bqm.variables if not isinstance(v, int | np.integer)]
        if aux:
            bqm = bqm.relabel_variables(
                {v: problem.n + k for k, v in enumerate(aux)}, inplace=False
            )
        row_seed = int(rng.integers(0, 2**31 - 1))
        if alias.startswith("openjij"):
            seeds = np.random.default_rng(row_seed).integers(0, 2**31 - 1, size=num_reads)
            out[row] = np.concatenate(
                [_read(s, bqm, 1, int(k), problem.n, alias, params) for k in seeds]
            )
        else:
            out[row] = _read(s, bqm, num_reads, row_seed, problem.n, alias, params)
    return out


def _read(s: Any, bqm: Any, reads: int, seed: int, n: int, alias: str, params: dict) -> Any:
    """``reads`` samples of one call, in record order (aggregated reads expanded)."""
    result = s.sample(bqm, num_reads=reads, seed=seed, **params)
    record = result.record
    spins = _spins(record, result.variables, n, result.vartype)
    if len(spins) != reads:
        spins = np.repeat(spins, np.asarray(record.num_occurrences), axis=0)
    if len(spins) != reads:
        raise RuntimeError(f"{alias} returned {len(spins)} reads for num_reads={reads}")
    return spins


def _adapter(alias: str) -> Callable[..., np.ndarray]:
    def solver(problem: Any, *, num_reads: int = 1, seed: Any = None, **params: Any) -> np.ndarray:
        return run(alias, problem, num_reads=num_reads, seed=seed, **params)

    solver.__name__ = alias.replace("-", "_")
    solver.__doc__ = f"{SAMPLERS[alias][0]}.{SAMPLERS[alias][1]} on every row (see the module)."
    return solver


dwave_sa = _adapter("dwave-sa")
dwave_greedy = _adapter("dwave-greedy")
dwave_tabu = _adapter("dwave-tabu")
dwave_pathintegral = _adapter("dwave-pathintegral")
openjij_sa = _adapter("openjij-sa")
openjij_sqa = _adapter("openjij-sqa")
