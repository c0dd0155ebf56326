"""Final test accuracy against training memory and against Boolean gates per epoch (§2.6 model).

Our runs (records shared with the width figure) and the paper's reported accuracies, each placed
at the cost of its network by :func:`bnnlab.learn.local.cost.cost_report` for the panel's dataset size (so in
the mini panel the paper's full-Fashion-MNIST accuracies sit at mini-set costs). The note in each
panel gives how many times more a float32 SGD MLP of the same shape costs (its accuracy is not
measured here).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from _common import save
from fig_local_binary_width import COLORS, final_accuracy, paper_key
from matplotlib.ticker import NullFormatter

from bnnlab.data import binary_info
from bnnlab.experiments import reproduce as rp
from bnnlab.learn.local.cost import cost_report


def costs(learner: str, dataset: str, width: str) -> tuple[tuple[float, float], tuple[int, int]]:
    """((binary Mbit, float Mbit), (binary gates/epoch, float gates/epoch))."""
    info = binary_info(dataset)
    r = cost_report(
        learner,
        info.n_features,
        list(rp.parse_width(width)),
        info.n_classes,
        n_train=info.n_train,
    )
    return tuple(b / 1e6 for b in r.memory_bits), r.gates_per_epoch


def main(out: Path, *, full: bool = False) -> list[Path]:
    rows = rp.figure_sweep(out / "records", full=full)
    finals = final_accuracy(rows)
    datasets = rp.FIGURE_RUNS[full]["datasets"]
    fig, axes = plt.subplots(len(datasets), 2, figsize=(8.8, 3.1 * len(datasets)), squeeze=False)
    for i, ds in enumerate(datasets):
        for j, (what, label) in enumerate(
            [(0, "training memory (Mbit)"), (1, "Boolean gates per epoch")]
        ):
            ax = axes[i, j]
            for learner in rp.LEARNERS:
                pts = sorted(
                    (costs(learner, ds, w)[what], np.mean(a))
                    for (lr, d, w), a in finals.items()
                    if lr == learner and d == ds
                )
                if pts:
                    ax.plot(
                        [p[0][0] for p in pts],
                        [p[1] for p in pts],
                        "o-",
                        color=COLORS[learner],
                        label=f"{learner} (ours)",
                    )
                paper = rp.PAPER[learner][paper_key(ds)]
                px = [costs(learner, ds, w)[what][0] for w in paper]
                ax.plot(
                    px,
                    [v[0] for v in paper.values()],
                    "s--",
                    mfc="none",
                    color=COLORS[learner],
                    alpha=0.7,
                    label=f"{learner} (paper{'' if ds == paper_key(ds) else ', full F-MNIST'})",
                )
            ratios = [
                costs("local-binary", ds, w)[what] for w in rp.PAPER["local-binary"]["prototypes"]
            ]
            lo, hi = min(f / b for b, f in ratios), max(f / b for b, f in ratios)
            ax.text(
                0.02,
                0.03,
                f"float32 SGD MLP of the same shape: {lo:.3g}-{hi:.3g}x more",
                transform=ax.transAxes,
                fontsize=6,
                color="0.3",
            )
            if what:
                ax.set_xscale("log")
                ax.xaxis.set_minor_formatter(NullFormatter())
            ax.set_xlabel(label)
            ax.set_ylabel("final test accuracy (%)")
            ax.set_title(ds, fontsize=9)
            ax.legend(fontsize=6)
    fig.suptitle(
        "Accuracy vs cost (paper's cost model) — " + rp.describe_figure_runs(full), fontsize=9
    )
    fig.tight_layout()
    return save(fig, out, "fig_local_binary_cost")
