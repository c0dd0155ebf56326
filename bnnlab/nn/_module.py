"""Parameters, the layer base class and the :class:`Sequential` container.

Every layer has an explicit ``forward(x, train)`` that stores what its backward needs, and a
``backward(grad)`` that returns the gradient with respect to its input and *overwrites* the ``grad``
of each of its parameters (no accumulation: one backward per forward). Parameters carry tags
(``"weight"``, ``"bias"``, ``"scale"``, ``"bn"``, ``"binarized"``) so that optimisers can build
parameter groups, e.g. "no weight decay on binarized weights and scales" as in the SiMaN code.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from types import ModuleType
from typing import Any

from bnnlab._xp import namespace

#: tags a parameter may carry
TAGS = frozenset({"weight", "bias", "scale", "bn", "binarized"})


class Parameter:
    """A trainable array with its gradient and tags.

    Attributes
    ----------
    data : array
        The value (updated in place or replaced by the optimiser; layers read it through this object).
    grad : array or None
        The gradient written by the last ``backward``.
    tags : frozenset of str
        Subset of :data:`TAGS`, used to build optimiser parameter groups.
    factors : tuple (X, Y) or None
        For the weights of :class:`~bnnlab.nn.Dense` and :class:`~bnnlab.nn.Conv2d`: the layer's
        (binarised) inputs ``X`` (``B x n``, im2col columns for a convolution) and the gradient
        ``Y`` (``B x m``) with respect to the products :math:`X W_b^\top`, from the last
        ``backward`` (so that ``Y.T @ X`` is the gradient of the forward weights). References, not
        copies; used by optimisers that need more than the gradient (QP-SBGD).
    """

    __slots__ = ("data", "factors", "grad", "tags")

    def __init__(self, data: Any, tags: Iterable[str]):
        tags = frozenset(tags)
        unknown = tags - TAGS
        if unknown:
            raise ValueError(f"tags: unknown tag(s) {sorted(unknown)}; allowed {sorted(TAGS)}")
        self.data = data
        self.grad = None
        self.factors = None
        self.tags = tags

    def __repr__(self) -> str:
        return f"Parameter(shape={tuple(self.data.shape)}, tags={sorted(self.tags)})"


class Layer:
    """Base class: explicit forward/backward with caches, named parameters, epoch hook."""

    def __init__(self) -> None:
        self._params: dict[str, Parameter] = {}
        self._cache: Any = None
        #: set to False by :meth:`Sequential.backward` when nobody needs the input gradient
        self.input_grad = True

    # -- parameters -------------------------------------------------------------------------
    def _add_param(self, name: str, data: Any, tags: Iterable[str]) -> Parameter:
        p = Parameter(data, tags)
        self._params[name] = p
        return p

    def named_parameters(self, prefix: str = "") -> list[tuple[str, Parameter]]:
        """``[(qualified_name, Parameter), ...]`` in a stable order."""
        return [(f"{prefix}{n}", p) for n, p in self._params.items()]

    def parameters(self) -> list[Parameter]:
        """The parameters, in the order of :meth:`named_parameters`."""
        return [p for _, p in self.named_parameters()]

    # -- computation ------------------------------------------------------------------------
    def forward(self, x: Any, train: bool) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, grad: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, x: Any, train: bool = False) -> Any:
        return self.forward(x, train)

    def set_epoch(self, epoch: int, epochs: int) -> None:
        """Called by the training loop at the start of each epoch (0-based) out of ``epochs``."""

    def to(self, xp: ModuleType) -> Layer:
        """Move every parameter (and state array) to the array library ``xp`` (numpy or cupy)."""
        for p in self._params.values():
            p.data = xp.asarray(p.data)
            p.grad = None
        for name, value in list(vars(self).items()):
            if name.startswith("running_") and value is not None:
                setattr(self, name, xp.asarray(value))
        return self

    def _need_cache(self) -> Any:
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward(train=True)")
        return self._cache


class Sequential(Layer):
    """A chain of named layers.

    Parameters
    ----------
    layers : iterable of Layer or of (name, Layer)
        Unnamed layers get their index as name.
    """

    def __init__(self, layers: Iterable[Layer | tuple[str, Layer]]):
        super().__init__()
        self.layers: dict[str, Layer] = {}
        for i, item in enumerate(layers):
            name, layer = item if isinstance(item, tuple) else (str(i), item)
            if not isinstance(layer, Layer):
                raise TypeError(f"layers: item {i} is not a Layer ({type(layer).__name__})")
            if not isinstance(name, str) or not name or "." in name or name in self.layers:
                raise ValueError(f"layers: invalid or duplicate name {name!r}")
            self.layers[name] = layer
        if not self.layers:
            raise ValueError("layers: expected at least one layer")

    def __iter__(self) -> Iterator[tuple[str, Layer]]:
        return iter(self.layers.items())

    def __getitem__(self, name: str) -> Layer:
        return self.layers[name]

    def __len__(self) -> int:
        return len(self.layers)

    def named_parameters(self, prefix: str = "") -> list[tuple[str, Parameter]]:
        out: list[tuple[str, Parameter]] = []
        for name, layer in self.layers.items():
            out.extend(layer.named_parameters(f"{prefix}{name}."))
        return out

    def named_layers(self, prefix: str = "") -> list[tuple[str, Layer]]:
        """Every leaf layer with its qualified name (nested Sequentials are flattened)."""
        out: list[tuple[str, Layer]] = []
        for name, layer in self.layers.items():
            if isinstance(layer, Sequential):
                out.extend(layer.named_layers(f"{prefix}{name}."))
            else:
                out.append((f"{prefix}{name}", layer))
        return out

    def binarized_layers(self) -> list[tuple[str, Layer]]:
        """``[(name, layer), ...]`` for the layers whose weights are binarized.

        Each such layer exposes ``layer.weight`` (the latent float weights, shape
        ``(out, in)`` or ``(out, in, kh, kw)``), ``layer.binary_weight()`` (the weight used in the
        forward pass, before the per-channel scale α) and ``layer.weight_binarizer``.
        """
        return [
            (n, layer) for n, layer in self.named_layers() if getattr(layer, "binarized", False)
        ]

    def forward(self, x: Any, train: bool) -> Any:
        for layer in self.layers.values():
            x = layer.forward(x, train)
        return x

    def backward(self, grad: Any, input_grad: bool = True) -> Any:
        """Back-propagate ``grad``; return the input gradient (``None`` if ``input_grad=False``).

        With ``input_grad=False`` (what the training loop uses) the layers before the first one
        with parameters are skipped, and that layer is asked not to compute its input gradient
        (Dense and Conv2d honour it: no input gradient for the first convolution).
        """
        layers = list(self.layers.values())
        stop = 0
        if not input_grad:
            stop = next((i for i, layer in enumerate(layers) if layer.parameters()), len(layers))
            if stop == len(layers):
                return None
        for i in range(len(layers) - 1, stop - 1, -1):
            layer = layers[i]
            if i == stop and not input_grad:
                if isinstance(layer, Sequential):
                    return layer.backward(grad, input_grad=False)
                layer.input_grad = False
                try:
                    layer.backward(grad)
                finally:
                    layer.input_grad = True
                return None
            grad = layer.backward(grad)
        return grad

    def set_epoch(self, epoch: int, epochs: int) -> None:
        for layer in self.layers.values():
            layer.set_epoch(epoch, epochs)

    def to(self, xp: ModuleType) -> Sequential:
        for layer in self.layers.values():
            layer.to(xp)
        return self

    @property
    def xp(self) -> ModuleType:
        """The array library of the parameters (numpy or cupy)."""
        return namespace(*(p.data for p in self.parameters()))

    def __repr__(self) -> str:
        inner = "\n".join(f"  ({n}): {layer!r}" for n, layer in self.layers.items())
        return f"Sequential(\n{inner}\n)"
