"""The training loop and state handling shared by every gradient-free learner.

:class:`BinaryLearnerBase` owns what is not the algorithm: the configuration and seed, the engine
chosen from the bit-kernel ``backend`` (:mod:`bnnlab.learn.local.engine`), epochs of shuffled
mini-batches, the per-epoch metrics rows (:mod:`bnnlab.learn.metrics`), progress, and the state
that a checkpoint stores (integer arrays, counters and the random generator's state, so a resumed
run is identical to an uninterrupted one). Subclasses (the local-binary and CP+R learners) write
one training step.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from bnnlab._rng import jsonable_rng_state
from bnnlab._validation import check_int, make_rng
from bnnlab._xp import namespace, to_numpy
from bnnlab.learn.local.engine import Engine, array_namespace, check_device, packed_engine
from bnnlab.learn.local.rules import draw_reinforcement, reinforcement_threshold, validate_xy
from bnnlab.learn.metrics import percent

__all__ = ["BinaryLearnerBase", "Timers"]


def _clip(w: Any, clip: int | None) -> None:
    if clip is not None:
        xp = namespace(w)
        xp.clip(w, -clip, clip, out=w)


class Timers(dict):
    """Accumulated seconds per phase (forward, selection, update, reinforcement)."""

    def add(self, key: str, t0: float) -> float:
        t1 = time.perf_counter()
        self[key] = self.get(key, 0.0) + (t1 - t0)
        return t1

    def split(self, t0: float, ticks: dict[str, int]) -> float:
        """Add the time since ``t0`` to the phases ``ticks`` names, in proportion to their counts
        (a compiled kernel's cycle-counter ticks per phase); all to the first where none
        counted. Returns the current time."""
        t1 = time.perf_counter()
        total = sum(ticks.values())
        for q, (key, n) in enumerate(ticks.items()):
            share = n / total if total > 0 else float(q == 0)
            self[key] = self.get(key, 0.0) + (t1 - t0) * share
        return t1


class BinaryLearnerBase:
    """Training loop shared by the gradient-free learners (subclasses define the network).

    Parameters
    ----------
    config : the learner's ``config_class``
        Network and hyperparameters.
    seed : int, numpy.random.SeedSequence or numpy.random.Generator
        Explicit seed of every random draw (initialisation, shuffles, reinforcement).
    backend : {"auto", "numba", "numpy", "cupy"}
        Bit-kernel backend; ``"cupy"`` keeps the weights on the GPU (inputs given as numpy arrays
        are moved there explicitly), every other backend on the host.

    Subclasses implement ``_init_params(rng)``, ``_step(X, y)`` (returning the number of correct
    predictions of the mini-batch before its update), ``_predict_rep(X)``, ``_array_state()`` and
    ``_set_array_state(d)``; ``_make_engine`` picks the arithmetic (packed by default).
    """

    config: Any
    engine: Engine
    config_class: type

    def __init__(self, config: Any, *, seed: Any, backend: str = "auto"):
        if not isinstance(config, self.config_class):
            raise TypeError(
                f"config: expected {self.config_class.__name__}, got {type(config).__name__}"
            )
        self.config = config
        self.xp = array_namespace(backend)
        self.backend = backend
        self.engine = self._make_engine(config, backend)
        self.rng = make_rng(seed)
        self.epoch = 0
        self.prev_correct = 0
        self.prev_total = 0
        self.timers = Timers()
        self._init_params(self.rng)

    def _make_engine(self, config: Any, backend: str) -> Engine:
        return packed_engine(config, backend)

    # -- public API -------------------------------------------------------------------------
    def fit(
        self,
        x: Any,
        y: Any,
        *,
        epochs: int = 50,
        x_test: Any = None,
        y_test: Any = None,
        callback: Callable[[dict[str, Any]], None] | None = None,
        progress: bool = False,
    ) -> list[dict[str, Any]]:
        """Train for ``epochs`` more epochs; return one record per epoch.

        Each record holds the keys of :mod:`bnnlab.learn.metrics`: ``epoch`` (1-based, counted
        over the learner's life), ``train_accuracy`` (% of the last head during the epoch, before
        each mini-batch's update), ``test_accuracy`` (%, if a test set is given) and ``seconds``
        (the epoch's training time); ``callback(record)`` is called after every epoch.
        """
        epochs = check_int(epochs, "epochs", minimum=0)
        if (x_test is None) != (y_test is None):
            raise ValueError("x_test, y_test: give both (a test set) or neither")
        xe, ye = self._encode_xy(x, y)
        te = self._encode_xy(x_test, y_test, xname="x_test") if x_test is not None else None
        history = []
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=epochs, unit="epoch", desc=type(self).__name__)
        for _ in range(epochs):
            t0 = time.perf_counter()
            train_acc = self._train_epoch(xe, ye)
            rec: dict[str, Any] = {"epoch": self.epoch, "train_accuracy": train_acc}
            if te is not None:
                rec["test_accuracy"] = self._accuracy_rep(*te)
            rec["seconds"] = time.perf_counter() - t0
            history.append(rec)
            if bar is not None:
                bar.update(1)
                bar.set_postfix({k: f"{v:.2f}" for k, v in rec.items() if "accuracy" in k})
            if callback is not None:
                callback(rec)
        if bar is not None:
            bar.close()
        return history

    def train_batch(self, x: Any, y: Any) -> int:
        """One mini-batch step on ±1 rows ``x``; returns the correct count before the update."""
        xe, ye = self._encode_xy(x, y)
        return int(self._step(xe, ye))

    def predict(self, x: Any) -> Any:
        """Class predictions (argmax of the last head, ties to the lowest index), ``int64``."""
        xe, _ = self._encode_xy(x, None)
        return self._predict_rep(xe)

    def score(self, x: Any, y: Any) -> float:
        """Accuracy in percent."""
        return self._accuracy_rep(*self._encode_xy(x, y))

    # -- state --------------------------------------------------------------------------------
    def state_dict(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """``(arrays, meta)``: host copies of the model's arrays and JSON metadata (RNG state,
        counters); later training does not change them."""
        arrays = {k: np.array(to_numpy(v), copy=True) for k, v in self._array_state().items()}
        meta = {
            "learner": type(self).__name__,
            "config": self.config.to_dict(),
            "epoch": self.epoch,
            "prev_correct": self.prev_correct,
            "prev_total": self.prev_total,
            "rng": jsonable_rng_state(self.rng.bit_generator.state),
        }
        return arrays, meta

    def load_state_dict(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (shapes are checked)."""
        expected = self._array_state()
        missing = sorted(set(expected) - set(arrays))
        if missing:
            raise ValueError(f"checkpoint: missing arrays {missing}")
        for k, ref in expected.items():
            a = arrays[k]
            if tuple(a.shape) != tuple(ref.shape) or np.dtype(a.dtype) != np.dtype(ref.dtype):
                raise ValueError(
                    f"checkpoint: array {k!r} has shape {tuple(a.shape)} dtype {a.dtype}, "
                    f"expected {tuple(ref.shape)} {np.dtype(ref.dtype)}"
                )
        self._set_array_state({k: self.xp.asarray(arrays[k]) for k in expected})
        self.epoch = check_int(meta["epoch"], "epoch", minimum=0)
        self.prev_correct = check_int(meta["prev_correct"], "prev_correct", minimum=0)
        self.prev_total = check_int(meta["prev_total"], "prev_total", minimum=0)
        bg = type(self.rng.bit_generator)
        state = meta["rng"]
        if state.get("bit_generator") != bg.__name__:
            raise ValueError(f"checkpoint: rng state is for {state.get('bit_generator')}")
        self.rng.bit_generator.state = state

    # -- internals ----------------------------------------------------------------------------
    def _encode_xy(self, x: Any, y: Any, xname: str = "x") -> tuple[Any, Any]:
        x8, y64 = validate_xy(x, y, self.config.n_features, self.config.n_classes, xname=xname)
        return self.engine.encode(check_device(x8, self.xp, xname)), (
            None if y64 is None else check_device(y64, self.xp, "y")
        )

    def _accuracy_rep(self, xe: Any, ye: Any) -> float:
        pred = self._predict_rep(xe)
        return percent(int((pred == ye).sum()), int(ye.shape[0]))

    def _thresholds(self) -> list[int]:
        return [
            reinforcement_threshold(self.config.p_r, self.prev_correct, self.prev_total, n)
            for n in self._fan_in()
        ]

    def _train_epoch(self, xe: Any, ye: Any) -> float:
        n = int(ye.shape[0])
        bs = self.config.batch_size
        perm = self.xp.asarray(self.rng.permutation(n))
        correct = 0
        for start in range(0, n, bs):
            idx = perm[start : start + bs]
            correct += int(self._step(self.engine.rows(xe, idx), ye[idx]))
        self.epoch += 1
        self.prev_correct, self.prev_total = correct, n
        return percent(correct, n)

    #: whether :meth:`_apply_reinforcement` wants the drawn positions sorted
    _sorted_hits = True

    def _apply_reinforcement(self, w: Any, pos: Any) -> None:
        """``W += step sign(W)`` at the drawn flat (row-major) positions ``pos`` (host int64)."""
        self.engine.reinforce(w, self.xp.asarray(pos), self.config.step)

    def _draw_reinforcement(self, w: Any, threshold: int) -> None:
        """Draw the reinforcement field of ``w`` (:func:`~.rules.draw_reinforcement`) and apply
        it (:meth:`_apply_reinforcement`)."""
        pos = draw_reinforcement(self.rng, int(w.size), threshold, sort=self._sorted_hits)
        self._apply_reinforcement(w, pos)

    def _thresholds_now(self) -> list[int]:
        """:meth:`_thresholds` of the current epoch (computed once: ``acc_prev`` is fixed
        within it)."""
        key = (self.prev_correct, self.prev_total)
        if getattr(self, "_thr_key", None) != key:
            self._thr_key, self._thr = key, self._thresholds()
        return self._thr

    def _reinforce(self, w: Any, layer: int) -> None:
        t0 = time.perf_counter()
        self._draw_reinforcement(w, self._thresholds_now()[layer])
        self._clip_reinforced(w, layer)
        self.timers.add("reinforcement", t0)

    def _clip_reinforced(self, w: Any, layer: int) -> None:
        """The clip after layer ``layer``'s reinforcement: all of ``W``."""
        _clip(w, self.config.clip)
