"""Local-binary ablations (REFERENCES.md §2.7): final test accuracy against γ, clip, rob and depth.

Records come from :func:`bnnlab.experiments.ablations.ablation_sweep` under ``out/records`` (the
same records directory as the other ``fig_local_binary_*`` figures, so identical runs are shared).
The fast default runs a reduced grid on the embedded Fashion-MNIST mini set for 2 epochs (30-50 s on
one core); ``full=True`` runs the paper's grids on full Fashion-MNIST, 3 seeds x 50 epochs (about
two CPU days; the same runs as ``bnnlab reproduce local-binary --ablation NAME --seeds 3``). The
paper's numbers (full Fashion-MNIST, 50 epochs) are drawn as open markers; clipping at c <= 16 is
reported there only as "about 10 %".
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from _common import save

from bnnlab.experiments import ablations as ab

#: Axis scale per ablation.
XSCALE = {"gamma": "log", "clip": "log", "rob": "linear", "depth": "linear"}


def main(out: Path, *, full: bool = False) -> list[Path]:
    tables = ab.ablation_sweep(out / "records", full=full)
    fig, axes = plt.subplots(1, len(tables), figsize=(3.3 * len(tables), 3.1), squeeze=False)
    for ax, (name, rows) in zip(axes[0], tables.items(), strict=True):
        spec = ab.ABLATIONS[name]
        if rows:
            x = np.array([float(r["value"]) for r in rows])
            ax.errorbar(
                x,
                [r["mean"] for r in rows],
                yerr=[r["std"] for r in rows],
                marker="o",
                color="C0",
                label="ours",
            )
        if spec.paper:
            px = np.array(sorted(spec.paper), dtype=float)
            ax.plot(
                px,
                [spec.paper[v] for v in sorted(spec.paper)],
                ls="--",
                marker="s",
                mfc="none",
                color="C1",
                label="paper (full F-MNIST, 50 ep)",
            )
        ax.set_xscale(XSCALE[name], **({"base": 2} if name == "clip" else {}))
        if XSCALE[name] == "linear":
            ax.set_xticks(spec.values)
        ax.set_xlabel(spec.title, fontsize=8)
        ax.set_ylabel("final test accuracy (%)")
        ax.legend(fontsize=6)
    fig.suptitle("local-binary ablations — " + ab.describe_figure_runs(full), fontsize=9)
    fig.tight_layout()
    return save(fig, out, "fig_local_binary_ablations")
