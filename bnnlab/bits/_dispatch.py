"""Backend discovery and selection for the bit kernels.

Backends are modules found lazily by name; a backend is *available* when its module imports::

    "numpy" -> bnnlab.bits._numpy   pure NumPy on ``np.bitwise_count``; the oracle of the tests
    "numba" -> bnnlab.bits._numba   primary CPU backend (LLVM ``ctpop``, register-tiled, threaded)
    "cupy"  -> bnnlab.bits._cupy    GPU backend (CUDA C through ``cupy.RawModule``)

A module that cannot work on this machine (its library is missing) raises ``ImportError`` at import
time; the dispatch records the reason and reports it when that backend is asked for by name. Nothing
is imported before it is needed: importing :mod:`bnnlab.bits` loads no backend.

Selection (:func:`resolve`)
---------------------------
``backend`` is ``"auto"`` or a name above. When a call passes ``backend="auto"`` (the default) the
environment variable ``BNNLAB_BACKEND``, if set, replaces it (it may itself be ``"auto"``). Then
``"auto"`` picks ``"cupy"`` when any input is a cupy array, else ``"numba"`` when it imports, else
``"numpy"``. A backend whose ``ARRAY_MODULE`` does not match the inputs (numpy arrays given to
``"cupy"``, cupy arrays given to a host backend) is a ``TypeError``: bnnlab never moves data between
host and device silently.

Backend protocol
----------------
Every backend module defines ``ARRAY_MODULE`` (``"numpy"`` or ``"cupy"``: the kind of arrays it takes
and returns) and the functions below. :mod:`bnnlab.bits.ops` and :mod:`bnnlab.bits.pack` validate every
argument **once** before dispatching, so a backend trusts its inputs: all arrays are C-contiguous, of
the stated dtype and shape, of the backend's array kind, and packed arrays have zero padding bits.
``W = ceil(k / 64)`` words hold ``k`` bits; element ``t`` of a row is bit ``t % 64`` (LSB first) of word
``t // 64``; bit 1 encodes +1, bit 0 encodes -1. Output arrays are allocated by the caller and passed
as ``out``; a backend writes every element of ``out`` (including zero padding bits) and returns it.

``pack_last(x, out)``
    ``x``: bool ``(R, k)``; ``out``: uint64 ``(R, W)``. Bit ``t`` of row ``r`` = ``x[r, t]``.
``unpack_last(words, k, out)``
    ``words``: uint64 ``(R, W)``; ``out``: bool ``(R, k)``, the inverse of ``pack_last``.
``xnor_gemm(a, b, k, out)``
    ``a``: uint64 ``(M, W)``, ``b``: uint64 ``(N, W)``; ``out``: int32 ``(M, N)`` with
    ``out[i, j] = k - 2 * popcount(a[i] ^ b[j])`` (the ±1 dot product of row i of A and row j of B).
``xnor_gemm_sign(a, b, k, thresholds, out)``
    as ``xnor_gemm`` but ``thresholds`` is int32 ``(N,)`` and ``out`` is uint64 ``(M, ceil(N / 64))``
    receiving, packed along j, the bit ``dot[i, j] >= thresholds[j]``; no ``(M, N)`` int array need
    ever exist.
``outer_update(h, x, e, step, lo, hi)``
    ``h``: int16 or int32 ``(n_in, n_out)``, updated in place; ``x``: uint64 ``(B, ceil(n_in / 64))``
    packed ±1; ``e``: int8 ``(B, n_out)`` with values in {-1, 0, +1}; ``step``, ``lo``, ``hi``: Python
    ints with ``lo <= h <= hi`` on entry and ``step >= 1``. For b = 0, 1, ..., B-1 in order and every
    (i, j) with ``e[b, j] != 0``: ``h[i, j] = clip(h[i, j] + step * x±[b, i] * e[b, j], lo, hi)``
    (per-sample sequential saturation, like a saturating hardware counter). Returns ``h``.
``outer_update_units(ht, x, e, step, lo, hi)``
    the same update on unit-major counters: ``ht`` is int16 or int32 ``(n_out, n_in)``, C-contiguous,
    and ``h = ht.T`` is what ``outer_update`` would update (``ops.outer_update`` passes the transposed
    view of a Fortran-ordered ``h`` here). Returns ``ht``.
``popcount_rows(a, k, out)``
    ``a``: uint64 ``(R, W)``; ``out``: int64 ``(R,)``, the number of one bits of each row.
``popcount_cols(a, k, out)``
    ``a``: uint64 ``(R, W)``; ``out``: int64 ``(k,)``, ``out[t]`` = number of rows whose bit t is 1.

Ternary operands (``sign(0) = 0``) are a packed ties-+1 sign plus the zeros, corrected sparsely:

``zero_positions(w)``
    ``w``: integer ``(K, N)``. Returns ``(zi, zj)``, new C-contiguous int64 ``(Z,)`` arrays
    (``Z >= 0`` is not known in advance, so no ``out``): the coordinates of ``w == 0`` in row-major
    order.
``subtract_zero_inputs(dot, a_zero, b)``
    ``dot``: int32 ``(M, N)``, updated in place; ``a_zero``: bool ``(M, k)``; ``b``: uint64
    ``(N, W)``. For every ``(m, t)`` with ``a_zero[m, t]`` and every j: ``dot[m, j] -= b±[j, t]``.
    Returns ``dot``.
``subtract_zero_weights(dot, a, k, a_zero, zi, zj)``
    ``dot``: int32 ``(M, N)``, updated in place; ``a``: uint64 ``(M, W)``; ``a_zero``: bool
    ``(M, k)`` or None (no zeros); ``zi``, ``zj``: int64 ``(Z,)``, ``Z >= 1``, distinct, in
    ``[0, k)`` and ``[0, N)``. For every p and every m with ``a_zero[m, zi[p]]`` false:
    ``dot[m, zj[p]] -= a±[m, zi[p]]``. Returns ``dot``.
``subtract_zero_update(h, x_zero, e, step)``
    ``h``: int16 or int32 ``(n_in, n_out)``, updated in place; ``x_zero``: bool ``(B, n_in)``;
    ``e``: int8 ``(B, n_out)`` in {-1, 0, +1}; ``step``: Python int >= 1.
    ``h -= step * x_zero^T e`` (plain sums; the caller guarantees the result fits ``h``'s dtype).
    Returns ``h``.

``value_range(a)``
    ``a``: int16 or int32, any layout. Returns ``(min, max)`` of its entries as Python ints (the
    bounds check of the counters before an update).

For ``dot`` the caller guarantees room for ``k`` unit subtractions per entry within int32.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import Any

from bnnlab._xp import is_cupy

ENV_VAR = "BNNLAB_BACKEND"
MODULES = {
    "numpy": "bnnlab.bits._numpy",
    "numba": "bnnlab.bits._numba",
    "cupy": "bnnlab.bits._cupy",
}
PROTOCOL = (
    "pack_last",
    "unpack_last",
    "xnor_gemm",
    "xnor_gemm_sign",
    "outer_update",
    "outer_update_units",
    "popcount_rows",
    "popcount_cols",
    "zero_positions",
    "subtract_zero_inputs",
    "subtract_zero_weights",
    "subtract_zero_update",
    "value_range",
)
_HOST_PREFERENCE = ("numba", "numpy")

_loaded: dict[str, ModuleType] = {}
_failed: dict[str, str] = {}


def _try_load(name: str) -> ModuleType | None:
    if name in _loaded:
        return _loaded[name]
    if name in _failed:
        return None
    try:
        module = importlib.import_module(MODULES[name])
    except ImportError as exc:  # the module or its library is missing on this machine
        _failed[name] = f"{type(exc).__name__}: {exc}"
        return None
    missing = [f for f in (*PROTOCOL, "ARRAY_MODULE") if not hasattr(module, f)]
    if missing:
        _failed[name] = f"{MODULES[name]} lacks {', '.join(missing)}"
        return None
    _loaded[name] = module
    return module


def load(name: str) -> ModuleType:
    """Return the backend module ``name``, raising ``ValueError`` if it is unknown or unavailable."""
    if name not in MODULES:
        raise ValueError(
            f"backend: expected 'auto' or one of {', '.join(map(repr, MODULES))}, got {name!r}"
        )
    module = _try_load(name)
    if module is None:
        raise ValueError(f"backend: {name!r} is not available here ({_failed[name]})")
    return module


def available_backends() -> list[str]:
    """Names of the backends that import on this machine (tries to import each one once)."""
    return [name for name in MODULES if _try_load(name) is not None]


def resolve(backend: Any, *arrays: Any) -> ModuleType:
    """Return the backend module for a call on ``arrays`` (see the module docstring for the rules)."""
    if not isinstance(backend, str):
        raise TypeError(f"backend: expected a string, got {type(backend).__name__}")
    name = backend
    if name == "auto":
        name = os.environ.get(ENV_VAR, "auto") or "auto"
        if name != "auto" and name not in MODULES:
            raise ValueError(
                f"backend: environment variable {ENV_VAR}={name!r} is not 'auto' or one of "
                f"{', '.join(map(repr, MODULES))}"
            )
    kinds = {is_cupy(a) for a in arrays if a is not None and hasattr(a, "shape")}
    if kinds == {True, False}:
        raise TypeError(
            "arrays live on different devices (numpy and cupy mixed); move them explicitly "
            "with cupy.asarray / cupy.asnumpy"
        )
    on_device = kinds == {True}
    if name == "auto":
        if on_device:
            return load("cupy")
        for candidate in _HOST_PREFERENCE:
            module = _try_load(candidate)
            if module is not None:
                return module
        return load("numpy")
    module = load(name)
    want = "cupy" if on_device else "numpy"
    if module.ARRAY_MODULE != want:
        raise TypeError(
            f"backend: {name!r} takes {module.ARRAY_MODULE} arrays but the inputs are {want} "
            f"arrays; move them explicitly (bnnlab never copies between host and device silently)"
        )
    return module
