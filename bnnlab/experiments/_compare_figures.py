"""Figures of a comparison, drawn from its finished records (never from training code).

Three PNG files beside the records, one panel per dataset, one colour per variant:

``accuracy-vs-epoch.png``
    test accuracy (%) against the epoch: mean over seeds, band ± one std (ddof=1);
``accuracy-vs-cost.png``
    final test accuracy (mean ± std over seeds) against ``gates_per_epoch`` (log axis); variants
    without that cost column are left out;
``flip-ratio.png``
    flip ratio against the epoch: per run, the mean over its binarised layers' ``L/flip_ratio``
    columns; then the mean over seeds, band ± one std.

Matplotlib is used through :class:`matplotlib.figure.Figure` (the Agg canvas), so nothing touches
pyplot's global state and no display is needed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.ticker import MaxNLocator

from bnnlab.experiments._compare_spec import Spec
from bnnlab.experiments._compare_stats import RunResult

__all__ = ["write_figures"]


def _value(row: dict[str, Any], key: str) -> float:
    v = row.get(key)
    return float("nan") if v is None else float(v)


def _flip(row: dict[str, Any]) -> float:
    vals = [_value(row, k) for k in row if k.endswith("/flip_ratio")]
    vals = [v for v in vals if not np.isnan(v)]
    return float(np.mean(vals)) if vals else float("nan")


def _curves(
    ax: Any, spec: Spec, mine: Sequence[RunResult], value: Callable[[dict[str, Any]], float]
) -> None:
    for i, v in enumerate(spec.variants):
        runs = [r for r in mine if r.run.variant == v]
        if not runs:
            continue
        y = np.array([[value(row) for row in r.rows] for r in runs])  # seeds x epochs
        epochs = np.arange(1, y.shape[1] + 1)
        mean = y.mean(axis=0)
        color = f"C{i % 10}"
        ax.plot(epochs, mean, color=color, label=f"{v.label} (n={len(runs)})")
        if len(runs) > 1:
            std = y.std(axis=0, ddof=1)
            ax.fill_between(epochs, mean - std, mean + std, color=color, alpha=0.2, lw=0)
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _cost(ax: Any, spec: Spec, mine: Sequence[RunResult]) -> None:
    drawn = False
    for i, v in enumerate(spec.variants):
        runs = [r for r in mine if r.run.variant == v]
        gates = [r.cost_columns().get("gates_per_epoch") for r in runs]
        if not runs or any(g is None for g in gates):
            continue
        acc = np.array([_value(r.final, "test_accuracy") for r in runs])
        err = acc.std(ddof=1) if len(acc) > 1 else 0.0
        ax.errorbar(
            [float(np.mean(gates))],  # type: ignore[arg-type]
            [acc.mean()],
            yerr=[err],
            fmt="o",
            color=f"C{i % 10}",
            capsize=3,
            label=v.label,
        )
        drawn = True
    if drawn:
        ax.set_xscale("log")
    else:
        ax.text(0.5, 0.5, "no gates_per_epoch column", ha="center", transform=ax.transAxes)
    ax.set_xlabel("Boolean gates per epoch")


def write_figures(
    spec: Spec, results: Sequence[RunResult], out: str | os.PathLike[str]
) -> list[Path]:
    """Draw the three figures of the module docstring into ``out``; return their paths."""
    from matplotlib.figure import Figure

    from bnnlab._io import atomic_path

    out = Path(out)
    n = len(spec.datasets)
    kinds: list[tuple[str, str, Callable[[Any, Sequence[RunResult]], None]]] = [
        (
            "accuracy-vs-epoch.png",
            "test accuracy (%)",
            lambda ax, mine: _curves(ax, spec, mine, lambda r: _value(r, "test_accuracy")),
        ),
        ("accuracy-vs-cost.png", "final test accuracy (%)", lambda ax, m: _cost(ax, spec, m)),
        (
            "flip-ratio.png",
            "flip ratio (mean over layers)",
            lambda ax, m: _curves(ax, spec, m, _flip),
        ),
    ]
    paths = []
    for filename, ylabel, draw in kinds:
        fig = Figure(figsize=(4.5 * n + 0.5, 3.6), layout="constrained")
        axes = fig.subplots(1, n, squeeze=False)[0]
        for ax, dataset in zip(axes, spec.datasets, strict=True):
            draw(ax, [r for r in results if r.run.dataset == dataset])
            ax.set_title(dataset)
            ax.set_ylabel(ylabel)
            ax.grid(alpha=0.3)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize="small")
        fig.suptitle(f"{spec.name}: {len(spec.seeds)} seed(s) x {spec.epochs} epochs")
        with atomic_path(out / filename) as tmp:
            fig.savefig(tmp, dpi=120)
        paths.append(out / filename)
    return paths
