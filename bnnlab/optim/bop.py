r"""Bop: the binary optimiser without latent weights (flip on a moving average of the gradient)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bnnlab._validation import check_choice, check_real
from bnnlab._xp import namespace
from bnnlab.optim._binary import BinaryOptimizer, Selector
from bnnlab.signs import signed

Hyper = float | Callable[[int], float]


class Bop(BinaryOptimizer):
    r"""Bop: binary weights flipped when the gradient's moving average pushes them hard enough.

    The binary parameters hold :math:`w \in \{-1, +1\}` themselves (no latent weights). For each
    of them, with gradient :math:`g`, adaptivity rate :math:`\gamma` and threshold :math:`\tau`,
    the moving average starting at :math:`m_0 = 0`:

    .. math::
        m \leftarrow m + \gamma\,(g - m) = (1-\gamma)\,m + \gamma\,g,\qquad
        w \leftarrow \begin{cases} -w & w\,m > \tau \\ w & \text{otherwise.} \end{cases}

    A weight flips when the (smoothed) gradient has the weight's sign, i.e. points to the other
    value, by more than :math:`\tau`; exactly at :math:`w m = \tau` it does not flip. (larq
    computes :math:`\operatorname{sign}(-\operatorname{sign}(wm - \tau)\,w)` with its
    :math:`\operatorname{sign}(0) = +1`, which sets :math:`w = +1` at the equality; bnnlab keeps
    :math:`w` there.) Defaults are larq's: :math:`\gamma = 10^{-4}`, :math:`\tau = 10^{-8}`.

    Every other parameter (BatchNorm, scales, biases, real first/last layers) is trained by the
    inner optimiser, built here on those parameters only, with their groups' ``weight_decay`` and
    ``lr_scale``; ``lr`` and :meth:`set_lr` (the schedule) are its learning rate (larq's
    ``CaseOptimizer(Bop, default_optimizer=Adam(0.01))``: ``inner="adam"``, ``lr=0.01`` here).
    Bop itself has no learning rate: ``lr_scale`` does not affect the binary parameters, and
    weight decay on them is refused (they cannot shrink).

    **Schedules.** ``gamma`` and ``threshold`` are numbers or callables ``step -> value``
    evaluated at every step with the number of Bop steps already taken (0, 1, ...), as larq
    evaluates a Keras schedule at ``iterations``; :meth:`set_gamma` and :meth:`set_threshold` set a
    new value (a number or a callable) at any time, e.g. once per epoch from a training loop.

    **Binarizers.** The layer's weight binarizer sees :math:`\pm1`: ``"ste_sign"`` (identity in the
    forward, gradient passed since :math:`|w| \le 1`) or no binarizer. ``"approx_sign"`` would give
    zero gradient at :math:`\pm1`, and ``"siman"``/``"irnet"`` rescale the weights.

    Parameters
    ----------
    params : Layer, list of Parameter, or list of group dicts
        As :class:`~bnnlab.optim.Optimizer`.
    lr : float
        Base learning rate of the inner optimiser (default 0.01).
    gamma : float or callable ``step -> float``
        Adaptivity rate :math:`\gamma \in (0, 1]`.
    threshold : float or callable ``step -> float``
        Flip threshold :math:`\tau \ge 0`.
    inner : str or Optimizer subclass
        The optimiser of the non-binary parameters (default ``"adam"``).
    inner_kwargs : mapping, optional
        Its other arguments.
    weight_decay : float
        Default ℓ2 of groups that do not give one; must be 0 for groups holding binary
        parameters (``param_groups(model, wd, no_decay=("binarized",))``).
    binary : str or callable
        Which parameters are binary: a tag (default ``"binarized"``) or a predicate.
    init : {"check", "sign"}
        ``"check"`` (default): every binary parameter must already hold only :math:`\pm1`
        (``ValueError`` naming the first that does not); ``"sign"``: replace them in place by their
        sign (:math:`\operatorname{sign}(0) = +1`), e.g. from a real-valued initialisation.

    Examples
    --------
    >>> from bnnlab import nn, optim
    >>> model = nn.binary_mlp(16, (32,), 4, seed=0)
    >>> groups = optim.param_groups(model, 0.0)
    >>> opt = optim.get("bop")(groups, lr=0.01, gamma=1e-3, threshold=1e-6, init="sign")

    References
    ----------
    Helwegen, Widdicombe, Geiger, Liu, Cheng, Nusselder, "Latent Weights Do Not Exist: Rethinking
    Binarized Neural Network Optimization", NeurIPS 2019, Algorithm 1; larq ``larq.optimizers.Bop``.
    """

    _inner_gets_binary = False

    def __init__(
        self,
        params: Any,
        lr: float = 0.01,
        *,
        gamma: Hyper = 1e-4,
        threshold: Hyper = 1e-8,
        inner: Any = "adam",
        inner_kwargs: Mapping[str, Any] | None = None,
        weight_decay: float = 0.0,
        binary: Selector = "binarized",
        init: str = "check",
    ):
        check_choice(init, "init", ("check", "sign"))
        self.set_gamma(gamma)
        self.set_threshold(threshold)
        super().__init__(
            params, lr, weight_decay, binary=binary, inner=inner, inner_kwargs=inner_kwargs
        )
        for name, p, g in self._binary_items():
            if g["weight_decay"]:
                raise ValueError(
                    f"weight_decay: binary parameter {name!r} is in a group with weight_decay="
                    f"{g['weight_decay']}; Bop's ±1 weights cannot decay (use "
                    "param_groups(model, wd, no_decay=('binarized',)))"
                )
            xp = namespace(p.data)
            if init == "sign":
                p.data[...] = signed(p.data, "plus", p.data.dtype)
            elif not bool(xp.all(xp.abs(p.data) == 1)):
                raise ValueError(
                    f"params: binary parameter {name!r} holds values other than ±1; Bop has no "
                    "latent weights (binarise them first, or pass init='sign')"
                )

    @staticmethod
    def _check_hyper(value: Hyper, name: str) -> Hyper:
        if callable(value):
            return value
        if name == "gamma":
            return check_real(value, "gamma", low=0.0, high=1.0, open_low=True)
        return check_real(value, "threshold", low=0.0)

    def set_gamma(self, gamma: Hyper) -> None:
        r"""Set the adaptivity rate :math:`\gamma \in (0, 1]` (a number or ``step -> float``)."""
        self.gamma = self._check_hyper(gamma, "gamma")

    def set_threshold(self, threshold: Hyper) -> None:
        r"""Set the flip threshold :math:`\tau \ge 0` (a number or ``step -> float``)."""
        self.threshold = self._check_hyper(threshold, "threshold")

    def current(self) -> tuple[float, float]:
        r"""``(γ, τ)`` that the next step uses (schedules evaluated at the current step count)."""
        gamma = self.gamma(self.steps) if callable(self.gamma) else self.gamma
        tau = self.threshold(self.steps) if callable(self.threshold) else self.threshold
        if callable(self.gamma):
            gamma = check_real(gamma, "gamma", low=0.0, high=1.0, open_low=True)
        if callable(self.threshold):
            tau = check_real(tau, "threshold", low=0.0)
        return gamma, tau

    def _binary_step(self) -> None:
        gamma, tau = self.current()
        for _, p, _ in self._binary_items():
            if p.grad is None:
                continue
            xp = namespace(p.data)
            state = self.state.setdefault(id(p), {})
            m = state.get("m")
            m = gamma * p.grad if m is None else m + gamma * (p.grad - m)
            state["m"] = m
            flip = p.data * m > tau
            p.data[...] = xp.where(flip, -p.data, p.data)

    def __repr__(self) -> str:
        return (
            f"Bop(gamma={self.gamma!r}, threshold={self.threshold!r}, lr={self.lr}, "
            f"inner={self.inner!r})"
        )
