"""Local-binary and CP+R: final test accuracy against hidden width, with the paper's values.

Records come from :func:`bnnlab.experiments.reproduce.figure_sweep` under ``out/records``
(shared by every ``fig_local_binary_*`` figure). The fast default runs Prototypes and the embedded
Fashion-MNIST mini set at small widths for a few epochs; ``full=True`` runs full Fashion-MNIST at
the paper's widths. Paper values (10 seeds x 50 epochs) are drawn as open markers.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from _common import save

from bnnlab.experiments import reproduce as rp

COLORS = {"local-binary": "C0", "cp-r": "C3"}


def final_accuracy(rows: list[dict]) -> dict[tuple[str, str, str], list[float]]:
    """(learner, dataset, width) -> final-epoch test accuracies over seeds."""
    last: dict[tuple, tuple[int, float]] = {}
    for r in rows:
        key = (r["learner"], r["dataset"], r["width"], r["seed"])
        if key not in last or r["epoch"] > last[key][0]:
            last[key] = (r["epoch"], r["test_accuracy"])
    out: dict[tuple[str, str, str], list[float]] = {}
    for (learner, ds, w, _), (_, acc) in sorted(last.items()):
        out.setdefault((learner, ds, w), []).append(acc)
    return out


def hidden_units(width: str) -> int:
    """Total hidden units of a width label (the x axis)."""
    return sum(rp.parse_width(width))


def paper_key(dataset: str) -> str:
    return "prototypes" if dataset == "prototypes" else "fashion-mnist"


def main(out: Path, *, full: bool = False) -> list[Path]:
    rows = rp.figure_sweep(out / "records", full=full)
    finals = final_accuracy(rows)
    datasets = rp.FIGURE_RUNS[full]["datasets"]
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.6 * len(datasets), 3.4), squeeze=False)
    for ax, ds in zip(axes[0], datasets, strict=True):
        for learner in rp.LEARNERS:
            pts = sorted(
                (hidden_units(w), np.mean(a), np.std(a))
                for (lr, d, w), a in finals.items()
                if lr == learner and d == ds
            )
            if pts:
                x, m, s = map(np.array, zip(*pts, strict=True))
                ax.errorbar(
                    x, m, yerr=s, marker="o", color=COLORS[learner], label=f"{learner} (ours)"
                )
            paper = rp.PAPER[learner][paper_key(ds)]
            px = [hidden_units(w) for w in paper]
            py = [v[0] for v in paper.values()]
            ax.plot(
                px,
                py,
                ls="--",
                marker="s",
                mfc="none",
                color=COLORS[learner],
                alpha=0.7,
                label=f"{learner} (paper{'' if ds == paper_key(ds) else ', full F-MNIST'})",
            )
        ax.set_xscale("log")
        ax.set_xlabel("hidden units (K1 + K2)")
        ax.set_ylabel("final test accuracy (%)")
        ax.set_title(ds, fontsize=9)
        ax.legend(fontsize=6)
    fig.suptitle("Accuracy vs width — " + rp.describe_figure_runs(full), fontsize=9)
    fig.tight_layout()
    return save(fig, out, "fig_local_binary_width")
