r"""The sign function of bnnlab, with its zero rule always explicit.

Binary networks disagree about :math:`\mathrm{sign}(0)`, and the choice is not a formality: integer
hidden weights moved by ±2 from an integer initialisation reach 0, and with an even fan-in a ±1
pre-activation can be 0. Every place in bnnlab that binarises by sign calls :func:`sign` and names
its rule:

``zero="plus"``
    :math:`\mathrm{sign}(0) = +1`, values in {−1, +1}: strictly binary codes. Used for latent-weight
    binarizers (STE family, IR-Net), bit entropy of real weights, the bit packing (bit 1 = +1 for
    ``x >= 0``), the fixed local heads and the CP+R learner.
``zero="zero"``
    :math:`\mathrm{sign}(0) = 0`, values in {−1, 0, +1}: what ``numpy.sign`` of an integer array
    computes, and therefore what the dense integer code of Colombo et al. runs. The default rule of
    the local-binary learner's hidden weights and pre-activations
    (:attr:`bnnlab.learn.LocalBinaryConfig.sign_zero`).

Both rules give ``int8`` results (or any integer or float ``dtype`` asked for) on numpy or cupy
arrays alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bnnlab._validation import as_array, check_choice
from bnnlab._xp import namespace

__all__ = ["ZERO_RULES", "sign"]

#: The zero rules :func:`sign` knows, by name.
ZERO_RULES = ("plus", "zero")


def sign(x: Any, *, zero: str, dtype: Any = np.int8) -> Any:
    r"""Element-wise sign with an explicit rule for zero.

    .. math:: \mathrm{sign}(x) = \begin{cases} +1 & x > 0 \\ s_0 & x = 0 \\ -1 & x < 0
              \end{cases}, \qquad s_0 = \begin{cases} +1 & \texttt{zero="plus"} \\
              0 & \texttt{zero="zero"} \end{cases}

    Parameters
    ----------
    x : array_like (numpy or cupy), real
        Values to binarise; NaN is refused.
    zero : {"plus", "zero"}
        The value of ``sign(0)`` (keyword only, no default: every caller states its rule).
    dtype : dtype
        Result dtype (``int8`` by default).

    Returns
    -------
    array of ``dtype``, same shape and array library as ``x``.
    """
    check_choice(zero, "zero", ZERO_RULES)
    x = as_array(x, "x")
    xp = namespace(x)
    if x.dtype.kind == "b":
        raise TypeError("x: expected real values, got booleans (use bnnlab.bits.pack codes)")
    if x.dtype.kind == "f" and bool(xp.isnan(x).any()):
        raise ValueError("x: NaN has no sign")
    return signed(x, zero, dtype)


def signed(x: Any, zero: str, dtype: Any = np.int8) -> Any:
    """:func:`sign` without validation, for trusted integer arrays on hot paths (internal use)."""
    xp = namespace(x)
    if zero == "plus":
        return xp.where(x >= 0, 1, -1).astype(dtype)
    return xp.sign(x).astype(dtype)
