r"""Shared machinery of the binary optimisers: which parameters are binary, and the inner optimiser.

A *binary optimiser* treats the parameters selected by ``binary`` (by default those tagged
``"binarized"``, i.e. the latent weights of layers with a weight binarizer) with its own rule and
delegates the ordinary gradient step to an *inner* optimiser (any non-binary optimiser of
:data:`bnnlab.optim.OPTIMIZERS`, built here on the wrapper's parameter groups, so that the groups'
``weight_decay`` and ``lr_scale`` and the schedule's :meth:`set_lr` reach it unchanged):

=====================  =====================================  ===================================
optimiser              inner step on                          then, on the binary parameters
=====================  =====================================  ===================================
``binary-connect``     every parameter                        clip to :math:`[-c, c]`
``proxquant``          every parameter                        binary prox (and hard sign at the end)
``bop``                the non-binary parameters only         flip on the gradient's moving average
=====================  =====================================  ===================================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bnnlab._validation import check_real
from bnnlab.nn._module import TAGS, Parameter
from bnnlab.optim._base import Optimizer

Selector = str | Callable[[Parameter], bool]


def resolve_selector(binary: Any) -> Callable[[Parameter], bool]:
    """``binary`` (a tag or a predicate on :class:`Parameter`) as a predicate."""
    if isinstance(binary, str):
        if binary not in TAGS:
            raise ValueError(f"binary: unknown tag {binary!r}; allowed {sorted(TAGS)}")
        return lambda p: binary in p.tags
    if callable(binary):
        return binary
    raise TypeError(
        f"binary: expected a parameter tag or a callable (Parameter) -> bool, "
        f"got {type(binary).__name__}"
    )


def resolve_inner(inner: Any) -> type[Optimizer]:
    """The inner optimiser class from an alias of :data:`OPTIMIZERS` or an Optimizer subclass."""
    if isinstance(inner, str):
        from bnnlab.optim import OPTIMIZERS  # the package registers us: import at call time

        inner = OPTIMIZERS.get(inner)
    if not (isinstance(inner, type) and issubclass(inner, Optimizer)):
        raise TypeError(
            f"inner: expected an optimiser alias or an Optimizer subclass, got {inner!r}"
        )
    if issubclass(inner, BinaryOptimizer):
        raise ValueError(
            f"inner: {inner.__name__} is itself a binary optimiser; the inner step must be an "
            "ordinary one (e.g. 'sgd', 'signsgd', 'adam')"
        )
    return inner


def param_name(group: Mapping[str, Any], gi: int, j: int) -> str:
    """A parameter's qualified name when the group carries ``names``, else its position."""
    names = group.get("names")
    if names is not None and j < len(names):
        return str(names[j])
    return f"group {gi} parameter {j}"


class BinaryOptimizer(Optimizer):
    """Base of :class:`BinaryConnect`, :class:`ProxQuant` and :class:`Bop`.

    Parameters
    ----------
    params, lr, weight_decay
        As :class:`~bnnlab.optim.Optimizer`; ``lr`` is the inner optimiser's base rate and
        :meth:`set_lr` (what a schedule calls) sets it there too.
    binary : str or callable
        A parameter tag (default ``"binarized"``) or a predicate ``(Parameter) -> bool`` selecting
        the parameters the binary rule applies to.
    inner : str or Optimizer subclass
        The ordinary optimiser (an alias such as ``"sgd"``, ``"signsgd"``, ``"adam"``, or a class),
        built as ``inner(groups, lr=lr, **inner_kwargs)`` on a copy of the groups (every parameter,
        or only the non-binary ones when the subclass says so).
    inner_kwargs : mapping, optional
        Extra keyword arguments of the inner optimiser (``momentum``, ``betas``, ...); ``lr`` and
        ``weight_decay`` come from the wrapper and its groups, not from here.

    Attributes
    ----------
    inner : Optimizer or None
        The inner optimiser (``None`` when it has no parameter to update).
    binary_params : list of (str, Parameter)
        The selected parameters with their names, in group order.
    """

    #: whether the inner optimiser also steps the binary parameters (False for Bop)
    _inner_gets_binary: bool = True

    def __init__(
        self,
        params: Any,
        lr: float,
        weight_decay: float = 0.0,
        *,
        binary: Selector = "binarized",
        inner: Any = "sgd",
        inner_kwargs: Mapping[str, Any] | None = None,
    ):
        self.inner: Optimizer | None = None
        super().__init__(params, lr, weight_decay)
        is_binary = resolve_selector(binary)
        inner_cls = resolve_inner(inner)
        kwargs = dict(inner_kwargs or {})
        for key in ("lr", "weight_decay", "params"):
            if key in kwargs:
                raise ValueError(
                    f"inner_kwargs: {key!r} is set by the wrapper (its lr and its groups), "
                    "not by inner_kwargs"
                )
        self.binary_params: list[tuple[str, Parameter]] = []
        self._binary_groups: list[int] = []
        inner_groups = []
        for gi, g in enumerate(self.groups):
            keep, keep_names = [], []
            for j, p in enumerate(g["params"]):
                name = param_name(g, gi, j)
                if is_binary(p):
                    self.binary_params.append((name, p))
                    self._binary_groups.append(gi)
                    if not self._inner_gets_binary:
                        continue
                keep.append(p)
                keep_names.append(name)
            if keep:
                inner_groups.append({**g, "params": keep, "names": keep_names})
        if not self.binary_params:
            raise ValueError(
                "binary: no parameter selected as binary (by default those tagged 'binarized', "
                "i.e. weights of layers with a weight binarizer); pass binary= to choose them"
            )
        if inner_groups:
            try:
                self.inner = inner_cls(inner_groups, lr=self.lr, **kwargs)
            except TypeError as exc:
                raise TypeError(f"inner_kwargs: {exc}") from exc

    # -- learning rate, shared with the inner optimiser -----------------------------------------
    @property
    def lr(self) -> float:
        """Base learning rate (of the inner optimiser; each group uses ``lr * lr_scale``)."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = check_real(value, "lr", low=0.0)
        if self.inner is not None:
            self.inner.set_lr(self._lr)

    def _binary_items(self) -> list[tuple[str, Parameter, dict[str, Any]]]:
        """``(name, parameter, its group)`` for every binary parameter."""
        return [
            (name, p, self.groups[gi])
            for (name, p), gi in zip(self.binary_params, self._binary_groups, strict=True)
        ]

    def step(self) -> None:
        """The inner step, then the binary rule (:meth:`_binary_step`) on the binary parameters."""
        if self.inner is not None:
            self.inner.step()
        self._binary_step()
        self.steps += 1

    def _binary_step(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _update(self, p: Parameter, lr: float, wd: float, state: dict[str, Any]) -> None:
        raise NotImplementedError  # pragma: no cover - step() is overridden
