"""Configurations of the gradient-free learners: one hyperparameter base, one dataclass per learner.

Every field carries its help text in ``metadata["help"]``; :mod:`bnnlab.cli` builds its options from
these fields (an option left out means the field's default), so the defaults and their meaning are
written here only. A field with ``metadata["cli"] = False`` is set by the caller, not by an option.
The paper's defaults (REFERENCES.md §2.2): batch 100, ``p_r`` 0.5, ``rob`` 0.25, initial std 64,
step 2, no clipping, frozen last head, ``γ`` from :data:`PAPER_GROUP_SIZE`.

Both configurations are built from a network given as hidden ``layers`` by :meth:`from_layers`:
``(K_1, ..., K_L)`` for local-binary and ``(K1, K2)`` for CP+R (whose group size ``K1 / K2`` is
derived here, once).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from bnnlab._config import REQUIRED, Config
from bnnlab._config import field as _field
from bnnlab._validation import check_choice, check_int, check_real
from bnnlab.signs import ZERO_RULES

__all__ = [
    "PAPER_GROUP_SIZE",
    "CPRConfig",
    "LocalBinaryConfig",
    "LocalHyperparameters",
    "default_group_size",
]

#: Group size γ by hidden width K used in the paper's main runs (REFERENCES.md §2.2).
PAPER_GROUP_SIZE: dict[int, int] = {35: 35, 75: 75, 135: 45, 255: 85, 525: 105, 1035: 115}


def default_group_size(width: int) -> int:
    """The paper's γ for ``width`` when listed, else ``width`` (one group per layer)."""
    return PAPER_GROUP_SIZE.get(int(width), int(width))


@dataclasses.dataclass(frozen=True, kw_only=True)
class LocalHyperparameters(Config):
    """Hyperparameters shared by every gradient-free learner (keyword-only fields).

    ``sign_zero`` is ``sign(0)`` of the hidden weights and pre-activations
    (:func:`bnnlab.signs.sign`): ``"zero"`` (0, what the authors' dense integer code computes for
    both learners, since it calls ``cupy.sign`` on integer arrays; the default) or ``"plus"`` (+1,
    strictly binary). Local heads and the CP+R readout always use +1. Configurations saved before
    the field existed load as ``"plus"`` (:meth:`from_dict`).
    """

    rob: float = _field(
        0.25, "robustness: a sample whose top-1 minus top-2 score is below floor(rob K) is wrong"
    )
    p_r: float = _field(0.5, "reinforcement rate p_r in [0, 1]")
    init_std: float = _field(64.0, "standard deviation of the integer initial hidden weights")
    step: int = _field(2, "increment of the hidden weights (error update and reinforcement)")
    clip: int | None = _field(None, "clip hidden weights to [-clip, clip] (default: no clipping)")
    batch_size: int = _field(100, "mini-batch size")
    sign_zero: str = _field(
        "zero",
        "sign(0) of hidden weights and pre-activations: 0 as the authors' dense code, "
        "or +1 (strictly binary)",
        choices=ZERO_RULES,
    )

    #: Hidden layers used when a caller gives none (the paper's largest network).
    DEFAULT_LAYERS: ClassVar[tuple[int, ...]] = ()

    def _check_hyper(self) -> None:
        check_int(self.n_features, "n_features", minimum=1)
        check_int(self.n_classes, "n_classes", minimum=2)
        check_real(self.rob, "rob", low=0.0, high=1.0)
        check_real(self.p_r, "p_r", low=0.0, high=1.0)
        check_real(self.init_std, "init_std", low=0.0)
        check_int(self.step, "step", minimum=1)
        check_int(self.batch_size, "batch_size", minimum=1)
        if self.clip is not None:
            check_int(self.clip, "clip", minimum=1)
        check_choice(self.sign_zero, "sign_zero", ZERO_RULES)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Any:
        """Inverse of :meth:`to_dict` (configurations saved before ``sign_zero`` existed: ``"plus"``)."""
        if isinstance(d, dict) and "sign_zero" not in d:
            d = {**d, "sign_zero": "plus"}
        return super().from_dict(d)


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name}: expected a bool, got {type(value).__name__}")
    return bool(value)


@dataclasses.dataclass(frozen=True)
class LocalBinaryConfig(LocalHyperparameters):
    """Hyperparameters of the local-binary learner (defaults: the paper's main runs, §2.2).

    Parameters
    ----------
    n_features : int
        Input size ``D`` (binary features).
    n_classes : int
        Number of classes ``C``.
    layers : tuple of int
        Hidden widths ``K_1, ..., K_L``.
    groups : tuple of int or None
        Group size γ per layer (must divide the width; one value is used for every layer);
        ``None`` uses :data:`PAPER_GROUP_SIZE` (``γ = K`` for widths not in the paper's table).
    train_head : bool
        Train the last local head (multiclass perceptron on its integer state) instead of keeping
        it frozen (the paper's main runs keep it frozen).
    rob, p_r, init_std, step, clip, batch_size, sign_zero
        See :class:`LocalHyperparameters`.
    """

    n_features: int = _field(REQUIRED, "input size D", cli=False)
    n_classes: int = _field(REQUIRED, "number of classes C", cli=False)
    layers: tuple[int, ...] = _field(REQUIRED, "hidden widths K_1..K_L", cli=False)
    groups: tuple[int, ...] | None = _field(
        None, "group size per layer (default: the paper's table, else the width)"
    )
    train_head: bool = _field(False, "train the last local head instead of keeping it fixed")

    DEFAULT_LAYERS: ClassVar[tuple[int, ...]] = (525, 525)

    def __post_init__(self) -> None:
        layers = self.layers
        if isinstance(layers, int | np.integer):
            layers = (int(layers),)
        if not isinstance(layers, Sequence) or not layers:
            raise ValueError(f"layers: expected a non-empty sequence of widths, got {layers!r}")
        layers = tuple(check_int(k, "layers", minimum=1) for k in layers)
        object.__setattr__(self, "layers", layers)
        if self.groups is None:
            groups = tuple(default_group_size(k) for k in layers)
        else:
            groups = tuple(self.groups) if isinstance(self.groups, Sequence) else (self.groups,)
            if len(groups) == 1 and len(layers) > 1:
                groups = groups * len(layers)
            if len(groups) != len(layers):
                raise ValueError(
                    f"groups: expected one group size per layer ({len(layers)}), got {len(groups)}"
                )
            groups = tuple(check_int(g, "groups", minimum=1) for g in groups)
        for k, g in zip(layers, groups, strict=True):
            if k % g:
                raise ValueError(f"groups: group size {g} does not divide the width {k}")
        object.__setattr__(self, "groups", groups)
        self._check_hyper()
        object.__setattr__(self, "train_head", _bool(self.train_head, "train_head"))

    @classmethod
    def from_layers(
        cls, n_features: int, n_classes: int, layers: Sequence[int], **hyper: Any
    ) -> LocalBinaryConfig:
        """The configuration of a network with hidden ``layers`` (``hyper`` replaces defaults)."""
        return cls(n_features=n_features, n_classes=n_classes, layers=tuple(layers), **hyper)

    @property
    def fan_in(self) -> tuple[int, ...]:
        """``N_{l-1}`` of every layer."""
        return (self.n_features, *self.layers[:-1])


@dataclasses.dataclass(frozen=True)
class CPRConfig(LocalHyperparameters):
    """Hyperparameters of the CP+R committee baseline (REFERENCES.md §2.3).

    One hidden layer of ``hidden`` clipped-perceptron-with-reinforcement units, a fixed majority
    layer over consecutive groups of ``group`` units (``K2 = hidden / group``), and a fixed random
    ±1 readout ``K2 x C``. The network is written ``K1_K2`` (:meth:`from_layers`); the margin
    threshold is ``floor(rob K2)`` on the readout. Other fields as in :class:`LocalHyperparameters`;
    under ``sign_zero="zero"`` the committee majorities are ``sign`` with ``sign(0) = 0`` too (a
    tied committee votes 0 and is not wrong), as in the authors' code.
    """

    n_features: int = _field(REQUIRED, "input size D", cli=False)
    n_classes: int = _field(REQUIRED, "number of classes C", cli=False)
    hidden: int = _field(REQUIRED, "K1: hidden perceptrons", cli=False)
    group: int = _field(11, "units per majority group (K1 / K2)", cli=False)

    DEFAULT_LAYERS: ClassVar[tuple[int, ...]] = (880, 80)

    def __post_init__(self) -> None:
        check_int(self.hidden, "hidden", minimum=1)
        check_int(self.group, "group", minimum=1)
        if self.hidden % self.group:
            raise ValueError(f"group: group size {self.group} does not divide hidden {self.hidden}")
        self._check_hyper()

    @classmethod
    def from_layers(
        cls, n_features: int, n_classes: int, layers: Sequence[int], **hyper: Any
    ) -> CPRConfig:
        """``layers = (K1, K2)``: ``K1`` perceptrons in ``K2`` committees (``K2`` divides ``K1``)."""
        layers = tuple(layers)
        if len(layers) != 2:
            raise ValueError(f"layers: cp-r needs (K1, K2), got {list(layers)}")
        k1, k2 = (check_int(k, "layers", minimum=1) for k in layers)
        if k1 % k2:
            raise ValueError(f"layers: cp-r needs K2 dividing K1, got {list(layers)}")
        return cls(n_features=n_features, n_classes=n_classes, hidden=k1, group=k1 // k2, **hyper)

    @property
    def committees(self) -> int:
        """``K2``: the number of majority groups."""
        return self.hidden // self.group

    @property
    def layers(self) -> tuple[int, int]:
        """``(K1, K2)``."""
        return (self.hidden, self.committees)

    @property
    def fan_in(self) -> tuple[int, ...]:
        """``N_{l-1}`` of the trained layer."""
        return (self.n_features,)
