"""``bnnlab methods`` and ``bnnlab compare``: output, files, and errors (exit status 2)."""

from __future__ import annotations

import shutil
import sys

import pytest

import bnnlab.experiments._compare_cli  # noqa: F401 (registers the subcommands)
from bnnlab.cli import main

SPEC = """
name = "cli"
datasets = ["fashion-mnist-mini"]
seeds = [4]
epochs = 1

[methods.cpr]
method = "cp-r"
config = { layers = [20, 4], batch_size = 500 }

[methods.small]
method = "cp-r"
config = { layers = [8, 4], batch_size = 500 }
"""


def _run(capsys, argv):
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_methods_lists_every_registered_method(capsys):
    from bnnlab.learn.method import describe

    code, out, _ = _run(capsys, ["methods"])
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == len(describe())
    for alias, text in describe().items():
        assert any(line.startswith(alias) and line.endswith(text) for line in lines), alias
    code, out, _ = _run(capsys, ["methods", "local-binary"])
    assert code == 0 and "config fields (LocalBinaryMethodConfig)" in out
    assert "  rob = 0.25  [float]  robustness" in out
    assert "  layers = [525, 525]" in out
    code, _, err = _run(capsys, ["methods", "nope"])
    assert code == 2 and "unknown method 'nope'" in err and "local-binary" in err


def test_compare_then_summarize(tmp_path, capsys):
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC)
    out = tmp_path / "out"
    code, stdout, _ = _run(capsys, ["compare", str(spec), "--out", str(out)])
    assert code == 0
    assert "cli: 2 runs, 0 finished, 2 to run" in stdout
    assert "[2/2] small on fashion-mnist-mini, seed 4" in stdout
    assert "| `cpr` | cp-r | 1 |" in stdout and "| `cpr` | `small` | 1 |" in stdout
    for name in ("summary.csv", "paired.csv", "summary.md", "accuracy-vs-epoch.png"):
        assert f"wrote {out / name}" in stdout
    assert stdout.rstrip().endswith("(2 finished runs)")
    # --summarize trains nothing: the records are untouched, the tables are the same
    before = {p: p.stat().st_mtime_ns for p in (out / "records").iterdir()}
    table = (out / "summary.md").read_text()
    code, stdout2, _ = _run(
        capsys, ["compare", str(spec), "--out", str(out), "--summarize", "--no-figures"]
    )
    assert code == 0 and "to run" not in stdout2 and "png" not in stdout2
    assert {p: p.stat().st_mtime_ns for p in (out / "records").iterdir()} == before
    assert (out / "summary.md").read_text() == table
    # a rerun skips both runs
    code, stdout3, _ = _run(capsys, ["compare", str(spec), "--out", str(out), "--no-figures"])
    assert code == 0 and "2 runs, 2 finished, 0 to run" in stdout3


def test_compare_default_out_is_named_after_the_spec(tmp_path, capsys, monkeypatch):
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC.split("[methods.small]")[0])
    monkeypatch.chdir(tmp_path)
    code, _, _ = _run(capsys, ["compare", str(spec), "--no-figures"])
    assert code == 0
    assert (tmp_path / "results" / "compare" / "cli" / "summary.md").exists()
    assert len(list((tmp_path / "results/compare/cli/records").glob("*.jsonl"))) == 1


def test_compare_errors_exit_2(tmp_path, capsys, monkeypatch):
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC.replace("batch_size = 500 }", "batch_size = 500, robb = 1 }", 1))
    code, _, err = _run(capsys, ["compare", str(spec), "--out", str(tmp_path / "o")])
    assert code == 2 and "methods.cpr.config.robb: unknown field" in err
    assert not (tmp_path / "o").exists()  # refused before anything started
    code, _, err = _run(capsys, ["compare", str(tmp_path / "missing.toml")])
    assert code == 2 and "no spec file" in err
    spec.write_text(SPEC)
    code, _, err = _run(capsys, ["compare", str(spec), "--out", str(tmp_path / "o"), "--summarize"])
    assert code == 2 and "no records directory" in err
    code, _, err = _run(capsys, ["compare", str(spec), "--workers", "0"])
    assert code == 2 and "workers: expected an integer >= 1" in err
    with pytest.raises(SystemExit) as info:  # argparse: mutually exclusive
        main(["compare", str(spec), "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"])
    assert info.value.code == 2
    monkeypatch.setitem(sys.modules, "distributed", None)  # what an absent package looks like
    code, _, err = _run(capsys, ["compare", str(spec), "--workers", "2"])
    assert code == 2 and "pip install 'bnnlab[distributed]'" in err


def test_compare_refuses_a_locked_directory(tmp_path, capsys):
    from bnnlab.experiments.compare import results_lock

    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC)
    out = tmp_path / "o"
    # the lock is per open file description, so the same process is refused too
    with results_lock(out):
        code, _, err = _run(capsys, ["compare", str(spec), "--out", str(out)])
    assert code == 2 and "in use by another compare harness" in err and ".compare.lock" in err
    assert not (out / "records").exists()
    shutil.rmtree(out)
