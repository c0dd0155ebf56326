"""Optimiser base class and parameter groups.

A *parameter group* is a dict ``{"params": [Parameter, ...], "weight_decay": float,
"lr_scale": float}``; an optimiser updates every group with its own weight decay, so ℓ2 can be
removed from the binarized weights only (the SiMaN recipe: no decay on binarized weights and their
scales α, 5e-4 on everything else). Build groups with :func:`param_groups`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from bnnlab._validation import check_real
from bnnlab.nn._module import Layer, Parameter


def param_groups(
    model: Layer,
    weight_decay: float,
    *,
    no_decay: Iterable[str] | Callable[[str, Parameter], bool] = (),
) -> list[dict[str, Any]]:
    """Split a model's parameters into a decayed and a non-decayed group.

    Parameters
    ----------
    model : Layer
        Anything with ``named_parameters()``.
    weight_decay : float
        ℓ2 coefficient λ of the decayed group.
    no_decay : iterable of tags, or callable ``(name, Parameter) -> bool``
        Parameters carrying any of these tags (``"binarized"``, ``"scale"``, ``"bn"``,
        ``"bias"``, ``"weight"``), or for which the callable is true, get ``weight_decay = 0``.

    Returns
    -------
    list of dict
        ``[{"params": decayed, "weight_decay": λ, "names": [...]},
        {"params": rest, "weight_decay": 0.0, "names": [...]}]`` (empty groups dropped).

    Examples
    --------
    SiMaN's recipe (no ℓ2 on binarized weights and α):

    >>> groups = param_groups(model, 5e-4, no_decay=("binarized", "scale"))  # doctest: +SKIP
    """
    lam = check_real(weight_decay, "weight_decay", low=0.0)
    if callable(no_decay):
        excluded = no_decay
    else:
        tags = frozenset(no_decay)

        def excluded(name: str, p: Parameter) -> bool:
            return bool(p.tags & tags)

    decay: dict[str, Any] = {"params": [], "names": [], "weight_decay": lam}
    rest: dict[str, Any] = {"params": [], "names": [], "weight_decay": 0.0}
    for name, p in model.named_parameters():
        g = rest if excluded(name, p) else decay
        g["params"].append(p)
        g["names"].append(name)
    return [g for g in (decay, rest) if g["params"]]


def _as_groups(params: Any, weight_decay: float) -> list[dict[str, Any]]:
    if isinstance(params, Layer):
        return param_groups(params, weight_decay)
    items = list(params)
    if not items:
        raise ValueError("params: no parameters to optimise")
    if all(isinstance(p, Parameter) for p in items):
        return [{"params": items, "weight_decay": weight_decay}]
    groups = []
    for i, g in enumerate(items):
        if not isinstance(g, Mapping) or "params" not in g:
            raise TypeError(f"params: group {i} is not a dict with a 'params' list")
        g = dict(g)
        g["params"] = list(g["params"])
        if not all(isinstance(p, Parameter) for p in g["params"]):
            raise TypeError(f"params: group {i} holds something other than Parameters")
        g.setdefault("weight_decay", weight_decay)
        groups.append(g)
    return groups


class Optimizer:
    """Base class: groups, learning rate, per-parameter state.

    Parameters
    ----------
    params : Layer, list of Parameter, or list of group dicts
        A model (one group, all decayed with ``weight_decay``), parameters, or groups
        (``{"params": [...], "weight_decay": λ, "lr_scale": s}``; missing keys take the defaults).
    lr : float
        Base learning rate (a schedule sets it with :meth:`set_lr`).
    weight_decay : float
        Default ℓ2 of groups that do not give one.
    """

    def __init__(self, params: Any, lr: float, weight_decay: float = 0.0):
        self.lr = check_real(lr, "lr", low=0.0)
        wd = check_real(weight_decay, "weight_decay", low=0.0)
        self.groups = _as_groups(params, wd)
        for g in self.groups:
            g["weight_decay"] = check_real(g["weight_decay"], "weight_decay", low=0.0)
            g["lr_scale"] = check_real(g.get("lr_scale", 1.0), "lr_scale", low=0.0)
        self.state: dict[int, dict[str, Any]] = {}
        self.steps = 0

    def set_lr(self, lr: float) -> None:
        """Set the base learning rate (each group uses ``lr * lr_scale``)."""
        self.lr = check_real(lr, "lr", low=0.0)

    def step(self) -> None:
        """Update every parameter with a gradient from its ``grad`` (skipped when ``None``)."""
        self.steps += 1
        for g in self.groups:
            lr = self.lr * g["lr_scale"]
            for p in g["params"]:
                if p.grad is None:
                    continue
                self._update(p, lr, g["weight_decay"], self.state.setdefault(id(p), {}))

    def _update(self, p: Parameter, lr: float, wd: float, state: dict[str, Any]) -> None:
        raise NotImplementedError  # pragma: no cover

    def set_epoch(self, epoch: int, epochs: int) -> None:
        """Epoch hook: called at the start of each epoch (0-based) out of ``epochs``.

        Does nothing here; optimisers with per-epoch hyperparameters override it (ProxQuant's
        λ homotopy). A training loop calls it next to ``model.set_epoch(epoch, epochs)``.
        """

    def epoch_columns(self) -> dict[str, float]:
        """Per-epoch diagnostics for a training loop's metrics row, consumed on reading.

        Empty here; :class:`~bnnlab.optim.QPSBGD` reports its solvers' quality and cost.
        """
        return {}

    def finalize(self) -> None:
        """End-of-training hook: called once after the last step, before the final evaluation.

        Does nothing here; :class:`~bnnlab.optim.ProxQuant` hard-quantises its binary parameters.
        """

    def state_dict(self, names: Mapping[int, str]) -> tuple[dict[str, Any], dict[str, Any]]:
        """``(arrays, meta)``: the per-parameter state for a checkpoint.

        ``names`` maps ``id(parameter)`` to a stable name; array state is returned under
        ``"<name>:<key>"`` (as the arrays are: the caller copies device arrays to the host),
        scalar state and the step counter go to ``meta`` (JSON-ready). An inner optimiser's
        state (binary optimisers) is nested under ``"inner."``.
        """
        arrays: dict[str, Any] = {}
        scalars: dict[str, Any] = {}
        for pid, st in self.state.items():
            if pid not in names:
                raise ValueError(f"names: no name for a parameter with optimiser state ({pid})")
            for key, value in st.items():
                if hasattr(value, "shape") and getattr(value, "ndim", 0) > 0:
                    arrays[f"{names[pid]}:{key}"] = value
                else:
                    scalars[f"{names[pid]}:{key}"] = (
                        value.item() if hasattr(value, "item") else value
                    )
        meta: dict[str, Any] = {"steps": self.steps, "scalars": scalars}
        inner = getattr(self, "inner", None)
        if isinstance(inner, Optimizer):
            a, m = inner.state_dict(names)
            arrays.update({f"inner.{k}": v for k, v in a.items()})
            meta["inner"] = m
        return arrays, meta

    def load_state_dict(
        self, arrays: Mapping[str, Any], meta: Mapping[str, Any], params: Mapping[str, Parameter]
    ) -> None:
        """Restore :meth:`state_dict`'s output; ``params`` maps the names back to parameters.

        Array state is converted with the parameter's array library and checked for shape.
        """
        from bnnlab._xp import namespace

        state: dict[int, dict[str, Any]] = {}

        def slot(key: str) -> tuple[Parameter, dict[str, Any], str]:
            name, _, field = key.rpartition(":")
            if name not in params or not field:
                raise ValueError(f"optimizer state: unknown parameter in key {key!r}")
            p = params[name]
            return p, state.setdefault(id(p), {}), field

        for key, value in arrays.items():
            if key.startswith("inner."):
                continue
            p, st, field = slot(key)
            if tuple(value.shape) != tuple(p.data.shape):
                raise ValueError(
                    f"optimizer state: {key!r} has shape {tuple(value.shape)}, the parameter "
                    f"{tuple(p.data.shape)}"
                )
            st[field] = namespace(p.data).asarray(value, dtype=p.data.dtype)
        for key, value in dict(meta.get("scalars", {})).items():
            _, st, field = slot(key)
            st[field] = value
        self.state = state
        self.steps = int(meta.get("steps", 0))
        inner = getattr(self, "inner", None)
        if isinstance(inner, Optimizer):
            inner_arrays = {k[6:]: v for k, v in arrays.items() if k.startswith("inner.")}
            inner.load_state_dict(inner_arrays, meta.get("inner", {}), params)

    def zero_grad(self) -> None:
        """Forget the gradients (layers overwrite them on each backward anyway)."""
        for g in self.groups:
            for p in g["params"]:
                p.grad = None
