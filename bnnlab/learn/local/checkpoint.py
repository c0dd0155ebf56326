"""Checkpoints of the gradient-free binary learners: plain arrays and JSON, never pickles.

A checkpoint is one ``.npz`` file (written atomically with :func:`bnnlab._io.atomic_path`, so it is
never half-written) holding

- the model's integer arrays (``hidden_<l>`` ``int32 (N_{l-1}, K_l)``, ``head_<l>`` /
  ``readout`` ``int32``: the integer states whose signs are the heads),
- ``packed_<l>``: the packed forward weights ``sign(W_l)^T`` (``uint64``, :mod:`bnnlab.bits`
  layout), for deployment; on load they must agree with the hidden weights,
- ``meta``: a ``uint8`` array with the UTF-8 JSON of the format tag and version, the learner alias
  the configuration, the epoch counter, the previous epoch's training-accuracy counts
  (they set the reinforcement rate), the random generator's ``bit_generator.state`` and any
  caller-supplied ``extra`` (dataset, seed, history, ...).

Files are read with ``numpy.load(..., allow_pickle=False)``: opening a checkpoint from someone else
cannot run code. A truncated, corrupt or incompatible file raises ``ValueError`` naming the file
and what is wrong. Restoring the generator state makes a resumed run identical to an uninterrupted
one.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from bnnlab._io import atomic_path

FORMAT = "bnnlab-binary-learner-checkpoint"
VERSION = 2


def _alias_of(model: Any) -> str:
    """The registry alias of ``model``'s class (the learner a checkpoint is rebuilt through)."""
    from bnnlab.learn import LEARNERS

    for alias in LEARNERS.available():
        if type(model) is LEARNERS.get(alias):
            return alias
    raise TypeError(
        f"model: cannot checkpoint a {type(model).__name__}; expected a registered learner "
        f"({', '.join(LEARNERS.available())})"
    )


def _learner_class(alias: Any, path: Any) -> Any:
    from bnnlab.learn import LEARNERS

    if not isinstance(alias, str) or alias not in LEARNERS:
        raise ValueError(f"{path}: unknown learner {alias!r}")
    return LEARNERS.get(alias)


def _hidden_keys(model: Any) -> list[str]:
    return sorted((k for k in model._array_state() if k.startswith("hidden_")), key=_key_index)


def _key_index(key: str) -> int:
    return int(key.rsplit("_", 1)[1])


def save_checkpoint(
    path: str | os.PathLike[str], model: Any, *, extra: dict[str, Any] | None = None
) -> Path:
    """Atomically write ``model`` (a local-binary or CP+R learner) to ``path`` (``.npz``).

    Parameters
    ----------
    path : path
        Target file; its directory is created.
    model : learner
        A learner registered in :data:`bnnlab.learn.LEARNERS` (local-binary, CP+R, or their
        dense versions); the file stores its alias and is rebuilt through the registry.
    extra : dict, optional
        JSON-serialisable metadata stored alongside (e.g. the dataset and seed of the run).
    """
    alias = _alias_of(model)
    arrays, meta = model.state_dict()
    arrays = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    cpu = arrays  # host copies (state_dict moves device arrays explicitly)
    from bnnlab import bits

    for k in _hidden_keys(model):
        arrays[f"packed_{_key_index(k)}"] = bits.pack(np.ascontiguousarray(cpu[k].T >= 0))
    meta = {
        **meta,
        "format": FORMAT,
        "version": VERSION,
        "learner": alias,
        "extra": extra or {},
    }
    blob = json.dumps(meta, sort_keys=True).encode()
    arrays["meta"] = np.frombuffer(blob, dtype=np.uint8)
    target = Path(path)
    if target.suffix != ".npz":
        raise ValueError(f"path: checkpoints are .npz files, got {target.name!r}")
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
    return target


def read_checkpoint(path: str | os.PathLike[str]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """``(arrays, meta)`` of a checkpoint file, validated for format and version only."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"path: no checkpoint at {p}")
    try:
        with np.load(p, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError) as exc:
        raise ValueError(
            f"{p}: not a readable bnnlab checkpoint ({type(exc).__name__}: {exc})"
        ) from exc
    if "meta" not in arrays or arrays["meta"].dtype != np.uint8:
        raise ValueError(f"{p}: not a bnnlab checkpoint (no metadata record)")
    try:
        meta = json.loads(arrays.pop("meta").tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{p}: corrupt checkpoint metadata ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{p}: not a bnnlab binary-learner checkpoint")
    if meta.get("version") != VERSION:
        raise ValueError(
            f"{p}: checkpoint format version {meta.get('version')!r}, this bnnlab reads {VERSION}"
        )
    _learner_class(meta.get("learner"), p)
    return arrays, meta


def load_checkpoint(
    path: str | os.PathLike[str], *, backend: str = "auto", expect: str | None = None
) -> tuple[Any, dict[str, Any]]:
    """Rebuild the learner stored at ``path``; return ``(model, meta)``.

    Parameters
    ----------
    path : path
    backend : {"auto", "numba", "numpy", "cupy"}
        Bit-kernel backend of the rebuilt learner (``"cupy"``: its arrays go to the GPU).
    expect : str, optional
        Learner alias the caller needs (``"local-binary"``, ``"cp-r"``, ...); a different one is
        an error.

    Raises
    ------
    ValueError
        Corrupt file, wrong format/version, invalid configuration, arrays whose names, shapes or
        dtypes do not match the configuration, or packed weights inconsistent with the hidden ones.
    """
    arrays, meta = read_checkpoint(path)
    alias = meta["learner"]
    if expect is not None and alias != expect:
        raise ValueError(f"{path}: checkpoint holds a {alias!r} learner, expected {expect!r}")
    cls = _learner_class(alias, path)
    config_cls = cls.config_class
    try:
        config = config_cls.from_dict(meta["config"])
    except (TypeError, ValueError, KeyError) as exc:
        raise ValueError(f"{path}: incompatible configuration: {exc}") from exc
    model = cls(config, seed=0, backend=backend)
    packed = {k: arrays.pop(k) for k in list(arrays) if k.startswith("packed_")}
    try:
        model.load_state_dict(arrays, meta)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from exc
    from bnnlab import bits

    for k in _hidden_keys(model):  # the file's (host) arrays, now known to have the right shapes
        want = bits.pack(np.ascontiguousarray(arrays[k].T >= 0))
        got = packed.get(f"packed_{_key_index(k)}")
        if got is None or got.shape != want.shape or not np.array_equal(got, want):
            raise ValueError(f"{path}: packed weights packed_{_key_index(k)} do not match {k}")
    return model, meta
