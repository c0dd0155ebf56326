r"""Softmax cross-entropy, mean over the batch, with its gradient.

.. math::
    L = -\frac1N\sum_{i=1}^N \log \operatorname{softmax}(z_i)_{y_i},\qquad
    \frac{\partial L}{\partial z_{ic}} = \frac1N\big(\operatorname{softmax}(z_i)_c - 1[c=y_i]\big),

computed with the log-sum-exp shift :math:`z - \max_c z` for stability.
"""

from __future__ import annotations

from typing import Any

from bnnlab._xp import namespace


def softmax_cross_entropy(logits: Any, labels: Any) -> tuple[Any, Any]:
    """Return ``(loss, grad)``: the mean cross-entropy (0-d array) and ``dL/dlogits``.

    Parameters
    ----------
    logits : array, shape (N, C), floating
    labels : integer array, shape (N,), values in ``[0, C)``
    """
    xp = namespace(logits, labels)
    if logits.ndim != 2:
        raise ValueError(f"logits: expected a 2-D array (N, C), got shape {tuple(logits.shape)}")
    if labels.ndim != 1 or labels.shape[0] != logits.shape[0]:
        raise ValueError(f"labels: expected shape ({logits.shape[0]},), got {tuple(labels.shape)}")
    if labels.dtype.kind not in "iu":
        raise TypeError(f"labels: expected an integer array, got dtype {labels.dtype}")
    n = logits.shape[0]
    z = logits - xp.max(logits, axis=1, keepdims=True)
    e = xp.exp(z)
    s = xp.sum(e, axis=1, keepdims=True)
    rows = xp.arange(n)
    loss = xp.mean(xp.log(s[:, 0]) - z[rows, labels])
    grad = e / s
    grad[rows, labels] -= 1
    return loss, grad / n
