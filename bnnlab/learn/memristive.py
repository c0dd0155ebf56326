r"""Memristive training: the binary-stochastic rule of Li et al. on ideal or emulated devices, and
its full-precision baseline (REFERENCES.md §4).

Both train the MLP ``n_features - layers - n_classes`` (784-500-200-10 by default) with logistic
hidden units :math:`z = 1/(1 + e^{-a y})`, :math:`a = 4`, a softmax output, a bias per unit (a
constant input 1 of every layer), Glorot-uniform initial weights, mini-batches of 100 and
:math:`\eta = 0.1`.

``binary-stochastic`` — the rule as the authors' code runs it (§4.1). Forward: the inputs (pixel
intensities in [0, 1]; ±1 codes are read as {0, 1}), the hidden outputs and the derivatives
:math:`a z(1 - z) \in [0, 1]` are replaced by Bernoulli samples in {0, 1}; the softmax outputs are
Bernoulli-sampled and :math:`\delta = s - \text{onehot} \in \{-1, 0, 1\}`. Backward: the hidden
error is :math:`\operatorname{sign}(\delta_{l+1} W_{l+1}^\top) \circ d_l` (sampled derivative).
The integer gradient :math:`\Delta W_l = x_l^\top \delta_l` (summed over the batch) is accumulated
in a high-precision buffer per weight; where :math:`|\text{buffer}| \ge \theta` (``threshold``, the
memristor code's 64), :math:`k = \operatorname{fix}(\text{buffer}/\theta)` signed unit steps are
applied — one *depressing* pulse per unit of a positive gradient — and :math:`k\theta` is taken off
the buffer, the remainder kept. Where the weights live (``weights``):

* ``"float"``: ideal float weights, :math:`W \leftarrow W - \eta\,\Delta W / B` every batch (no
  buffer: the high-precision limit of the rule);
* ``"integer"``: ideal integer levels, each unit step :math:`\eta\theta / B` (so the expected
  update equals the float one), clipped to ±1;
* any preset of :mod:`bnnlab.hardware.devices`: a :class:`~bnnlab.hardware.devices.DeviceArray`
  per layer, each unit step one pulse; the weights are read from the devices.

``hp-sgd`` — the same network trained in full precision (real activations, softmax cross-entropy,
plain SGD): the "HP" baseline the paper claims the binary-stochastic rule beats.

``pulsed-sgd`` — the standard analog-training baseline (aihwkit's pulsed update, Gokmen & Vlasov
2016): the network reads its weights from a device array per layer and computes the ordinary
gradient (the forward and backward passes themselves ideal); each sample's update
:math:`\Delta W = -\eta\, x\, \delta^\top` is written as stochastic coincident pulse trains of
length ``BL`` (``bit_length``, 31): input ``i`` fires in each of the BL slots with probability
:math:`p_i = \min(1, C_x|x_i|)`, error ``j`` with :math:`q_j = \min(1, C_\delta|\delta_j|)`, and
every slot where both fire is one pulse on device ``(i, j)`` in the direction of
:math:`-\operatorname{sign}(x_i\delta_j)`, so the expected change is
:math:`\eta|x_i\delta_j|`. Update management (aihwkit's default) balances the two trains:
:math:`C_x = \sqrt{\eta/(BL\,dw_{\min})\,m_\delta/m_x}`, :math:`C_\delta =
\sqrt{\eta/(BL\,dw_{\min})\,m_x/m_\delta}` with :math:`m` the sample's largest magnitudes.
Samples are applied one after another, as on the hardware.

Rows carry ``pulses`` (device or unit-step updates applied in the epoch) and ``at_bound``
(fraction of devices at a bound, mean over layers) besides the standard columns.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from typing import Any, ClassVar

import numba
import numpy as np

from bnnlab import _numba_cache
from bnnlab._config import Config, field
from bnnlab._rng import jsonable_rng_state
from bnnlab._validation import check_int, check_real
from bnnlab.hardware.devices import DEVICE_HELP
from bnnlab.learn.method import Method

_numba_cache.install()  # numba's disk cache, safe for processes compiling at once

__all__ = [
    "BinaryStochasticConfig",
    "BinaryStochasticMethod",
    "HPSGDConfig",
    "HPSGDMethod",
    "PulsedSGDConfig",
    "PulsedSGDMethod",
]

IDEAL = ("float", "integer")


def _device_choices() -> list[str]:
    from bnnlab.hardware import devices

    return devices.available()


def _weight_choices() -> list[str]:
    return [*IDEAL, *_device_choices()]


@dataclasses.dataclass(frozen=True)
class _MLPConfig(Config):
    layers: tuple[int, ...] = field((500, 200), "hidden widths, e.g. 500,200")
    lr: float = field(0.1, "learning rate")
    batch_size: int = field(100, "mini-batch size")
    gain: float = field(4.0, "logistic gain a of the hidden units")

    def __post_init__(self) -> None:
        layers = (self.layers,) if isinstance(self.layers, int) else tuple(self.layers)
        if not layers:
            raise ValueError("layers: expected at least one hidden width")
        object.__setattr__(self, "layers", tuple(check_int(h, "layers", minimum=1) for h in layers))
        check_real(self.lr, "lr", low=0.0, open_low=True)
        check_int(self.batch_size, "batch_size", minimum=1)
        check_real(self.gain, "gain", low=0.0, open_low=True)


@dataclasses.dataclass(frozen=True)
class HPSGDConfig(_MLPConfig):
    """Hyperparameters of the full-precision baseline."""


@dataclasses.dataclass(frozen=True)
class BinaryStochasticConfig(_MLPConfig):
    """Hyperparameters of the binary-stochastic rule (see the module docstring)."""

    weights: str = field("float", "where the weights live: float, integer or a device preset",
                         choices=_weight_choices)  # fmt: skip
    threshold: int = field(64, "accumulated integer gradient per unit step (pulse)")
    carry_every: int = field(0, "periodic carry between two devices every N batches (0: off)")
    noise_scale: float = field(1.0, "scale the preset's cycle-to-cycle noise (sweeps)")
    levels: int = field(0, "steps across the device's range (0: the preset's)")

    def __post_init__(self) -> None:
        super().__post_init__()
        from bnnlab._validation import check_choice

        check_choice(self.weights, "weights", _weight_choices())
        check_int(self.threshold, "threshold", minimum=1)
        check_int(self.carry_every, "carry_every", minimum=0)
        check_real(self.noise_scale, "noise_scale", low=0.0)
        check_int(self.levels, "levels", minimum=0)
        if self.weights in IDEAL and (self.carry_every or self.noise_scale != 1.0 or self.levels):
            raise ValueError(
                "carry_every, noise_scale, levels: apply to device presets, not to "
                f"weights={self.weights!r}"
            )

    def device_config(self) -> Any:
        """The preset of ``weights`` with the sweep overrides (``noise_scale``, ``levels``)."""
        from bnnlab.hardware import devices

        cfg = devices.preset(self.weights)
        if isinstance(cfg, devices.ExponentialDevice):
            over = {"gamma_up": cfg.gamma_up * self.noise_scale,
                    "gamma_down": cfg.gamma_down * self.noise_scale}  # fmt: skip
            if self.levels:
                over.update(n_up=self.levels if cfg.n_up else 0, n_down=self.levels)
        else:
            over = {"dw_min_std": cfg.dw_min_std * self.noise_scale}
            if self.levels:
                over["dw_min"] = (cfg.w_max - cfg.w_min) / self.levels
        return dataclasses.replace(cfg, **over)


@dataclasses.dataclass(frozen=True)
class PulsedSGDConfig(_MLPConfig):
    """Hyperparameters of SGD through devices with stochastic pulse trains."""

    device: str = field("ecram", DEVICE_HELP, choices=_device_choices)
    bit_length: int = field(31, "pulse-train length BL of the stochastic update")

    def __post_init__(self) -> None:
        super().__post_init__()
        from bnnlab._validation import check_choice

        check_choice(self.device, "device", _device_choices())
        check_int(self.bit_length, "bit_length", minimum=1)


@numba.njit(cache=True)
def _accumulate(buf, grad, threshold, k):  # pragma: no cover - compiled
    """``buf += grad``; ``k = fix(buf / threshold)``; ``buf -= k threshold`` in one pass."""
    b = buf.reshape(-1)
    g = grad.reshape(-1)
    out = k.reshape(-1)
    for i in range(b.size):
        v = b[i] + g[i]
        q = abs(v) // threshold
        if v < 0:
            q = -q
        out[i] = q
        b[i] = v - q * threshold


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # overflow-free logistic


def _softmax(y: np.ndarray) -> np.ndarray:
    e = np.exp(y - y.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _with_bias(x: np.ndarray) -> np.ndarray:
    return np.concatenate([x, np.ones((x.shape[0], 1), dtype=x.dtype)], axis=1)


class _MLPMethod(Method):
    """Shared network, evaluation and state of the two methods."""

    def __init__(
        self, config: Any, *, n_features: int, n_classes: int, seed: Any, backend: str = "auto"
    ):
        super().__init__(
            config, n_features=n_features, n_classes=n_classes, seed=seed, backend=backend
        )
        if backend not in ("auto", "numpy"):
            raise ValueError(f"backend: {self.alias} runs on numpy only, got {backend!r}")
        ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        init_ss, self._device_ss, shuffle_ss = ss.spawn(3)
        init = np.random.default_rng(init_ss)
        sizes = [self.n_features, *config.layers, self.n_classes]
        self.W: list[np.ndarray] = []
        for fan_in, fan_out in itertools.pairwise(sizes):
            limit = math.sqrt(6.0 / (fan_in + fan_out))
            w = init.uniform(-limit, limit, size=(fan_in + 1, fan_out))
            w[-1] = 0.0  # biases start at zero
            self.W.append(w)
        self.rng = np.random.default_rng(shuffle_ss)

    def _inputs(self, x: Any) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.min(initial=0.0) < 0:  # ±1 codes read as {0, 1}
            x = (x + 1.0) / 2.0
        if x.min(initial=0.0) < 0 or x.max(initial=0.0) > 1 or not np.isfinite(x).all():
            raise ValueError("x: expected intensities in [0, 1] or ±1 codes")
        return x

    def _weights(self) -> list[np.ndarray]:
        return self.W

    def _forward(self, x: np.ndarray) -> np.ndarray:
        a = self.config.gain
        h = x
        ws = self._weights()
        for w in ws[:-1]:
            h = _sigmoid(a * (_with_bias(h) @ w))
        return _with_bias(h) @ ws[-1]

    def evaluate(self, x: Any, y: Any) -> dict[str, float]:
        logits = self._forward(self._inputs(x))
        p = _softmax(logits)
        y = np.asarray(y)
        loss = float(-np.mean(np.log(np.maximum(p[np.arange(len(y)), y], 1e-300))))
        return {"test_accuracy": 100.0 * float((logits.argmax(axis=1) == y).mean()),
                "test_loss": loss}  # fmt: skip

    def predict(self, x: Any) -> Any:
        return self._forward(self._inputs(x)).argmax(axis=1).astype(np.int64)

    def binary_weights(self) -> dict[str, np.ndarray]:
        return {
            f"fc{i + 1}": np.where(w[:-1] >= 0, 1, -1).astype(np.int8).T
            for i, w in enumerate(self._weights())
        }

    def cost(self, n_train: int) -> dict[str, float]:
        """The paper's cost model (REFERENCES §2.6) of float32 SGD on the same MLP, as for the
        latent-weight methods: the emulation computes in floating point (an analog array's
        in-memory products are not modelled)."""
        from bnnlab.learn.local.cost import cost_report

        r = cost_report("local-binary", self.n_features, list(self.config.layers),
                        self.n_classes, batch_size=self.config.batch_size, n_train=n_train)  # fmt: skip
        return {"gates_per_epoch": float(r.gates_per_epoch[1]),
                "memory_bits": float(r.memory_bits[1])}  # fmt: skip

    def _batches(self, n: int):
        order = self.rng.permutation(n)
        b = self.config.batch_size
        for start in range(0, n, b):
            yield order[start : start + b]

    # -- state ---------------------------------------------------------------------------------
    def state_dict(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays = {f"W{i}": w.copy() for i, w in enumerate(self.W)}
        meta = {"config": self.config.to_dict(), "epoch": self.epoch,
                "rng": jsonable_rng_state(self.rng.bit_generator.state)}  # fmt: skip
        return arrays, meta

    def load_state_dict(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        for i, w in enumerate(self.W):
            a = arrays.get(f"W{i}")
            if a is None or a.shape != w.shape:
                raise ValueError(f"state: weights W{i} missing or of the wrong shape")
            self.W[i] = np.asarray(a, dtype=np.float64).copy()
        self.rng.bit_generator.state = meta["rng"]
        self.epoch = check_int(meta["epoch"], "epoch", minimum=0)
        self._previous = None


class HPSGDMethod(_MLPMethod):
    """Full-precision SGD of the same network (``bnnlab train hp-sgd``)."""

    alias = "hp-sgd"
    description = "full-precision SGD of the logistic MLP: the HP baseline of binary-stochastic"
    config_class: ClassVar[type] = HPSGDConfig

    def fit_epoch(self, x: Any, y: Any) -> dict[str, float]:
        x = self._inputs(x)
        y = np.asarray(y)
        a, lr = self.config.gain, self.config.lr
        correct, loss_sum = 0, 0.0
        for idx in self._batches(len(y)):
            hs = [_with_bias(x[idx])]
            for w in self.W[:-1]:
                hs.append(_with_bias(_sigmoid(a * (hs[-1] @ w))))
            logits = hs[-1] @ self.W[-1]
            p = _softmax(logits)
            yb = y[idx]
            correct += int((logits.argmax(axis=1) == yb).sum())
            loss_sum += float(-np.log(np.maximum(p[np.arange(len(yb)), yb], 1e-300)).sum())
            delta = p.copy()
            delta[np.arange(len(yb)), yb] -= 1.0
            for layer in range(len(self.W) - 1, -1, -1):
                grad = hs[layer].T @ delta / len(yb)
                if layer > 0:
                    z = hs[layer][:, :-1]
                    delta = (delta @ self.W[layer][:-1].T) * a * z * (1.0 - z)
                self.W[layer] -= lr * grad
        return {"train_accuracy": 100.0 * correct / len(y), "train_loss": loss_sum / len(y)}


class BinaryStochasticMethod(_MLPMethod):
    """Li et al.'s binary-stochastic rule (``bnnlab train binary-stochastic``)."""

    alias = "binary-stochastic"
    description = "binary-stochastic learning (Li et al.) on float, integer or emulated devices"
    config_class: ClassVar[type] = BinaryStochasticConfig

    def __init__(self, config: Any, **kw: Any):
        super().__init__(config, **kw)
        self.buffers = [np.zeros(w.shape, dtype=np.int64) for w in self.W]
        self.arrays: list[Any] | None = None
        self.pulses = 0
        cfg = self.config
        if cfg.weights not in IDEAL:
            from bnnlab.hardware import devices

            preset = cfg.device_config()
            seeds = self._device_ss.spawn(len(self.W))
            if cfg.carry_every:
                if not isinstance(preset, devices.PulsedDevice):
                    raise ValueError(
                        "carry_every: the carry pair needs a pulsed (aihwkit-style) preset, "
                        f"not {cfg.weights!r}"
                    )
                self.arrays = [
                    devices.CarryPair(preset, preset, w.shape, carry_every=cfg.carry_every,
                                      seed=s, initial=w)
                    for w, s in zip(self.W, seeds, strict=True)
                ]  # fmt: skip
            else:
                self.arrays = [
                    devices.DeviceArray(preset, w.shape, seed=s, initial=w)
                    for w, s in zip(self.W, seeds, strict=True)
                ]

    @property
    def unit_step(self) -> float:
        """Weight change of one unit step with ideal integer weights, :math:`\\eta\\theta/B`."""
        return self.config.lr * self.config.threshold / self.config.batch_size

    def _weights(self) -> list[np.ndarray]:
        if self.arrays is None:
            return self.W
        return [a.values() for a in self.arrays]

    def gradients(self, x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> list:
        """Integer gradients :math:`\\Delta W_l = x_l^\\top\\delta_l` of one batch (the rule of
        the module docstring), drawing every Bernoulli sample from ``rng`` in a fixed order: the
        input, then per hidden layer its output and its derivative, then the softmax output."""
        a = self.config.gain
        ws = self._weights()
        h = (rng.random(x.shape) < x).astype(np.float64)
        xs, ds = [_with_bias(h)], []
        for w in ws[:-1]:
            z = _sigmoid(a * (xs[-1] @ w))
            zs = (rng.random(z.shape) < z).astype(np.float64)
            d = (rng.random(z.shape) < a * z * (1.0 - z)).astype(np.float64)
            xs.append(_with_bias(zs))
            ds.append(d)
        p = _softmax(xs[-1] @ ws[-1])
        s = (rng.random(p.shape) < p).astype(np.float64)
        delta = s
        delta[np.arange(len(y)), y] -= 1.0
        grads = [None] * len(ws)
        for layer in range(len(ws) - 1, -1, -1):
            grads[layer] = np.rint(xs[layer].T @ delta).astype(np.int64)
            if layer > 0:
                delta = np.sign(delta @ ws[layer][:-1].T) * ds[layer - 1]
        return grads

    def _apply(self, layer: int, grad: np.ndarray) -> int:
        cfg = self.config
        if cfg.weights == "float":
            self.W[layer] -= cfg.lr * grad / cfg.batch_size
            return int(np.count_nonzero(grad))
        buf = self.buffers[layer]
        k = np.empty_like(buf)
        _accumulate(buf, np.ascontiguousarray(grad, dtype=buf.dtype), cfg.threshold, k)
        if cfg.weights == "integer":
            self.W[layer] = np.clip(self.W[layer] - k * self.unit_step, -1.0, 1.0)
        else:
            self.arrays[layer].apply_pulses(-k)  # a positive gradient depresses
        return int(np.abs(k).sum())

    def fit_epoch(self, x: Any, y: Any) -> dict[str, float]:
        x = self._inputs(x)
        y = np.asarray(y)
        correct = 0
        pulses = 0
        for idx in self._batches(len(y)):
            logits = self._forward(x[idx])
            correct += int((logits.argmax(axis=1) == y[idx]).sum())
            grads = self.gradients(x[idx], y[idx], self.rng)
            for layer, g in enumerate(grads):
                pulses += self._apply(layer, g)
        self.pulses = pulses
        return {"train_accuracy": 100.0 * correct / len(y)}

    def cost(self, n_train: int) -> dict[str, float]:
        at = (
            float(np.mean([a.fraction_at_bound() for a in self.arrays]))
            if self.arrays is not None
            else float(np.mean([np.mean(np.abs(w) >= 1.0) for w in self.W]))
        )
        return {**super().cost(n_train), "pulses": float(self.pulses), "at_bound": at}

    def state_dict(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays, meta = super().state_dict()
        arrays.update({f"buffer{i}": b.copy() for i, b in enumerate(self.buffers)})
        if self.arrays is not None:
            from bnnlab.hardware.devices import save_states

            dev_arrays, meta["devices"] = save_states(self.arrays)
            arrays.update(dev_arrays)
        meta["pulses"] = self.pulses
        return arrays, meta

    def load_state_dict(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        super().load_state_dict(arrays, meta)
        for i in range(len(self.buffers)):
            self.buffers[i] = np.asarray(arrays[f"buffer{i}"], dtype=np.int64).copy()
        if self.arrays is not None:
            from bnnlab.hardware.devices import load_states

            load_states(self.arrays, arrays, meta["devices"])
        self.pulses = int(meta.get("pulses", 0))


class PulsedSGDMethod(_MLPMethod):
    """SGD applied through emulated devices with stochastic coincident pulse trains
    (``bnnlab train pulsed-sgd``)."""

    alias = "pulsed-sgd"
    description = "SGD through emulated devices with stochastic pulse trains (aihwkit's update)"
    config_class: ClassVar[type] = PulsedSGDConfig

    def __init__(self, config: Any, **kw: Any):
        super().__init__(config, **kw)
        from bnnlab.hardware import devices

        self.preset = devices.preset(config.device)
        seeds = self._device_ss.spawn(len(self.W) + 1)
        self.arrays = [
            devices.DeviceArray(self.preset, w.shape, seed=s, initial=w)
            for w, s in zip(self.W, seeds[:-1], strict=True)
        ]
        self.pulse_rng = np.random.default_rng(seeds[-1])
        self.pulses = 0
        self.dw = float(getattr(self.preset, "dw_min", 0.0)) or 1.0 / max(
            getattr(self.preset, "n_up", 1), getattr(self.preset, "n_down", 1), 1
        )

    def _weights(self) -> list[np.ndarray]:
        return [a.values() for a in self.arrays]

    def coincidences(self, x: np.ndarray, d: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Signed pulse counts of one sample's update ``-lr x d^T`` (module docstring)."""
        cfg = self.config
        bl = cfg.bit_length
        mx, md = float(np.abs(x).max()), float(np.abs(d).max())
        if mx == 0.0 or md == 0.0:
            return np.zeros((x.size, d.size), dtype=np.int64)
        base = cfg.lr / (bl * self.dw)
        cx, cd = math.sqrt(base * md / mx), math.sqrt(base * mx / md)
        fx = rng.random((bl, x.size)) < np.minimum(1.0, cx * np.abs(x))
        fd = rng.random((bl, d.size)) < np.minimum(1.0, cd * np.abs(d))
        counts = fx.T.astype(np.int64) @ fd.astype(np.int64)
        return -counts * np.sign(x)[:, None].astype(np.int64) * np.sign(d)[None, :].astype(np.int64)

    def fit_epoch(self, x: Any, y: Any) -> dict[str, float]:
        x = self._inputs(x)
        y = np.asarray(y)
        a = self.config.gain
        correct, loss_sum, pulses = 0, 0.0, 0
        for idx in self._batches(len(y)):
            ws = self._weights()
            hs = [_with_bias(x[idx])]
            for w in ws[:-1]:
                hs.append(_with_bias(_sigmoid(a * (hs[-1] @ w))))
            logits = hs[-1] @ ws[-1]
            p = _softmax(logits)
            yb = y[idx]
            correct += int((logits.argmax(axis=1) == yb).sum())
            loss_sum += float(-np.log(np.maximum(p[np.arange(len(yb)), yb], 1e-300)).sum())
            delta = p.copy()
            delta[np.arange(len(yb)), yb] -= 1.0
            deltas = [None] * len(ws)
            for layer in range(len(ws) - 1, -1, -1):
                deltas[layer] = delta / len(yb)  # the batch-mean gradient, sample by sample
                if layer > 0:
                    z = hs[layer][:, :-1]
                    delta = (delta @ ws[layer][:-1].T) * a * z * (1.0 - z)
            for s in range(len(yb)):
                for layer, arr in enumerate(self.arrays):
                    k = self.coincidences(hs[layer][s], deltas[layer][s], self.pulse_rng)
                    arr.apply_pulses(k)
                    pulses += int(np.abs(k).sum())
        self.pulses = pulses
        return {"train_accuracy": 100.0 * correct / len(y), "train_loss": loss_sum / len(y)}

    def cost(self, n_train: int) -> dict[str, float]:
        at = float(np.mean([arr.fraction_at_bound() for arr in self.arrays]))
        return {**super().cost(n_train), "pulses": float(self.pulses), "at_bound": at}

    def state_dict(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        from bnnlab.hardware.devices import save_states

        arrays, meta = super().state_dict()
        dev_arrays, meta["devices"] = save_states(self.arrays)
        arrays.update(dev_arrays)
        meta["pulse_rng"] = jsonable_rng_state(self.pulse_rng.bit_generator.state)
        meta["pulses"] = self.pulses
        return arrays, meta

    def load_state_dict(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        from bnnlab.hardware.devices import load_states

        super().load_state_dict(arrays, meta)
        load_states(self.arrays, arrays, meta["devices"])
        self.pulse_rng.bit_generator.state = meta["pulse_rng"]
        self.pulses = int(meta.get("pulses", 0))
