"""The ±1 datasets the gradient-free binary learners train on (Colombo et al., REFERENCES.md §2.4).

One place says what each learner dataset is and how it is made, so the command line, the paper
reproduction and the comparison harness read the same arrays:

``"fashion-mnist"``
    The official Fashion-MNIST *training* file (:func:`bnnlab.data.load`), split 50 000 / 10 000
    by :func:`bnnlab.data.colombo_split` with the data seed and binarised by the global median of
    the training part (:func:`bnnlab.data.global_median`; the test part reuses that median).
``"fashion-mnist-mini"``
    The embedded subsample (its own train and test files, 10 000 / 2 000), binarised the same way;
    needs no files and ignores the seed (the split is fixed).
``"prototypes"``
    :func:`bnnlab.data.prototypes` with its defaults (the paper's: 10 prototypes of 1000 bits,
    flip probability 0.44, 10 000 / 2 000 samples) drawn with the data seed.

:func:`binary_info` tells a dataset's shape and sizes without reading any data, so a learner's
configuration can be validated before the (slow) load; :func:`load_binary` returns the arrays.
The ``seed`` is the *data* seed of a run; :func:`bnnlab._validation.derive_seeds` derives it and
the learner's seed from one run seed.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import os
from typing import Any

import numpy as np

from bnnlab._validation import check_choice, check_int

__all__ = ["BinaryDataset", "binary_datasets", "binary_info", "load_binary"]

_NAMES = ("fashion-mnist", "fashion-mnist-mini", "prototypes")


@dataclasses.dataclass(frozen=True)
class BinaryDataset:
    """What a learner dataset is, known without loading it.

    Attributes
    ----------
    name : str
    n_features, n_classes : int
        Input size ``D`` and number of classes ``C``.
    n_train, n_test : int
        Sizes of the training and test parts.
    seeded : bool
        Whether the data seed changes the data (split or draw).
    description : str
        One line: source, split and binarisation.
    """

    name: str
    n_features: int
    n_classes: int
    n_train: int
    n_test: int
    seeded: bool
    description: str

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_features, n_classes)``."""
        return (self.n_features, self.n_classes)


def binary_datasets() -> list[str]:
    """Names accepted by :func:`load_binary` and :func:`binary_info`."""
    return list(_NAMES)


def _prototype_defaults() -> dict[str, Any]:
    """The keyword defaults of :func:`bnnlab.data.prototypes` (the paper's dataset)."""
    from bnnlab.data.prototypes import prototypes

    return {
        k: p.default
        for k, p in inspect.signature(prototypes).parameters.items()
        if p.default is not inspect.Parameter.empty and k != "return_prototypes"
    }


def binary_info(name: str) -> BinaryDataset:
    """Shape, sizes and description of a learner dataset, without reading its data.

    Parameters
    ----------
    name : {"fashion-mnist", "fashion-mnist-mini", "prototypes"}

    Returns
    -------
    BinaryDataset
    """
    check_choice(name, "name", _NAMES)
    if name == "prototypes":
        p = _prototype_defaults()
        return BinaryDataset(
            name,
            p["n_features"],
            p["n_classes"],
            p["n_train"],
            p["n_test"],
            True,
            f"{p['n_classes']} random ±1 prototypes of {p['n_features']} bits, each bit flipped "
            f"with probability {p['flip']}, deduplicated (drawn with the data seed)",
        )
    from bnnlab.data import _catalog, _fashion

    spec = _fashion.FASHION_MNIST
    features = math.prod(spec.image_shape)
    if name == "fashion-mnist":
        n_test = _catalog.COLOMBO_N_TEST
        n_train = spec.splits["train"][0].count - n_test
        how = "official training file split by the data seed"
    else:
        sizes = _catalog.info(name)["sizes"]
        n_train, n_test = sizes["train"], sizes["test"]
        how = "embedded subsample, fixed train/test files"
    return BinaryDataset(
        name,
        features,
        spec.n_classes,
        n_train,
        n_test,
        name == "fashion-mnist",
        f"Fashion-MNIST, {how}, binarised by the global median of the training part",
    )


def load_binary(
    name: str, seed: int, root: str | os.PathLike[str] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x_train, y_train, x_test, y_test)`` of a learner dataset (see the module docstring).

    Parameters
    ----------
    name : {"fashion-mnist", "fashion-mnist-mini", "prototypes"}
    seed : int
        The data seed (``>= 0``): the Colombo split of Fashion-MNIST, the draw of Prototypes;
        validated but unused for the fixed mini set.
    root : path, optional
        Directory searched first for the Fashion-MNIST files (:func:`bnnlab.data.load`); the
        files are never downloaded here.

    Returns
    -------
    x_train, x_test : int8 arrays ``(n, n_features)`` of ±1
    y_train, y_test : int64 arrays ``(n,)`` of class indices

    Raises
    ------
    FileNotFoundError
        Fashion-MNIST files absent (the message says where it looked and how to get them).
    """
    from bnnlab import data

    binary_info(name)  # validates the name
    seed = check_int(seed, "seed", minimum=0)
    if root is not None and not isinstance(root, str | os.PathLike):
        raise TypeError(f"root: expected a path, got {type(root).__name__}")
    if name == "prototypes":
        return data.prototypes(**_prototype_defaults(), seed=seed)
    if name == "fashion-mnist":
        xtr, ytr = data.load(name, "colombo-train", root=root, seed=seed)
        xte, yte = data.load(name, "colombo-test", root=root, seed=seed)
    else:
        xtr, ytr = data.load(name, "train")
        xte, yte = data.load(name, "test")
    btr, median = data.global_median(xtr)
    bte, _ = data.global_median(xte, median=median)
    return btr, ytr, bte, yte
