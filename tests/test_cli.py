"""The ``bnnlab`` command: train / resume / evaluate / reproduce / cost, and its errors."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from bnnlab.cli import build_parser, main

TRAIN = ["train", "local-binary", "--dataset", "fashion-mnist-mini", "--layers", "15,9",
         "--seed", "3", "--no-progress", "--batch-size", "250"]  # fmt: skip


def _run(capsys, argv):
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def _paths(out):
    return [line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("wrote ")]


def test_train_resume_evaluate(tmp_path, capsys):
    code, out, _ = _run(capsys, [*TRAIN, "--epochs", "2", "--out", str(tmp_path / "a")])
    assert code == 0
    m = re.fullmatch(r"test accuracy: (\d+\.\d\d)%", out.splitlines()[-1])
    assert m and float(m.group(1)) > 30.0
    ck_a, rec_a, _ = _paths(out)
    # interrupted after one epoch, then resumed to two
    code, out, _ = _run(capsys, [*TRAIN, "--epochs", "1", "--out", str(tmp_path / "b")])
    ck_b = _paths(out)[0]
    code, out, _ = _run(
        capsys, [*TRAIN, "--epochs", "2", "--out", str(tmp_path / "b"), "--resume", ck_b]
    )
    assert code == 0 and f"test accuracy: {m.group(1)}%" in out
    ck_b2, rec_b, _ = _paths(out)
    with np.load(ck_a) as fa, np.load(ck_b2) as fb:
        assert sorted(fa.files) == sorted(fb.files)
        for k in fa.files:
            if k != "meta":
                assert np.array_equal(fa[k], fb[k]), k
    rows_a = [json.loads(x) for x in open(rec_a)]
    rows_b = [json.loads(x) for x in open(rec_b)]
    keep = ("epoch", "train_accuracy", "test_accuracy")
    assert [{k: r[k] for k in keep} for r in rows_a] == [{k: r[k] for k in keep} for r in rows_b]
    assert [r["epoch"] for r in rows_b] == [1, 2]
    code, out, _ = _run(capsys, ["evaluate", ck_a])
    assert code == 0 and f"test accuracy: {m.group(1)}%" in out


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
    code, out, _ = _run(capsys, ["cost", "local-binary", "--layers", "525,525", "--json"])
    assert code == 0 and json.loads(out)["total"]["gate_ratio"] > 1000


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--layers", "15,0"], "--layers"),
        (["--layers", "15,9", "--gamma", "4,9"], "groups"),
        (["--layers", "15,9", "--rob", "1.5"], "rob"),
        (["--layers", "15,9", "--epochs", "0"], "--epochs"),
    ],
)
def test_errors(tmp_path, capsys, extra, message):
    argv = ["train", "local-binary", "--dataset", "fashion-mnist-mini", "--no-progress",
            "--out", str(tmp_path), *extra]  # fmt: skip
    code, _, err = _run(capsys, argv)
    assert code == 2 and message in err


def test_bad_checkpoint(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a checkpoint")
    code, _, err = _run(capsys, ["evaluate", str(bad)])
    assert code == 2 and "not a readable bnnlab checkpoint" in err


def test_parser_lists_subcommands():
    text = build_parser().format_help()
    for name in ("train", "evaluate", "reproduce", "cost"):
        assert name in text


def test_sign_zero_option(tmp_path, capsys):
    code, out, _ = _run(
        capsys, [*TRAIN, "--epochs", "1", "--out", str(tmp_path), "--sign-zero", "plus"]
    )
    assert code == 0
    from bnnlab.learn.local.checkpoint import load_checkpoint

    model, _ = load_checkpoint(_paths(out)[0])
    assert model.config.sign_zero == "plus"
    argv = ["train", "cp-r", "--dataset", "fashion-mnist-mini", "--layers", "22,2",
            "--no-progress", "--out", str(tmp_path), "--sign-zero", "zero"]  # fmt: skip
    code, _, err = _run(capsys, argv)
    assert code == 2 and "--sign-zero" in err
