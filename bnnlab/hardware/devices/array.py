r"""Arrays of emulated devices: device-to-device parameters drawn once from a seed, cycle-to-cycle
noise drawn per pulse (the models are in :mod:`bnnlab.hardware.devices.config`).

:class:`DeviceArray` takes signed integer pulse counts per device — device ``d`` receives
``|counts[d]|`` pulses one after another, potentiating for a positive count — and reads weights.
Pulses are applied in rounds: round ``p`` pulses every device with ``|count| > p`` once, so the
work is vectorised over devices and a device's pulses stay in order. It reports the pulses applied
so far and the fraction of devices at a bound. :class:`CarryPair` adds periodic carry between a
low- and a high-significance array (Agarwal et al., VLSI 2017).

Random streams: ``SeedSequence(seed).spawn(2)`` — the first draws the device-to-device
parameters at construction (in a fixed order, so the same seed gives the same devices), the second
the cycle-to-cycle noise, write and read noise as the array is used; :meth:`DeviceArray.state_dict`
holds both states, so a run resumes exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bnnlab._rng import jsonable_rng_state
from bnnlab._validation import as_array, check_int, check_real
from bnnlab.hardware.devices.config import (
    ExponentialDevice,
    ExpStep,
    LinearStep,
    PowStep,
    PulsedDevice,
)

__all__ = ["CarryPair", "DeviceArray", "load_states", "save_states"]


def _gauss(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.standard_normal(shape)


def _draw_pulsed(cfg: PulsedDevice, shape: tuple[int, ...], rng: np.random.Generator) -> dict:
    """aihwkit's ``PulsedRPUDevice::populate`` (and the model-specific draws), vectorised."""
    w_max = cfg.w_max * (1 + cfg.w_max_dtod * _gauss(rng, shape))
    w_min = cfg.w_min * (1 + cfg.w_min_dtod * _gauss(rng, shape))
    gain = 1.0 + cfg.dw_min_dtod * _gauss(rng, shape)
    r = cfg.up_down_dtod * _gauss(rng, shape)
    up_bias = 0.0 if cfg.up_down > 0 else cfg.up_down
    down_bias = -cfg.up_down if cfg.up_down > 0 else 0.0
    s_up = (up_bias + gain + r) * cfg.dw_min
    s_down = (down_bias + gain - r) * cfg.dw_min
    if cfg.enforce_consistency:
        s_up, s_down = np.abs(s_up), np.abs(s_down)
        lo, hi = np.minimum(w_min, w_max), np.maximum(w_min, w_max)
        w_max, w_min = np.abs(hi), -np.abs(lo)
    else:
        m = np.where(w_min > w_max, w_max + (w_min - w_max) / 2, np.nan)
        w_max = np.where(np.isnan(m), w_max, m)
        w_min = np.where(np.isnan(m), w_min, m)
    reset = cfg.reset + cfg.reset_dtod * _gauss(rng, shape)
    p = {"w_max": w_max, "w_min": w_min, "s_up": s_up, "s_down": s_down, "reset": reset}
    if isinstance(cfg, LinearStep):
        g_up = cfg.gamma_up + cfg.gamma_up_dtod * _gauss(rng, shape)
        g_down = cfg.gamma_down + cfg.gamma_down_dtod * _gauss(rng, shape)
        if not cfg.allow_increasing:
            g_up, g_down = np.abs(g_up), np.abs(g_down)
        ref_up = cfg.w_max if cfg.mean_bound_reference else w_max
        ref_down = cfg.w_min if cfg.mean_bound_reference else w_min
        p["m_up"] = np.where(ref_up != 0, -g_up * s_up / np.where(ref_up != 0, ref_up, 1), 0.0)
        p["m_down"] = np.where(
            ref_down != 0, -g_down * s_down / np.where(ref_down != 0, ref_down, 1), 0.0
        )
    if isinstance(cfg, PowStep):
        gain = 1.0 + cfg.pow_gamma_dtod * _gauss(rng, shape)
        r = cfg.pow_up_down_dtod * _gauss(rng, shape)
        ub = 0.0 if cfg.pow_up_down > 0 else cfg.pow_up_down
        db = -cfg.pow_up_down if cfg.pow_up_down > 0 else 0.0
        p["p_up"] = (ub + gain + r) * cfg.pow_gamma
        p["p_down"] = (db + gain - r) * cfg.pow_gamma
        if cfg.enforce_consistency:
            p["p_up"], p["p_down"] = np.abs(p["p_up"]), np.abs(p["p_down"])
    return p


def _draw_exponential(cfg: ExponentialDevice, shape, rng) -> dict:
    g_min = cfg.g_min * (1 + cfg.dtod * _gauss(rng, shape))
    g_max = cfg.g_max * (1 + cfg.dtod * _gauss(rng, shape))
    lo, hi = np.minimum(g_min, g_max), np.maximum(g_min, g_max)
    return {"g_min": np.maximum(lo, 0.0), "g_max": hi}


def _step_pulsed(cfg, p, w, up, xi, idx):
    """New weights of the devices ``idx`` (flat indices) after one pulse each (``up``: bool)."""
    noise = 1.0 + cfg.dw_min_std * xi
    s_up, s_down = p["s_up"][idx], p["s_down"][idx]
    hi, lo = p["w_max"][idx], p["w_min"][idx]
    if isinstance(cfg, LinearStep):
        m_up, m_down = p["m_up"][idx], p["m_down"][idx]
        if cfg.mult_noise:
            d_up = (m_up * w + s_up) * noise
            d_down = (m_down * w + s_down) * noise
        else:
            d_up = m_up * w + s_up * noise
            d_down = m_down * w + s_down * noise
        new = np.where(up, w + d_up, w - d_down)
    elif isinstance(cfg, ExpStep):
        diff = hi - lo
        ok = diff > 0
        z = 2.0 * w / np.where(ok, diff, 1.0) * cfg.a + cfg.b
        y_up = np.maximum(1.0 - cfg.A_up * np.exp(cfg.gamma_up * z), 0.0)
        y_down = np.maximum(1.0 - cfg.A_down * np.exp(cfg.gamma_down * (-z)), 0.0)
        if cfg.dw_min_std_add > 0 or cfg.dw_min_std_slope > 0:
            dw = np.where(up, y_up * s_up, -y_down * s_down)
            std = cfg.dw_min_std * (
                np.abs(dw) + cfg.dw_min_std_add + cfg.dw_min_std_slope * np.abs(w)
            )
            new = w + dw + std * xi
        else:
            new = np.where(up, w + y_up * noise * s_up, w - y_down * noise * s_down)
        new = np.where(ok, new, w)
    elif isinstance(cfg, PowStep):
        rng_ = hi - lo
        ok = rng_ > 0
        safe = np.where(ok, rng_, 1.0)
        d_up = s_up * np.power(np.maximum(hi - w, 0.0) / safe, p["p_up"][idx]) * noise
        d_down = s_down * np.power(np.maximum(w - lo, 0.0) / safe, p["p_down"][idx]) * noise
        new = np.where(ok, np.where(up, w + d_up, w - d_down), w)
    else:  # constant step
        new = np.where(up, w + s_up * noise, w - s_down * noise)
    return np.minimum(np.maximum(new, lo), hi)


def _exp_delta(g, g_lo, g_hi, n, alpha, gamma, xi, towards_max):
    """One pulse of Li et al.'s model: the increase of G (towards ``g_hi``) or of ``g_hi - G``."""
    r = g_hi - g_lo
    if n == 0:  # abrupt switching: one pulse reaches the bound
        return r
    if alpha == 0:
        step = r / n
    else:
        dist = (g - g_lo) if towards_max else (g_hi - g)
        step = (r / (1.0 - np.exp(-alpha)) - dist) * (1.0 - np.exp(-alpha / n))
    return step * (1.0 + gamma * xi)


class DeviceArray:
    """An array of emulated devices (see the module docstring).

    Parameters
    ----------
    config : PulsedDevice subclass or ExponentialDevice
        The device model (e.g. :func:`bnnlab.hardware.devices.preset`).
    shape : tuple of int
    seed : int or SeedSequence
        Device-to-device draws and the cycle-to-cycle stream (required).
    initial : array, optional
        Initial weights (clipped into each device's range); default each device's reset value
        (pulsed models) or ``w = 0`` (exponential, reference mapping; both conductances at
        ``g_min`` for the differential pair).
    """

    def __init__(self, config: Any, shape: Any, *, seed: Any, initial: Any = None):
        if not isinstance(config, PulsedDevice | ExponentialDevice):
            raise TypeError(
                f"config: expected a device configuration (bnnlab.hardware.devices), "
                f"got {type(config).__name__}"
            )
        if isinstance(shape, int | np.integer):
            shape = (int(shape),)
        self.shape = tuple(check_int(s, "shape", minimum=1) for s in shape)
        if seed is None:
            raise ValueError("seed: device arrays draw random numbers; pass an explicit seed")
        ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        dtod, ctoc = ss.spawn(2)
        self.config = config
        draw_rng = np.random.default_rng(dtod)
        if isinstance(config, ExponentialDevice):
            self.params = _draw_exponential(config, self.shape, draw_rng)
            if config.mapping == "differential":
                self.params.update(
                    {
                        f"{k}_neg": v
                        for k, v in _draw_exponential(config, self.shape, draw_rng).items()
                    }
                )
        else:
            self.params = _draw_pulsed(config, self.shape, draw_rng)
        self.rng = np.random.default_rng(ctoc)
        self.pulses_applied = 0
        self.reset(initial)

    # -- state ---------------------------------------------------------------------------------
    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def reset(self, weights: Any = None) -> None:
        """Set every device to ``weights`` (clipped into range) or to its reset value."""
        cfg = self.config
        if isinstance(cfg, ExponentialDevice):
            p = self.params
            self.g = p["g_min"].copy()
            self.g_neg = p["g_min_neg"].copy() if cfg.mapping == "differential" else None
            if weights is None:
                weights = np.zeros(self.shape)
            self._set_exponential(self._check_weights(weights))
        else:
            if weights is None:
                w = self.params["reset"] + cfg.reset_std * _gauss(self.rng, self.shape)
            else:
                w = self._check_weights(weights)
            self.w = np.clip(w, self.params["w_min"], self.params["w_max"])
            self._apparent = None
            self._write_noise()

    def assign(self, weights: Any, where: Any) -> None:
        """Program the devices selected by the boolean mask ``where`` to ``weights`` (clipped;
        pulsed models only — a closed-loop write, as a carry's reset)."""
        if isinstance(self.config, ExponentialDevice):
            raise TypeError("assign: only pulsed (aihwkit-style) device arrays are programmed")
        w = self._check_weights(weights)
        mask = np.asarray(where, dtype=bool)
        if mask.shape != self.shape:
            raise ValueError(f"where: expected shape {self.shape}, got {mask.shape}")
        self.w[mask] = np.clip(w, self.params["w_min"], self.params["w_max"])[mask]
        self._write_noise()

    def _check_weights(self, weights: Any) -> np.ndarray:
        w = as_array(weights, "weights")
        if tuple(w.shape) != self.shape:
            raise ValueError(f"weights: expected shape {self.shape}, got {tuple(w.shape)}")
        if w.dtype.kind not in "iuf" or not bool(np.isfinite(w).all()):
            raise ValueError("weights: expected finite real values")
        return np.asarray(w, dtype=np.float64)

    def _range(self) -> np.ndarray:
        return self.config.g_max - self.config.g_min

    def _set_exponential(self, w: np.ndarray) -> None:
        cfg, p = self.config, self.params
        if cfg.mapping == "reference":
            g_ref = 0.5 * (cfg.g_min + cfg.g_max)
            self.g = np.clip(g_ref + w * self._range(), p["g_min"], p["g_max"])
        else:  # differential: put the difference on one side, the other at g_min
            delta = 2.0 * w * self._range()
            self.g = np.clip(p["g_min"] + np.maximum(delta, 0), p["g_min"], p["g_max"])
            self.g_neg = np.clip(
                p["g_min_neg"] + np.maximum(-delta, 0), p["g_min_neg"], p["g_max_neg"]
            )

    def _write_noise(self) -> None:
        cfg = self.config
        if isinstance(cfg, PulsedDevice) and cfg.write_noise_std > 0:
            # a fresh draw for every device after each update, as aihwkit; float32 normals halve
            # the cost of the largest per-batch draw of a training step
            noise = self.rng.standard_normal(self.shape, dtype=np.float32)
            self._apparent = self.w + (cfg.write_noise_std * cfg.dw_min) * noise

    # -- pulses --------------------------------------------------------------------------------
    def apply_pulses(self, counts: Any) -> None:
        """Apply ``|counts[d]|`` pulses to device ``d``, potentiating where ``counts > 0``."""
        c = as_array(counts, "counts")
        if c.dtype.kind not in "iu":
            raise TypeError(f"counts: expected signed integer pulse counts, got dtype {c.dtype}")
        if tuple(c.shape) != self.shape:
            raise ValueError(f"counts: expected shape {self.shape}, got {tuple(c.shape)}")
        c = np.asarray(c, dtype=np.int64).reshape(-1)
        mag = np.abs(c)
        rounds = int(mag.max(initial=0))
        for p in range(rounds):
            idx = np.flatnonzero(mag > p)
            up = c[idx] > 0
            self._pulse(idx, up)
        self.pulses_applied += int(mag.sum())
        if rounds:
            self._write_noise()

    def _pulse(self, idx: np.ndarray, up: np.ndarray) -> None:
        cfg, p = self.config, self.params
        xi = _gauss(self.rng, idx.shape)
        if isinstance(cfg, ExponentialDevice):
            self._pulse_exponential(idx, up, xi)
            return
        w = self.w.reshape(-1)
        flat = {k: v.reshape(-1) for k, v in p.items()}
        w[idx] = _step_pulsed(cfg, flat, w[idx], up, xi, idx)

    def _pulse_exponential(self, idx: np.ndarray, up: np.ndarray, xi: np.ndarray) -> None:
        cfg, p = self.config, self.params
        if cfg.mapping == "reference":
            g = self.g.reshape(-1)
            lo, hi = p["g_min"].reshape(-1)[idx], p["g_max"].reshape(-1)[idx]
            gi = g[idx]
            inc = _exp_delta(gi, lo, hi, cfg.n_up, cfg.alpha_up, cfg.gamma_up, xi, True)
            dec = _exp_delta(gi, lo, hi, cfg.n_down, cfg.alpha_down, cfg.gamma_down, xi, False)
            g[idx] = np.clip(np.where(up, gi + inc, gi - dec), lo, hi)
            return
        # differential pair: potentiation pulses G+, depression pulses G- (both potentiated)
        for side, sel in (("", up), ("_neg", ~up)):
            g = (self.g if side == "" else self.g_neg).reshape(-1)
            j = idx[sel]
            lo, hi = p["g_min" + side].reshape(-1)[j], p["g_max" + side].reshape(-1)[j]
            gi = g[j]
            inc = _exp_delta(gi, lo, hi, cfg.n_up, cfg.alpha_up, cfg.gamma_up, xi[sel], True)
            g[j] = np.clip(gi + inc, lo, hi)

    # -- reading -------------------------------------------------------------------------------
    def values(self) -> np.ndarray:
        """Current weights in float64, without read noise (the apparent weight with write noise)."""
        cfg = self.config
        if isinstance(cfg, ExponentialDevice):
            if cfg.mapping == "reference":
                return (self.g - 0.5 * (cfg.g_min + cfg.g_max)) / self._range()
            return (self.g - self.g_neg) / (2.0 * self._range())
        return self.w if self._apparent is None else self._apparent

    def weights(self, read_noise: float = 0.0) -> np.ndarray:
        """Current weights (float32), with optional Gaussian read noise of std ``read_noise``."""
        read_noise = check_real(read_noise, "read_noise", low=0.0)
        w = self.values()
        if read_noise > 0:
            w = w + read_noise * _gauss(self.rng, self.shape)
        return np.asarray(w, dtype=np.float32)

    def fraction_at_bound(self, tol: float | None = None) -> float:
        """Fraction of devices within ``tol`` of a bound (default: a tenth of the nominal step)."""
        cfg, p = self.config, self.params
        if isinstance(cfg, ExponentialDevice):
            t = (cfg.g_max - cfg.g_min) / (10 * cfg.levels) if tol is None else tol
            at = (self.g <= p["g_min"] + t) | (self.g >= p["g_max"] - t)
            if cfg.mapping == "differential":
                at |= self.g_neg >= p["g_max_neg"] - t
            return float(at.mean())
        t = cfg.dw_min / 10 if tol is None else tol
        return float(((self.w <= p["w_min"] + t) | (self.w >= p["w_max"] - t)).mean())

    # -- checkpoints ---------------------------------------------------------------------------
    def state_dict(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """``(arrays, meta)``: device parameters, state and the cycle-to-cycle generator."""
        arrays = {f"param:{k}": v.copy() for k, v in self.params.items()}
        if isinstance(self.config, ExponentialDevice):
            arrays["g"] = self.g.copy()
            if self.g_neg is not None:
                arrays["g_neg"] = self.g_neg.copy()
        else:
            arrays["w"] = self.w.copy()
            if self._apparent is not None:
                arrays["apparent"] = self._apparent.copy()
        meta = {
            "pulses_applied": self.pulses_applied,
            "rng": jsonable_rng_state(self.rng.bit_generator.state),
            "shape": list(self.shape),
        }
        return arrays, meta

    def load_state_dict(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output (same configuration and shape)."""
        if list(meta.get("shape", [])) != list(self.shape):
            raise ValueError(f"state: shape {meta.get('shape')} != {list(self.shape)}")
        for k in self.params:
            if f"param:{k}" not in arrays:
                raise ValueError(f"state: device parameter {k!r} missing")
            self.params[k] = np.asarray(arrays[f"param:{k}"], dtype=np.float64).copy()
        if isinstance(self.config, ExponentialDevice):
            self.g = np.asarray(arrays["g"], dtype=np.float64).copy()
            self.g_neg = None if "g_neg" not in arrays else np.asarray(arrays["g_neg"]).copy()
        else:
            self.w = np.asarray(arrays["w"], dtype=np.float64).copy()
            self._apparent = None if "apparent" not in arrays else arrays["apparent"].copy()
        self.pulses_applied = int(meta["pulses_applied"])
        self.rng.bit_generator.state = meta["rng"]


class CarryPair:
    """Low- and high-significance device arrays with periodic carry (Agarwal et al. 2017).

    Pulses go to the low array; every ``carry_every`` calls of :meth:`apply_pulses` its weight is
    carried into the high array as ``round(w_low / (significance * dw_high))`` pulses (``dw_high``
    the high configuration's nominal ``dw_min``), and the low devices that carried are reset to 0;
    a low device holding less than half a high step keeps its value for the next carry. The pair's weight is
    :math:`w = \\text{significance}\\cdot w_{\\text{high}} + w_{\\text{low}}`. ``initial`` weights
    (default 0) start on the high array (divided by the significance).
    """

    def __init__(
        self,
        low: Any,
        high: Any,
        shape: Any,
        *,
        significance: float = 4.0,
        carry_every: int = 10,
        seed: Any,
        initial: Any = None,
    ):
        if seed is None:
            raise ValueError("seed: device arrays draw random numbers; pass an explicit seed")
        ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        s_low, s_high = ss.spawn(2)
        self.significance = check_real(significance, "significance", low=0.0, open_low=True)
        self.carry_every = check_int(carry_every, "carry_every", minimum=1)
        if not isinstance(high, PulsedDevice):
            raise TypeError("high: the carry target must be a pulsed (aihwkit-style) device")
        self.low = DeviceArray(low, shape, seed=s_low, initial=np.zeros(shape))
        start = np.zeros(shape) if initial is None else np.asarray(initial) / self.significance
        self.high = DeviceArray(high, shape, seed=s_high, initial=start)
        self.shape = self.low.shape
        self.updates = 0
        self.carries = 0

    @property
    def pulses_applied(self) -> int:
        return self.low.pulses_applied + self.high.pulses_applied

    def apply_pulses(self, counts: Any) -> None:
        """Pulse the low array; carry every ``carry_every`` calls."""
        self.low.apply_pulses(counts)
        self.updates += 1
        if self.updates % self.carry_every == 0:
            self.carry()

    def carry(self) -> None:
        """Move the low array's weight into the high one and reset the low array to zero."""
        w_low = self.low.values()
        k = np.rint(w_low / (self.significance * self.high.config.dw_min)).astype(np.int64)
        self.high.apply_pulses(k)
        self.low.assign(np.zeros(self.shape), where=k != 0)
        self.carries += 1

    def values(self) -> np.ndarray:
        """The pair's weight in float64, :math:`\\text{significance}\\,w_h + w_l`."""
        return self.significance * self.high.values() + self.low.values()

    def weights(self, read_noise: float = 0.0) -> np.ndarray:
        w = self.significance * self.high.weights(read_noise) + self.low.weights(read_noise)
        return w.astype(np.float32)

    def fraction_at_bound(self, tol: float | None = None) -> float:
        return self.high.fraction_at_bound(tol)

    def state_dict(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        la, lm = self.low.state_dict()
        ha, hm = self.high.state_dict()
        arrays = {
            **{f"low.{k}": v for k, v in la.items()},
            **{f"high.{k}": v for k, v in ha.items()},
        }
        return arrays, {"low": lm, "high": hm, "updates": self.updates, "carries": self.carries}

    def load_state_dict(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.low.load_state_dict({k[4:]: v for k, v in arrays.items() if k.startswith("low.")},
                                 meta["low"])  # fmt: skip
        self.high.load_state_dict(
            {k[5:]: v for k, v in arrays.items() if k.startswith("high.")}, meta["high"]
        )
        self.updates, self.carries = int(meta["updates"]), int(meta["carries"])


def save_states(devices: Any) -> tuple[dict[str, np.ndarray], list[dict[str, Any]]]:
    """The states of a list of device arrays (or carry pairs) for a checkpoint: arrays under
    ``"device<i>.<key>"`` and one metadata entry per array."""
    arrays: dict[str, np.ndarray] = {}
    metas = []
    for i, dev in enumerate(devices):
        da, dm = dev.state_dict()
        arrays.update({f"device{i}.{k}": v for k, v in da.items()})
        metas.append(dm)
    return arrays, metas


def load_states(devices: Any, arrays: dict[str, np.ndarray], metas: list[dict[str, Any]]) -> None:
    """Restore :func:`save_states`' output into the same list of arrays."""
    if len(metas) != len(devices):
        raise ValueError(f"state: {len(metas)} device states for {len(devices)} arrays")
    for i, dev in enumerate(devices):
        prefix = f"device{i}."
        dev.load_state_dict(
            {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}, metas[i]
        )  # fmt: skip
