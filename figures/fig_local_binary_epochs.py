"""Local-binary and CP+R: train and test accuracy against epoch (records shared with the width figure)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from _common import save

from bnnlab.experiments import reproduce as rp


def curves(rows: list[dict], learner: str, dataset: str) -> dict[str, tuple]:
    """width -> (epochs, mean train acc, mean test acc) over seeds."""
    out = {}
    widths = sorted(
        {r["width"] for r in rows if r["learner"] == learner and r["dataset"] == dataset},
        key=lambda w: sum(rp.parse_width(w)),
    )
    for w in widths:
        sel = [r for r in rows if (r["learner"], r["dataset"], r["width"]) == (learner, dataset, w)]
        ep = np.array(sorted({r["epoch"] for r in sel}))
        tr = np.array([np.mean([r["train_accuracy"] for r in sel if r["epoch"] == e]) for e in ep])
        te = np.array([np.mean([r["test_accuracy"] for r in sel if r["epoch"] == e]) for e in ep])
        out[w] = (ep, tr, te)
    return out


def main(out: Path, *, full: bool = False) -> list[Path]:
    rows = rp.figure_sweep(out / "records", full=full)
    datasets = rp.FIGURE_RUNS[full]["datasets"]
    fig, axes = plt.subplots(
        len(rp.LEARNERS),
        len(datasets),
        squeeze=False,
        figsize=(4.4 * len(datasets), 3.0 * len(rp.LEARNERS)),
    )
    for i, learner in enumerate(rp.LEARNERS):
        for j, ds in enumerate(datasets):
            ax = axes[i, j]
            for k, (w, (ep, tr, te)) in enumerate(curves(rows, learner, ds).items()):
                ax.plot(ep, te, color=f"C{k}", marker=".", label=f"{w} test")
                ax.plot(ep, tr, color=f"C{k}", ls=":", label=f"{w} train")
            ax.set_xlabel("epoch")
            ax.set_ylabel("accuracy (%)")
            ax.set_title(f"{learner} — {ds}", fontsize=9)
            ax.legend(fontsize=6, ncol=2)
    fig.suptitle("Accuracy vs epoch — " + rp.describe_figure_runs(full), fontsize=9)
    fig.tight_layout()
    return save(fig, out, "fig_local_binary_epochs")
