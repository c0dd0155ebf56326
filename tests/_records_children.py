"""Targets of the multiprocessing children in test_records_faults (importable by name, so that the
``spawn`` start method, which re-imports a target in a fresh interpreter, finds them)."""

from __future__ import annotations

from bnnlab.experiments.records import RunLockedError, RunRecorder

CFG = {"seed": 0, "lr": 0.1}


def _child_append(root: str, queue) -> None:
    rec = RunRecorder(root, "demo", CFG)
    try:
        rec.append({"epoch": 0})
    except RunLockedError as exc:
        queue.put(("locked", str(exc)))
        return
    queue.put(("wrote", ""))


def _forked_copy_appends(rec: RunRecorder, queue) -> None:
    try:
        rec.append({"epoch": 1})
    except RunLockedError as exc:
        queue.put(("locked", str(exc)))
        return
    queue.put(("wrote", ""))
