r"""Dense and Conv2d layers with latent float weights and pluggable binarizers.

Forward of both (with :math:`q_w` the weight binarizer, :math:`q_a` the activation binarizer,
either of them possibly the identity, :math:`\alpha` the optional per-output-channel scale and
:math:`b` the optional bias):

.. math:: y = \alpha \odot \big(q_a(x) \ast q_w(W)\big) + b

where :math:`\ast` is :math:`x W^\top` for :class:`Dense` (``W`` of shape ``(out, in)``) and the
cross-correlation for :class:`Conv2d` (NCHW, ``W`` of shape ``(out, in, kh, kw)``, computed as
im2col + GEMM; zero padding is applied *after* the activation binarizer, as in PyTorch BNN code).

Backward: :math:`\partial L/\partial b = \sum g`,
:math:`\partial L/\partial\alpha = \sum g\odot(q_a(x)\ast q_w(W))` (over all but the channel axis),
then the usual GEMM gradients with respect to :math:`q_a(x)` and :math:`q_w(W)`, which the binarizers
map to :math:`x` and :math:`W` with their pseudo-gradients (:mod:`bnnlab.nn.binarizers`).

The learnable scale :math:`\alpha` is SiMaN's (REFERENCES.md §1.3 step 6): initialised to the mean
:math:`|W|` of each output filter of the initial latent weights.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bnnlab._validation import check_int, make_rng
from bnnlab._xp import namespace
from bnnlab.nn import binarizers as _bz
from bnnlab.nn._im2col import conv_input_grad, im2col, weight_from_matrix, weight_matrix
from bnnlab.nn._module import Layer
from bnnlab.nn.init import resolve


class _BinarizableLayer(Layer):
    """Shared parameter handling of Dense and Conv2d."""

    def __init__(
        self,
        shape: tuple[int, ...],
        *,
        bias: bool,
        weight_binarizer: Any,
        act_binarizer: Any,
        scale: bool,
        init: Any,
        seed: Any,
        dtype: Any,
    ):
        super().__init__()
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"dtype: expected a floating dtype, got {dtype}")
        rng = make_rng(seed)
        w = resolve(init)(shape, rng, dtype)
        self.weight_binarizer = _bz.make(weight_binarizer, "weight")
        self.act_binarizer = _bz.make(act_binarizer, "activation")
        tags = {"weight", "binarized"} if self.weight_binarizer is not None else {"weight"}
        self._add_param("weight", w, tags)
        self.out_channels = shape[0]
        if scale:
            alpha = np.abs(w.reshape(shape[0], -1)).mean(axis=1).astype(dtype)
            self._add_param("alpha", alpha, {"scale"})
        if bias:
            self._add_param("bias", np.zeros(shape[0], dtype=dtype), {"bias"})

    @property
    def binarized(self) -> bool:
        """Whether the weights are binarized."""
        return self.weight_binarizer is not None

    @property
    def weight(self) -> Any:
        """The latent float weights."""
        return self._params["weight"].data

    @weight.setter
    def weight(self, value: Any) -> None:
        p = self._params["weight"]
        if tuple(value.shape) != tuple(p.data.shape):
            raise ValueError(f"weight: expected shape {tuple(p.data.shape)}, got {value.shape}")
        p.data = value

    def binary_weight(self) -> Any:
        """The weight the forward pass uses (before α), from the current latent weights.

        Binary weights are ±1 (``siman``, ``ste_sign``, ``approx_sign``), ±α_r (``xnor``) or
        ±2^s (``irnet``); without a weight binarizer this is the latent weight itself.
        """
        if self.weight_binarizer is None:
            return self.weight
        w = self.weight
        return self.weight_binarizer.forward(w.reshape(w.shape[0], -1))[0].reshape(w.shape)

    def set_epoch(self, epoch: int, epochs: int) -> None:
        for b in (self.weight_binarizer, self.act_binarizer):
            if b is not None:
                b.set_epoch(epoch, epochs)

    # -- pieces used by forward/backward --------------------------------------------------------
    def _forward_weight(self, train: bool) -> tuple[Any, Any]:
        w = self.weight
        if self.weight_binarizer is None:
            return w, None
        w2 = w.reshape(w.shape[0], -1)
        if train:
            new = self.weight_binarizer.update_latent(w2)
            if new is not None:
                self.weight = new.reshape(w.shape).astype(w.dtype)
                w2 = self.weight.reshape(w.shape[0], -1)
        wb, cache = self.weight_binarizer.forward(w2)
        return wb.reshape(w.shape), cache

    def _backward_weight(self, gwb: Any, cache: Any) -> Any:
        if self.weight_binarizer is None:
            return gwb
        g2 = gwb.reshape(gwb.shape[0], -1)
        return self.weight_binarizer.backward(g2, cache).reshape(gwb.shape)

    def _forward_input(self, x: Any) -> tuple[Any, Any]:
        if self.act_binarizer is None:
            return x, None
        return self.act_binarizer.forward(x)

    def _backward_input(self, g: Any, cache: Any) -> Any:
        if self.act_binarizer is None:
            return g
        return self.act_binarizer.backward(g, cache)

    def _finish_forward(self, pre: Any, channel_shape: tuple[int, ...]) -> Any:
        out = pre
        if "alpha" in self._params:
            out = out * self._params["alpha"].data.reshape(channel_shape)
        if "bias" in self._params:
            out = out + self._params["bias"].data.reshape(channel_shape)
        return out

    def _finish_backward(self, g: Any, pre: Any, axes: tuple[int, ...]) -> Any:
        xp = namespace(g)
        if "bias" in self._params:
            self._params["bias"].grad = xp.sum(g, axis=axes)
        if "alpha" in self._params:
            alpha = self._params["alpha"]
            alpha.grad = xp.sum(g * pre, axis=axes)
            g = g * alpha.data.reshape([-1 if i == 1 else 1 for i in range(g.ndim)])
        return g

    def _describe(self) -> str:
        parts = []
        if self.weight_binarizer is not None:
            parts.append(f"weight_binarizer={self.weight_binarizer!r}")
        if self.act_binarizer is not None:
            parts.append(f"act_binarizer={self.act_binarizer!r}")
        parts.append(f"scale={'alpha' in self._params}, bias={'bias' in self._params}")
        return ", ".join(parts)


class Dense(_BinarizableLayer):
    """Fully connected layer ``(N, in) -> (N, out)`` with optional binarizers (see module doc).

    Parameters
    ----------
    in_features, out_features : int
    bias : bool
        Learnable bias (usually off before a BatchNorm).
    weight_binarizer, act_binarizer : None, alias, Binarizer class or instance
        ``None`` keeps the weights / inputs real-valued.
    scale : bool
        Learnable per-output α initialised to mean |W| of the row.
    init : alias or callable
        Initialiser of the latent weights (:mod:`bnnlab.nn.init`).
    seed : int or numpy.random.Generator
        For the initialisation (required: randomness is explicit).
    dtype : float dtype
        ``float32`` for training, ``float64`` for gradient checks.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        bias: bool = True,
        weight_binarizer: Any = None,
        act_binarizer: Any = None,
        scale: bool = False,
        init: Any = "he_normal",
        seed: Any,
        dtype: Any = np.float32,
    ):
        self.in_features = check_int(in_features, "in_features", minimum=1)
        self.out_features = check_int(out_features, "out_features", minimum=1)
        super().__init__(
            (self.out_features, self.in_features),
            bias=bias,
            weight_binarizer=weight_binarizer,
            act_binarizer=act_binarizer,
            scale=scale,
            init=init,
            seed=seed,
            dtype=dtype,
        )

    def forward(self, x: Any, train: bool) -> Any:
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"x: expected shape (N, {self.in_features}), got {tuple(x.shape)}")
        xb, acache = self._forward_input(x)
        wb, wcache = self._forward_weight(train)
        pre = xb @ wb.T
        self._cache = (xb, wb, pre, acache, wcache) if train else None
        return self._finish_forward(pre, (1, -1))

    def backward(self, grad: Any) -> Any:
        xb, wb, pre, acache, wcache = self._need_cache()
        g = self._finish_backward(grad, pre, (0,))
        self._params["weight"].factors = (xb, g)
        self._params["weight"].grad = self._backward_weight(g.T @ xb, wcache)
        if not self.input_grad:
            return None
        return self._backward_input(g @ wb, acache)

    def __repr__(self) -> str:
        return f"Dense({self.in_features}, {self.out_features}, {self._describe()})"


class Conv2d(_BinarizableLayer):
    """2-D convolution (cross-correlation), NCHW, square kernel, stride and zero padding.

    Parameters
    ----------
    in_channels, out_channels, kernel_size : int
    stride, padding : int
    bias, weight_binarizer, act_binarizer, scale, init, seed, dtype
        As for :class:`Dense`.

    Notes
    -----
    im2col gathers ``(N*Ho*Wo, k*k*C)`` columns with ``k*k`` strided copies, the forward is one
    GEMM with the ``(out, k*k*C)`` weight matrix; the backward's input gradient is ``k*k`` GEMMs
    added into strided slices (no loop over samples).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        *,
        stride: int = 1,
        padding: int = 0,
        bias: bool = True,
        weight_binarizer: Any = None,
        act_binarizer: Any = None,
        scale: bool = False,
        init: Any = "he_normal",
        seed: Any,
        dtype: Any = np.float32,
    ):
        self.in_channels = check_int(in_channels, "in_channels", minimum=1)
        oc = check_int(out_channels, "out_channels", minimum=1)
        self.kernel_size = check_int(kernel_size, "kernel_size", minimum=1)
        self.stride = check_int(stride, "stride", minimum=1)
        self.padding = check_int(padding, "padding", minimum=0)
        k = self.kernel_size
        super().__init__(
            (oc, self.in_channels, k, k),
            bias=bias,
            weight_binarizer=weight_binarizer,
            act_binarizer=act_binarizer,
            scale=scale,
            init=init,
            seed=seed,
            dtype=dtype,
        )

    def forward(self, x: Any, train: bool) -> Any:
        xp = namespace(x)
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"x: expected shape (N, {self.in_channels}, H, W), got {tuple(x.shape)}"
            )
        k, s, p = self.kernel_size, self.stride, self.padding
        if x.shape[2] + 2 * p < k or x.shape[3] + 2 * p < k:
            raise ValueError(f"x: spatial size {tuple(x.shape[2:])} smaller than the kernel {k}")
        xb, acache = self._forward_input(x)
        wb, wcache = self._forward_weight(train)
        cols, ho, wo = im2col(xb, k, k, s, p)
        w2 = weight_matrix(wb)
        out2 = cols @ w2.T
        pre = xp.ascontiguousarray(out2.reshape(x.shape[0], ho, wo, -1).transpose(0, 3, 1, 2))
        self._cache = (cols, w2, pre, x.shape, acache, wcache) if train else None
        return self._finish_forward(pre, (1, -1, 1, 1))

    def backward(self, grad: Any) -> Any:
        xp = namespace(grad)
        cols, w2, pre, x_shape, acache, wcache = self._need_cache()
        g = self._finish_backward(grad, pre, (0, 2, 3))
        g2 = xp.ascontiguousarray(g.transpose(0, 2, 3, 1)).reshape(-1, g.shape[1])
        self._params["weight"].factors = (cols, g2)
        # (cols.T @ g2).T is much faster than g2.T @ cols with numpy's BLAS dispatch
        gw = weight_from_matrix((cols.T @ g2).T, self.weight.shape)
        self._params["weight"].grad = xp.ascontiguousarray(self._backward_weight(gw, wcache))
        if not self.input_grad:
            return None
        k = self.kernel_size
        dxb = conv_input_grad(g2, w2, x_shape, k, k, self.stride, self.padding)
        return self._backward_input(dxb, acache)

    def __repr__(self) -> str:
        return (
            f"Conv2d({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, {self._describe()})"
        )
