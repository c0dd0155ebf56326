"""Standard small BNN layouts: :func:`binary_mlp` and :func:`binary_cnn`.

Layout conventions (Hubara et al. 2016; SiMaN's first/last-layer rule):

* the **input** of the first layer is never binarized (images enter real-valued);
* the **first layer's weights** are binarized (``first="binary"``, default) or real
  (``first="real"``, as the SiMaN / IR-Net ResNets keep their first conv);
* **hidden layers** binarize both their weights and their inputs; the sign of the activation
  binarizer is the network's only nonlinearity;
* the **last layer** reads binarized activations; its weights are real with a bias
  (``last="real"``, default) or binarized and followed by a BatchNorm1d on the logits
  (``last="binary"``, Hubara et al.).

Every binarized layer has ``bias=False`` (a BatchNorm follows) and, with ``scale=True``, SiMaN's
learnable per-channel α. Layer names are stable (``fc1``, ``bn1``, ..., ``conv1``, ``pool1``,
``out``) so records can refer to them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bnnlab._validation import check_choice, check_int, make_rng
from bnnlab.nn._module import Layer, Sequential
from bnnlab.nn.linear import Conv2d, Dense
from bnnlab.nn.norm import BatchNorm1d, BatchNorm2d
from bnnlab.nn.shape import Flatten, MaxPool2d, Reshape


def _check_sizes(sizes: Any, name: str) -> tuple[int, ...]:
    sizes = tuple(sizes)
    if not sizes:
        raise ValueError(f"{name}: expected at least one layer size")
    return tuple(check_int(h, name, minimum=1) for h in sizes)


def _head(
    in_features: int,
    classes: int,
    last: str,
    common: dict[str, Any],
    weight_binarizer: Any,
    act_binarizer: Any,
    scale: bool,
    rng: np.random.Generator,
    dtype: Any,
) -> list[tuple[str, Layer]]:
    if last == "real":
        return [
            ("out", Dense(in_features, classes, act_binarizer=act_binarizer, seed=rng, **common))
        ]
    out = Dense(
        in_features,
        classes,
        bias=False,
        weight_binarizer=weight_binarizer,
        act_binarizer=act_binarizer,
        scale=scale,
        seed=rng,
        **common,
    )
    return [("out", out), ("bn_out", BatchNorm1d(classes, dtype=dtype))]


def binary_mlp(
    in_features: int = 784,
    hidden: tuple[int, ...] = (256, 256),
    classes: int = 10,
    *,
    weight_binarizer: Any = "ste_sign",
    act_binarizer: Any = "ste_sign",
    scale: bool = False,
    first: str = "binary",
    last: str = "real",
    init: Any = "he_normal",
    seed: Any,
    dtype: Any = np.float32,
) -> Sequential:
    """Binary MLP ``in -> hidden... -> classes`` with BatchNorm1d after each hidden layer.

    Layers: ``flatten``, then for each hidden size ``fc{i}`` (Dense, no bias) and ``bn{i}``, then
    ``out`` (and ``bn_out`` when ``last="binary"``). Inputs of any shape ``(N, ...)`` with
    ``in_features`` values per sample. Binarizers are aliases or objects (:mod:`bnnlab.nn.binarizers`);
    a string alias or class gives each layer its own instance (an instance is shared).

    Examples
    --------
    >>> model = binary_mlp(784, (256, 256), 10, weight_binarizer="siman", scale=True, seed=0)
    >>> [name for name, _ in model.binarized_layers()]
    ['fc1', 'fc2']
    """
    in_features = check_int(in_features, "in_features", minimum=1)
    hidden = _check_sizes(hidden, "hidden")
    classes = check_int(classes, "classes", minimum=2)
    check_choice(first, "first", ("binary", "real"))
    check_choice(last, "last", ("binary", "real"))
    rng = make_rng(seed)
    common = {"init": init, "dtype": dtype}
    layers: list[tuple[str, Layer]] = [("flatten", Flatten())]
    prev = in_features
    for i, h in enumerate(hidden, 1):
        is_first = i == 1
        wb = None if (is_first and first == "real") else weight_binarizer
        dense = Dense(
            prev,
            h,
            bias=False,
            weight_binarizer=wb,
            act_binarizer=None if is_first else act_binarizer,
            scale=scale and wb is not None,
            seed=rng,
            **common,
        )
        layers += [(f"fc{i}", dense), (f"bn{i}", BatchNorm1d(h, dtype=dtype))]
        prev = h
    layers += _head(prev, classes, last, common, weight_binarizer, act_binarizer, scale, rng, dtype)
    return Sequential(layers)


def binary_cnn(
    in_shape: tuple[int, int, int] = (1, 28, 28),
    channels: tuple[int, ...] = (32, 64),
    classes: int = 10,
    *,
    kernel_size: int = 3,
    weight_binarizer: Any = "ste_sign",
    act_binarizer: Any = "ste_sign",
    scale: bool = False,
    first: str = "binary",
    last: str = "real",
    init: Any = "he_normal",
    seed: Any,
    dtype: Any = np.float32,
) -> Sequential:
    """Small binary CNN: conv blocks ``conv{i} -> pool{i} (2x2 max) -> bn{i}``, then a Dense head.

    Convolutions are ``kernel_size`` x ``kernel_size`` with "same" zero padding and no bias;
    each block halves the spatial size (28 -> 14 -> 7 -> 3). Layers: ``input`` (reshape to
    ``in_shape``, so ``(N, 784)`` / ``(N, 28, 28)`` / NCHW inputs all work), the blocks,
    ``flatten``, ``out`` (and ``bn_out`` when ``last="binary"``).

    Examples
    --------
    >>> model = binary_cnn((1, 28, 28), (32, 64), 10, seed=0)
    >>> [name for name, _ in model.binarized_layers()]
    ['conv1', 'conv2']
    """
    in_shape = tuple(check_int(d, "in_shape", minimum=1) for d in in_shape)
    if len(in_shape) != 3:
        raise ValueError(f"in_shape: expected (C, H, W), got {in_shape}")
    channels = _check_sizes(channels, "channels")
    classes = check_int(classes, "classes", minimum=2)
    k = check_int(kernel_size, "kernel_size", minimum=1)
    if k % 2 == 0:
        raise ValueError(f"kernel_size: expected an odd size ('same' padding), got {k}")
    check_choice(first, "first", ("binary", "real"))
    check_choice(last, "last", ("binary", "real"))
    rng = make_rng(seed)
    common = {"init": init, "dtype": dtype}
    layers: list[tuple[str, Layer]] = [("input", Reshape(in_shape))]
    c, h, w = in_shape
    for i, co in enumerate(channels, 1):
        if h < 2 or w < 2:
            raise ValueError(f"channels: {len(channels)} blocks pool {in_shape} below 1x1")
        is_first = i == 1
        wb = None if (is_first and first == "real") else weight_binarizer
        conv = Conv2d(
            c,
            co,
            k,
            padding=k // 2,
            bias=False,
            weight_binarizer=wb,
            act_binarizer=None if is_first else act_binarizer,
            scale=scale and wb is not None,
            seed=rng,
            **common,
        )
        layers += [
            (f"conv{i}", conv),
            (f"pool{i}", MaxPool2d(2)),
            (f"bn{i}", BatchNorm2d(co, dtype=dtype)),
        ]
        c, h, w = co, h // 2, w // 2
    layers.append(("flatten", Flatten()))
    layers += _head(
        c * h * w, classes, last, common, weight_binarizer, act_binarizer, scale, rng, dtype
    )
    return Sequential(layers)
