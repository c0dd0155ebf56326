"""The comparison harness end to end on tiny runs: serial, a 2-worker LocalCluster on 127.0.0.1, a
worker killed mid-sweep, a harness process SIGKILLed mid-sweep and resumed, and two harness processes
on one results directory. Every path must leave the same records (rows equal except ``seconds``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import bnnlab
from bnnlab.experiments.compare import ComparisonLocked, load_spec, results_lock, run_comparison

#: Tiny runs (about 0.1-0.3 s each): 2 seeds x 3 variants on the embedded Fashion-MNIST subsample.
SPEC = """
name = "t"
datasets = ["fashion-mnist-mini"]
seeds = {seeds}
epochs = 3

[methods.lb]
method = "local-binary"
config = {{ layers = [15, 15], batch_size = 250 }}
grid = {{ rob = [0.1, 0.25] }}

[methods.cpr]
method = "cp-r"
config = {{ layers = [20, 4], batch_size = 250 }}
"""
ROOT = Path(bnnlab.__file__).resolve().parents[1]


def _spec_file(directory: Path, seeds: int = 2) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "spec.toml"
    path.write_text(SPEC.format(seeds=seeds))
    return path


def _records(out: Path) -> dict[str, list[dict]]:
    """``{file name: rows without seconds}`` of every run record under ``out``.

    (A harness killed mid-write may leave the hidden temporary file of an atomic write behind;
    the records are the ``compare-*`` files.)
    """
    return {
        p.name: [
            {k: v for k, v in json.loads(line).items() if k != "seconds"}
            for line in p.read_text().splitlines()
        ]
        for p in sorted((out / "records").glob("compare-*.jsonl"))
    }


def _finished(out: Path) -> int:
    n = 0
    for p in (out / "records").glob("compare-*.json"):
        try:
            n += bool(json.loads(p.read_text())["finished"])
        except (OSError, ValueError, KeyError):
            pass
    return n


def _wait(predicate, timeout=60.0, what="condition", proc=None):
    """Poll ``predicate``; fail after ``timeout`` s, or at once if ``proc`` (a harness process
    that should bring it about) has exited, with its exit status and error output."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc is not None and proc.poll() is not None and not predicate():
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise AssertionError(
                f"the harness exited ({proc.returncode}) before {what}:\n{err[-4000:]}"
            )
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The serial sweep: ``(spec, out, records)``."""
    out = tmp_path_factory.mktemp("reference")
    spec = load_spec(_spec_file(out))
    report = run_comparison(spec, out)
    assert (report.total, report.skipped, report.computed) == (6, 0, 6)
    return spec, out, _records(out)


def test_serial_is_deterministic_and_a_restart_skips_finished_runs(reference, tmp_path):
    spec, _, ref = reference
    assert len(ref) == 6 and all([r["epoch"] for r in rows] == [1, 2, 3] for rows in ref.values())
    row = next(iter(ref.values()))[-1]
    assert {"train_accuracy", "test_accuracy", "gates_per_epoch", "memory_bits"} <= set(row)
    assert any(k.endswith("/flip_ratio") for k in row)
    # the negative control of every comparison below: variants and seeds differ
    assert len({json.dumps(rows) for rows in ref.values()}) == 6
    lines = []
    again = run_comparison(spec, tmp_path, log=lines.append)
    assert _records(tmp_path) == ref
    assert again.computed == 6 and len(lines) == 7
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "records").iterdir()}
    report = run_comparison(spec, tmp_path)
    assert (report.skipped, report.computed) == (6, 0)
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "records").iterdir()} == before


def test_local_cluster_gives_the_serial_records(reference, tmp_path):
    pytest.importorskip("distributed")
    spec, _, ref = reference
    report = run_comparison(spec, tmp_path, workers=2)
    assert (report.total, report.computed) == (6, 6)
    assert _records(tmp_path) == ref


def test_a_worker_killed_mid_sweep_loses_and_duplicates_nothing(reference, tmp_path):
    distributed = pytest.importorskip("distributed")
    spec, _, ref = reference
    killed: dict[str, object] = {}
    with (
        distributed.LocalCluster(
            host="127.0.0.1",
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        pids = client.run(os.getpid)
        victim, pid = sorted(pids.items())[0]

        def kill_when_busy():
            try:
                _wait(lambda: client.processing(workers=[victim]).get(victim), what="a task")
                killed["finished"] = _finished(tmp_path) if (tmp_path / "records").exists() else 0
                os.kill(pid, signal.SIGKILL)
                killed["ok"] = True
            except Exception as exc:  # reported by the assertions below
                killed["error"] = exc

        thread = threading.Thread(target=kill_when_busy)
        thread.start()
        report = run_comparison(spec, tmp_path, scheduler=cluster.scheduler_address)
        thread.join()
        assert killed.get("ok"), killed
        assert killed["finished"] < report.total  # killed while runs were in flight
        _wait(lambda: len(client.scheduler_info()["workers"]) == 2, what="the nanny's restart")
        assert pid not in client.run(os.getpid).values()  # the worker process was replaced
    assert report.computed == 6
    assert _records(tmp_path) == ref  # no run lost, none duplicated, same rows


def test_harness_killed_then_resumed_and_a_second_harness_refused(reference, tmp_path):
    _, _, ref = reference
    spec_path = _spec_file(tmp_path, seeds=4)  # seeds 0, 1 are the reference's runs
    out = tmp_path / "out"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    cmd = [
        sys.executable,
        "-c",
        "import sys, bnnlab.experiments._compare_cli; from bnnlab.cli import main; "
        "sys.exit(main(sys.argv[1:]))",
        "compare",
        str(spec_path),
        "--out",
        str(out),
        "--no-figures",
    ]
    # run from tmp_path: from a checkout's root, ``-c`` would import the checkout's bnnlab (the
    # current directory comes first on sys.path) instead of the one this test imported, whose
    # numba cache the reference fixture has warmed; on a cold cache the harness then spent the
    # wait below compiling
    first = subprocess.Popen(
        cmd, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        lock = out / ".compare.lock"
        _wait(
            lambda: lock.exists() and f"pid {first.pid} " in lock.read_text(),
            what="the first harness's lock",
            proc=first,
        )
        os.kill(first.pid, signal.SIGSTOP)  # keep it holding the lock while the second one tries
        second = subprocess.run(
            cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
        )
        os.kill(first.pid, signal.SIGCONT)
        assert second.returncode == 2, second.stderr
        assert "in use by another compare harness" in second.stderr
        assert f"pid {first.pid}" in second.stderr
        with pytest.raises(ComparisonLocked), results_lock(out):  # and in-process too
            pass

        _wait(lambda: _finished(out) >= 2, what="two finished runs", proc=first)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    done = _finished(out)
    assert 2 <= done < 12, "killed mid-sweep"
    kept = {
        p.name: (p.read_bytes(), p.stat().st_mtime_ns)
        for p in (out / "records").glob("compare-*.jsonl")
        if json.loads(p.with_suffix(".json").read_text())["finished"]
    }
    assert len(kept) == done

    report = run_comparison(load_spec(spec_path), out)  # the kernel released the lock
    assert (report.total, report.skipped, report.computed) == (12, done, 12 - done)
    records = _records(out)
    assert len(records) == 12 and len(list((out / "records").glob("compare-*.json"))) == 12
    assert all([r["epoch"] for r in rows] == [1, 2, 3] for rows in records.values())
    assert {k: records[k] for k in ref} == ref  # seeds 0, 1 equal the serial reference
    for name, (data, mtime) in kept.items():  # finished runs were skipped, not rewritten
        p = out / "records" / name
        assert (p.read_bytes(), p.stat().st_mtime_ns) == (data, mtime)
