"""The comparison harness: one declarative TOML spec → runs (serial or on Dask) → tidy records →
summary tables with paired tests and figures.

Spec
----
A spec names the datasets, the seeds, the epoch budget and the methods to compare; every method
is a registered training method (:data:`bnnlab.learn.method.METHODS`, ``bnnlab methods`` lists
them) with a table of its configuration fields and, optionally, a grid of fields to sweep::

    name = "binary-optimisers"            # records: <out>/records/compare-<name>-<id>.jsonl
    description = "local rules vs CP+R"   # optional, printed above the tables
    datasets = ["fashion-mnist-mini"]     # see bnnlab.data.binary_datasets()
    seeds = 3                             # a count (seeds 0, 1, 2) or a list: [0, 7, 11]
    epochs = 20                           # the shared budget of every run
    backend = "auto"                      # optional: auto | numba | numpy | cupy
    data_root = "data"                    # optional; relative to the spec file's directory

    [methods.lb]                          # the label of this method (letters, digits, _ . -)
    method = "local-binary"               # a registered alias
    config = { layers = [135, 135], batch_size = 100 }   # fields of its config_class
    grid = { rob = [0.1, 0.25] }          # optional: one variant per point of the product

    [methods.cpr]
    method = "cp-r"
    config = { layers = [165, 15] }

Top-level keys: ``name``, ``datasets``, ``seeds``, ``epochs``, ``methods`` (required);
``description``, ``backend``, ``data_root`` (optional). A ``[methods.<label>]`` table has
``method`` (required), ``config`` and ``grid``; fields left out take the method's defaults. A grid
expands, in the order written, into variants labelled ``lb[rob=0.1]``, ``lb[rob=0.25]``; a field
may be set in ``config`` or in ``grid``, not both. The spec is validated completely before any run
starts (:func:`load_spec`): an unknown key, method alias or config field, a wrong type or a value
out of range (each variant's configuration is built with ``config_class.from_dict``), an empty
list, a duplicate seed, dataset or variant label — the error names the key's path in the spec
(``methods.bop.config.taux``) and the valid choices.

Runs and seeds
--------------
The runs are datasets × seeds × variants. A run's ``seed`` gives two independent streams,
``SeedSequence(seed).spawn(2)`` → (data seed, method seed), each used as a 32-bit integer
(:data:`SEEDING`): every variant of a seed trains on the same data arrays (same split) from the
same method seed (so latent-weight methods with the same model start from the same weights), for
the same number of epochs.

Records, resume and the lock
----------------------------
Each run is one tidy record (:class:`bnnlab.experiments.records.RunRecorder`) under
``<out>/records`` with the name ``compare-<name>`` and the configuration ``{method, label, config
(every field of the variant's configuration), dataset, seed, epochs, data_seed, method_seed,
seeding}``; its rows are the method's epoch rows (:class:`bnnlab.learn.method.Method`). The
backend and the data location are not part of a run's identity (every backend gives the same result
for the same seed). On a restart, finished runs are skipped and unfinished ones recomputed from
scratch, overwriting only their own partial record, so a run is never duplicated and never lost.
Only the harness process writes records, each run as its result arrives; Dask workers compute and
return rows. A run is a deterministic function of its seeds, so a task Dask re-executes after a
worker died returns the same rows. Two harness processes on one ``out`` are refused: the first
holds ``<out>/.compare.lock`` (``fcntl.flock``; the kernel releases it however the process ends).

Execution: serial by default; ``workers=N`` starts a ``distributed.LocalCluster`` of ``N``
single-threaded worker processes on 127.0.0.1; ``scheduler="tcp://HOST:PORT"`` submits to a running
cluster (its workers must import the same bnnlab and see ``data_root``). Dask is optional:
``pip install 'bnnlab[distributed]'``.

Summary
-------
From the finished records of the spec's runs (:func:`summarize`), per dataset × variant: the
final-epoch test accuracy's mean ± standard deviation (``ddof=1``) over seeds, its 95 % percentile
bootstrap interval of the mean (``scipy.stats.bootstrap``, 9999 resamples, fixed
``random_state``; with 3 seeds it is wide and only spans the observed values), the mean training
seconds of a run and the mean of each cost column (``gates_per_epoch``, ``memory_bits``, ...).
Paired differences between every two variants over the seeds both finished: mean difference
``a − b`` and the two-sided Wilcoxon signed-rank p-value (``scipy.stats.wilcoxon``, zero
differences dropped). With ``n ≤ 5`` nonzero pairs the smallest attainable p is ``2 / 2**n``
(0.25 for 3 seeds, 0.0625 for 5), reported as ``p_min``: with few seeds no difference can be
"significant" at 0.05. Files beside the records: ``summary.csv``, ``paired.csv``, ``summary.md``
(atomic writes) and the figures of :mod:`bnnlab.experiments._compare_figures`
(``accuracy-vs-epoch.png``, ``accuracy-vs-cost.png``, ``flip-ratio.png``).

Command line::

    bnnlab methods [ALIAS]
    bnnlab compare SPEC.toml [--out DIR] [--workers N | --scheduler tcp://HOST:PORT] [--summarize]
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bnnlab.experiments._compare_exec import (
    ComparisonLocked,
    SweepReport,
    compute_run,
    results_lock,
    run_comparison,
)
from bnnlab.experiments._compare_spec import (
    SEEDING,
    Run,
    Spec,
    Variant,
    derive_seeds,
    load_spec,
    parse_spec,
)
from bnnlab.experiments._compare_stats import (
    RunResult,
    bootstrap_ci,
    collect,
    paired_rows,
    paired_wilcoxon,
    summary_rows,
)

__all__ = [
    "SEEDING",
    "ComparisonLocked",
    "Run",
    "RunResult",
    "Spec",
    "Summary",
    "SweepReport",
    "Variant",
    "bootstrap_ci",
    "collect",
    "compare",
    "compute_run",
    "derive_seeds",
    "load_spec",
    "paired_rows",
    "paired_wilcoxon",
    "parse_spec",
    "results_lock",
    "run_comparison",
    "summarize",
    "summary_rows",
]


@dataclasses.dataclass(frozen=True)
class Summary:
    """The tables of a comparison and the files written.

    Attributes
    ----------
    rows : list of dict
        One per dataset × variant (:func:`summary_rows`).
    paired : list of dict
        One per dataset × pair of variants (:func:`paired_rows`).
    files : list of pathlib.Path
        The tables and figures written.
    runs : int
        Finished runs the tables are computed from.
    """

    rows: list[dict[str, Any]]
    paired: list[dict[str, Any]]
    files: list[Path]
    runs: int


def _as_spec(spec: Spec | str | os.PathLike[str]) -> Spec:
    if isinstance(spec, Spec):
        return spec
    if isinstance(spec, str | os.PathLike):
        return load_spec(spec)
    raise TypeError(f"spec: expected a Spec or a path to a TOML spec, got {type(spec).__name__}")


def summarize(
    spec: Spec | str | os.PathLike[str], out: str | os.PathLike[str], *, figures: bool = True
) -> Summary:
    """Tables (and figures) of the finished runs of ``spec`` under ``<out>/records``; no training.

    Writes ``summary.csv``, ``paired.csv``, ``summary.md`` and, with ``figures``, the PNG figures
    into ``out``.

    Raises
    ------
    FileNotFoundError
        If ``<out>/records`` does not exist.
    """
    from bnnlab.experiments._compare_stats import write_tables

    spec = _as_spec(spec)
    out = Path(out)
    results = collect(spec, out / "records")
    rows = summary_rows(spec, results)
    paired = paired_rows(spec, results)
    files = write_tables(spec, out, rows, paired)
    if figures:
        from bnnlab.experiments._compare_figures import write_figures

        files += write_figures(spec, results, out)
    return Summary(rows, paired, files, len(results))


def compare(
    spec: Spec | str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    figures: bool = True,
    log: Callable[[str], None] | None = None,
) -> Summary:
    """Run every unfinished run of ``spec`` (:func:`run_comparison`), then :func:`summarize`.

    The results directory stays locked until the tables are written.
    """
    from bnnlab.experiments._compare_exec import check_execution, sweep

    spec = _as_spec(spec)
    workers, scheduler = check_execution(workers, scheduler)
    with results_lock(out):
        sweep(spec, out, workers=workers, scheduler=scheduler, log=log)
        return summarize(spec, out, figures=figures)
