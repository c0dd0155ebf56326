r"""Per-layer binary-gradient problems of QP-SBGD (Krahn et al., BMVC 2024; REFERENCES.md §3).

For a binarised layer and one mini-batch: ``X`` (``B x n``) the layer's inputs (±1, 0 where an
activation is ``sign(0) = 0``, or real for a graph convolution's aggregated inputs), ``Y`` (``B x m``) the loss gradient with respect to the layer's
outputs, and :math:`\tilde X = X\,\mathrm{diag}(1/\lVert X_{:,i}\rVert^2)` (each column divided by
its squared norm over the batch; an all-zero column stays zero, and its variable then only enters
through nothing: every value of it has the same energy). Every output row ``j`` of the layer is an
independent problem over the binary gradient :math:`g \in \{\pm1\}^n` of that row.

``"lsq"`` — the quadratic surrogate (REFERENCES §3.1):

.. math:: E_j(g) = \lVert \tilde X g - \alpha\, y_j \rVert^2
          = \sum_{i \ne k} A_{ik} g_i g_k + h_j^\top g + c_j,

with :math:`A = \tilde X^\top \tilde X` (off the diagonal; shared by every row of the layer and
stored once), :math:`h_j = -2\alpha \tilde X^\top y_j` and :math:`c_j = \mathrm{tr}(A) +
\alpha^2 \lVert y_j\rVert^2` (since :math:`g_i^2 = 1`). The Ising model of one row, as dimod
writes it, has couplings :math:`J_{ik} = 2A_{ik}` for :math:`i < k`, fields :math:`h_j` and
offset :math:`c_j` (:meth:`LsqProblem.to_bqm`).

``alpha`` scales the target. With ±1 inputs :math:`\tilde X g = Xg/B` lies in ``[-n/B, n/B]``
per sample, while a loss gradient is often orders of magnitude smaller; a small target leaves the
quadratic term in charge and the optimum merely cancels correlated inputs (:math:`\tilde X g
\approx 0`), a large one makes the linear term win and the optimum tends to signSGD's
:math:`\operatorname{sign}(\tilde X^\top y_j)` (exactly so for orthogonal columns, whatever
``alpha``). ``alpha="auto"`` (per row) gives the target the norm of the signSGD step's effect,
:math:`\alpha_j = \lVert \tilde X \operatorname{sign}(\tilde X^\top y_j)\rVert /
\lVert y_j \rVert` (1 for a zero gradient), so that the problem asks for the binary step whose
output change best matches the gradient's direction at the scale a binary step can reach; a
number uses that ``alpha`` for every row (``1`` fits the raw gradient).

``"sign"`` — the authors' own objective (their Gurobi program with its slack relaxed away, §3.1):

.. math:: E_j(g) = \sum_{b=1}^{B} \big(s_b(g) - y_{bj}\big)^2, \qquad
          s_b(g) = \operatorname{sign}(\tilde x_b^\top g + \varepsilon)

(``sign(0) = +1`` here; the authors' ε = 0.01 shifts the threshold off the grid of
:math:`\tilde x_b^\top g`). It is not quadratic in ``g``; the exact and built-in annealing solvers
minimise it directly (:class:`SignProblem`), and :mod:`bnnlab.hardware.sign_qubo` encodes it as a
QUBO with auxiliary bits for the Ocean/QPU path.

``"neuron"`` — the per-neuron problem the authors ran on the D-Wave annealer (§3.2, after Sasdelli
& Chin): the variables are the neuron's *weights* :math:`w \in \{\pm1\}^n`, its output on sample
``b`` is the threshold unit :math:`o_b = [x_b^\top w \ge 0] \in \{0, 1\}`, and the loss is
:math:`\sum_b (t_b - o_b)^2` with target :math:`t_b = (1 - y_{bj})/2`. Since
:math:`t_b - o_b = \tfrac12\big((-y_{bj}) - s_b\big)` with :math:`s_b = 2o_b - 1 =
\operatorname{sign}(\tilde x_b^\top w)` (``sign(0) = +1``), this is the sign objective with the
target :math:`-y_j` and no shift, times 1/4; bnnlab stores and reports it as
:math:`\sum_b (s_b + y_{bj})^2` (four times the authors' loss) so that the same kernels, β ranges
and QUBO encoding serve both. The step then moves *towards* the solution,
:math:`W \leftarrow W + \eta\, w^\star` (:attr:`LayerProblem.step_sign` is ``-1``). As on the
annealer, the fan-in is limited to 16. (The authors' QUBO used 1–3 slack bits for the threshold
and λ = 50; :mod:`bnnlab.hardware.sign_qubo` uses two exact slack registers and a λ from the
targets.)
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from bnnlab._validation import as_array, check_choice, check_real

__all__ = ["FORMULATIONS", "LayerProblem", "LsqProblem", "SignProblem", "layer_problem", "tilde"]

#: Formulations built so far.
FORMULATIONS = ("lsq", "sign", "neuron")

#: Largest fan-in of the ``"neuron"`` formulation (the authors' annealer runs, §3.2).
NEURON_MAX_FAN_IN = 16


def _check_assignments(g: Any, rows: int, n: int) -> tuple[np.ndarray, bool]:
    """``g`` as float64 ``(rows, reads, n)`` after checking shape and ±1 values."""
    g = as_array(g, "g")
    squeeze = g.ndim == 2
    if squeeze:
        g = g[:, None, :]
    if g.ndim != 3 or g.shape[0] != rows or g.shape[2] != n:
        raise ValueError(f"g: expected shape ({rows}, reads, {n}), got {tuple(g.shape)}")
    if not bool(((g == 1) | (g == -1)).all()):
        raise ValueError("g: expected values in {-1, +1}")
    return g.astype(np.float64), squeeze


class LayerProblem:
    """Base of the per-layer problems: ``rows`` independent problems of ``n`` ±1 variables."""

    formulation: str

    @property
    def step_sign(self) -> int:
        """``+1``: a solution is a gradient, ``W <- W - lr g``; ``-1``: it is a target weight,
        ``W <- W + lr w`` (``"neuron"``)."""
        return -1 if self.formulation == "neuron" else 1

    @property
    def n(self) -> int:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def rows(self) -> int:  # pragma: no cover - overridden
        raise NotImplementedError

    def energy(self, g: Any) -> np.ndarray:
        """Energies of assignments ``g`` (``(rows, reads, n)`` or ``(rows, n)``, values ±1).

        Returns float64 ``(rows, reads)`` (or ``(rows,)``).
        """
        gf, squeeze = _check_assignments(g, self.rows, self.n)
        e = self._energy(gf)
        return e[:, 0] if squeeze else e

    def _energy(self, g: np.ndarray) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError

    def _check_row(self, row: Any) -> int:
        if not isinstance(row, int | np.integer) or not 0 <= int(row) < self.rows:
            raise ValueError(f"row: expected an integer in 0..{self.rows - 1}, got {row!r}")
        return int(row)


@dataclasses.dataclass(frozen=True)
class LsqProblem(LayerProblem):
    """The ``m`` quadratic problems of one layer in batched form (see the module docstring).

    Attributes
    ----------
    A : float64 array (n, n)
        :math:`\\tilde X^\\top \\tilde X` with a zero diagonal (shared by every row), exactly
        symmetric (the solvers read its rows for its columns).
    h : float64 array (m, n)
        Linear fields, one row per output unit.
    offset : float64 array (m,)
        Constants :math:`c_j`.
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

    def _energy(self, g: np.ndarray) -> np.ndarray:
        quad = np.einsum("rsi,ik,rsk->rs", g, self.A, g)
        return quad + np.einsum("rsi,ri->rs", g, self.h) + self.offset[:, None]

    def to_bqm(self, row: int) -> Any:
        """Row ``row`` as a ``dimod.BinaryQuadraticModel`` (SPIN, variables ``0..n-1``); its
        energies equal :meth:`energy`. Needs the optional extra ``bnnlab[annealing]``."""
        dimod = _dimod()
        row = self._check_row(row)
        iu, ku = np.triu_indices(self.n, 1)
        quadratic = {
            (int(i), int(k)): 2.0 * float(self.A[i, k]) for i, k in zip(iu, ku, strict=True)
        }
        linear = {i: float(v) for i, v in enumerate(self.h[row])}
        return dimod.BinaryQuadraticModel(linear, quadratic, float(self.offset[row]), dimod.SPIN)


@dataclasses.dataclass(frozen=True)
class SignProblem(LayerProblem):
    """The ``m`` sign-agreement problems of one layer (see the module docstring).

    Attributes
    ----------
    xt : float64 array (B, n)
        :math:`\\tilde X` (shared by every row).
    y : float64 array (m, B)
        The gradient, one row per output unit.
    eps : float
        The threshold shift :math:`\\varepsilon`.
    x : int8 array (B, n)
        The layer's inputs (kept for the QUBO encoding).
    """

    xt: np.ndarray
    y: np.ndarray
    eps: float
    x: np.ndarray
    formulation: str = "sign"

    @property
    def n(self) -> int:
        """Variables per row (the layer's fan-in)."""
        return int(self.xt.shape[1])

    @property
    def rows(self) -> int:
        """Independent problems (the layer's output units)."""
        return int(self.y.shape[0])

    def signs(self, g: Any) -> np.ndarray:
        """:math:`s_b(g)` of assignments ``g`` (``(rows, reads, n)``): int8 ``(rows, reads, B)``."""
        gf, _ = _check_assignments(g, self.rows, self.n)
        return np.where(np.einsum("bi,rsi->rsb", self.xt, gf) + self.eps >= 0, 1, -1).astype(
            np.int8
        )

    def _energy(self, g: np.ndarray) -> np.ndarray:
        s = np.where(np.einsum("bi,rsi->rsb", self.xt, g) + self.eps >= 0, 1.0, -1.0)
        return ((s - self.y[:, None, :]) ** 2).sum(axis=2)

    def to_bqm(self, row: int, *, penalty: float | None = None) -> Any:
        """Row ``row`` encoded as a QUBO (:func:`bnnlab.hardware.sign_qubo.encode`): variables
        ``0..n-1`` are the gradient spins, the rest auxiliary; its ground energy equals the row's."""
        from bnnlab.hardware.sign_qubo import encode

        return encode(self, self._check_row(row), penalty=penalty).bqm


def tilde(x: Any) -> np.ndarray:
    """:math:`\\tilde X`: each column of ``x`` divided by its squared norm (zero columns stay 0)."""
    xf = np.asarray(x, dtype=np.float64)
    norms = (xf * xf).sum(axis=0)
    return np.divide(xf, norms, out=np.zeros_like(xf), where=norms > 0)


def _dimod() -> Any:
    try:
        import dimod
    except ImportError as exc:  # pragma: no cover - the extra is installed in tests
        raise ImportError("this needs dimod: pip install 'bnnlab[annealing]'") from exc
    return dimod


def layer_problem(
    x: Any, y: Any, *, formulation: str = "lsq", alpha: Any = 1.0, eps: float = 0.01
) -> LayerProblem:
    """Build the per-row problems of one layer from a mini-batch.

    Parameters
    ----------
    x : array (B, n)
        The layer's inputs: ±1 (0 where an activation is ``sign(0) = 0``), or any finite reals
        (a graph convolution's aggregated inputs :math:`\\hat A X`); the QUBO encoding of
        ``"sign"``/``"neuron"`` needs ±1.
    y : array (B, m)
        The loss gradient with respect to the layer's outputs (finite).
    formulation : {"lsq", "sign", "neuron"}
        The problem (see the module docstring).
    alpha : float or "auto"
        Target scale :math:`\\alpha > 0` of ``"lsq"``, or ``"auto"`` (per row; module docstring).
    eps : float
        Threshold shift :math:`\\varepsilon \\ge 0` of ``"sign"`` (the authors' 0.01; ``"neuron"``
        has none).

    Returns
    -------
    LsqProblem or SignProblem
    """
    check_choice(formulation, "formulation", FORMULATIONS)
    if not (isinstance(alpha, str) and alpha == "auto"):
        alpha = check_real(alpha, "alpha", low=0.0, open_low=True)
    eps = check_real(eps, "eps", low=0.0)
    x = as_array(x, "x", ndim=2)
    y = as_array(y, "y", ndim=2)
    if x.dtype.kind not in "iuf":
        raise TypeError(f"x: expected real inputs, got dtype {x.dtype}")
    if not bool(np.isfinite(x).all()):
        raise ValueError("x: NaN or inf in the inputs")
    if y.dtype.kind not in "iuf":
        raise TypeError(f"y: expected real gradients, got dtype {y.dtype}")
    if not bool(np.isfinite(y).all()):
        raise ValueError("y: NaN or inf in the gradient")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"y: {y.shape[0]} rows for a batch of {x.shape[0]} (x)")
    xt = tilde(x)
    yf = y.astype(np.float64)
    if formulation in ("sign", "neuron"):
        neuron = formulation == "neuron"
        if neuron and x.shape[1] > NEURON_MAX_FAN_IN:
            raise ValueError(
                f"x: the neuron formulation takes a fan-in of at most {NEURON_MAX_FAN_IN} (the "
                f"authors' annealer limit), got {x.shape[1]}"
            )
        return SignProblem(
            xt=np.ascontiguousarray(xt),
            y=np.ascontiguousarray(-yf.T if neuron else yf.T),
            eps=0.0 if neuron else eps,
            x=np.ascontiguousarray(x),
            formulation=formulation,
        )
    full = xt.T @ xt
    full = 0.5 * (full + full.T)  # exactly symmetric (BLAS may round (i, k) and (k, i) apart)
    diag = np.diag(full).copy()
    a = full - np.diag(diag)
    corr = (xt.T @ yf).T  # (m, n): X~^T y_j per row
    ynorm2 = (yf * yf).sum(axis=0)
    if isinstance(alpha, str):
        reach = np.linalg.norm(xt @ np.where(corr >= 0, 1.0, -1.0).T, axis=0)
        scale = np.divide(reach, np.sqrt(ynorm2), out=np.ones_like(reach), where=ynorm2 > 0)
    else:
        scale = np.full(yf.shape[1], alpha)
    h = -2.0 * scale[:, None] * corr
    offset = diag.sum() + scale**2 * ynorm2
    return LsqProblem(A=a, h=np.ascontiguousarray(h), offset=offset)
