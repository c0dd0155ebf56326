r"""Stochastic weight binarization of BinaryConnect (``stochastic_sign``).

Registered in :mod:`bnnlab.nn.binarizers` as ``stochastic_sign``.

References
----------
Courbariaux, Bengio, David, "BinaryConnect: Training Deep Neural Networks with binary weights during
propagations", NeurIPS 2015.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bnnlab._validation import check_choice, check_real, make_rng
from bnnlab._xp import namespace
from bnnlab.nn.binarizers import Binarizer
from bnnlab.signs import signed


class StochasticSign(Binarizer):
    r"""BinaryConnect's stochastic binarization with the clipped STE (``stochastic_sign``).

    In a training forward each weight is drawn independently,

    .. math::
        q(w) = \begin{cases} +1 & \text{with probability } p = \sigma(w) \\
                             -1 & \text{with probability } 1 - p \end{cases},\qquad
        \sigma(w) = \operatorname{clip}\Big(\frac{w+1}{2}, 0, 1\Big)

    (the "hard sigmoid"), as :math:`q = +1` iff :math:`u < \sigma(w)` for a uniform
    :math:`u \in [0, 1)`; so :math:`\mathbb{E}[q(w)] = \operatorname{clip}(w, -1, 1)`. The
    pseudo-gradient is the clipped straight-through estimator,

    .. math::
        \frac{\partial L}{\partial w} = \frac{\partial L}{\partial q}\,1\{|w| \le c\},\quad c = 1,

    which under BinaryConnect's clip of the latent weights to :math:`[-1, 1]` is the identity.

    **Which forwards sample.** A layer calls ``update_latent`` before each *training* forward and
    only then (the binarizer interface, :mod:`bnnlab.nn.binarizers`); that call arms the next
    forward to sample. Every other forward (evaluation, ``layer.binary_weight()``) uses ``eval_mode``:
    ``"sign"`` (default: the deterministic :math:`\operatorname{sign}(w)`,
    :math:`\operatorname{sign}(0)=+1`, the mode of the distribution), ``"sample"`` (draw as in
    training) or ``"real"`` (the latent weights themselves, the paper's test-time choice for
    stochastic BinaryConnect; not a binary network).

    **Randomness.** ``seed`` (an int or a ``numpy.random.Generator``) is required. The uniforms
    are drawn on the host by that generator in the weights' float dtype (``float32`` or
    ``float64``) and, for cupy weights, copied to the device; the same seed therefore gives the
    same signs on numpy and cupy. One instance shared by several layers draws for them in the
    order of their forwards (deterministic given the seed); a string alias given to
    :func:`bnnlab.nn.binary_mlp` cannot carry a seed, so pass an instance.

    Parameters
    ----------
    seed : int or numpy.random.Generator
    clip : float
        :math:`c > 0` of the straight-through window (default 1).
    eval_mode : {"sign", "sample", "real"}
        What non-training forwards return.

    References
    ----------
    Courbariaux, Bengio, David, "BinaryConnect: Training Deep Neural Networks with binary weights
    during propagations", NeurIPS 2015: the stochastic binarization with the hard sigmoid, and the
    section "Test-Time Inference".
    """

    alias = "stochastic_sign"
    role = "weight"

    def __init__(self, seed: Any = None, clip: float = 1.0, eval_mode: str = "sign"):
        self.rng = make_rng(seed)
        self.clip = check_real(clip, "clip", low=0.0, open_low=True)
        self.eval_mode = check_choice(eval_mode, "eval_mode", ("sign", "sample", "real"))
        self._armed = False

    def probability(self, w: Any) -> Any:
        r""":math:`P(q = +1) = \operatorname{clip}((w+1)/2, 0, 1)`, same array library as ``w``."""
        xp = namespace(w)
        return xp.clip((w + 1) / 2, 0, 1)

    def sample(self, w: Any) -> Any:
        """One draw of :math:`q(w)` in {−1, +1} (dtype of ``w``), advancing the generator."""
        xp = namespace(w)
        dtype = np.dtype(w.dtype)
        draw_dtype = dtype if dtype in (np.float32, np.float64) else np.float64
        u = xp.asarray(self.rng.random(tuple(w.shape), dtype=draw_dtype))
        out = (u < self.probability(w)).astype(w.dtype)
        out *= 2
        out -= 1
        return out

    def update_latent(self, w: Any) -> None:
        """Arm the next forward to sample (the layer calls this before training forwards only)."""
        self._armed = True
        return None

    def forward(self, x: Any) -> tuple[Any, Any]:
        mode = "sample" if self._armed else self.eval_mode
        self._armed = False
        if mode == "sample":
            return self.sample(x), x
        if mode == "sign":
            return signed(x, "plus", x.dtype), x
        return x.copy(), x

    def backward(self, grad: Any, cache: Any) -> Any:
        xp = namespace(grad)
        return grad * (xp.abs(cache) <= self.clip).astype(grad.dtype)

    def __repr__(self) -> str:
        return f"StochasticSign(clip={self.clip}, eval_mode={self.eval_mode!r})"
