r"""The arithmetic of the gradient-free learners behind one small interface, per representation.

The rules (:mod:`bnnlab.learn.local.rules`) and the loops (:mod:`bnnlab.learn.local.base`) are
written once; what differs between a bit-packed learner and a dense integer one -- how a batch of
±1 rows is held, the forward products, the outer-product update, the reinforcement -- is an
:class:`Engine`:

- :class:`PackedEngine`: ``uint64`` words through :mod:`bnnlab.bits` (``sign(0) = +1``);
- :class:`ZeroSignPackedEngine`: the same words plus exact sparse corrections for ``sign(0) = 0``;
- :class:`~bnnlab.learn.local.dense.DenseEngine` and its zero-sign twin: dense ``int8``/``int32``
  products, the way the authors' code computes.

The bit-kernel ``backend`` (:func:`bnnlab.bits.resolve`) decides where the arrays live:
``"cupy"`` puts the weights on the GPU, every other backend keeps them on the host
(:func:`array_namespace` is the one place that maps a backend to an array library).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from bnnlab import bits
from bnnlab._xp import is_cupy, namespace
from bnnlab.bits import _dispatch
from bnnlab.signs import signed

__all__ = [
    "BACKENDS",
    "Engine",
    "PackedEngine",
    "ZeroSignPackedEngine",
    "array_namespace",
    "check_device",
    "packed_engine",
]

#: Values of a learner's ``backend`` (the bit-kernel backends and ``"auto"``).
BACKENDS = ("auto", *_dispatch.MODULES)


def array_namespace(backend: str) -> Any:
    """Validate ``backend`` and return the array library its learner works in (numpy or cupy).

    ``"auto"`` follows the ``BNNLAB_BACKEND`` environment variable like the bit kernels do, and is
    the host otherwise. A named backend must be available here (the error says why it is not).
    """
    if not isinstance(backend, str):
        raise TypeError(f"backend: expected a string, got {type(backend).__name__}")
    if backend not in BACKENDS:
        raise ValueError(
            f"backend: expected one of {', '.join(map(repr, BACKENDS))}, got {backend!r}"
        )
    name = backend
    if name == "auto":
        name = os.environ.get(_dispatch.ENV_VAR, "auto") or "auto"
        if name == "auto":
            return np
    module = _dispatch.load(name)  # ValueError naming the backend and why it is missing
    if module.ARRAY_MODULE == "cupy":
        import cupy

        return cupy
    return np


def check_device(x: Any, xp: Any, name: str) -> Any:
    """Put ``x`` in the learner's array library: host data goes to a GPU learner explicitly;
    device data given to a host learner is a ``TypeError`` (never copied back silently)."""
    if xp is np and is_cupy(x):
        raise TypeError(
            f"{name}: a cupy array given to a learner on the host; use backend='cupy' or move "
            "it with cupy.asnumpy"
        )
    return xp.asarray(x)


class Engine:
    """The operations a packed learner and a dense one implement differently.

    ``X`` is the engine's representation of a batch of ±1 rows (dense ``int8`` or packed words).
    Every method is exact integer arithmetic.
    """

    name = "abstract"

    def encode(self, x: Any) -> Any:
        """±1 ``int8`` rows ``(n, d)`` → the engine's representation."""
        raise NotImplementedError

    def weights(self, w: Any) -> Any:
        """Forward representation of ``sign(W)`` for ``W (n_in, n_out)`` (the engine's tie rule)."""
        raise NotImplementedError

    def head_weights(self, g: Any) -> Any:
        """Forward representation of a local head ``sign(G)``, always with ``sign(0) = +1``."""
        return self.weights(g)

    def refresh(self, rep: Any, w: Any, cols: Any) -> Any:
        """Update ``rep`` after the columns ``cols`` of ``W`` changed; return the new rep."""
        raise NotImplementedError

    def preact(self, x: Any, rep: Any, n_in: int) -> Any:
        """``int32 (n, n_out)`` pre-activations ``x @ sign(W)``."""
        raise NotImplementedError

    def activate(self, h: Any) -> Any:
        """``sign(h)`` (the engine's tie rule) in the engine's row representation."""
        raise NotImplementedError

    def rows(self, x: Any, mask: Any) -> Any:
        """The rows of ``x`` selected by ``mask`` (a boolean mask or an index array)."""
        return x[mask]

    def update(self, w: Any, x: Any, m: Any, step: int) -> None:
        """In place ``W += step x^T M`` (``x`` rows, ``M`` int8 (n, n_out) in {-1, 0, 1})."""
        raise NotImplementedError

    def reinforce(self, w: Any, pos: Any, step: int) -> None:
        """In place ``W += step sign(W) ⊙ R`` where ``R`` is 1 at flat positions ``pos``."""
        raise NotImplementedError


class PackedEngine(Engine):
    """Bit-packed arithmetic on ``uint64`` words through :mod:`bnnlab.bits` (numpy or cupy).

    Row representations are packed along the feature axis; ``sign(W)`` of ``W (n_in, n_out)`` is
    held as its packed transpose ``(n_out, ceil(n_in / 64))``.
    """

    name = "packed"

    def __init__(self, backend: str = "auto"):
        self.backend = backend

    def encode(self, x: Any) -> Any:
        return bits.pack(x, code="pm1", backend=self.backend)

    def weights(self, w: Any) -> Any:
        xp = namespace(w)
        return bits.pack(xp.ascontiguousarray((w >= 0).T), backend=self.backend)

    def refresh(self, rep: Any, w: Any, cols: Any) -> Any:
        if int(cols.shape[0]):
            xp = namespace(w)
            rep[cols] = bits.pack(xp.ascontiguousarray((w[:, cols] >= 0).T), backend=self.backend)
        return rep

    def preact(self, x: Any, rep: Any, n_in: int) -> Any:
        return bits.xnor_gemm(x, rep, n_in, backend=self.backend)

    def activate(self, h: Any) -> Any:
        return bits.pack(h >= 0, backend=self.backend)

    def update(self, w: Any, x: Any, m: Any, step: int) -> None:
        # M is sparse (at most one unit per group and sample); bits.outer_update walks only its
        # non-zeros (CSR path) when E is that sparse. W is int32 and saturates at its dtype limits,
        # which the +-step increments of a run never reach, so this is the plain batch sum.
        bits.outer_update(w, x, m, step=step, backend=self.backend)

    def reinforce(self, w: Any, pos: Any, step: int) -> None:
        _reinforce_at(w, pos, step, "plus")


class ZeroSignPackedEngine(PackedEngine):
    r"""Packed arithmetic with ``sign(0) = 0`` for hidden weights and pre-activations.

    Rows are ``(bits, zero)``: the packed ``sign`` with ties +1 and a boolean mask of the zero
    entries (``None`` for data rows, which are ±1). Weights are ``(bits, zi, zj)``: the packed
    ``sign(W)^T`` with ties +1 and the coordinates of ``W == 0``. With ``a = a_1 - z_a`` and
    ``t = b_1 - z_w`` (``a_1``, ``b_1`` the ties-+1 signs, ``z`` the zero indicators)

    .. math:: a \cdot t = a_1 \cdot b_1 - \sum_{i:\, z_a(i)} b_1[i, :]
              - \sum_{(i, j):\, W_{ij} = 0} a[:, i] \,e_j

    so the dense part stays one XNOR-popcount product and the zeros (0.5-5 % of the entries in the
    paper's runs) are corrected exactly by :func:`bnnlab.bits.subtract_zero_inputs` and
    :func:`bnnlab.bits.subtract_zero_weights`. The error update likewise removes the ``step M`` that
    the packed outer product added for each zero input (:func:`bnnlab.bits.subtract_zero_update`).
    Every operation runs on the engine's ``backend``. Heads stay ±1.
    """

    name = "packed-zero"

    def encode(self, x: Any) -> Any:
        return (super().encode(x), None)

    def weights(self, w: Any) -> Any:
        return (super().weights(w), *bits.zero_positions(w, backend=self.backend))

    def head_weights(self, g: Any) -> Any:
        xp = namespace(g)
        empty = xp.zeros(0, dtype=xp.int64)
        return (super().weights(g), empty, empty)

    def refresh(self, rep: Any, w: Any, cols: Any) -> Any:
        if not int(cols.shape[0]):
            return rep
        return (super().refresh(rep[0], w, cols), *bits.zero_positions(w, backend=self.backend))

    def preact(self, x: Any, rep: Any, n_in: int) -> Any:
        xb, xz = x
        wb, zi, zj = rep
        h = super().preact(xb, wb, n_in)
        if xz is not None:
            bits.subtract_zero_inputs(h, xz, wb, backend=self.backend)
        if int(zi.shape[0]):
            bits.subtract_zero_weights(h, xb, n_in, zi, zj, a_zero=xz, backend=self.backend)
        return h

    def activate(self, h: Any) -> Any:
        return (super().activate(h), h == 0)

    def rows(self, x: Any, mask: Any) -> Any:
        xb, xz = x
        return (xb[mask], None if xz is None else xz[mask])

    def update(self, w: Any, x: Any, m: Any, step: int) -> None:
        xb, xz = x
        super().update(w, xb, m, step)
        if xz is not None:
            bits.subtract_zero_update(w, xz, m, step=step, backend=self.backend)

    def reinforce(self, w: Any, pos: Any, step: int) -> None:
        _reinforce_at(w, pos, step, "zero")


def _reinforce_at(w: Any, pos: Any, step: int, zero: str) -> None:
    """``W += step sign(W)`` at the flat (row-major) positions ``pos``, in place, in any memory
    layout (a reshape of a Fortran-ordered ``W`` would be a copy)."""
    if w.flags.c_contiguous:
        flat = w.reshape(-1)
        v = flat[pos]
        flat[pos] = v + (step * signed(v, zero)).astype(w.dtype)
        return
    rows, cols = pos // w.shape[1], pos % w.shape[1]
    v = w[rows, cols]
    w[rows, cols] = v + (step * signed(v, zero)).astype(w.dtype)


def packed_engine(config: Any, backend: str = "auto") -> PackedEngine:
    """The packed engine for ``config.sign_zero`` (configs without the option: ties +1)."""
    if getattr(config, "sign_zero", "plus") == "zero":
        return ZeroSignPackedEngine(backend)
    return PackedEngine(backend)
