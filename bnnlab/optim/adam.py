r"""Adam with coupled ℓ2 (``torch.optim.Adam``'s ``weight_decay``) or decoupled (AdamW)."""

from __future__ import annotations

from typing import Any

from bnnlab._validation import check_real
from bnnlab.nn._module import Parameter
from bnnlab.optim._base import Optimizer


class Adam(Optimizer):
    r"""Adam with bias correction; per-group weight decay, coupled by default.

    With step count :math:`t`, :math:`d = g + \lambda w` (coupled) or :math:`d = g` (decoupled):

    .. math::
        m \leftarrow \beta_1 m + (1-\beta_1) d,\quad
        v \leftarrow \beta_2 v + (1-\beta_2) d^2,\quad
        w \leftarrow w - \eta\,\frac{m/(1-\beta_1^t)}{\sqrt{v/(1-\beta_2^t)} + \epsilon}
        \;[-\ \eta\lambda w \text{ if decoupled}].

    References
    ----------
    Kingma & Ba, "Adam", ICLR 2015; Loshchilov & Hutter, "Decoupled Weight Decay Regularization"
    (AdamW), ICLR 2019.
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        *,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled: bool = False,
    ):
        super().__init__(params, lr, weight_decay)
        b1, b2 = betas
        self.beta1 = check_real(b1, "betas", low=0.0, high=1.0, open_high=True)
        self.beta2 = check_real(b2, "betas", low=0.0, high=1.0, open_high=True)
        self.eps = check_real(eps, "eps", low=0.0, open_low=True)
        self.decoupled = bool(decoupled)

    def _update(self, p: Parameter, lr: float, wd: float, state: dict[str, Any]) -> None:
        d = p.grad + wd * p.data if (wd and not self.decoupled) else p.grad
        t = state.get("t", 0) + 1
        m = state.get("m")
        v = state.get("v")
        m = (1 - self.beta1) * d if m is None else self.beta1 * m + (1 - self.beta1) * d
        v = (1 - self.beta2) * d * d if v is None else self.beta2 * v + (1 - self.beta2) * d * d
        state.update(t=t, m=m, v=v)
        c1 = 1 - self.beta1**t
        c2 = 1 - self.beta2**t
        step = (lr / c1) * m / ((v / c2) ** 0.5 + self.eps)
        if wd and self.decoupled:
            p.data -= lr * wd * p.data
        p.data -= step.astype(p.data.dtype, copy=False)

    def __repr__(self) -> str:
        return f"Adam(lr={self.lr}, betas=({self.beta1}, {self.beta2}), decoupled={self.decoupled})"
