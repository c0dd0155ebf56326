r"""Weight initialisers (explicit ``numpy.random.Generator``; host arrays, move with ``Layer.to``).

Each takes ``(shape, rng, dtype)``, with ``shape[0]`` the output channels and the fan-in the
product of the other axes.

=================  ===============================================================
``he_normal``      :math:`\mathcal N(0, 2/n_\text{in})` (He et al., ICCV 2015) — default
``he_uniform``     :math:`\mathcal U(\pm\sqrt{6/n_\text{in}})`
``glorot_normal``  :math:`\mathcal N(0, 2/(n_\text{in}+n_\text{out}))` (Glorot & Bengio 2010)
``glorot_uniform`` :math:`\mathcal U(\pm\sqrt{6/(n_\text{in}+n_\text{out})})`
``torch_default``  :math:`\mathcal U(\pm 1/\sqrt{n_\text{in}})` (PyTorch's Linear/Conv default)
=================  ===============================================================

The Laplacian study starts from Gaussian latent weights (``he_normal``), so that a Laplacian shape
after training is learned, not inherited.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from bnnlab._registry import Registry

INITIALIZERS = Registry("initializer")


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight ``(out, in, *kernel)``; refuses shapes without both axes."""
    if len(shape) < 2 or any(int(d) < 1 for d in shape):
        raise ValueError(
            f"shape: expected a weight shape (out, in, ...) of positive sizes, got {tuple(shape)}"
        )
    receptive = math.prod(shape[2:]) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def he_normal(shape: tuple[int, ...], rng: np.random.Generator, dtype: Any) -> np.ndarray:
    """He normal: std ``sqrt(2 / fan_in)``."""
    fan_in, _ = _fans(shape)
    return (rng.standard_normal(shape) * math.sqrt(2.0 / fan_in)).astype(dtype)


def he_uniform(shape: tuple[int, ...], rng: np.random.Generator, dtype: Any) -> np.ndarray:
    """He uniform: bound ``sqrt(6 / fan_in)``."""
    fan_in, _ = _fans(shape)
    b = math.sqrt(6.0 / fan_in)
    return rng.uniform(-b, b, shape).astype(dtype)


def glorot_normal(shape: tuple[int, ...], rng: np.random.Generator, dtype: Any) -> np.ndarray:
    """Glorot normal: std ``sqrt(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = _fans(shape)
    return (rng.standard_normal(shape) * math.sqrt(2.0 / (fan_in + fan_out))).astype(dtype)


def glorot_uniform(shape: tuple[int, ...], rng: np.random.Generator, dtype: Any) -> np.ndarray:
    """Glorot uniform: bound ``sqrt(6 / (fan_in + fan_out))``."""
    fan_in, fan_out = _fans(shape)
    b = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-b, b, shape).astype(dtype)


def torch_default(shape: tuple[int, ...], rng: np.random.Generator, dtype: Any) -> np.ndarray:
    """PyTorch's default for Linear/Conv (kaiming_uniform with a=sqrt(5)): bound ``1/sqrt(fan_in)``."""
    fan_in, _ = _fans(shape)
    b = 1.0 / math.sqrt(fan_in)
    return rng.uniform(-b, b, shape).astype(dtype)


for _f in (he_normal, he_uniform, glorot_normal, glorot_uniform, torch_default):
    INITIALIZERS.register(_f.__name__, _f)

get, available = INITIALIZERS.bind()


def resolve(spec: str | Callable[..., Any]) -> Callable[..., Any]:
    """An initialiser from its alias or a callable ``(shape, rng, dtype) -> array``."""
    if isinstance(spec, str):
        return INITIALIZERS.get(spec)
    if callable(spec):
        return spec
    raise TypeError(f"init: expected an alias or a callable, got {type(spec).__name__}")


__all__ = [
    "INITIALIZERS",
    "available",
    "get",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "resolve",
    "torch_default",
]
