"""numpy's reinforcement draws compiled (numba): ``Generator.binomial(n, p)`` and
``Generator.choice(size, hits, replace=False, shuffle=False)``.

The reinforcement draw (:func:`bnnlab.learn.local.rules.draw_reinforcement`) takes a uniform
``hits``-subset of a layer's ``size`` flat positions with numpy's ``choice``; its cost (about
80 µs for 5 300 of 411 600 positions) was most of the local-binary learner's reinforcement phase.
:func:`floyd` computes the same positions, in the same order, drawing its random words from the
generator itself: it calls the bit generator's own C ``next_uint32`` through numpy's public
``bitgen_t`` interface (``numpy/random/bitgen.h``: the state pointer, then the ``next_uint64``,
``next_uint32``, ``next_double`` and ``next_raw`` function pointers; its address is
``bit_generator.ctypes.bit_generator``), as numpy's ``choice`` does. So the generator's state
moves exactly as under ``choice`` -- a buffered 32-bit half (PCG64's ``has_uint32``) included,
for any of numpy's bit generators -- and the learners' random stream, and the oracle that replays
it with numpy, are unchanged; the tests compare it with ``choice`` itself (positions and
generator state) over both branches.

What numpy 2.x does (``numpy/random/_generator.pyx``, ``Generator.choice``; the bounded integers
in ``numpy/random/src/distributions/distributions.c``), when ``size <= 10000`` or
``hits <= size // 20`` (else it shuffles the tail of ``arange(size)``, which
:func:`~bnnlab.learn.local.rules.choice_without_replacement` leaves to numpy: it is as fast there):
Floyd's algorithm (R. W. Floyd, in J. Bentley, Commun. ACM 30(9), 1987): for
``j = size - hits, ..., size - 1``, ``t`` uniform in ``[0, j]`` (none drawn for ``j = 0``); if
``t`` was chosen already, ``t = j``. The uniform integer is Lemire's (ACM TOMACS 29(1), 2019):
``m = next_uint32() (j + 1)``; while the low 32 bits of ``m`` are below
``(2^32 - (j + 1)) mod (j + 1)`` (computed only when they are below ``j + 1``), again with the
next word; ``t = m >> 32``.

:func:`binomial` is numba's own port of numpy's ``random_binomial`` (inversion for
``min(p, 1 - p) n <= 30``, else BTPE: V. Kachitvichyanukul, B. W. Schmeiser, Commun. ACM 31(2),
1988), the code behind numba's ``Generator.binomial``, run on a view of the same ``bitgen_t``
(:func:`bitgen_view`); numba's ``Generator`` argument itself costs about 13 µs per call to
unbox. The learners check once per process that both draws reproduce numpy's
(:func:`bnnlab.learn.local.rules.compiled_draws`).

The caller holds the bit generator's lock and keeps it alive during the call (numpy's own
methods do the same).
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

try:  # numba's port of numpy's binomial (an internal module of numba's Generator support)
    from numba.np.random.distributions import random_binomial
except ImportError:  # pragma: no cover - a numba without it: numpy draws (rules.compiled_draws)
    random_binomial = None

from bnnlab import _numba_cache

_numba_cache.install()  # numba's disk cache, safe for processes compiling at once

__all__ = ["binomial", "bitgen_view", "floyd", "floyd_next", "next_uint32", "shuffles_tail"]

_LOW = np.uint64(0xFFFFFFFF)
_TWO32 = np.uint64(1 << 32)


@intrinsic
def next_uint32(typingctx, bitgen):
    """``bitgen->next_uint32(bitgen->state)`` for the address ``bitgen`` (an integer) of a numpy
    ``bitgen_t``: the bit generator's next 32-bit word, its state advanced in place."""
    if not isinstance(bitgen, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        from llvmlite import ir

        i8p = ir.IntType(8).as_pointer()
        fnty = ir.FunctionType(ir.IntType(32), [i8p])
        address = context.cast(builder, args[0], signature.args[0], types.uintp)
        fields = builder.inttoptr(address, i8p.as_pointer())  # bitgen_t as five pointers
        state = builder.load(fields)  # field 0: void *state
        slot = builder.gep(fields, [ir.Constant(ir.IntType(32), 2)])  # field 2: next_uint32
        fn = builder.load(builder.bitcast(slot, fnty.as_pointer().as_pointer()))
        return builder.call(fn, [state])

    return types.uint32(bitgen), codegen


@intrinsic
def bitgen_view(typingctx, bitgen):
    """numba's bit-generator value (the struct behind a ``Generator`` argument's
    ``bit_generator``: state, ``next_uint64``/``next_uint32``/``next_double`` function pointers)
    read from the address ``bitgen`` of a numpy ``bitgen_t``, for numba's distributions. It has
    no Python object (never returned to Python)."""
    if not isinstance(bitgen, types.Integer):
        return None
    view = types.NumPyRandomBitGeneratorType("bit_generator")

    def codegen(context, builder, signature, args):
        from llvmlite import ir

        i8p = ir.IntType(8).as_pointer()
        address = context.cast(builder, args[0], signature.args[0], types.uintp)
        fields = builder.inttoptr(address, i8p.as_pointer())  # bitgen_t as five pointers
        uintp = context.get_value_type(types.uintp)

        def field(q):
            return builder.ptrtoint(
                builder.load(builder.gep(fields, [ir.Constant(ir.IntType(32), q)])), uintp
            )

        out = cgutils.create_struct_proxy(view)(context, builder)
        out.parent = context.get_constant_null(types.pyobject)
        out.state_address = field(0)
        out.state = field(0)
        out.fnptr_next_uint64 = field(1)
        out.fnptr_next_uint32 = field(2)
        out.fnptr_next_double = field(3)
        out.bit_generator = address
        return out._getvalue()

    return view(bitgen), codegen


if random_binomial is not None:

    @njit(cache=True)
    def binomial(bitgen, n, p):  # pragma: no cover - compiled
        """``Generator.binomial(n, p)`` (``int64``) drawn from the bit generator at address
        ``bitgen``: numba's port of numpy's algorithm (see the module docstring)."""
        return np.int64(random_binomial(bitgen_view(bitgen), n, p))

else:  # pragma: no cover - never called: the learners' self-check fails, numpy draws

    @njit(cache=True)
    def binomial(bitgen, n, p):
        return np.int64(-1)


@njit(cache=True)
def shuffles_tail(size, hits):  # pragma: no cover - compiled
    """Whether numpy's ``choice(size, hits, replace=False, shuffle=False)`` shuffles the tail of
    ``arange(size)`` (``size > 10000`` and ``hits > size // 20``) instead of running Floyd's
    algorithm, which :func:`floyd` reproduces (see the module docstring)."""
    return size > 10000 and hits > size // 20


@njit(cache=True, inline="always")
def floyd_next(bitgen, j, seen):  # pragma: no cover - compiled
    """Floyd's step ``j`` (``j = size - hits, ..., size - 1``): ``t`` uniform in ``[0, j]`` from
    the bit generator at address ``bitgen`` (none drawn for ``j = 0``), ``j`` instead if ``t``
    is marked in ``seen``; marks and returns it (see the module docstring)."""
    t = np.int64(0)
    if j > 0:  # random_bounded_uint64(0, j): Lemire's multiply-shift with rejection
        bound = np.uint64(j + 1)
        m = np.uint64(next_uint32(bitgen)) * bound
        low = m & _LOW
        if low < bound:
            threshold = (_TWO32 - bound) % bound
            while low < threshold:
                m = np.uint64(next_uint32(bitgen)) * bound
                low = m & _LOW
        t = np.int64(m >> np.uint64(32))
    if (seen[t >> 6] >> np.uint64(t & 63)) & np.uint64(1):
        t = j
    seen[t >> 6] |= np.uint64(1) << np.uint64(t & 63)
    return t


@njit(cache=True)
def floyd(bitgen, size, hits):  # pragma: no cover - compiled
    """Floyd's ``hits``-subset of ``range(size)`` (``int64``, in draw order), drawn from the bit
    generator at address ``bitgen``."""
    pos = np.empty(hits, dtype=np.int64)
    seen = np.zeros((size + 63) >> 6, dtype=np.uint64)  # the chosen positions
    for q in range(hits):
        pos[q] = floyd_next(bitgen, size - hits + q, seen)
    return pos
