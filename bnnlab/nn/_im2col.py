"""im2col and its adjoint for NCHW convolutions, and the window slices shared with pooling.

Columns are gathered channels-last: ``cols[n, y, x, i, j, c] = x_pad[n, c, s*y + i, s*x + j]``,
one strided copy per kernel position (``k*k`` copies, no loop over samples), which is several
times faster than transposing a 6-D window view. The matching weight matrix is
``W.transpose(0, 2, 3, 1).reshape(out, k*k*C)``.
"""

from __future__ import annotations

from typing import Any

from bnnlab._xp import namespace


def out_size(size: int, k: int, stride: int, padding: int) -> int:
    """Output length of a convolution/pooling along one axis."""
    return (size + 2 * padding - k) // stride + 1


def window_slice(i: int, j: int, ho: int, wo: int, stride: int) -> tuple[slice, slice]:
    """Spatial slices selecting kernel offset ``(i, j)`` of every output position."""
    return (
        slice(i, i + stride * (ho - 1) + 1, stride),
        slice(j, j + stride * (wo - 1) + 1, stride),
    )


def im2col(x: Any, kh: int, kw: int, stride: int, padding: int) -> tuple[Any, int, int]:
    """Return ``(cols, Ho, Wo)``, ``cols`` of shape ``(N*Ho*Wo, kh*kw*C)`` (zero padding)."""
    xp = namespace(x)
    n, c, h, w = x.shape
    ho, wo = out_size(h, kh, stride, padding), out_size(w, kw, stride, padding)
    xh = x.transpose(0, 2, 3, 1)
    if padding:
        xh = xp.pad(xh, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    cols = xp.empty((n, ho, wo, kh, kw, c), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            sy, sx = window_slice(i, j, ho, wo, stride)
            cols[:, :, :, i, j, :] = xh[:, sy, sx, :]
    return cols.reshape(n * ho * wo, kh * kw * c), ho, wo


def conv_input_grad(
    g2: Any, wmat: Any, x_shape: tuple[int, ...], kh: int, kw: int, stride: int, padding: int
) -> Any:
    """Input gradient of the convolution, NCHW, from ``g2 = dL/dout`` as ``(N*Ho*Wo, out)``.

    Equal to col2im of ``g2 @ wmat`` (the adjoint of :func:`im2col`) but computed per kernel
    offset, ``dx[:, s*y+i, s*x+j, :] += g2 @ W[:, i, j, :]``, which never materialises the
    ``(N*Ho*Wo, kh*kw*C)`` column gradient (1.4-2x faster on one core).
    """
    xp = namespace(g2)
    n, c, h, w = x_shape
    ho, wo = out_size(h, kh, stride, padding), out_size(w, kw, stride, padding)
    wr = xp.ascontiguousarray(wmat.reshape(-1, kh, kw, c).transpose(1, 2, 0, 3))
    dx = xp.zeros((n, h + 2 * padding, w + 2 * padding, c), dtype=g2.dtype)
    for i in range(kh):
        for j in range(kw):
            sy, sx = window_slice(i, j, ho, wo, stride)
            dx[:, sy, sx, :] += (g2 @ wr[i, j]).reshape(n, ho, wo, c)
    dx = dx[:, padding : padding + h, padding : padding + w, :]
    return xp.ascontiguousarray(dx.transpose(0, 3, 1, 2))


def weight_matrix(w: Any) -> Any:
    """``(out, C, kh, kw)`` weights as the ``(out, kh*kw*C)`` matrix matching :func:`im2col`."""
    return w.transpose(0, 2, 3, 1).reshape(w.shape[0], -1)


def weight_from_matrix(m: Any, shape: tuple[int, ...]) -> Any:
    """Inverse of :func:`weight_matrix` (for gradients)."""
    o, c, kh, kw = shape
    return m.reshape(o, kh, kw, c).transpose(0, 3, 1, 2)
