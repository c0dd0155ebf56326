r"""Stochastic gradient descent with momentum (and Nesterov), coupled ℓ2."""

from __future__ import annotations

from typing import Any

from bnnlab._validation import check_real
from bnnlab.nn._module import Parameter
from bnnlab.optim._base import Optimizer


class SGD(Optimizer):
    r"""SGD with momentum and classic (coupled) weight decay, as ``torch.optim.SGD``.

    For each parameter :math:`w` with gradient :math:`g`, group weight decay :math:`\lambda`,
    momentum :math:`\mu` and learning rate :math:`\eta` (base lr × the group's ``lr_scale``):

    .. math::
        d = g + \lambda w,\qquad
        v \leftarrow \mu v + d\ (v_0 = 0),\qquad
        w \leftarrow w - \eta\,(d + \mu v \text{ if Nesterov else } v).

    With :math:`\mu = 0` this is plain SGD, :math:`w \leftarrow w - \eta(g + \lambda w)`.
    The ℓ2 is *coupled* (added to the gradient, so it also flows through the momentum).

    References
    ----------
    Sutskever, Martens, Dahl, Hinton, "On the importance of initialization and momentum in deep
    learning", ICML 2013.
    """

    def __init__(
        self,
        params: Any,
        lr: float,
        *,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ):
        super().__init__(params, lr, weight_decay)
        self.momentum = check_real(momentum, "momentum", low=0.0, high=1.0, open_high=True)
        self.nesterov = bool(nesterov)
        if self.nesterov and self.momentum == 0:
            raise ValueError("nesterov: requires momentum > 0")

    def _update(self, p: Parameter, lr: float, wd: float, state: dict[str, Any]) -> None:
        d = p.grad + wd * p.data if wd else p.grad
        if self.momentum:
            v = state.get("momentum")
            v = d.copy() if v is None else self.momentum * v + d
            state["momentum"] = v
            d = d + self.momentum * v if self.nesterov else v
        p.data -= lr * d

    def __repr__(self) -> str:
        return f"SGD(lr={self.lr}, momentum={self.momentum}, nesterov={self.nesterov})"
