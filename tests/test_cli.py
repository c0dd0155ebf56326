"""The ``bnnlab`` command: options from the configurations, train / resume / evaluate / reproduce /
cost, and its errors (exit status 2, one line, no traceback)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import re

import numpy as np
import pytest

from bnnlab.cli import _setup_train, build_parser, main

BASE = ["--dataset", "fashion-mnist-mini", "--layers", "35", "--seed", "3", "--no-progress",
        "--batch-size", "250"]  # fmt: skip
TRAIN = ["train", "local-binary", *BASE]
WALL_CLOCK = ("seconds", "elapsed")


def _run(capsys, argv):
    code = main(argv)
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    return code, out.out, out.err


def _paths(out):
    return [line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("wrote ")]


def _rows(path):
    return [json.loads(x) for x in open(path)]


def _train_parser():
    p = argparse.ArgumentParser()
    _setup_train(p)
    return p


# -- one source of truth ---------------------------------------------------------------------


def test_choices_come_from_the_registries():
    from bnnlab import optim
    from bnnlab.data import binary_datasets
    from bnnlab.learn.method import available
    from bnnlab.signs import ZERO_RULES

    actions = {a.dest: a for a in _train_parser()._actions}
    assert list(actions["method"].choices) == available()
    assert "local-binary-dense" in available() and "cp-r-dense" in available()
    assert {"latent", "bop", "proxquant", "binary-connect"} <= set(available())
    assert list(actions["optimizer"].choices) == optim.available()
    for name in binary_datasets():  # a base name, or one with variants (bnnlab.data.variants)
        assert name in actions["dataset"].help
        assert actions["dataset"].type(name) == name
    assert actions["dataset"].type(f"{binary_datasets()[0]}:pool=4").endswith(":pool=4")
    assert tuple(actions["sign_zero"].choices) == tuple(ZERO_RULES)


def test_every_config_field_is_an_option_with_its_help_and_no_default_copy():
    from bnnlab.learn.method import available, get

    actions = {a.dest: a for a in _train_parser()._actions}
    for method in available():
        for f in get(method).config_class.cli_fields():
            if f.name == "layers":  # --layers, with its own help
                continue
            action = actions[f.name]
            assert action.option_strings[0] == "--" + f.name.replace("_", "-")
            assert f.metadata["help"] in action.help
            assert action.default is argparse.SUPPRESS  # left out = the configuration's default


def test_option_types_tuple_bool_choice():
    p = _train_parser()
    args = p.parse_args(["local-binary", "--groups", "45,45", "--train-head", "--clip", "8"])
    assert args.groups == (45, 45) and args.train_head is True and args.clip == 8
    assert p.parse_args(["local-binary", "--no-train-head"]).train_head is False
    args = p.parse_args(["local-binary"])
    assert not hasattr(args, "groups") and not hasattr(args, "rob")
    with pytest.raises(SystemExit):
        p.parse_args(["local-binary", "--sign-zero", "minus"])


def test_defaults_are_the_configurations(tmp_path, capsys):
    from bnnlab.learn import LocalBinaryConfig
    from bnnlab.learn.checkpoint import load_method
    from bnnlab.learn.method import get

    code, out, _ = _run(capsys, [*TRAIN, "--epochs", "1", "--out", str(tmp_path)])
    assert code == 0
    model, meta = load_method(_paths(out)[0])
    assert (
        meta["config"] == get("local-binary").config_class(layers=(35,), batch_size=250).to_dict()
    )
    assert model.learner.config == LocalBinaryConfig.from_layers(784, 10, (35,), batch_size=250)


def test_sign_zero_option_for_both_learners(tmp_path, capsys):
    from bnnlab.learn.checkpoint import load_method as load_checkpoint

    code, out, _ = _run(
        capsys, [*TRAIN, "--epochs", "1", "--out", str(tmp_path), "--sign-zero", "plus"]
    )
    assert code == 0
    assert load_checkpoint(_paths(out)[0])[0].config.sign_zero == "plus"
    argv = ["train", "cp-r", "--dataset", "fashion-mnist-mini", "--layers", "22,2",
            "--no-progress", "--epochs", "1", "--out", str(tmp_path), "--sign-zero", "plus"]  # fmt: skip
    code, out, _ = _run(capsys, argv)
    assert code == 0
    assert load_checkpoint(_paths(out)[0])[0].config.sign_zero == "plus"


@pytest.mark.parametrize(
    ("learner", "extra", "flag"),
    [
        ("cp-r", ["--groups", "2"], "--groups"),
        ("cp-r", ["--train-head"], "--train-head"),
        ("cp-r-dense", ["--no-train-head"], "--train-head"),
    ],
)
def test_option_of_another_learner_is_refused(tmp_path, capsys, learner, extra, flag):
    argv = ["train", learner, "--dataset", "fashion-mnist-mini", "--layers", "22,2",
            "--no-progress", "--out", str(tmp_path), *extra]  # fmt: skip
    code, _, err = _run(capsys, argv)
    assert code == 2 and f"{flag}: does not apply to {learner}" in err
    assert not (tmp_path / "records").exists()  # refused before anything was written


def test_dense_learner_trains(tmp_path, capsys):
    argv = ["train", "local-binary-dense", *BASE, "--epochs", "1", "--out", str(tmp_path)]
    code, out, _ = _run(capsys, argv)
    assert code == 0 and "train-local-binary-dense-fashion-mnist-mini" in _paths(out)[0]


# -- train / resume / evaluate ---------------------------------------------------------------


def test_train_ends_with_the_test_accuracy(tmp_path, capsys):
    code, out, _ = _run(capsys, [*TRAIN, "--epochs", "2", "--out", str(tmp_path)])
    assert code == 0
    m = re.fullmatch(r"test accuracy: (\d+\.\d\d)%", out.splitlines()[-1])
    assert m and float(m.group(1)) > 50.0  # chance: 10 %
    rows = _rows(_paths(out)[1])
    assert f"{rows[-1]['test_accuracy']:.2f}" == m.group(1)


@pytest.mark.parametrize(
    "method", ["local-binary", "proxquant", "bop", "cp-r"]
)  # a gradient-free learner, latent-weight methods with per-run schedules and state, CP+R
def test_resumed_record_equals_the_uninterrupted_one(tmp_path, capsys, method):
    train = ["train", method, *BASE]
    if method == "cp-r":
        train[train.index("35")] = "22,2"
    code, out, _ = _run(capsys, [*train, "--epochs", "3", "--out", str(tmp_path / "a")])
    assert code == 0
    ck_a, rec_a, _ = _paths(out)
    last_a = out.splitlines()[-1]
    code, out, _ = _run(capsys, [*train, "--epochs", "2", "--out", str(tmp_path / "b")])
    ck_b = _paths(out)[0]
    resume = ["train", method, "--no-progress", "--epochs", "3", "--resume", ck_b]
    code, out, _ = _run(capsys, [*resume, "--out", str(tmp_path / "b")])
    assert code == 0 and out.splitlines()[-1] == last_a
    ck_b2, rec_b, _ = _paths(out)
    assert ck_b2 == ck_b
    rows_a, rows_b = _rows(rec_a), _rows(rec_b)
    # identical rows (the same keys, the same values) but for the wall-clock columns
    strip = [{k: v for k, v in r.items() if k not in WALL_CLOCK} for r in rows_a]
    assert strip == [{k: v for k, v in r.items() if k not in WALL_CLOCK} for r in rows_b]
    assert [r["epoch"] for r in rows_b] == [1, 2, 3]
    assert [sorted(r) for r in rows_a] == [sorted(r) for r in rows_b]
    elapsed = [r["elapsed"] for r in rows_b]
    assert elapsed == sorted(elapsed)  # training time accumulates across the interruption
    with np.load(ck_a) as fa, np.load(ck_b2) as fb:
        assert sorted(fa.files) == sorted(fb.files)
        for k in fa.files:
            assert np.array_equal(fa[k], fb[k]), k  # arrays, metadata and checksum
    code, out, _ = _run(capsys, ["evaluate", ck_a])
    assert code == 0 and out.splitlines()[-1] == last_a


def test_resume_accepts_options_equal_to_the_checkpoints(tmp_path, capsys):
    code, out, _ = _run(capsys, [*TRAIN, "--epochs", "1", "--out", str(tmp_path)])
    ck = _paths(out)[0]
    argv = [*TRAIN, "--epochs", "2", "--resume", ck, "--out", str(tmp_path), "--groups", "35",
            "--sign-zero", "zero", "--no-train-head", "--rob", "0.25"]  # fmt: skip
    code, out, _ = _run(capsys, argv)
    assert code == 0 and [r["epoch"] for r in _rows(_paths(out)[1])] == [1, 2]


@pytest.mark.parametrize(
    ("extra", "flag", "given", "stored"),
    [
        (["--dataset", "prototypes"], "--dataset", "prototypes", "fashion-mnist-mini"),
        (["--layers", "45"], "--layers", "45", "35"),
        (["--seed", "4"], "--seed", "4", "3"),
        (["--rob", "0.5"], "--rob", "0.5", "0.25"),
        (["--batch-size", "100"], "--batch-size", "100", "250"),
        (["--groups", "5"], "--groups", "5", "35"),
        (["--sign-zero", "plus"], "--sign-zero", "plus", "zero"),
        (["--train-head"], "--train-head", "True", "False"),
    ],
)
def test_resume_refuses_conflicting_options(tmp_path, capsys, extra, flag, given, stored):
    code, out, _ = _run(capsys, [*TRAIN, "--epochs", "1", "--out", str(tmp_path)])
    ck = _paths(out)[0]
    argv = ["train", "local-binary", "--no-progress", "--epochs", "2", "--resume", ck,
            "--out", str(tmp_path), *extra]  # fmt: skip
    code, _, err = _run(capsys, argv)
    assert code == 2
    assert f"{flag}: {given} conflicts with the checkpoint's {stored}" in err


def test_resume_refuses_a_checkpoint_of_the_old_seeding(tmp_path, capsys):
    from bnnlab.learn.checkpoint import load_method, save_method

    code, out, _ = _run(capsys, [*TRAIN, "--epochs", "1", "--out", str(tmp_path)])
    model, _ = load_method(_paths(out)[0])
    old = tmp_path / "old.npz"
    save_method(old, model, extra={"dataset": "fashion-mnist-mini", "seed": 3})
    code, _, err = _run(capsys, ["train", "local-binary", "--resume", str(old), "--out",
                                 str(tmp_path), "--no-progress"])  # fmt: skip
    assert code == 2 and "--resume" in err and "older bnnlab" in err
    code, out, _ = _run(capsys, ["evaluate", str(old)])  # still evaluable: its split is known
    assert code == 0 and "(seed 3)" in out


def test_out_naming_a_file_is_a_clean_error(tmp_path, capsys):
    f = tmp_path / "taken"
    f.write_text("x")
    code, _, err = _run(capsys, [*TRAIN, "--epochs", "1", "--out", str(f)])
    assert code == 2 and f"--out: {f} exists and is not a directory" in err
    argv = ["reproduce", "cp-r", "--dataset", "fashion-mnist-mini", "--widths", "22_2",
            "--seeds", "1", "--epochs", "1", "--out", str(f)]  # fmt: skip
    code, _, err = _run(capsys, argv)
    assert code == 2 and "--out" in err


@pytest.mark.parametrize("cmd", ["train", "evaluate", "reproduce"])
def test_backend_cupy_without_cupy_is_a_clean_error(tmp_path, capsys, cmd):
    pytest.importorskip("bnnlab.bits._dispatch")
    from bnnlab.bits import _dispatch

    try:
        _dispatch.load("cupy")
    except ValueError:
        pass
    else:
        pytest.skip("cupy is available here")
    argv = {
        "train": [*TRAIN, "--epochs", "1", "--out", str(tmp_path)],
        "evaluate": ["evaluate", str(tmp_path / "missing.npz")],
        "reproduce": ["reproduce", "cp-r", "--dataset", "fashion-mnist-mini", "--widths", "22_2",
                      "--seeds", "1", "--epochs", "1", "--out", str(tmp_path)],
    }[cmd]  # fmt: skip
    code, _, err = _run(capsys, [*argv, "--backend", "cupy"])
    assert code == 2 and err.startswith(f"bnnlab {cmd}: error: --backend: 'cupy'")
    assert not list(tmp_path.rglob("*.jsonl"))  # refused before anything ran


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--layers", "15,0"], "--layers: expected an integer >= 1"),
        (["--layers", "15,9", "--groups", "4,9"], "--groups: group size 4 does not divide"),
        (["--layers", "15,9", "--rob", "1.5"], "--rob: expected a value <= 1.0"),
        (["--layers", "15,9", "--epochs", "0"], "--epochs: expected an integer >= 1"),
        (["--layers", "15,9", "--seed", "-1"], "--seed: expected an integer >= 0"),
    ],
)
def test_errors(tmp_path, capsys, extra, message):
    argv = ["train", "local-binary", "--dataset", "fashion-mnist-mini", "--no-progress",
            "--out", str(tmp_path), *extra]  # fmt: skip
    code, _, err = _run(capsys, argv)
    assert code == 2 and message in err


def test_cp_r_width_rule_comes_from_its_configuration(tmp_path, capsys):
    argv = ["train", "cp-r", "--dataset", "fashion-mnist-mini", "--layers", "22,3",
            "--no-progress", "--out", str(tmp_path)]  # fmt: skip
    code, _, err = _run(capsys, argv)
    assert code == 2 and "--layers: cp-r needs K2 dividing K1" in err


def test_bad_checkpoint(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a checkpoint")
    code, _, err = _run(capsys, ["evaluate", str(bad)])
    assert code == 2 and "not a readable bnnlab checkpoint" in err


def test_parser_lists_subcommands():
    text = build_parser().format_help()
    for name in ("train", "evaluate", "reproduce", "cost", "methods", "compare"):
        assert name in text


# -- reproduce and cost ----------------------------------------------------------------------


def test_reproduce_and_cost(tmp_path, capsys):
    argv = ["reproduce", "cp-r", "--dataset", "fashion-mnist-mini", "--seeds", "1",
            "--epochs", "1", "--widths", "22_2", "--out", str(tmp_path)]  # fmt: skip
    code, out, _ = _run(capsys, argv)
    assert code == 0 and "22_2" in out and "paper" in out
    assert list(tmp_path.glob("reproduce-cp-r-fashion-mnist-mini-*.jsonl"))
    code, again, _ = _run(capsys, [*argv[:-2], "--summarize", "--out", str(tmp_path)])
    assert code == 0
    row = next(line for line in again.splitlines() if line.strip().startswith("22_2"))
    assert row in out and "1x1ep" in row
    # the same runs with another hyperparameter are other runs
    code, plus, _ = _run(capsys, [*argv[:-2], "--summarize", "--sign-zero", "plus",
                                  "--out", str(tmp_path)])  # fmt: skip
    assert code == 0 and "22_2" not in plus
    code, out, _ = _run(capsys, ["cost", "local-binary", "--layers", "525,525", "--json"])
    assert code == 0 and json.loads(out)["total"]["gate_ratio"] > 1000


def test_reproduce_ablation_and_its_summary(tmp_path, capsys):
    argv = ["reproduce", "local-binary", "--ablation", "clip", "--values", "8,32",
            "--dataset", "fashion-mnist-mini", "--seeds", "1", "--epochs", "1",
            "--out", str(tmp_path)]  # fmt: skip
    code, out, _ = _run(capsys, argv)
    assert code == 0 and "ablation clip" in out
    table = [line for line in out.splitlines() if re.match(r"\s+(8|32)\s", line)]
    assert len(table) == 2 and "≈" not in table[0]  # no paper column for the mini set
    code, again, _ = _run(capsys, [*argv, "--summarize"])
    assert code == 0
    assert [line for line in again.splitlines() if re.match(r"\s+(8|32)\s", line)] == table


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["cp-r", "--ablation", "gamma"], "--ablation: the paper's ablations are of local-binary"),
        (["local-binary", "--values", "1"], "--values: only with --ablation"),
        (["local-binary", "--ablation", "rob", "--widths", "35"], "--widths: the rob ablation"),
        (["local-binary", "--ablation", "gamma", "--values", "x"], "values: expected"),
        (["local-binary", "--ablation", "gamma", "--values", "7"], "groups: group size 7"),
        (["local-binary", "--ablation", "clip", "--clip", "3"], "'clip' is what the clip"),
    ],
)
def test_reproduce_ablation_errors(tmp_path, capsys, argv, message):
    code, _, err = _run(capsys, ["reproduce", *argv, "--out", str(tmp_path)])
    assert code == 2 and message in err
    assert not list(tmp_path.glob("*.jsonl"))


def test_config_fields_keep_their_meaning():
    """Guard: a renamed or removed configuration field must show up here, not silently."""
    from bnnlab.learn import CPRConfig, LocalBinaryConfig

    names = {f.name for f in dataclasses.fields(LocalBinaryConfig) if f.metadata.get("cli")}
    assert {"rob", "p_r", "groups", "train_head", "sign_zero", "clip"} <= names
    assert "groups" not in {f.name for f in CPRConfig.cli_fields()}


def test_cost_takes_shapes_and_defaults_from_the_data_and_the_config(capsys):
    from bnnlab.learn.local.cost import cost_report

    code, out, _ = _run(capsys, ["cost", "cp-r", "--layers", "44,4", "--dataset", "prototypes",
                                 "--json"])  # fmt: skip
    assert code == 0
    want = cost_report("cp-r", 1000, [44, 4], 10, batch_size=100, n_train=10_000)
    assert json.loads(out) == json.loads(json.dumps(want.as_dict()))
    code, _, err = _run(capsys, ["cost", "cp-r", "--layers", "44,3"])
    assert code == 2 and "--layers: cp-r needs K2 dividing K1" in err


def test_latent_method_options_from_the_command_line(tmp_path, capsys):
    """--optimizer, --lr, --binarizer and a table of optimiser arguments reach the method."""
    from bnnlab.learn.checkpoint import load_method

    argv = ["train", "latent", *BASE, "--epochs", "1", "--out", str(tmp_path),
            "--optimizer", "bop", "--lr", "0.01", "--binarizer", "approx_sign",
            "--options", "threshold=1e-6,gamma=0.001,inner=sgd"]  # fmt: skip
    code, out, _ = _run(capsys, argv)
    assert code == 0 and out.splitlines()[-1].startswith("test accuracy: ")
    model, meta = load_method(_paths(out)[0])
    assert meta["method"] == "latent"
    cfg = model.config
    assert (cfg.optimizer, cfg.lr, cfg.binarizer) == ("bop", 0.01, "approx_sign")
    assert cfg.options == {"threshold": 1e-6, "gamma": 0.001, "inner": "sgd"}
    assert type(model.optimizer).__name__ == "Bop" and model.optimizer.threshold == 1e-6
    code, out2, _ = _run(capsys, ["evaluate", _paths(out)[0]])
    assert code == 0 and out2.splitlines()[-1] == out.splitlines()[-1]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--optimizer", "bop", "--options", "tau=1e-8"], "--options: "),
        (["--options", "nonsense"], "expected key=value"),
        (["--sign-zero", "plus"], "--sign-zero: does not apply to latent"),
    ],
)
def test_latent_method_option_errors(tmp_path, capsys, extra, message):
    argv = ["train", "latent", *BASE, "--epochs", "1", "--out", str(tmp_path), *extra]
    code = main(argv) if "nonsense" not in extra else None
    if code is None:
        with pytest.raises(SystemExit):
            main(argv)
        assert message in capsys.readouterr().err
        return
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "records").exists()
