"""Reproduction of Colombo, Pittorino & Roveri (2025): the paper's tables, the runner, the summary.

:data:`PAPER` holds the reported test accuracies (REFERENCES.md §2.5: % test at the final epoch,
mean ± std over 10 seeds; ``None`` where only the mean is reported). :func:`run_one` trains one
(learner, dataset, width, seed) with the paper's hyperparameters (or ``overrides``) and keeps a
tidy per-epoch record (:class:`bnnlab.experiments.records.RunRecorder`), so an interrupted sweep
resumes where it stopped; :func:`reproduce` runs widths × seeds and returns ours-vs-paper rows,
which :func:`format_table` prints and which are written as a record of their own;
:func:`summarize` tabulates finished runs without training. The paper's ablations (§2.7) are in
:mod:`bnnlab.experiments.ablations`.

Data: :func:`bnnlab.data.load_binary` (the Colombo split and median binarisation of
Fashion-MNIST, the embedded mini set, Prototypes). Seeds: a run's seed gives its data seed and
its learner seed by :func:`bnnlab._validation.derive_seeds` (recorded as ``"seeding"``).

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

from bnnlab._validation import SEEDING, check_choice, check_int, derive_seeds
from bnnlab.experiments.records import RunRecorder, read_records

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

#: The learners of the paper's tables (registered aliases, :func:`bnnlab.learn.available`).
LEARNERS = tuple(PAPER)


def paper_widths(learner: str, dataset: str) -> list[str]:
    """The width labels of the paper's table (``"525_525"``, ``"880_80"``, ...)."""
    check_choice(learner, "learner", LEARNERS)
    table = PAPER[learner].get("prototypes" if dataset == "prototypes" else "fashion-mnist")
    return list(table)


def parse_width(label: str) -> tuple[int, ...]:
    """``"525_525"`` → ``(525, 525)`` (the learner's configuration checks the network)."""
    try:
        widths = tuple(int(p) for p in str(label).replace(",", "_").split("_") if p)
    except ValueError:
        raise ValueError(f"widths: expected labels like 525_525, got {label!r}") from None
    if not widths:
        raise ValueError(f"widths: expected labels like 525_525, got {label!r}")
    return widths


def width_label(layers: Sequence[int]) -> str:
    """``(525, 525)`` → ``"525_525"`` (inverse of :func:`parse_width`)."""
    return "_".join(str(int(k)) for k in layers)


def learner_config(learner: str, dataset: str, width: str, **hyper: Any) -> Any:
    """The configuration of ``learner`` on ``dataset`` at ``width`` (``hyper`` replaces defaults).

    Built from the dataset's shape (:func:`bnnlab.data.binary_info`) without reading data, so a
    bad network or hyperparameter fails before anything is loaded or trained.
    """
    from bnnlab.data import binary_info
    from bnnlab.learn import get

    check_choice(learner, "learner", LEARNERS)
    info = binary_info(dataset)
    return get(learner).config_class.from_layers(*info.shape, parse_width(width), **hyper)


def run_config(learner: str, dataset: str, width: str, seed: int, epochs: int, config: Any) -> dict:
    """The record configuration of one run (its hash is the run id).

    It holds the learner's full configuration and the seeding scheme
    (:data:`bnnlab._validation.SEEDING`), so a run made under an older default or an older seeding
    is never reused or counted.
    """
    return {
        "learner": learner,
        "dataset": dataset,
        "width": width,
        "seed": int(seed),
        "seeding": SEEDING,
        "epochs": int(epochs),
        "config": config.to_dict(),
    }


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
    backend: str = "auto",
    progress: bool = False,
) -> list[dict[str, Any]]:
    """Train one run (or reuse its finished record); return its per-epoch rows.

    Parameters
    ----------
    learner : {"local-binary", "cp-r"}
    dataset : str
        A name of :func:`bnnlab.data.binary_datasets`.
    width : str
        Hidden widths as a label, ``"525_525"`` (cp-r: ``"K1_K2"``).
    seed : int
        The run's seed; the data and learner seeds derive from it
        (:func:`bnnlab._validation.derive_seeds`).
    epochs : int
    out : path
        Records directory (``<learner>-<dataset>-<id>.jsonl``).
    data_root : path, optional
        Directory searched first for data files.
    overrides : dict, optional
        Hyperparameters replacing the configuration's defaults.
    backend : {"auto", "numba", "numpy", "cupy"}
        Bit-kernel backend of the learner (not part of the record: results are identical).
    progress : bool
        Show a progress bar.
    """
    from bnnlab.data import load_binary
    from bnnlab.learn import get

    config = learner_config(learner, dataset, width, **dict(overrides or {}))
    seed = check_int(seed, "seed", minimum=0)
    epochs = check_int(epochs, "epochs", minimum=1)
    name = f"{learner}-{dataset}"
    rec = RunRecorder(Path(out), name, run_config(learner, dataset, width, seed, epochs, config))
    if rec.finished:
        return [r for r in read_records(out, name) if r["run"] == rec.id]
    data_seed, learner_seed = derive_seeds(seed)
    xtr, ytr, xte, yte = load_binary(dataset, data_seed, root=data_root)
    model = get(learner)(config, seed=learner_seed, backend=backend)
    t0 = time.perf_counter()

    def on_epoch(row: dict[str, Any]) -> None:
        rec.append({**row, "elapsed": time.perf_counter() - t0})

    model.fit(xtr, ytr, epochs=epochs, x_test=xte, y_test=yte, callback=on_epoch, progress=progress)
    rec.finish()
    return rec.rows


def check_backend(backend: str) -> str:
    """Validate a learner ``backend`` here, before any data is read (the error says why a named
    backend is unavailable, e.g. ``"cupy"`` without cupy)."""
    from bnnlab.learn.local.engine import array_namespace

    array_namespace(backend)
    return backend


def run_seeds(
    learner: str,
    dataset: str,
    width: str,
    *,
    seeds: int,
    epochs: int,
    out: str | os.PathLike[str],
    data_root: str | os.PathLike[str] | None = None,
    overrides: dict[str, Any] | None = None,
    backend: str = "auto",
    log: Callable[[str], None] | None = None,
    tag: str = "",
) -> list[float]:
    """Run seeds ``0..seeds-1`` of one configuration (resuming finished runs); return the
    final-epoch test accuracies. ``log`` gets one line per run (prefixed by ``tag``)."""
    finals = []
    for seed in range(seeds):
        t0 = time.perf_counter()
        hist = run_one(
            learner,
            dataset,
            width,
            seed,
            epochs=epochs,
            out=out,
            data_root=data_root,
            overrides=overrides,
            backend=backend,
        )
        finals.append(float(hist[-1]["test_accuracy"]))
        if log:
            log(
                f"{learner} {dataset} {tag or width} seed {seed}: {finals[-1]:.2f}% "
                f"({time.perf_counter() - t0:.0f} s)"
            )
    return finals


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
    backend: str = "auto",
    log: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Run widths × seeds (resuming finished runs); return one ours-vs-paper row per width.

    Every configuration is built (and so validated) before the first run; ``overrides`` replace
    the paper's hyperparameters. The table is also written as the record
    ``reproduce-<learner>-<dataset>``.
    """
    check_choice(learner, "learner", LEARNERS)
    seeds = check_int(seeds, "seeds", minimum=1)
    epochs = check_int(epochs, "epochs", minimum=1)
    widths = list(widths) if widths else paper_widths(learner, dataset)
    for w in widths:
        learner_config(learner, dataset, w, **dict(overrides or {}))
    check_backend(backend)
    rows = []
    for w in widths:
        finals = run_seeds(
            learner,
            dataset,
            w,
            seeds=seeds,
            epochs=epochs,
            out=out,
            data_root=data_root,
            overrides=overrides,
            backend=backend,
            log=log,
        )
        rows.append(table_row("width", w, finals, epochs, paper_value(learner, dataset, w)))
    write_table(
        out,
        f"reproduce-{learner}-{dataset}",
        {"learner": learner, "dataset": dataset, "widths": widths, "seeds": seeds,
         "epochs": epochs, "seeding": SEEDING, **dict(overrides or {})},
        [{"learner": learner, "dataset": dataset, **r} for r in rows],
    )  # fmt: skip
    return rows


def paper_value(learner: str, dataset: str, width: str) -> tuple[float | None, float | None]:
    """The paper's ``(mean, std)`` for a width on a dataset (``(None, None)`` if not reported)."""
    return PAPER.get(learner, {}).get(dataset, {}).get(width, (None, None))


def table_row(
    key: str,
    label: Any,
    finals: Sequence[float],
    epochs: int,
    paper: tuple[float | None, float | None],
) -> dict[str, Any]:
    """One ours-vs-paper row: ``{key: label, seeds, epochs, mean, std, paper_mean, paper_std,
    diff, finals}`` (population std over the seeds; ``diff = mean - paper_mean``)."""
    ref_mean, ref_std = paper
    mean = float(np.mean(finals))
    return {
        key: label,
        "seeds": len(finals),
        "epochs": epochs,
        "mean": mean,
        "std": float(np.std(finals)),
        "paper_mean": ref_mean,
        "paper_std": ref_std,
        "diff": None if ref_mean is None else mean - ref_mean,
        "finals": list(finals),
    }


def write_table(
    out: str | os.PathLike[str], name: str, config: dict[str, Any], rows: Sequence[dict]
) -> None:
    """Write summary ``rows`` as the finished record ``name`` (keyed by ``config``) under ``out``."""
    table = RunRecorder(Path(out), name, config)
    table.rows = []
    for r in rows:
        table.append(r)
    table.finish()


def finished_finals(
    out: str | os.PathLike[str],
    learner: str,
    dataset: str,
    epochs: int,
    label: Callable[[dict[str, Any]], Any],
) -> dict[Any, list[float]]:
    """Final-epoch test accuracies of the *finished* runs under ``out``, grouped by ``label(row)``.

    Only runs of ``learner`` on ``dataset`` with ``epochs`` epochs and today's seeding count;
    ``label(row)`` (a row carries its run's ``width`` and learner ``config``) returns the group of
    a run or ``None`` to leave it out. Each group lists one accuracy per seed, by seed.
    """
    check_choice(learner, "learner", LEARNERS)
    try:
        records = read_records(out, f"{learner}-{dataset}")
    except FileNotFoundError:
        return {}
    last: dict[tuple[Any, int], tuple[int, float]] = {}
    for r in records:
        if (r.get("learner"), r.get("dataset"), r.get("epochs"), r.get("seeding")) != (
            learner,
            dataset,
            epochs,
            SEEDING,
        ):
            continue
        group = label(r)
        if group is None:
            continue
        key = (group, int(r["seed"]))
        if key not in last or r["epoch"] > last[key][0]:
            last[key] = (r["epoch"], float(r["test_accuracy"]))
    out_: dict[Any, list[float]] = {}
    for (group, _), (_, acc) in sorted(last.items(), key=lambda kv: kv[0][1]):
        out_.setdefault(group, []).append(acc)
    return out_


def summarize(
    learner: str,
    dataset: str,
    *,
    out: str | os.PathLike[str],
    epochs: int = 50,
    widths: Sequence[str] | None = None,
    overrides: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Ours-vs-paper rows from the *finished* runs under ``out`` (no training).

    Every finished run of ``learner`` on ``dataset`` with ``epochs`` epochs, today's seeding and
    the paper's hyperparameters (or ``overrides`` of them) counts: its recorded learner
    configuration must equal the one built today, so runs made with other hyperparameters or under
    an older default are left out, whatever their seed. Widths without runs are left out.
    """
    overrides = dict(overrides or {})
    defaults: dict[str, Any] = {}

    def default_width(r: dict[str, Any]) -> str | None:
        w = r["width"]
        if w not in defaults:
            defaults[w] = learner_config(learner, dataset, w, **overrides).to_dict()
        return w if r.get("config") == defaults[w] else None

    finals = finished_finals(out, learner, dataset, epochs, default_width)
    wanted = list(widths) if widths else paper_widths(learner, dataset)
    found = sorted(finals, key=parse_width)
    order = [w for w in wanted if w in finals] + [
        w for w in found if w not in wanted and not widths
    ]
    return [
        table_row("width", w, finals[w], epochs, paper_value(learner, dataset, w)) for w in order
    ]


def format_table(rows: Sequence[dict[str, Any]], key: str = "width") -> str:
    """Text table: ``key`` (the width, or an ablation's value), ours (mean ± std, seeds ×
    epochs), paper (``≈`` where a row's ``paper_approx`` is true), difference."""

    def pm(mean: float | None, std: float | None) -> str:
        if mean is None:
            return "—"
        return f"{mean:6.2f} ± {std:4.2f}" if std is not None else f"{mean:6.2f}"

    head = f"{key:>9}  {'ours':>15}  {'runs':>9}  {'paper':>15}  {'diff':>6}"
    lines = [head, "-" * len(head)]
    for r in rows:
        diff = "—" if r["diff"] is None else f"{r['diff']:+.2f}"
        lines.append(
            f"{r[key]!s:>9}  {pm(r['mean'], r['std']):>15}  "
            f"{str(r['seeds']) + 'x' + str(r['epochs']) + 'ep':>9}  "
            f"{('≈ ' if r.get('paper_approx') else '') + pm(r['paper_mean'], r['paper_std']):>15}"
            f"  {diff:>6}"
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
