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

Each name may carry variants (:mod:`bnnlab.data.variants`): ``":classes=a,b"`` keeps those
classes, relabelled in that order, and ``":pool=p"`` average-pools the images by ``p`` before the
binarisation, e.g. ``"fashion-mnist-mini:classes=0,6:pool=4"``.

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

from bnnlab._validation import check_int

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
    n_train, n_test : int or None
        Sizes of the training and test parts (``None`` for a class subset of a seeded dataset:
        its sizes depend on the data seed).
    seeded : bool
        Whether the data seed changes the data (split or draw).
    description : str
        One line: source, split and binarisation.
    """

    name: str
    n_features: int
    n_classes: int
    n_train: int | None
    n_test: int | None
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

    A name with ``:classes=`` reads the labels (the sizes of a class subset are counted).

    Parameters
    ----------
    name : {"fashion-mnist", "fashion-mnist-mini", "prototypes"} with optional variants

    Returns
    -------
    BinaryDataset
    """
    from bnnlab.data import variants

    v = variants.parse(name, _NAMES)
    if not v.plain:
        return _variant_info(name, v)
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


def _variant_info(name: str, v: Any) -> BinaryDataset:
    """:func:`binary_info` of a named variant (labels read when classes are selected)."""
    base = binary_info(v.base)
    n_train, n_test = base.n_train, base.n_test
    if v.classes is not None:
        if max(v.classes) >= base.n_classes:
            raise ValueError(
                f"name: classes {v.classes} outside the base's 0..{base.n_classes - 1}"
            )
        ytr, yte = _labels(v.base)
        n_train = int(np.isin(ytr, v.classes).sum()) if ytr is not None else None
        n_test = int(np.isin(yte, v.classes).sum()) if yte is not None else None
    side = 28 // v.pool
    features = base.n_features if v.base == "prototypes" else side * side
    parts = [
        base.description.replace(", binarised by the global median of the training part", "")
        if v.intensity
        else base.description
    ]
    if v.classes is not None:
        parts.append(f"classes {', '.join(map(str, v.classes))} relabelled 0..{len(v.classes) - 1}")
    if v.pool > 1:
        parts.append(f"{v.pool} x {v.pool} average-pooled to {side} x {side} before binarising")
    if v.intensity:
        parts.append("pixel intensities in [0, 1] (float32), not binarised")
    n_classes = base.n_classes if v.classes is None else len(v.classes)
    return BinaryDataset(name, features, n_classes, n_train, n_test, base.seeded, "; ".join(parts))


def _labels(base: str) -> tuple[Any, Any]:
    """Labels of a base dataset's train and test parts when they do not depend on the seed
    (``None`` for those that do)."""
    if base != "fashion-mnist-mini":
        return None, None
    from bnnlab import data

    return data.load(base, "train")[1], data.load(base, "test")[1]


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
    from bnnlab.data import variants

    v = variants.parse(name, _NAMES)
    seed = check_int(seed, "seed", minimum=0)
    if root is not None and not isinstance(root, str | os.PathLike):
        raise TypeError(f"root: expected a path, got {type(root).__name__}")
    base = binary_info(v.base)
    if v.base == "prototypes":
        xtr, ytr, xte, yte = data.prototypes(**_prototype_defaults(), seed=seed)
        if v.plain:
            return xtr, ytr, xte, yte
    elif v.base == "fashion-mnist":
        xtr, ytr = data.load(v.base, "colombo-train", root=root, seed=seed)
        xte, yte = data.load(v.base, "colombo-test", root=root, seed=seed)
    else:
        xtr, ytr = data.load(v.base, "train")
        xte, yte = data.load(v.base, "test")
    xtr, ytr = variants.apply_variant(v, (xtr, ytr), base.n_classes)
    xte, yte = variants.apply_variant(v, (xte, yte), base.n_classes)
    if v.base == "prototypes":
        return xtr, ytr, xte, yte
    if v.intensity:
        n = xtr.shape[0]
        return (
            (np.asarray(xtr, dtype=np.float32) / 255.0).reshape(n, -1),
            ytr,
            (np.asarray(xte, dtype=np.float32) / 255.0).reshape(xte.shape[0], -1),
            yte,
        )
    btr, median = data.global_median(xtr)
    bte, _ = data.global_median(xte, median=median)
    return btr, ytr, bte, yte
