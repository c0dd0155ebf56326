"""Tidy, atomically written experiment records.

A *run* is identified by a stable hash of its configuration (:func:`run_id`). Its rows (one per
epoch, or per any other step) live in ``<root>/<name>-<id>.jsonl``, and a sidecar
``<name>-<id>.json`` holds the configuration and whether the run finished. Both files are rewritten
atomically after each appended row, so an interrupted run never leaves a truncated file and never
touches the records of other runs. Restarting a run with the same configuration either skips it
(finished) or recomputes it from scratch (unfinished), overwriting only its own partial record.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from bnnlab._io import atomic_write_json, atomic_write_text


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


def run_id(config: Mapping[str, Any], length: int = 12) -> str:
    """Stable hexadecimal id of a configuration (SHA-256 of its canonical JSON)."""
    if not isinstance(config, Mapping):
        raise TypeError(f"config: expected a mapping, got {type(config).__name__}")
    text = json.dumps(_canonical(config), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:length]


class RunRecorder:
    """Collect the rows of one run and keep them on disk atomically.

    Parameters
    ----------
    root : path
        Directory of the records (created if missing).
    name : str
        Prefix of the file names (an experiment family, e.g. ``"laplace-study"``).
    config : mapping
        JSON-serialisable configuration; its hash is the run id and it is stored in the sidecar.

    Examples
    --------
    >>> rec = RunRecorder(tmpdir, "demo", {"seed": 0})       # doctest: +SKIP
    >>> if not rec.finished:
    ...     for epoch in range(3):
    ...         rec.append({"epoch": epoch, "loss": 1.0 / (epoch + 1)})
    ...     rec.finish()
    """

    def __init__(self, root: str | os.PathLike[str], name: str, config: Mapping[str, Any]):
        if not isinstance(name, str) or not name or "/" in name:
            raise ValueError(f"name: expected a non-empty file-name prefix, got {name!r}")
        self.root = Path(root)
        self.name = name
        self.config = dict(_canonical(config))
        self.id = run_id(self.config)
        self.rows: list[dict[str, Any]] = []
        self.root.mkdir(parents=True, exist_ok=True)

    @property
    def path(self) -> Path:
        """The JSON-lines file of the rows."""
        return self.root / f"{self.name}-{self.id}.jsonl"

    @property
    def meta_path(self) -> Path:
        """The sidecar with the configuration and the finished flag."""
        return self.root / f"{self.name}-{self.id}.json"

    @property
    def finished(self) -> bool:
        """True when a previous run with this configuration completed."""
        if not self.meta_path.exists() or not self.path.exists():
            return False
        try:
            meta = json.loads(self.meta_path.read_text())
        except (OSError, json.JSONDecodeError):
            return False
        return bool(meta.get("finished")) and meta.get("config") == self.config

    def append(self, row: Mapping[str, Any]) -> None:
        """Add one row (tagged with the run id) and rewrite the record atomically."""
        full = {"run": self.id, **{k: _jsonable(v) for k, v in row.items()}}
        self.rows.append(full)
        self._flush(finished=False)

    def finish(self) -> None:
        """Mark the run finished (only then is it skipped on restart)."""
        self._flush(finished=True)

    def _flush(self, *, finished: bool) -> None:
        text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in self.rows)
        atomic_write_text(self.path, text)
        atomic_write_json(
            self.meta_path,
            {
                "config": self.config,
                "finished": finished,
                "name": self.name,
                "rows": len(self.rows),
            },
        )


def read_records(
    root: str | os.PathLike[str], name: str | None = None, *, finished_only: bool = True
) -> list[dict[str, Any]]:
    """Read every row of the runs under ``root`` (optionally only those named ``name``).

    Each row is merged with its run's configuration (configuration keys prefixed ``cfg.`` only when
    they clash with a row key). Unfinished runs are left out unless ``finished_only=False``.

    Raises
    ------
    FileNotFoundError
        If ``root`` does not exist.
    ValueError
        If a record file is corrupt (the message names the file and line).
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"root: no records directory at {root}")
    rows: list[dict[str, Any]] = []
    pattern = f"{name}-*.json" if name else "*.json"
    for meta_path in sorted(root.glob(pattern)):
        try:
            meta = json.loads(meta_path.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"{meta_path}: corrupt record metadata ({exc})") from exc
        if finished_only and not meta.get("finished"):
            continue
        data_path = meta_path.with_suffix(".jsonl")
        if not data_path.exists():
            raise ValueError(f"{meta_path}: its rows file {data_path.name} is missing")
        config = meta.get("config", {})
        for lineno, line in enumerate(data_path.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{data_path}:{lineno}: corrupt record line ({exc})") from exc
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
