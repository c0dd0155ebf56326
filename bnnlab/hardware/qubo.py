r"""Per-layer binary-gradient problems of QP-SBGD (Krahn et al., BMVC 2024; REFERENCES.md §3).

For a binarised layer and one mini-batch: ``X`` (``B x n``) the layer's ±1 inputs, ``Y``
(``B x m``) the loss gradient with respect to the layer's outputs, and
:math:`\tilde X = X\,\mathrm{diag}(1/\lVert X_{:,i}\rVert^2)` (each column divided by its squared
norm over the batch; a zero column stays zero). The ``"lsq"`` formulation asks, for every output
row ``j``, for the binary gradient :math:`g \in \{\pm1\}^n` minimising

.. math:: E_j(g) = \lVert \tilde X g - \alpha\, y_j \rVert^2
          = \sum_{i \ne k} A_{ik} g_i g_k + h_j^\top g + c_j,

with :math:`A = \tilde X^\top \tilde X` (off the diagonal; shared by every row of the layer and
stored once), :math:`h_j = -2\alpha \tilde X^\top y_j` and :math:`c_j = \mathrm{tr}(A) +
\alpha^2 \lVert y_j\rVert^2` (since :math:`g_i^2 = 1`). The Ising model of one row, as dimod
writes it, has couplings :math:`J_{ik} = 2A_{ik}` for :math:`i < k`, fields :math:`h_j` and
offset :math:`c_j` (:meth:`LayerProblem.to_bqm`).

``alpha`` scales the target: with ±1 inputs :math:`\tilde X g = Xg/B` lies in ``[-n/B, n/B]``
per sample, and ``alpha = 1`` (the default) fits the raw gradient; a larger ``alpha`` asks the
binary step to follow the gradient's direction more than its size.

Not built yet (issue 11): the authors' ``"sign"`` objective and its QUBO encoding, the per-neuron
``"neuron"`` encoding of their annealer runs.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from bnnlab._validation import as_array, check_choice, check_real

__all__ = ["FORMULATIONS", "LayerProblem", "layer_problem"]

#: Formulations built so far.
FORMULATIONS = ("lsq",)


@dataclasses.dataclass(frozen=True)
class LayerProblem:
    """The ``m`` per-row problems of one layer in batched form (see the module docstring).

    Attributes
    ----------
    A : float64 array (n, n)
        :math:`\\tilde X^\\top \\tilde X` with a zero diagonal (shared by every row).
    h : float64 array (m, n)
        Linear fields, one row per output unit.
    offset : float64 array (m,)
        Constants :math:`c_j`.
    formulation : str
    """

    A: np.ndarray
    h: np.ndarray
    offset: np.ndarray
    formulation: str = "lsq"

    @property
    def n(self) -> int:
        """Variables per row (the layer's fan-in)."""
        return int(self.A.shape[0])

    @property
    def rows(self) -> int:
        """Independent problems (the layer's output units)."""
        return int(self.h.shape[0])

    def energy(self, g: Any) -> np.ndarray:
        """Energies of assignments ``g`` (``(rows, reads, n)`` or ``(rows, n)``, values ±1).

        Returns float64 ``(rows, reads)`` (or ``(rows,)``).
        """
        g = as_array(g, "g")
        squeeze = g.ndim == 2
        if squeeze:
            g = g[:, None, :]
        if g.ndim != 3 or g.shape[0] != self.rows or g.shape[2] != self.n:
            raise ValueError(
                f"g: expected shape ({self.rows}, reads, {self.n}), got {tuple(g.shape)}"
            )
        if not bool(((g == 1) | (g == -1)).all()):
            raise ValueError("g: expected values in {-1, +1}")
        gf = g.astype(np.float64)
        quad = np.einsum("rsi,ik,rsk->rs", gf, self.A, gf)
        e = quad + np.einsum("rsi,ri->rs", gf, self.h) + self.offset[:, None]
        return e[:, 0] if squeeze else e

    def to_bqm(self, row: int) -> Any:
        """Row ``row`` as a ``dimod.BinaryQuadraticModel`` (SPIN); its energies equal
        :meth:`energy`. Needs the optional extra ``bnnlab[annealing]``."""
        try:
            import dimod
        except ImportError as exc:  # pragma: no cover - the extra is installed in tests
            raise ImportError("to_bqm needs dimod: pip install 'bnnlab[annealing]'") from exc
        if not isinstance(row, int | np.integer) or not 0 <= int(row) < self.rows:
            raise ValueError(f"row: expected an integer in 0..{self.rows - 1}, got {row!r}")
        iu, ku = np.triu_indices(self.n, 1)
        quadratic = {
            (int(i), int(k)): 2.0 * float(self.A[i, k]) for i, k in zip(iu, ku, strict=True)
        }
        linear = {i: float(v) for i, v in enumerate(self.h[int(row)])}
        return dimod.BinaryQuadraticModel(
            linear, quadratic, float(self.offset[int(row)]), dimod.SPIN
        )


def layer_problem(x: Any, y: Any, *, formulation: str = "lsq", alpha: float = 1.0) -> LayerProblem:
    """Build the per-row problems of one layer from a mini-batch.

    Parameters
    ----------
    x : array (B, n)
        The layer's ±1 inputs.
    y : array (B, m)
        The loss gradient with respect to the layer's outputs (finite).
    formulation : {"lsq"}
        The problem (see the module docstring).
    alpha : float
        Target scale :math:`\\alpha > 0`.
    """
    check_choice(formulation, "formulation", FORMULATIONS)
    alpha = check_real(alpha, "alpha", low=0.0, open_low=True)
    x = as_array(x, "x", ndim=2)
    y = as_array(y, "y", ndim=2)
    if x.dtype.kind not in "biuf" or x.dtype.kind == "b":
        raise TypeError(f"x: expected ±1 numbers, got dtype {x.dtype}")
    if not bool(((x == 1) | (x == -1)).all()):
        raise ValueError("x: expected values in {-1, +1}")
    if y.dtype.kind not in "iuf":
        raise TypeError(f"y: expected real gradients, got dtype {y.dtype}")
    if not bool(np.isfinite(y).all()):
        raise ValueError("y: NaN or inf in the gradient")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"y: {y.shape[0]} rows for a batch of {x.shape[0]} (x)")
    xf = x.astype(np.float64)
    norms = (xf * xf).sum(axis=0)
    xt = np.divide(xf, norms, out=np.zeros_like(xf), where=norms > 0)
    full = xt.T @ xt
    diag = np.diag(full).copy()
    a = full - np.diag(diag)
    yf = y.astype(np.float64)
    h = -2.0 * alpha * (xt.T @ yf).T
    offset = diag.sum() + alpha**2 * (yf * yf).sum(axis=0)
    return LayerProblem(A=a, h=np.ascontiguousarray(h), offset=offset, formulation=formulation)
