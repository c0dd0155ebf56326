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
changes a sign). The random-draw design and every tie rule are documented in
:mod:`bnnlab.learn.local.rules`; :class:`bnnlab.learn.local.dense.LocalBinaryReference` runs the
same steps on dense integer products (the authors' arithmetic), and the tests compare both, bit for
bit, with an independent per-sample implementation written from the paper. The ``backend`` decides
where the arrays live (``"cupy"``: on the GPU); the random generator stays on the host.

Examples
--------
>>> from bnnlab.learn import LocalBinaryConfig, LocalBinaryLearner
>>> cfg = LocalBinaryConfig(n_features=784, n_classes=10, layers=(525, 525))   # doctest: +SKIP
>>> model = LocalBinaryLearner(cfg, seed=0)                                      # doctest: +SKIP
>>> history = model.fit(x_train, y_train, epochs=50, x_test=x_test, y_test=y_test)  # doctest: +SKIP

References
----------
L. Colombo, F. Pittorino, M. Roveri, "Training Multi-Layer Binary Neural Networks With Local Binary
Error Signals", Mach. Learn.: Sci. Technol. 6(3):035015 (2025), arXiv:2412.00119.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from bnnlab import bits
from bnnlab._validation import check_int
from bnnlab.bits import _dispatch
from bnnlab.learn.local.base import BinaryLearnerBase, _clip
from bnnlab.learn.local.config import LocalBinaryConfig
from bnnlab.learn.local.engine import PackedEngine, ZeroSignPackedEngine
from bnnlab.learn.local.rules import (
    choice_without_replacement,
    compiled_draws,
    head_error,
    init_hidden,
    margin_threshold,
    predict_from_scores,
    select_units,
    wrong_mask,
)
from bnnlab.learn.metrics import percent
from bnnlab.signs import signed

__all__ = ["LocalBinaryConfig", "LocalBinaryLearner", "fused_available"]

_NO_WORDS = np.zeros((0, 0), dtype=np.uint64)
_NO_OFFSETS = np.zeros((0, 0), dtype=np.uint16)  # no table offsets: the forward without tables
_NO_SIGNS = np.zeros((0, 0), dtype=np.int8)  # no row-major sign(W) kept (_fused.forward_tables)
_NO_CLIP = (-(2**31), 2**31 - 1)  # the int32 range: clipping to it changes nothing
_PHASES = ("forward", "selection", "update", "reinforcement")  # train_layer's ticks
_CHUNK = 64  # mini-batches per compiled call of a whole-epoch run (Python, and so Ctrl-C, between)


def fused_available(engine: Any) -> bool:
    """Whether the learner's step can run the compiled kernels of :mod:`._fused`.

    True for the packed engines (either sign rule) whose bit-kernel backend resolves to numba on
    the host; numpy and cupy keep the generic step.
    """
    if type(engine) not in (PackedEngine, ZeroSignPackedEngine):
        return False
    try:
        module = _dispatch.resolve(engine.backend)
    except (TypeError, ValueError):
        return False
    if module is not _dispatch._try_load("numba"):
        return False
    return True


class LocalBinaryLearner(BinaryLearnerBase):
    r"""The local-binary learner (REFERENCES.md §2.2), bit-packed; registered as ``"local-binary"``.

    Parameters
    ----------
    config : LocalBinaryConfig
        Network and hyperparameters (defaults: the paper's main runs).
    seed : int, numpy.random.SeedSequence or numpy.random.Generator
        Explicit seed of every random draw (initialisation, shuffles, reinforcement).
    backend : {"auto", "numba", "numpy", "cupy"}
        Bit-kernel backend; ``"cupy"`` keeps the weights on the GPU.
    threads : int, default 1
        Threads of the compiled numba step (the forward kernel splits the batch's rows, the
        update the touched units; results do not depend on it). Above 1 it only pays on idle
        cores: numba's OpenMP threads spin at every kernel's barrier, and on a loaded machine a
        descheduled thread stalls every mini-batch (measured: 0.7 s became 47 s per epoch with
        one other process on a 2-core machine). Keep 1 inside parallel workers.

    Notes
    -----

    Forward, layer ``l`` with input ``a_{l-1}`` (``a_0 = x``)::

        h_l = a_{l-1} @ sign(W_l)        a_l = sign(h_l)        s_l = a_l @ B_l

    Sample mask: ``wrong = argmax s_l != y  or  top1(s_l) - top2(s_l) < floor(rob K_l)``. For the
    wrong samples, with per-unit targets ``T = B_l[:, y]^T`` and ``M`` the least-action selection
    (:func:`~bnnlab.learn.local.rules.select_units`, group size γ_l)::

        W_l += step * a_{l-1}[wrong]^T @ M                    (summed over the batch)
        W_l += step * sign(W_l) ⊙ Bernoulli(q_l)              (metaplastic reinforcement)

    with ``q_l = round(p_l 2^32) / 2^32``, ``p_l = p_r sqrt(1 - acc_prev) sqrt(2 / (pi N_{l-1}))``.
    All layers learn in the same pass; layer ``l+1`` sees the pre-update ``a_l``. Prediction is
    ``argmax s_L``. With ``train_head`` the last head's integer state ``G_L`` (``B_L = sign G_L``)
    also learns on the wrong samples: ``G_L[:, y] += step a_L``, ``G_L[:, c*] -= step a_L`` with
    ``c* = argmax_{c != y} s_L`` (a multiclass perceptron on the pre-update activations).

    ``hidden[l]`` holds ``W_l``: int32, except under the compiled step (numba), which holds
    every layer as int16 in Fortran order while a bound of ``max |W|`` leaves room for the next
    step in int16, and widens all layers to int32 (the same values) before one could leave it
    (:func:`._fused.headroom`). ``state_dict`` and checkpoints always carry int32.
    """

    config_class = LocalBinaryConfig
    # the compiled step holds W as int16 while it has room in it (_hold_unit_major); the
    # device-backed learner writes values read back from its devices and keeps int32
    _narrow_hidden = True

    def __init__(self, config: Any, *, seed: Any, backend: str = "auto", threads: int = 1):
        self.threads = check_int(threads, "threads", minimum=1)
        super().__init__(config, seed=seed, backend=backend)

    def _fan_in(self) -> tuple[int, ...]:
        return self.config.fan_in

    def _init_params(self, rng: np.random.Generator) -> None:
        cfg, xp = self.config, self.xp
        self._fused = fused_available(self.engine)
        self._sorted_hits = not self._fused  # the compiled reinforcement needs no order
        self._zero = isinstance(self.engine, ZeroSignPackedEngine)
        self.hidden, self.head_state = [], []
        for n_in, k in zip(cfg.fan_in, cfg.layers, strict=True):
            self.hidden.append(xp.asarray(init_hidden(rng, n_in, k, cfg.init_std)))
            self.head_state.append(xp.asarray(init_hidden(rng, k, cfg.n_classes, cfg.init_std)))
        self._margins = [margin_threshold(cfg.rob, k) for k in cfg.layers]
        self._hold_unit_major()
        self._rebuild()

    def _hold_unit_major(self) -> None:
        """The compiled step keeps ``W`` in Fortran order (unit-major): a unit's column is one
        contiguous row of ``W^T``, which its update walks; and as int16 where every layer's
        ``max |W|`` leaves room for a step in it (:func:`._fused.headroom`), else as int32
        (values and shapes are unchanged). int16 halves the bytes the update streams and
        doubles its lanes; :meth:`_make_room` widens all layers to int32 when one runs out of
        room (one type for all: the compiled epoch indexes them as one tuple)."""
        if not self._fused:
            return
        from bnnlab.learn.local import _fused

        cfg = self.config
        narrow = self._narrow_hidden and all(
            _fused.room(_fused.max_abs(w), cfg.step, cfg.batch_size, _fused.INT16_MAX)
            for w in self.hidden
        )
        dtype = np.int16 if narrow else np.int32
        self.hidden = [np.asfortranarray(w, dtype=dtype) for w in self.hidden]

    def _make_room(self, layer: int, rows: int) -> None:
        """Make room in layer ``layer``'s hidden weights for a step of ``rows`` samples
        (:func:`._fused.headroom`, which tightens the bound ``_wbound`` when it is short): if
        int16 has none, every layer is widened to int32 (the same values); ``OverflowError``
        where int32 has none either."""
        from bnnlab.learn.local import _fused

        step, bound = self.config.step, self._wbound[layer : layer + 1]
        if _fused.headroom(self.hidden[layer].T, bound, step, rows):
            return
        if self.hidden[layer].dtype == np.int16:
            self.hidden = [np.asfortranarray(w, dtype=np.int32) for w in self.hidden]
            if _fused.headroom(self.hidden[layer].T, bound, step, rows):
                return
        raise OverflowError(
            f"layer {layer}: the hidden weights (max |W| = {int(bound[0])}) could leave the "
            "int32 range in the next step"
        )

    def _rebuild(self) -> None:
        eng = self.engine
        self.heads = [signed(g, "plus") for g in self.head_state]
        self._wrep = [eng.weights(w) for w in self.hidden]
        self._hrep = [eng.head_weights(g) for g in self.head_state]
        if self._fused:
            self._fused_rebuild()

    def _array_state(self) -> dict[str, Any]:
        # int32 whatever the compiled step holds (checkpoints and the dense learners use int32)
        d = {f"hidden_{i}": w.astype(np.int32, copy=False) for i, w in enumerate(self.hidden)}
        d.update({f"head_{i}": g for i, g in enumerate(self.head_state)})
        return d

    def _set_array_state(self, d: dict[str, Any]) -> None:
        n = len(self.config.layers)
        self.hidden = [d[f"hidden_{i}"].copy() for i in range(n)]
        self.head_state = [d[f"head_{i}"].copy() for i in range(n)]
        self._hold_unit_major()
        self._rebuild()

    def _forward(self, x: Any) -> list[tuple[Any, Any, Any]]:
        """``[(h_l, a_l, s_l)]`` for every layer (engine representations)."""
        eng, out, inp = self.engine, [], x
        for n_in, k, wrep, hrep in zip(
            self.config.fan_in, self.config.layers, self._wrep, self._hrep, strict=True
        ):
            h = eng.preact(inp, wrep, n_in)
            a = eng.activate(h)
            out.append((h, a, eng.preact(a, hrep, k)))
            inp = a
        return out

    def _predict_rep(self, x: Any) -> Any:
        if self._fused:
            return predict_from_scores(self._forward_fused(x)[-1][3])
        return predict_from_scores(self._forward(x)[-1][2])

    def _step(self, x: Any, y: Any) -> int:
        if self._fused:
            return self._step_fused(x, y)
        cfg, eng, xp, tm = self.config, self.engine, self.xp, self.timers
        last = len(cfg.layers) - 1
        inp, correct = x, 0
        for l, (n_in, k) in enumerate(zip(cfg.fan_in, cfg.layers, strict=True)):
            t0 = time.perf_counter()
            h = eng.preact(inp, self._wrep[l], n_in)
            a = eng.activate(h)
            s = eng.preact(a, self._hrep[l], k)
            t0 = tm.add("forward", t0)
            wrong, pred = wrong_mask(s, y, self._margins[l])
            if l == last:
                correct = int((pred == y).sum())
            if bool(wrong.any()):
                yw = y[wrong]
                t = self.heads[l][:, yw].T
                m = select_units(h[wrong], t, cfg.groups[l])
                t0 = tm.add("selection", t0)
                w = self.hidden[l]
                eng.update(w, eng.rows(inp, wrong), m, cfg.step)
                _clip(w, cfg.clip)
                cols = xp.nonzero(m.any(axis=0))[0]
                self._wrep[l] = eng.refresh(self._wrep[l], w, cols)
                tm.add("update", t0)
                self._reinforce(w, l)
                self._after_update(l)
                if cfg.train_head and l == last:
                    t0 = time.perf_counter()
                    g = self.head_state[l]
                    eng.update(g, eng.rows(a, wrong), head_error(s[wrong], yw), cfg.step)
                    _clip(g, cfg.clip)
                    self.heads[l] = signed(g, "plus")
                    self._hrep[l] = eng.head_weights(g)
                    tm.add("update", t0)
            else:
                tm.add("selection", t0)
            inp = a
        return correct

    def _after_update(self, layer: int) -> None:
        """Hook after layer ``layer``'s hidden states changed in a step (nothing here; the
        device-backed learner, :mod:`bnnlab.learn.local.devices`, moves them onto its devices)."""

    def _fused_rebuild(self) -> None:
        """Packed state of the compiled step, unit-major (word ``t`` of unit ``j`` at ``[t, j]``):
        ``sign(W)`` bits in ``_wrep``, ``W != 0`` bits in ``_wlive`` (``sign_zero="zero"``), and
        ``B^T`` bits of the heads in ``_hbits``."""
        self._wrep = [
            np.ascontiguousarray((r[0] if isinstance(r, tuple) else r).T) for r in self._wrep
        ]
        self._hbits = [r[0] if isinstance(r, tuple) else r for r in self._hrep]
        self._wlive = [self._live_bits(w) for w in self.hidden]
        self._woff = [self._offsets(l) for l in range(len(self.hidden))]
        self._wsign = [self._signs(l) for l in range(len(self.hidden))]
        self._wbound = np.array([self._max_abs(l) for l in range(len(self.hidden))], np.int64)
        # whether every entry of W_l is known to be within the clip bounds: the dense step
        # clips all of W after each update; once W has been clipped in full (the first clip
        # since it was set), only the touched units can have left them, and train_layer clips
        # only those -- the same integers without a pass over the whole array
        self._in_range = [False] * len(self.hidden)

    def _max_abs(self, layer: int) -> int:
        """``max |W|`` of layer ``layer`` (the exact start of its bound, :meth:`_make_room`)."""
        from bnnlab.learn.local import _fused

        return int(_fused.max_abs(self.hidden[layer].T))

    def _tables(self, layer: int) -> Any:
        """The tables of layer ``layer``'s table-lookup forward: the ±1-input nibble tables for
        every layer; the deeper layers' ternary inputs have their few zeros corrected by the
        row-major ``sign(W)`` (:meth:`_signs`, :func:`._fused.forward_tables`)."""
        from bnnlab.bits import _tmac

        return _tmac.TABLES_MASKED

    def _signs(self, layer: int) -> Any:
        """Layer ``layer``'s ``sign(W)`` as int8 (N, K), row-major, for the table forward of
        ternary inputs (deeper layers under ``sign_zero="zero"``; the update keeps it in step),
        else an empty array."""
        if layer == 0 or self._woff[layer] is None:
            return _NO_SIGNS
        return np.ascontiguousarray(np.sign(self.hidden[layer]).astype(np.int8))

    def _offsets(self, layer: int, units: Any = None) -> Any:
        """Layer ``layer``'s table offsets for the table-lookup forward
        (:func:`bnnlab.bits._tmac.unit_offsets`), all units or ``units`` rewritten in place.

        ``None`` (the forward then runs the nibble-lookup tiles, or ``ctpop``) where the target
        has no AVX2 or has VPOPCNTDQ, and under ``sign_zero="plus"``: with ±1 weights and inputs
        the nibble-lookup tile needs no masks and was faster (100 x 784 x 525: 184 against
        243 us), with ternary weights the tables are (232 -> 176 us; both ternary 560 -> 389 us).
        """
        from bnnlab.bits import _lut, _tmac

        if not (self._zero and _lut.use_lut()):
            return None
        wb, wl = self._wrep[layer], self._wlive[layer]
        if units is None:
            k = wb.shape[1]  # the nibbles that hold inputs, not the last word's padding
            steps = _tmac.nibble_steps(self.config.fan_in[layer])
            off = np.empty((k + k % 2, steps), dtype=np.uint16)
            units = np.arange(k)
        else:
            off = self._woff[layer]
        has_wl = wl is not None
        _tmac.unit_offsets(wb, wl if has_wl else _NO_WORDS, has_wl, off, units)
        return off

    def _live_bits(self, w: Any) -> Any:
        """Unit-major ``W != 0`` bits of the fused step (``None`` under ``sign(0) = +1``)."""
        if not self._zero:
            return None
        return np.ascontiguousarray(
            bits.pack(np.ascontiguousarray(w.T != 0), backend=self.backend).T
        )

    def refresh_layer(self, layer: int) -> None:
        """Rebuild layer ``layer``'s forward representation after its ``hidden`` state was
        changed from outside the step (e.g. read back from devices). Under the compiled step
        the held type and order come first (an array set from outside may be any integer
        array: every layer is held as int16 where all have room, else as int32)."""
        layer = check_int(layer, "layer", minimum=0, maximum=len(self.hidden) - 1)
        if self._fused:
            held = [w.dtype for w in self.hidden]
            self._hold_unit_major()
            if [w.dtype for w in self.hidden] != held:  # retyped: every layer's bound again
                self._wbound[:] = [self._max_abs(l) for l in range(len(self.hidden))]
        rep = self.engine.weights(self.hidden[layer])
        if self._fused:
            self._wrep[layer] = np.ascontiguousarray((rep[0] if isinstance(rep, tuple) else rep).T)
            self._wlive[layer] = self._live_bits(self.hidden[layer])
            self._woff[layer] = self._offsets(layer)
            self._wsign[layer] = self._signs(layer)
            self._wbound[layer] = self._max_abs(layer)
            self._in_range[layer] = False
        else:
            self._wrep[layer] = rep

    def _forward_fused(self, x: Any) -> list[tuple[Any, Any, Any, Any]]:
        """``[(h_l, a_l bits, a_l live mask, s_l)]`` from :func:`._fused.forward_tables` or
        :func:`._fused.forward_layer`."""
        xb = x[0] if isinstance(x, tuple) else x
        xl, out = _NO_WORDS, []
        for l in range(len(self.config.layers)):
            out.append(self._layer_fused(l, xb, xl))
            xb, xl = out[-1][1], out[-1][2]
        return out

    def _layer_fused(self, l: int, xb: Any, xl: Any) -> tuple[Any, Any, Any, Any]:
        """Layer ``l``'s ``(h, a bits, a live mask, s)`` on packed input bits / live mask."""
        from bnnlab.bits import _lut  # numba is imported only when the path is taken
        from bnnlab.learn.local import _fused

        wl = self._wlive[l]
        args = (
            xb, xl, l > 0 and self._zero, self._wrep[l], _NO_WORDS if wl is None else wl,
            wl is not None, self.config.fan_in[l], self._hbits[l], self._zero, self.threads,
        )  # fmt: skip
        if self._woff[l] is not None:
            return _fused.forward_tables(*args, self._woff[l], self._tables(l), self._wsign[l])
        return _fused.forward_layer(*args, _lut.forward_kernel())

    def _train_epoch(self, xe: Any, ye: Any) -> float:
        """An epoch in compiled calls of up to ``_CHUNK`` mini-batches (:func:`._epoch.
        train_epoch`; Python runs between them, so an interrupt waits for at most one) where
        nothing in Python has to run between two mini-batches (:meth:`_whole_epochs`), else
        batch by batch; the same draws in the same order either way."""
        if not self._whole_epochs():
            return super()._train_epoch(xe, ye)

        from bnnlab.bits import _lut  # numba is imported only when the path is taken
        from bnnlab.learn.local import _epoch

        cfg, tm = self.config, self.timers
        n, bs = int(ye.shape[0]), cfg.batch_size
        x = xe[0] if isinstance(xe, tuple) else xe
        perm = self.rng.permutation(n)  # the epoch's first draw, as in the generic loop
        lo, hi = self._clip_bounds()
        in_range = np.array(self._in_range, dtype=np.bool_)
        layers = self._epoch_layers(in_range)
        at, correct = 0, 0
        while at < n:
            t0 = time.perf_counter()
            with self.rng.bit_generator.lock:
                at, ok, stop, left, ab, al, ticks = _epoch.train_epoch(
                    x, ye, perm, at, min(n, at + _CHUNK * bs), bs, self._zero, self.threads, _lut.forward_kernel(), cfg.step,
                    cfg.clip is not None, lo, hi, self._compiled_draws(0), *layers,
                )  # fmt: skip
            tm.split(t0, dict(zip(_PHASES, ticks.tolist(), strict=True)))
            correct += int(ok)
            self._in_range = in_range.tolist()
            if stop < 0:
                continue
            yb = ye[perm[at : at + bs]]
            if left == -2:  # W_stop has no room for the step in int16: the batch goes on layer
                correct += self._layers_fused(stop, ab, al, yb)  # by layer, which widens it
                layers = self._epoch_layers(in_range)  # the new arrays
            else:  # numpy's choice shuffles a tail: it places the hits, then the batch goes on
                t0 = time.perf_counter()  # layer by layer
                w = self.hidden[stop]
                self._apply_reinforcement(w, choice_without_replacement(self.rng, w.size, left))
                tm.add("reinforcement", t0)
                correct += self._layers_fused(stop + 1, ab, al, yb)
            in_range[:] = self._in_range
            at += bs
        self.epoch += 1
        self.prev_correct, self.prev_total = correct, n
        return percent(correct, n)

    def _epoch_layers(self, in_range: Any) -> tuple[Any, ...]:
        """The per-layer arguments of :func:`._epoch.train_epoch` (``in_range`` and the bounds
        ``_wbound`` are updated in place by it)."""
        n_layers, cfg = len(self.config.layers), self.config
        offs = [_NO_OFFSETS if o is None else o for o in self._woff]
        rest = offs[1] if n_layers > 1 else _NO_OFFSETS  # offs[0] stands for the first layer
        wls = [_NO_WORDS if wl is None else wl for wl in self._wlive]
        return (  # tuples (typed lists would cost ~1 s per process to set up in numba)
            tuple(w.T for w in self.hidden), tuple(self._wrep), tuple(wls),
            self._wlive[0] is not None, tuple(self._hbits), tuple(self.heads), offs[0],
            (rest[:0, :0], *offs[1:]), self._tables(0), self._tables(n_layers - 1),
            np.array(cfg.fan_in, dtype=np.int64), np.array(self._margins, dtype=np.int64),
            np.array(cfg.groups, dtype=np.int64),
            np.array(self._thresholds_now(), dtype=np.int64), in_range, tuple(self._wsign),
            self._wbound,
        )  # fmt: skip

    def _whole_epochs(self) -> bool:
        """Whether :meth:`_train_epoch` runs in one compiled call: the compiled step with the
        compiled draws for every layer (:meth:`_compiled_draws`), no trained head and no
        :meth:`_after_update` hook (the device-backed learner's)."""
        return (
            self._fused
            and not self.config.train_head
            and type(self)._after_update is LocalBinaryLearner._after_update
            and all(self._compiled_draws(l) for l in range(len(self.config.layers)))
        )

    def _step_fused(self, x: Any, y: Any) -> int:
        """:meth:`_step` as compiled kernels (numba): per layer one call for the forward, the
        selection, the update and the reinforcement (:func:`._fused.train_layer`, whose wall
        time is split among the four phases by its cycle-counter ticks); the same arithmetic
        and the same random draws in the same order (:mod:`bnnlab.learn.local._fused`)."""
        return self._layers_fused(0, x[0] if isinstance(x, tuple) else x, _NO_WORDS, y)

    def _layers_fused(self, first: int, xb: Any, xl: Any, y: Any) -> int:
        """Layers ``first ...`` of :meth:`_step_fused` on that layer's packed input bits and live
        mask; returns the last layer's correct count (0 if ``first`` is past it)."""
        from bnnlab.bits import _lut  # numba is imported only when the path is taken
        from bnnlab.learn.local import _fused

        cfg, eng, tm = self.config, self.engine, self.timers
        last = len(cfg.layers) - 1
        correct = 0
        lo, hi = self._clip_bounds()
        thresholds = self._thresholds_now()
        lock = self.rng.bit_generator.lock
        for l in range(first, len(cfg.layers)):
            t0 = time.perf_counter()
            self._make_room(l, int(y.shape[0]))
            wl, w, off = self._wlive[l], self.hidden[l], self._woff[l]
            bitgen = self._compiled_draws(l)
            with lock:
                h, ab, al, s, ok, wrong, n_wrong, left, ticks = _fused.train_layer(
                    xb, xl, l > 0 and self._zero, w.T, self._wrep[l],
                    _NO_WORDS if wl is None else wl, wl is not None, cfg.fan_in[l],
                    self._hbits[l], self._zero, self.threads,
                    _NO_OFFSETS if off is None else off, self._tables(l), _lut.forward_kernel(), y,
                    self._margins[l], self.heads[l], cfg.groups[l], cfg.step,
                    cfg.clip is not None, self._in_range[l], lo, hi, bitgen, thresholds[l],
                    self._wsign[l], self._wbound[l : l + 1],
                )  # fmt: skip
            if l == last:
                correct = int(ok)
            if n_wrong and cfg.clip is not None:
                self._in_range[l] = True  # clipped in full if it was not
            tm.split(t0, dict(zip(_PHASES, ticks, strict=True)))
            if n_wrong:
                if not bitgen:  # the draws by numpy (see _compiled_draws)
                    self._reinforce(w, l)
                elif left >= 0:  # numpy's choice shuffles a tail here: the hits drawn above
                    t0 = time.perf_counter()
                    self._apply_reinforcement(w, choice_without_replacement(self.rng, w.size, left))
                    tm.add("reinforcement", t0)
                self._after_update(l)
                if cfg.train_head and l == last:
                    t0 = time.perf_counter()
                    g = self.head_state[l]
                    a = (ab, h == 0) if self._zero else ab
                    eng.update(g, eng.rows(a, wrong), head_error(s[wrong], y[wrong]), cfg.step)
                    _clip(g, cfg.clip)
                    self.heads[l] = signed(g, "plus")
                    self._hrep[l] = eng.head_weights(g)  # packed_heads() reads it
                    self._hbits[l] = self._hrep[l][0] if self._zero else self._hrep[l]
                    tm.add("update", t0)
            xb, xl = ab, al
        return correct

    def _compiled_draws(self, layer: int) -> int:
        """The ``bitgen_t`` address with which :func:`._fused.train_layer` draws layer
        ``layer``'s reinforcement, or 0 where numpy draws it (:func:`~.rules.compiled_draws`)."""
        return compiled_draws(self.rng, int(self.hidden[layer].size)) or 0

    def _clip_reinforced(self, w: Any, layer: int) -> None:
        # compiled step: the drawn entries are clipped as they are reinforced; the rest of W is
        # within the bounds once it has been clipped in full
        if not (self._fused and self._in_range[layer]):
            super()._clip_reinforced(w, layer)
            if self._fused and self.config.clip is not None:
                self._in_range[layer] = True

    def _clip_bounds(self) -> tuple[int, int]:
        clip = self.config.clip
        return _NO_CLIP if clip is None else (-clip, clip)

    def _apply_reinforcement(self, w: Any, pos: Any) -> None:
        if not self._fused:
            return super()._apply_reinforcement(w, pos)
        from bnnlab.learn.local import _fused

        _fused.reinforce(w, pos, self.config.step, self._zero, *self._clip_bounds())

    def packed_weights(self) -> list[Any]:
        """Packed ``sign(W_l)^T`` (ties +1) of every layer, ``uint64 (K_l, ceil(N_{l-1} / 64))``.

        Under ``sign_zero="zero"`` the zero weights are the entries where ``hidden`` is 0. Only
        for the packed engines (a dense learner has no packed words).
        """
        if self._fused:  # held unit-major by the compiled step
            return [np.ascontiguousarray(r.T) for r in self._wrep]
        return [(r[0] if isinstance(r, tuple) else r).copy() for r in self._wrep]

    def packed_heads(self) -> list[Any]:
        """Packed ``B_l^T`` of every layer, ``uint64 (C, ceil(K_l / 64))`` (packed engines)."""
        return [(r[0] if isinstance(r, tuple) else r).copy() for r in self._hrep]
