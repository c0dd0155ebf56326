"""A verified ``.npz`` container for checkpoints: arrays plus JSON metadata with a SHA-256.

Both checkpoint formats of bnnlab (the learners' :mod:`bnnlab.learn.local.checkpoint` and the
training methods' :mod:`bnnlab.learn.checkpoint`) are one ``.npz`` file holding named arrays and a
``meta`` member (the UTF-8 JSON of the metadata as a ``uint8`` array) whose ``sha256`` is
:func:`digest` over everything else. Files are written atomically (:func:`bnnlab._io.atomic_path`,
permissions of a new ``open`` file) and read member by member with :mod:`zipfile` (CRC-checked,
sizes bounded, each ``.npy`` header checked against its data before anything is allocated) and
``numpy.lib.format.read_array(..., allow_pickle=False)``: opening someone else's file cannot run
code, and any damage or edit is a ``ValueError`` naming the file.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from bnnlab._io import atomic_path

__all__ = ["MAX_BYTES", "digest", "read", "write"]

#: Largest total of decompressed member sizes a checkpoint may announce (bytes).
MAX_BYTES = 1 << 32

# what the zip and npy layers raise on damaged input (zipfile alone raises all of these: a flipped
# flag bit reads as "encrypted" (RuntimeError) or "patched data" (NotImplementedError), ...)
READ_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,  # UnicodeDecodeError included
    KeyError,
    IndexError,
    struct.error,
    NotImplementedError,
    RuntimeError,
    OverflowError,
    TypeError,
)
HEX64 = re.compile(r"[0-9a-f]{64}")


def canonical_json(meta: dict[str, Any]) -> str:
    return json.dumps(meta, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def digest(tag: str, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> str:
    """The checksum stored in a checkpoint's ``meta["sha256"]``.

    SHA-256 over a length-prefixed (8-byte little-endian) sequence: ``tag`` (format and version),
    then for every array in sorted name order its name, ``dtype.str``, shape (JSON) and C-order
    bytes, then the canonical JSON of ``meta`` (sorted keys, ``","``/``":"`` separators, ASCII)
    with any ``sha256`` key left out.

    Parameters
    ----------
    tag : str
        The format's name and version (``"<format>/<version>"``).
    arrays : dict of str to numpy.ndarray
        Every array of the file except ``meta``.
    meta : dict
        The metadata.

    Returns
    -------
    str
        64 lowercase hex characters.
    """
    h = hashlib.sha256()

    def put(b: bytes) -> None:
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)

    put(tag.encode())
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        put(name.encode())
        put(a.dtype.str.encode())
        put(json.dumps([int(n) for n in a.shape]).encode())
        put(a.tobytes())
    put(canonical_json({k: v for k, v in meta.items() if k != "sha256"}).encode())
    return h.hexdigest()


def _parse_npy(data: bytes, member: str) -> np.ndarray:
    """One ``.npy`` member, its header checked against its size before anything is allocated."""
    fh = io.BytesIO(data)
    version = np.lib.format.read_magic(fh)
    readers = {
        (1, 0): np.lib.format.read_array_header_1_0,
        (2, 0): np.lib.format.read_array_header_2_0,
    }
    if version not in readers:
        raise ValueError(f"member {member}: unsupported .npy version {version}")
    shape, _, dtype = readers[version](fh)
    if dtype.hasobject:
        raise ValueError(f"member {member}: object arrays need pickles, refused")
    count = 1
    for n in shape:
        count *= int(n)
    if fh.tell() + count * dtype.itemsize != len(data):
        raise ValueError(
            f"member {member}: header announces shape {shape} {dtype} "
            f"({count * dtype.itemsize} bytes) but {len(data) - fh.tell()} bytes follow"
        )
    fh.seek(0)
    return np.lib.format.read_array(fh, allow_pickle=False)


def _read_members(p: Path) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(p) as zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        if len(set(names)) != len(names):
            raise ValueError("duplicate members")
        total = sum(i.file_size for i in infos)
        if total > MAX_BYTES:
            raise ValueError(f"members announce {total} bytes, more than the limit {MAX_BYTES}")
        arrays = {}
        for info in infos:
            if not info.filename.endswith(".npy") or "/" in info.filename:
                raise ValueError(f"unexpected member {info.filename!r}")
            data = zf.read(info)  # CRC-checked at the end of the member
            if len(data) != info.file_size:
                raise ValueError(
                    f"member {info.filename}: {len(data)} bytes, the directory says "
                    f"{info.file_size}"
                )
            arrays[info.filename[: -len(".npy")]] = _parse_npy(data, info.filename)
    return arrays


def write(target: Path, arrays: dict[str, np.ndarray], meta: dict[str, Any], tag: str) -> Path:
    """Atomically write ``arrays`` and ``meta`` (``sha256`` added) to ``target``.

    ``meta`` must be JSON-serialisable (a ``TypeError`` naming ``meta`` otherwise).
    """
    arrays = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    if "meta" in arrays:
        raise ValueError("arrays: 'meta' is the metadata member's name")
    try:
        meta = json.loads(canonical_json(meta))  # exactly what a reader will parse
    except (TypeError, ValueError) as exc:
        raise TypeError(f"meta: not JSON-serialisable ({exc})") from exc
    meta["sha256"] = digest(tag, arrays, meta)
    blob = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
    with atomic_path(target) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays, meta=blob)
    return target


def read(
    p: Path, fmt: str, version: int, what: str
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """``(arrays, meta)`` of ``p``: structure, format tag ``fmt``, ``version`` and checksum
    verified (``what`` names the kind of file in messages). Raises ``ValueError`` naming ``p``."""
    try:
        arrays = _read_members(p)
    except READ_ERRORS as exc:
        raise ValueError(
            f"{p}: not a readable bnnlab checkpoint ({type(exc).__name__}: {exc})"
        ) from exc
    blob = arrays.pop("meta", None)
    if blob is None or blob.dtype != np.uint8 or blob.ndim != 1:
        raise ValueError(f"{p}: not a bnnlab checkpoint (no metadata record)")
    try:
        meta = json.loads(blob.tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"{p}: corrupt checkpoint metadata ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != fmt:
        raise ValueError(f"{p}: not a bnnlab {what}")
    if meta.get("version") != version:
        raise ValueError(
            f"{p}: checkpoint format version {meta.get('version')!r}, this bnnlab reads {version}"
        )
    recorded = meta.get("sha256")
    if not isinstance(recorded, str) or not HEX64.fullmatch(recorded):
        raise ValueError(f"{p}: checkpoint without a valid 'sha256' checksum ({recorded!r})")
    actual = digest(f"{fmt}/{version}", arrays, meta)
    if actual != recorded:
        raise ValueError(
            f"{p}: checksum mismatch: the arrays or the metadata changed after saving "
            f"(SHA-256 {actual}, recorded {recorded}); the file is corrupt or was edited"
        )
    return arrays, meta
