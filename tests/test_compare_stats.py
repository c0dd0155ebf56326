"""Summary statistics of a comparison against hand computations, from real records (no training)."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
import scipy.stats

from bnnlab.experiments.compare import (
    bootstrap_ci,
    paired_wilcoxon,
    parse_spec,
    summarize,
)
from bnnlab.experiments.records import RunRecorder

SPEC = {
    "name": "hand",
    "datasets": ["prototypes"],
    "seeds": 5,
    "epochs": 2,
    "methods": {
        "a": {"method": "local-binary", "config": {"layers": [15, 15]}},
        "b": {"method": "cp-r", "config": {"layers": [20, 4]}},
        "c": {"method": "cp-r", "config": {"layers": [40, 4]}},
    },
}
FINAL = {"a": [80.0, 81.0, 83.0, 84.0, 86.0], "b": [79.0, 83.0, 80.0, 80.0, 81.0]}
GATES = {"a": 1000.0, "b": 4000.0, "c": 8000.0}


def _write(out, spec, label, seed, finals, *, finish=True):
    run = next(r for r in spec.runs() if r.variant.label == label and r.seed == seed)
    rec = RunRecorder(out / "records", spec.record_name, run.record_config())
    for epoch, acc in ((1, finals - 10.0), (2, finals)):
        rec.append(
            {
                "epoch": epoch,
                "train_accuracy": acc - 1.0,
                "test_accuracy": acc,
                "seconds": 0.5,
                "hidden_0/flip_ratio": 0.1 * epoch,
                "hidden_0/bit_entropy": 1.0,
                "gates_per_epoch": GATES[label],
                "memory_bits": 64.0,
            }
        )
    if finish:
        rec.finish()


@pytest.fixture
def records(tmp_path):
    spec = parse_spec(SPEC)
    for label, finals in FINAL.items():
        for seed, acc in enumerate(finals):
            _write(tmp_path, spec, label, seed, acc)
    _write(tmp_path, spec, "c", 0, 50.0, finish=False)  # unfinished: left out
    other = parse_spec({**SPEC, "epochs": 3})  # another budget: other run ids, left out
    rec = RunRecorder(tmp_path / "records", other.record_name, other.runs()[0].record_config())
    rec.append({"epoch": 1, "test_accuracy": 0.0, "train_accuracy": 0.0})
    rec.finish()
    return spec, tmp_path


def test_summary_against_a_hand_computation(records):
    spec, out = records
    s = summarize(spec, out)
    assert s.runs == 10
    a, b, c = s.rows
    assert (a["variant"], a["method"], a["n"]) == ("a", "local-binary", 5)
    assert a["test_accuracy_mean"] == pytest.approx(82.8)
    # ddof=1: squared deviations 7.84 + 3.24 + 0.04 + 1.44 + 10.24 = 22.8, / 4
    assert a["test_accuracy_std"] == pytest.approx(math.sqrt(22.8 / 4))
    assert a["train_accuracy_mean"] == pytest.approx(81.8)
    assert a["seconds_mean"] == pytest.approx(1.0)  # two epochs of 0.5 s
    assert a["gates_per_epoch"] == 1000.0 and a["memory_bits"] == 64.0
    assert b["test_accuracy_mean"] == pytest.approx(80.6) and b["gates_per_epoch"] == 4000.0
    assert c["n"] == 0 and math.isnan(c["test_accuracy_mean"])
    # the percentile interval of the mean lies inside the data's range and around the mean
    assert 80.0 <= a["ci_low"] < 82.8 < a["ci_high"] <= 86.0
    ref = scipy.stats.bootstrap(
        (np.array(FINAL["a"]),),
        np.mean,
        n_resamples=9999,
        method="percentile",
        random_state=0,
    ).confidence_interval
    assert (a["ci_low"], a["ci_high"]) == (ref.low, ref.high)

    ab = next(p for p in s.paired if (p["a"], p["b"]) == ("a", "b"))
    # differences 1, -2, 3, 4, 5: W- = 2; exact two-sided p = 2 * #{subsets of 1..5 with sum <= 2} / 32
    assert ab["n"] == 5 and ab["mean_diff"] == pytest.approx(2.2) and ab["a_wins"] == 4
    assert ab["p_wilcoxon"] == pytest.approx(6 / 32) and ab["p_min"] == pytest.approx(2 / 32)
    ac = next(p for p in s.paired if (p["a"], p["b"]) == ("a", "c"))
    assert ac["n"] == 0 and math.isnan(ac["p_wilcoxon"])

    names = sorted(f.name for f in s.files)
    assert names == sorted(
        [
            "summary.csv",
            "paired.csv",
            "summary.md",
            "accuracy-vs-epoch.png",
            "accuracy-vs-cost.png",
            "flip-ratio.png",
        ]
    )
    with open(out / "summary.csv", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert [r["variant"] for r in table] == ["a", "b", "c"]
    assert float(table[0]["test_accuracy_std"]) == pytest.approx(math.sqrt(22.8 / 4))
    md = (out / "summary.md").read_text()
    assert "| `a` | local-binary | 5 | 82.80 ± 2.39 |" in md
    assert "2/2^n" in md
    for f in s.files:
        assert f.stat().st_size > 0


def test_wilcoxon_known_cases():
    assert paired_wilcoxon([1.0, 2.0, 3.0, 4.0, 5.0]) == pytest.approx((2 / 32, 2 / 32))
    assert paired_wilcoxon([1.0, 2.0, 3.0]) == pytest.approx((0.25, 0.25))  # 3 seeds: p >= 1/4
    p, p_min = paired_wilcoxon([-1.0, 0.0, 2.0])  # the zero is dropped: 2 pairs
    assert p_min == 0.5 and p == pytest.approx(1.0)
    assert paired_wilcoxon([0.0, 0.0]) == (1.0, 1.0)
    assert all(math.isnan(v) for v in paired_wilcoxon([]))


def test_bootstrap_edge_cases():
    assert all(math.isnan(v) for v in bootstrap_ci([81.0]))
    assert bootstrap_ci([81.0, 81.0, 81.0]) == (81.0, 81.0)
    low, high = bootstrap_ci([80.0, 81.0, 83.0])
    assert 80.0 <= low < high <= 83.0
    assert bootstrap_ci([80.0, 81.0, 83.0]) == (low, high)  # fixed random_state


def test_summarize_without_records(tmp_path):
    with pytest.raises(FileNotFoundError, match="no records directory"):
        summarize(parse_spec(SPEC), tmp_path)
