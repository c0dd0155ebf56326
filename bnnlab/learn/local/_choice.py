"""numpy's ``Generator.choice(size, hits, replace=False, shuffle=False)``, replayed in numba.

The reinforcement draw (:func:`bnnlab.learn.local.rules.draw_reinforcement`) takes a uniform
``hits``-subset of a layer's ``size`` flat positions with numpy's ``choice``; its cost (about
80 µs for 5 300 of 411 600 positions) was most of the local-binary learner's reinforcement phase.
:func:`choice` computes the same positions, in the same order, and leaves the generator in the
same state, so the learners' random stream, and the oracle that replays it, are unchanged; the
tests compare it with ``choice`` itself (positions and generator state) over both branches.

What numpy 2.x does (``numpy/random/_generator.pyx``, ``Generator.choice``; the bounded integers
in ``numpy/random/src/distributions/distributions.c``) for a PCG64 bit generator, when
``size <= 10000`` or ``hits <= size // 20`` (else it shuffles the tail of ``arange(size)``, which
:func:`~bnnlab.learn.local.rules.choice_without_replacement` leaves to numpy: it is as fast there):
Floyd's algorithm (R. W. Floyd, in J. Bentley, Commun. ACM 30(9), 1987): for
``j = size - hits, ..., size - 1``, ``t`` uniform in ``[0, j]`` (none drawn for ``j = 0``); if
``t`` was chosen already, ``t = j``. The uniform integer is Lemire's (ACM TOMACS 29(1), 2019):
``m = word (j + 1)``; while the low 32 bits of ``m`` are below ``(2^32 - (j + 1)) mod (j + 1)``
(computed only when they are below ``j + 1``), the next word; ``t = m >> 32``.

The 32-bit words are PCG64's ``next_uint32``: a buffered high half first if the generator holds
one (``state["has_uint32"]``), then the low and the high half of each raw 64-bit output. The
kernel takes them as a stream and reports how many it used; the caller sets the generator to the
state after exactly that many (:func:`bnnlab.learn.local.rules.choice_without_replacement`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["floyd"]

_LOW = np.uint64(0xFFFFFFFF)
_TWO32 = np.uint64(1 << 32)


@njit(cache=True, inline="always")
def _word(pre, words, w):  # pragma: no cover - compiled
    """Word ``w`` of the stream: ``pre`` (a buffered half, when ``pre >= 0``), then ``words``."""
    if pre >= 0:
        return np.uint64(pre) if w == 0 else np.uint64(words[w - 1])
    return np.uint64(words[w])


@njit(cache=True)
def floyd(pre, words, size, hits):  # pragma: no cover - compiled
    """``(pos, used)``: Floyd's subset in draw order and the number of stream words consumed, or
    ``used = -1`` when they ran out. The stream is ``pre`` (if ``>= 0``) then ``words``."""
    seen = np.zeros((size + 63) >> 6, dtype=np.uint64)
    pos = np.empty(hits, dtype=np.int64)
    n = words.shape[0] + (1 if pre >= 0 else 0)
    w = 0
    for q in range(hits):
        j = size - hits + q
        t = np.int64(0)
        if j > 0:  # random_bounded_uint64(0, j): Lemire's multiply-shift with rejection
            bound = np.uint64(j + 1)
            if w >= n:
                return pos, -1
            m = _word(pre, words, w) * bound
            w += 1
            low = m & _LOW
            if low < bound:
                threshold = (_TWO32 - bound) % bound
                while low < threshold:
                    if w >= n:
                        return pos, -1
                    m = _word(pre, words, w) * bound
                    w += 1
                    low = m & _LOW
            t = np.int64(m >> np.uint64(32))
        if (seen[t >> 6] >> np.uint64(t & 63)) & np.uint64(1):
            t = j
        seen[t >> 6] |= np.uint64(1) << np.uint64(t & 63)
        pos[q] = t
    return pos, w
