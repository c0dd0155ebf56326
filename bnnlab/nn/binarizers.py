r"""Binarizer registry: string aliases for weight and activation binarizers.

A binarizer maps a float array to its binary forward value and back-propagates a documented
*pseudo-gradient* (the derivative of :math:`\operatorname{sign}` is zero almost everywhere, so every
binarizer states what it uses instead). All of them follow one interface:

``forward(x) -> (out, cache)``
    the forward value (same shape and dtype as ``x``) and what the backward needs;
``backward(grad, cache) -> grad_x``
    the pseudo-gradient with respect to ``x``;
``set_epoch(epoch, epochs)``
    hook for schedules (IR-Net's EDE, SiMaN's clip);
``update_latent(w) -> w or None``
    weight binarizers only: an in-place style rewrite of the latent weights done by the layer before
    each training forward (SiMaN's percentile clip); ``None`` means "leave them alone".

Weight binarizers receive the weights as a 2-D array ``(out_channels, fan_in)``: per-channel
statistics are per row. Activation binarizers receive the activations with the batch on axis 0.

**Sign tie rule.** Every sign taken here (the forward of ``ste_sign``, ``approx_sign``, ``xnor``,
``irnet`` and ``siman_act``, and the sign inside ``siman``'s clip and backward) has
:math:`\operatorname{sign}(0) = +1`, ``-0.0`` included: :func:`bnnlab.signs.sign` with
``zero="plus"``, in the dtype of its input, so a binarized value is always :math:`\pm1` (times a
scale for ``xnor`` and ``irnet``). ``siman``'s forward is no sign but a median split of the
magnitudes (a magnitude equal to the median gives −1). This is *not* the only rule in bnnlab: the
local-binary learner's hidden weights and pre-activations default to
:math:`\operatorname{sign}(0) = 0` (``zero="zero"``,
:attr:`bnnlab.learn.LocalBinaryConfig.sign_zero`); :mod:`bnnlab.signs` says which rule each part of
bnnlab uses.

=============  ==========  ===========================================================
alias          applies to  forward / pseudo-gradient (details in each class)
=============  ==========  ===========================================================
``ste_sign``   both        sign; :math:`g\,1\{|x|\le 1\}` (clipped STE)
``approx_sign`` both       sign; :math:`g\max(0, 2-2|x|)` (Bi-Real Net)
``xnor``       weight      :math:`\alpha_r\operatorname{sign}(w)`, :math:`\alpha_r` = mean abs
``irnet``      weight      sign of balanced, standardised w, times :math:`2^{\mathrm{round}\log_2}`
``siman``      weight      :math:`2\,1[|\hat w| > \mathrm{median}] - 1`, identity STE into :math:`|\hat w|`
``siman_act``  activation  sign of per-sample standardised x; :math:`g\max(0, 2-|2\hat x|)`
``stochastic_sign`` weight +1 w.p. :math:`\mathrm{clip}((w+1)/2, 0, 1)` (BinaryConnect), seeded
=============  ==========  ===========================================================

Examples
--------
>>> from bnnlab.nn import binarizers
>>> binarizers.available()
['approx_sign', 'irnet', 'siman', 'siman_act', 'ste_sign', 'stochastic_sign', 'xnor']
>>> b = binarizers.get("ste_sign")()
"""

from __future__ import annotations

from typing import Any, ClassVar

from bnnlab._registry import Registry

BINARIZERS = Registry("binarizer")


class Binarizer:
    """Base class of all binarizers (see the module docstring for the interface)."""

    alias: ClassVar[str] = ""
    #: ``"weight"``, ``"activation"`` or ``"both"``
    role: ClassVar[str] = "both"

    def forward(self, x: Any) -> tuple[Any, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, grad: Any, cache: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def set_epoch(self, epoch: int, epochs: int) -> None:
        """Schedule hook, called at the start of each epoch (0-based) out of ``epochs``."""

    def update_latent(self, w: Any) -> Any:
        """Rewrite of the latent weights before a training forward (default: none)."""
        return None

    def __call__(self, x: Any) -> Any:
        return self.forward(x)[0]

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def make(spec: Any, role: str) -> Binarizer | None:
    """Resolve ``spec`` (``None``, an alias, a Binarizer class or instance) for ``role``.

    Parameters
    ----------
    spec : None, str, type or Binarizer
        ``None`` means no binarization.
    role : {"weight", "activation"}
        Where it will be used; a binarizer registered for the other role is refused.
    """
    arg = {"weight": "weight_binarizer", "activation": "act_binarizer"}[role]
    if spec is None:
        return None
    if isinstance(spec, str):
        spec = BINARIZERS.get(spec)
    if isinstance(spec, type) and issubclass(spec, Binarizer):
        spec = spec()
    if not isinstance(spec, Binarizer):
        raise TypeError(
            f"{arg}: expected None, an alias, or a Binarizer, got {type(spec).__name__}"
        )
    if spec.role not in ("both", role):
        raise ValueError(
            f"{arg}: {type(spec).__name__} is a {spec.role} binarizer, not for {role}s"
        )
    return spec


BINARIZERS.register("ste_sign", "bnnlab.nn._sign_binarizers:SteSign")
BINARIZERS.register("approx_sign", "bnnlab.nn._sign_binarizers:ApproxSign")
BINARIZERS.register("xnor", "bnnlab.nn._sign_binarizers:XnorSign")
BINARIZERS.register("irnet", "bnnlab.nn._sign_binarizers:IRNetSign")
BINARIZERS.register("siman", "bnnlab.nn._siman:SiMaNWeight")
BINARIZERS.register("siman_act", "bnnlab.nn._siman:SiMaNActivation")
BINARIZERS.register("stochastic_sign", "bnnlab.nn._stochastic:StochasticSign")

get, available = BINARIZERS.bind()

__all__ = ["BINARIZERS", "Binarizer", "available", "get", "make"]
