"""Dense integer oracle of the local-binary and CP+R learners.

Plain numpy on ±1 ``int8`` arrays and ``int32`` matrix products -- the way the authors' code
computes (dense integer products, no bit packing). It implements the :class:`Engine` operations of
:mod:`bnnlab.learn._local_common` in the most direct form; the bit-packed learners are tested to
produce *identical* hidden weights, heads and predictions after every mini-batch.

- forward: ``h = x @ sign(W)`` as an ``int32`` matrix product (``sign(0) = +1``);
- error update: ``W += step * x^T @ M`` as an ``int32`` matrix product;
- reinforcement: a dense 0/1 field ``R`` (ones at the drawn positions), ``W += step sign(W) ⊙ R``.

:class:`DenseEngine` uses ``sign(0) = +1`` (``sign_zero="plus"``); :class:`ZeroSignDenseEngine`
uses ``sign(0) = 0`` for hidden weights and pre-activations (``sign_zero="zero"``), exactly as a
dense integer code that calls ``sign`` computes: zero weights and zero activations are simply
zeros in the integer products.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bnnlab.learn._local_common import (
    Engine,
    LocalBinaryBase,
    LocalBinaryConfig,
    sign0,
    sign_pm1,
)


class DenseEngine(Engine):
    """Dense ``int8``/``int32`` arithmetic (numpy only; the oracle)."""

    name = "dense"

    def encode(self, x: Any) -> np.ndarray:
        return np.asarray(x, dtype=np.int8)

    def weights(self, w: Any) -> np.ndarray:
        return sign_pm1(w)

    def refresh(self, rep: np.ndarray, w: np.ndarray, cols: Any) -> np.ndarray:
        rep[:, cols] = self.weights(w[:, cols])
        return rep

    def preact(self, x: np.ndarray, rep: np.ndarray, n_in: int) -> np.ndarray:
        return x.astype(np.int32) @ rep.astype(np.int32)

    def activate(self, h: np.ndarray) -> np.ndarray:
        return sign_pm1(h)

    def update(self, w: np.ndarray, x: np.ndarray, m: np.ndarray, step: int) -> None:
        w += (step * (x.astype(np.int32).T @ m.astype(np.int32))).astype(w.dtype)

    def reinforce(self, w: np.ndarray, pos: Any, step: int) -> None:
        field = np.zeros(w.size, dtype=np.int32)
        field[pos] = 1
        w += (step * self.weights(w).astype(np.int32) * field.reshape(w.shape)).astype(w.dtype)


class ZeroSignDenseEngine(DenseEngine):
    """Dense oracle with ``sign(0) = 0`` for hidden weights and pre-activations (heads: +1)."""

    name = "dense-zero"

    def weights(self, w: Any) -> np.ndarray:
        return sign0(w)

    def head_weights(self, g: Any) -> np.ndarray:
        return sign_pm1(g)

    def activate(self, h: np.ndarray) -> np.ndarray:
        return sign0(h)


def dense_engine(config: Any) -> DenseEngine:
    """The dense engine for ``config.sign_zero`` (configs without the option: ``sign(0) = +1``)."""
    return (
        ZeroSignDenseEngine() if getattr(config, "sign_zero", "plus") == "zero" else DenseEngine()
    )


class LocalBinaryReference(LocalBinaryBase):
    """Dense integer reference of :class:`bnnlab.learn.local_binary.LocalBinaryLearner`.

    Same constructor and methods; numpy only. Use it as the oracle in tests and benchmarks.
    """

    def __init__(self, config: LocalBinaryConfig, *, seed: Any):
        super().__init__(config, seed=seed, engine=dense_engine(config), xp=np)
