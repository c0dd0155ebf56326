"""Bill of materials of a model: parameters per layer, how many are binarized, storage bits."""

from __future__ import annotations

from typing import Any

from bnnlab.nn._module import Layer, Sequential


def summary(model: Layer, *, real_bits: int = 32) -> list[dict[str, Any]]:
    """One row per leaf layer with parameters, plus a ``"total"`` row.

    Columns: ``name``, ``layer`` (class name), ``params`` (all trainable values),
    ``binary_params`` (latent weights that are binarized in the forward pass), ``real_params``
    (the rest: real weights, biases, BatchNorm, scales α) and ``deploy_bits``: storage of the
    deployed model, 1 bit per binarized weight and ``real_bits`` per real parameter (BatchNorm
    running statistics not counted).
    """
    layers = model.named_layers() if isinstance(model, Sequential) else [("model", model)]
    rows: list[dict[str, Any]] = []
    for name, layer in layers:
        params = layer.named_parameters()
        if not params:
            continue
        total = sum(int(p.data.size) for _, p in params)
        binary = sum(int(p.data.size) for _, p in params if "binarized" in p.tags)
        rows.append(
            {
                "name": name,
                "layer": type(layer).__name__,
                "params": total,
                "binary_params": binary,
                "real_params": total - binary,
                "deploy_bits": binary + real_bits * (total - binary),
            }
        )
    keys = ("params", "binary_params", "real_params", "deploy_bits")
    rows.append({"name": "total", "layer": "", **{k: sum(r[k] for r in rows) for k in keys}})
    return rows
