"""Records under faults: concurrent writers (real processes), SIGKILL mid-write, edited files.

Every test uses real files and real processes; nothing of the file system or of the processes is
mocked.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import bnnlab
from bnnlab._io import atomic_write_text, stale_temp_files
from bnnlab.experiments.records import RunLockedError, RunRecorder, read_records

sys.path.insert(0, str(Path(__file__).parent))  # a spawned child imports its target by name
from _records_children import CFG, _child_append, _forked_copy_appends

REPO = str(Path(bnnlab.__file__).resolve().parent.parent)


def _python(code: str, *args: str, **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": REPO}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


_APPEND_ONE = """
    import json, sys
    from bnnlab.experiments.records import RunRecorder, RunLockedError
    rec = RunRecorder(sys.argv[1], "demo", json.loads(sys.argv[2]))
    try:
        rec.append({"epoch": 99, "writer": "other"})
    except RunLockedError as exc:
        print(exc, file=sys.stderr)
        sys.exit(3)
    rec.finish()
"""


def test_second_process_is_refused_while_a_run_is_written(tmp_path):
    rec = RunRecorder(tmp_path, "demo", CFG)
    rec.append({"epoch": 0})  # takes the lock
    assert rec.lock_path.exists()
    other = _python(_APPEND_ONE, str(tmp_path), json.dumps(CFG))
    _, err = other.communicate(timeout=60)
    assert other.returncode == 3, err
    assert f"demo-{rec.id}" in err and str(rec.lock_path) in err and f"pid {os.getpid()}" in err
    # the refused writer left this run's files alone
    rec.append({"epoch": 1})
    rec.finish()
    assert [r["epoch"] for r in read_records(tmp_path, "demo")] == [0, 1]
    assert not rec.lock_path.exists()  # released (and removed) by finish()
    # once released, another process may write the run (it recomputes it from scratch)
    again = _python(_APPEND_ONE, str(tmp_path), json.dumps(CFG))
    _, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    assert [r["writer"] for r in read_records(tmp_path, "demo")] == ["other"]


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_multiprocessing_child_is_refused(tmp_path, method):
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} start method here")
    ctx = multiprocessing.get_context(method)
    rec = RunRecorder(tmp_path, "demo", CFG)
    rec.append({"epoch": 0})
    queue = ctx.Queue()
    child = ctx.Process(target=_child_append, args=(str(tmp_path), queue))
    child.start()
    outcome, msg = queue.get(timeout=60)
    child.join(60)
    assert outcome == "locked" and str(rec.lock_path) in msg
    # the holder itself, forked or pickled into the child, cannot write there either
    child = ctx.Process(target=_forked_copy_appends, args=(rec, queue))
    child.start()
    outcome, msg = queue.get(timeout=60)
    child.join(60)
    assert outcome == "locked", msg
    assert rec.lock_path.exists()  # the child's exit did not release or remove the parent's lock
    rec.finish()
    assert [r["epoch"] for r in read_records(tmp_path, "demo")] == [0]


_RACER = """
    import json, sys
    from bnnlab.experiments.records import RunRecorder, RunLockedError
    root, who = sys.argv[1], sys.argv[2]
    rec = RunRecorder(root, "race", {"seed": 1})
    try:
        if not rec.finished:
            for epoch in range(30):
                rec.append({"epoch": epoch, "who": who})
            rec.finish()
    except RunLockedError:
        sys.exit(3)
"""


def test_racing_processes_never_leave_a_mixed_record(tmp_path):
    procs = [_python(_RACER, str(tmp_path), str(i)) for i in range(3)]
    codes = [p.wait(timeout=120) for p in procs]
    assert set(codes) <= {0, 3} and 0 in codes, [p.stderr.read() for p in procs]
    rows = read_records(tmp_path, "race")  # consistent: no ValueError
    assert [r["epoch"] for r in rows] == list(range(30))
    assert len({r["who"] for r in rows}) == 1
    assert not list(tmp_path.glob("*.lock")) and not list(tmp_path.glob(".*"))


def test_lock_of_a_killed_holder_is_free(tmp_path):
    holder = _python(
        """
        import sys, time
        from bnnlab.experiments.records import RunRecorder
        rec = RunRecorder(sys.argv[1], "demo", {"seed": 0, "lr": 0.1})
        rec.append({"epoch": 0})
        print("holding", flush=True)
        time.sleep(600)
        """,
        str(tmp_path),
    )
    assert holder.stdout.readline().strip() == "holding"
    rec = RunRecorder(tmp_path, "demo", CFG)
    with pytest.raises(RunLockedError, match=f"pid {holder.pid}"):
        rec.append({"epoch": 0})
    holder.send_signal(signal.SIGKILL)
    holder.wait(60)
    assert rec.lock_path.exists()  # the file stays behind, the kernel dropped the flock
    rec.rows.clear()
    rec.append({"epoch": 0})
    rec.finish()
    assert len(read_records(tmp_path, "demo")) == 1 and not rec.lock_path.exists()


def test_newer_recorder_in_the_same_process_takes_over(tmp_path):
    old = RunRecorder(tmp_path, "demo", CFG)
    old.append({"epoch": 0})  # e.g. a loop interrupted by an exception, the object still alive
    new = RunRecorder(tmp_path, "demo", CFG)
    new.acquire()
    assert json.loads(new.meta_path.read_text())["rows"] == 0  # the old attempt's commit is void
    new.append({"epoch": 0})
    with pytest.raises(RunLockedError, match="newer recorder"):
        old.append({"epoch": 1})
    new.append({"epoch": 1})
    new.finish()
    old.close()  # not the holder: does nothing
    assert [r["epoch"] for r in read_records(tmp_path, "demo")] == [0, 1]
    with RunRecorder(tmp_path, "demo", CFG) as rec:
        assert rec.lock_path.exists()
    assert not rec.lock_path.exists()


def test_reader_refuses_rows_that_do_not_match_the_sidecar(tmp_path):
    rec = RunRecorder(tmp_path, "demo", CFG)
    for epoch in range(3):
        rec.append({"epoch": epoch, "acc": 50.0 + epoch})
    rec.finish()
    good = rec.path.read_text()
    lines = good.splitlines(keepends=True)
    # what an unlocked second writer used to leave: a finished sidecar beside fewer rows
    atomic_write_text(rec.path, "".join(lines[:2]))
    with pytest.raises(ValueError) as exc:
        read_records(tmp_path)
    assert str(rec.path) in str(exc.value) and rec.meta_path.name in str(exc.value)
    assert "has 2 rows" in str(exc.value) and "commits 3" in str(exc.value)
    # more rows than committed
    atomic_write_text(rec.path, good + lines[0])
    with pytest.raises(ValueError, match="has 4 rows"):
        read_records(tmp_path)
    # same count, another value: the SHA-256 catches it
    atomic_write_text(rec.path, good.replace('"acc": 52.0', '"acc": 92.0'))
    with pytest.raises(ValueError, match=r"SHA-256") as exc:
        read_records(tmp_path, "demo")
    assert str(rec.path) in str(exc.value) and rec.meta_path.name in str(exc.value)
    # a last line without its newline is a truncated file
    atomic_write_text(rec.path, good[:-1])
    with pytest.raises(ValueError, match=r"demo-.*\.jsonl:3: truncated"):
        read_records(tmp_path)
    atomic_write_text(rec.path, good)
    assert [r["acc"] for r in read_records(tmp_path)] == [50.0, 51.0, 52.0]


def test_unfinished_run_killed_between_its_two_renames(tmp_path):
    rec = RunRecorder(tmp_path, "demo", CFG)
    rec.append({"epoch": 0})
    rec.append({"epoch": 1})
    # the rows file of the third append landed, its sidecar did not
    atomic_write_text(
        rec.path, rec.path.read_text() + json.dumps({"epoch": 2, "run": rec.id}) + "\n"
    )
    assert [r["epoch"] for r in read_records(tmp_path, finished_only=False)] == [0, 1]
    assert read_records(tmp_path) == []
    # fewer rows than committed is never a crash state
    atomic_write_text(rec.path, rec.path.read_text().splitlines(keepends=True)[0])
    with pytest.raises(ValueError, match="has 1 rows"):
        read_records(tmp_path, finished_only=False)
    rec.close()


def test_restart_invalidates_the_old_commit_before_rewriting_rows(tmp_path):
    first = RunRecorder(tmp_path, "demo", CFG)
    for epoch in range(3):
        first.append({"epoch": epoch, "try": 1})
    first.close()  # interrupted, unfinished
    second = RunRecorder(tmp_path, "demo", CFG)
    second.acquire()
    # between the acquisition and the first rewrite the old commit is void, not paired with rows
    meta = json.loads(second.meta_path.read_text())
    assert meta["rows"] == 0 and meta["finished"] is False
    assert read_records(tmp_path, finished_only=False) == []
    second.append({"epoch": 0, "try": 2})
    assert [r["try"] for r in read_records(tmp_path, finished_only=False)] == [2]
    second.close()


_KILLED_MID_WRITE = """
    import sys, time
    from bnnlab._io import atomic_path
    with atomic_path(sys.argv[1]) as tmp:
        with open(tmp, "w") as fh:
            fh.write('{"config": {"seed": 0}, "finish')
            fh.flush()
            print(tmp, flush=True)
            time.sleep(600)
"""


def test_sigkill_mid_write_leaves_a_temp_file_readers_ignore(tmp_path):
    rec = RunRecorder(tmp_path, "demo", CFG)
    rec.append({"epoch": 0})
    rec.finish()
    before = rec.meta_path.read_bytes()
    writer = _python(_KILLED_MID_WRITE, str(rec.meta_path))
    tmp = Path(writer.stdout.readline().strip())
    writer.send_signal(signal.SIGKILL)
    assert writer.wait(60) == -signal.SIGKILL
    assert tmp.exists() and tmp.name.startswith(f".{rec.meta_path.name}.")
    assert tmp.suffix == ".json" and rec.meta_path.read_bytes() == before
    assert stale_temp_files(rec.meta_path) == [tmp]
    # the readers read the committed record and skip the debris
    assert [r["epoch"] for r in read_records(tmp_path)] == [0]
    assert [r["epoch"] for r in read_records(tmp_path, "demo", finished_only=False)] == [0]
    # the next writer of the run (holding its lock) removes it
    with RunRecorder(tmp_path, "demo", CFG):
        assert not tmp.exists()


def test_names_match_exactly(tmp_path):
    for name, acc in (("fashion-mnist", 1.0), ("fashion-mnist-mini", 2.0), ("mnist", 3.0)):
        rec = RunRecorder(tmp_path, name, CFG)
        rec.append({"acc": acc})
        rec.finish()
    assert [r["acc"] for r in read_records(tmp_path, "fashion-mnist")] == [1.0]
    assert [r["acc"] for r in read_records(tmp_path, "fashion-mnist-mini")] == [2.0]
    assert [r["acc"] for r in read_records(tmp_path, "fashion")] == []
    assert sorted(r["acc"] for r in read_records(tmp_path)) == [1.0, 2.0, 3.0]
    # files that only look like records are not read
    (tmp_path / "notes.json").write_text("{")
    (tmp_path / "mnist-XYZ.json").write_text("{")
    (tmp_path / "mnist-0123456789abcdef.json").write_text("{")
    assert len(read_records(tmp_path)) == 3


@pytest.mark.parametrize("name", ["", "a/b", ".hidden", None, 3])
def test_bad_names(tmp_path, name):
    with pytest.raises(ValueError, match=r"^name: "):
        RunRecorder(tmp_path, name, CFG)
    if name is not None:
        with pytest.raises(ValueError, match=r"^name: "):
            read_records(tmp_path, name)


@pytest.mark.parametrize(
    ("meta", "match"),
    [
        ("[1, 2]", "not a JSON object"),
        ('{"finished": "yes", "rows": 1}', "'finished'"),
        ('{"finished": true, "rows": -1}', "'rows'"),
        ('{"finished": true, "rows": true}', "'rows'"),
        ('{"finished": true, "rows": 0, "config": [1]}', "'config'"),
        ('{"finished": true, "rows": 0, "name": "other"}', "run name 'other'"),
        ("\xff", "corrupt record metadata"),
    ],
)
def test_malformed_sidecar(tmp_path, meta, match):
    path = tmp_path / "demo-0123456789ab.json"
    path.write_bytes(meta.encode("latin-1"))
    (tmp_path / "demo-0123456789ab.jsonl").write_text("")
    with pytest.raises(ValueError, match=match) as exc:
        read_records(tmp_path, finished_only=False)
    assert str(path) in str(exc.value)


def test_sidecars_written_before_the_checksum_still_read(tmp_path):
    rec = RunRecorder(tmp_path, "demo", CFG)
    rec.append({"epoch": 0})
    rec.finish()
    meta = json.loads(rec.meta_path.read_text())
    del meta["sha256"]  # as written by earlier versions: the row count is still checked
    atomic_write_text(rec.meta_path, json.dumps(meta))
    assert [r["epoch"] for r in read_records(tmp_path)] == [0]
    atomic_write_text(rec.path, "")
    with pytest.raises(ValueError, match="has 0 rows"):
        read_records(tmp_path)
