r"""signSGD and Signum: steps of fixed size along the sign of the gradient (or of its momentum).

Both are ordinary optimisers (every parameter gets the same rule), usable alone or as the inner
step of :class:`~bnnlab.optim.BinaryConnect` (``inner="signsgd"``: the "BC(signSGD)" baseline).

**Sign tie rule.** :math:`\operatorname{sign}(0) = 0` (:func:`bnnlab.signs.sign` with
``zero="zero"``): a coordinate whose (momentum) gradient is exactly zero does not move. This is
``torch.sign``, which the authors' Signum code applies to the momentum buffer, and it keeps the
parameters that receive no gradient signal (e.g. weights outside the clipped-STE window, whose
pseudo-gradient is exactly 0) where they are, as SGD would.

References
----------
Bernstein, Wang, Azizzadenesheli, Anandkumar, "signSGD: Compressed Optimisation for Non-Convex
Problems", ICML 2018.
"""

from __future__ import annotations

from typing import Any

from bnnlab._validation import check_real
from bnnlab.nn._module import Parameter
from bnnlab.optim._base import Optimizer
from bnnlab.signs import signed


class SignSGD(Optimizer):
    r"""signSGD with coupled weight decay.

    For each parameter :math:`w` with gradient :math:`g`, group weight decay :math:`\lambda` and
    learning rate :math:`\eta` (base lr × the group's ``lr_scale``):

    .. math::
        w \leftarrow w - \eta\,\operatorname{sign}(g + \lambda w),
        \qquad \operatorname{sign}(0) = 0.

    Parameters
    ----------
    params : Layer, list of Parameter, or list of group dicts
        As :class:`~bnnlab.optim.Optimizer`.
    lr : float
        Step size :math:`\eta` (every coordinate moves by exactly :math:`\eta` or 0).
    weight_decay : float
        Default ℓ2 of groups that do not give one (added to the gradient before the sign, as in
        the authors' code).

    References
    ----------
    Bernstein, Wang, Azizzadenesheli, Anandkumar, "signSGD: Compressed Optimisation for Non-Convex
    Problems", ICML 2018.
    """

    def __init__(self, params: Any, lr: float, *, weight_decay: float = 0.0):
        super().__init__(params, lr, weight_decay)

    def _update(self, p: Parameter, lr: float, wd: float, state: dict[str, Any]) -> None:
        d = p.grad + wd * p.data if wd else p.grad
        p.data -= lr * signed(d, "zero", p.data.dtype)

    def __repr__(self) -> str:
        return f"SignSGD(lr={self.lr})"


class Signum(Optimizer):
    r"""Signum: signSGD on an exponential moving average of the gradient.

    With momentum :math:`\beta` (default 0.9), group weight decay :math:`\lambda` and learning rate
    :math:`\eta` (base lr × ``lr_scale``), the buffer starting at :math:`m_0 = 0`:

    .. math::
        d = g + \lambda w,\qquad
        m \leftarrow \beta m + (1-\beta)\,d,\qquad
        w \leftarrow w - \eta\,\operatorname{sign}(m),
        \qquad \operatorname{sign}(0) = 0.

    :math:`\beta = 0` is :class:`SignSGD`. The buffer is not bias-corrected (its sign does not
    depend on the scale), so the first step is :math:`\operatorname{sign}(d)`.

    Parameters
    ----------
    params, lr, weight_decay
        As :class:`SignSGD`.
    beta : float
        Momentum :math:`\beta \in [0, 1)`.

    References
    ----------
    Bernstein, Wang, Azizzadenesheli, Anandkumar, "signSGD: Compressed Optimisation for Non-Convex
    Problems", ICML 2018 (Signum).
    """

    def __init__(self, params: Any, lr: float, *, beta: float = 0.9, weight_decay: float = 0.0):
        super().__init__(params, lr, weight_decay)
        self.beta = check_real(beta, "beta", low=0.0, high=1.0, open_high=True)

    def _update(self, p: Parameter, lr: float, wd: float, state: dict[str, Any]) -> None:
        d = p.grad + wd * p.data if wd else p.grad
        m = state.get("momentum")
        m = (1 - self.beta) * d if m is None else self.beta * m + (1 - self.beta) * d
        state["momentum"] = m
        p.data -= lr * signed(m, "zero", p.data.dtype)

    def __repr__(self) -> str:
        return f"Signum(lr={self.lr}, beta={self.beta})"
