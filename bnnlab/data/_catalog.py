"""The dataset catalogue: ``load(name, split)``, ``available()``, ``info(name)``."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from bnnlab._validation import check_choice, make_rng
from bnnlab.data import _fashion, _mini
from bnnlab.data.splits import colombo_split

_OFFICIAL = ("train", "test")
_COLOMBO = ("colombo-train", "colombo-test")
COLOMBO_N_TEST = 10000  # held out of the 60000 official training images (REFERENCES.md §2.4)
_SPLITS = {"fashion-mnist": _OFFICIAL + _COLOMBO, "fashion-mnist-mini": _OFFICIAL}


def available() -> list[str]:
    """Names accepted by :func:`load`."""
    return sorted(_SPLITS)


def load(
    name: str,
    split: str = "train",
    root: str | os.PathLike[str] | None = None,
    download: bool = False,
    *,
    seed: int | np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Load a dataset split as ``(images, labels)``.

    Parameters
    ----------
    name : {"fashion-mnist", "fashion-mnist-mini"}
        ``"fashion-mnist"``: the official IDX files (Xiao et al. 2017), looked for in ``root``,
        ``$BNNLAB_DATA`` (``$BNNLAB_DATA/fashion-mnist``, then ``$BNNLAB_DATA``), the user cache
        directory ``platformdirs.user_cache_dir("bnnlab")/fashion-mnist`` and Debian's
        ``/usr/share/datasets/fashion-mnist`` (package ``dataset-fashion-mnist``), in that order,
        each file separately; ``name.gz`` or the uncompressed ``name`` is accepted. Every file is
        verified by the SHA-256 of its decompressed bytes.
        ``"fashion-mnist-mini"``: the subsample embedded in the package (1000 train / 200 test
        images per class of the official files), verified by array SHA-256; needs no files.
    split : {"train", "test", "colombo-train", "colombo-test"}
        ``"train"``/``"test"``: the official files (Fashion-MNIST 60000 / 10000; mini 10000 /
        2000). ``"colombo-train"``/``"colombo-test"`` (``"fashion-mnist"`` only; needs ``seed``):
        the 50000 / 10000 split of the official training file by :func:`colombo_split`
        (REFERENCES.md §2.4). The two halves match when both calls get the same *int* seed (a
        Generator is advanced by the first call).
    root : path, optional
        Directory searched first, and where ``download=True`` stores files.
    download : bool
        If files are missing, download them (pooch; pinned SHA-256 of the official ``.gz``
        files; base URL overridable by ``$BNNLAB_FASHION_MNIST_URL``) into ``root``, else
        ``$BNNLAB_DATA/fashion-mnist``, else the user cache directory. Never done implicitly.
    seed : int or numpy.random.Generator
        Required for the Colombo splits, refused otherwise.

    Returns
    -------
    images : uint8 array (N, 28, 28)
        Grey levels 0..255 (0 is background).
    labels : int64 array (N,)
        Class indices 0..9 (see ``info(name)["class_names"]``).

    Raises
    ------
    FileNotFoundError
        Files absent everywhere; the message lists where it looked and how to get the data.
    ValueError
        Corrupt or wrong files (magic number, truncation, counts, SHA-256), each naming the file;
        files are never modified or deleted.
    """
    check_choice(name, "name", available())
    check_choice(split, "split", _SPLITS[name])
    if not isinstance(download, bool):
        raise TypeError(f"download: expected a bool, got {type(download).__name__}")
    if split in _COLOMBO:
        if seed is None:
            raise TypeError(f"seed: split {split!r} needs an explicit seed (int or Generator)")
        seed = make_rng(seed)
    elif seed is not None:
        raise ValueError(
            f"seed: split {split!r} is not random; pass seed only with a Colombo split"
        )
    if name == "fashion-mnist-mini":
        return _mini.load_mini(split)
    spec = _fashion.FASHION_MNIST
    if split in _OFFICIAL:
        return _fashion.load_idx_split(spec, split, root, download)
    images, labels = _fashion.load_idx_split(spec, "train", root, download)
    x_train, y_train, x_test, y_test = colombo_split(
        images, labels, seed=seed, n_test=COLOMBO_N_TEST
    )
    return (x_train, y_train) if split == "colombo-train" else (x_test, y_test)


def info(name: str) -> dict[str, Any]:
    """Description of a dataset: splits, sizes, image shape, class names, source and licence."""
    check_choice(name, "name", available())
    spec = _fashion.FASHION_MNIST
    out: dict[str, Any] = {
        "name": name,
        "splits": list(_SPLITS[name]),
        "image_shape": spec.image_shape,
        "n_classes": spec.n_classes,
        "class_names": list(spec.class_names),
        **spec.info,
    }
    if name == "fashion-mnist":
        out["sizes"] = {s: files[0].count for s, files in spec.splits.items()}
        out["files"] = {f.name: f.sha256 for files in spec.splits.values() for f in files}
        out["debian_package"] = spec.debian_package
    else:
        meta = _mini.manifest()
        out["sizes"] = {s: meta["arrays"][f"y_{s}"]["shape"][0] for s in _OFFICIAL}
        out["description"] = meta["description"]
        out["provenance"] = meta
    return out
