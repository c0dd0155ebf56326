r"""Centring and standardisation over some axes, with its exact backward.

Forward, over the :math:`n` entries of each slice:

.. math::
    \mu = \tfrac1n \sum_i x_i,\qquad
    \sigma = \sqrt{\tfrac{1}{n-d}\sum_i (x_i-\mu)^2 + \varepsilon},\qquad
    y_i = (x_i-\mu)/\sigma

(:math:`d` the ``ddof``). Backward, the exact Jacobian-vector product:

.. math::
    \frac{\partial L}{\partial x_j} = \frac{1}{\sigma}\Big(g_j - \bar g
    - y_j\,\frac{\sum_i g_i y_i}{n-d}\Big),\qquad g = \partial L/\partial y .

Shared by batch normalisation (over the batch, ``ddof=0``), SiMaN's per-filter weight and
per-sample activation standardisation, and IR-Net's balanced weights.
"""

from __future__ import annotations

from typing import Any

from bnnlab._xp import namespace


def standardize(
    x: Any, axes: tuple[int, ...], eps: float, ddof: int
) -> tuple[Any, tuple[Any, Any, int]]:
    """Return ``(y, cache)`` with ``y = (x - mean) / sqrt(var_ddof + eps)`` over ``axes``."""
    xp = namespace(x)
    n = 1
    for a in axes:
        n *= x.shape[a]
    c = x - xp.mean(x, axis=axes, keepdims=True)
    var = xp.sum(c * c, axis=axes, keepdims=True) / (n - ddof)
    s = xp.sqrt(var + eps)
    y = c / s
    return y, (y, s, n - ddof)


def standardize_backward(g: Any, cache: tuple[Any, Any, int], axes: tuple[int, ...]) -> Any:
    """Gradient with respect to ``x`` of :func:`standardize`, given ``g = dL/dy``."""
    xp = namespace(g)
    y, s, dof = cache
    gy = xp.sum(g * y, axis=axes, keepdims=True) / dof
    return (g - xp.mean(g, axis=axes, keepdims=True) - y * gy) / s
