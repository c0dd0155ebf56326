"""ℓ2 study (b): fitted generalized-normal shape β̂ and the AIC-best family across epochs.

Top rows: β̂ (mean ± sd over seeds) against the epoch (0 = the He-normal initialisation), for the
per-filter standardised weights (what the {0,1} code sees) and for the raw layer weights, one column
per binarized layer; β = 1 is Laplace, β = 2 Gaussian. Bottom row: at the final
epoch, how often AIC picks each family (over runs) for both samples. Only layers with at least
``l2_study.MIN_FAN_IN`` weights per filter are shown (the CNN's 9-weight first convolution is
left out). Records from
:mod:`bnnlab.experiments.l2_study` under ``out/records`` (computed when missing, shared by all
``fig_l2_*`` figures).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from _common import save

from bnnlab.experiments import l2_study as study

FAMILIES = ("laplace", "gaussian", "gennorm")


def style(binarizer: str, l2: float) -> dict:
    """Line style of an arm: colour by ℓ2, dash by binarizer (shared look of the l2 figures)."""
    colour = "C0" if l2 == 0 else "C1" if l2 == study.L2_CLAIM else "C3"
    return {"color": colour, "ls": "-" if binarizer == "siman" else "--"}


def main(out: Path, *, full: bool = False) -> list[Path]:
    rows = study.run_study(study.records_root(out), full=full, log=None)
    tidy = study.tidy(rows)
    panels = study.layer_panels(tidy)
    fig, axes = plt.subplots(4, len(panels), figsize=(4.4 * len(panels), 11.0), squeeze=False)
    for j, (model, layer) in enumerate(panels):
        lrows = [r for r in tidy if r["model"] == model and r["layer"] == layer]
        for i, (stat, what) in enumerate(
            (("std.beta", "per-filter standardised"), ("raw.beta", "raw layer weights"))
        ):
            ax = axes[i, j]
            for (_, binarizer, l2), (ep, mean, sd, _n) in study.curves(lrows, stat).items():
                st = style(binarizer, l2)
                ax.plot(ep, mean, label=study.arm_label(model, binarizer, l2), **st)
                ax.fill_between(ep, mean - sd, mean + sd, color=st["color"], alpha=0.12)
            ax.axhline(1.0, color="k", lw=0.8, ls=":")
            ax.axhline(2.0, color="k", lw=0.8, ls="-.")
            ax.set_ylabel(f"β̂ ({what})")
            ax.set_title(
                f"{model} {layer}: β = 1 Laplace (dotted), 2 Gaussian (dash-dot)", fontsize=8
            )
        axes[1, j].set_xlabel("epoch")
        axes[0, j].legend(fontsize=6)
        # best family at the final epoch, for both samples
        summ = study.summarize(lrows)
        labels = [f"{s['binarizer']}\n{s['l2']:g}" for s in summ]
        for i, (sample, what) in enumerate((("std", "standardised"), ("raw", "raw")), start=2):
            ax = axes[i, j]
            bottom = np.zeros(len(summ))
            for fam, colour in zip(FAMILIES, ("C3", "C0", "C2"), strict=True):
                counts = np.array([s[f"{sample}.best.{fam}"] for s in summ], dtype=float)
                ax.bar(labels, counts, bottom=bottom, color=colour, label=fam)
                bottom += counts
            ax.set_ylabel(f"AIC-best family, final epoch\n(runs, {what})")
            ax.set_ylim(0, 1.3 * bottom.max())
            ax.tick_params(axis="x", labelsize=7)
            ax.legend(fontsize=7, ncol=3, loc="upper center")
    fig.suptitle(
        "Shape of the latent weights during training, per binarized layer with ≥ "
        f"{study.MIN_FAN_IN} weights per filter (mean ± sd over seeds)\n" + study.describe(rows),
        fontsize=9,
    )
    fig.tight_layout()
    return save(fig, out, "fig_l2_beta")
