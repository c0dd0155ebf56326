"""Training loop: learns a separable problem, is deterministic, callbacks and records work."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from bnnlab import nn, optim
from bnnlab.experiments.records import RunRecorder, read_records
from bnnlab.learn import metrics
from bnnlab.learn.latent import evaluate, train


def blobs(seed, n=1200, d=16, classes=4):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((classes, d)) * 2.5
    y = rng.integers(0, classes, n)
    x = (centers[y] + rng.standard_normal((n, d))).astype(np.float32)
    return x[: n * 3 // 4], y[: n * 3 // 4], x[n * 3 // 4 :], y[n * 3 // 4 :]


def setup(weight_binarizer="ste_sign", seed=1, **kw):
    model = nn.binary_mlp(16, (32, 32), 4, weight_binarizer=weight_binarizer, seed=seed, **kw)
    groups = optim.param_groups(model, 5e-4, no_decay=("binarized", "scale"))
    opt = optim.SGD(groups, lr=0.05, momentum=0.9)
    return model, opt


def strip_time(rows):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


@pytest.mark.parametrize(
    ("wb", "ab", "scale"),
    [
        ("ste_sign", "ste_sign", False),
        ("approx_sign", "approx_sign", False),
        ("xnor", "ste_sign", False),
        ("irnet", "ste_sign", False),
        ("siman", "siman_act", True),
        (nn.binarizers.get("siman")(k="optimal", clip=True), "siman_act", True),
    ],
    ids=["ste", "approx", "xnor", "irnet", "siman", "siman-kstar-clip"],
)
def test_binary_mlp_learns_separable_problem_fast(wb, ab, scale):
    data = blobs(0)
    model, opt = setup(wb, act_binarizer=ab, scale=scale)
    t0 = time.perf_counter()
    rows = train(
        model,
        data,
        optimizer=opt,
        schedule=optim.schedules.Cosine(0.05, 4, warmup=1),
        epochs=4,
        batch_size=50,
        seed=0,
        progress=False,
    )
    assert time.perf_counter() - t0 < 5
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4]
    assert rows[-1]["test_accuracy"] > 90.0  # percent; chance is 25
    assert rows[-1]["train_loss"] < rows[0]["train_loss"]
    assert set(rows[0]) == {*metrics.ROW_KEYS, "lr"}  # the shared vocabulary, plus the rate
    ev = evaluate(model, data[2], data[3], batch_size=64)
    assert ev["accuracy"] == rows[-1]["test_accuracy"]
    assert ev["loss"] == pytest.approx(rows[-1]["test_loss"], rel=1e-6)


def test_accuracies_are_percent_of_correct_predictions():
    x, y, xt, yt = blobs(7)
    model, opt = setup()
    rows = train(
        model, (x, y, xt, yt), optimizer=opt, epochs=1, batch_size=900, seed=0, progress=False
    )  # one batch: the running train accuracy is that batch's
    ev = evaluate(model, xt, yt)
    correct = int((model.forward(xt, False).argmax(axis=1) == yt).sum())
    assert ev["accuracy"] == 100.0 * correct / len(yt) == rows[0]["test_accuracy"]
    assert 0.0 <= rows[0]["train_accuracy"] <= 100.0
    assert rows[0]["train_accuracy"] * len(y) / 100.0 == pytest.approx(
        round(rows[0]["train_accuracy"] * len(y) / 100.0)
    )  # an integer count of correct training predictions


def test_same_seed_identical_metrics_and_weights():
    data = blobs(1)
    runs = []
    for _ in range(2):
        model, opt = setup("siman", scale=True)
        rows = train(model, data, optimizer=opt, epochs=2, batch_size=64, seed=5, progress=False)
        runs.append((strip_time(rows), model["fc2"].weight.copy()))
    assert runs[0][0] == runs[1][0]
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    model, opt = setup("siman", scale=True)
    other = train(model, data, optimizer=opt, epochs=2, batch_size=64, seed=6, progress=False)
    assert strip_time(other) != runs[0][0]


def test_callbacks_recorder_initial_row_and_schedule(tmp_path):
    data = {"train": blobs(2)[:2], "test": blobs(2)[2:]}
    model, opt = setup()
    seen = []

    def hook(epoch, m, metrics):
        seen.append((epoch, metrics["epoch"]))
        assert m is model
        return {"n_binarized": len(m.binarized_layers())}

    rec = RunRecorder(tmp_path, "demo", {"seed": 0})
    sched = optim.schedules.Step(0.1, step_size=1, gamma=0.5)
    rows = train(
        model,
        data,
        optimizer=opt,
        schedule=sched,
        epochs=3,
        batch_size=100,
        seed=0,
        callbacks=[hook],
        recorder=rec,
        record_initial=True,
        progress=False,
    )
    assert seen == [(0, 0), (1, 1), (2, 2), (3, 3)]
    assert [r["lr"] for r in rows[1:]] == [0.1, 0.05, 0.025]
    assert math.isnan(rows[0]["train_loss"]) and math.isnan(rows[0]["train_accuracy"])
    assert 0.0 <= rows[0]["test_accuracy"] <= 100.0
    assert all(r["n_binarized"] == 2 for r in rows)
    assert rec.finished
    stored = read_records(tmp_path, "demo")
    assert [r["epoch"] for r in stored] == [0, 1, 2, 3]
    assert stored[-1]["test_accuracy"] == rows[-1]["test_accuracy"]


def test_callback_key_clash_is_an_error():
    model, opt = setup()
    with pytest.raises(ValueError, match="callbacks"):
        train(
            model,
            blobs(3),
            optimizer=opt,
            epochs=1,
            batch_size=64,
            seed=0,
            progress=False,
            callbacks=[lambda e, m, r: {"lr": 1.0}],
        )


def test_progress_bar_runs(capsys):
    model, opt = setup()
    train(model, blobs(4)[:2], optimizer=opt, epochs=1, batch_size=300, seed=0, progress=True)
    assert "epoch 1/1" in capsys.readouterr().err


def test_set_epoch_reaches_binarizers():
    model, opt = setup("siman", seed=2)
    model["fc2"].weight_binarizer.clip = True
    train(model, blobs(5)[:2], optimizer=opt, epochs=3, batch_size=300, seed=0, progress=False)
    assert model["fc2"].weight_binarizer.clip_percent == pytest.approx(15 * (1 - 2 / 3))


def test_validation_errors():
    model, opt = setup()
    x, y, _, _ = blobs(6)
    kw = {"optimizer": opt, "epochs": 1, "batch_size": 32, "seed": 0, "progress": False}
    with pytest.raises(ValueError, match=r"^y_train: 899 labels for 900 samples of x_train"):
        train(model, (x, y[:-1]), **kw)
    with pytest.raises(TypeError, match=r"^y_train: expected an integer array"):
        train(model, (x, y.astype(float)), **kw)
    with pytest.raises(ValueError, match=r"^y_train: label 7 but the model has 4 outputs"):
        train(model, (x, y + 4), **kw)
    with pytest.raises(ValueError, match=r"^y_train: negative label -1"):
        train(model, (x, y - 1), **kw)
    with pytest.raises(ValueError, match="data"):
        train(model, (x, y, x), **kw)
    with pytest.raises(ValueError, match=r"^data: the 'test' entry must be a pair"):
        train(model, {"train": (x, y), "test": (x,)}, **kw)
    with pytest.raises(TypeError, match="seed"):
        train(model, (x, y), **{**kw, "seed": None})
    with pytest.raises(TypeError, match="optimizer"):
        train(model, (x, y), **{**kw, "optimizer": "sgd"})


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples_are_refused_naming_the_argument(bad):
    model, opt = setup()
    x, y, xt, yt = blobs(8)
    kw = {"optimizer": opt, "epochs": 1, "batch_size": 64, "seed": 0, "progress": False}
    w0 = model["fc1"].weight.copy()
    x_bad, xt_bad = x.copy(), xt.copy()
    x_bad[17, 3] = bad
    xt_bad[-1, 0] = bad
    with pytest.raises(ValueError, match=r"^x_train: contains NaN or inf"):
        train(model, (x_bad, y, xt, yt), **kw)
    with pytest.raises(ValueError, match=r"^x_test: contains NaN or inf"):
        train(model, {"train": (x, y), "test": (xt_bad, yt)}, **kw)
    with pytest.raises(ValueError, match=r"^x: contains NaN or inf"):
        evaluate(model, xt_bad, yt)
    np.testing.assert_array_equal(model["fc1"].weight, w0)  # refused before any step


def test_samples_need_a_sample_axis_and_real_values():
    model, opt = setup()
    kw = {"optimizer": opt, "epochs": 1, "batch_size": 2, "seed": 0, "progress": False}
    with pytest.raises(ValueError, match=r"^x_train: expected samples along the first axis"):
        train(model, (np.array(1.0), np.array([0])), **kw)
    with pytest.raises(ValueError, match=r"^x_train: expected samples along the first axis"):
        train(model, (np.ones(16, np.float32), np.zeros(16, np.int64)), **kw)
    with pytest.raises(TypeError, match=r"^x_train: expected real-valued samples"):
        train(model, (np.ones((4, 16), complex), np.zeros(4, np.int64)), **kw)
    with pytest.raises(ValueError, match=r"^x: expected samples along the first axis"):
        evaluate(model, np.array(1.0), np.array([0]))
    with pytest.raises(TypeError, match=r"^model: expected a bnnlab.nn Layer"):
        evaluate("mlp", np.ones((4, 16)), np.zeros(4, np.int64))


def test_every_label_is_checked_before_the_first_step():
    # a bad label outside the first batch (train) or in the test set is caught before training
    model, opt = setup()
    x, y, xt, yt = blobs(9)
    kw = {"optimizer": opt, "epochs": 1, "batch_size": 32, "seed": 0, "progress": False}
    w0 = model["fc1"].weight.copy()
    y_bad = y.copy()
    y_bad[np.random.default_rng(0).permutation(len(y))[-1]] = 4  # in the last batch of seed 0
    with pytest.raises(ValueError, match=r"^y_train: label 4 but the model has 4 outputs"):
        train(model, (x, y_bad), **kw)
    yt_bad = yt.copy()
    yt_bad[-1] = 9
    with pytest.raises(ValueError, match=r"^y_test: label 9 but the model has 4 outputs"):
        train(model, (x, y, xt, yt_bad), **kw)
    np.testing.assert_array_equal(model["fc1"].weight, w0)
    with pytest.raises(ValueError, match=r"^y: label 9 but the model has 4 outputs"):
        evaluate(model, xt, yt_bad, batch_size=10)  # the bad label is in the last batch


def test_divergence_is_a_floating_point_error():
    model, opt = setup()
    x, y, _, _ = blobs(10)
    model["out"].weight[...] = np.inf  # logits inf - inf = nan
    with (
        np.errstate(invalid="ignore", over="ignore"),
        pytest.raises(FloatingPointError, match=r"^train: logits became non-finite in epoch 1"),
    ):
        train(model, (x, y), optimizer=opt, epochs=1, batch_size=64, seed=0, progress=False)
