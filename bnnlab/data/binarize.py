"""Binarisations of real-valued inputs (pixels) into ±1 codes.

Every function takes samples along the first axis, ``x`` of shape ``(N, ...)`` (numpy or cupy, any
real dtype), flattens the remaining axes to ``D`` features and returns an ``int8`` array of ±1 in
the same array library. A comparison with a threshold is strict: ``x > t → +1``, ``x ≤ t → −1``.

These are threshold codes, not signs: a value equal to its threshold gives −1, as in the datasets'
references (REFERENCES.md §2.4: ``x > median → +1``). With a threshold of 0 this differs from
:func:`bnnlab.signs.sign` under either of its rules (``zero="plus"`` maps 0 to +1, ``zero="zero"``
to 0), so the two are never interchanged silently.
"""

from __future__ import annotations

from typing import Any

from bnnlab._validation import as_array, check_finite, check_int, check_real
from bnnlab._xp import namespace


def _samples(x: Any) -> Any:
    x = as_array(x, "x")
    if x.ndim < 2:
        raise ValueError(f"x: expected samples along the first axis, shape (N, ...), got {x.shape}")
    if x.dtype.kind not in "biuf":
        raise TypeError(f"x: expected a real-valued array, got dtype {x.dtype}")
    check_finite(x, "x")
    return x.reshape(x.shape[0], -1)


def _pm1(mask: Any, xp: Any) -> Any:
    """Boolean mask → int8 ±1 (``True`` → +1) without an int64 intermediate."""
    out = mask.astype(xp.int8)
    out *= 2
    out -= 1
    return out


def global_median(x: Any, *, median: float | None = None) -> tuple[Any, float]:
    r"""Binarise with one threshold for all pixels and images: the median of the training set.

    .. math:: b_{n,i} = \begin{cases} +1 & x_{n,i} > m \\ -1 & x_{n,i} \le m \end{cases},
              \qquad m = \operatorname{median}\{x_{n,i}\}_{n,i}

    As in Colombo, Pittorino & Roveri (2024), REFERENCES.md §2.4. Fit on the training set and
    reuse its median on the test set::

        b_train, m = global_median(x_train)
        b_test, _ = global_median(x_test, median=m)

    (For Fashion-MNIST the median of all training pixels is 0, so the code is ``x > 0``.)

    Parameters
    ----------
    x : array (N, ...)
        Real-valued samples.
    median : float, optional
        Threshold to use; by default the median of all entries of ``x`` (``numpy.median``: the
        mean of the two middle values for an even count).

    Returns
    -------
    codes : int8 array (N, D) of ±1
    median : float
        The threshold used.
    """
    x = _samples(x)
    xp = namespace(x)
    m = float(xp.median(x)) if median is None else check_real(median, "median")
    return _pm1(x > m, xp), m


def per_image_median(x: Any) -> Any:
    r"""Binarise each sample against its own median.

    .. math:: b_{n,i} = +1 \text{ if } x_{n,i} > \operatorname{median}_j x_{n,j} \text{ else } -1

    A constant image is all −1. Returns int8 ``(N, D)`` of ±1.
    """
    x = _samples(x)
    xp = namespace(x)
    m = xp.median(x, axis=1, keepdims=True)
    return _pm1(x > m, xp)


def thermometer(x: Any, n_bits: int, *, low: float = 0, high: float = 255) -> Any:
    r"""Thermometer (unary) code with ``n_bits`` uniformly spaced thresholds per feature.

    .. math:: t_k = \text{low} + k\,\frac{\text{high} - \text{low}}{n + 1},\ k = 1..n,\qquad
              b_{i,k} = +1 \text{ if } x_i > t_k \text{ else } -1

    so a value is quantised into ``n_bits + 1`` levels (0..n_bits bits set, counted from the lowest
    threshold up); values below ``low`` give all −1, above ``high`` all +1.

    Parameters
    ----------
    x : array (N, ...)
        Real-valued samples.
    n_bits : int
        Thresholds per feature, >= 1.
    low, high : float
        Range spread over the thresholds (``low < high``); 0 and 255 for 8-bit pixels.

    Returns
    -------
    int8 array (N, D·n_bits) of ±1, feature-major: the bits of feature ``i`` are columns
    ``i·n_bits … i·n_bits + n_bits − 1``, in increasing threshold.
    """
    x = _samples(x)
    xp = namespace(x)
    n_bits = check_int(n_bits, "n_bits", minimum=1)
    low = check_real(low, "low")
    high = check_real(high, "high")
    if not low < high:
        raise ValueError(f"high: expected high > low, got low={low}, high={high}")
    k = xp.arange(1, n_bits + 1, dtype=xp.float64)
    thresholds = low + k * ((high - low) / (n_bits + 1))
    codes = _pm1(x[:, :, None] > thresholds, xp)
    return codes.reshape(x.shape[0], -1)
