"""Running a comparison: serially or on Dask, with one writer of the records and a directory lock.

Workers (or the serial loop) *compute* a run — load its data, build the method, fit it — and return
its rows; only the process that called :func:`run_comparison` writes records, one run at a time as
results arrive. A run is a pure function of its :class:`~bnnlab.experiments._compare_spec.Run`
(seeds included), so a task Dask re-executes after losing a worker returns the same rows, and the
client writes each run once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bnnlab.experiments._compare_spec import Run, Spec, _load_data

__all__ = [
    "ComparisonLocked",
    "SweepReport",
    "check_execution",
    "compute_run",
    "results_lock",
    "run_comparison",
    "sweep",
]

LOCK_NAME = ".compare.lock"
_EXTRA = "pip install 'bnnlab[distributed]'"


class ComparisonLocked(RuntimeError):
    """Another harness process holds the results directory."""


@dataclasses.dataclass(frozen=True)
class SweepReport:
    """What :func:`run_comparison` did.

    Attributes
    ----------
    total : int
        Runs in the spec.
    skipped : int
        Runs already finished in the records (not recomputed).
    computed : int
        Runs computed and written now.
    records : pathlib.Path
        The records directory.
    """

    total: int
    skipped: int
    computed: int
    records: Path


@contextlib.contextmanager
def results_lock(out: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold ``<out>/.compare.lock`` (``fcntl.flock``, exclusive, non-blocking) while inside.

    The kernel releases the lock when the holder exits, however it exits (a ``SIGKILL`` included),
    so a stale lock file never blocks a later run; the file's text names the last holder.

    Raises
    ------
    ComparisonLocked
        If another process holds the lock.
    """
    import fcntl

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / LOCK_NAME
    fh = open(path, "a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            raise ComparisonLocked(
                f"out: {out} is in use by another compare harness ({holder}; lock file {path}); "
                "wait for it to finish or choose another --out"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        fh.flush()
        try:
            yield path
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    finally:
        fh.close()


def compute_run(run: Run, data: tuple[Any, Any, Any, Any] | None = None) -> list[dict[str, Any]]:
    """Load the run's data (unless given), build its method, fit it; return the epoch rows.

    This is the task a Dask worker executes; it writes nothing.
    """
    from bnnlab.learn.method import TrainData, get

    data_seed, method_seed = run.seeds
    if data is None:
        data = _load_data(run.dataset, data_seed, run.data_root)
    train = TrainData(*data, name=run.dataset)
    cls = get(run.variant.method)
    config = cls.config_class.from_dict(run.variant.config)
    method = cls(
        config,
        n_features=train.n_features,
        n_classes=train.n_classes,
        seed=method_seed,
        backend=run.backend,
    )
    return method.fit(train, epochs=run.epochs)


def _recorder(records: Path, spec: Spec, run: Run) -> Any:
    from bnnlab.experiments.records import RunRecorder

    return RunRecorder(records, spec.record_name, run.record_config())


def _write(records: Path, spec: Spec, run: Run, rows: list[dict[str, Any]]) -> None:
    if len(rows) != run.epochs:
        raise RuntimeError(f"{run.describe()}: {len(rows)} rows for {run.epochs} epochs")
    rec = _recorder(records, spec, run)
    if rec.finished:  # never twice
        return
    for row in rows:
        rec.append(row)
    rec.finish()


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise ImportError(
            f"workers/scheduler: the Dask runner needs the 'distributed' package ({_EXTRA}); "
            "without it, run serially (no --workers/--scheduler)"
        ) from exc
    return distributed


def _check_scheduler(scheduler: Any) -> str:
    if not isinstance(scheduler, str):
        raise TypeError(f"scheduler: expected an address string, got {type(scheduler).__name__}")
    scheme, sep, rest = scheduler.partition("://")
    if not sep or scheme not in ("tcp", "tls") or ":" not in rest:
        raise ValueError(f"scheduler: expected tcp://HOST:PORT, got {scheduler!r}")
    return scheduler


def run_comparison(
    spec: Spec,
    out: str | os.PathLike[str],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    log: Callable[[str], None] | None = None,
) -> SweepReport:
    """Train every unfinished run of ``spec``, recording each under ``<out>/records``.

    Parameters
    ----------
    spec : Spec
        A validated spec (:func:`bnnlab.experiments.compare.load_spec`).
    out : path
        Results directory; held with a lock file (``<out>/.compare.lock``) while running.
    workers : int, optional
        Start a ``distributed.LocalCluster`` of this many single-threaded worker processes on
        127.0.0.1 (default: run serially in this process).
    scheduler : str, optional
        ``tcp://HOST:PORT`` of a running Dask scheduler whose workers can import bnnlab.
    log : callable, optional
        Receives one line per run (progress).

    Returns
    -------
    SweepReport

    Raises
    ------
    ComparisonLocked
        If another harness holds ``out``.
    ImportError
        If ``workers``/``scheduler`` is given and ``distributed`` is missing.
    """
    if not isinstance(spec, Spec):
        raise TypeError(f"spec: expected a Spec (load_spec/parse_spec), got {type(spec).__name__}")
    workers, scheduler = check_execution(workers, scheduler)
    with results_lock(out):
        return sweep(spec, out, workers=workers, scheduler=scheduler, log=log)


def check_execution(workers: Any, scheduler: Any) -> tuple[int | None, str | None]:
    """Validate ``workers``/``scheduler`` (and that Dask is installed when either is given)."""
    from bnnlab._validation import check_int

    if workers is not None and scheduler is not None:
        raise ValueError("workers/scheduler: give one of them (or neither, to run serially)")
    if workers is not None:
        workers = check_int(workers, "workers", minimum=1)
    if scheduler is not None:
        scheduler = _check_scheduler(scheduler)
    if workers is not None or scheduler is not None:
        _distributed()
    return workers, scheduler


def sweep(
    spec: Spec,
    out: str | os.PathLike[str],
    *,
    workers: int | None,
    scheduler: str | None,
    log: Callable[[str], None] | None,
) -> SweepReport:
    """:func:`run_comparison` for a caller that holds the lock and validated the arguments."""
    say = log or (lambda _line: None)
    records = Path(out) / "records"
    runs = spec.runs()
    todo = [r for r in runs if not _recorder(records, spec, r).finished]
    say(f"{spec.name}: {len(runs)} runs, {len(runs) - len(todo)} finished, {len(todo)} to run")
    if todo:
        if workers is None and scheduler is None:
            _serial(spec, todo, records, say)
        else:
            _dask(spec, todo, records, say, workers=workers, scheduler=scheduler)
    return SweepReport(len(runs), len(runs) - len(todo), len(todo), records)


def _progress(i: int, n: int, run: Run, rows: list[dict[str, Any]]) -> str:
    acc = rows[-1]["test_accuracy"] if rows else float("nan")
    return f"[{i}/{n}] {run.describe()}: test accuracy {acc:.2f}% after {run.epochs} epochs"


def _serial(spec: Spec, todo: list[Run], records: Path, say: Callable[[str], None]) -> None:
    cached: tuple[tuple[str, int], Any] | None = None
    for i, run in enumerate(todo, 1):
        key = (run.dataset, run.seed)
        if cached is None or cached[0] != key:  # runs are ordered dataset -> seed -> variant
            cached = (key, _load_data(run.dataset, run.seeds[0], run.data_root))
        rows = compute_run(run, cached[1])
        _write(records, spec, run, rows)
        say(_progress(i, len(todo), run, rows))


def _dask(
    spec: Spec,
    todo: list[Run],
    records: Path,
    say: Callable[[str], None],
    *,
    workers: int | None,
    scheduler: str | None,
) -> None:
    from bnnlab.experiments.records import run_id

    distributed = _distributed()
    with contextlib.ExitStack() as stack:
        if workers is not None:
            cluster = stack.enter_context(
                distributed.LocalCluster(
                    host="127.0.0.1",
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                )
            )
            client = stack.enter_context(distributed.Client(cluster))
        else:
            client = stack.enter_context(distributed.Client(scheduler))
        futures = {}
        for run in todo:
            key = f"bnnlab-compare-{spec.name}-{run_id(run.record_config())}"
            futures[client.submit(compute_run, run, key=key, pure=False)] = run
        failed: list[tuple[Run, BaseException]] = []
        written: set[str] = set()
        for i, fut in enumerate(distributed.as_completed(list(futures)), 1):
            run = futures[fut]
            try:
                rows = fut.result()
            except Exception as exc:
                failed.append((run, exc))
                say(f"[{i}/{len(todo)}] {run.describe()}: FAILED ({type(exc).__name__}: {exc})")
                continue
            finally:
                fut.release()
            if fut.key in written:  # as_completed yields each future once; belt and braces
                continue
            _write(records, spec, run, rows)
            written.add(fut.key)
            say(_progress(i, len(todo), run, rows))
        if failed:
            run, exc = failed[0]
            exc.add_note(f"in the run {run.describe()}")
            say(f"{len(failed)} of {len(todo)} runs failed; the finished ones are recorded")
            raise exc
