"""Shape layers: :class:`Reshape`, :class:`Flatten` and :class:`MaxPool2d`."""

from __future__ import annotations

from typing import Any

from bnnlab._validation import check_int
from bnnlab._xp import namespace
from bnnlab.nn._im2col import out_size, window_slice
from bnnlab.nn._module import Layer


class Reshape(Layer):
    """``(N, ...) -> (N, *shape)`` (one entry of ``shape`` may be -1); the backward restores it."""

    def __init__(self, shape: tuple[int, ...]):
        super().__init__()
        shape = tuple(shape)
        if not shape or sum(d == -1 for d in shape) > 1:
            raise ValueError(f"shape: expected a non-empty tuple with at most one -1, got {shape}")
        for d in shape:
            if d != -1:
                check_int(d, "shape", minimum=1)
        self.shape = shape

    def forward(self, x: Any, train: bool) -> Any:
        self._cache = x.shape if train else None
        try:
            return x.reshape(x.shape[0], *self.shape)
        except ValueError as exc:
            raise ValueError(f"x: cannot reshape {tuple(x.shape)} to (N, {self.shape})") from exc

    def backward(self, grad: Any) -> Any:
        return grad.reshape(self._need_cache())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.shape})"


class Flatten(Reshape):
    """``(N, ...) -> (N, prod(...))``; the backward restores the shape."""

    def __init__(self) -> None:
        super().__init__((-1,))

    def __repr__(self) -> str:
        return "Flatten()"


class MaxPool2d(Layer):
    r"""Max pooling over ``k x k`` windows of NCHW maps (stride defaults to ``k``, no padding).

    Forward :math:`y = \max_{(i,j)\in\text{window}} x_{ij}`; backward routes the gradient to the
    first maximal position of each window (row-major order), zero elsewhere; overlapping windows
    (stride < k) accumulate. Computed with ``k*k`` strided slices (elementwise maxima), no loop over
    samples or windows.
    """

    def __init__(self, kernel_size: int, stride: int | None = None):
        super().__init__()
        self.kernel_size = check_int(kernel_size, "kernel_size", minimum=1)
        self.stride = self.kernel_size if stride is None else check_int(stride, "stride", minimum=1)

    def forward(self, x: Any, train: bool) -> Any:
        xp = namespace(x)
        if x.ndim != 4:
            raise ValueError(f"x: expected an NCHW array, got shape {tuple(x.shape)}")
        k, s = self.kernel_size, self.stride
        ho, wo = out_size(x.shape[2], k, s, 0), out_size(x.shape[3], k, s, 0)
        if ho < 1 or wo < 1:
            raise ValueError(f"x: spatial size {tuple(x.shape[2:])} smaller than the window {k}")
        out = x[(slice(None), slice(None), *window_slice(0, 0, ho, wo, s))].copy()
        for p in range(1, k * k):
            xp.maximum(
                out, x[(slice(None), slice(None), *window_slice(p // k, p % k, ho, wo, s))], out=out
            )
        self._cache = (x, out) if train else None
        return out

    def backward(self, grad: Any) -> Any:
        xp = namespace(grad)
        x, out = self._need_cache()
        k, s = self.kernel_size, self.stride
        ho, wo = out.shape[2], out.shape[3]
        dx = xp.zeros(x.shape, dtype=grad.dtype)
        taken = xp.zeros(out.shape, dtype=bool)
        for p in range(k * k):  # row-major order: the first maximal position takes the gradient
            sl = (slice(None), slice(None), *window_slice(p // k, p % k, ho, wo, s))
            first = (x[sl] == out) & ~taken
            taken |= first
            dx[sl] += grad * first
        return dx

    def __repr__(self) -> str:
        return f"MaxPool2d({self.kernel_size}, stride={self.stride})"
