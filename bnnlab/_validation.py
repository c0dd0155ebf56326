"""Input validation shared by every public function.

Each check raises ``TypeError`` (wrong kind) or ``ValueError`` (wrong value) with a message that names
the argument and says what was expected, so users see ``weights: contains NaN or inf`` rather than a
failure deep inside a kernel.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from bnnlab._xp import namespace


def as_array(x: Any, name: str, *, ndim: int | Iterable[int] | None = None) -> Any:
    """Return ``x`` as a numpy/cupy array, checking it is non-empty and (optionally) its ndim."""
    if x is None:
        raise TypeError(f"{name}: expected an array, got None")
    xp = namespace(x)
    arr = x if hasattr(x, "dtype") and hasattr(x, "shape") else xp.asarray(x)
    if arr.dtype == object:
        raise TypeError(f"{name}: expected a numeric array, got dtype object")
    if arr.size == 0:
        raise ValueError(f"{name}: empty array (shape {tuple(arr.shape)})")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(str(d) for d in allowed)
            raise ValueError(f"{name}: expected {want}-D array, got shape {tuple(arr.shape)}")
    return arr


def check_finite(x: Any, name: str) -> None:
    """Raise ``ValueError`` if a floating array holds NaN or inf."""
    xp = namespace(x)
    if xp.issubdtype(x.dtype, xp.floating) or xp.issubdtype(x.dtype, xp.complexfloating):
        if not bool(xp.isfinite(x).all()):
            raise ValueError(f"{name}: contains NaN or inf")


def check_dtype(x: Any, name: str, dtypes: Iterable[Any]) -> None:
    """Raise ``TypeError`` unless ``x.dtype`` is one of ``dtypes``."""
    allowed = [np.dtype(d) for d in dtypes]
    if np.dtype(x.dtype) not in allowed:
        names = ", ".join(str(d) for d in allowed)
        raise TypeError(f"{name}: expected dtype {names}, got {x.dtype}")


def check_int(
    value: Any, name: str, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """Return ``value`` as ``int`` after checking it is an integer within [minimum, maximum]."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name}: expected an integer, got {type(value).__name__}")
    v = int(value)
    if minimum is not None and v < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {v}")
    if maximum is not None and v > maximum:
        raise ValueError(f"{name}: expected an integer <= {maximum}, got {v}")
    return v


def check_real(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    open_low: bool = False,
    open_high: bool = False,
) -> float:
    """Return ``value`` as ``float`` after checking it is finite and within the given interval."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{name}: expected a real number, got {type(value).__name__}")
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(f"{name}: expected a finite number, got {v}")
    if low is not None and (v < low or (open_low and v == low)):
        raise ValueError(f"{name}: expected a value {'>' if open_low else '>='} {low}, got {v}")
    if high is not None and (v > high or (open_high and v == high)):
        raise ValueError(f"{name}: expected a value {'<' if open_high else '<='} {high}, got {v}")
    return v


def check_choice(value: Any, name: str, choices: Iterable[Any]) -> Any:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    options = tuple(choices)
    if value not in options:
        raise ValueError(f"{name}: expected one of {', '.join(map(repr, options))}, got {value!r}")
    return value


def check_same_shape(a: Any, b: Any, name_a: str, name_b: str) -> None:
    """Raise ``ValueError`` when two arrays differ in shape."""
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(
            f"{name_a} and {name_b}: shape mismatch, {tuple(a.shape)} vs {tuple(b.shape)}"
        )


def make_rng(seed: Any, name: str = "seed") -> np.random.Generator:
    """Return a ``numpy.random.Generator`` from an int seed, a SeedSequence or a Generator.

    ``None`` is refused on purpose: bnnlab's randomness is always explicit.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, np.random.SeedSequence):
        return np.random.default_rng(seed)
    if seed is None:
        raise TypeError(f"{name}: an explicit int seed or numpy.random.Generator is required")
    return np.random.default_rng(check_int(seed, name, minimum=0))


#: Name of the seeding scheme of :func:`derive_seeds` (recorded with every run that uses it, so
#: records made under another scheme are never mistaken for its runs).
SEEDING = "spawn"


def derive_seeds(seed: Any, name: str = "seed") -> tuple[int, int]:
    """``(data_seed, learner_seed)`` of a run's ``seed``: independent streams, in this order.

    ``numpy.random.SeedSequence(seed).spawn(2)`` gives two child sequences, the first for the data
    (split or synthetic draw), the second for the learner (initialisation, shuffles,
    reinforcement); each becomes an ``int`` with ``generate_state(1, uint32)[0]``. So the data and
    the learner never share a stream, and changing how one consumes randomness cannot move the
    other. The scheme is named by :data:`SEEDING`.

    Parameters
    ----------
    seed : int
        The run's seed, ``>= 0``.
    name : str
        Argument name used in error messages.
    """
    seed = check_int(seed, name, minimum=0)
    data, learner = np.random.SeedSequence(seed).spawn(2)
    return (
        int(data.generate_state(1, np.uint32)[0]),
        int(learner.generate_state(1, np.uint32)[0]),
    )
