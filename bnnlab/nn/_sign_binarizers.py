r"""Sign-based binarizers: clipped STE, Bi-Real's ApproxSign, XNOR-Net, IR-Net.

Registered in :mod:`bnnlab.nn.binarizers` as ``ste_sign``, ``approx_sign``, ``xnor``, ``irnet``.
"""

from __future__ import annotations

import math
from typing import Any

from bnnlab._validation import check_choice, check_real
from bnnlab._xp import namespace
from bnnlab.nn._standardize import standardize, standardize_backward
from bnnlab.nn.binarizers import Binarizer
from bnnlab.signs import signed


class SteSign(Binarizer):
    r"""Sign with the clipped straight-through estimator (``ste_sign``).

    Forward and pseudo-gradient:

    .. math::
        q(x) = \operatorname{sign}(x)\ (\operatorname{sign}(0)=+1),\qquad
        \frac{\partial L}{\partial x} = \frac{\partial L}{\partial q}\,1\{|x|\le c\}

    with ``clip`` :math:`c = 1` by default. Usable for weights and activations.

    References
    ----------
    Hubara, Courbariaux, Soudry, El-Yaniv, Bengio, "Binarized Neural Networks", NeurIPS 2016
    (Bengio, Léonard, Courville 2013 for the straight-through estimator).
    """

    alias = "ste_sign"
    role = "both"

    def __init__(self, clip: float = 1.0):
        self.clip = check_real(clip, "clip", low=0.0, open_low=True)

    def forward(self, x: Any) -> tuple[Any, Any]:
        return signed(x, "plus", x.dtype), x

    def backward(self, grad: Any, cache: Any) -> Any:
        xp = namespace(grad)
        return grad * (xp.abs(cache) <= self.clip).astype(grad.dtype)

    def __repr__(self) -> str:
        return f"SteSign(clip={self.clip})"


class ApproxSign(Binarizer):
    r"""Sign with Bi-Real Net's piecewise-quadratic pseudo-gradient (``approx_sign``).

    The forward is :math:`\operatorname{sign}(x)`; the backward is the derivative of the
    piecewise-quadratic approximation :math:`F(x) = 2x + x^2` on :math:`[-1,0)`,
    :math:`2x - x^2` on :math:`[0,1)`, :math:`\pm 1` outside:

    .. math::
        \frac{\partial L}{\partial x} = \frac{\partial L}{\partial q}\,\max(0,\ 2 - 2|x|).

    References
    ----------
    Liu, Wu, Luo, Yang, Liu, Cheng, "Bi-Real Net", ECCV 2018.
    """

    alias = "approx_sign"
    role = "both"

    def forward(self, x: Any) -> tuple[Any, Any]:
        return signed(x, "plus", x.dtype), x

    def backward(self, grad: Any, cache: Any) -> Any:
        xp = namespace(grad)
        return grad * xp.maximum(0, 2 - 2 * xp.abs(cache))


class XnorSign(Binarizer):
    r"""XNOR-Net weight binarization: sign times the per-output-channel mean magnitude (``xnor``).

    For each row (output channel) :math:`r` with :math:`n` entries,

    .. math::
        \alpha_r = \tfrac1n \sum_j |w_{rj}|,\qquad q_{rj} = \alpha_r \operatorname{sign}(w_{rj}).

    Pseudo-gradient: the chain rule through :math:`\alpha_r` (exact, since
    :math:`\partial\alpha_r/\partial w_{rj} = \operatorname{sign}(w_{rj})/n`) plus the clipped STE
    for the sign,

    .. math::
        \frac{\partial L}{\partial w_{rj}} = \alpha_r g_{rj} 1\{|w_{rj}|\le 1\}
        + \frac{\operatorname{sign}(w_{rj})}{n}\sum_i g_{ri}\operatorname{sign}(w_{ri}),

    with :math:`g = \partial L/\partial q`. ``scale_gradient=False`` drops the second term
    (treating :math:`\alpha` as a constant, as larq's ``magnitude_aware_sign`` does).

    References
    ----------
    Rastegari, Ordonez, Redmon, Farhadi, "XNOR-Net", ECCV 2016, eq. (7)-(8).
    """

    alias = "xnor"
    role = "weight"

    def __init__(self, scale_gradient: bool = True):
        self.scale_gradient = bool(scale_gradient)

    def forward(self, w: Any) -> tuple[Any, Any]:
        xp = namespace(w)
        s = signed(w, "plus", w.dtype)
        alpha = xp.mean(xp.abs(w), axis=1, keepdims=True)
        return alpha * s, (w, s, alpha)

    def backward(self, grad: Any, cache: Any) -> Any:
        xp = namespace(grad)
        w, s, alpha = cache
        out = alpha * grad * (xp.abs(w) <= 1).astype(grad.dtype)
        if self.scale_gradient:
            out = out + s * xp.mean(grad * s, axis=1, keepdims=True)
        return out

    def __repr__(self) -> str:
        return f"XnorSign(scale_gradient={self.scale_gradient})"


class IRNetSign(Binarizer):
    r"""IR-Net weight binarization: Libra-PB balanced, standardised weights (``irnet``).

    Per row (output filter) with :math:`n` entries, what is implemented:

    .. math::
        \hat w = \frac{w - \mu}{\sqrt{\tfrac{1}{n-1}\sum_j (w_j-\mu)^2 + \varepsilon}},\qquad
        s = 2^{\operatorname{round}(\log_2 \frac1n\sum_j|\hat w_j|)},\qquad
        q = s\,\operatorname{sign}(\hat w).

    The balanced weights have zero mean (maximising the bit entropy of the code), the power-of-two
    scale :math:`s` is treated as a constant (detached, as in the IR-Net code) and
    :math:`\varepsilon = 0` by default (IR-Net divides by the unbiased standard deviation).

    Pseudo-gradient: with ``pseudo_grad="ede"`` (default) IR-Net's Error Decay Estimator
    :math:`\partial q/\partial\hat w \approx s\,k\,t\,(1-\tanh^2(t\hat w))`, with
    :math:`t = T_{\min}10^{(e/E)\log_{10}(T_{\max}/T_{\min})}`, :math:`k=\max(1/t, 1)`,
    :math:`T_{\min}=0.1`, :math:`T_{\max}=10`, :math:`e` the epoch (0-based) of :math:`E`
    (set by :meth:`set_epoch`; before any call :math:`e=0`). With ``pseudo_grad="ste"`` the clipped
    STE :math:`s\,1\{|\hat w|\le1\}`. The gradient is then carried exactly through the
    centring and standardisation to :math:`w`.

    References
    ----------
    Qin, Gong, Liu, Bai, Song, Yu, Song, "Forward and Backward Information Retention for Accurate
    Binary Neural Networks" (IR-Net), CVPR 2020.
    """

    alias = "irnet"
    role = "weight"
    T_MIN = 0.1
    T_MAX = 10.0

    def __init__(self, pseudo_grad: str = "ede", eps: float = 0.0):
        self.pseudo_grad = check_choice(pseudo_grad, "pseudo_grad", ("ede", "ste"))
        self.eps = check_real(eps, "eps", low=0.0)
        self.t, self.k = self.T_MIN, 1.0 / self.T_MIN

    def set_epoch(self, epoch: int, epochs: int) -> None:
        self.t = self.T_MIN * 10 ** (epoch / epochs * math.log10(self.T_MAX / self.T_MIN))
        self.k = max(1.0 / self.t, 1.0)

    def forward(self, w: Any) -> tuple[Any, Any]:
        xp = namespace(w)
        wh, st = standardize(w, (1,), self.eps, 1)
        scale = 2.0 ** xp.round(xp.log2(xp.mean(xp.abs(wh), axis=1, keepdims=True)))
        scale = scale.astype(w.dtype)
        return scale * signed(wh, "plus", wh.dtype), (wh, st, scale)

    def backward(self, grad: Any, cache: Any) -> Any:
        xp = namespace(grad)
        wh, st, scale = cache
        if self.pseudo_grad == "ede":
            d = self.k * self.t * (1 - xp.tanh(self.t * wh) ** 2)
        else:
            d = (xp.abs(wh) <= 1).astype(grad.dtype)
        return standardize_backward(grad * scale * d, st, (1,))

    def __repr__(self) -> str:
        return f"IRNetSign(pseudo_grad={self.pseudo_grad!r}, eps={self.eps})"
