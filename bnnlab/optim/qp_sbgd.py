r"""QP-SBGD: projected SGD with binary gradients from per-layer quadratic binary programs.

For every binarised layer (latent :math:`W \in \mathbb R^{m \times n}`, forward :math:`\mathrm{sign}(W)`)
and mini-batch, the layer's inputs ``X`` and the gradient ``Y`` with respect to its products
(:attr:`bnnlab.nn.Parameter.factors`) define ``m`` independent problems over
:math:`G_j \in \{\pm1\}^n` (:func:`bnnlab.hardware.qubo.layer_problem`, formulation ``"lsq"`` or
``"sign"``); a solver of :mod:`bnnlab.hardware.annealing` solves them and

.. math:: W \leftarrow W - \eta\, G .

With the authors' annealer formulation ``"neuron"`` the solution is the neuron's best binary weight
:math:`w^\star` for the targets :math:`(1 - y)/2` and the step goes towards it,
:math:`W \leftarrow W + \eta\, w^\star` (fan-in at most 16).

Every other parameter (BatchNorm, biases, a real output layer) takes the step of the inner
optimiser (``inner="sgd"`` by default). With ``num_reads > 1`` the kept read is the lowest-energy
one (``selection="best"``) or the first (``"first"``, what the authors did on the annealer).

Each step appends one record per layer to :attr:`QPSBGD.records`: ``step``, ``layer``, ``solver``,
``n`` and ``rows``, ``seconds`` (solver wall time), ``energy_gap`` (mean over rows of the kept
read's energy minus the exact optimum, when ``n <= gap_max_n``, else NaN), ``sign_agreement``
(fraction of the batch's non-zero gradient entries :math:`y_{bj}` whose sign the step reproduces,
:math:`\mathrm{sign}(\tilde x_b^\top G_j + \varepsilon) = \mathrm{sign}(y_{bj})`) and
``logical_qubits`` (variables of one row's problem as a QPU would receive it: ``n`` for ``lsq``,
the QUBO encoding's size for ``sign``).

References
----------
Krahn, Sasdelli, Yang, Golyanik, Kannala, Chin, Birdal, "Projected Stochastic Gradient Descent with
Quantum Annealed Binary Gradients", BMVC 2024 (REFERENCES.md §3.1).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from bnnlab._rng import jsonable_rng_state
from bnnlab._validation import check_choice, check_int, check_real, make_rng
from bnnlab._xp import namespace, to_numpy
from bnnlab.optim._binary import BinaryOptimizer, Selector

SELECTIONS = ("best", "first")


def _select(samples: np.ndarray, energies: np.ndarray, selection: str) -> tuple[Any, Any]:
    """The kept read of every row: ``(rows, n)`` samples and ``(rows,)`` energies."""
    if selection == "first":
        return samples[:, 0], energies[:, 0]
    idx = np.argmin(energies, axis=1)  # the first of equal energies
    rows = np.arange(samples.shape[0])
    return samples[rows, idx], energies[rows, idx]


class QPSBGD(BinaryOptimizer):
    r"""QP-SBGD: per binarised layer and batch, solve for the binary gradient and step along it.

    For output row ``j`` the binary gradient is the solution of (``lsq``)

    .. math:: G_j = \arg\min_{g \in \{\pm1\}^n} \lVert \tilde X g - \alpha y_j \rVert^2

    or of the sign objective (``sign``, :mod:`bnnlab.hardware.qubo`), and
    :math:`W \leftarrow W - \eta G`; see the module docstring for the records.

    Parameters
    ----------
    params : Layer, list of Parameter, or list of group dicts
        As :class:`~bnnlab.optim.Optimizer`.
    lr : float
        :math:`\eta` of the binary step and base rate of the inner optimiser (the authors' 0.1).
    formulation : {"lsq", "sign", "neuron"}
        The per-row problem (:mod:`bnnlab.hardware.qubo`).
    solver : str
        A solver alias of :mod:`bnnlab.hardware.annealing` (``exact``, ``sa``, ``sqa``, ...).
    num_reads : int
        Reads per row.
    solver_params : mapping, optional
        Extra arguments of the solver (``num_sweeps``, ``beta_range``, ``trotter``, ...).
    alpha : float or "auto"
        Target scale of ``lsq`` (default ``"auto"``, per row: :mod:`bnnlab.hardware.qubo`).
    eps : float
        Threshold shift :math:`\varepsilon` of ``sign`` (and of the recorded sign agreement).
    selection : {"best", "first"}
    gap_max_n : int
        Record the gap to the exact optimum for layers of at most this fan-in (0: never); the
        exact solve costs :math:`O(2^n n)` per row.
    realism : Realism, optional
        Solve each row as an Advantage QPU would realise it (``lsq`` only;
        :mod:`bnnlab.hardware.annealing.realism`).
    qpu_cost : bool
        Record the QPU cost of every layer solve (:mod:`bnnlab.hardware.annealing.qpu`: needs the
        ``annealing`` extra): ``physical_qubits``, ``longest_chain``, ``qpu_seconds`` (all rows).
    seed : int
        Seed of the solvers' random streams (required: randomness is explicit).
    inner, inner_kwargs, weight_decay, binary
        As :class:`~bnnlab.optim.BinaryConnect`.

    References
    ----------
    Krahn et al., "Projected Stochastic Gradient Descent with Quantum Annealed Binary Gradients",
    BMVC 2024, arXiv 2310.15128 (REFERENCES.md §3).
    """

    _inner_gets_binary = False

    def __init__(
        self,
        params: Any,
        lr: float = 0.1,
        *,
        formulation: str = "lsq",
        solver: str = "sa",
        num_reads: int = 1,
        solver_params: Mapping[str, Any] | None = None,
        alpha: Any = "auto",
        eps: float = 0.01,
        selection: str = "best",
        gap_max_n: int = 12,
        realism: Any = None,
        qpu_cost: bool = False,
        seed: Any = None,
        inner: Any = "sgd",
        inner_kwargs: Mapping[str, Any] | None = None,
        weight_decay: float = 0.0,
        binary: Selector = "binarized",
    ):
        from bnnlab.hardware import annealing, qubo

        check_choice(formulation, "formulation", qubo.FORMULATIONS)
        if not isinstance(solver, str) or solver not in annealing.SOLVERS:
            raise ValueError(
                f"solver: unknown solver {solver!r}; available: {', '.join(annealing.available())}"
            )
        if seed is None:
            raise ValueError("seed: QP-SBGD's solvers draw random numbers; pass an explicit seed")
        if solver_params is not None and not isinstance(solver_params, Mapping):
            raise TypeError(f"solver_params: expected a mapping, got {solver_params!r}")
        self.formulation = formulation
        self.solver = solver
        self.num_reads = check_int(num_reads, "num_reads", minimum=1)
        self.solver_params = dict(solver_params or {})
        self.alpha = (
            "auto"
            if isinstance(alpha, str) and alpha == "auto"
            else check_real(alpha, "alpha", low=0.0, open_low=True)
        )
        self.eps = check_real(eps, "eps", low=0.0)
        self.selection = check_choice(selection, "selection", SELECTIONS)
        self.gap_max_n = check_int(gap_max_n, "gap_max_n", minimum=0, maximum=24)
        if realism is not None:
            from bnnlab.hardware.annealing.realism import Realism

            if not isinstance(realism, Realism):
                raise TypeError(f"realism: expected a Realism, got {type(realism).__name__}")
            if formulation != "lsq":
                raise ValueError("realism: applies to the lsq formulation (an Ising h, J)")
        if not isinstance(qpu_cost, bool | np.bool_):
            raise TypeError(f"qpu_cost: expected a bool, got {type(qpu_cost).__name__}")
        self.realism = realism
        self.qpu_cost = bool(qpu_cost)
        self.rng = make_rng(seed)
        self.records: list[dict[str, Any]] = []
        self._reported = 0
        super().__init__(
            params, lr, weight_decay, binary=binary, inner=inner, inner_kwargs=inner_kwargs
        )

    def _binary_step(self) -> None:
        from bnnlab.hardware import annealing, qubo

        for name, p, group in self._binary_items():
            if p.factors is None:
                raise ValueError(
                    f"params: {name!r} has no recorded inputs and output gradient (factors); "
                    "QP-SBGD needs a Dense or Conv2d weight after a backward pass"
                )
            x, y = (to_numpy(a) for a in p.factors)
            try:
                problem = qubo.layer_problem(
                    x, y, formulation=self.formulation, alpha=self.alpha, eps=self.eps
                )
            except ValueError as exc:
                raise ValueError(f"params: layer {name!r}: {exc}") from exc
            result = annealing.solve(
                problem,
                self.solver,
                num_reads=self.num_reads,
                seed=self.rng,
                realism=self.realism,
                **self.solver_params,
            )
            g, energy = _select(result.samples, result.energies, self.selection)
            self._record(name, problem, result, g, energy, x, y)
            xp = namespace(p.data)
            step = xp.asarray(g, dtype=p.data.dtype)
            if p.data.ndim == 4:  # a convolution: (out, kh*kw*C) columns as im2col orders them
                from bnnlab.nn._im2col import weight_from_matrix

                step = weight_from_matrix(step, p.data.shape)
            p.data -= (problem.step_sign * self.lr * group["lr_scale"]) * step

    def _record(
        self, name: str, problem: Any, result: Any, g: Any, energy: Any, x: Any, y: Any
    ) -> None:
        from bnnlab.hardware import annealing, qubo

        gap = math.nan
        if problem.n <= self.gap_max_n:
            best = annealing.solve(problem, "exact").energies[:, 0]
            gap = float(np.mean(energy - best))
        logical = problem.n
        if problem.formulation != "lsq":
            from bnnlab.hardware.sign_qubo import slack_weights

            logical += x.shape[0] * (1 + 2 * len(slack_weights(problem.n)))
        step = problem.step_sign * g.T.astype(np.float64)  # the step is -lr * step
        s = np.where(qubo.tilde(x) @ step + self.eps >= 0, 1.0, -1.0)
        nz = y != 0
        agree = float((s[nz] == np.sign(y[nz])).mean()) if nz.any() else math.nan
        cost: dict[str, Any] = {}
        if self.qpu_cost:
            from bnnlab.hardware.annealing import qpu

            c = qpu.estimate(logical, self.num_reads)
            cost = {
                "physical_qubits": c.physical_qubits if c.fits else math.nan,
                "longest_chain": c.longest_chain if c.fits else math.nan,
                "qpu_seconds": problem.rows * c.qpu_seconds if c.fits else math.nan,
            }
        self.records.append(
            {
                "step": self.steps,
                "layer": name,
                "solver": self.solver,
                "n": problem.n,
                "rows": problem.rows,
                "seconds": result.seconds,
                "energy_gap": gap,
                "sign_agreement": agree,
                "logical_qubits": logical,
                **cost,
            }
        )

    def epoch_columns(self) -> dict[str, float]:
        """Means over the records since the last call: ``qp/energy_gap``,
        ``qp/sign_agreement``, ``qp/solver_seconds`` (summed) and ``qp/logical_qubits`` (max);
        with ``qpu_cost`` also ``qp/physical_qubits`` (max) and ``qp/qpu_seconds`` (summed)."""
        new = self.records[self._reported :]
        self._reported = len(self.records)
        if not new:
            return {}

        def mean(key: str) -> float:
            vals = [r[key] for r in new if not math.isnan(r[key])]
            return float(np.mean(vals)) if vals else math.nan

        cols = {
            "qp/energy_gap": mean("energy_gap"),
            "qp/sign_agreement": mean("sign_agreement"),
            "qp/solver_seconds": float(sum(r["seconds"] for r in new)),
            "qp/logical_qubits": float(max(r["logical_qubits"] for r in new)),
        }
        if self.qpu_cost:
            cols["qp/physical_qubits"] = float(max(r["physical_qubits"] for r in new))
            cols["qp/qpu_seconds"] = float(sum(r["qpu_seconds"] for r in new))
        return cols

    # -- checkpoints: the solvers' generator travels with the optimiser ----------------------
    def state_dict(self, names: Mapping[int, str]) -> tuple[dict[str, Any], dict[str, Any]]:
        arrays, meta = super().state_dict(names)
        meta["rng"] = jsonable_rng_state(self.rng.bit_generator.state)
        return arrays, meta

    def load_state_dict(self, arrays: Any, meta: Mapping[str, Any], params: Any) -> None:
        super().load_state_dict(arrays, meta, params)
        if "rng" not in meta:
            raise ValueError("optimizer state: QP-SBGD's generator state ('rng') is missing")
        self.rng.bit_generator.state = meta["rng"]

    def __repr__(self) -> str:
        return (
            f"QPSBGD(lr={self.lr}, formulation={self.formulation!r}, solver={self.solver!r}, "
            f"num_reads={self.num_reads}, selection={self.selection!r})"
        )
