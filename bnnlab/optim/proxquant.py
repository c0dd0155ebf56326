r"""ProxQuant: proximal gradient steps towards :math:`\{\pm1\}^n` with a growing regulariser.

ProxQuant minimises :math:`L(\theta) + \lambda\,R(\theta)` with the W-shaped regulariser
:math:`R(\theta) = \operatorname{dist}_1(\theta, \{\pm1\}^n) = \sum_i \min(|\theta_i - 1|,
|\theta_i + 1|)` by proximal gradient steps, letting :math:`\lambda` grow (homotopy) so that the
iterates end on :math:`\{\pm1\}^n`; a final hard quantisation :math:`\theta \leftarrow
\operatorname{sign}\theta` removes what is left.

References
----------
Bai, Wang, Liberty, "ProxQuant: Quantized Neural Networks via Proximal Operators", ICLR 2019.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bnnlab._validation import check_choice, check_int, check_real
from bnnlab._xp import namespace
from bnnlab.optim._binary import BinaryOptimizer, Selector
from bnnlab.signs import signed

#: the named homotopies of :class:`ProxQuant`: epoch (0-based) and λ0 -> λ
HOMOTOPIES: dict[str, Callable[[int, float], float]] = {
    "linear": lambda epoch, lam0: lam0 * (epoch + 1),
    "constant": lambda epoch, lam0: lam0,
}


def binary_prox(theta: Any, kappa: float) -> Any:
    r"""The proximal operator of :math:`\kappa\,\operatorname{dist}_1(\cdot, \{\pm1\})`, elementwise.

    .. math::
        \operatorname{prox}_{\kappa R}(\theta) = \operatorname{sign}\theta
        + \operatorname{sign}(\theta - \operatorname{sign}\theta)\,
        \max(|\theta - \operatorname{sign}\theta| - \kappa,\ 0),
        \qquad \operatorname{sign}(0) = +1:

    soft thresholding of :math:`\theta` towards its nearest binary value by :math:`\kappa`
    (values within :math:`\kappa` of :math:`\pm1` land on it). At the tie :math:`\theta = 0`
    both :math:`\pm\min(\kappa, 1)` are minimisers; the bnnlab binarisation rule
    :math:`\operatorname{sign}(0) = +1` picks :math:`+\min(\kappa, 1)` (``torch.sign`` in the
    authors' code would leave 0 there, which is not a minimiser for :math:`\kappa > 0`).

    Parameters
    ----------
    theta : array (numpy or cupy), floating
    kappa : float
        Threshold :math:`\kappa \ge 0` (the step's :math:`\eta\lambda`).

    Returns
    -------
    array, same shape, dtype and array library as ``theta``.
    """
    xp = namespace(theta)
    s = signed(theta, "plus", theta.dtype)
    r = theta - s
    return s + xp.sign(r) * xp.maximum(xp.abs(r) - kappa, 0)


class ProxQuant(BinaryOptimizer):
    r"""ProxQuant for binary weights: inner gradient step, then the binary prox.

    With :math:`\operatorname{step}` the inner optimiser's update of the latent weights
    :math:`\theta` (SGD, or Adam as in the paper's CIFAR-10 runs; group weight decay and
    ``lr_scale`` included), :math:`\eta` the group's learning rate (base lr × ``lr_scale``) and
    :math:`\lambda_e` the regularisation strength of epoch :math:`e`, each step on the binary
    parameters is

    .. math::
        \theta \leftarrow \operatorname{prox}_{\kappa R}\big(\operatorname{step}(\theta, g)\big),
        \qquad
        \operatorname{prox}_{\kappa R}(\theta) = \operatorname{sign}\theta
        + \operatorname{sign}(\theta - \operatorname{sign}\theta)\,
        \max(|\theta - \operatorname{sign}\theta| - \kappa,\ 0),

    with :math:`\kappa = \eta\lambda_e` (``scale_by_lr=True``, default: the proximal gradient
    step :math:`\operatorname{prox}_{\eta\lambda R}(\theta - \eta\nabla L)` of the paper, which the
    authors' code applies as ``prox_operator(curr_lr * reg)``) or :math:`\kappa = \lambda_e`
    (``scale_by_lr=False``: :math:`\lambda` is the threshold itself); optionally followed by a clip
    to :math:`[-c, c]` (the authors' code clips to :math:`[-1, 1]`, ``clip=1.0``). The other
    parameters get the inner step only. See :func:`binary_prox` for the tie rule.

    **Homotopy.** :math:`\lambda_e` is set by :meth:`set_epoch` (call it at the start of every
    epoch, 0-based, like ``model.set_epoch``) from ``homotopy``: ``"linear"`` (default)
    :math:`\lambda_e = \lambda_0 (e + 1)` (the QP-SBGD code's :math:`0.01(e+1)`; the ProxQuant code
    uses :math:`\lambda_0 e`), ``"constant"`` :math:`\lambda_e = \lambda_0`, or any callable
    ``epoch -> λ``. Before the first :meth:`set_epoch` the rate is that of epoch 0;
    :meth:`set_lambda` overrides it directly (per step or per epoch).

    **End of training.** :meth:`finalize` hard-quantises the binary parameters,
    :math:`\theta \leftarrow \operatorname{sign}\theta` (:math:`\operatorname{sign}(0) = +1`).

    **Forward pass.** In the paper the network computes with :math:`\theta` itself (no binarizer)
    until the final quantisation: build such a model with ``weight_binarizer=None`` and select its
    quantised weights with ``binary=`` (a predicate). With the default selection (weights of
    layers *with* a binarizer) the forward uses :math:`\operatorname{sign}\theta` throughout and
    ProxQuant acts as BinaryConnect with a prox pull towards :math:`\pm1`.

    Parameters
    ----------
    params : Layer, list of Parameter, or list of group dicts
        As :class:`~bnnlab.optim.Optimizer`.
    lr : float
        Base learning rate of the inner optimiser.
    lam : float
        :math:`\lambda_0 \ge 0` (default 0.01).
    homotopy : {"linear", "constant"} or callable ``epoch -> float``
    scale_by_lr : bool
        :math:`\kappa = \eta\lambda` (default) or :math:`\kappa = \lambda`.
    clip : float or None
        Clip the binary parameters to :math:`[-c, c]` after the prox (default: no clip).
    inner : str or Optimizer subclass
        The inner step (default ``"sgd"``; ``"adam"`` as in the paper's CIFAR-10 experiments).
    inner_kwargs : mapping, optional
    weight_decay : float
        Default ℓ2 of groups that do not give one (applied by the inner step).
    binary : str or callable
        Which parameters are quantised: a tag (default ``"binarized"``) or a predicate.

    Examples
    --------
    >>> from bnnlab import nn, optim
    >>> model = nn.binary_mlp(16, (32,), 4, seed=0)
    >>> opt = optim.get("proxquant")(model, lr=0.01, inner="adam")
    >>> opt.set_epoch(2, 3)  # at the start of epoch 2 (0-based) of 3: λ = 0.01 · 3
    >>> round(opt.lam, 6)
    0.03
    >>> opt.finalize()  # after the last step: θ ← sign θ on the binary parameters

    References
    ----------
    Bai, Wang, Liberty, "ProxQuant: Quantized Neural Networks via Proximal Operators", ICLR 2019.
    """

    def __init__(
        self,
        params: Any,
        lr: float,
        *,
        lam: float = 0.01,
        homotopy: str | Callable[[int], float] = "linear",
        scale_by_lr: bool = True,
        clip: float | None = None,
        inner: Any = "sgd",
        inner_kwargs: Mapping[str, Any] | None = None,
        weight_decay: float = 0.0,
        binary: Selector = "binarized",
    ):
        self.lam0 = check_real(lam, "lam", low=0.0)
        if isinstance(homotopy, str):
            check_choice(homotopy, "homotopy", tuple(HOMOTOPIES))
        elif not callable(homotopy):
            raise TypeError(
                f"homotopy: expected 'linear', 'constant' or a callable epoch -> lambda, "
                f"got {type(homotopy).__name__}"
            )
        self.homotopy = homotopy
        self.scale_by_lr = bool(scale_by_lr)
        self.clip = None if clip is None else check_real(clip, "clip", low=0.0, open_low=True)
        super().__init__(
            params, lr, weight_decay, binary=binary, inner=inner, inner_kwargs=inner_kwargs
        )
        self.lam = self._lambda_at(0)

    def _lambda_at(self, epoch: int) -> float:
        if isinstance(self.homotopy, str):
            value = HOMOTOPIES[self.homotopy](epoch, self.lam0)
        else:
            value = self.homotopy(epoch)
        return check_real(value, "homotopy", low=0.0)

    def set_epoch(self, epoch: int, epochs: int) -> None:
        r"""Set :math:`\lambda` to the homotopy's value at ``epoch`` (0-based) of ``epochs``."""
        check_int(epoch, "epoch", minimum=0)
        self.lam = self._lambda_at(epoch)

    def set_lambda(self, lam: float) -> None:
        r"""Set :math:`\lambda` directly (until the next :meth:`set_epoch`)."""
        self.lam = check_real(lam, "lam", low=0.0)

    def _binary_step(self) -> None:
        for _, p, g in self._binary_items():
            if p.grad is None:
                continue
            kappa = self.lam * (self.lr * g["lr_scale"] if self.scale_by_lr else 1.0)
            out = binary_prox(p.data, kappa)
            if self.clip is not None:
                namespace(out).clip(out, -self.clip, self.clip, out=out)
            p.data[...] = out

    def finalize(self) -> None:
        r"""Hard quantisation: :math:`\theta \leftarrow \operatorname{sign}\theta` on the binary
        parameters (:math:`\operatorname{sign}(0) = +1`), in place."""
        for _, p in self.binary_params:
            p.data[...] = signed(p.data, "plus", p.data.dtype)

    def __repr__(self) -> str:
        return (
            f"ProxQuant(lr={self.lr}, lam={self.lam}, homotopy={self.homotopy!r}, "
            f"scale_by_lr={self.scale_by_lr}, inner={self.inner!r})"
        )
