"""Atomic file output: results are written to a temporary file beside the target and renamed.

A crash or an exception half-way leaves the previous file untouched, never a truncated one. The
temporary file is named ``.<target name>.<8 random characters><suffix>`` (hidden, in the target's
directory, so the rename stays on one file system); a process killed mid-write (``SIGKILL``, power
loss) can leave one behind. Readers of a directory must therefore match the names they read exactly
(never a bare ``*.json`` glob), and :func:`stale_temp_files` lists the leftovers of one target for a
writer that knows nobody else is writing it (see :class:`bnnlab.experiments.records.RunRecorder`).

The final file gets the permissions a plain ``open(path, "w")`` would give a new file,
``0o666 & ~umask`` (the temporary file is created with that mode rather than ``mkstemp``'s
``0o600``), and the directory entry is flushed to disk after the rename.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

_TEMP_RANDOM = r"[a-z0-9_]{8}"  # secrets.token_hex(4) today; tempfile.mkstemp's alphabet before


def _temp_suffix(target: Path, suffix: str | None) -> str:
    return suffix or target.suffix or ".tmp"


def _create_temp(target: Path, suffix: str) -> Path:
    """Create (exclusively) and return an empty temporary file beside ``target``.

    Opened with mode ``0o666``: the kernel applies the umask (and any default ACL) exactly as for
    a file created by ``open()``.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = target.parent / f".{target.name}.{secrets.token_hex(4)}{suffix}"
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"{target}: could not create a unique temporary file beside it")


def _fsync_dir(directory: Path) -> None:
    """Flush a directory entry (the rename) to disk where the platform allows it."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # pragma: no cover - platforms without directory file descriptors
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - file systems that refuse fsync on directories
        pass
    finally:
        os.close(fd)


def stale_temp_files(path: str | os.PathLike[str], suffix: str | None = None) -> list[Path]:
    """The temporary files that :func:`atomic_path` writes for ``path`` and that exist now.

    Only the caller knows whether they are stale (left by a killed writer) or in use by a live
    one: delete them only while holding a lock on ``path`` (or knowing no other writer exists).

    Parameters
    ----------
    path : path
        The target file of the atomic writes.
    suffix : str, optional
        The ``suffix`` given to :func:`atomic_path` (default: ``path``'s suffix, or ``.tmp``).

    Returns
    -------
    list of pathlib.Path
        Sorted; empty when the directory does not exist.
    """
    target = Path(path)
    pattern = re.compile(
        rf"\.{re.escape(target.name)}\.{_TEMP_RANDOM}{re.escape(_temp_suffix(target, suffix))}"
    )
    try:
        names = os.listdir(target.parent)
    except FileNotFoundError:
        return []
    return sorted(target.parent / n for n in names if pattern.fullmatch(n))


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path in the target's directory; on success rename it over ``path``.

    Use it with writers that want a file name (``numpy.savez``, ``matplotlib.savefig``). The
    temporary file keeps ``path``'s suffix (or ``suffix``) so writers that infer the format from the
    name work. It exists (empty) when the block starts; the writer may truncate or replace it.

    Parameters
    ----------
    path : path
        The target; its directory is created.
    suffix : str, optional
        Suffix of the temporary file (default: ``path``'s suffix, or ``.tmp``).

    Yields
    ------
    pathlib.Path
        The temporary file to write. On a normal exit it is fsynced and renamed over ``path``
        (mode ``0o666 & ~umask``, like a new file from ``open``); on an exception it is removed and
        ``path`` is left as it was.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = _create_temp(target, _temp_suffix(target, suffix))
    try:
        yield tmp_path
        with open(tmp_path, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, target)
        _fsync_dir(target.parent)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write(
    path: str | os.PathLike[str], write: Callable[[IO[Any]], None], *, binary: bool = False
) -> Path:
    """Call ``write(fh)`` on a temporary file, then atomically replace ``path`` with it.

    Parameters
    ----------
    path : path
        The target file.
    write : callable
        Called once with the open temporary file (text, UTF-8, unless ``binary``).
    binary : bool
        Open the temporary file in binary mode.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    with atomic_path(path) as tmp:
        with open(tmp, "wb" if binary else "w", encoding=None if binary else "utf-8") as fh:
            write(fh)
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Atomically write ``text`` (UTF-8) to ``path``; return ``path``."""
    return atomic_write(path, lambda fh: fh.write(text))


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Atomically write ``obj`` as indented JSON (sorted keys); return ``path``."""
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")
