r"""The sign function of bnnlab, with its zero rule always explicit.

Binary networks disagree about :math:`\mathrm{sign}(0)`, and the choice is not a formality: integer
hidden weights moved by ±2 from an integer initialisation reach 0, and with an even fan-in a ±1
pre-activation can be 0. Every place in bnnlab that binarises by sign calls :func:`sign` (validated,
public) or :func:`signed` (the same values, unvalidated, for internal hot paths) and names its rule:

``zero="plus"``
    :math:`\mathrm{sign}(0) = +1`, values in {−1, +1}: strictly binary codes. Used for the
    latent-weight binarizers of :mod:`bnnlab.nn.binarizers` (STE, ApproxSign, XNOR, IR-Net, SiMaN's
    activation sign and the sign inside SiMaN's clip and backward), the bit entropy of real weights
    (:mod:`bnnlab.entropy`), the sign code of :func:`bnnlab.theory.angle.align` and of
    :func:`bnnlab.weightstats.layer_stats`, the bit packing (bit 1 = +1 for ``x >= 0``), the fixed
    local heads and the CP+R learner.
``zero="zero"``
    :math:`\mathrm{sign}(0) = 0`, values in {−1, 0, +1}: what ``numpy.sign`` of an integer array
    computes, and therefore what the dense integer code of Colombo et al. runs. The default rule of
    the local-binary learner's hidden weights and pre-activations
    (:attr:`bnnlab.learn.LocalBinaryConfig.sign_zero`).

Threshold codes are not signs: :mod:`bnnlab.data.binarize` compares strictly (``x > t`` → +1,
ties → −1), as the datasets' references do.

Both rules give ``int8`` results (or any signed integer or float ``dtype`` asked for) on numpy or
cupy arrays alike.
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

    ``-0.0`` is a zero (``+1`` under ``"plus"``, ``0`` under ``"zero"``); ``±inf`` have signs ``±1``.

    Parameters
    ----------
    x : array_like (numpy or cupy), real
        Values to binarise: integers or floats (booleans, complex numbers and NaN are refused).
    zero : {"plus", "zero"}
        The value of ``sign(0)`` (keyword only, no default: every caller states its rule).
    dtype : dtype
        Result dtype (``int8`` by default): a signed integer or a float type, which can hold −1.

    Returns
    -------
    array of ``dtype``, same shape and array library as ``x``.

    Raises
    ------
    ValueError
        ``zero`` not a known rule (the message names ``zero``), an empty ``x``, or NaN in ``x``.
    TypeError
        ``x`` boolean, complex or not numeric; ``dtype`` not a signed integer or float type.

    Examples
    --------
    >>> import numpy as np
    >>> sign(np.array([-2.5, 0.0, 3.0]), zero="plus").tolist()
    [-1, 1, 1]
    >>> sign(np.array([-2, 0, 3]), zero="zero").tolist()
    [-1, 0, 1]
    """
    check_choice(zero, "zero", ZERO_RULES)
    try:
        kind = np.dtype(dtype).kind
    except TypeError as err:
        raise TypeError(f"dtype: expected a numpy dtype, got {dtype!r}") from err
    if kind not in "if":
        raise TypeError(
            f"dtype: expected a signed integer or float dtype (holds -1), got {dtype!r}"
        )
    x = as_array(x, "x")
    xp = namespace(x)
    if x.dtype.kind == "b":
        raise TypeError("x: expected real values, got booleans (use bnnlab.bits.pack codes)")
    if x.dtype.kind not in "iuf":
        raise TypeError(f"x: expected real (integer or float) values, got dtype {x.dtype}")
    if x.dtype.kind == "f" and bool(xp.isnan(x).any()):
        raise ValueError("x: NaN has no sign")
    return signed(x, zero, dtype)


def signed(x: Any, zero: str, dtype: Any = np.int8) -> Any:
    """:func:`sign` without validation, for trusted real arrays on hot paths (internal use).

    ``x`` must be a real numpy/cupy array (or scalar) without NaN, ``zero`` one of
    :data:`ZERO_RULES` and ``dtype`` signed or floating; nothing is checked. The ``"plus"`` rule
    casts the boolean ``x >= 0`` straight to ``dtype`` (no ``int64`` intermediate).
    """
    if zero == "plus":
        out = (x >= 0).astype(dtype)
        out *= 2
        out -= 1
        return out
    return namespace(x).sign(x).astype(dtype)
