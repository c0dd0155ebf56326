"""numba's disk cache under processes compiling at once (:mod:`bnnlab._numba_cache`).

Uncoordinated, processes that compile into one cache at the same moment can leave an index entry
naming another signature's machine code, and every later process that loads it runs the wrong
code (a cache left by concurrent comparison-test processes here crashed every later learner run;
that this race made it is inferred, see :mod:`bnnlab._numba_cache`). Here: a process compiling a cached function waits while
another holds the cache directory's lock, and the real numba index/data classes keep every
signature with its own data when four processes save large entries at once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

pytest.importorskip("fcntl")
from numba.core import caching

from bnnlab import _numba_cache

STAMP = (1.0, 2)  # the source file's stamp the index records
N_PROC = 4


def _payload(i: int) -> bytes:
    # a few MB: the unlocked read-modify-write then spans milliseconds of writing
    return bytes([i]) * (4 << 20)


SAVER = """
import os, sys, time
from numba.core import caching
from bnnlab import _numba_cache
_numba_cache.install()
path, i, go = sys.argv[1], int(sys.argv[2]), sys.argv[3]
cache = caching.IndexDataCacheFile(path, "f-1.py311", {stamp!r})
data = bytes([i]) * (4 << 20)
open(go + f".ready{{i}}", "w").close()
while not os.path.exists(go):  # all savers start together
    time.sleep(0.0005)
cache.save(("sig", i), data)
"""


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}


def test_processes_saving_at_once_keep_every_signature_with_its_own_data(tmp_path):
    cache_dir, go = tmp_path / "cache", tmp_path / "go"
    cache_dir.mkdir()
    code = SAVER.format(stamp=STAMP)
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(cache_dir), str(i), str(go)],
                         env=_env(), stderr=subprocess.PIPE, text=True)
        for i in range(N_PROC)
    ]  # fmt: skip
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"go.ready{i}").exists() for i in range(N_PROC)):
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs)
        time.sleep(0.01)
    go.touch()
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    cache = caching.IndexDataCacheFile(str(cache_dir), "f-1.py311", STAMP)
    for i in range(N_PROC):
        assert cache.load(("sig", i)) == _payload(i), f"signature {i}"
    names = cache._load_index()
    assert len(set(names.values())) == N_PROC
    # an entry's data again: its file is rewritten in place, the index unchanged
    cache.save(("sig", 0), b"again")
    assert cache.load(("sig", 0)) == b"again" and cache._load_index() == names
    want = [*names.values(), "f-1.py311.nbi", _numba_cache.LOCK_NAME]
    assert sorted(os.listdir(cache_dir)) == sorted(want)  # and no temporary file left


CHILD = """
import sys, time
from bnnlab import _numba_cache
_numba_cache.install()
sys.path.insert(0, {root!r})
import cachedmod
print("ready", flush=True)
cachedmod.f(3)  # compiles (a cache miss): waits for the directory's lock
print(time.time(), flush=True)
"""


def test_a_process_compiling_waits_for_the_cache_directory_lock(tmp_path):
    (tmp_path / "cachedmod.py").write_text(
        textwrap.dedent(
            """
            from numba import njit

            @njit(cache=True)
            def f(x):
                return x + 1
            """
        )
    )
    env = _env()
    with _numba_cache.cache_lock(str(tmp_path / "__pycache__")):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD.format(root=str(tmp_path))],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
        time.sleep(1.5)  # far longer than compiling f takes
        released = time.time()
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    assert float(out.split()[-1]) >= released, "compiled while another process held the lock"
    assert any(p.suffix == ".nbi" for p in (tmp_path / "__pycache__").iterdir())


def test_the_kernel_modules_install_the_coordination():
    import bnnlab.learn.local._fused  # noqa: F401 - a module that compiles with cache=True

    assert _numba_cache.installed()
