r"""SiMaN (sign-to-magnitude) weight and activation binarizers, as the official code does them.

Registered in :mod:`bnnlab.nn.binarizers` as ``siman`` and ``siman_act``. The reference is the
behaviour of the authors' code (github.com/lmbxmu/SiMaN) as summarised in ../shared/REFERENCES.md
§1.3; where a detail of that code is not stated there (the variance estimator), the choice made is
written below.

References
----------
Lin, Ji, Xu, Zhang, Wu, Shao, Ji, "SiMaN: Sign-to-Magnitude Network Binarization",
IEEE TPAMI 45(5), 2023 (arXiv 2102.07981).
"""

from __future__ import annotations

from typing import Any

from bnnlab._validation import check_choice, check_int, check_real
from bnnlab._xp import namespace
from bnnlab.nn._standardize import standardize, standardize_backward
from bnnlab.nn.binarizers import Binarizer
from bnnlab.signs import signed


def percentile_clip(w: Any, p: float) -> Any:
    r"""SiMaN's layer-wide clip of the centred magnitudes, returned as new latent weights.

    With :math:`\mu_r` the mean of row :math:`r`, :math:`c = w - \mu` and :math:`a = |c|`, and
    :math:`\ell, h` the ``p``-th and ``(100 - p)``-th percentiles of :math:`a` over the *whole*
    layer (linear interpolation),

    .. math:: w' = \mu + \operatorname{sign}(c)\,\min(\max(a, \ell), h).

    ``p = 0`` returns ``w`` unchanged (up to rounding).
    """
    xp = namespace(w)
    mu = xp.mean(w, axis=1, keepdims=True)
    c = w - mu
    a = xp.abs(c)
    if p <= 0:
        return w
    lo = xp.percentile(a, p)
    hi = xp.percentile(a, 100.0 - p)
    return (mu + signed(c, "plus", c.dtype) * xp.clip(a, lo, hi)).astype(w.dtype)


class SiMaNWeight(Binarizer):
    r"""SiMaN weight binarizer (``siman``): {0,1} code from the magnitudes, mapped to ±1.

    Per row (output filter) :math:`r` with :math:`n` entries, every forward pass:

    .. math::
        \hat w = \frac{w-\mu}{\sqrt{\tfrac{1}{n-d}\sum_j (w_j-\mu)^2 + 10^{-5}}},\qquad
        X = |\hat w|,\qquad
        B_j = 1[X_j > \operatorname{median}(X)],\qquad q = 2B - 1 \in\{\pm1\}.

    * ``k="half"`` (default, what the official code always does): the median rule above, i.e.
      the :math:`\lfloor n/2\rfloor` largest magnitudes get a one (absent ties).
    * ``k="optimal"``: :math:`B` is the angle-optimal {0,1} code of :math:`X`,
      :math:`k^\ast = \arg\max_k S_k/\sqrt{k}` (:func:`bnnlab.theory.angle.align` with
      ``code="01"``, row-wise) — the analytic rule of the paper, never used by its code.

    Pseudo-gradient (what reaches :math:`w`): the gradient :math:`g` of the loss with respect to
    :math:`q` is passed unchanged to :math:`X` (identity straight-through, no factor 2, no clip),
    then by the chain rule through :math:`|\cdot|` and the standardisation, i.e. exactly the gradient
    of the surrogate :math:`\sum_j g_j |\hat w_j|`:

    .. math::
        \frac{\partial L}{\partial w_j} = \frac{1}{\sigma}\Big(u_j - \bar u
        - \hat w_j\,\frac{\sum_i u_i\hat w_i}{n-d}\Big),\qquad
        u = g\odot\operatorname{sign}(\hat w)

    (:math:`\sigma` the denominator above; at :math:`\hat w_j = 0` we use sign = +1 where PyTorch's
    ``abs`` backward uses 0, a measure-zero difference). Note that the backward depends on the
    *magnitude* route only: a weight's gradient pushes :math:`|\hat w_j|`, not its sign.

    The variance uses ``ddof`` (default 1: PyTorch's ``Tensor.var`` default is the unbiased
    estimator; REFERENCES.md §1.3 does not pin this detail down). The learnable per-channel scale
    :math:`\alpha` (initialised to the mean :math:`|w|` of the filter) is applied by the layer
    (``scale=True``), not here.

    ``clip=True`` enables the layer-wide percentile clip of §1.3 step 1, written back into the
    latent weights before each training forward with :math:`p = 15\,(1 - e/E)`
    (:func:`percentile_clip`; :math:`e` the 0-based epoch set by :meth:`set_epoch`, :math:`E` the
    number of epochs). It is off by default.

    References
    ----------
    Lin et al., "SiMaN: Sign-to-Magnitude Network Binarization", IEEE TPAMI 45(5), 2023;
    official code github.com/lmbxmu/SiMaN (REFERENCES.md §1.3).
    """

    alias = "siman"
    role = "weight"

    def __init__(self, k: str = "half", clip: bool = False, eps: float = 1e-5, ddof: int = 1):
        self.k = check_choice(k, "k", ("half", "optimal"))
        self.clip = bool(clip)
        self.eps = check_real(eps, "eps", low=0.0)
        self.ddof = check_int(ddof, "ddof", minimum=0, maximum=1)
        self.clip_percent = 15.0

    def set_epoch(self, epoch: int, epochs: int) -> None:
        self.clip_percent = 15.0 * (1.0 - epoch / epochs)

    def update_latent(self, w: Any) -> Any:
        if not self.clip or self.clip_percent <= 0:
            return None
        return percentile_clip(w, self.clip_percent)

    def code(self, w: Any) -> Any:
        """The {0,1} code :math:`B` (same dtype as ``w``) of 2-D weights ``(out, fan_in)``."""
        return self._code(standardize(w, (1,), self.eps, self.ddof)[0])

    def _code(self, wh: Any) -> Any:
        xp = namespace(wh)
        x = xp.abs(wh)
        if self.k == "half":
            return (x > xp.median(x, axis=1, keepdims=True)).astype(wh.dtype)
        from bnnlab.theory.angle import align

        return xp.asarray(align(x, code="01").code).astype(wh.dtype)

    def forward(self, w: Any) -> tuple[Any, Any]:
        wh, st = standardize(w, (1,), self.eps, self.ddof)
        b = self._code(wh)
        return 2 * b - 1, (wh, st)

    def backward(self, grad: Any, cache: Any) -> Any:
        wh, st = cache
        return standardize_backward(grad * signed(wh, "plus", wh.dtype), st, (1,))

    def __repr__(self) -> str:
        return f"SiMaNWeight(k={self.k!r}, clip={self.clip}, eps={self.eps}, ddof={self.ddof})"


class SiMaNActivation(Binarizer):
    r"""SiMaN activation binarizer (``siman_act``): sign of per-sample standardised activations.

    For each sample (over all non-batch axes, :math:`n` entries),

    .. math::
        \hat x = \frac{x-\mu}{\sqrt{\tfrac{1}{n-d}\sum_j (x_j-\mu)^2 + 10^{-5}}},\qquad
        q = \operatorname{sign}(\hat x),\qquad
        \frac{\partial L}{\partial \hat x} = g\,\max(0,\ 2 - |2\hat x|),

    then exactly through the standardisation to :math:`x` (as autograd does in the official code).
    The division does not change the forward sign; the centring does. It is applied in training and
    evaluation alike (it depends on the sample only). ``ddof`` as in :class:`SiMaNWeight`.

    References
    ----------
    Lin et al., "SiMaN", IEEE TPAMI 2023, official code (REFERENCES.md §1.3 step 5); the
    :math:`\max(0, 2-|2x|)` pseudo-gradient is Bi-Real Net's ApproxSign derivative.
    """

    alias = "siman_act"
    role = "activation"

    def __init__(self, eps: float = 1e-5, ddof: int = 1):
        self.eps = check_real(eps, "eps", low=0.0)
        self.ddof = check_int(ddof, "ddof", minimum=0, maximum=1)

    def forward(self, x: Any) -> tuple[Any, Any]:
        axes = tuple(range(1, x.ndim))
        xh, st = standardize(x, axes, self.eps, self.ddof)
        return signed(xh, "plus", xh.dtype), (xh, st, axes)

    def backward(self, grad: Any, cache: Any) -> Any:
        xp = namespace(grad)
        xh, st, axes = cache
        return standardize_backward(grad * xp.maximum(0, 2 - xp.abs(2 * xh)), st, axes)

    def __repr__(self) -> str:
        return f"SiMaNActivation(eps={self.eps}, ddof={self.ddof})"
