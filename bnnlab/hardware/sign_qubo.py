r"""QP-SBGD's ``"sign"`` objective of one output row encoded as a QUBO (for Ocean samplers / a QPU).

Row ``j`` of a :class:`~bnnlab.hardware.qubo.SignProblem` minimises
:math:`\sum_b (s_b - y_b)^2` with :math:`s_b = \operatorname{sign}(\tilde x_b^\top g + \varepsilon)`
— not quadratic in ``g``. With ±1 inputs every column norm is ``B``, so
:math:`\tilde x_b^\top g = (2q_b - n)/B` where :math:`q_b = \#\{i : x_{bi} g_i = 1\}` is linear in
the binary variables :math:`u_i = (g_i + 1)/2`, and :math:`s_b = +1 \iff q_b \ge \tau` with
:math:`\tau = \lceil (n - \varepsilon B)/2 \rceil` (clamped to ``[0, n + 1]``). Per sample ``b``
the encoding adds a *sign bit* :math:`\sigma_b` (:math:`s_b = 2\sigma_b - 1`) and two slack
registers :math:`r_b, t_b \in [0, n]` of :math:`K = \lceil \log_2(n + 1) \rceil` bits each
(weights :math:`1, 2, \dots, 2^{K-2}` and a last weight that makes the maximum exactly ``n``), and
two equality constraints, each added as :math:`\lambda(\cdot)^2`:

.. math:: q_b - \tau\sigma_b - r_b = 0 \quad (\sigma_b = 1 \Rightarrow q_b \ge \tau), \qquad
          \tau - 1 + (n - \tau + 1)\sigma_b - q_b - t_b = 0 \quad
          (\sigma_b = 0 \Rightarrow q_b < \tau).

The objective is linear in the sign bits: :math:`(s_b - y_b)^2 = 1 + y_b^2 + 2y_b - 4 y_b \sigma_b`.
A violated constraint has an integer residual, so it costs at least λ, while a wrong sign bit gains
at most :math:`4|y_b|`: with :math:`\lambda > 4 \max_b |y_b|` (default :math:`5 \max_b |y_b|`, or 1
for a zero gradient) the minimum over the auxiliary bits, for every ``g``, is exactly the row's sign
energy — the ground states of the QUBO are those of the row. Size: :math:`n + B(1 + 2K)` variables.

The BQM is ``BINARY``; variables ``0..n-1`` are :math:`u_i` (``g = 2u - 1``), the auxiliary ones
are labelled ``("sign", b)``, ``("r", b, k)`` and ``("t", b, k)``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from bnnlab._validation import check_real

__all__ = ["SignQubo", "encode", "slack_weights"]


@dataclasses.dataclass(frozen=True)
class SignQubo:
    """One row's encoding: the BQM, its penalty weight and its size."""

    bqm: Any
    penalty: float
    n: int
    num_variables: int
    num_interactions: int

    @property
    def auxiliary(self) -> int:
        """Sign and slack bits added to the ``n`` gradient variables."""
        return self.num_variables - self.n


def slack_weights(top: int) -> list[int]:
    """Bit weights whose subsets sum to every integer in ``0..top`` and to nothing above it."""
    if top < 1:
        return []
    k = math.ceil(math.log2(top + 1))
    weights = [1 << e for e in range(k - 1)]
    weights.append(top - sum(weights))
    return weights


def encode(problem: Any, row: int, *, penalty: float | None = None) -> SignQubo:
    """Encode row ``row`` of a ``SignProblem`` (±1 inputs) as a QUBO (see the module docstring)."""
    try:
        import dimod
    except ImportError as exc:  # pragma: no cover - the extra is installed in tests
        raise ImportError("the sign QUBO needs dimod: pip install 'bnnlab[annealing]'") from exc
    x = problem.x
    if not bool(((x == 1) | (x == -1)).all()):
        raise ValueError(
            "x: the sign QUBO needs ±1 inputs (a zero input breaks the integer grid of x~.g)"
        )
    y = problem.y[row]
    bsz, n = x.shape
    scale = float(np.abs(y).max()) if y.size else 0.0
    if penalty is None:
        penalty = 5.0 * scale if scale > 0 else 1.0
    penalty = check_real(penalty, "penalty", low=0.0, open_low=True)
    if penalty <= 4.0 * scale:
        raise ValueError(
            f"penalty: must exceed 4 max|y| = {4.0 * scale:g} for the encoding to be exact, "
            f"got {penalty:g}"
        )
    tau = math.ceil((n - problem.eps * bsz) / 2.0 - 1e-12)
    tau = min(max(tau, 0), n + 1)
    weights = slack_weights(n)
    bqm = dimod.BinaryQuadraticModel(dimod.BINARY)
    bqm.add_variables_from((i, 0.0) for i in range(n))
    for b in range(bsz):
        # q_b = sum_i a_bi with a_bi = u_i (x = +1) or 1 - u_i (x = -1): terms and constant
        q_terms = [(i, 1.0 if x[b, i] > 0 else -1.0) for i in range(n)]
        q_const = float((x[b] < 0).sum())
        sign = ("sign", b)
        bqm.add_linear(sign, -4.0 * float(y[b]))
        bqm.offset += 1.0 + float(y[b]) ** 2 + 2.0 * float(y[b])
        r = [(("r", b, k), -float(w)) for k, w in enumerate(weights)]
        t = [(("t", b, k), -float(w)) for k, w in enumerate(weights)]
        bqm.add_linear_equality_constraint([*q_terms, (sign, -float(tau)), *r], penalty, q_const)
        neg_q = [(i, -c) for i, c in q_terms]
        bqm.add_linear_equality_constraint(
            [*neg_q, (sign, float(n - tau + 1)), *t], penalty, float(tau - 1) - q_const
        )
    return SignQubo(bqm, penalty, n, bqm.num_variables, bqm.num_interactions)
