"""Whole epochs of the local-binary learner in a few compiled calls (numba).

:meth:`bnnlab.learn.local.local_binary.LocalBinaryLearner._train_epoch` runs its mini-batches
here when nothing in Python has to happen between two of them (no trained head, no device hook,
the reinforcement drawn in compiled code: :func:`bnnlab.learn.local.rules.compiled_draws`), 64
mini-batches per call (so that an interrupt is seen between calls): :func:`train_epoch` gathers each batch's packed rows and labels from the epoch's permutation
and runs every layer's :func:`bnnlab.learn.local._fused.train_layer` (forward, selection,
update, reinforcement) -- the per-layer calls of the step, with the random draws in the same
order, so the integers are the step's. What this saves is the Python between the kernels: about
25 µs per mini-batch of argument handling, timers and dispatch, a tenth of a 784-135-135-10
batch.

:func:`train_epoch` is compiled with ``parallel=True`` although it has no parallel loop of its
own: compiled without it in a process that had loaded ``train_layer`` (which calls parallel
kernels) from numba's disk cache, the cache entry it saved crashed every later process that
loaded it (a segmentation fault at the first call, reproduced 4 times out of 4 here, numba 0.68.1;
the pattern of numba issues #4807 and #8578, where a parallel outer function avoids it too);
with it, that sequence saves an entry that loads and runs.

Where numpy's ``choice`` would shuffle a tail (the reinforcement of a layer with more than
10 000 weights and more than 1/20 of them hit), the kernel stops after that layer's update and
returns to the caller, which places the hits with numpy and finishes the batch layer by layer.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from bnnlab import _numba_cache
from bnnlab.learn.local._fused import headroom, train_layer

_numba_cache.install()  # numba's disk cache, safe for processes compiling at once

__all__ = ["train_epoch"]


@njit(cache=True, parallel=True)
def train_epoch(
    x,
    y,
    perm,
    first,
    end,
    batch,
    zero,
    threads,
    kernel,
    step,
    clip,
    lo,
    hi,
    bitgen,
    wts,
    wbs,
    wls,
    has_wl,
    hbs,
    heads,
    off0,
    offs,
    tab0,
    tabs,
    fan_in,
    margins,
    groups,
    thresholds,
    in_range,
    sws,
    bounds,
):  # pragma: no cover - compiled
    """The mini-batches ``perm[first:first + batch]``, ``perm[first + batch:...]``, ... that start
    before ``end``, each through every layer's :func:`~bnnlab.learn.local._fused.train_layer`.

    Parameters
    ----------
    x : uint64 (n, words)         the packed ±1 training rows;  ``y`` : int64 (n,) labels
    perm : int64 (n,)             the epoch's permutation;  ``first``, ``end``: the batches'
                                  span in it (``first`` a multiple of ``batch``)
    batch : int                   mini-batch size
    zero, threads, kernel, step, clip, lo, hi, bitgen
                                  as in ``train_layer`` (``clip``: whether a clip is set)
    wts, wbs, wls, hbs, heads     tuples, per layer: ``W^T`` (unit-major, all int16 or all
                                  int32), the
                                  packed ``sign(W)`` and ``W != 0`` words (``has_wl``), the
                                  packed local head, the local head (int8)
    off0, tab0                    the first layer's table offsets and tables
    offs, tabs                    the table offsets of layer ``l >= 1`` at ``offs[l]``
                                  (``offs[0]`` unused) and the deeper layers' tables
    fan_in, margins, groups, thresholds : int64 (L,)
    in_range : bool (L,)          whether ``W_l`` is within the clip bounds (set in place)
    sws                           tuple, per layer: the row-major ``sign(W)`` (int8) of
                                  ``train_layer``, rewritten in place
    bounds : int64 (L,)           upper bounds of ``max |W_l|`` (``train_layer``'s ``bound``,
                                  updated in place)

    Returns
    -------
    ``(at, correct, stop, left, ab, al, ticks)``: ``correct`` the last layer's correct count
    over the batches run, ``ticks`` (int64 (4,)) the cycle counter's ticks per phase (forward,
    selection, update, reinforcement). ``stop = -1``: every batch ran (``at`` the first index past
    them). Else the batch at ``perm[at:at + batch]`` stopped at layer ``stop``: with
    ``left >= 0`` after its update, numpy's ``choice`` has to place ``left`` hits in ``W_stop``
    and layers ``stop + 1 ...`` are still to run on its activations ``ab``, ``al``; with
    ``left = -2`` before it, ``W_stop`` has no room for the step in its type
    (:func:`~bnnlab.learn.local._fused.headroom`): the caller widens it and runs layers
    ``stop ...`` on their inputs ``ab``, ``al``.
    """
    n_layers = len(wts)
    ticks = np.zeros(4, dtype=np.int64)
    none = np.zeros((0, 0), dtype=np.uint64)
    correct = 0
    at = first
    while at < end:
        idx = perm[at : at + batch]
        xb = x[idx]
        yb = y[idx]
        xl = none
        for l in range(n_layers):
            # the first layer's ±1 inputs (no live mask) or the deeper layers' ternary ones;
            # every layer's table offsets are uint16 nibble offsets, so one call site serves both
            off = off0 if l == 0 else offs[l]
            tab = tab0 if l == 0 else tabs
            bound = bounds[l : l + 1]
            if not headroom(wts[l], bound, step, idx.shape[0]):
                return at, correct, l, -2, xb, xl, ticks
            _, ab, al, _, ok, _, n_wrong, left, tk = train_layer(
                xb, xl, zero and l > 0, wts[l], wbs[l], wls[l], has_wl, fan_in[l], hbs[l], zero,
                threads, off, tab, kernel, yb, margins[l], heads[l], groups[l], step, clip,
                in_range[l], lo, hi, bitgen, thresholds[l], sws[l], bound,
            )  # fmt: skip
            for q in range(4):
                ticks[q] += tk[q]
            if n_wrong and clip:
                in_range[l] = True  # clipped in full if it was not
            if l == n_layers - 1:
                correct += ok
            if left >= 0:
                return at, correct, l, left, ab, al, ticks
            xb, xl = ab, al
        at += batch
    return at, correct, -1, -1, none, none, ticks
