"""Tidy, atomically written experiment records.

A *run* is identified by a stable hash of its configuration (:func:`run_id`, 12 hexadecimal
characters). Its rows (one per epoch, or per any other step) live in ``<root>/<name>-<id>.jsonl``
and a sidecar ``<name>-<id>.json`` holds the configuration, whether the run finished, the number
of rows it commits and the SHA-256 of those rows. Both files are rewritten atomically
(:mod:`bnnlab._io`) after each appended row: first the rows file, then the sidecar, so the sidecar
is the commit record and a run killed between the two renames leaves a rows file whose first
``rows`` lines are exactly what the sidecar describes. Restarting a run with the same configuration
either skips it (finished) or recomputes it from scratch (unfinished), overwriting only its own
partial record.

**One writer per run.** While a :class:`RunRecorder` writes, it holds an exclusive
``fcntl.flock`` on ``<root>/<name>-<id>.lock`` (taken at the first write, released by
:meth:`RunRecorder.finish`, :meth:`RunRecorder.close` or garbage collection; the kernel drops it
when the process dies). A recorder of the same run in *another process* is refused with
:class:`RunLockedError` naming the run and the lock file — it does not wait — so two sweeps
sharing a results directory can never interleave their writes of one run. Inside one process a
newer recorder of the run takes the lock over (a restarted loop after an exception) and the older
one can no longer write. The holder also deletes the run's temporary files left by a killed
writer.

**Readers verify.** :func:`read_records` reads exactly the files named ``<name>-<id>.json`` (a
name is never a prefix of another: ``"fashion-mnist"`` does not read ``"fashion-mnist-mini"``
runs; hidden temporary files and lock files are never read) and checks each rows file against its
sidecar: a finished run must have exactly the committed rows with the committed SHA-256.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import hashlib
import io
import json
import math
import os
import re
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from bnnlab._io import atomic_write_json, atomic_write_text, stale_temp_files

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock
    fcntl = None  # type: ignore[assignment]

__all__ = ["RunLockedError", "RunRecorder", "read_records", "run_id", "write_csv"]

#: Length of the run ids that :class:`RunRecorder` uses (hex characters of the SHA-256).
ID_LENGTH = 12
_RECORD_FILE = re.compile(rf"(?P<name>[^./][^/]*)-(?P<id>[0-9a-f]{{{ID_LENGTH}}})\.json")


class RunLockedError(RuntimeError):
    """Another process is writing this run (it holds the run's lock file)."""


def _canonical(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _canonical(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, list | tuple):
        return [_canonical(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalar
        return obj.item()
    return obj


def _jsonable(value: Any) -> Any:
    value = _canonical(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name or "/" in name or "\0" in name or name[0] == ".":
        raise ValueError(
            f"name: expected a non-empty file-name prefix without '/' that does not start with "
            f"'.', got {name!r}"
        )
    return name


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def run_id(config: Mapping[str, Any], length: int = ID_LENGTH) -> str:
    """Stable hexadecimal id of a configuration (SHA-256 of its canonical JSON).

    Parameters
    ----------
    config : mapping
        JSON-serialisable configuration; key order does not matter.
    length : int
        Number of hex characters kept (:class:`RunRecorder` uses the default, 12).

    Returns
    -------
    str
    """
    if not isinstance(config, Mapping):
        raise TypeError(f"config: expected a mapping, got {type(config).__name__}")
    text = json.dumps(_canonical(config), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:length]


class _RunLock:
    """An exclusive ``flock`` on a lock file, shared by the recorders of one run in a process."""

    def __init__(self, path: Path, fd: int):
        self.path = path
        self.fd = fd
        self.pid = os.getpid()
        self.owner: Any = None

    @classmethod
    def acquire(cls, path: Path, run: str) -> _RunLock:
        if fcntl is None:  # pragma: no cover - Windows: the lock file exists, unenforced
            return cls(path, os.open(path, os.O_RDWR | os.O_CREAT, 0o666))
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                holder = _read_pid(fd)
                os.close(fd)
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
                raise RunLockedError(
                    f"run {run} is being written by another process"
                    f"{f' (pid {holder})' if holder else ''}: its lock {path} is held; "
                    "a run has one writer at a time — wait for it to finish, or give this "
                    "process another results directory"
                ) from None
            # the previous holder may have deleted the file between our open and our flock: the
            # lock is ours only if the path still names the file we locked
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(path))
            except FileNotFoundError:
                same = False
            if same:
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
                return cls(path, fd)
            os.close(fd)

    def release(self) -> None:
        if self.fd < 0:
            return
        if self.pid != os.getpid():  # a forked child's copy: the parent holds the lock
            self.fd = -1
            return
        try:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)  # while still locked: a waiting opener re-checks the inode
        finally:
            os.close(self.fd)  # closing the descriptor drops the flock
            self.fd = -1


def _read_pid(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
    return text if text.isdigit() else ""


_LOCKS: dict[str, _RunLock] = {}  # lock path -> lock held by this process
_LOCKS_GUARD = threading.RLock()  # reentrant: __del__ may run inside it


class RunRecorder:
    """Collect the rows of one run and keep them on disk atomically.

    Parameters
    ----------
    root : path
        Directory of the records (created if missing).
    name : str
        Prefix of the file names (an experiment family, e.g. ``"laplace-study"``); no ``/``, not
        starting with ``.``.
    config : mapping
        JSON-serialisable configuration; its hash is the run id and it is stored in the sidecar.

    Notes
    -----
    The first write (:meth:`append`, :meth:`finish` or :meth:`acquire`) takes the run's lock
    ``<root>/<name>-<id>.lock``; a recorder of the same run in another process then raises
    :class:`RunLockedError` at its first write instead of interleaving with this one. The lock is
    released by :meth:`finish`, :meth:`close`, leaving a ``with`` block, garbage collection or the
    end of the process. Creating a recorder and reading :attr:`finished` never locks. Where
    ``fcntl.flock`` does not exist (Windows) the lock file is created but not enforced.

    Examples
    --------
    >>> rec = RunRecorder(tmpdir, "demo", {"seed": 0})       # doctest: +SKIP
    >>> if not rec.finished:
    ...     for epoch in range(3):
    ...         rec.append({"epoch": epoch, "loss": 1.0 / (epoch + 1)})
    ...     rec.finish()
    """

    def __init__(self, root: str | os.PathLike[str], name: str, config: Mapping[str, Any]):
        self.name = _check_name(name)
        self.root = Path(root)
        self.config = dict(_canonical(config))
        self.id = run_id(self.config)
        self.rows: list[dict[str, Any]] = []
        self._lock: _RunLock | None = None
        self.root.mkdir(parents=True, exist_ok=True)

    @property
    def path(self) -> Path:
        """The JSON-lines file of the rows."""
        return self.root / f"{self.name}-{self.id}.jsonl"

    @property
    def meta_path(self) -> Path:
        """The sidecar with the configuration, the finished flag and the committed rows."""
        return self.root / f"{self.name}-{self.id}.json"

    @property
    def lock_path(self) -> Path:
        """The lock file held while this recorder writes."""
        return self.root / f"{self.name}-{self.id}.lock"

    @property
    def finished(self) -> bool:
        """True when a previous run with this configuration completed."""
        if not self.meta_path.exists() or not self.path.exists():
            return False
        try:
            meta = json.loads(self.meta_path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return False
        return (
            isinstance(meta, dict)
            and meta.get("finished") is True
            and meta.get("config") == self.config
        )

    def acquire(self) -> RunRecorder:
        """Take the run's lock now (the first write does it otherwise); return ``self``.

        Raises
        ------
        RunLockedError
            If another process holds the lock of this run.
        """
        key = str(self.lock_path.absolute())
        with _LOCKS_GUARD:
            held = _LOCKS.get(key)
            if held is not None and held.pid == os.getpid() and held.fd >= 0:
                if held.owner is self:
                    return self
                held.owner = self  # a newer recorder of the run in this process takes over
                self._lock = held
            else:
                self._lock = _RunLock.acquire(self.lock_path, f"{self.name}-{self.id}")
                self._lock.owner = self
                _LOCKS[key] = self._lock
                for stale in stale_temp_files(self.path) + stale_temp_files(self.meta_path):
                    stale.unlink(missing_ok=True)  # ours alone now: left by a killed writer
        if self.meta_path.exists():
            # void the previous attempt's commit record before rewriting the rows file, so a
            # crash in between never pairs an old sidecar with new rows
            self._write_meta(finished=False, text="")
        return self

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_lock": None}  # a lock never travels to another process

    def close(self) -> None:
        """Release the run's lock if this recorder holds it (rows already on disk stay)."""
        lock, self._lock = self._lock, None
        if lock is None or lock.owner is not self:
            return
        with _LOCKS_GUARD:
            key = str(lock.path.absolute())
            if _LOCKS.get(key) is lock:
                del _LOCKS[key]
            lock.release()

    def __enter__(self) -> RunRecorder:
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass

    def append(self, row: Mapping[str, Any]) -> None:
        """Add one row (tagged with the run id) and rewrite the record atomically.

        Raises
        ------
        RunLockedError
            If another process writes this run.
        """
        full = {"run": self.id, **{k: _jsonable(v) for k, v in row.items()}}
        self.rows.append(full)
        self._flush(finished=False)

    def finish(self) -> None:
        """Mark the run finished (only then is it skipped on restart) and release the lock."""
        self._flush(finished=True)
        self.close()

    def _flush(self, *, finished: bool) -> None:
        if self._lock is not None and self._lock.pid != os.getpid():
            self._lock = None  # copied into a forked child: the lock is the parent's
        if self._lock is None:
            self.acquire()
        elif self._lock.owner is not self or self._lock.fd < 0:
            raise RunLockedError(
                f"run {self.name}-{self.id}: a newer recorder of this run in this process took "
                f"its lock {self.lock_path}; this one can no longer write"
            )
        text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in self.rows)
        atomic_write_text(self.path, text)
        self._write_meta(finished=finished, text=text)

    def _write_meta(self, *, finished: bool, text: str) -> None:
        atomic_write_json(
            self.meta_path,
            {
                "config": self.config,
                "finished": finished,
                "name": self.name,
                "rows": text.count("\n"),
                "sha256": _sha256(text),
            },
        )


def _record_files(root: Path, name: str | None) -> list[tuple[Path, str]]:
    """``(sidecar, run name)`` of the records under ``root`` (exact names only)."""
    out = []
    for entry in sorted(os.listdir(root)):
        m = _RECORD_FILE.fullmatch(entry)
        if m is None or (name is not None and m["name"] != name):
            continue
        out.append((root / entry, m["name"]))
    return out


def _read_run(
    meta_path: Path, run_name: str, finished_only: bool
) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    try:
        meta = json.loads(meta_path.read_bytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{meta_path}: corrupt record metadata ({exc})") from exc
    if not isinstance(meta, dict):
        raise ValueError(f"{meta_path}: corrupt record metadata (not a JSON object)")
    finished = meta.get("finished")
    n_rows = meta.get("rows")
    config = meta.get("config", {})
    if not isinstance(finished, bool):
        raise ValueError(f"{meta_path}: corrupt record metadata ('finished' is {finished!r})")
    if isinstance(n_rows, bool) or not isinstance(n_rows, int) or n_rows < 0:
        raise ValueError(f"{meta_path}: corrupt record metadata ('rows' is {n_rows!r})")
    if not isinstance(config, dict):
        raise ValueError(f"{meta_path}: corrupt record metadata ('config' is not an object)")
    if meta.get("name", run_name) != run_name:
        raise ValueError(
            f"{meta_path}: the sidecar belongs to run name {meta.get('name')!r}, not {run_name!r}"
        )
    digest = meta.get("sha256")
    if finished_only and not finished:
        return None
    data_path = meta_path.with_suffix(".jsonl")
    try:
        text = data_path.read_bytes().decode()
    except FileNotFoundError:
        if not finished and n_rows == 0:
            return config, []
        raise ValueError(f"{meta_path}: its rows file {data_path.name} is missing") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"{data_path}: corrupt record file ({exc})") from exc
    lines = text.split("\n")
    if lines[-1]:
        raise ValueError(f"{data_path}:{len(lines)}: truncated record line (no newline)")
    lines.pop()
    rows = []
    for lineno, line in enumerate(lines, 1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{data_path}:{lineno}: corrupt record line ({exc})") from exc
        if not isinstance(row, dict):
            raise ValueError(f"{data_path}:{lineno}: corrupt record line (not a JSON object)")
        rows.append(row)
    # a finished run commits exactly its rows; an unfinished one may have been killed between
    # writing its rows file and its sidecar, leaving rows beyond the committed ones
    if len(rows) < n_rows or (finished and len(rows) != n_rows):
        raise ValueError(
            f"{data_path} has {len(rows)} rows but its sidecar {meta_path.name} commits "
            f"{n_rows}{' (finished)' if finished else ''}: the run was written by more than one "
            "writer or edited; delete both files to recompute it"
        )
    committed = "".join(line + "\n" for line in lines[:n_rows])
    if digest is not None and digest != _sha256(committed):
        raise ValueError(
            f"{data_path} does not match its sidecar {meta_path.name} (SHA-256 of its "
            f"{n_rows} committed rows differs): the run was written by more than one writer or "
            "edited; delete both files to recompute it"
        )
    return config, rows[:n_rows]


def read_records(
    root: str | os.PathLike[str], name: str | None = None, *, finished_only: bool = True
) -> list[dict[str, Any]]:
    """Read every row of the runs under ``root`` (optionally only those named ``name``).

    Each row is merged with its run's configuration (configuration keys prefixed ``cfg.`` only when
    they clash with a row key). Unfinished runs are left out unless ``finished_only=False``; for
    them only the rows their sidecar commits are returned.

    Parameters
    ----------
    root : path
        The records directory.
    name : str, optional
        Read only the runs of this exact name (files ``<name>-<12 hex>.json``).
    finished_only : bool
        Leave out unfinished runs.

    Returns
    -------
    list of dict
        Rows in the order of the sidecar file names, then of the rows.

    Raises
    ------
    FileNotFoundError
        If ``root`` does not exist.
    ValueError
        If a record file is corrupt (the message names the file and line), or a rows file does not
        match its sidecar (row count or SHA-256; the message names both files).
    """
    root = Path(root)
    if name is not None:
        _check_name(name)
    if not root.is_dir():
        raise FileNotFoundError(f"root: no records directory at {root}")
    rows: list[dict[str, Any]] = []
    for meta_path, run_name in _record_files(root, name):
        run = _read_run(meta_path, run_name, finished_only)
        if run is None:
            continue
        config, run_rows = run
        for row in run_rows:
            merged = {(f"cfg.{k}" if k in row else k): v for k, v in config.items()}
            merged.update(row)
            rows.append(merged)
    return rows


def write_csv(path: str | os.PathLike[str], rows: Iterable[Mapping[str, Any]]) -> Path:
    """Atomically write ``rows`` as CSV with the union of their keys as columns (sorted)."""
    rows = list(rows)
    columns = sorted({k for r in rows for k in r})
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns)
    writer.writeheader()
    for r in rows:
        writer.writerow(
            {k: json.dumps(v) if isinstance(v, list | dict) else v for k, v in r.items()}
        )
    return atomic_write_text(path, buf.getvalue())
