"""Checkpoints of the gradient-free binary learners: plain arrays and JSON, never pickles.

A checkpoint is one ``.npz`` file (written atomically with :func:`bnnlab._io.atomic_path`, so it is
never half-written) holding

- the model's integer arrays (``hidden_<l>`` ``int32 (N_{l-1}, K_l)``, ``head_<l>`` /
  ``readout`` ``int32``: the integer states whose signs are the heads),
- ``packed_<l>``: the packed forward weights ``sign(W_l)^T`` (``uint64``, :mod:`bnnlab.bits`
  layout), for deployment; on load they must agree with the hidden weights,
- ``meta``: a ``uint8`` array with the UTF-8 JSON of the format tag and version, the learner alias,
  the configuration, the epoch counter, the previous epoch's training-accuracy counts (they set
  the reinforcement rate), the random generator's ``bit_generator.state``, any caller-supplied
  ``extra`` (dataset, seed, history, ...) and ``sha256``, the checksum of everything else.

The checksum (format version 3) is the SHA-256 of a length-prefixed serialisation of every array
but ``meta`` (in sorted name order: name, ``dtype.str``, shape, C-order bytes) followed by the
canonical JSON of the metadata without ``sha256`` (sorted keys, no spaces); see :func:`digest`.
Any change after saving — a bit flip the zip CRC missed, a hyperparameter edited in the JSON, a
negated head re-zipped with the right shape — is refused on load.

Files are read member by member with :mod:`zipfile` (CRC-checked, sizes bounded) and
``numpy.lib.format.read_array(..., allow_pickle=False)``: opening a checkpoint from someone else
cannot run code. A truncated, corrupt, edited or incompatible file raises ``ValueError`` whose
message starts with the file's path and says what is wrong. Restoring the generator state makes a
resumed run identical to an uninterrupted one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from bnnlab import _npz

FORMAT = "bnnlab-binary-learner-checkpoint"
VERSION = 3


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


def digest(arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> str:
    """The checksum stored in a checkpoint's ``meta["sha256"]`` (:func:`bnnlab._npz.digest` with
    this format's tag): SHA-256 over the arrays (sorted names, dtypes, shapes, bytes) and the
    canonical metadata without ``sha256``."""
    return _npz.digest(f"{FORMAT}/{VERSION}", arrays, meta)


def save_checkpoint(
    path: str | os.PathLike[str], model: Any, *, extra: dict[str, Any] | None = None
) -> Path:
    """Atomically write ``model`` (a local-binary or CP+R learner) to ``path`` (``.npz``).

    Parameters
    ----------
    path : path
        Target file (suffix ``.npz``); its directory is created. The file gets the permissions
        of a new file from ``open`` (``0o666 & ~umask``).
    model : learner
        A learner registered in :data:`bnnlab.learn.LEARNERS` (local-binary, CP+R, or their
        dense versions); the file stores its alias and is rebuilt through the registry.
    extra : dict, optional
        JSON-serialisable metadata stored alongside (e.g. the dataset and seed of the run).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    target = Path(path)
    if target.suffix != ".npz":
        raise ValueError(f"path: checkpoints are .npz files, got {target.name!r}")
    if extra is not None and not isinstance(extra, dict):
        raise TypeError(f"extra: expected a dict, got {type(extra).__name__}")
    alias = _alias_of(model)
    arrays, meta = model.state_dict()
    arrays = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    from bnnlab import bits

    for k in _hidden_keys(model):
        arrays[f"packed_{_key_index(k)}"] = bits.pack(np.ascontiguousarray(arrays[k].T >= 0))
    meta = {
        **meta,
        "format": FORMAT,
        "version": VERSION,
        "learner": alias,
        "extra": extra or {},
    }
    try:
        _npz.write(target, arrays, meta, f"{FORMAT}/{VERSION}")
    except TypeError as exc:
        raise TypeError(f"extra: {str(exc).removeprefix('meta: ')}") from exc
    return target


def _bad(p: Path, what: str) -> ValueError:
    return ValueError(f"{p}: malformed checkpoint metadata: {what}")


def _count(meta: dict[str, Any], key: str, p: Path) -> int:
    v = meta.get(key)
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise _bad(p, f"{key!r} must be a non-negative integer, got {v!r}")
    return v


def _check_meta(meta: dict[str, Any], p: Path) -> None:
    """The schema of the metadata (after the checksum matched)."""
    _learner_class(meta.get("learner"), p)
    for key in ("config", "extra", "rng"):
        if not isinstance(meta.get(key), dict):
            raise _bad(p, f"{key!r} must be an object, got {type(meta.get(key)).__name__}")
    _count(meta, "epoch", p)
    if _count(meta, "prev_correct", p) > _count(meta, "prev_total", p):
        raise _bad(p, f"prev_correct {meta['prev_correct']} > prev_total {meta['prev_total']}")
    rng = meta["rng"]
    if not isinstance(rng.get("bit_generator"), str):
        raise _bad(p, "'rng' must name its 'bit_generator'")
    if not isinstance(rng.get("state"), dict):
        raise _bad(p, "'rng' must hold a 'state' object")


def read_checkpoint(path: str | os.PathLike[str]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """``(arrays, meta)`` of a checkpoint file, verified but not rebuilt into a learner.

    Checks the zip and ``.npy`` structure, the format tag and version, the checksum over arrays
    and metadata (:func:`digest`) and the metadata's schema (types of ``epoch``,
    ``prev_correct``, ``prev_total``, ``rng``, ``extra``, ``config``, a known learner).

    Parameters
    ----------
    path : path
        A ``.npz`` file written by :func:`save_checkpoint`.

    Returns
    -------
    arrays : dict of str to numpy.ndarray
        Every array but ``meta``.
    meta : dict
        The metadata, ``sha256`` included.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        For any corruption or incompatibility; the message starts with the file's path.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"path: no checkpoint at {p}")
    arrays, meta = _npz.read(p, FORMAT, VERSION, "binary-learner checkpoint")
    _check_meta(meta, p)
    return arrays, meta


def load_checkpoint(
    path: str | os.PathLike[str], *, backend: str = "auto", expect: str | None = None
) -> tuple[Any, dict[str, Any]]:
    """Rebuild the learner stored at ``path``; return ``(model, meta)``.

    Parameters
    ----------
    path : path
        A ``.npz`` file written by :func:`save_checkpoint`.
    backend : {"auto", "numba", "numpy", "cupy"}
        Bit-kernel backend of the rebuilt learner (``"cupy"``: its arrays go to the GPU).
    expect : str, optional
        Learner alias the caller needs (``"local-binary"``, ``"cp-r"``, ...); a different one is
        an error.

    Returns
    -------
    model : learner
        The learner, its arrays, counters and random generator restored.
    meta : dict
        The file's metadata (see :func:`read_checkpoint`).

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        Corrupt or edited file (checksum), wrong format/version, malformed metadata, invalid
        configuration, arrays whose names, shapes or dtypes do not match the configuration, an
        unusable generator state, or packed weights inconsistent with the hidden ones; the
        message starts with the file's path.
    """
    arrays, meta = read_checkpoint(path)
    alias = meta["learner"]
    if expect is not None and alias != expect:
        raise ValueError(f"{path}: checkpoint holds a {alias!r} learner, expected {expect!r}")
    cls = _learner_class(alias, path)
    try:
        config = cls.config_class.from_dict(meta["config"])
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as exc:
        raise ValueError(f"{path}: incompatible configuration: {exc}") from exc
    model = cls(config, seed=0, backend=backend)
    hidden = _hidden_keys(model)
    wanted = set(model._array_state()) | {f"packed_{_key_index(k)}" for k in hidden}
    if set(arrays) != wanted:
        raise ValueError(
            f"{path}: arrays {sorted(arrays)} do not match the configuration, expected "
            f"{sorted(wanted)}"
        )
    bg_type = type(model.rng.bit_generator)
    if meta["rng"]["bit_generator"] != bg_type.__name__:
        raise ValueError(
            f"{path}: rng state is for {meta['rng']['bit_generator']!r}, the learner uses "
            f"{bg_type.__name__}"
        )
    try:  # on a scratch generator first: a malformed state must not half-restore the model
        bg_type(0).state = meta["rng"]
    except (TypeError, ValueError, KeyError, OverflowError) as exc:
        raise ValueError(f"{path}: unusable rng state ({type(exc).__name__}: {exc})") from exc
    packed = {k: arrays.pop(k) for k in list(arrays) if k.startswith("packed_")}
    try:
        model.load_state_dict(arrays, meta)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from exc
    from bnnlab import bits

    for k in hidden:  # the file's (host) arrays, now known to have the right shapes
        want = bits.pack(np.ascontiguousarray(arrays[k].T >= 0))
        got = packed.get(f"packed_{_key_index(k)}")
        if got is None or got.shape != want.shape or not np.array_equal(got, want):
            raise ValueError(f"{path}: packed weights packed_{_key_index(k)} do not match {k}")
    return model, meta
