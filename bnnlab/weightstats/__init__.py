"""Statistics of latent weights: maximum-likelihood fits and per-layer measurements.

- :mod:`bnnlab.weightstats.fits` — Laplace / Gaussian / generalized-normal ML fits with
  log-likelihood, AIC, KS statistic and the standard error of the fitted shape.
- :mod:`bnnlab.weightstats.layer` — one binarized layer: histogram, sign and angle-optimal {0,1}
  codes (fraction of ones, bit entropy, flips), fits, and k*/n predicted by ``bnnlab.theory`` for the
  fitted law next to k*/n found by the exact solver on the weights.
"""

from bnnlab.weightstats.fits import FAMILIES, MIN_SAMPLES, Fit, FitReport, fit, fit_all
from bnnlab.weightstats.layer import (
    HIST_EDGES_STD,
    Histogram,
    LayerCodes,
    LayerStats,
    filters,
    histogram,
    layer_stats,
    optimal_code,
    predicted_fraction,
)

__all__ = [
    "FAMILIES",
    "HIST_EDGES_STD",
    "MIN_SAMPLES",
    "Fit",
    "FitReport",
    "Histogram",
    "LayerCodes",
    "LayerStats",
    "filters",
    "fit",
    "fit_all",
    "histogram",
    "layer_stats",
    "optimal_code",
    "predicted_fraction",
]
