"""numba's on-disk cache made safe for several processes compiling at once.

Every compiled kernel of bnnlab is cached on disk (``cache=True``): per function an index file
maps each compiled signature to a data file of machine code. numba (up to at least 0.68) does not
coordinate processes that compile into one cache at the same time: ``IndexDataCacheFile.save``
reads the index, takes the first free data-file number and writes the index, then the data, with
no lock, and the functions' native names carry per-process counters (numba issues #4807 and
#10128, both open). Processes that compile different signatures of one function at once can
leave an index entry naming another signature's code, and every later process that loads it
runs the wrong machine code. One run of the test suite here left a cache (Dask workers
and harness processes of the comparison tests compiling into one checkout's cache at once, some
of them killed): every later learner run on it died with a segmentation fault inside a compiled
kernel until the cache files were deleted; the fault did not recur on rebuilt caches, and this
race is the one way known to get there (which entry was wrong was not kept).

:func:`install` makes processes compile into a cache directory one at a time, as if they had run
one after another (the case numba supports): a compilation of a cached function (numba's
``Dispatcher.compile``, which first tries to load the signature from the cache and saves what it
compiled) holds an exclusive ``flock`` on ``bnnlab-compile.lock`` in the function's cache
directory, taken inside numba's in-process compiler lock; a process waiting for it then loads
what the other one saved instead of compiling it again. Nested compilations of callees in the
same process re-enter the lock they hold (in-process re-entry; a callee in another cache
directory takes that directory's lock: the package's modules call each other without cycles, so
the locks are always taken in one order). A cache save outside a compilation takes the same lock
and writes the data file before the index entry naming it. Where ``fcntl`` is missing (Windows)
numba is left as it is. Every bnnlab module that compiles with ``cache=True`` calls
:func:`install` when it is imported.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import threading
from collections.abc import Iterator
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

from numba.core import caching, dispatcher
from numba.core.compiler_lock import global_compiler_lock

__all__ = ["LOCK_NAME", "cache_lock", "install", "installed"]

LOCK_NAME = "bnnlab-compile.lock"

_held: dict[str, int] = {}  # lock path -> depth of this process's holds
_held_guard = threading.Lock()


@contextlib.contextmanager
def cache_lock(directory: str) -> Iterator[None]:
    """The exclusive ``flock`` on ``directory``'s :data:`LOCK_NAME` for the block; re-entered,
    not taken again, when this process holds it already. Without a writable directory (numba
    then does not cache there either) the block runs unlocked."""
    path = os.path.join(directory, LOCK_NAME)
    with _held_guard:
        reentered = path in _held
        if reentered:
            _held[path] += 1
    if reentered:
        try:
            yield
        finally:
            with _held_guard:
                _held[path] -= 1
        return
    try:
        os.makedirs(directory, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with _held_guard:
            _held[path] = 1
        yield
    finally:
        with _held_guard:
            _held.pop(path, None)
        os.close(fd)  # releases the lock


def _locked_compile(compile_: Any) -> Any:
    @functools.wraps(compile_)
    def compile(self: Any, sig: Any) -> Any:
        cache = getattr(self, "_cache", None)
        if not isinstance(cache, caching.Cache):  # not cached on disk: nothing to coordinate
            return compile_(self, sig)
        with global_compiler_lock, cache_lock(cache._cache_path):
            return compile_(self, sig)

    compile.bnnlab_locked = True
    return compile


def _locked_save(self: Any, key: Any, data: Any) -> None:
    """``IndexDataCacheFile.save`` under :func:`cache_lock`: the data file first, then the index
    entry naming it (an existing entry's data file is rewritten in place)."""
    with cache_lock(self._cache_path):
        overloads = self._load_index()
        name = overloads.get(key)
        if name is None:
            taken = set(overloads.values())
            name = next(
                n for n in (self._data_name(i) for i in itertools.count(1)) if n not in taken
            )
        self._save_data(name, data)
        if overloads.get(key) != name:
            overloads[key] = name
            self._save_index(overloads)


def install() -> None:
    """Coordinate numba's cached compilations across processes (idempotent; a no-op without
    ``fcntl``)."""
    if fcntl is None:  # pragma: no cover - Windows
        return
    cls = dispatcher.Dispatcher
    if not getattr(cls.compile, "bnnlab_locked", False):
        cls.compile = _locked_compile(cls.compile)
    caching.IndexDataCacheFile.save = _locked_save


def installed() -> bool:
    """Whether :func:`install` is in effect in this process."""
    return bool(
        getattr(dispatcher.Dispatcher.compile, "bnnlab_locked", False)
        and caching.IndexDataCacheFile.save is _locked_save
    )
