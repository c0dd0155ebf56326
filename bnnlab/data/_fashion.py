"""Fashion-MNIST from its official IDX files (Xiao, Rasul & Vollgraf 2017, arXiv:1708.07747).

The files are identified by the SHA-256 of their *decompressed* bytes, so a recompressed copy (the
Debian package ``dataset-fashion-mnist`` ships one) is accepted while any change of content is not.
Downloads are checked by pooch against the SHA-256 of the official ``.gz`` files, then again by the
decompressed hash. The pinned values are those of the official release (whose ``.gz`` MD5 sums are
listed in github.com/zalandoresearch/fashion-mnist, README "Get the Data"); the decompressed hashes
were computed from the Debian files and checked to be the official content (60000 / 10000 items,
6000 / 1000 per class).
"""

from __future__ import annotations

import collections
import hashlib
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bnnlab.data import _sources
from bnnlab.data._idx import idx_from_bytes


@dataclass(frozen=True)
class IDXFile:
    """One IDX file: its name, the SHA-256 of its decompressed bytes, the SHA-256 of the file
    served for download (``None``: not downloadable) and its number of items."""

    name: str
    sha256: str
    count: int
    download_sha256: str | None = None


@dataclass(frozen=True)
class IDXDataset:
    """A dataset stored as pairs of IDX files (images, labels) per split."""

    name: str
    dirname: str
    splits: dict[str, tuple[IDXFile, IDXFile]]
    image_shape: tuple[int, ...]
    class_names: tuple[str, ...]
    base_url: str
    url_env: str
    system_dirs: tuple[str, ...] = ()
    debian_package: str | None = None
    info: dict[str, str] = field(default_factory=dict)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)


FASHION_MNIST = IDXDataset(
    name="fashion-mnist",
    dirname="fashion-mnist",
    splits={
        "train": (
            IDXFile(
                "train-images-idx3-ubyte.gz",
                "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
                60000,
                "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            ),
            IDXFile(
                "train-labels-idx1-ubyte.gz",
                "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
                60000,
                "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            ),
        ),
        "test": (
            IDXFile(
                "t10k-images-idx3-ubyte.gz",
                "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
                10000,
                "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            ),
            IDXFile(
                "t10k-labels-idx1-ubyte.gz",
                "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
                10000,
                "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
            ),
        ),
    },
    image_shape=(28, 28),
    class_names=(
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
    base_url="https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    url_env="BNNLAB_FASHION_MNIST_URL",
    system_dirs=("/usr/share/datasets/fashion-mnist",),
    debian_package="dataset-fashion-mnist",
    info={
        "description": "Zalando article images, 28x28 grey levels, 10 classes",
        "source": "https://github.com/zalandoresearch/fashion-mnist",
        "reference": "H. Xiao, K. Rasul, R. Vollgraf, arXiv:1708.07747 (2017)",
        "licence": "MIT, Copyright (c) 2017 Zalando SE",
    },
)


def _not_found(spec: IDXDataset, missing: list[str], dirs: list[tuple[str, Path]]) -> str:
    looked = "\n".join(f"  - {d} ({label})" for label, d in dirs)
    return (
        f"{spec.name}: file(s) not found: {', '.join(missing)}\n"
        f"Looked in, in order:\n{looked}\n"
        "Ways to get the data:\n"
        + (
            f"  1. install the system package: sudo apt-get install {spec.debian_package}\n"
            if spec.debian_package
            else ""
        )
        + f"  2. download it (checked against pinned SHA-256): "
        f"bnnlab.data.load({spec.name!r}, download=True)\n"
        f"  3. put the official files in a directory and pass root=<dir>, "
        f"or set ${_sources.ENV_DATA}=<dir>"
    )


def _fetch(
    spec: IDXDataset,
    files: tuple[IDXFile, ...],
    root: str | os.PathLike[str] | None,
    download: bool,
) -> list[Path]:
    dirs = _sources.search_dirs(spec.dirname, root, spec.system_dirs)
    found = [_sources.locate(f.name, dirs) for f in files]
    missing = [f for f, p in zip(files, found, strict=True) if p is None]
    if missing and download:
        base = os.environ.get(spec.url_env) or spec.base_url
        dest = _sources.download_dir(spec.dirname, root)
        for f in missing:
            if f.download_sha256 is None:
                raise ValueError(f"{f.name}: no pinned download hash; cannot download it")
            _sources.download(base.rstrip("/") + "/" + f.name, f.download_sha256, dest / f.name)
        found = [_sources.locate(f.name, dirs) for f in files]
        missing = [f for f, p in zip(files, found, strict=True) if p is None]
    if missing:
        raise FileNotFoundError(_not_found(spec, [f.name for f in missing], dirs))
    return [p for p in found if p is not None]


_CACHE: collections.OrderedDict[tuple[str, IDXFile, int], np.ndarray] = collections.OrderedDict()
_CACHE_SIZE = 4
_CACHE_LOCK = threading.Lock()


def _read_verified(path: Path, spec_file: IDXFile, ndim: int) -> np.ndarray:
    """The verified, read-only array of an IDX file.

    The arrays of the last few verified files are kept, keyed by the SHA-256 of the file's raw
    (compressed) bytes, so loading a split again (e.g. the two halves of the Colombo split) costs
    a read and a hash instead of decompression; a changed file never hits the cache.
    """
    raw = path.read_bytes()
    key = (hashlib.sha256(raw).hexdigest(), spec_file, ndim)
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    array, digest = idx_from_bytes(raw, str(path), ndim=ndim)
    if digest != spec_file.sha256:
        raise ValueError(
            f"{path}: SHA-256 of the decompressed content is {digest}, expected {spec_file.sha256} "
            f"(the official {spec_file.name}); the file is corrupt or a different version — "
            "replace it (it was left untouched)"
        )
    if array.shape[0] != spec_file.count:
        raise ValueError(f"{path}: {array.shape[0]} items, expected {spec_file.count}")
    with _CACHE_LOCK:
        _CACHE[key] = array
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return array


def load_idx_split(
    spec: IDXDataset,
    split: str,
    root: str | os.PathLike[str] | None = None,
    download: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Load one official split: images uint8 ``(N, *image_shape)``, labels int64 ``(N,)``."""
    image_file, label_file = spec.splits[split]
    image_path, label_path = _fetch(spec, (image_file, label_file), root, download)
    images = _read_verified(image_path, image_file, ndim=1 + len(spec.image_shape))
    labels = _read_verified(label_path, label_file, ndim=1)
    if images.shape[1:] != spec.image_shape:
        raise ValueError(
            f"{image_path}: images of shape {images.shape[1:]}, expected {spec.image_shape}"
        )
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"{image_path} and {label_path}: {images.shape[0]} images but {labels.shape[0]} labels"
        )
    if labels.size and int(labels.max()) >= spec.n_classes:
        raise ValueError(f"{label_path}: label {int(labels.max())} outside 0..{spec.n_classes - 1}")
    return images.copy(), labels.astype(np.int64)
