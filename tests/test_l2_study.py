"""bnnlab.experiments.l2_study: grid, decay groups, records, resumption after an interruption."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from bnnlab.experiments import l2_study as study
from bnnlab.experiments.records import RunRecorder, read_records, run_id

TINY = study.Scale(
    epochs={"mlp": 2, "cnn": 1},
    train_size={"mlp": 300, "cnn": 200},
    hidden=(24, 16),
    channels=(4,),
    batch_size=50,
    max_samples=200,
)

_VOLATILE = {"seconds", "elapsed_s"}


def _stable(rows):
    return [{k: v for k, v in r.items() if k not in _VOLATILE} for r in rows]


def test_grid_covers_every_arm_once():
    cfgs = study.grid(seeds=(0, 1, 2))
    assert len(cfgs) == 2 * 2 * 3 * 3
    keys = {(c["model"], c["binarizer"], c["l2"], c["seed"]) for c in cfgs}
    assert len(keys) == len(cfgs)
    assert {c["l2_arm"] for c in cfgs} == {"claim", "none", "matched"}
    assert {c["l2"] for c in cfgs if c["l2_arm"] == "claim"} == {5e-4}
    assert {c["l2"] for c in cfgs if c["l2_arm"] == "none"} == {0.0}
    assert len({run_id(c) for c in cfgs}) == len(cfgs)
    assert study.FULL.config("cnn", "siman", 0.0, 0)["dataset"] == "fashion-mnist"
    with pytest.raises(ValueError, match="model"):
        study.DEFAULT.config("resnet", "siman", 0.0, 0)
    with pytest.raises(ValueError, match="binarizer"):
        study.DEFAULT.config("mlp", "xnor", 0.0, 0)
    with pytest.raises(ValueError, match="l2"):
        study.DEFAULT.config("mlp", "siman", -1.0, 0)


def test_records_with_fractional_test_acc_are_not_resumed(tmp_path):
    # version 1 rows held test_acc as a fraction; today's rows hold test_accuracy in percent, so
    # a finished version-1 record of the same arm must not count as this run's record
    cfg = TINY.config("mlp", "ste_sign", 0.0, 0)
    assert cfg["version"] == study.RECORD_VERSION == 2
    old = RunRecorder(tmp_path, study.STUDY, {**cfg, "version": 1})
    old.append({"epoch": 1, "test_acc": 0.5})
    old.finish()
    assert not RunRecorder(tmp_path, study.STUDY, cfg).finished


def test_helpers_name_bad_arguments():
    with pytest.raises(ValueError, match=r"^momentum: expected a value < 1"):
        study.integrated_lr(0.1, 10, 5, 1, 1.0)  # was a ZeroDivisionError
    with pytest.raises(ValueError, match=r"^steps: expected an integer >= 1"):
        study.integrated_lr(0.1, 10, 0, 1, 0.9)
    with pytest.raises(ValueError, match=r"^l2: expected a finite number"):
        study.siman_decay_efolds(float("nan"))
    row = {"run": "a", "epoch": 0, "layer": "x", "model": "mlp", "binarizer": "siman", "l2": 0.0}
    with pytest.raises(TypeError, match=r"^epoch: expected an integer"):
        study.summarize([row], epoch="first")  # was int('first')
    with pytest.raises(ValueError, match=r"^epoch: expected an integer >= 0"):
        study.summarize([row], epoch=-1)


def test_matched_arm_decays_as_much_as_the_siman_recipe():
    # SiMaN CIFAR: 196 steps/epoch; per-epoch lr 0.1 (e+1)/5 for 5 warm-up epochs, then
    # 0.05 (1 + cos(pi k / 395)) for k = 0..394, whose cosines sum to exactly 1.
    per_epoch_sum = 0.1 * (1 + 2 + 3 + 4 + 5) / 5 + 0.05 * 395 + 0.05
    assert study.siman_decay_efolds() == pytest.approx(5e-4 * 196 * per_epoch_sum / 0.1)
    for model in study.MODELS:
        lam = study.DEFAULT.matched_l2(model)
        cfg = study.DEFAULT.config(model, "siman", study.MATCHED, 0)
        assert cfg["l2"] == lam and cfg["l2_arm"] == "matched" and lam > study.L2_CLAIM
        total = study.integrated_lr(
            cfg["lr"],
            cfg["epochs"],
            study.DEFAULT.steps_per_epoch(model),
            cfg["warmup_epochs"],
            cfg["momentum"],
        )
        assert lam * total == pytest.approx(study.siman_decay_efolds(), rel=5e-3)
    assert study.DEFAULT.steps_per_epoch("mlp") == math.ceil(10_000 / 128)
    assert study.DEFAULT.steps_per_epoch("cnn") == math.ceil(4000 / 128)


@pytest.mark.parametrize("binarizer", study.BINARIZERS)
def test_decay_groups_put_l2_on_binarized_weights_only(binarizer):
    cfg = TINY.config("mlp", binarizer, 5e-3, 0)
    model = study.build_model(cfg)
    groups = {g["name"]: g for g in study.decay_groups(model, 5e-3, 5e-4)}
    assert groups["binarized"]["weight_decay"] == 5e-3
    assert groups["rest"]["weight_decay"] == 5e-4
    binarized = {id(layer.weight) for _, layer in model.binarized_layers()}
    assert {id(p.data) for p in groups["binarized"]["params"]} == binarized
    if binarizer == "siman":  # the learnable scales alpha are never decayed (SiMaN code)
        assert groups["scale"]["weight_decay"] == 0.0
        assert all("scale" in p.tags for p in groups["scale"]["params"])
    else:
        assert "scale" not in groups
    n_params = len(model.named_parameters())
    assert sum(len(g["params"]) for g in groups.values()) == n_params


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    """Finished TINY records: mlp × siman × l2 {0, 5e-3} × seeds {0, 1} (shared by the tests)."""
    root = tmp_path_factory.mktemp("l2")
    for l2 in (0.0, 5e-3):
        for seed in (0, 1):
            assert study.run(TINY.config("mlp", "siman", l2, seed), root) is True
    return root


def _check_rows(rows, model, names):
    assert [r["epoch"] for r in rows] == list(range(TINY.epochs[model] + 1))
    assert rows[0]["layers"] == names
    last = rows[-1]
    assert 0.0 <= last["test_accuracy"] <= 100.0 and 0.0 <= last["train_accuracy"] <= 100.0
    assert last[f"{names[0]}/kstar.exact"] > 0
    tidy = study.tidy(rows)
    assert len(tidy) == len(rows) * len(names)
    assert {r["layer"] for r in tidy} == set(names)
    for r in tidy:
        assert r["model"] == model
        assert 0 < r["kstar.exact"] <= 1 and r["std.best"] in ("laplace", "gaussian", "gennorm")


def test_mlp_runs_record_tidy_rows_per_epoch(records):
    cfg = TINY.config("mlp", "siman", 0.0, 1)
    assert study.run(cfg, records) is False  # finished: skipped
    rows = [r for r in read_records(records, study.STUDY) if r["run"] == run_id(cfg)]
    _check_rows(rows, "mlp", ["fc1", "fc2"])


def test_cnn_run_records_tidy_rows_per_epoch(tmp_path):
    cfg = TINY.config("cnn", "ste_sign", 5e-4, 0)
    assert study.run(cfg, tmp_path) is True
    _check_rows(read_records(tmp_path, study.STUDY), "cnn", ["conv1"])


class _Interrupt(RuntimeError):
    pass


def _interrupt_at(epoch):
    def cb(e, model, metrics):
        if e == epoch:
            raise _Interrupt(f"killed at epoch {e}")

    return cb


def test_interrupted_run_is_recomputed_without_touching_finished_records(tmp_path, records):
    done_cfg = TINY.config("mlp", "siman", 0.0, 0)
    cfg = TINY.config("mlp", "siman", 5e-3, 0)
    src = RunRecorder(records, study.STUDY, done_cfg)
    done = RunRecorder(tmp_path, study.STUDY, done_cfg)
    for a, b in ((src.path, done.path), (src.meta_path, done.meta_path)):
        b.write_bytes(a.read_bytes())
    before = (done.path.read_bytes(), done.meta_path.read_bytes())

    with pytest.raises(_Interrupt):
        study.run(cfg, tmp_path, callbacks=(_interrupt_at(2),))
    rec = RunRecorder(tmp_path, study.STUDY, cfg)
    assert not rec.finished
    partial = [json.loads(line) for line in rec.path.read_text().splitlines()]
    assert [r["epoch"] for r in partial] == [0, 1]  # what was complete is on disk, intact
    assert [r["run"] for r in read_records(tmp_path, study.STUDY)] == [done.id] * 3

    # restart with the same arguments: the finished run is skipped, the partial one recomputed
    rows = study.run_study(
        tmp_path,
        scale=TINY,
        seeds=(0,),
        l2s=(0.0, 5e-3),
        models=("mlp",),
        binarizers=("siman",),
        log=None,
    )
    assert (done.path.read_bytes(), done.meta_path.read_bytes()) == before
    assert rec.finished
    mine = [r for r in rows if r["run"] == rec.id]
    assert [r["epoch"] for r in mine] == [0, 1, 2]
    # recomputation from scratch gives the numbers of an uninterrupted run
    reference = [r for r in read_records(records, study.STUDY) if r["run"] == rec.id]
    assert _stable(mine) == _stable(reference)


def test_summarize_and_curves(records):
    rows = read_records(records, study.STUDY)
    summ = study.summarize(rows)
    assert [(s["model"], s["binarizer"], s["l2"]) for s in summ] == [
        ("mlp", "siman", 5e-3),
        ("mlp", "siman", 0.0),
    ]
    for s in summ:
        assert s["n_runs"] == 2
        assert sum(s[f"std.best.{f}"] for f in ("laplace", "gaussian", "gennorm")) == 4
        assert 0 < s["kstar.exact"] < 1 and math.isfinite(s["std.beta"])
    big = study.summarize(rows, min_fan_in=100)  # fc1 (784 per filter) only, not fc2 (24)
    assert all(s["layers"] == ["fc1"] for s in big)
    assert all(
        sum(s[f"raw.best.{f}"] for f in ("laplace", "gaussian", "gennorm")) == 2 for s in big
    )
    assert study.curves(rows, "std.beta", min_fan_in=100)[("mlp", "siman", 0.0)][3] == 2
    tidy = study.tidy(rows)
    assert study.layer_panels(tidy, min_fan_in=100) == [("mlp", "fc1")]
    assert study.layer_panels(tidy, min_fan_in=0) == [("mlp", "fc1"), ("mlp", "fc2")]
    init = study.summarize(rows, epoch=0)
    assert all(s["epoch"] == 0 for s in init)
    cur = study.curves(rows, "kstar.exact")
    ep, mean, sd, n = cur[("mlp", "siman", 0.0)]
    np.testing.assert_array_equal(ep, [0, 1, 2])
    assert n == 4 and mean.shape == sd.shape == (3,)
    acc = study.curves(rows, "test_accuracy")
    assert acc[("mlp", "siman", 5e-3)][3] == 2
    assert "4 runs" in study.describe(rows)
    with pytest.raises(ValueError, match="rows"):
        study.summarize([])
