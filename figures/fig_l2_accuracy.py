"""ℓ2 study (d): test accuracy across epochs for every arm (mean ± sd over seeds).

One panel per model; colour by ℓ2 arm (5e-4 the claim, 0 the SiMaN recipe, red the labelled strong matched
arm), solid siman, dashed ste_sign. Records from :mod:`bnnlab.experiments.l2_study` under
``out/records`` (computed when missing, shared by all ``fig_l2_*`` figures).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
from _common import save
from fig_l2_beta import style

from bnnlab.experiments import l2_study as study


def main(out: Path, *, full: bool = False) -> list[Path]:
    rows = study.run_study(study.records_root(out), full=full, log=None)
    fig, axes = plt.subplots(1, len(study.MODELS), figsize=(5.2 * len(study.MODELS), 3.4))
    for ax, model in zip(axes, study.MODELS, strict=True):
        mrows = [r for r in rows if r["model"] == model]
        # test_accuracy is in percent (bnnlab.learn.metrics)
        for key, (ep, mean, sd, _n) in study.curves(mrows, "test_accuracy").items():
            st = style(key[1], key[2])
            ax.plot(ep, mean, label=f"{study.arm_label(*key)}: {mean[-1]:.1f}%", **st)
            ax.fill_between(ep, mean - sd, mean + sd, color=st["color"], alpha=0.12)
        ax.set_xlabel("epoch")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(model, fontsize=9)
        ax.legend(fontsize=6)
    fig.suptitle("Test accuracy\n" + study.describe(rows), fontsize=9)
    fig.tight_layout()
    return save(fig, out, "fig_l2_accuracy")
