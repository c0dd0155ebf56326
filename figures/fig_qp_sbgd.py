"""QP-SBGD (REFERENCES.md §3): solver quality on real layer problems, the binary GCN on the karate
club, the 3-5-2 network on three features, and the image pairs through the comparison harness.

Fast mode (``nox -s figures``): solver sizes 8-16 at 100 sweeps, 5 karate runs of 100 epochs,
5 seeds of the 3-5-2 network, and the pair spec on the embedded mini set at 2 seeds x 2 epochs
(about a minute). ``--full``: sizes 8-24 (exact reference) and 32 (best found) at 100 and 1000
sweeps, and the pair spec exactly as shipped (full Fashion-MNIST, 5 seeds x 5 epochs). Records
(JSON, written atomically, reused when their settings match) land in ``out/records/qp-sbgd``; the
full run's tables are in ``docs/qp-sbgd.md``.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from _common import harness_spec, save

from bnnlab._io import atomic_write_json
from bnnlab.experiments import qp_sbgd as Q
from bnnlab.experiments.compare import compare

SPEC = Path(__file__).resolve().parents[1] / "analysis" / "specs" / "qp-sbgd-pairs.toml"
TINY = [
    ("qp-sbgd (lsq)", "qp-sbgd", "lsq"),
    ("qp-sbgd (sign)", "qp-sbgd", "sign"),
    ("qp-sbgd (neuron)", "qp-sbgd", "neuron"),
    ("bc-sgd", "bc-sgd", None),
    ("bc-signsgd", "bc-signsgd", None),
    ("proxquant", "proxquant", None),
]


def cached(path: Path, settings: dict, compute) -> dict:
    """``{"settings": ..., "result": ...}`` from ``path`` when its settings match, else computed
    and written atomically."""
    if path.exists():
        stored = json.loads(path.read_text())
        if stored.get("settings") == settings:
            return stored["result"]
    result = compute()
    atomic_write_json(path, {"settings": settings, "result": result})
    return result


def pair_spec(full: bool):
    datasets = [d.replace("fashion-mnist:", "fashion-mnist-mini:") for d in _datasets()]
    return harness_spec(SPEC, full, datasets=datasets, seeds=2, epochs=2)


def _datasets() -> list[str]:
    import tomllib

    return tomllib.loads(SPEC.read_text())["datasets"]


def main(out: Path, *, full: bool = False) -> list[Path]:
    rec = out / "records" / "qp-sbgd"
    sizes = [8, 12, 16, 20, 24, 32] if full else [8, 12, 16]
    sweeps = [100, 1000] if full else [100]
    solvers = {f"{s}-{k}": {"sampler": s, "num_sweeps": k} for s in ("sa", "sqa") for k in sweeps}
    settings = {"sizes": sizes, "solvers": solvers, "reads": [1, 10], "width": 32, "batches": 4}

    def quality():
        probs = Q.harvest_problems(batches=4, width=32, seed=0)
        return Q.solver_quality(probs, sizes=sizes, solvers=solvers, reads=(1, 10), seed=0)

    rows = cached(rec / "solver-quality.json", settings, quality)
    karate = cached(
        rec / "karate.json",
        {"seeds": 5, "epochs": 100},
        lambda: {
            name: [Q.train_gcn(name, seed=s, epochs=100)[-1]["test_accuracy"] for s in range(5)]
            for name in Q.OPTIMISERS
        },
    )
    data = Q.three_features()
    tiny = cached(
        rec / "tiny.json",
        {"seeds": 5, "methods": [t[0] for t in TINY]},
        lambda: {
            label: [
                Q.train_tiny(opt, seed=s, data=data, **({"formulation": f} if f else {}))[
                    "test_accuracy"
                ]
                for s in range(5)
            ]
            for label, opt, f in TINY
        },
    )
    written: list[Path] = []
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2), layout="constrained")
    for label in solvers:
        for reads, style in ((1, "--"), (10, "-")):
            pts = [r for r in rows if r["solver"] == label and r["reads"] == reads]
            axes[0].plot([r["n"] for r in pts], [r["gap"] for r in pts], style, marker="o",
                         label=f"{label}, {reads} read{'s' if reads > 1 else ''}")  # fmt: skip
            if reads == 10:
                axes[1].plot([r["n"] for r in pts], [r["tts99"] for r in pts], marker="o",
                             label=label)  # fmt: skip
    axes[0].set(xlabel="fan-in n (variables per row)", ylabel="relative energy gap",
                title="gap to the reference (exact for n<=24)")  # fmt: skip
    axes[0].legend(fontsize=6)
    axes[1].set(xlabel="fan-in n", ylabel="seconds", yscale="log", title="time to solution (99%)")
    axes[1].legend(fontsize=6)
    names = list(karate)
    vals = [karate[n] for n in names]
    axes[2].bar(names, [np.mean(v) for v in vals], yerr=[np.std(v) for v in vals], capsize=3)
    axes[2].set(ylabel="test accuracy (%)", title="binary GCN, karate club (5 runs)")
    axes[2].tick_params(axis="x", labelrotation=30, labelsize=7)
    written += save(fig, out, "qp_sbgd_solvers_karate")
    fig, ax = plt.subplots(figsize=(5, 3))
    labels = list(tiny)
    ax.bar(labels, [np.mean(tiny[k]) for k in labels], yerr=[np.std(tiny[k]) for k in labels],
           capsize=3)  # fmt: skip
    ax.set(ylabel="test accuracy (%)", title="3-5-2 network, three features (5 seeds)")
    ax.tick_params(axis="x", labelrotation=30, labelsize=7)
    written += save(fig, out, "qp_sbgd_tiny")
    spec = pair_spec(full)
    result = compare(spec, out / f"compare-{spec.name}")
    written += [f for f in result.files if f.suffix == ".png"]
    return written
