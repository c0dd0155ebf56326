"""cos(|w|, b) of the best {0,1} code against the fraction of ones k/n (SiMaN angle alignment).

Analytic continuous-limit curves (:func:`bnnlab.theory.distributions.cosine_curve`) for Laplace,
Gaussian and uniform weights, the analytic optimum k*/n marked, and Monte-Carlo points (exact
finite-n solutions by :func:`bnnlab.theory.angle.align`, 99.9 % intervals). Right panel: zoom on the
Right panel: the Monte-Carlo optimum (k*/n and its cosine) minus the analytic value, with its
interval (agreement means the interval crosses zero).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from _common import save

from bnnlab.experiments.records import RunRecorder, read_records
from bnnlab.theory import distributions as D

NAME = "angle_cosine_vs_k"
FAMILIES = ("laplace", "gaussian", "uniform")
COLORS = {"laplace": "C0", "gaussian": "C1", "uniform": "C2"}
FRACTIONS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
SEED = 20261122


def compute(records: Path, *, full: bool) -> None:
    """Monte-Carlo records, one run per family (skipped when already finished)."""
    n, reps = (20000, 400) if full else (4000, 100)
    for i, family in enumerate(FAMILIES):
        config = {"family": family, "n": n, "reps": reps, "seed": SEED + i, "fractions": FRACTIONS}
        rec = RunRecorder(records, NAME, config)
        if rec.finished:
            continue
        curve = D.monte_carlo_curve(family, FRACTIONS, n, reps, seed=SEED + i)
        for p, e in zip(FRACTIONS, curve, strict=True):
            rec.append({"kind": "curve", "fraction": p, "cos": e.mean, "lo": e.low, "hi": e.high})
        mc = D.monte_carlo(family, n, reps, seed=SEED + 100 + i)
        rec.append(
            {
                "kind": "optimum",
                "fraction": mc.fraction.mean,
                "fraction_lo": mc.fraction.low,
                "fraction_hi": mc.fraction.high,
                "cos": mc.best_cosine.mean,
                "lo": mc.best_cosine.low,
                "hi": mc.best_cosine.high,
            }
        )
        rec.finish()


def plot(records: Path, out: Path) -> list[Path]:
    rows = read_records(records, NAME)
    fig, (ax, zoom) = plt.subplots(1, 2, figsize=(8.6, 3.4), width_ratios=(1.25, 1))
    grid = np.linspace(1e-3, 1.0, 1000)
    for family in FAMILIES:
        c = COLORS[family]
        opt = D.optimum(family)
        analytic = D.cosine_curve(family, grid)
        mine = [r for r in rows if r["family"] == family]
        curve = sorted((r for r in mine if r["kind"] == "curve"), key=lambda r: r["fraction"])
        (best,) = [r for r in mine if r["kind"] == "optimum"]
        label = f"{family}: k*/n = {opt.fraction:.4f}"
        ax.plot(grid, analytic, color=c, lw=1.4, label=label)
        ax.plot(opt.fraction, opt.best_cosine, marker="*", ms=11, color=c, mec="k", mew=0.6)
        x = np.array([r["fraction"] for r in curve])
        y = np.array([r["cos"] for r in curve])
        yerr = np.array([[r["cos"] - r["lo"] for r in curve], [r["hi"] - r["cos"] for r in curve]])
        ax.errorbar(x, y, yerr=yerr, fmt="o", ms=3.5, color=c, mfc="white", capsize=2, lw=0.8)
        # right panel: Monte-Carlo optimum minus analytic optimum, with its 99.9 % interval
        i = FAMILIES.index(family)
        for j, (key, ref) in enumerate((("fraction", opt.fraction), ("cos", opt.best_cosine))):
            lo, hi = (
                best[f"{key}_lo" if key == "fraction" else "lo"],
                best[f"{key}_hi" if key == "fraction" else "hi"],
            )
            mean = best[key]
            zoom.errorbar(
                i + (j - 0.5) * 0.3,
                1e3 * (mean - ref),
                yerr=[[1e3 * (mean - lo)], [1e3 * (hi - mean)]],
                fmt="os"[j],
                ms=5,
                color=c,
                mfc="white" if j else c,
                capsize=3,
                lw=1,
            )
    cfg = rows[0]
    ax.plot([], [], "k*", ms=9, label="analytic optimum")
    ax.errorbar([], [], yerr=[], fmt="o", color="k", mfc="white", ms=3.5, label="Monte Carlo")
    ax.set(xlabel="fraction of ones k/n", ylabel="cos(|w|, b)", xlim=(0, 1.02), ylim=(0.3, 1.0))
    ax.set_title(f"best {{0,1}} code with k ones (n = {cfg['n']}, {cfg['reps']} draws)", fontsize=9)
    ax.legend(loc="lower right", fontsize=7.5)
    zoom.axhline(0.0, color="k", lw=0.8)
    zoom.errorbar([], [], yerr=[], fmt="o", color="k", ms=5, label="k*/n")
    zoom.errorbar([], [], yerr=[], fmt="s", color="k", mfc="white", ms=5, label="best cosine")
    zoom.set_xticks(range(len(FAMILIES)), FAMILIES)
    zoom.set(xlim=(-0.6, len(FAMILIES) - 0.4), ylabel="Monte Carlo − analytic  [×10⁻³]")
    zoom.set_title("optimum: Monte Carlo (99.9 % CI) − analytic", fontsize=9)
    zoom.legend(loc="upper right", fontsize=7.5)
    fig.tight_layout()
    return save(fig, out, "angle_cosine_vs_k")


def main(out: Path, *, full: bool = False) -> list[Path]:
    records = out / "records"
    compute(records, full=full)
    return plot(records, out)
