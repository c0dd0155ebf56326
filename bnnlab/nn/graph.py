r"""Graph convolution with latent float weights and pluggable binarizers (binary GCNs).

Forward (Kipf & Welling, ICLR 2017), on the ``N`` nodes of one graph at once:

.. math:: Y = \hat A\, q_a(X)\, q_w(W)^\top + b, \qquad
          \hat A = \tilde D^{-1/2} (A + I) \tilde D^{-1/2}

(:func:`normalized_adjacency`; :math:`\tilde D` the degrees of :math:`A + I`). Backward:
:math:`\partial L/\partial q_w(W) = G^\top \hat A q_a(X)` and
:math:`\partial L/\partial q_a(X) = \hat A^\top G\, q_w(W)`, mapped through the binarizers'
pseudo-gradients as in :class:`bnnlab.nn.Dense`. The weight's
:attr:`~bnnlab.nn.Parameter.factors` are :math:`(\hat A q_a(X), G)`: the products the weight
multiplies, which is what QP-SBGD's per-layer problems need (REFERENCES.md §3.3, binary GCNs).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bnnlab._validation import as_array, check_int
from bnnlab.nn.linear import _BinarizableLayer

__all__ = ["GraphConv", "normalized_adjacency"]


def normalized_adjacency(a: Any) -> np.ndarray:
    """:math:`\\tilde D^{-1/2}(A + I)\\tilde D^{-1/2}` of a symmetric, non-negative ``(N, N)``
    adjacency matrix (float64)."""
    a = as_array(a, "a", ndim=2)
    if a.shape[0] != a.shape[1]:
        raise ValueError(f"a: expected a square adjacency matrix, got shape {a.shape}")
    if a.dtype.kind not in "biuf" or not bool(np.isfinite(a).all()) or bool((a < 0).any()):
        raise ValueError("a: expected finite, non-negative edge weights")
    af = np.asarray(a, dtype=np.float64)
    if not np.array_equal(af, af.T):
        raise ValueError("a: expected a symmetric adjacency matrix (an undirected graph)")
    a_hat = af + np.eye(af.shape[0])
    d = 1.0 / np.sqrt(a_hat.sum(axis=1))
    return d[:, None] * a_hat * d[None, :]


class GraphConv(_BinarizableLayer):
    """Graph convolution ``(N, in) -> (N, out)`` on a fixed graph (see the module docstring).

    Parameters
    ----------
    in_features, out_features : int
    adjacency : array (N, N)
        The graph (symmetric, non-negative); normalised here with self-loops.
    bias, weight_binarizer, act_binarizer, scale, init, seed, dtype
        As for :class:`bnnlab.nn.Dense`.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        adjacency: Any,
        *,
        bias: bool = True,
        weight_binarizer: Any = None,
        act_binarizer: Any = None,
        scale: bool = False,
        init: Any = "glorot_uniform",
        seed: Any,
        dtype: Any = np.float32,
    ):
        self.in_features = check_int(in_features, "in_features", minimum=1)
        self.out_features = check_int(out_features, "out_features", minimum=1)
        super().__init__(
            (self.out_features, self.in_features),
            bias=bias,
            weight_binarizer=weight_binarizer,
            act_binarizer=act_binarizer,
            scale=scale,
            init=init,
            seed=seed,
            dtype=dtype,
        )
        self.a_hat = normalized_adjacency(adjacency).astype(np.dtype(dtype))

    @property
    def nodes(self) -> int:
        """Nodes of the graph."""
        return int(self.a_hat.shape[0])

    def to(self, xp: Any) -> GraphConv:
        super().to(xp)
        self.a_hat = xp.asarray(self.a_hat)
        return self

    def forward(self, x: Any, train: bool) -> Any:
        if x.ndim != 2 or x.shape != (self.nodes, self.in_features):
            raise ValueError(
                f"x: expected shape ({self.nodes}, {self.in_features}) (every node of the graph), "
                f"got {tuple(x.shape)}"
            )
        xb, acache = self._forward_input(x)
        wb, wcache = self._forward_weight(train)
        agg = self.a_hat @ xb
        pre = agg @ wb.T
        self._cache = (agg, wb, pre, acache, wcache) if train else None
        return self._finish_forward(pre, (1, -1))

    def backward(self, grad: Any) -> Any:
        agg, wb, pre, acache, wcache = self._need_cache()
        g = self._finish_backward(grad, pre, (0,))
        self._params["weight"].factors = (agg, g)
        self._params["weight"].grad = self._backward_weight(g.T @ agg, wcache)
        if not self.input_grad:
            return None
        return self._backward_input(self.a_hat.T @ (g @ wb), acache)

    def __repr__(self) -> str:
        return f"GraphConv({self.in_features}, {self.out_features}, {self._describe()})"
