r"""Finite-difference gradient checks for hand-written backward passes (float64).

:func:`numerical_gradient` evaluates central differences

.. math:: \frac{\partial f}{\partial x_i} \approx \frac{f(x + h e_i) - f(x - h e_i)}{2h},

entry by entry (in place on ``x``, restored afterwards), so it is for small arrays only.
:func:`check_layer` compares a layer's ``backward`` with it for the input and every parameter, using
the scalar :math:`L = \sum g \odot \text{layer}(x)` with a fixed random :math:`g`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from bnnlab._validation import check_real, make_rng
from bnnlab.nn._module import Layer


def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of the scalar ``f()`` with respect to the array ``x``.

    ``f`` must read ``x`` (the same object: it is perturbed in place entry by entry).
    """
    if not isinstance(x, np.ndarray):
        raise TypeError(f"x: expected a numpy array (perturbed in place), got {type(x).__name__}")
    eps = check_real(eps, "eps", low=0.0, open_low=True)
    if x.dtype != np.float64:
        raise TypeError(f"x: finite differences need float64, got {x.dtype}")
    grad = np.zeros_like(x)
    flat = x.reshape(-1)
    gflat = grad.reshape(-1)
    if not np.shares_memory(flat, x):
        raise ValueError("x: must be contiguous (perturbed in place through a flat view)")
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        fp = f()
        flat[i] = old - eps
        fm = f()
        flat[i] = old
        gflat[i] = (fp - fm) / (2 * eps)
    return grad


def check_layer(
    layer: Layer, x: np.ndarray, *, seed: Any = 0, eps: float = 1e-6
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Analytic vs numerical gradients of ``sum(g * layer.forward(x, train=True))``.

    Returns
    -------
    dict
        ``{"x": (analytic, numerical), "<param name>": (analytic, numerical), ...}``; the caller
        asserts closeness (``numpy.testing.assert_allclose``).
    """
    rng = make_rng(seed)
    x = np.ascontiguousarray(x, dtype=np.float64)
    out = layer.forward(x, True)
    g = rng.standard_normal(out.shape)
    dx = layer.backward(g)
    result = {"x": (dx, None)}
    analytic = {name: p.grad.copy() for name, p in layer.named_parameters()}

    def loss() -> float:
        return float(np.sum(g * layer.forward(x, True)))

    result["x"] = (dx, numerical_gradient(loss, x, eps))
    for name, p in layer.named_parameters():
        result[name] = (analytic[name], numerical_gradient(loss, p.data, eps))
    return result
