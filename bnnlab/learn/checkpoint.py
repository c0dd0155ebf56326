"""Checkpoints of training methods (:mod:`bnnlab.learn.method`): arrays and JSON, never pickles.

A method checkpoint is one ``.npz`` file in the verified container of :mod:`bnnlab._npz`
(written atomically, read member by member without pickles) holding the method's
:meth:`~bnnlab.learn.method.Method.state_dict` arrays (host copies) and a ``meta`` record with the
format tag and version, the method's registry alias and configuration, the data's shape, the
method's own metadata (epoch, counters, random-generator states), caller-supplied ``extra``
(dataset, seeds) and ``sha256`` over all of it. Any corruption or edit -- a flipped bit, a changed
hyperparameter, a negated array -- is a ``ValueError`` naming the file, never a silently different
model. :func:`load_method` rebuilds the method through
the registry and restores its state: a resumed run continues exactly as an uninterrupted one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from bnnlab import _npz

__all__ = ["FORMAT", "VERSION", "load_method", "read_method_checkpoint", "save_method"]

FORMAT = "bnnlab-method-checkpoint"
VERSION = 1


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
    if extra is not None and not isinstance(extra, dict):
        raise TypeError(f"extra: expected a dict, got {type(extra).__name__}")
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
    _npz.write(target, arrays, meta, f"{FORMAT}/{VERSION}")
    return target


def read_method_checkpoint(
    path: str | os.PathLike[str],
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """``(arrays, meta)`` of a method checkpoint, verified (format, version, hash, schema)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"path: no checkpoint at {p}")
    arrays, meta = _npz.read(p, FORMAT, VERSION, "method checkpoint")
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
