r"""What a solve would need on a D-Wave Advantage QPU: qubits, chains and QPU access time.

**Embedding.** A row's problem is dense (``lsq``: every pair of inputs is coupled through
:math:`\tilde X^\top \tilde X`), so it is embedded as a complete graph :math:`K_m` on the
``m`` logical variables into the Pegasus P16 graph of an Advantage QPU (5640 qubits; the ideal
graph — a real QPU's working graph lacks a few qubits) with minorminer's
``busclique.find_clique_embedding``, cached per ``m``; the physical qubits are the sum of the chain
lengths. A size with no clique embedding "does not fit". For the sign and neuron QUBOs (not
complete) the clique embedding is an upper bound.

**Time** (D-Wave docs, "Operation and Timing", estimating the QPU access time):

.. math:: T = T_p + R\,(T_a + T_r(q) + T_d)

with programming time :math:`T_p` = 15 ms ("typically between 10 and 20 ms"), the default anneal
:math:`T_a` = 20 µs, delay :math:`T_d` = 21 µs per read (the docs' example timing: 21.02 µs), and
the readout time per read growing with the qubits read: from 25 µs for a dozen qubits to 150 µs
for a full QPU ("some small problems may take 25 µs per read while a large problem might take
150 µs"), interpolated linearly in log-log between (12, 25 µs) and (5000, 150 µs) as the
``pwl_log_log`` readout model does, and clamped outside. Each row of a layer is one QPU
programming: a layer of ``rows`` rows costs ``rows`` times :math:`T`.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

from bnnlab._validation import check_int

PEGASUS_M = 16
PROGRAMMING_US = 15_000.0
ANNEAL_US = 20.0
DELAY_US = 21.0
READOUT_POINTS = ((12, 25.0), (5000, 150.0))  # (qubits, µs per read)


@dataclasses.dataclass(frozen=True)
class QPUCost:
    """Cost of one QPU problem (one row), and of ``rows`` of them."""

    logical: int
    physical_qubits: int | None
    longest_chain: int | None
    fits: bool
    qpu_seconds: float | None
    breakdown_us: dict[str, float]


@functools.cache
def _graph() -> Any:
    try:
        from dwave.graphs import pegasus_graph
    except ImportError:  # older Ocean: the same generator in dwave-networkx
        try:
            from dwave_networkx import pegasus_graph
        except ImportError as exc:
            raise ImportError(
                "the QPU cost needs dwave-networkx: pip install 'bnnlab[annealing]'"
            ) from exc
    return pegasus_graph(PEGASUS_M)


@functools.cache
def clique_chains(m: int) -> tuple[int, ...] | None:
    """Chain lengths of minorminer's clique embedding of :math:`K_m` in Pegasus P16 (``None``:
    does not fit)."""
    try:
        from minorminer import busclique
    except ImportError as exc:
        raise ImportError("the QPU cost needs minorminer: pip install 'bnnlab[annealing]'") from exc
    emb = busclique.find_clique_embedding(m, _graph())
    if not emb:
        return None
    return tuple(len(emb[v]) for v in range(m))


def readout_us(qubits: int) -> float:
    """Readout time per read for ``qubits`` physical qubits (see the module docstring)."""
    (q0, t0), (q1, t1) = READOUT_POINTS
    q = min(max(qubits, q0), q1)
    f = (math.log10(q) - math.log10(q0)) / (math.log10(q1) - math.log10(q0))
    return t0 * (t1 / t0) ** f


def estimate(logical: int, num_reads: int) -> QPUCost:
    """Cost of one problem of ``logical`` variables sampled ``num_reads`` times."""
    logical = check_int(logical, "logical", minimum=1)
    num_reads = check_int(num_reads, "num_reads", minimum=1)
    chains = clique_chains(logical)
    if chains is None:
        return QPUCost(logical, None, None, False, None, {})
    qubits = sum(chains)
    parts = {
        "programming": PROGRAMMING_US,
        "anneal": num_reads * ANNEAL_US,
        "readout": num_reads * readout_us(qubits),
        "delay": num_reads * DELAY_US,
    }
    return QPUCost(logical, qubits, max(chains), True, sum(parts.values()) * 1e-6, parts)
