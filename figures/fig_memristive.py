"""The device study (issue 12): binary-stochastic learning on every emulated device preset against
the full-precision baseline, through the comparison harness (:mod:`bnnlab.experiments.compare`).

The spec is ``analysis/specs/memristive-devices.toml`` (full Fashion-MNIST at 14 x 14,
196-100-10, 2 seeds x 5 epochs; ``--full`` runs exactly it, a few minutes on two cores). The fast
default keeps its methods and devices on the embedded mini set, 1 seed x 2 epochs. Besides the
harness's figures, a bar chart of final test accuracy per device. Records are resumed on a rerun.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from _common import harness_spec, save

from bnnlab.experiments.compare import compare

SPEC = Path(__file__).resolve().parents[1] / "analysis" / "specs" / "memristive-devices.toml"


def spec(full: bool = False):
    return harness_spec(
        SPEC, full, datasets=["fashion-mnist-mini:pool=2:intensity"], seeds=1, epochs=2
    )


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
    return [*save(fig, out, "memristive_devices"), *(f for f in result.files if f.suffix == ".png")]
