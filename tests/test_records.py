import json

import pytest

from bnnlab._io import atomic_write_text
from bnnlab.experiments import RunRecorder, read_records, run_id, write_csv


def test_run_id_is_stable_and_order_free():
    assert run_id({"a": 1, "b": [1, 2]}) == run_id({"b": [1, 2], "a": 1})
    assert run_id({"a": 1}) != run_id({"a": 2})


def test_recorder_roundtrip_and_resume(tmp_path):
    cfg = {"seed": 0, "lr": 0.1}
    rec = RunRecorder(tmp_path, "demo", cfg)
    assert not rec.finished
    rec.append({"epoch": 0, "loss": 1.0})
    # interrupted here: unfinished runs are not read by default
    assert read_records(tmp_path) == []
    assert len(read_records(tmp_path, finished_only=False)) == 1
    rec.append({"epoch": 1, "loss": float("nan")})
    rec.finish()
    again = RunRecorder(tmp_path, "demo", cfg)
    assert again.finished
    rows = read_records(tmp_path, "demo")
    assert [r["epoch"] for r in rows] == [0, 1]
    assert rows[0]["seed"] == 0 and rows[1]["loss"] is None
    write_csv(tmp_path / "all.csv", rows)
    assert (tmp_path / "all.csv").read_text().splitlines()[0].split(",")[0] == "epoch"


def test_corrupt_record_names_file_and_line(tmp_path):
    rec = RunRecorder(tmp_path, "demo", {"seed": 1})
    rec.append({"epoch": 0})
    rec.finish()
    rec.path.write_text(rec.path.read_text() + "{broken\n")
    with pytest.raises(ValueError, match=r"demo-.*\.jsonl:2"):
        read_records(tmp_path)


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "x.json"
    atomic_write_text(target, json.dumps({"ok": 1}))

    def boom(fh):
        fh.write("partial")
        raise RuntimeError("interrupted")

    from bnnlab._io import atomic_write

    with pytest.raises(RuntimeError):
        atomic_write(target, boom)
    assert json.loads(target.read_text()) == {"ok": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]
