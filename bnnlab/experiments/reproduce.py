"""Reproduction of Colombo, Pittorino & Roveri (2025): the paper's tables and the runner.

:data:`PAPER` holds the reported test accuracies (REFERENCES.md §2.5: % test at the final epoch,
mean ± std over 10 seeds; ``None`` where only the mean is reported). :func:`run_one` trains one
(learner, dataset, width, seed) with the paper's hyperparameters and keeps a tidy per-epoch record
(:class:`bnnlab.experiments.records.RunRecorder`), so an interrupted sweep resumes where it stopped;
:func:`reproduce` runs widths × seeds and returns ours-vs-paper rows, which :func:`format_table`
prints and which are written as a record of their own.

Data (REFERENCES.md §2.4): ``fashion-mnist`` is the official training file split 50k/10k by
:func:`bnnlab.data.colombo_split` with the run's seed and binarised by the global median of the
training part; ``fashion-mnist-mini`` is the embedded subsample (its own train/test files), same
binarisation; ``prototypes`` is :func:`bnnlab.data.prototypes` with the run's seed.

Statistics: mean and population standard deviation (``ddof=0``) of the final-epoch test accuracy
over the seeds that ran; ``diff = ours - paper``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bnnlab._validation import check_choice, check_int
from bnnlab.experiments.records import RunRecorder, read_records

DATASETS = ("fashion-mnist", "fashion-mnist-mini", "prototypes")
LEARNERS = ("local-binary", "cp-r")

#: Reported accuracies, (mean, std or None), keyed by learner, dataset and width label.
PAPER: dict[str, dict[str, dict[str, tuple[float, float | None]]]] = {
    "local-binary": {
        "fashion-mnist": {
            "35_35": (82.25, 0.51),
            "75_75": (84.66, 0.32),
            "135_135": (85.68, 0.34),
            "255_255": (86.22, 0.34),
            "525_525": (86.64, 0.29),
        },
        "prototypes": {
            "35_35": (79.11, 1.27),
            "75_75": (87.65, None),
            "135_135": (92.25, None),
            "255_255": (93.60, None),
            "525_525": (94.84, None),
        },
    },
    "cp-r": {
        "fashion-mnist": {
            "44_4": (57.45, 4.93),
            "88_8": (74.75, None),
            "165_15": (80.48, None),
            "363_33": (83.56, None),
            "880_80": (85.01, None),
        },
        "prototypes": {
            "44_4": (43.64, None),
            "88_8": (61.21, None),
            "165_15": (74.04, None),
            "330_30": (84.49, None),
            "814_74": (90.62, None),
        },
    },
}


def paper_widths(learner: str, dataset: str) -> list[str]:
    """The width labels of the paper's table (``"525_525"``, ``"880_80"``, ...)."""
    table = PAPER[learner].get("prototypes" if dataset == "prototypes" else "fashion-mnist")
    return list(table)


def parse_width(learner: str, label: str) -> tuple[int, ...]:
    """``"525_525"`` → (525, 525); for cp-r ``"880_80"`` → (K1, K2) with K1 divisible by K2."""
    try:
        widths = tuple(int(p) for p in str(label).replace(",", "_").split("_") if p)
    except ValueError:
        raise ValueError(f"widths: expected labels like 525_525, got {label!r}") from None
    if not widths or any(k <= 0 for k in widths):
        raise ValueError(f"widths: widths must be positive integers, got {label!r}")
    if learner == "cp-r" and (len(widths) != 2 or widths[0] % widths[1]):
        raise ValueError(f"widths: cp-r needs K1_K2 with K2 dividing K1, got {label!r}")
    return widths


def load_dataset(
    dataset: str, seed: int, *, root: str | os.PathLike[str] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x_train, y_train, x_test, y_test)`` with ±1 ``int8`` features (see the module doc)."""
    from bnnlab import data

    check_choice(dataset, "dataset", DATASETS)
    if dataset == "prototypes":
        return data.prototypes(seed=seed)
    if dataset == "fashion-mnist":
        xtr, ytr = data.load(dataset, "colombo-train", root=root, seed=seed)
        xte, yte = data.load(dataset, "colombo-test", root=root, seed=seed)
    else:
        xtr, ytr = data.load(dataset, "train")
        xte, yte = data.load(dataset, "test")
    btr, median = data.global_median(xtr)
    bte, _ = data.global_median(xte, median=median)
    return btr, ytr, bte, yte


#: (features, classes) of each dataset, to validate a configuration before loading data.
SHAPES = {"fashion-mnist": (784, 10), "fashion-mnist-mini": (784, 10), "prototypes": (1000, 10)}


def make_config(
    learner: str, widths: Sequence[int], n_features: int, n_classes: int, **overrides: Any
) -> Any:
    """The learner's configuration with the paper's hyperparameters (``overrides`` replace them)."""
    from bnnlab.learn.local.config import CPRConfig, LocalBinaryConfig

    check_choice(learner, "learner", LEARNERS)
    cls = LocalBinaryConfig if learner == "local-binary" else CPRConfig
    return cls.from_layers(n_features, n_classes, widths, **overrides)


def make_learner(
    learner: str,
    widths: Sequence[int],
    n_features: int,
    n_classes: int,
    *,
    seed: int,
    **overrides: Any,
) -> Any:
    """Build a registered learner with the paper's hyperparameters (``overrides`` replace them)."""
    from bnnlab.learn import get

    backend = overrides.pop("backend", "auto")
    cfg = make_config(learner, widths, n_features, n_classes, **overrides)
    return get(learner)(cfg, seed=seed, backend=backend)


def run_one(
    learner: str,
    dataset: str,
    width: str,
    seed: int,
    *,
    epochs: int = 50,
    out: str | os.PathLike[str],
    data_root: str | os.PathLike[str] | None = None,
    overrides: dict[str, Any] | None = None,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """Train one run (or reuse its finished record); return its per-epoch rows."""
    overrides = dict(overrides or {})
    widths = parse_width(learner, width)
    n_features, n_classes = SHAPES[check_choice(dataset, "dataset", DATASETS)]
    hyper = {k: v for k, v in overrides.items() if k != "backend"}
    config = {
        "learner": learner,
        "dataset": dataset,
        "width": width,
        "seed": int(seed),
        "epochs": int(epochs),
        # the full learner configuration, so a changed default never reuses a stale run
        "config": make_config(learner, widths, n_features, n_classes, **hyper).to_dict(),
    }
    rec = RunRecorder(Path(out), f"{learner}-{dataset}", config)
    if rec.finished:
        return [r for r in read_records(out, f"{learner}-{dataset}") if r["run"] == rec.id]
    xtr, ytr, xte, yte = load_dataset(dataset, seed, root=data_root)
    model = make_learner(learner, widths, xtr.shape[1], int(ytr.max()) + 1, seed=seed, **overrides)
    t0 = time.perf_counter()

    def on_epoch(row: dict[str, Any]) -> None:
        rec.append({**row, "elapsed": time.perf_counter() - t0})

    model.fit(xtr, ytr, epochs=epochs, x_test=xte, y_test=yte, callback=on_epoch, progress=progress)
    rec.finish()
    return rec.rows


def reproduce(
    learner: str,
    dataset: str,
    *,
    widths: Sequence[str] | None = None,
    seeds: int = 10,
    epochs: int = 50,
    out: str | os.PathLike[str],
    data_root: str | os.PathLike[str] | None = None,
    overrides: dict[str, Any] | None = None,
    log: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Run widths × seeds (resuming finished runs); return one ours-vs-paper row per width."""
    check_choice(learner, "learner", LEARNERS)
    check_choice(dataset, "dataset", DATASETS)
    seeds = check_int(seeds, "seeds", minimum=1)
    epochs = check_int(epochs, "epochs", minimum=1)
    widths = list(widths) if widths else paper_widths(learner, dataset)
    for w in widths:
        parse_width(learner, w)
    rows = []
    for w in widths:
        finals = []
        for seed in range(seeds):
            t0 = time.perf_counter()
            hist = run_one(
                learner,
                dataset,
                w,
                seed,
                epochs=epochs,
                out=out,
                data_root=data_root,
                overrides=overrides,
            )
            finals.append(float(hist[-1]["test_accuracy"]))
            if log:
                log(
                    f"{learner} {dataset} {w} seed {seed}: {finals[-1]:.2f}% "
                    f"({time.perf_counter() - t0:.0f} s)"
                )
        rows.append(_table_row(learner, dataset, w, finals, epochs))
    _write_table(out, learner, dataset, widths, seeds, epochs, overrides, rows)
    return rows


def _table_row(
    learner: str, dataset: str, width: str, finals: Sequence[float], epochs: int
) -> dict[str, Any]:
    ref_mean, ref_std = PAPER[learner].get(dataset, {}).get(width, (None, None))
    mean = float(np.mean(finals))
    return {
        "learner": learner,
        "dataset": dataset,
        "width": width,
        "seeds": len(finals),
        "epochs": epochs,
        "mean": mean,
        "std": float(np.std(finals)),
        "paper_mean": ref_mean,
        "paper_std": ref_std,
        "diff": None if ref_mean is None else mean - ref_mean,
        "finals": list(finals),
    }


def _write_table(out, learner, dataset, widths, seeds, epochs, overrides, rows) -> None:
    table = RunRecorder(
        Path(out),
        f"reproduce-{learner}-{dataset}",
        {
            "learner": learner,
            "dataset": dataset,
            "widths": widths,
            "seeds": seeds,
            "epochs": epochs,
            **{k: v for k, v in (overrides or {}).items() if k != "backend"},
        },
    )
    table.rows = []
    for r in rows:
        table.append(r)
    table.finish()


def summarize(
    learner: str,
    dataset: str,
    *,
    out: str | os.PathLike[str],
    epochs: int = 50,
    widths: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Ours-vs-paper rows from the *finished* runs under ``out`` (no training).

    Every finished run of ``learner`` on ``dataset`` with ``epochs`` epochs and the paper's
    hyperparameters counts (its recorded learner configuration equals today's default one, so
    runs made with overrides or under an older default are left out), whatever its seed; widths
    without runs are left out.
    """
    check_choice(learner, "learner", LEARNERS)
    check_choice(dataset, "dataset", DATASETS)
    try:
        records = read_records(out, f"{learner}-{dataset}")
    except FileNotFoundError:
        return []
    n_features, n_classes = SHAPES[dataset]
    defaults: dict[str, dict[str, Any]] = {}
    last: dict[tuple[str, int], tuple[int, float]] = {}
    for r in records:
        if (r.get("learner"), r.get("dataset"), r.get("epochs")) != (learner, dataset, epochs):
            continue
        w = r["width"]
        if w not in defaults:
            widths_w = parse_width(learner, w)
            defaults[w] = make_config(learner, widths_w, n_features, n_classes).to_dict()
        if r.get("config") != defaults[w]:  # overrides, an older default, or an older record
            continue
        key = (r["width"], int(r["seed"]))
        if key not in last or r["epoch"] > last[key][0]:
            last[key] = (r["epoch"], float(r["test_accuracy"]))
    wanted = list(widths) if widths else paper_widths(learner, dataset)
    found = sorted({w for w, _ in last}, key=lambda w: [int(k) for k in w.split("_")])
    rows = []
    for w in [w for w in wanted if w in found] + [
        w for w in found if w not in wanted and not widths
    ]:
        finals = [acc for (ww, _), (_, acc) in sorted(last.items()) if ww == w]
        rows.append(_table_row(learner, dataset, w, finals, epochs))
    return rows


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """Text table: width, ours (mean ± std, seeds × epochs), paper, difference."""

    def pm(mean: float | None, std: float | None) -> str:
        if mean is None:
            return "—"
        return f"{mean:6.2f} ± {std:4.2f}" if std is not None else f"{mean:6.2f}"

    head = f"{'width':>9}  {'ours':>15}  {'runs':>9}  {'paper':>15}  {'diff':>6}"
    lines = [head, "-" * len(head)]
    for r in rows:
        diff = "—" if r["diff"] is None else f"{r['diff']:+.2f}"
        lines.append(
            f"{r['width']:>9}  {pm(r['mean'], r['std']):>15}  "
            f"{str(r['seeds']) + 'x' + str(r['epochs']) + 'ep':>9}  "
            f"{pm(r['paper_mean'], r['paper_std']):>15}  {diff:>6}"
        )
    return "\n".join(lines)


#: Runs behind the local-binary figures. Fast (``nox -s figures``, ~1-2 min on one core): the
#: Prototypes dataset and the embedded Fashion-MNIST mini set, small widths, 1 seed, few epochs.
#: Full: full Fashion-MNIST, the paper's widths, 2 seeds, 50 epochs (hours on a laptop CPU).
FIGURE_RUNS: dict[bool, dict[str, Any]] = {
    False: {
        "datasets": ["prototypes", "fashion-mnist-mini"],
        "local-binary": ["35_35", "75_75", "135_135"],
        "cp-r": ["44_4", "88_8", "165_15"],
        "seeds": 1,
        "epochs": 6,
    },
    True: {
        "datasets": ["fashion-mnist"],
        "local-binary": list(PAPER["local-binary"]["fashion-mnist"]),
        "cp-r": list(PAPER["cp-r"]["fashion-mnist"]),
        "seeds": 2,
        "epochs": 50,
    },
}


def figure_sweep(
    out: str | os.PathLike[str], *, full: bool = False, data_root: Any = None
) -> list[dict[str, Any]]:
    """Run (or reuse) the runs of :data:`FIGURE_RUNS` under ``out``; return all per-epoch rows.

    Each row carries ``learner``, ``dataset``, ``width``, ``seed``, ``epoch``,
    ``train_accuracy`` and ``test_accuracy``.
    """
    spec = FIGURE_RUNS[bool(full)]
    rows: list[dict[str, Any]] = []
    for dataset in spec["datasets"]:
        for learner in LEARNERS:
            for width in spec[learner]:
                for seed in range(spec["seeds"]):
                    hist = run_one(
                        learner,
                        dataset,
                        width,
                        seed,
                        epochs=spec["epochs"],
                        out=out,
                        data_root=data_root,
                    )
                    tag = {"learner": learner, "dataset": dataset, "width": width, "seed": seed}
                    rows += [{**r, **tag} for r in hist]
    return rows


def describe_figure_runs(full: bool) -> str:
    """One line saying what the figure runs are (for titles and captions)."""
    s = FIGURE_RUNS[bool(full)]
    return f"{', '.join(s['datasets'])}; {s['seeds']} seed(s) x {s['epochs']} epochs" + (
        "" if full else " (fast preview: paper = 10 seeds x 50 epochs)"
    )
