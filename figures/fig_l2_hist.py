"""ℓ2 study (a): final latent-weight histograms with the fitted Laplace and Gaussian laws.

One panel per binarized layer × weight binarizer (rows; layers with at least
``l2_study.MIN_FAN_IN`` weights per filter) and ℓ2 arm (columns): the histogram of the layer's
latent weights at the final epoch (seed 0), in units of the layer's standard
deviation around its mean, on a log scale (a Laplace law is a straight tent there, a Gaussian a
parabola), with the maximum-likelihood Laplace and Gaussian fits of the same weights, the
initialisation's histogram (grey) and the fitted generalized-normal shape β̂ (mean ± sd over seeds).
The records come from :mod:`bnnlab.experiments.l2_study` (computed under ``out/records`` when
missing; the other ``fig_l2_*`` figures reuse them).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from _common import save
from scipy import stats

from bnnlab.experiments import l2_study as study
from bnnlab.weightstats import HIST_EDGES_STD


def _first_and_last_epochs(tidy: list[dict]) -> list[dict]:
    last: dict[str, int] = {}
    for r in tidy:
        last[r["run"]] = max(last.get(r["run"], 0), r["epoch"])
    return [r for r in tidy if r["epoch"] in (0, last[r["run"]])]


def main(out: Path, *, full: bool = False) -> list[Path]:
    rows = study.run_study(study.records_root(out), full=full, log=None)
    tidy = study.tidy(rows)
    sel = _first_and_last_epochs(tidy)
    arms_rows = [(m, layer, b) for m, layer in study.layer_panels(tidy) for b in study.BINARIZERS]
    l2_arms = [a for a in ("claim", "none", "matched") if any(r["l2_arm"] == a for r in sel)]
    fig, axes = plt.subplots(
        len(arms_rows),
        len(l2_arms),
        figsize=(3.2 * len(l2_arms), 2.3 * len(arms_rows)),
        squeeze=False,
    )
    centres = 0.5 * (HIST_EDGES_STD[1:] + HIST_EDGES_STD[:-1])
    widths = np.diff(HIST_EDGES_STD)
    for i, (model, layer, binarizer) in enumerate(arms_rows):
        for j, l2_arm in enumerate(l2_arms):
            ax = axes[i, j]
            arm = [
                r
                for r in sel
                if (r["model"], r["layer"], r["binarizer"], r["l2_arm"])
                == (model, layer, binarizer, l2_arm)
            ]
            finals = [r for r in arm if r["epoch"] > 0]
            if not finals:
                ax.set_axis_off()
                continue
            seed0 = min(finals, key=lambda r: r["seed"])
            init = next((r for r in arm if r["epoch"] == 0 and r["run"] == seed0["run"]), None)
            for r, style in ((init, {"color": "0.6", "lw": 1.0}), (seed0, {"color": "k"})):
                if r is None:
                    continue
                counts = np.asarray(r["hist"], dtype=float)
                total = counts.sum() + r["hist_below"] + r["hist_above"]
                dens = np.where(counts > 0, counts / (total * widths), np.nan)
                ax.step(centres, dens, where="mid", **style)
            mean, std = seed0["mean"], seed0["std"]
            z = np.linspace(HIST_EDGES_STD[0], HIST_EDGES_STD[-1], 400)
            x = mean + std * z
            lap = stats.laplace.pdf(x, seed0["raw.laplace.loc"], seed0["raw.laplace.scale"])
            gau = stats.norm.pdf(
                x, seed0["raw.gaussian.loc"], seed0["raw.gaussian.scale"] / np.sqrt(2)
            )
            ax.plot(z, lap * std, color="C3", lw=1.2, label="Laplace fit")
            ax.plot(z, gau * std, color="C0", lw=1.2, ls="--", label="Gaussian fit")
            betas = np.array([r["raw.beta"] for r in finals])
            ax.text(
                0.03,
                0.95,
                f"{seed0['layer']}  β̂={betas.mean():.2f}±{betas.std():.2f}\n"
                f"best: {seed0['raw.best']}",
                transform=ax.transAxes,
                va="top",
                fontsize=7,
            )
            ax.set_yscale("log")
            ax.set_ylim(1e-4, 2)
            ax.set_xlim(HIST_EDGES_STD[0], HIST_EDGES_STD[-1])
            ax.set_title(study.arm_label(model, binarizer, seed0["l2"]), fontsize=8)
            if i == len(arms_rows) - 1:
                ax.set_xlabel("(w − mean) / std")
            if j == 0:
                ax.set_ylabel("density")
    axes[0, 0].legend(fontsize=7, loc="lower center")
    fig.suptitle(
        "Latent weights at the final epoch (black; grey = initialisation), seed 0\n"
        + study.describe(rows),
        fontsize=9,
    )
    fig.tight_layout()
    return save(fig, out, "fig_l2_hist")
