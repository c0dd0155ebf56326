"""Per-layer statistics of latent weights: histogram, codes, entropies, fits and k*/n.

A binarized layer's latent weight is viewed as a matrix of *filters* (rows): one row per output unit
of a dense layer or per output channel of a convolution, its fan-in along the row
(:func:`filters`). Following the SiMaN code (REFERENCES.md §1.3) each filter is centred by its own
mean before its magnitudes are aligned with a {0,1} code.

Statistics of one layer (:func:`layer_stats`):

- **histogram** of the raw latent weights over fixed bin edges in units of the layer's standard
  deviation around its mean (:data:`HIST_EDGES_STD`, :math:`\\pm 6\\sigma` in 48 bins, plus under-
  and overflow counts), so histograms of different epochs and layers share their bins;
- **sign code** :math:`b = 1[\\operatorname{sign}(w) = +1]` with :math:`\\operatorname{sign}(0) = +1`
  (:func:`bnnlab.signs.sign`, ``zero="plus"``: the rule of the sign binarizers and of
  :func:`bnnlab.entropy.bit_entropy`): fraction of ones and bit entropy (``bnnlab.entropy``);
- **angle-optimal {0,1} code** per filter: with :math:`v = |w - \\bar w|`, the exact solver
  ``bnnlab.theory.angle.align(v, code="01")`` returns :math:`k^* = \\arg\\max_k S_k/\\sqrt k`
  (:math:`S_k` the sum of the :math:`k` largest magnitudes) and the code marks the :math:`k^*`
  largest magnitudes. Reported: the mean and spread over filters of :math:`k^*/n`, the :math:`k^*/n`
  of the whole layer aligned at once (centred by the layer mean), the fraction of ones and bit
  entropy of the code (pooled over the layer, and averaged over filters);
- **flip ratios** of both codes since the previous call (when the previous codes are given);
- **maximum-likelihood fits** (:mod:`bnnlab.weightstats.fits`) of Laplace, Gaussian and generalized
  normal laws to two samples: ``raw`` — the layer's latent weights as they are (what a histogram of
  the layer shows; filters of different scales pool into a scale mixture, which is heavier-tailed
  than any one filter); ``std`` — each filter centred and divided by its own standard deviation,
  then pooled (what the per-filter {0,1} code actually sees, since :math:`k^*` is scale-free);
- **predicted k*/n**: the continuous-limit optimum of ``bnnlab.theory.distributions.optimum`` for
  the generalized normal law with the fitted :math:`\\hat\\beta` of each sample, next to the Laplace
  (:math:`1/e`) and Gaussian constants; its bit entropy :math:`H(k^*/n)` likewise.

References
----------
Lin et al., SiMaN: Sign-to-Magnitude Network Binarization, IEEE TPAMI 45(5), 2023 (arXiv
2102.07981).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from bnnlab._validation import as_array, check_finite, check_int
from bnnlab.entropy import bit_entropy, flip_ratio, fraction_ones
from bnnlab.signs import signed
from bnnlab.theory.angle import align
from bnnlab.theory.distributions import optimum
from bnnlab.weightstats.fits import FitReport, fit_all

HIST_EDGES_STD: np.ndarray = np.linspace(-6.0, 6.0, 49)
"""Histogram bin edges in units of the layer's standard deviation around its mean."""

_EPS = 1e-12


def filters(weight: Any, *, out_axis: int = 0) -> np.ndarray:
    """View a layer weight as a ``(n_filters, fan_in)`` float64 host matrix.

    ``out_axis`` names the output (filter) axis of ``weight``: 0 for ``(out, in)`` dense weights and
    ``(out, in, kh, kw)`` convolutions, 1 for ``(in, out)`` dense weights. A 1-D weight is one
    filter.
    """
    arr = as_array(weight, "weight", ndim=(1, 2, 3, 4, 5))
    check_finite(arr, "weight")
    if hasattr(arr, "get"):
        arr = arr.get()
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim == 1:
        return arr[None, :]
    out_axis = check_int(out_axis, "out_axis", minimum=-arr.ndim, maximum=arr.ndim - 1)
    arr = np.moveaxis(arr, out_axis, 0)
    return arr.reshape(arr.shape[0], -1)


@dataclass(frozen=True)
class Histogram:
    """Counts of values over ``mean + std * HIST_EDGES_STD``, with under- and overflow."""

    counts: np.ndarray
    mean: float
    std: float
    below: int
    above: int

    @property
    def edges(self) -> np.ndarray:
        """Bin edges in the units of the values."""
        return self.mean + self.std * HIST_EDGES_STD

    def density(self) -> np.ndarray:
        """Counts normalised to a probability density over :attr:`edges` (all values counted)."""
        total = int(self.counts.sum()) + self.below + self.above
        return self.counts / (total * np.diff(self.edges))


def histogram(values: Any) -> Histogram:
    """Histogram of the values over fixed edges in units of their standard deviation."""
    arr = as_array(values, "values")
    check_finite(arr, "values")
    x = np.asarray(arr.get() if hasattr(arr, "get") else arr, dtype=np.float64).ravel()
    mean = float(x.mean())
    std = float(x.std())
    if std == 0.0:
        raise ValueError("values: all values are equal; no histogram scale")
    z = (x - mean) / std
    counts, _ = np.histogram(z, bins=HIST_EDGES_STD)
    return Histogram(
        counts=counts.astype(np.int64),
        mean=mean,
        std=std,
        below=int(np.count_nonzero(z < HIST_EDGES_STD[0])),
        above=int(np.count_nonzero(z > HIST_EDGES_STD[-1])),
    )


def optimal_code(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Angle-optimal {0,1} code of each filter's centred magnitudes.

    Parameters
    ----------
    rows : array_like, shape (n_filters, fan_in)
        Real, finite weights, one filter per row (:func:`filters`); no row may be constant.

    Returns
    -------
    bits : ndarray of uint8, same shape
        1 for the :math:`k^*_i` largest :math:`|w_{ij} - \\bar w_i|` of each row.
    k : ndarray of int64, shape (n_filters,)
        :math:`k^*_i` from the exact solver ``bnnlab.theory.angle.align``.

    Raises
    ------
    ValueError
        ``rows`` not 2-D, empty, non-finite, or with a constant row (its centred magnitudes are
        all zero and have no angle).
    TypeError
        ``rows`` not real-valued.
    """
    rows = as_array(rows, "rows", ndim=2)
    if rows.dtype.kind not in "iuf":
        raise TypeError(f"rows: expected real values, got dtype {rows.dtype}")
    check_finite(rows, "rows")
    rows = np.asarray(rows.get() if hasattr(rows, "get") else rows, dtype=np.float64)
    centred = rows - rows.mean(axis=1, keepdims=True)
    if not centred.any(axis=1).all():
        raise ValueError("rows: a constant row has all-zero centred magnitudes (no angle)")
    res = align(centred, code="01")
    k = np.asarray(res.k, dtype=np.int64).reshape(rows.shape[0])
    return np.asarray(res.code, dtype=np.uint8).reshape(rows.shape), k


@functools.lru_cache(maxsize=4096)
def _predicted(family: str, beta: float | None) -> tuple[float, float]:
    opt = optimum(family, beta=beta, method="numeric")
    return float(opt.fraction), float(opt.entropy)


def predicted_fraction(family: str, beta: float | None = None) -> tuple[float, float]:
    """Continuous-limit ``(k*/n, H(k*/n))`` of ``bnnlab.theory`` for a law (``beta`` for gennorm).

    The fitted shape is rounded to 3 decimals (far below its standard error) so repeated calls
    share a cache. For ``"gennorm"`` a missing or non-finite ``beta`` (a fit that did not converge)
    gives ``(nan, nan)``, so that a failed fit propagates as NaN into the records instead of
    stopping a study.
    """
    if family == "gennorm":
        if beta is None or not np.isfinite(beta):
            return float("nan"), float("nan")
        beta = round(float(beta), 3)
    return _predicted(family, beta)


@dataclass(frozen=True)
class LayerCodes:
    """The codes of one layer at one time, kept to compute flip ratios at the next call."""

    sign: np.ndarray
    opt: np.ndarray


@dataclass(frozen=True)
class LayerStats:
    """Everything :func:`layer_stats` measured on one layer (see :meth:`row`)."""

    row: dict[str, Any]
    codes: LayerCodes
    hist: Histogram
    raw: FitReport
    std: FitReport


def layer_stats(
    weight: Any,
    *,
    previous: LayerCodes | None = None,
    out_axis: int = 0,
    max_samples: int | None = 20_000,
    seed: Any = 0,
) -> LayerStats:
    """Measure one binarized layer's latent weight.

    Parameters
    ----------
    weight : array_like
        The latent (real-valued) weight.
    previous : LayerCodes, optional
        The codes of an earlier call on the same layer; the flip ratios are NaN without it.
    out_axis : int
        The filter axis of ``weight`` (see :func:`filters`).
    max_samples, seed :
        Subsampling of the fits (see :func:`bnnlab.weightstats.fits.fit_all`).

    Returns
    -------
    LayerStats
        ``.row`` is a flat dictionary of scalars (and the histogram counts as a list) with keys:
        ``n, n_filters, fan_in, mean, std, hist, hist_below, hist_above``;
        ``sign.ones, sign.entropy, sign.flip``;
        ``opt.ones, opt.entropy, opt.entropy_filter, opt.flip``;
        ``kstar.exact`` (mean over filters of :math:`k^*_i/n`), ``kstar.exact_sd`` (their standard
        deviation), ``kstar.exact_layer`` (whole layer aligned at once);
        ``kstar.pred_std`` / ``kstar.pred_raw`` and ``entropy.pred_std`` / ``entropy.pred_raw``
        (the theory for the fitted gennorm :math:`\\hat\\beta`), ``kstar.pred_laplace``,
        ``kstar.pred_gaussian``; and the fits as ``raw.*`` and ``std.*``
        (:meth:`FitReport.as_row`: ``best, beta, beta_se, <family>.{loc,scale,loglik,aic,ks}``).
    """
    rows = filters(weight, out_axis=out_axis)
    n_filters, fan_in = rows.shape
    if fan_in < 2:
        raise ValueError(f"weight: need a fan-in of at least 2 per filter, got {fan_in}")
    hist = histogram(rows)
    constant = np.flatnonzero(~(rows - rows.mean(axis=1, keepdims=True)).any(axis=1))
    if constant.size:
        raise ValueError(
            f"weight: filter {int(constant[0])} is constant (its centred magnitudes have no angle)"
        )
    if previous is not None:
        if not isinstance(previous, LayerCodes):
            raise TypeError(f"previous: expected LayerCodes or None, got {type(previous).__name__}")
        if previous.sign.shape != rows.shape or previous.opt.shape != rows.shape:
            raise ValueError(
                f"previous: codes of shape {previous.sign.shape} for a weight of "
                f"{rows.shape[0]} filters x {rows.shape[1]} (not the same layer)"
            )

    sign = (signed(rows, "plus") > 0).astype(np.uint8)
    opt, k = optimal_code(rows)
    k_layer = int(align(rows.ravel() - rows.mean(), code="01").k)

    centred = rows - rows.mean(axis=1, keepdims=True)
    sd = centred.std(axis=1, keepdims=True)
    standardised = centred[sd[:, 0] > _EPS] / sd[sd[:, 0] > _EPS]
    raw_fit = fit_all(rows, max_samples=max_samples, seed=seed)
    std_fit = fit_all(standardised, max_samples=max_samples, seed=seed)

    pred_std, h_std = predicted_fraction("gennorm", std_fit["gennorm"].beta)
    pred_raw, h_raw = predicted_fraction("gennorm", raw_fit["gennorm"].beta)
    frac = k / fan_in
    flips = (
        (
            float(flip_ratio(previous.sign, sign, encoding="01")),
            float(flip_ratio(previous.opt, opt, encoding="01")),
        )
        if previous is not None
        else (float("nan"), float("nan"))
    )
    row: dict[str, Any] = {
        "n": int(rows.size),
        "n_filters": int(n_filters),
        "fan_in": int(fan_in),
        "mean": hist.mean,
        "std": hist.std,
        "hist": hist.counts.tolist(),
        "hist_below": hist.below,
        "hist_above": hist.above,
        "sign.ones": float(fraction_ones(sign, encoding="01")),
        "sign.entropy": float(bit_entropy(sign, encoding="01")),
        "sign.flip": flips[0],
        "opt.ones": float(fraction_ones(opt, encoding="01")),
        "opt.entropy": float(bit_entropy(opt, encoding="01")),
        "opt.entropy_filter": float(np.mean(bit_entropy(opt, axis=1, encoding="01"))),
        "opt.flip": flips[1],
        "kstar.exact": float(frac.mean()),
        "kstar.exact_sd": float(frac.std()),
        "kstar.exact_layer": k_layer / rows.size,
        "kstar.pred_std": pred_std,
        "kstar.pred_raw": pred_raw,
        "entropy.pred_std": h_std,
        "entropy.pred_raw": h_raw,
        "kstar.pred_laplace": predicted_fraction("laplace")[0],
        "kstar.pred_gaussian": predicted_fraction("gaussian")[0],
    }
    row.update(raw_fit.as_row("raw."))
    row.update(std_fit.as_row("std."))
    return LayerStats(
        row=row, codes=LayerCodes(sign=sign, opt=opt), hist=hist, raw=raw_fit, std=std_fit
    )
