r"""Learning-rate schedules: constant, step, cosine with linear warm-up.

A schedule maps the training position to a learning rate. The position is measured in epochs,
:math:`t = e` (``interval="epoch"``: the rate changes once per epoch, :math:`e` the 0-based epoch)
or :math:`t = e + i/S` (``interval="step"``: once per mini-batch, :math:`i` the 0-based step within
the epoch of :math:`S` steps). ``u`` below is one interval in epochs (1, or :math:`1/S`).

Registered by alias: ``bnnlab.optim.schedules.get("cosine")``.
"""

from __future__ import annotations

import math

from bnnlab._registry import Registry
from bnnlab._validation import check_choice, check_int, check_real

SCHEDULES = Registry("schedule")


class Schedule:
    """Base: ``lr(epoch, step=0, steps_per_epoch=1) -> float``."""

    def __init__(self, base_lr: float, interval: str = "epoch"):
        self.base_lr = check_real(base_lr, "base_lr", low=0.0)
        self.interval = check_choice(interval, "interval", ("epoch", "step"))

    def _position(self, epoch: int, step: int, steps_per_epoch: int) -> tuple[float, float]:
        if self.interval == "epoch":
            return float(epoch), 1.0
        return epoch + step / steps_per_epoch, 1.0 / steps_per_epoch

    def lr(self, epoch: int, step: int = 0, steps_per_epoch: int = 1) -> float:
        """Learning rate at 0-based ``epoch`` and ``step`` within it."""
        check_int(epoch, "epoch", minimum=0)
        check_int(steps_per_epoch, "steps_per_epoch", minimum=1)
        check_int(step, "step", minimum=0, maximum=steps_per_epoch - 1)
        t, u = self._position(epoch, step, steps_per_epoch)
        return self._at(t, u)

    def _at(self, t: float, u: float) -> float:  # pragma: no cover - abstract
        raise NotImplementedError


@SCHEDULES.register("constant")
class Constant(Schedule):
    r""":math:`\eta(t) = \eta_0`."""

    def _at(self, t: float, u: float) -> float:
        return self.base_lr

    def __repr__(self) -> str:
        return f"Constant({self.base_lr})"


@SCHEDULES.register("step")
class Step(Schedule):
    r"""Step decay :math:`\eta(t) = \eta_0\,\gamma^{\lfloor t/T\rfloor}` (``step_size`` :math:`T` epochs)."""

    def __init__(
        self, base_lr: float, step_size: float, gamma: float = 0.1, interval: str = "epoch"
    ):
        super().__init__(base_lr, interval)
        self.step_size = check_real(step_size, "step_size", low=0.0, open_low=True)
        self.gamma = check_real(gamma, "gamma", low=0.0)

    def _at(self, t: float, u: float) -> float:
        return self.base_lr * self.gamma ** math.floor(t / self.step_size + 1e-9)

    def __repr__(self) -> str:
        return f"Step({self.base_lr}, step_size={self.step_size}, gamma={self.gamma})"


@SCHEDULES.register("cosine")
class Cosine(Schedule):
    r"""Cosine annealing to ``min_lr`` over ``epochs``, after a linear warm-up of ``warmup`` epochs.

    .. math::
        \eta(t) = \begin{cases}
            \eta_0\,(t + u)/W & t < W \\
            \eta_{\min} + \tfrac12(\eta_0-\eta_{\min})
                \big(1 + \cos\big(\pi\,\tfrac{t - W}{E - W}\big)\big) & t \ge W
        \end{cases}

    so the warm-up reaches :math:`\eta_0` at its last interval and the first post-warm-up rate is
    :math:`\eta_0` (the SiMaN CIFAR recipe: 5 warm-up epochs, cosine over 400).
    """

    def __init__(
        self,
        base_lr: float,
        epochs: int,
        *,
        warmup: float = 0,
        min_lr: float = 0.0,
        interval: str = "epoch",
    ):
        super().__init__(base_lr, interval)
        self.epochs = check_int(epochs, "epochs", minimum=1)
        self.warmup = check_real(warmup, "warmup", low=0.0, high=self.epochs, open_high=True)
        self.min_lr = check_real(min_lr, "min_lr", low=0.0, high=self.base_lr)

    def _at(self, t: float, u: float) -> float:
        if t < self.warmup:
            return self.base_lr * min(1.0, (t + u) / self.warmup)
        frac = (t - self.warmup) / (self.epochs - self.warmup)
        return self.min_lr + 0.5 * (self.base_lr - self.min_lr) * (1 + math.cos(math.pi * frac))

    def __repr__(self) -> str:
        return (
            f"Cosine({self.base_lr}, epochs={self.epochs}, warmup={self.warmup}, "
            f"min_lr={self.min_lr}, interval={self.interval!r})"
        )


get, available = SCHEDULES.bind()

__all__ = ["SCHEDULES", "Constant", "Cosine", "Schedule", "Step", "available", "get"]
