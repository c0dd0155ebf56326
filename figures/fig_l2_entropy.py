"""ℓ2 study (c): k*/n and bit entropy of the angle-optimal {0,1} code across epochs.

Top row: the fraction of ones k*/n of the angle-optimal {0,1} code, found by the exact solver on
each filter's centred magnitudes (solid, mean over filters, then mean ± sd over seeds), next to the
continuous-limit prediction of ``bnnlab.theory`` for the generalized-normal law fitted to the
per-filter standardised weights (dotted); 1/e (the Laplace value) and the Gaussian value are marked.
Bottom row: the bit entropy of that code (pooled over each layer), with H(1/e) ≈ 0.949 and 1 bit
marked. One column per binarized layer with at least ``l2_study.MIN_FAN_IN`` weights per filter.
Records from :mod:`bnnlab.experiments.l2_study` under ``out/records`` (shared).
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
from _common import save
from fig_l2_beta import style

from bnnlab.experiments import l2_study as study
from bnnlab.weightstats import predicted_fraction


def main(out: Path, *, full: bool = False) -> list[Path]:
    rows = study.run_study(study.records_root(out), full=full, log=None)
    tidy = study.tidy(rows)
    k_lap = predicted_fraction("laplace")[0]
    k_gau, h_gau = predicted_fraction("gaussian")
    h_lap = predicted_fraction("laplace")[1]
    panels = study.layer_panels(tidy)
    fig, axes = plt.subplots(2, len(panels), figsize=(4.6 * len(panels), 7.6), squeeze=False)
    for j, (model, layer) in enumerate(panels):
        lrows = [r for r in tidy if r["model"] == model and r["layer"] == layer]
        ax = axes[0, j]
        pred = study.curves(lrows, "kstar.pred_std")
        for key, (ep, mean, sd, _n) in study.curves(lrows, "kstar.exact").items():
            st = style(key[1], key[2])
            ax.plot(ep, mean, **st)
            ax.fill_between(ep, mean - sd, mean + sd, color=st["color"], alpha=0.12)
            if key in pred:
                ax.plot(pred[key][0], pred[key][1], color=st["color"], ls=":", lw=1.0)
        ax.axhline(k_lap, color="k", lw=0.8)
        ax.text(0, k_lap, " 1/e (Laplace)", va="bottom", fontsize=7)
        ax.axhline(k_gau, color="k", lw=0.8, ls="-.")
        ax.text(0, k_gau, f" {k_gau:.3f} (Gaussian)", va="bottom", fontsize=7)
        ax.set_ylabel("k*/n")
        ax.set_title(f"{model} {layer}: k*/n, solid = exact, dotted = theory for β̂", fontsize=8)
        ax = axes[1, j]
        for key, (ep, mean, sd, _n) in study.curves(lrows, "opt.entropy").items():
            st = style(key[1], key[2])
            ax.plot(ep, mean, label=study.arm_label(*key), **st)
            ax.fill_between(ep, mean - sd, mean + sd, color=st["color"], alpha=0.12)
        ax.axhline(h_lap, color="k", lw=0.8)
        ax.text(0, h_lap, f" H(1/e) = {h_lap:.3f}", va="bottom", fontsize=7)
        ax.axhline(h_gau, color="k", lw=0.8, ls="-.")
        ax.axhline(1.0, color="0.5", lw=0.8, ls="--")
        ax.set_ylim(min(0.9, h_lap - 0.02), 1.005)
        ax.set_ylabel("bit entropy H (bit)")
        ax.set_title(f"{model} {layer}: bit entropy of the optimal {{0,1}} code", fontsize=8)
        ax.legend(fontsize=6, loc="lower left")
        ax.set_xlabel("epoch")
    fig.suptitle(
        f"Angle-optimal {{0,1}} code (1/e = {1 / math.e:.3f}) per binarized layer with ≥ "
        f"{study.MIN_FAN_IN} weights per filter (mean ± sd over seeds)\n" + study.describe(rows),
        fontsize=9,
    )
    fig.tight_layout()
    return save(fig, out, "fig_l2_entropy")
