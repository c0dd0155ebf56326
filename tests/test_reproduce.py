"""Paper reproduction runner: seeding, records that are never stale, summary, validation."""

from __future__ import annotations

import numpy as np
import pytest

from bnnlab._validation import SEEDING, derive_seeds
from bnnlab.experiments import reproduce as rp
from bnnlab.experiments.records import RunRecorder, read_records


def test_derive_seeds_spawns_data_then_learner():
    data_ss, learner_ss = np.random.SeedSequence(5).spawn(2)
    assert derive_seeds(5) == (
        int(data_ss.generate_state(1, np.uint32)[0]),
        int(learner_ss.generate_state(1, np.uint32)[0]),
    )
    assert derive_seeds(5) != derive_seeds(6)
    assert derive_seeds(5)[0] != derive_seeds(5)[1]
    with pytest.raises(ValueError, match=r"^seed: expected an integer >= 0"):
        derive_seeds(-1)
    with pytest.raises(TypeError, match=r"^--seed: expected an integer"):
        derive_seeds(1.5, "--seed")


def test_run_one_uses_the_derived_seeds_and_records_the_scheme(tmp_path):
    from bnnlab.data import load_binary
    from bnnlab.learn import get

    rows = rp.run_one("cp-r", "prototypes", "22_2", 4, epochs=2, out=tmp_path)
    data_seed, learner_seed = derive_seeds(4)
    xtr, ytr, xte, yte = load_binary("prototypes", data_seed)
    cfg = rp.learner_config("cp-r", "prototypes", "22_2")
    want = get("cp-r")(cfg, seed=learner_seed).fit(xtr, ytr, epochs=2, x_test=xte, y_test=yte)
    assert [r["test_accuracy"] for r in rows] == [r["test_accuracy"] for r in want]
    rec = read_records(tmp_path, "cp-r-prototypes")
    assert {r["seeding"] for r in rec} == {SEEDING} and {r["seed"] for r in rec} == {4}


def _old_record(root, learner, dataset, width, seed, epochs, acc):
    """A finished record as the previous bnnlab wrote it (no "seeding" in its configuration)."""
    cfg = rp.learner_config(learner, dataset, width).to_dict()
    config = {"learner": learner, "dataset": dataset, "width": width, "seed": seed,
              "epochs": epochs, "config": cfg}  # fmt: skip
    rec = RunRecorder(root, f"{learner}-{dataset}", config)
    for e in range(1, epochs + 1):
        rec.append({"epoch": e, "train_accuracy": acc, "test_accuracy": acc, "seconds": 0.0})
    rec.finish()


def test_records_of_the_old_seeding_are_never_reused_or_counted(tmp_path):
    _old_record(tmp_path, "cp-r", "prototypes", "22_2", 0, 1, 99.99)
    assert rp.summarize("cp-r", "prototypes", out=tmp_path, epochs=1, widths=["22_2"]) == []
    rows = rp.run_one("cp-r", "prototypes", "22_2", 0, epochs=1, out=tmp_path)
    assert rows[-1]["test_accuracy"] != 99.99
    (row,) = rp.summarize("cp-r", "prototypes", out=tmp_path, epochs=1, widths=["22_2"])
    assert row["finals"] == [rows[-1]["test_accuracy"]] and row["seeds"] == 1


def test_run_one_reuses_a_finished_run(tmp_path, monkeypatch):
    first = rp.run_one("cp-r", "prototypes", "22_2", 1, epochs=1, out=tmp_path)
    from bnnlab.learn.local.base import BinaryLearnerBase

    def boom(*a, **k):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(BinaryLearnerBase, "fit", boom)
    again = rp.run_one("cp-r", "prototypes", "22_2", 1, epochs=1, out=tmp_path)
    assert [r["test_accuracy"] for r in again] == [r["test_accuracy"] for r in first]


def test_summarize_counts_only_the_given_hyperparameters(tmp_path):
    rp.reproduce("cp-r", "prototypes", widths=["22_2"], seeds=2, epochs=1, out=tmp_path)
    rp.reproduce("cp-r", "prototypes", widths=["22_2"], seeds=1, epochs=1, out=tmp_path,
                 overrides={"sign_zero": "plus"})  # fmt: skip
    (zero,) = rp.summarize("cp-r", "prototypes", out=tmp_path, epochs=1)
    (plus,) = rp.summarize(
        "cp-r", "prototypes", out=tmp_path, epochs=1, overrides={"sign_zero": "plus"}
    )
    assert (zero["seeds"], plus["seeds"]) == (2, 1)
    assert zero["paper_mean"] is None  # 22_2 is not a width of the paper
    assert rp.summarize("cp-r", "prototypes", out=tmp_path, epochs=2) == []


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"widths": ["22_3"]}, ValueError, "^layers: cp-r needs K2 dividing K1"),
        ({"widths": ["22_x"]}, ValueError, "^widths: expected labels like"),
        ({"widths": ["22_2"], "overrides": {"rob": 2.0}}, ValueError, "^rob: "),
        ({"widths": ["22_2"], "overrides": {"groups": 2}}, TypeError, "groups"),
        ({"widths": ["22_2"], "seeds": 0}, ValueError, "^seeds: "),
        ({"widths": ["22_2"], "backend": "gpu"}, ValueError, "^backend: expected one of"),
    ],
)
def test_reproduce_validates_everything_before_training(tmp_path, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        rp.reproduce("cp-r", "prototypes", epochs=1, out=tmp_path, **{"seeds": 1, **kwargs})
    assert not list(tmp_path.glob("*.jsonl"))


def test_table_row_and_format():
    row = rp.table_row("width", "44_4", [50.0, 60.0], 50, rp.paper_value("cp-r", "fashion-mnist",
                                                                          "44_4"))  # fmt: skip
    assert row["mean"] == 55.0 and row["std"] == 5.0 and row["diff"] == pytest.approx(-2.45)
    text = rp.format_table([row])
    assert "55.00 ± 5.00" in text and "57.45 ± 4.93" in text and "-2.45" in text
    assert "≈" in rp.format_table([{**row, "paper_approx": True}])
