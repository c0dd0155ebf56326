"""Dense integer implementations of the local-binary and CP+R learners (the authors' arithmetic).

Plain numpy on ±1 ``int8`` arrays and ``int32`` matrix products -- the way the authors' code
computes (dense integer products, no bit packing). :class:`DenseEngine` implements the
:class:`~bnnlab.learn.local.engine.Engine` operations in the most direct form; the learners below
run the same training steps as the bit-packed ones, so both hold identical hidden weights, heads
and predictions after every mini-batch (tested), and the benchmarks time the packed learner
against them for context. They are *not* the tests' oracle: that is an independent per-sample
implementation written from the paper (``tests/local_oracle.py``), sharing no code with this wing.

- forward: ``h = x @ sign(W)`` as an ``int32`` matrix product;
- error update: ``W += step * x^T @ M`` as an ``int32`` matrix product;
- reinforcement: a dense 0/1 field ``R`` (ones at the drawn positions), ``W += step sign(W) ⊙ R``.

:class:`DenseEngine` uses ``sign(0) = +1``; :class:`ZeroSignDenseEngine` uses ``sign(0) = 0`` for
hidden weights and pre-activations (``sign_zero="zero"``), exactly as a dense integer code that
calls ``sign`` computes: zero weights and zero activations are simply zeros in the products.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bnnlab.learn.local.cp_r import CPRLearner
from bnnlab.learn.local.engine import Engine
from bnnlab.learn.local.local_binary import LocalBinaryLearner
from bnnlab.signs import signed

__all__ = [
    "CPRReference",
    "DenseEngine",
    "LocalBinaryReference",
    "ZeroSignDenseEngine",
    "dense_engine",
]


class DenseEngine(Engine):
    """Dense ``int8``/``int32`` arithmetic with ``sign(0) = +1`` (numpy only)."""

    name = "dense"
    zero = "plus"

    def encode(self, x: Any) -> np.ndarray:
        return np.asarray(x, dtype=np.int8)

    def weights(self, w: Any) -> np.ndarray:
        return signed(w, self.zero)

    def head_weights(self, g: Any) -> np.ndarray:
        return signed(g, "plus")

    def refresh(self, rep: np.ndarray, w: np.ndarray, cols: Any) -> np.ndarray:
        rep[:, cols] = self.weights(w[:, cols])
        return rep

    def preact(self, x: np.ndarray, rep: np.ndarray, n_in: int) -> np.ndarray:
        return x.astype(np.int32) @ rep.astype(np.int32)

    def activate(self, h: np.ndarray) -> np.ndarray:
        return signed(h, self.zero)

    def update(self, w: np.ndarray, x: np.ndarray, m: np.ndarray, step: int) -> None:
        w += (step * (x.astype(np.int32).T @ m.astype(np.int32))).astype(w.dtype)

    def reinforce(self, w: np.ndarray, pos: Any, step: int) -> None:
        field = np.zeros(w.size, dtype=np.int32)
        field[pos] = 1
        w += (step * self.weights(w).astype(np.int32) * field.reshape(w.shape)).astype(w.dtype)


class ZeroSignDenseEngine(DenseEngine):
    """Dense arithmetic with ``sign(0) = 0`` for hidden weights and pre-activations (heads: +1)."""

    name = "dense-zero"
    zero = "zero"


def dense_engine(config: Any) -> DenseEngine:
    """The dense engine for ``config.sign_zero`` (configs without the option: ``sign(0) = +1``)."""
    return (
        ZeroSignDenseEngine() if getattr(config, "sign_zero", "plus") == "zero" else DenseEngine()
    )


def _host_only(backend: str, name: str) -> None:
    if backend not in ("auto", "numpy", "numba"):
        raise ValueError(f"backend: {name} runs dense numpy products on the host, got {backend!r}")


class LocalBinaryReference(LocalBinaryLearner):
    """:class:`~bnnlab.learn.local.local_binary.LocalBinaryLearner` on dense integer products.

    Same constructor and methods (host only); registered as ``"local-binary-dense"``.
    """

    def _make_engine(self, config: Any, backend: str) -> DenseEngine:
        _host_only(backend, type(self).__name__)
        return dense_engine(config)

    def packed_weights(self) -> list[Any]:  # pragma: no cover - trivial
        raise TypeError("packed_weights: a dense learner has no packed words")

    packed_heads = packed_weights


class CPRReference(CPRLearner):
    """:class:`~bnnlab.learn.local.cp_r.CPRLearner` on dense integer products (host only);
    registered as ``"cp-r-dense"``."""

    def _make_engine(self, config: Any, backend: str) -> DenseEngine:
        _host_only(backend, type(self).__name__)
        return dense_engine(config)
