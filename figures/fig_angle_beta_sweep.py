"""Optimal fraction of ones k*/n and the bit entropy of the optimal code against the shape β of
generalized-normal weights (density ∝ exp(−|w/α|^β)): analytic curve vs Monte Carlo.

β = 1 is Laplace (k*/n = 1/e exactly), β = 2 Gaussian, β → ∞ the uniform limit (k*/n = 2/3);
β < 1 are heavier-than-Laplace tails. Monte-Carlo points: exact finite-n optima from
:func:`bnnlab.theory.angle.align`, mean and 99.9 % interval.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from _common import save

from bnnlab.experiments.records import RunRecorder, read_records
from bnnlab.theory import distributions as D

NAME = "angle_beta_sweep"
SEED = 4242


def mc_betas(full: bool) -> np.ndarray:
    base = np.geomspace(0.3, 20.0, 13 if full else 9)
    return np.unique(np.round(np.concatenate([base, [1.0, 2.0]]), 6))


def compute(records: Path, *, full: bool) -> None:
    """One Monte-Carlo run per β (skipped when already finished)."""
    n, reps = (50000, 100) if full else (20000, 30)
    for i, beta in enumerate(mc_betas(full)):
        config = {"beta": float(beta), "n": n, "reps": reps, "seed": SEED + i}
        rec = RunRecorder(records, NAME, config)
        if rec.finished:
            continue
        mc = D.monte_carlo("gennorm", n, reps, seed=SEED + i, beta=float(beta))
        row = {}
        for field in ("fraction", "entropy", "best_cosine"):
            e = getattr(mc, field)
            row |= {field: e.mean, f"{field}_lo": e.low, f"{field}_hi": e.high}
        rec.append(row)
        rec.finish()


def plot(records: Path, out: Path) -> list[Path]:
    rows = sorted(read_records(records, NAME), key=lambda r: r["beta"])
    betas = np.geomspace(0.3, 20.0, 300)
    opts = [D.optimum("gennorm", b) for b in betas]
    uni, lap, gau = D.optimum("uniform"), D.optimum("laplace"), D.optimum("gaussian")
    fig, axes = plt.subplots(1, 2, figsize=(8.6, 3.3))
    for ax, field, label in (
        (axes[0], "fraction", "optimal fraction of ones k*/n"),
        (axes[1], "entropy", "bit entropy H(k*/n) of the optimal code [bits]"),
    ):
        ax.plot(betas, [getattr(o, field) for o in opts], "k-", lw=1.3, label="analytic")
        x = np.array([r["beta"] for r in rows])
        y = np.array([r[field] for r in rows])
        yerr = np.array(
            [y - [r[f"{field}_lo"] for r in rows], [r[f"{field}_hi"] for r in rows] - y]
        )
        ax.errorbar(
            x, y, yerr=yerr, fmt="o", ms=4, color="C3", mfc="white", capsize=2, lw=0.8,
            label=f"Monte Carlo (n = {rows[0]['n']}, {rows[0]['reps']} draws, 99.9 % CI)",
        )  # fmt: skip
        ax.axhline(getattr(uni, field), color="C2", ls="--", lw=0.9, label="uniform limit β → ∞")
        ax.plot(1.0, getattr(lap, field), "s", color="C0", ms=7, mfc="none", mew=1.4)
        ax.plot(2.0, getattr(gau, field), "D", color="C1", ms=7, mfc="none", mew=1.4)
        lap_xy, gau_xy = ((8, -14), (8, -14)) if field == "fraction" else ((-78, 2), (10, -45))
        ax.annotate(
            f"Laplace {getattr(lap, field):.4f}" + (" = 1/e" if field == "fraction" else ""),
            (1.0, getattr(lap, field)), xytext=lap_xy, textcoords="offset points", fontsize=7.5,
            color="C0",
        )  # fmt: skip
        ax.annotate(
            f"Gaussian {getattr(gau, field):.4f}", (2.0, getattr(gau, field)), xytext=gau_xy,
            textcoords="offset points", fontsize=7.5, color="C1",
        )  # fmt: skip
        ax.set(xscale="log", xlabel="generalized-normal shape β", ylabel=label)
    axes[1].axhline(1.0, color="0.5", ls=":", lw=0.9, label="sign code / median split (1 bit)")
    axes[0].legend(loc="lower right", fontsize=7)
    axes[1].legend(loc="lower right", fontsize=7)
    axes[0].set_ylim(0, 0.75)
    axes[1].set_ylim(0.2, 1.03)
    fig.tight_layout()
    return save(fig, out, "angle_beta_sweep")


def main(out: Path, *, full: bool = False) -> list[Path]:
    records = out / "records"
    compute(records, full=full)
    return plot(records, out)
