r"""Batch normalisation (1-D for dense features, 2-D per channel for NCHW maps).

Training mode, over the batch (and spatial) axes, per feature/channel:

.. math::
    \hat x = \frac{x - \mu_B}{\sqrt{\sigma_B^2 + \varepsilon}},\qquad y = \gamma\hat x + \beta,

with the biased batch variance :math:`\sigma_B^2`; the running statistics are updated as
:math:`m \leftarrow (1-\rho)m + \rho\mu_B`, :math:`v \leftarrow (1-\rho)v + \rho\,\sigma_B^2
\tfrac{n}{n-1}` (momentum :math:`\rho = 0.1`, unbiased variance, as PyTorch). Evaluation mode uses
:math:`m, v` instead of the batch statistics.

Backward (training mode): :math:`\partial L/\partial\gamma = \sum g\hat x`,
:math:`\partial L/\partial\beta = \sum g`, and the exact standardisation backward for :math:`x`
(:mod:`bnnlab.nn._standardize`).

References
----------
Ioffe & Szegedy, "Batch Normalization", ICML 2015.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bnnlab._validation import check_int, check_real
from bnnlab._xp import namespace
from bnnlab.nn._module import Layer
from bnnlab.nn._standardize import standardize, standardize_backward


class _BatchNorm(Layer):
    _ndim = 0
    _axes: tuple[int, ...] = ()

    def __init__(
        self,
        num_features: int,
        *,
        momentum: float = 0.1,
        eps: float = 1e-5,
        affine: bool = True,
        dtype: Any = np.float32,
    ):
        super().__init__()
        self.num_features = check_int(num_features, "num_features", minimum=1)
        self.momentum = check_real(momentum, "momentum", low=0.0, high=1.0)
        self.eps = check_real(eps, "eps", low=0.0, open_low=True)
        dtype = np.dtype(dtype)
        self.affine = bool(affine)
        if self.affine:
            self._add_param("gamma", np.ones(num_features, dtype=dtype), {"bn"})
            self._add_param("beta", np.zeros(num_features, dtype=dtype), {"bn"})
        self.running_mean = np.zeros(num_features, dtype=dtype)
        self.running_var = np.ones(num_features, dtype=dtype)

    def _bshape(self) -> tuple[int, ...]:
        return (1, -1) + (1,) * (self._ndim - 2)

    def forward(self, x: Any, train: bool) -> Any:
        xp = namespace(x)
        if x.ndim != self._ndim or x.shape[1] != self.num_features:
            raise ValueError(
                f"x: expected a {self._ndim}-D array with {self.num_features} channels on axis 1, "
                f"got shape {tuple(x.shape)}"
            )
        shape = self._bshape()
        if train:
            n = x.size // x.shape[1]
            if n < 2:
                raise ValueError(
                    "x: batch normalisation in training mode needs > 1 value per channel"
                )
            xh, st = standardize(x, self._axes, self.eps, 0)
            mean = xp.mean(x, axis=self._axes)
            var = xp.var(x, axis=self._axes) * (n / (n - 1))
            r = self.momentum
            self.running_mean = ((1 - r) * self.running_mean + r * mean).astype(x.dtype)
            self.running_var = ((1 - r) * self.running_var + r * var).astype(x.dtype)
            self._cache = (xh, st)
        else:
            inv = 1 / xp.sqrt(self.running_var + self.eps)
            xh = (x - self.running_mean.reshape(shape)) * inv.reshape(shape)
            self._cache = None
        if not self.affine:
            return xh
        return xh * self._params["gamma"].data.reshape(shape) + self._params["beta"].data.reshape(
            shape
        )

    def backward(self, grad: Any) -> Any:
        xp = namespace(grad)
        xh, st = self._need_cache()
        if self.affine:
            self._params["gamma"].grad = xp.sum(grad * xh, axis=self._axes)
            self._params["beta"].grad = xp.sum(grad, axis=self._axes)
            grad = grad * self._params["gamma"].data.reshape(self._bshape())
        return standardize_backward(grad, st, self._axes)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.num_features}, momentum={self.momentum}, eps={self.eps})"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of ``(N, F)`` features (statistics over the batch axis)."""

    _ndim = 2
    _axes = (0,)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of ``(N, C, H, W)`` maps (statistics over N, H, W per channel)."""

    _ndim = 4
    _axes = (0, 2, 3)
