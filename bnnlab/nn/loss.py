r"""Softmax cross-entropy, mean over the batch, with its gradient.

.. math::
    L = -\frac1N\sum_{i=1}^N \log \operatorname{softmax}(z_i)_{y_i},\qquad
    \frac{\partial L}{\partial z_{ic}} = \frac1N\big(\operatorname{softmax}(z_i)_c - 1[c=y_i]\big),

computed with the log-sum-exp shift :math:`z - \max_c z` for stability.

References
----------
Goodfellow, Bengio, Courville, *Deep Learning*, MIT Press 2016, §6.2.2.3 (softmax units) and
§4.1 (the log-sum-exp shift).
"""

from __future__ import annotations

from typing import Any

from bnnlab._validation import as_array, check_finite
from bnnlab._xp import namespace


def softmax_cross_entropy(logits: Any, labels: Any) -> tuple[Any, Any]:
    """Return ``(loss, grad)``: the mean cross-entropy (0-d array) and ``dL/dlogits``.

    Parameters
    ----------
    logits : array, shape (N, C), real and finite, N >= 1, C >= 1
    labels : integer array, shape (N,), values in ``[0, C)``

    Returns
    -------
    loss : 0-d float array
        :math:`L` above.
    grad : float array (N, C)
        :math:`\\partial L/\\partial z`, in the array library of ``logits``.

    Raises
    ------
    ValueError
        ``logits`` not 2-D, empty or holding NaN/inf; ``labels`` not of shape ``(N,)`` or with a
        value outside ``[0, C)`` (the message names ``labels`` and the offending value).
    TypeError
        ``labels`` not integer; ``logits`` not real; numpy and cupy arrays mixed.
    """
    xp = namespace(logits, labels)
    logits = as_array(logits, "logits")
    labels = as_array(labels, "labels")
    if logits.ndim != 2:
        raise ValueError(f"logits: expected a 2-D array (N, C), got shape {tuple(logits.shape)}")
    if logits.dtype.kind not in "iuf":
        raise TypeError(f"logits: expected real values, got dtype {logits.dtype}")
    if labels.ndim != 1 or labels.shape[0] != logits.shape[0]:
        raise ValueError(f"labels: expected shape ({logits.shape[0]},), got {tuple(labels.shape)}")
    if labels.dtype.kind not in "iu":
        raise TypeError(f"labels: expected an integer array, got dtype {labels.dtype}")
    check_finite(logits, "logits")
    n, c = logits.shape
    lo, hi = int(labels.min()), int(labels.max())
    if lo < 0 or hi >= c:
        bad = lo if lo < 0 else hi
        raise ValueError(f"labels: label {bad} is outside [0, {c}) for logits of {c} classes")
    z = logits - xp.max(logits, axis=1, keepdims=True)
    e = xp.exp(z)
    s = xp.sum(e, axis=1, keepdims=True)
    rows = xp.arange(n)
    loss = xp.mean(xp.log(s[:, 0]) - z[rows, labels])
    grad = e / s
    grad[rows, labels] -= 1
    return loss, grad / n
