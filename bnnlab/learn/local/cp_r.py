r"""CP+R committee baseline (Baldassi et al. 2015) as used by Colombo et al., bit-packed.

Network (REFERENCES.md §2.3): one hidden layer of ``K1`` clipped-perceptron-with-reinforcement
units with integer hidden weights ``W (D x K1)``, a fixed majority layer over consecutive groups of
``g = K1 / K2`` units (11 in the paper), and a fixed random ±1 readout ``R (K2 x C)``::

    h = x @ sign(W)      a = sign(h)      c_k = sign(sum_{j in group k} a_j)      s = c @ R

``sign`` of the hidden weights, of ``h`` and of the group sums follows ``config.sign_zero``
(:class:`~bnnlab.learn.local.config.LocalHyperparameters`): under ``"zero"`` (the default, as the
authors' dense code computes: ``cupy.sign`` of integer arrays) a zero weight is absent, a unit with
``h = 0`` votes 0 and a tied committee outputs 0; under ``"plus"`` every sign is ±1 (odd groups
never tie). The readout ``R = sign(G)`` always uses ``sign(0) = +1`` (like the local heads).

Prediction ``argmax s`` (ties to the lowest class). A sample is wrong when ``argmax s != y`` or
``top1 - top2 < floor(rob K2)``. For a wrong sample the target of committee ``k`` is
``t_k = R[k, y]``; a committee on the wrong side (``c_k t_k < 0``: an output of 0 is not wrong)
passes its target to its members and only its least-wrong member -- ``h_j t_k < 0`` with the
smallest ``|h_j|``, ties to the lowest index -- is updated::

    W[:, j] += step * t_k * x           (summed over the wrong samples of the mini-batch)
    W += step * sign(W) ⊙ Bernoulli(q)  (reinforcement, q = round(p 2^32)/2^32 as in local-binary)

with ``p = p_r sqrt(1 - acc_prev) sqrt(2 / (pi D))``; ``rob``, ``p_r``, batch size and epochs as in
the local-binary runs, ``clip`` optional. The forward ``h`` and the readout scores run on packed
words through the engine of ``sign_zero`` (:func:`bnnlab.learn.local.engine.packed_engine`: exact
sparse corrections for the zero entries) and the update is :func:`bnnlab.bits.outer_update`; the
committee sums are taken on the integer signs of ``h``. The random draws (``W`` then the readout's
integer state, one permutation per epoch, the reinforcement field) follow
:mod:`bnnlab.learn.local.rules`; :class:`bnnlab.learn.local.dense.CPRReference` runs the same
steps on dense integer products.

References
----------
C. Baldassi, A. Ingrosso, C. Lucibello, L. Saglietti, R. Zecchina, "Subdominant dense clusters allow
for simple learning and high computational performance in neural networks with discrete synapses",
Phys. Rev. Lett. 115:128101 (2015). L. Colombo, F. Pittorino, M. Roveri, Mach. Learn.: Sci.
Technol. 6(3):035015 (2025), arXiv:2412.00119 (the baseline's settings).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from bnnlab.learn.local.base import BinaryLearnerBase, _clip
from bnnlab.learn.local.config import CPRConfig
from bnnlab.learn.local.rules import (
    init_hidden,
    margin_threshold,
    predict_from_scores,
    select_units,
    wrong_mask,
)
from bnnlab.signs import signed

__all__ = ["CPRConfig", "CPRLearner"]


class CPRLearner(BinaryLearnerBase):
    """Bit-packed CP+R committee (registered as ``"cp-r"``); the algorithm in the module doc.

    Parameters
    ----------
    config : CPRConfig
        Network (``K1`` perceptrons in ``K2`` committees) and hyperparameters.
    seed : int, numpy.random.SeedSequence or numpy.random.Generator
        Explicit seed of every random draw.
    backend : {"auto", "numba", "numpy", "cupy"}
        Bit-kernel backend; ``"cupy"`` keeps the weights on the GPU.
    """

    config_class = CPRConfig

    def _fan_in(self) -> tuple[int, ...]:
        return (self.config.n_features,)

    def _init_params(self, rng: np.random.Generator) -> None:
        cfg, xp = self.config, self.xp
        self.hidden = [xp.asarray(init_hidden(rng, cfg.n_features, cfg.hidden, cfg.init_std))]
        self.readout_state = xp.asarray(
            init_hidden(rng, cfg.committees, cfg.n_classes, cfg.init_std)
        )
        self._margin = margin_threshold(cfg.rob, cfg.committees)
        self._rebuild()

    def _rebuild(self) -> None:
        self.readout = signed(self.readout_state, "plus")
        self._wrep = self.engine.weights(self.hidden[0])
        self._rrep = self.engine.head_weights(self.readout_state)

    def _array_state(self) -> dict[str, Any]:
        return {"hidden_0": self.hidden[0], "readout": self.readout_state}

    def _set_array_state(self, d: dict[str, Any]) -> None:
        self.hidden = [d["hidden_0"].copy()]
        self.readout_state = d["readout"].copy()
        self._rebuild()

    def _forward(self, x: Any) -> tuple[Any, Any, Any]:
        """``(h, committee signs c, readout scores s)`` (signs with the ``sign_zero`` rule)."""
        cfg, eng, rule = self.config, self.engine, self.config.sign_zero
        h = eng.preact(x, self._wrep, cfg.n_features)
        n = h.shape[0]
        votes = signed(h, rule).reshape(n, cfg.committees, cfg.group).sum(axis=2, dtype=np.int32)
        c = signed(votes, rule)
        s = eng.preact(eng.activate(votes), self._rrep, cfg.committees)
        return h, c, s

    def _predict_rep(self, x: Any) -> Any:
        return predict_from_scores(self._forward(x)[2])

    def _step(self, x: Any, y: Any) -> int:
        cfg, eng, xp, tm = self.config, self.engine, self.xp, self.timers
        t0 = time.perf_counter()
        h, c, s = self._forward(x)
        t0 = tm.add("forward", t0)
        wrong, pred = wrong_mask(s, y, self._margin)
        correct = int((pred == y).sum())
        if not bool(wrong.any()):
            tm.add("selection", t0)
            return correct
        tk = self.readout[:, y[wrong]].T
        bad = (c[wrong] * tk) < 0  # a committee voting 0 is not on the wrong side
        t = xp.repeat(tk, cfg.group, axis=1)
        m = select_units(h[wrong], t, cfg.group, xp.repeat(bad, cfg.group, axis=1))
        t0 = tm.add("selection", t0)
        w = self.hidden[0]
        eng.update(w, eng.rows(x, wrong), m, cfg.step)
        _clip(w, cfg.clip)
        self._wrep = eng.refresh(self._wrep, w, xp.nonzero(m.any(axis=0))[0])
        tm.add("update", t0)
        self._reinforce(w, 0)
        return correct
