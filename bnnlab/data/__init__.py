"""Datasets and binarisations.

- :func:`load` ``(name, split)`` → ``(images uint8 (N, 28, 28), labels int64 (N,))`` for
  ``"fashion-mnist"`` (official IDX files, found locally or downloaded only on request) and
  ``"fashion-mnist-mini"`` (a stratified subsample shipped with the package); :func:`available`,
  :func:`info`.
- :func:`load_binary` ``(name, seed)`` → ±1 ``int8`` ``(x_train, y_train, x_test, y_test)`` of
  the datasets the gradient-free learners train on (:func:`binary_datasets`); :func:`binary_info`
  gives their shape and sizes without reading data.
- :func:`colombo_split`: the seeded 50k/10k split of the official training file (Colombo et al.).
- :func:`prototypes`: the synthetic Prototypes dataset (Colombo et al.).
- :mod:`bnnlab.data.binarize`: :func:`global_median`, :func:`per_image_median`,
  :func:`thermometer` → int8 ±1 codes.

Loaders never download silently; every file is verified by a pinned SHA-256.
"""

from __future__ import annotations

from bnnlab.data._catalog import available, info, load
from bnnlab.data.binarize import global_median, per_image_median, thermometer
from bnnlab.data.binary import BinaryDataset, binary_datasets, binary_info, load_binary
from bnnlab.data.prototypes import prototypes
from bnnlab.data.splits import colombo_split

__all__ = [
    "BinaryDataset",
    "available",
    "binary_datasets",
    "binary_info",
    "colombo_split",
    "global_median",
    "info",
    "load",
    "load_binary",
    "per_image_median",
    "prototypes",
    "thermometer",
]
