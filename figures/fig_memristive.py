"""The device study (issue 12): binary-stochastic learning on every emulated device preset against
the full-precision baseline, and the carry, noise and levels sweeps, through the comparison harness
(:mod:`bnnlab.experiments.compare`).

The specs are ``analysis/specs/memristive-devices.toml`` and
``analysis/specs/memristive-sweeps.toml`` (full Fashion-MNIST at 14 x 14, 196-100-10, 3 seeds x 5
epochs; ``--full`` runs exactly them, minutes each on two cores). The fast default keeps their
methods, devices and grids on the embedded mini set, 1 seed x 2 epochs (under a minute in all).
Figures: besides the harness's own for each spec, ``memristive_devices`` (a bar chart of final
test accuracy per device) and ``memristive_sweeps`` (final test accuracy, mean ± std over seeds,
against the carry period, the scale of the cycle-to-cycle noise and the number of levels across
the range, ECRAM and PCMO as separate lines). In each sweep panel the other two factors are at the
preset's values, so the preset's own run (carry off, noise x 1, its own levels: ~1000 for ECRAM,
100 for PCMO) is taken from whichever variant of the spec has that configuration. Records are
resumed on a rerun.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from _common import harness_spec, save

from bnnlab.experiments.compare import compare

SPECS = Path(__file__).resolve().parents[1] / "analysis" / "specs"
SPEC = SPECS / "memristive-devices.toml"
SWEEPS = SPECS / "memristive-sweeps.toml"


def spec(full: bool = False, path: Path = SPEC):
    return harness_spec(
        path, full, datasets=["fashion-mnist-mini:pool=2:intensity"], seeds=1, epochs=2
    )


def sweep_points(s, rows) -> dict[str, dict[str, list[tuple[float, float, float]]]]:
    """``{factor: {device: [(x, mean, std), ...]}}`` of the sweeps spec's rows (first dataset).

    Each variant's effective device configuration gives its point: ``carry_every``,
    ``noise_scale`` and its levels across the range (the preset's when ``levels = 0``). A factor's
    points are the variants whose other two factors are at the preset's values; a device with a
    single point along a factor (PCMO has no carry) is left out of it.
    """
    from bnnlab.learn.memristive import BinaryStochasticConfig

    by_label = {v.label: v for v in s.variants}
    seen: set[tuple] = set()
    points: dict[str, dict[str, list[tuple[float, float, float]]]] = {
        "carry_every": {}, "noise_scale": {}, "levels": {}
    }  # fmt: skip
    for r in rows:
        v = by_label[r["variant"]]
        if r["dataset"] != s.datasets[0] or v.method != "binary-stochastic":
            continue
        cfg = BinaryStochasticConfig.from_dict(v.config)
        own = round(BinaryStochasticConfig(weights=cfg.weights).device_config().levels)
        levels = round(cfg.device_config().levels)
        key = (cfg.weights, cfg.carry_every, cfg.noise_scale, levels)
        if key in seen:  # the same configuration under another label: the same runs
            continue
        seen.add(key)
        std = 0.0 if np.isnan(r["test_accuracy_std"]) else r["test_accuracy_std"]
        point = (r["test_accuracy_mean"], std)
        factors = {"carry_every": (cfg.carry_every, cfg.noise_scale == 1.0 and levels == own),
                   "noise_scale": (cfg.noise_scale, cfg.carry_every == 0 and levels == own),
                   "levels": (levels, cfg.carry_every == 0 and cfg.noise_scale == 1.0)}  # fmt: skip
        for factor, (x, others_at_preset) in factors.items():
            if others_at_preset:
                points[factor].setdefault(cfg.weights, []).append((float(x), *point))
    for factor, per_device in points.items():  # a device swept along this factor: 2+ points
        points[factor] = {d: sorted(pts) for d, pts in per_device.items() if len(pts) > 1}
    return points


def plot_sweeps(s, rows, out: Path) -> list[Path]:
    points = sweep_points(s, rows)
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.4), layout="constrained")
    titles = {"carry_every": "periodic carry", "noise_scale": "cycle-to-cycle noise",
              "levels": "levels across the range"}  # fmt: skip
    xlabels = {"carry_every": "carry every N batches", "noise_scale": "noise scale (x preset)",
               "levels": "levels (log)"}  # fmt: skip
    colors = {"ecram": "tab:blue", "pcmo": "tab:orange"}
    carries = sorted({x for pts in points["carry_every"].values() for x, *_ in pts})
    for ax, (factor, per_device) in zip(axes, points.items(), strict=True):
        for device, pts in per_device.items():
            x, mean, std = (np.array(c) for c in zip(*pts, strict=True))
            if factor == "carry_every":  # categorical: off, 10, 100, ...
                x = np.array([carries.index(c) for c in x])
            ax.errorbar(x, mean, yerr=std, marker="o", capsize=3, label=device,
                        color=colors.get(device))  # fmt: skip
        if factor == "carry_every":
            ax.set_xticks(range(len(carries)),
                          ["off" if c == 0 else f"{c:g}" for c in carries])  # fmt: skip
        if factor == "levels":
            ax.set_xscale("log")
        ax.set(title=titles[factor], xlabel=xlabels[factor], ylabel="test accuracy (%)")
        ax.legend()
    fig.suptitle(f"binary-stochastic sweeps — {s.datasets[0]}, {len(s.seeds)} seed(s) x "
                 f"{s.epochs} epochs (mean ± std over seeds)")  # fmt: skip
    return save(fig, out, "memristive_sweeps")


def main(out: Path, *, full: bool = False) -> list[Path]:
    s = spec(full)
    result = compare(s, out / f"compare-{s.name}")
    rows = sorted(result.rows, key=lambda r: -r["test_accuracy_mean"])
    fig, ax = plt.subplots(figsize=(8, 3.2), layout="constrained")
    labels = [r["variant"].replace("binary-stochastic[weights=", "").rstrip("]") for r in rows]
    colors = ["tab:red" if r["variant"] == "hp-sgd" else "tab:blue" for r in rows]
    ax.bar(labels, [r["test_accuracy_mean"] for r in rows],
           yerr=[0 if np.isnan(r["test_accuracy_std"]) else r["test_accuracy_std"] for r in rows],
           color=colors, capsize=2)  # fmt: skip
    lo = min(r["test_accuracy_mean"] for r in rows)
    ax.set(ylabel="test accuracy (%)", ylim=(max(0, lo - 10), 100),
           title=f"binary-stochastic on emulated devices vs hp-sgd (red) — {s.datasets[0]}")  # fmt: skip
    ax.tick_params(axis="x", labelrotation=45, labelsize=7)
    files = [
        *save(fig, out, "memristive_devices"),
        *(f for f in result.files if f.suffix == ".png"),
    ]

    sw = spec(full, SWEEPS)
    swept = compare(sw, out / f"compare-{sw.name}")
    return [*files, *plot_sweeps(sw, swept.rows, out),
            *(f for f in swept.files if f.suffix == ".png")]  # fmt: skip
