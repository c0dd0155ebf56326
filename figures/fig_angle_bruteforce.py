"""Figure 8(c): the analytic (sort + prefix-sum) angle optimum against exhaustive search.

For small random weight vectors (n = 4..18; Gaussian, Laplace and heavily tied integer weights) the
exact solver ``bnnlab.theory.angle.align`` is compared with ``brute_force``, which enumerates all 2^n
codes. Panels: (a) optimal cosines, analytic vs brute force, for {0,1} codes of |w| and for sign
codes; (b) the optimal number of ones k*, analytic vs brute force; (c) the largest disagreement of
the cosines per n, in units of the float64 machine epsilon.

Records: one run per (family, n) under ``out/records`` (name ``angle-bruteforce``), one row each,
holding the per-instance values as lists. Seeds are fixed; the default takes a few seconds, ``full=True`` uses 10x more instances.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from _common import save

from bnnlab.experiments.records import RunRecorder, read_records
from bnnlab.theory.angle import align, brute_force

NAME = "angle-bruteforce"
SEED = 20261122
FAMILIES = ("gaussian", "laplace", "integers")
N_VALUES = tuple(range(4, 19))
EPS = float(np.finfo(np.float64).eps)
KEYS = (
    "cos01_align",
    "cos01_brute",
    "k_align",
    "k_brute",
    "code_equal",
    "cospm1_align",
    "cospm1_brute",
)
COLORS = {"gaussian": "tab:blue", "laplace": "tab:orange", "integers": "tab:green"}


def sample(family: str, n: int, instances: int, seed: int) -> np.ndarray:
    """``instances`` weight vectors of length n (rows); no all-zero row."""
    rng = np.random.default_rng([seed, FAMILIES.index(family), n])
    if family == "gaussian":
        return rng.standard_normal((instances, n))
    if family == "laplace":
        return rng.laplace(size=(instances, n))
    w = rng.integers(-3, 4, size=(instances, n)).astype(np.float64)  # many exact ties and zeros
    w[~np.any(w != 0, axis=1), 0] = 1.0
    return w


def compute(root: Path, instances: int) -> None:
    """Solve every instance both ways and record one row per instance (finished runs skipped)."""
    for family in FAMILIES:
        for n in N_VALUES:
            cfg = {"family": family, "n": n, "instances": instances, "seed": SEED}
            rec = RunRecorder(root, NAME, cfg)
            if rec.finished:
                continue
            w = sample(family, n, instances, SEED)
            a01, b01 = align(w, code="01"), brute_force(w, code="01")
            apm, bpm = align(w, code="pm1"), brute_force(w, code="pm1")
            rec.append(  # one row per (family, n): per-instance values as lists
                {
                    "cos01_align": a01.cosine.tolist(),
                    "cos01_brute": b01.cosine.tolist(),
                    "k_align": a01.k.tolist(),
                    "k_brute": b01.k.tolist(),
                    "code_equal": np.all(a01.code == b01.code, axis=1).tolist(),
                    "cospm1_align": apm.cosine.tolist(),
                    "cospm1_brute": bpm.cosine.tolist(),
                }
            )
            rec.finish()


def plot(rows: list[dict], out: Path) -> list[Path]:
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, 3, figsize=(11.5, 3.6))
    ax = axes[0]
    for fam in FAMILIES:
        r = [x for x in rows if x["family"] == fam]
        ax.scatter(
            [x["cos01_brute"] for x in r],
            [x["cos01_align"] for x in r],
            s=9,
            color=COLORS[fam],
            alpha=0.6,
            label=f"{fam}, {{0,1}} code",
        )
        ax.scatter(
            [x["cospm1_brute"] for x in r],
            [x["cospm1_align"] for x in r],
            s=12,
            facecolors="none",
            edgecolors=COLORS[fam],
            linewidths=0.6,
            alpha=0.6,
            label=f"{fam}, ±1 code",
        )
    lo = min(min(x["cos01_brute"], x["cospm1_brute"]) for x in rows)
    ax.plot([lo, 1], [lo, 1], "k-", lw=0.7)
    ax.set(
        xlabel="brute-force optimum  max cos (2ⁿ codes)",
        ylabel="analytic optimum (sort + prefix sums)",
        title="(a) optimal cosine",
    )
    ax.legend(fontsize=6.5, loc="lower right")

    ax = axes[1]
    pairs, counts = np.unique(
        np.array([[x["n"], x["k_brute"], x["k_align"]] for x in rows])[:, 1:],
        axis=0,
        return_counts=True,
    )
    ax.scatter(pairs[:, 0], pairs[:, 1], s=6 + 3 * np.sqrt(counts), color="tab:purple", alpha=0.7)
    kmax = int(pairs.max())
    ax.plot([0, kmax + 1], [0, kmax + 1], "k-", lw=0.7)
    agree = sum(x["k_align"] == x["k_brute"] for x in rows)
    same_code = sum(bool(x["code_equal"]) for x in rows)
    ax.set(xlabel="k* by brute force", ylabel="k* analytic", title="(b) optimal number of ones")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.text(
        0.04,
        0.96,
        f"k* equal: {agree}/{len(rows)}\nidentical code: {same_code}/{len(rows)}\n"
        "(marker area ∝ count)",
        transform=ax.transAxes,
        va="top",
        fontsize=7.5,
    )

    ax = axes[2]
    for fam in FAMILIES:
        worst01, worstpm = [], []
        for n in N_VALUES:
            r = [x for x in rows if x["family"] == fam and x["n"] == n]
            worst01.append(max(abs(x["cos01_align"] - x["cos01_brute"]) for x in r) / EPS)
            worstpm.append(max(abs(x["cospm1_align"] - x["cospm1_brute"]) for x in r) / EPS)
        ax.plot(N_VALUES, worst01, "o-", ms=3, color=COLORS[fam], label=f"{fam}, {{0,1}}")
        ax.plot(N_VALUES, worstpm, "s--", ms=3, mfc="none", color=COLORS[fam], label=f"{fam}, ±1")
    ax.set(
        xlabel="n",
        ylabel="max |Δ cos| over instances  [machine ε]",
        title="(c) largest disagreement per n",
    )
    ax.set_ylim(bottom=-0.2)
    pm1_diff = max(abs(x["cospm1_align"] - x["cospm1_brute"]) for x in rows) / EPS
    ax.text(
        0.5,
        0.12,
        f"±1 codes: max |Δ cos| = {pm1_diff:g} ε over all instances",
        transform=ax.transAxes,
        ha="center",
        fontsize=7,
    )
    ax.legend(fontsize=6.5, ncols=2)
    n_inst = len(rows) // (len(FAMILIES) * len(N_VALUES))
    fig.suptitle(
        f"Exact angle alignment vs exhaustive search: {n_inst} instances per family and n "
        f"(n = {N_VALUES[0]}..{N_VALUES[-1]})",
        fontsize=9,
    )
    fig.tight_layout()
    return save(fig, out, "angle_bruteforce")


def main(out: Path, *, full: bool = False) -> list[Path]:
    """Compute (or resume) the records under ``out/records`` and draw the figure."""
    instances = 200 if full else 20
    root = Path(out) / "records"
    compute(root, instances)
    rows = [
        {"family": r["family"], "n": r["n"], **{key: r[key][i] for key in KEYS}}
        for r in read_records(root, NAME)
        if r["instances"] == instances and r["seed"] == SEED and r["n"] in N_VALUES
        for i in range(instances)
    ]
    return plot(rows, Path(out))


if __name__ == "__main__":
    import sys

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "out"
    print(main(target))
