r"""Device configurations in aihwkit's vocabulary (field names and meanings of
``aihwkit.simulator.configs.devices``; REFERENCES.md §4.3), and the exponential conductance model
of Li et al. (§4.2).

Every pulsed device has, per device, a lower and upper bound and an up and a down step scale,
drawn once at construction (device-to-device, ``*_dtod``) exactly as aihwkit's
``PulsedRPUDevice::populate`` draws them:

.. math:: w_{\max,d} = w_{\max}(1 + \sigma_{w_{\max}}\xi), \quad
          w_{\min,d} = w_{\min}(1 + \sigma_{w_{\min}}\xi), \\
          g = 1 + \sigma_{dw}\xi, \quad r = \sigma_{ud}\xi, \quad
          s_{\uparrow} = (b_{\uparrow} + g + r)\,\Delta w_{\min}, \quad
          s_{\downarrow} = (b_{\downarrow} + g - r)\,\Delta w_{\min}

with :math:`b_{\uparrow} = \min(\text{up\_down}, 0)`, :math:`b_{\downarrow} = -\max(\text{up\_down},
0)`; with ``enforce_consistency`` (default) the scales are made positive and the bounds put on
either side of 0. A pulse then moves the weight by the model's step (cycle-to-cycle noise
:math:`\xi` drawn per pulse) and clips it to the device's bounds:

``ConstantStep``  :math:`w \mathrel{+}= s_\uparrow(1 + \sigma\xi)`, :math:`w \mathrel{-}=
                  s_\downarrow(1 + \sigma\xi)` (``dw_min_std`` = σ);
``LinearStep``    :math:`w \mathrel{+}= (m_\uparrow w + s_\uparrow)(1 + \sigma\xi)` with
                  :math:`m_\uparrow = -\gamma_\uparrow s_\uparrow / w_{\max}` (and mirrored with
                  :math:`m_\downarrow = -\gamma_\downarrow s_\downarrow / w_{\min}`;
                  :math:`\gamma` drawn per device with ``gamma_*_dtod``); ``mult_noise=False``
                  puts the noise on :math:`s` only;
``SoftBounds``    ``LinearStep`` with :math:`\gamma = 1`: the step vanishes at the bound;
``ExpStep``       :math:`z = 2aw/(w_{\max,d} - w_{\min,d}) + b`,
                  :math:`w \mathrel{+}= \max(1 - A_\uparrow e^{\gamma_\uparrow z}, 0)(1 + \sigma
                  \xi)s_\uparrow`, :math:`w \mathrel{-}= \max(1 - A_\downarrow
                  e^{-\gamma_\downarrow z}, 0)(1 + \sigma\xi)s_\downarrow`;
``PowStep``       :math:`w \mathrel{+}= s_\uparrow\big((w_{\max,d} - w)/\rho\big)^{\gamma_\uparrow}
                  (1 + \sigma\xi)`, :math:`w \mathrel{-}= s_\downarrow\big((w - w_{\min,d})/\rho
                  \big)^{\gamma_\downarrow}(1 + \sigma\xi)`, :math:`\rho = w_{\max,d} - w_{\min,d}`.

(aihwkit's update pulse of sign ``> 0`` decreases the weight; here a positive pulse count is a
*potentiation*, increasing it.) Read noise (``weights(read_noise=)``) and write noise
(``write_noise_std`` in units of ``dw_min``, a fresh draw on the apparent weight after every update)
are as aihwkit's.

:class:`ExponentialDevice` is the conductance model of Li et al.: potentiation
:math:`G \mathrel{+}= \big[(G_{\max} - G_{\min})/(1 - e^{-\alpha}) - (G - G_{\min})\big]
(1 - e^{-\alpha/N})(1 + \gamma\xi)`, depression mirrored about :math:`G_{\max}`, clipped; ``N``
pulses span the range, ``alpha`` the nonlinearity (0: linear steps of range/N), ``gamma`` the
cycle-to-cycle noise; ``N = 0`` is abrupt switching (one pulse reaches the bound: OxRAM's SET);
device-to-device spread ``dtod`` (10 %) on :math:`G_{\min}, G_{\max}`. Weights are
:math:`w = (G - G_{\mathrm{ref}})/(G_{\max} - G_{\min})` with a reference device at mid-range
(``mapping="reference"``, :math:`w \in [-\tfrac12, \tfrac12]`) or the difference of a pair,
:math:`(G^+ - G^-)/(2(G_{\max} - G_{\min}))` (``"differential"``), where potentiation is a pulse on
:math:`G^+` and depression one on :math:`G^-`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np

from bnnlab._validation import check_choice, check_real

__all__ = [
    "ConstantStep",
    "ExpStep",
    "ExponentialDevice",
    "LinearStep",
    "PowStep",
    "PulsedDevice",
    "SoftBounds",
]


def _nonneg(obj: Any, *names: str) -> None:
    for name in names:
        check_real(getattr(obj, name), name, low=0.0)


def _finite(obj: Any, *names: str) -> None:
    for name in names:
        check_real(getattr(obj, name), name)


@dataclasses.dataclass(frozen=True)
class PulsedDevice:
    """aihwkit's ``PulsedDevice`` fields (defaults are aihwkit's)."""

    model: ClassVar[str] = "constant"

    dw_min: float = 0.001
    dw_min_dtod: float = 0.3
    dw_min_std: float = 0.3
    up_down: float = 0.0
    up_down_dtod: float = 0.01
    w_max: float = 0.6
    w_min: float = -0.6
    w_max_dtod: float = 0.3
    w_min_dtod: float = 0.3
    write_noise_std: float = 0.0
    reset: float = 0.0
    reset_dtod: float = 0.0
    reset_std: float = 0.01
    enforce_consistency: bool = True

    def __post_init__(self) -> None:
        check_real(self.dw_min, "dw_min", low=0.0, open_low=True)
        _nonneg(self, "dw_min_dtod", "dw_min_std", "up_down_dtod", "w_max_dtod", "w_min_dtod",
                "write_noise_std", "reset_dtod", "reset_std")  # fmt: skip
        _finite(self, "up_down", "w_max", "w_min", "reset")
        if self.w_min >= self.w_max:
            raise ValueError(f"w_min: must be below w_max ({self.w_min} >= {self.w_max})")
        if self.w_min > 0 or self.w_max < 0:
            raise ValueError(
                f"w_min, w_max: the interval [{self.w_min}, {self.w_max}] must contain 0 "
                "(as aihwkit requires)"
            )
        if not isinstance(self.enforce_consistency, bool | np.bool_):
            raise TypeError("enforce_consistency: expected a bool")

    @property
    def levels(self) -> float:
        """Nominal number of steps across the range, :math:`(w_{\\max} - w_{\\min})/dw_{\\min}`."""
        return (self.w_max - self.w_min) / self.dw_min


@dataclasses.dataclass(frozen=True)
class ConstantStep(PulsedDevice):
    """aihwkit's ``ConstantStepDevice``: a constant step per pulse (see the module docstring)."""

    model: ClassVar[str] = "constant"


@dataclasses.dataclass(frozen=True)
class LinearStep(PulsedDevice):
    """aihwkit's ``LinearStepDevice``: a step linear in the weight."""

    model: ClassVar[str] = "linear"

    gamma_up: float = 0.0
    gamma_down: float = 0.0
    gamma_up_dtod: float = 0.05
    gamma_down_dtod: float = 0.05
    allow_increasing: bool = False
    mean_bound_reference: bool = True
    mult_noise: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        _finite(self, "gamma_up", "gamma_down")
        _nonneg(self, "gamma_up_dtod", "gamma_down_dtod")
        for name in ("allow_increasing", "mean_bound_reference", "mult_noise"):
            if not isinstance(getattr(self, name), bool | np.bool_):
                raise TypeError(f"{name}: expected a bool")


@dataclasses.dataclass(frozen=True)
class SoftBounds(LinearStep):
    """aihwkit's ``SoftBoundsDevice``: ``LinearStep`` whose step vanishes at the bounds."""

    gamma_up: float = 1.0
    gamma_down: float = 1.0
    gamma_up_dtod: float = 0.0
    gamma_down_dtod: float = 0.0
    mult_noise: bool = False


@dataclasses.dataclass(frozen=True)
class ExpStep(PulsedDevice):
    """aihwkit's ``ExpStepDevice`` (defaults aihwkit's)."""

    model: ClassVar[str] = "exp"

    A_up: float = 0.00081
    A_down: float = 0.36833
    gamma_up: float = 12.44625
    gamma_down: float = 12.78785
    a: float = 0.244
    b: float = 0.2425
    dw_min_std_add: float = 0.0
    dw_min_std_slope: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        _finite(self, "A_up", "A_down", "gamma_up", "gamma_down", "a", "b")
        _nonneg(self, "dw_min_std_add", "dw_min_std_slope")


@dataclasses.dataclass(frozen=True)
class PowStep(PulsedDevice):
    """aihwkit's ``PowStepDevice``: a step following a power of the distance to the bound."""

    model: ClassVar[str] = "pow"

    pow_gamma: float = 1.0
    pow_gamma_dtod: float = 0.1
    pow_up_down: float = 0.0
    pow_up_down_dtod: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_real(self.pow_gamma, "pow_gamma", low=0.0, open_low=True)
        _nonneg(self, "pow_gamma_dtod", "pow_up_down_dtod")
        _finite(self, "pow_up_down")


@dataclasses.dataclass(frozen=True)
class ExponentialDevice:
    """Li et al.'s exponential conductance model (module docstring; conductances in siemens)."""

    model: ClassVar[str] = "exponential"

    g_min: float = 1e-9
    g_max: float = 3e-9
    n_up: int = 55
    n_down: int = 55
    alpha_up: float = 0.5
    alpha_down: float = 0.5
    gamma_up: float = 0.3
    gamma_down: float = 0.3
    dtod: float = 0.1
    mapping: str = "reference"

    def __post_init__(self) -> None:
        check_real(self.g_min, "g_min", low=0.0)
        check_real(self.g_max, "g_max", low=0.0)
        if self.g_min >= self.g_max:
            raise ValueError(f"g_min: must be below g_max ({self.g_min} >= {self.g_max})")
        for name in ("n_up", "n_down"):
            v = getattr(self, name)
            if not isinstance(v, int | np.integer) or v < 0:
                raise ValueError(f"{name}: expected a non-negative integer (0: abrupt), got {v!r}")
        if self.n_up == 0 and self.n_down == 0:
            raise ValueError("n_up, n_down: at least one direction needs gradual levels (> 0)")
        _nonneg(self, "alpha_up", "alpha_down", "gamma_up", "gamma_down", "dtod")
        check_choice(self.mapping, "mapping", ("reference", "differential"))

    @property
    def levels(self) -> float:
        """Pulses across the range (the larger of the two directions)."""
        return float(max(self.n_up, self.n_down))
