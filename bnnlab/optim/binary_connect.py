r"""BinaryConnect: an ordinary step on the latent weights, then a clip to :math:`[-1, 1]`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bnnlab._validation import check_real
from bnnlab._xp import namespace
from bnnlab.optim._binary import BinaryOptimizer, Selector


class BinaryConnect(BinaryOptimizer):
    r"""BinaryConnect (BC): latent weights updated by an inner optimiser, then clipped.

    The forward pass uses the binarised weights :math:`w_b` computed by the layer's weight
    binarizer from the latent weights :math:`w`: deterministic BC is
    :math:`w_b = \operatorname{sign}(w)` (``weight_binarizer="ste_sign"``), stochastic BC is
    :math:`w_b = +1` with probability :math:`\operatorname{clip}((w+1)/2, 0, 1)`, else :math:`-1`
    (``weight_binarizer=nn.binarizers.get("stochastic_sign")(seed=...)``). The gradient
    :math:`g = \partial L/\partial w_b` reaches :math:`w` straight through. The optimiser then
    does, with :math:`\operatorname{step}` the inner optimiser's update (group weight decay and
    ``lr_scale`` included) and :math:`c` the clip (default 1):

    .. math::
        w \leftarrow \operatorname{clip}\big(\operatorname{step}(w, g),\ -c,\ c\big)

    on the binary parameters, and the inner step alone on the others (biases, BatchNorm, real
    first/last layers). With ``inner="sgd"`` this is :math:`w \leftarrow \operatorname{clip}(w -
    \eta g, -1, 1)`, "BC(SGD)"; with ``inner="signsgd"``,
    :math:`w \leftarrow \operatorname{clip}(w - \eta\operatorname{sign}(g), -1, 1)`, "BC(signSGD)".
    The clip keeps the latent weights where the binarisation can still flip them (and where the
    clipped STE passes their gradient).

    Parameters
    ----------
    params : Layer, list of Parameter, or list of group dicts
        As :class:`~bnnlab.optim.Optimizer`.
    lr : float
        Base learning rate of the inner optimiser (:meth:`set_lr` sets it there).
    inner : str or Optimizer subclass
        The inner step: ``"sgd"`` (default), ``"signsgd"``, ``"signum"``, ``"adam"``, or a class.
    inner_kwargs : mapping, optional
        Its other arguments, e.g. ``{"momentum": 0.9}``.
    clip : float
        :math:`c > 0`, the bound of the latent weights (1 in the paper).
    weight_decay : float
        Default ℓ2 of groups that do not give one (applied by the inner step).
    binary : str or callable
        Which parameters are clipped: a tag (default ``"binarized"``) or a predicate.

    Examples
    --------
    >>> from bnnlab import nn, optim
    >>> model = nn.binary_mlp(16, (32,), 4, seed=0)
    >>> groups = optim.param_groups(model, 5e-4, no_decay=("binarized",))
    >>> bc_sgd = optim.get("binary-connect")(groups, lr=0.01)
    >>> bc_sign = optim.get("binary-connect")(groups, lr=1e-3, inner="signsgd")

    References
    ----------
    Courbariaux, Bengio, David, "BinaryConnect: Training Deep Neural Networks with binary weights
    during propagations", NeurIPS 2015, Algorithm 1.
    """

    def __init__(
        self,
        params: Any,
        lr: float,
        *,
        inner: Any = "sgd",
        inner_kwargs: Mapping[str, Any] | None = None,
        clip: float = 1.0,
        weight_decay: float = 0.0,
        binary: Selector = "binarized",
    ):
        self.clip = check_real(clip, "clip", low=0.0, open_low=True)
        super().__init__(
            params, lr, weight_decay, binary=binary, inner=inner, inner_kwargs=inner_kwargs
        )

    def _binary_step(self) -> None:
        c = self.clip
        for _, p, _ in self._binary_items():
            if p.grad is None:
                continue
            namespace(p.data).clip(p.data, -c, c, out=p.data)

    def __repr__(self) -> str:
        return f"BinaryConnect(lr={self.lr}, clip={self.clip}, inner={self.inner!r})"
