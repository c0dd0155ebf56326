"""Per-epoch analysis hooks for the latent-weight training loop.

:class:`WeightStatsHook` is a training-loop callback ``hook(epoch, model, metrics) -> dict``: it
measures every binarized layer of the model with :func:`bnnlab.weightstats.layer_stats` (histogram,
codes, entropies, flip ratios since its previous call, maximum-likelihood fits, predicted vs exact
k*/n) and returns the measurements as extra columns of the epoch row.

Row layout
----------
The epoch row stays one row per run × epoch (what the training loop and
:class:`~bnnlab.experiments.records.RunRecorder` write). The hook adds ``"layers"`` — the list of
binarized layer names in model order — and, for each layer, its statistics under the key
``"<layer>/<stat>"`` (e.g. ``"fc1/std.beta"``, ``"conv2/kstar.exact"``; the statistic names are
documented in :func:`bnnlab.weightstats.layer_stats`). :func:`layer_rows` turns such rows into
tidy rows, one per run × epoch × layer, with the statistic names as columns and ``"layer"``
(name) and ``"depth"`` (position among the binarized layers) added — the form the figures read.

Call the hook once before training with ``epoch=0`` to record the initialisation; flip ratios are
then defined from epoch 1 on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from bnnlab._validation import check_int
from bnnlab.weightstats import LayerCodes, layer_stats

SEPARATOR = "/"


def binarized_weights(model: Any) -> list[tuple[str, Any, int]]:
    """``[(name, latent weight array, out_axis)]`` of the model's binarized layers.

    Uses ``model.binarized_layers()`` (``[(name, layer)]``); a layer's latent weight is
    ``layer.weight`` (a parameter object with ``.data``, or an array). The filter axis is the layer's
    ``out_axis`` attribute when it has one, else 0.
    """
    if not hasattr(model, "binarized_layers"):
        raise TypeError(
            f"model: expected a model with binarized_layers(), got {type(model).__name__}"
        )
    out = []
    for name, layer in model.binarized_layers():
        if SEPARATOR in name:
            raise ValueError(f"model: layer name {name!r} contains {SEPARATOR!r}")
        weight = getattr(layer, "weight", None)
        if weight is None:
            raise TypeError(f"model: binarized layer {name!r} has no .weight")
        out.append((name, getattr(weight, "data", weight), int(getattr(layer, "out_axis", 0))))
    if not out:
        raise ValueError("model: has no binarized layers to measure")
    return out


class WeightStatsHook:
    """Record the latent-weight statistics of every binarized layer at the end of each epoch.

    Parameters
    ----------
    seed : int
        Seed of the fits' subsampling; the subsample of layer ``i`` at epoch ``e`` is drawn from
        ``SeedSequence([seed, e, i])``, so a rerun records the same numbers.
    every : int
        Measure every ``every``-th epoch (and always epoch 0 and the first call); other calls
        return ``{}``.
    max_samples : int or None
        Values per fit (see :func:`bnnlab.weightstats.fit_all`).

    Besides the statistics of :func:`bnnlab.weightstats.layer_stats`, each layer gets ``drift``,
    :math:`\\lVert w - w_0\\rVert_2 / \\lVert w_0\\rVert_2` with :math:`w_0` the weight at the
    hook's first call (the initialisation when called at epoch 0): how far training has moved the
    latent weights, without which a shape "kept from the initialisation" cannot be told apart from
    one learned.

    Notes
    -----
    The flip ratios compare the codes with those of the hook's *previous measurement* (the
    previous epoch when ``every=1``). A new hook should be used for every run.
    """

    def __init__(self, *, seed: int = 0, every: int = 1, max_samples: int | None = 10_000):
        self.seed = check_int(seed, "seed", minimum=0)
        self.every = check_int(every, "every", minimum=1)
        if max_samples is not None:
            check_int(max_samples, "max_samples", minimum=20)
        self.max_samples = max_samples
        self._previous: dict[str, LayerCodes] = {}
        self._first: dict[str, np.ndarray] = {}
        self._calls = 0

    def __call__(self, epoch: int, model: Any, metrics: Mapping[str, Any] | None = None) -> dict:
        """Measure the model now; return ``{"layers": [...], "<layer>/<stat>": value, ...}``."""
        epoch = check_int(epoch, "epoch", minimum=0)
        first = self._calls == 0
        self._calls += 1
        if not first and epoch != 0 and epoch % self.every:
            return {}
        row: dict[str, Any] = {}
        names = []
        for i, (name, weight, out_axis) in enumerate(binarized_weights(model)):
            stats = layer_stats(
                weight,
                previous=self._previous.get(name),
                out_axis=out_axis,
                max_samples=self.max_samples,
                seed=np.random.default_rng(np.random.SeedSequence([self.seed, epoch, i])),
            )
            self._previous[name] = stats.codes
            host = np.asarray(weight.get() if hasattr(weight, "get") else weight, dtype=np.float64)
            first = self._first.setdefault(name, host.copy())
            drift = float(np.linalg.norm(host - first) / max(np.linalg.norm(first), 1e-300))
            names.append(name)
            row.update({f"{name}{SEPARATOR}{k}": v for k, v in stats.row.items()})
            row[f"{name}{SEPARATOR}drift"] = drift
        return {"layers": names, **row}


def layer_rows(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Explode epoch rows written with :class:`WeightStatsHook` into one row per layer.

    Every column that is not a ``"<layer>/<stat>"`` key (run id, epoch, configuration, accuracy, …)
    is copied into each layer's row; the layer's statistics become plain columns; ``"layer"`` and
    ``"depth"`` are added. Rows without ``"layers"`` (epochs the hook skipped) are dropped.
    """
    out = []
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise TypeError(f"rows: row {i} is a {type(row).__name__}, expected a mapping")
        names = row.get("layers")
        if not names:
            continue
        common = {k: v for k, v in row.items() if SEPARATOR not in k and k != "layers"}
        for depth, name in enumerate(names):
            prefix = f"{name}{SEPARATOR}"
            stats = {k[len(prefix) :]: v for k, v in row.items() if k.startswith(prefix)}
            out.append({**common, "layer": name, "depth": depth, **stats})
    return out
