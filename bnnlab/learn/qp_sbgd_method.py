"""The ``qp-sbgd`` training method: a latent-weight binary MLP trained by
:class:`bnnlab.optim.QPSBGD`, with the problem and the solver as first-class options.

``bnnlab train qp-sbgd --formulation sign --solver sqa --num-reads 10 --num-sweeps 200`` trains
with simulated quantum annealing on the authors' sign objective; every epoch's row carries the
solvers' diagnostics (``qp/energy_gap``, ``qp/sign_agreement``, ``qp/solver_seconds``,
``qp/logical_qubits``; :meth:`bnnlab.optim.QPSBGD.epoch_columns`). The other fields are those of
:class:`bnnlab.learn.latent_method.LatentConfig`; ``options`` may add any other optimiser argument
(``inner``, ``solver_params`` of an Ocean sampler, ...).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from bnnlab._config import field
from bnnlab._validation import check_choice
from bnnlab.learn.latent_method import LatentConfig, LatentMethod

#: solvers that take ``num_sweeps``
SWEEPING = ("sa", "sqa")


def _solvers() -> list[str]:
    from bnnlab.hardware import annealing

    return annealing.available()


def _formulations() -> tuple[str, ...]:
    from bnnlab.hardware.qubo import FORMULATIONS

    return FORMULATIONS


@dataclasses.dataclass(frozen=True)
class QPSBGDConfig(LatentConfig):
    """Hyperparameters of QP-SBGD training (see the module docstring)."""

    optimizer: str = field("qp-sbgd", "optimiser (QP-SBGD)", cli=False, choices=("qp-sbgd",))
    lr: float = field(0.1, "learning rate")  # eta of W <- W - eta G, the authors' 0.1
    formulation: str = field("lsq", "per-row problem (bnnlab.hardware.qubo)", choices=_formulations)
    solver: str = field("sa", "solver alias (bnnlab.hardware.annealing)", choices=_solvers)
    num_reads: int = field(1, "reads per row")
    num_sweeps: int = field(100, "sweeps per anneal (sa and sqa only)")
    alpha: str = field("auto", "target scale alpha of the lsq problem: auto (per row) or a number")
    eps: float = field(0.01, "threshold shift epsilon of the sign problem")
    selection: str = field(
        "best", "kept read: lowest energy or the first", choices=("best", "first")
    )
    gap_max_n: int = field(12, "record the gap to the exact optimum for fan-in <= this (0: never)")
    realism: bool = field(False, "solve rows as an Advantage QPU realises them (lsq only)")
    qpu_cost: bool = field(False, "record QPU qubits and time (needs the annealing extra)")

    def __post_init__(self) -> None:
        check_choice(self.optimizer, "optimizer", ("qp-sbgd",))
        super().__post_init__()

    def optimizer_options(self) -> dict[str, Any]:
        options = super().optimizer_options()
        params = dict(options.pop("solver_params", None) or {})
        if self.solver in SWEEPING:
            params.setdefault("num_sweeps", self.num_sweeps)
        return {
            **options,
            "formulation": self.formulation,
            "solver": self.solver,
            "num_reads": self.num_reads,
            "solver_params": params,
            "alpha": self.alpha if self.alpha == "auto" else _number(self.alpha, "alpha"),
            "eps": self.eps,
            "selection": self.selection,
            "gap_max_n": self.gap_max_n,
            "realism": _realism() if self.realism else None,
            "qpu_cost": self.qpu_cost,
        }


def _realism() -> Any:
    from bnnlab.hardware.annealing.realism import Realism

    return Realism()


def _number(text: Any, name: str) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected 'auto' or a number, got {text!r}") from None


class QPSBGDMethod(LatentMethod):
    """QP-SBGD training of a binary MLP (``bnnlab train qp-sbgd``)."""

    alias = "qp-sbgd"
    description = "QP-SBGD: binary gradients from per-row binary programs (emulated annealers)"
    config_class: ClassVar[type] = QPSBGDConfig
