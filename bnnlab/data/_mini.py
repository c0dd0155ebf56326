"""The embedded Fashion-MNIST-mini dataset shipped inside the package.

A stratified subsample of the official Fashion-MNIST files — 1000 images per class from the training
file and 200 per class from the test file — stored as ``_embedded/fashion-mnist-mini.npz``
(``numpy.savez_compressed``; read with ``allow_pickle=False``). The manifest
``_embedded/fashion-mnist-mini.json`` records the source files and their SHA-256, the selection
seed and script (``tools/make_fashion_mini.py``) and the SHA-256 of every array, which is checked on
load. ``_embedded/PROVENANCE.md`` holds the same information and the MIT licence of the data.
"""

from __future__ import annotations

import functools
import hashlib
import json
from importlib import resources
from typing import Any

import numpy as np

EMBEDDED = "_embedded"
NPZ_NAME = "fashion-mnist-mini.npz"
MANIFEST_NAME = "fashion-mnist-mini.json"
ARRAYS = ("x_train", "y_train", "train_index", "x_test", "y_test", "test_index")


def array_digest(array: np.ndarray) -> str:
    """SHA-256 of an array's dtype, shape and C-order bytes (hex)."""
    arr = np.ascontiguousarray(array)
    h = hashlib.sha256(f"{arr.dtype.str}{tuple(arr.shape)}".encode())
    h.update(arr.tobytes())
    return h.hexdigest()


def _embedded_file(name: str) -> Any:
    return resources.files("bnnlab.data").joinpath(EMBEDDED, name)


def manifest() -> dict[str, Any]:
    """The provenance manifest of the embedded dataset (a dict parsed from JSON)."""
    return json.loads(_embedded_file(MANIFEST_NAME).read_text(encoding="utf-8"))


@functools.cache
def _load_checked() -> dict[str, np.ndarray]:
    meta = manifest()
    source = _embedded_file(NPZ_NAME)
    with resources.as_file(source) as path, np.load(path, allow_pickle=False) as npz:
        missing = [k for k in ARRAYS if k not in npz.files]
        if missing:
            raise ValueError(f"{path}: arrays missing from the embedded dataset: {missing}")
        arrays = {k: npz[k] for k in ARRAYS}
    for key, arr in arrays.items():
        want = meta["arrays"][key]["sha256"]
        got = array_digest(arr)
        if got != want:
            raise ValueError(
                f"{path}: array {key!r} has SHA-256 {got}, expected {want} "
                f"(from {MANIFEST_NAME}); the installed package data is corrupt — reinstall bnnlab"
            )
        arr.flags.writeable = False
    return arrays


def load_mini(split: str) -> tuple[np.ndarray, np.ndarray]:
    """Images uint8 ``(N, 28, 28)`` and labels int64 ``(N,)`` of the embedded subsample (copies)."""
    arrays = _load_checked()
    suffix = "train" if split == "train" else "test"
    return arrays[f"x_{suffix}"].copy(), arrays[f"y_{suffix}"].astype(np.int64)
