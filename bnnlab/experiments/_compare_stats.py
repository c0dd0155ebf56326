"""Statistics of a comparison, read from its finished records: per-variant summary, paired tests.

See :mod:`bnnlab.experiments.compare` for the definitions (final-epoch test accuracy, mean ± std
with ``ddof=1``, percentile bootstrap interval, Wilcoxon signed-rank test over shared seeds).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bnnlab.experiments._compare_spec import Run, Spec

__all__ = [
    "RunResult",
    "bootstrap_ci",
    "collect",
    "paired_rows",
    "paired_wilcoxon",
    "summary_rows",
    "write_tables",
]

#: Row keys that are neither cost columns nor layer columns.
_NOT_COST = frozenset(
    ("run", "epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "seconds")
)
#: Bootstrap settings (fixed, so the intervals are reproducible).
N_RESAMPLES = 9999
BOOTSTRAP_SEED = 0


@dataclasses.dataclass(frozen=True)
class RunResult:
    """A finished run of the spec and its rows (sorted by epoch, record columns only)."""

    run: Run
    rows: list[dict[str, Any]]

    @property
    def final(self) -> dict[str, Any]:
        """The last epoch's row."""
        return self.rows[-1]

    def cost_columns(self) -> dict[str, float]:
        """Numeric columns of the final row other than the standard and per-layer ones."""
        return {
            k: float(v)
            for k, v in self.final.items()
            if k not in _NOT_COST
            and "/" not in k
            and isinstance(v, int | float)
            and not isinstance(v, bool)
        }


def _float(value: Any) -> float:
    return float("nan") if value is None else float(value)


def collect(spec: Spec, records: str | os.PathLike[str]) -> list[RunResult]:
    """The finished runs of ``spec`` found under ``records`` (others, e.g. of an older spec, ignored).

    Raises
    ------
    FileNotFoundError
        If ``records`` does not exist.
    ValueError
        If a finished record lacks an epoch's row.
    """
    from bnnlab.experiments.records import read_records, run_id

    by_id = {run_id(r.record_config()): r for r in spec.runs()}
    config_keys = set(next(iter(by_id.values())).record_config()) if by_id else set()
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in read_records(records, spec.record_name):
        if row.get("run") in by_id:
            grouped.setdefault(row["run"], []).append(
                {k: v for k, v in row.items() if k not in config_keys}
            )
    out = []
    for rid, run in by_id.items():  # spec order
        if rid not in grouped:
            continue
        rows = sorted(grouped[rid], key=lambda r: r["epoch"])
        if [r["epoch"] for r in rows] != list(range(1, run.epochs + 1)):
            raise ValueError(
                f"records: run {rid} ({run.describe()}) has epochs "
                f"{[r['epoch'] for r in rows]}, expected 1..{run.epochs}"
            )
        out.append(RunResult(run, rows))
    return out


def bootstrap_ci(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean (``scipy.stats.bootstrap``, fixed seed).

    ``(nan, nan)`` for fewer than two values; ``(v, v)`` when all values equal ``v``.
    """
    from scipy.stats import bootstrap

    x = np.asarray(values, dtype=np.float64)
    if x.size < 2:
        return (math.nan, math.nan)
    if np.all(x == x[0]):
        return (float(x[0]), float(x[0]))
    res = bootstrap(
        (x,),
        np.mean,
        confidence_level=confidence,
        n_resamples=N_RESAMPLES,
        method="percentile",
        random_state=BOOTSTRAP_SEED,
    )
    return (float(res.confidence_interval.low), float(res.confidence_interval.high))


def paired_wilcoxon(differences: Sequence[float]) -> tuple[float, float]:
    """``(p, p_min)``: two-sided Wilcoxon signed-rank p-value of paired differences.

    Zero differences are dropped (``zero_method="wilcox"``); ``p = 1`` when every difference is
    zero, ``nan`` without pairs. ``p_min = 2 / 2**n`` (``n`` nonzero differences, capped at 1) is
    the smallest p-value the exact test can reach: 0.25 with 3 pairs, 0.0625 with 5.
    """
    from scipy.stats import wilcoxon

    d = np.asarray(differences, dtype=np.float64)
    if d.size == 0:
        return (math.nan, math.nan)
    n = int(np.count_nonzero(d))
    if n == 0:
        return (1.0, 1.0)
    p = float(wilcoxon(d, zero_method="wilcox", alternative="two-sided").pvalue)
    return (p, min(1.0, 2.0 / 2.0**n))


def _mean_std(x: np.ndarray) -> tuple[float, float]:
    if x.size == 0:
        return (math.nan, math.nan)
    return (float(x.mean()), float(x.std(ddof=1)) if x.size > 1 else math.nan)


def summary_rows(spec: Spec, results: Iterable[RunResult]) -> list[dict[str, Any]]:
    """One row per dataset × variant (spec order), also for variants without finished runs.

    Columns: ``dataset``, ``variant``, ``method``, ``n`` (finished seeds), ``test_accuracy_mean``,
    ``test_accuracy_std`` (``ddof=1``), ``ci_low``/``ci_high`` (95 % percentile bootstrap of the
    mean), ``train_accuracy_mean``, ``seconds_mean`` (training seconds of a whole run), then every
    cost column (its mean over seeds, under its own name).
    """
    results = list(results)
    out = []
    for dataset in spec.datasets:
        for v in spec.variants:
            mine = [r for r in results if r.run.dataset == dataset and r.run.variant == v]
            acc = np.array([_float(r.final["test_accuracy"]) for r in mine])
            mean, std = _mean_std(acc)
            low, high = bootstrap_ci(acc)
            row: dict[str, Any] = {
                "dataset": dataset,
                "variant": v.label,
                "method": v.method,
                "n": len(mine),
                "test_accuracy_mean": mean,
                "test_accuracy_std": std,
                "ci_low": low,
                "ci_high": high,
                "train_accuracy_mean": _mean_std(
                    np.array([_float(r.final["train_accuracy"]) for r in mine])
                )[0],
                "seconds_mean": _mean_std(
                    np.array([sum(_float(x.get("seconds")) for x in r.rows) for r in mine])
                )[0],
            }
            costs: dict[str, list[float]] = {}
            for r in mine:
                for k, val in r.cost_columns().items():
                    costs.setdefault(k, []).append(val)
            for k in sorted(costs):
                row[k] = float(np.mean(costs[k]))
            out.append(row)
    return out


def paired_rows(spec: Spec, results: Iterable[RunResult]) -> list[dict[str, Any]]:
    """Paired differences of final test accuracy between every two variants, per dataset.

    For variants ``a`` before ``b`` in the spec, over the seeds both finished: ``n`` pairs,
    ``mean_diff`` (``a − b``, points), ``std_diff`` (``ddof=1``), ``a_wins`` (seeds where ``a`` is
    higher), ``p_wilcoxon`` and ``p_min`` (:func:`paired_wilcoxon`).
    """
    final: dict[tuple[str, str], dict[int, float]] = {}
    for r in results:
        key = (r.run.dataset, r.run.variant.label)
        final.setdefault(key, {})[r.run.seed] = _float(r.final["test_accuracy"])
    out = []
    for dataset in spec.datasets:
        for i, a in enumerate(spec.variants):
            for b in spec.variants[i + 1 :]:
                fa = final.get((dataset, a.label), {})
                fb = final.get((dataset, b.label), {})
                seeds = [s for s in spec.seeds if s in fa and s in fb]
                d = np.array([fa[s] - fb[s] for s in seeds])
                mean, std = _mean_std(d)
                p, p_min = paired_wilcoxon(d)
                out.append(
                    {
                        "dataset": dataset,
                        "a": a.label,
                        "b": b.label,
                        "n": len(seeds),
                        "mean_diff": mean,
                        "std_diff": std,
                        "a_wins": int(np.count_nonzero(d > 0)),
                        "p_wilcoxon": p,
                        "p_min": p_min,
                    }
                )
    return out


# -- tables -----------------------------------------------------------------------------------
def _csv(rows: list[dict[str, Any]]) -> str:
    columns: list[str] = []
    for r in rows:
        columns += [k for k in r if k not in columns]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def _num(x: Any, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if isinstance(x, float) and (abs(x) >= 1e5 or (x != 0 and abs(x) < 10.0**-digits)):
        return f"{x:.4g}"
    return f"{x:.{digits}f}" if isinstance(x, float) else str(x)


def _markdown(spec: Spec, summary: list[dict[str, Any]], paired: list[dict[str, Any]]) -> str:
    lines = [f"# Comparison `{spec.name}`", ""]
    if spec.description:
        lines += [spec.description, ""]
    lines += [
        f"Final-epoch test accuracy (%) after {spec.epochs} epochs over seeds "
        f"{', '.join(map(str, spec.seeds))}: mean ± std (ddof=1), 95 % percentile bootstrap "
        f"interval of the mean ({N_RESAMPLES} resamples; wide with few seeds), costs per epoch.",
        "",
    ]
    fixed = {"dataset", "variant", "method", "n", "test_accuracy_mean", "test_accuracy_std"}
    fixed |= {"ci_low", "ci_high", "train_accuracy_mean", "seconds_mean"}
    costs = [k for r in summary for k in r if k not in fixed]
    costs = list(dict.fromkeys(costs))
    for dataset in spec.datasets:
        lines += [f"## {dataset}", ""]
        head = ["variant", "method", "n", "test acc. (%)", "95 % CI", "train acc. (%)", "s/run"]
        lines += ["| " + " | ".join(head + costs) + " |", "|" + "---|" * (len(head) + len(costs))]
        for r in (r for r in summary if r["dataset"] == dataset):
            cells = [
                f"`{r['variant']}`",
                r["method"],
                str(r["n"]),
                f"{_num(r['test_accuracy_mean'])} ± {_num(r['test_accuracy_std'])}",
                f"[{_num(r['ci_low'])}, {_num(r['ci_high'])}]",
                _num(r["train_accuracy_mean"]),
                _num(r["seconds_mean"], 1),
            ] + [_num(r.get(k, math.nan), 0) for k in costs]
            lines.append("| " + " | ".join(cells) + " |")
        pairs = [p for p in paired if p["dataset"] == dataset]
        if pairs:
            lines += [
                "",
                "Paired differences a − b (points) over shared seeds; two-sided Wilcoxon "
                "signed-rank p (with n nonzero pairs the smallest attainable p is 2/2^n):",
                "",
                "| a | b | n | mean diff | a wins | p | min p |",
                "|---|---|---|---|---|---|---|",
            ]
            for p in pairs:
                cells = [
                    f"`{p['a']}`",
                    f"`{p['b']}`",
                    str(p["n"]),
                    f"{_num(p['mean_diff'])} ± {_num(p['std_diff'])}",
                    str(p["a_wins"]),
                    _num(p["p_wilcoxon"], 3),
                    _num(p["p_min"], 3),
                ]
                lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def write_tables(
    spec: Spec, out: str | os.PathLike[str], summary: list[dict[str, Any]], paired: list[dict]
) -> list[Path]:
    """Write ``summary.csv``, ``paired.csv`` and ``summary.md`` into ``out`` (atomically)."""
    from bnnlab._io import atomic_write_text

    out = Path(out)
    return [
        atomic_write_text(out / "summary.csv", _csv(summary)),
        atomic_write_text(out / "paired.csv", _csv(paired)),
        atomic_write_text(out / "summary.md", _markdown(spec, summary, paired)),
    ]
