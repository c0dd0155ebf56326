"""Checkpoints of training methods (:mod:`bnnlab.learn.method`): arrays and JSON, never pickles.

A method checkpoint is one ``.npz`` file written atomically (:func:`bnnlab._io.atomic_path`)
holding the method's :meth:`~bnnlab.learn.method.Method.state_dict` arrays (host copies) and a
``meta`` record (UTF-8 JSON in a ``uint8`` array) with the format tag and version, the method's
registry alias and configuration, the data's shape, the method's own metadata (epoch, counters,
random-generator states) and caller-supplied ``extra`` (dataset, seeds). A SHA-256 over the
arrays (names, dtypes, shapes and bytes, in sorted order) and the canonical metadata is stored
beside them and verified on load, so any corruption or edit -- a flipped bit, a changed
hyperparameter, a negated array -- is a ``ValueError`` naming the file, never a silently different
model. Files are read with ``allow_pickle=False``. :func:`load_method` rebuilds the method through
the registry and restores its state: a resumed run continues exactly as an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from bnnlab._io import atomic_path

__all__ = ["FORMAT", "VERSION", "load_method", "read_method_checkpoint", "save_method"]

FORMAT = "bnnlab-method-checkpoint"
VERSION = 1
_META = "__meta__"
_HASH = "__sha256__"


def _digest(arrays: dict[str, np.ndarray], meta_blob: bytes) -> str:
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(json.dumps([name, a.dtype.str, list(a.shape)]).encode())
        h.update(a.tobytes())
    h.update(meta_blob)
    return h.hexdigest()


def _canonical(meta: dict[str, Any]) -> bytes:
    return json.dumps(meta, sort_keys=True, separators=(",", ":")).encode()


def save_method(
    path: str | os.PathLike[str], method: Any, *, extra: dict[str, Any] | None = None
) -> Path:
    """Atomically write ``method`` (a registered training method) to ``path`` (``.npz``).

    Parameters
    ----------
    path : path
        Target file (``.npz``); its directory is created.
    method : bnnlab.learn.method.Method
        The method to store; its alias must be registered.
    extra : dict, optional
        JSON-serialisable metadata stored alongside (dataset, seeds, ...).
    """
    from bnnlab.learn.method import METHODS, Method

    if not isinstance(method, Method) or method.alias not in METHODS:
        raise TypeError(
            f"method: expected a registered training method, got {type(method).__name__}"
        )
    target = Path(path)
    if target.suffix != ".npz":
        raise ValueError(f"path: checkpoints are .npz files, got {target.name!r}")
    arrays, state = method.state_dict()
    arrays = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "method": method.alias,
        "config": method.config.to_dict(),
        "n_features": method.n_features,
        "n_classes": method.n_classes,
        "epoch": method.epoch,
        "state": state,
        "extra": dict(extra or {}),
    }
    blob = _canonical(meta)
    payload = {
        **arrays,
        _META: np.frombuffer(blob, dtype=np.uint8),
        _HASH: np.frombuffer(_digest(arrays, blob).encode(), dtype=np.uint8),
    }
    with atomic_path(target) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **payload)
    return target


def read_method_checkpoint(
    path: str | os.PathLike[str],
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """``(arrays, meta)`` of a method checkpoint, verified (format, version, hash, schema)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"path: no checkpoint at {p}")
    try:
        with np.load(p, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError, KeyError) as exc:
        raise ValueError(
            f"{p}: not a readable bnnlab checkpoint ({type(exc).__name__}: {exc})"
        ) from exc
    blob, digest = arrays.pop(_META, None), arrays.pop(_HASH, None)
    if blob is None or digest is None or blob.dtype != np.uint8 or digest.dtype != np.uint8:
        raise ValueError(f"{p}: not a bnnlab method checkpoint (no metadata or checksum)")
    if _digest(arrays, blob.tobytes()) != digest.tobytes().decode("ascii", "replace"):
        raise ValueError(f"{p}: checksum mismatch (the file was corrupted or edited)")
    try:
        meta = json.loads(blob.tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:  # pragma: no cover - hashed
        raise ValueError(f"{p}: corrupt checkpoint metadata ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{p}: not a bnnlab method checkpoint")
    if meta.get("version") != VERSION:
        raise ValueError(
            f"{p}: checkpoint version {meta.get('version')!r}, this bnnlab reads {VERSION}"
        )
    schema = {
        "method": str,
        "config": dict,
        "n_features": int,
        "n_classes": int,
        "epoch": int,
        "state": dict,
        "extra": dict,
    }
    for key, kind in schema.items():
        if not isinstance(meta.get(key), kind) or isinstance(meta.get(key), bool):
            raise ValueError(f"{p}: metadata {key!r} missing or not a {kind.__name__}")
    return arrays, meta


def load_method(
    path: str | os.PathLike[str], *, backend: str = "auto", expect: str | None = None
) -> tuple[Any, dict[str, Any]]:
    """Rebuild the method stored at ``path``; return ``(method, meta)``.

    Parameters
    ----------
    path : path
    backend : {"auto", "numba", "numpy", "cupy"}
        Backend of the rebuilt method.
    expect : str, optional
        The method alias the caller needs; a different one is an error.

    Raises
    ------
    ValueError
        Unreadable, corrupted or edited file; unknown method; invalid configuration; arrays that
        do not fit the configuration. Every message names the file.
    """
    from bnnlab.learn.method import METHODS

    arrays, meta = read_method_checkpoint(path)
    alias = meta["method"]
    if alias not in METHODS:
        raise ValueError(f"{path}: unknown method {alias!r}")
    if expect is not None and alias != expect:
        raise ValueError(f"{path}: checkpoint holds a {alias!r} run, expected {expect!r}")
    cls = METHODS.get(alias)
    try:
        config = cls.config_class.from_dict(meta["config"])
        method = cls(
            config,
            n_features=meta["n_features"],
            n_classes=meta["n_classes"],
            seed=0,
            backend=backend,
        )
        method.load_state_dict(arrays, meta["state"])
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise ValueError(f"{path}: {type(exc).__name__}: {exc}") from exc
    if method.epoch != meta["epoch"]:
        raise ValueError(f"{path}: state at epoch {method.epoch}, metadata says {meta['epoch']}")
    return method, meta
