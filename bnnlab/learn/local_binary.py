r"""Fully binary, gradient-free training with local binary error signals, bit-packed.

Colombo, Pittorino & Roveri (2025) train binary MLPs -- binary inputs, weights and activations --
with integer hidden weights as metaplastic memory and a fixed random ±1 classifier ("local head")
per layer, using only XNOR, popcount and increments. This module runs the algorithm on packed
``uint64`` words through :mod:`bnnlab.bits`:

- forward: ``h = x @ sign(W)`` is ``k - 2 popcount(x XOR w)`` (:func:`bnnlab.bits.xnor_gemm`) on the
  packed rows of ``x`` and the packed columns of ``sign(W)``;
- local head scores ``s = a @ B`` likewise, on the packed activations ``a = sign(h)``;
- the error update ``W += 2 x[wrong]^T M`` is :func:`bnnlab.bits.outer_update` (an increment where
  ``x_i = t_j`` and a decrement otherwise, for every selected unit);
- the reinforcement adds ``2 sign(W)`` at an exact Bernoulli field's positions.

Only the columns of ``sign(W)`` that an error update touched are re-packed (reinforcement never
changes a sign). The algorithm, the random-draw design and every tie rule are documented in
:mod:`bnnlab.learn._local_common`; :class:`bnnlab.learn._local_reference.LocalBinaryReference` is
the dense integer oracle the tests compare against, bit for bit. Arrays may be numpy or cupy (the
bit kernels dispatch on the array type); the random generator stays on the host.

Examples
--------
>>> from bnnlab.learn.local_binary import LocalBinaryLearner, LocalBinaryConfig
>>> cfg = LocalBinaryConfig(n_features=784, n_classes=10, layers=(525, 525))   # doctest: +SKIP
>>> model = LocalBinaryLearner(cfg, seed=0)                                      # doctest: +SKIP
>>> history = model.fit(x_train, y_train, epochs=50, x_test=x_test, y_test=y_test)  # doctest: +SKIP

References
----------
L. Colombo, F. Pittorino, M. Roveri, "Training Multi-Layer Binary Neural Networks With Local Binary
Error Signals", Mach. Learn.: Sci. Technol. 6(3):035015 (2025), arXiv:2412.00119.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bnnlab import bits
from bnnlab._xp import namespace
from bnnlab.learn import _zero_kernels as zk
from bnnlab.learn._local_common import (
    Engine,
    LocalBinaryBase,
    LocalBinaryConfig,
    sign0,
    sign_pm1,
)

__all__ = ["LocalBinaryConfig", "LocalBinaryLearner", "PackedEngine", "ZeroSignPackedEngine"]


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
        flat = w.reshape(-1)
        v = flat[pos]
        flat[pos] = v + (step * sign_pm1(v)).astype(w.dtype)


class ZeroSignPackedEngine(PackedEngine):
    r"""Packed arithmetic with ``sign(0) = 0`` for hidden weights and pre-activations.

    Rows are ``(bits, zero)``: the packed ``sign`` with ties +1 and a boolean mask of the zero
    entries (``None`` for data rows, which are ±1). Weights are ``(bits, zi, zj)``: the packed
    ``sign(W)^T`` with ties +1 and the coordinates of ``W == 0``. With ``a = a_1 - z_a`` and
    ``t = b_1 - z_w`` (``a_1``, ``b_1`` the ties-+1 signs, ``z`` the zero indicators)

    .. math:: a \cdot t = a_1 \cdot b_1 - \sum_{i:\, z_a(i)} b_1[i, :]
              - \sum_{(i, j):\, W_{ij} = 0} a[:, i] \,e_j

    so the dense part stays one XNOR-popcount product and the zeros (0.5-5 % of the entries in the
    paper's runs) are corrected exactly by gathering their bits (:mod:`bnnlab.learn._zero_kernels`).
    The error update likewise removes the ``step M`` that the packed outer product added for each
    zero input. Heads stay ±1.
    """

    name = "packed-zero"

    def encode(self, x: Any) -> Any:
        return (super().encode(x), None)

    def weights(self, w: Any) -> Any:
        return (super().weights(w), *zk.zero_positions(w))

    def head_weights(self, g: Any) -> Any:
        xp = namespace(g)
        empty = xp.zeros(0, dtype=xp.int64)
        return (super().weights(g), empty, empty)

    def refresh(self, rep: Any, w: Any, cols: Any) -> Any:
        if not int(cols.shape[0]):
            return rep
        return (super().refresh(rep[0], w, cols), *zk.zero_positions(w))

    def preact(self, x: Any, rep: Any, n_in: int) -> Any:
        xb, xz = x
        wb, zi, zj = rep
        h = super().preact(xb, wb, n_in)
        if xz is not None:
            zk.subtract_zero_rows(h, xz, wb)
        if int(zi.shape[0]):
            zk.subtract_zero_cols(h, xb, xz, zi, zj)
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
            zk.subtract_zero_update(w, xz, m, step)

    def reinforce(self, w: Any, pos: Any, step: int) -> None:
        flat = w.reshape(-1)
        v = flat[pos]
        flat[pos] = v + (step * sign0(v)).astype(w.dtype)


def packed_engine(config: Any, backend: str = "auto") -> PackedEngine:
    """The packed engine for ``config.sign_zero`` (configs without the option: ties +1)."""
    if getattr(config, "sign_zero", "plus") == "zero":
        return ZeroSignPackedEngine(backend)
    return PackedEngine(backend)


class LocalBinaryLearner(LocalBinaryBase):
    r"""Bit-packed local-binary learner (registered as ``"local-binary"``).

    Parameters
    ----------
    config : LocalBinaryConfig
        Network and hyperparameters (defaults: the paper's main runs).
    seed : int or numpy.random.Generator
        Explicit seed of every random draw (initialisation, shuffles, reinforcement).
    device : {"cpu", "cuda"}
        Where the weights live; ``"cuda"`` needs cupy (arrays passed in must then be cupy).
    backend : str
        Bit-kernel backend (``"auto"``, ``"numba"``, ``"numpy"``, ``"cupy"``).

    Notes
    -----
    Update rule (per layer, per mini-batch, for the wrong samples; see
    :class:`bnnlab.learn._local_common.LocalBinaryBase`):

    .. math:: W_l \leftarrow W_l + 2\, a_{l-1}[\mathrm{wrong}]^\top M_l, \qquad
              W_l \leftarrow W_l + 2\,\mathrm{sign}(W_l) \odot \mathrm{Bernoulli}(q_l)

    with :math:`q_l = \mathrm{round}(p_l 2^{32}) / 2^{32}` and
    :math:`p_l = p_r \sqrt{1 - \mathrm{acc}}\sqrt{2 / (\pi N_{l-1})}`.
    """

    def __init__(
        self, config: LocalBinaryConfig, *, seed: Any, device: str = "cpu", backend: str = "auto"
    ):
        xp = _device_namespace(device)
        super().__init__(config, seed=seed, engine=packed_engine(config, backend), xp=xp)

    def packed_weights(self) -> list[Any]:
        """Packed ``sign(W_l)^T`` (ties +1) of every layer, ``uint64 (K_l, ceil(N_{l-1} / 64))``.

        Under ``sign_zero="zero"`` the zero weights are the entries where ``hidden`` is 0.
        """
        return [(r[0] if isinstance(r, tuple) else r).copy() for r in self._wrep]

    def packed_heads(self) -> list[Any]:
        """Packed ``B_l^T`` of every layer, ``uint64 (C, ceil(K_l / 64))``."""
        return [(r[0] if isinstance(r, tuple) else r).copy() for r in self._hrep]


def _device_namespace(device: str) -> Any:
    if device == "cpu":
        return np
    if device == "cuda":
        import cupy

        return cupy
    raise ValueError(f"device: expected 'cpu' or 'cuda', got {device!r}")
