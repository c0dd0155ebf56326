"""Atomic writes: permissions follow the umask, temporary files are recognisable and cleaned."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from bnnlab._io import (
    atomic_path,
    atomic_write,
    atomic_write_json,
    atomic_write_text,
    stale_temp_files,
)


@pytest.fixture
def umask():
    """Set the process umask for one test and restore it afterwards."""
    old = os.umask(0o022)
    os.umask(old)
    yield os.umask
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077, 0o027], ids=lambda m: f"umask{m:03o}")
def test_final_file_has_the_mode_open_would_give(tmp_path, umask, mask):
    umask(mask)
    plain = tmp_path / "plain.txt"
    plain.write_text("x")  # what a normal open() gives a new file
    assert _mode(plain) == 0o666 & ~mask
    assert _mode(atomic_write_text(tmp_path / "a.txt", "x")) == 0o666 & ~mask
    assert _mode(atomic_write_json(tmp_path / "a.json", {"a": 1})) == 0o666 & ~mask
    with atomic_path(tmp_path / "a.npy") as tmp:
        np.save(tmp, np.arange(3))
    assert _mode(tmp_path / "a.npy") == 0o666 & ~mask
    # replacing an existing file: the new content gets the same mode
    assert _mode(atomic_write_text(tmp_path / "a.txt", "y")) == 0o666 & ~mask


def test_writers_that_replace_the_temp_file(tmp_path):
    with atomic_path(tmp_path / "out.npz") as tmp:
        assert tmp.exists() and tmp.name.startswith(".out.npz.") and tmp.suffix == ".npz"
        np.savez(tmp, a=np.arange(3))
    with np.load(tmp_path / "out.npz") as f:
        assert f["a"].tolist() == [0, 1, 2]
    assert [p.name for p in tmp_path.iterdir()] == ["out.npz"]


def test_failure_removes_the_temp_file_and_keeps_the_target(tmp_path):
    target = atomic_write_text(tmp_path / "x.json", "old")

    def boom(fh):
        fh.write("partial")
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        atomic_write(target, boom)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_stale_temp_files_match_one_target_exactly(tmp_path):
    target = tmp_path / "run.json"
    mine = [tmp_path / ".run.json.ab12cd34.json", tmp_path / ".run.json.k_9zq0xw.json"]
    others = [
        tmp_path / ".run.json.bak.ab12cd34.bak",  # temp file of run.json.bak
        tmp_path / ".run.jsonl.ab12cd34.jsonl",  # temp file of run.jsonl
        tmp_path / ".run.json.ab12cd34.npz",  # another suffix
        tmp_path / ".run.json.ab12.json",  # not 8 random characters
        tmp_path / "run.json.ab12cd34.json",  # not hidden
    ]
    for p in mine + others:
        p.write_text("")
    assert stale_temp_files(target) == sorted(mine)
    assert stale_temp_files(tmp_path / "run.json.bak") == [others[0]]
    assert stale_temp_files(tmp_path / ".run.json.ab12cd34.npz", suffix=".x") == []
    assert stale_temp_files(tmp_path / "missing" / "run.json") == []
    with atomic_path(target) as tmp:
        assert tmp in stale_temp_files(target)  # a live writer's file looks the same
