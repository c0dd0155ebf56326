"""Array-namespace helpers: pick numpy or cupy from the inputs, never copy between them silently."""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

import numpy as np


def is_cupy(x: Any) -> bool:
    """True when ``x`` is a cupy array (without importing cupy if it is not loaded)."""
    cp = sys.modules.get("cupy")
    return cp is not None and isinstance(x, cp.ndarray)


def namespace(*arrays: Any) -> ModuleType:
    """Return ``numpy`` or ``cupy`` according to the array arguments (``None`` ignored).

    Raises
    ------
    TypeError
        If numpy and cupy arrays are mixed: bnnlab never transfers between host and device silently.
    """
    kinds = {is_cupy(a) for a in arrays if a is not None and hasattr(a, "shape")}
    if kinds == {True}:
        return sys.modules["cupy"]
    if kinds == {True, False}:
        raise TypeError(
            "arrays live on different devices (numpy and cupy mixed); move them explicitly "
            "with cupy.asarray / cupy.asnumpy"
        )
    return np


def to_numpy(x: Any) -> np.ndarray:
    """Explicit device-to-host copy (a no-op for numpy arrays)."""
    return x.get() if is_cupy(x) else np.asarray(x)
