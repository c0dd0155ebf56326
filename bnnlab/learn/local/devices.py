r"""The local-binary learner with its hidden integer states on emulated devices (issue 12).

:class:`LocalBinaryOnDevices` runs :class:`~bnnlab.learn.local.local_binary.LocalBinaryLearner`
unchanged, except that every hidden state :math:`W_l` lives on a
:class:`~bnnlab.hardware.devices.DeviceArray`: one learner step (``step``) is one device pulse of
the nominal size ``dw_min``, so a device holds :math:`w = (W/\text{step})\,dw_{\min}`. After each
mini-batch's update of a layer (the error update, its clip and the reinforcement), the learner's
net change :math:`k = \Delta W/\text{step}` goes to the devices as ``k`` pulses, and the learner
reads its states back from them, rounded to its grid, :math:`W = \text{step}\cdot
\operatorname{rint}(w/dw_{\min})` — so the devices' nonlinearity, asymmetry, noise and bounds act on
what the learner sees. The devices' bounds are the clip: the learner's own ``clip`` is switched
off (recorded as ``clip_replaced``), and a step's net change saturates on the devices. On a
noiseless ``ConstantStep`` device with ``dw_min = step`` and bounds ``±clip`` this is exactly the
learner with that clip (tested): within a step the reinforcement moves a weight in the direction
of its sign, so clipping once at the end of the step equals clipping after each part.

Host arrays only (``backend`` numba or numpy). Checkpoints carry the devices' states.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from bnnlab.learn.local.local_binary import LocalBinaryLearner

__all__ = ["LocalBinaryOnDevices"]


class LocalBinaryOnDevices(LocalBinaryLearner):
    """Local-binary learning with hidden states on devices (see the module docstring).

    Parameters
    ----------
    config : LocalBinaryConfig
    device : device configuration or preset alias
        :mod:`bnnlab.hardware.devices` (``preset(alias)`` for an alias).
    seed : int or SeedSequence
        The learner's seed; the devices' draws come from a separate child of it.
    backend : {"auto", "numba", "numpy"}
    """

    # the hidden states are read back from the devices (any value the device model gives):
    # int32, never the compiled step's int16 (LocalBinaryLearner._hold_unit_major)
    _narrow_hidden = False

    def __init__(self, config: Any, *, device: Any, seed: Any, backend: str = "auto"):
        from bnnlab.hardware import devices

        if backend == "cupy":
            raise ValueError("backend: the device-backed learner keeps host arrays (numba, numpy)")
        self.clip_replaced = config.clip
        super().__init__(dataclasses.replace(config, clip=None), seed=seed, backend=backend)
        self.device = devices.preset(device) if isinstance(device, str) else device
        if not isinstance(self.device, devices.PulsedDevice | devices.ExponentialDevice):
            raise TypeError(f"device: expected a device configuration, got {type(device).__name__}")
        self.dw = float(getattr(self.device, "dw_min", 0.0)) or self._exp_step()
        if isinstance(seed, np.random.Generator):
            raise TypeError("seed: pass an int or a SeedSequence (the devices draw from a child)")
        base = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        ss = np.random.SeedSequence([int(base.generate_state(1)[0]), 0xDE71CE])
        self._synced: dict[int, np.ndarray] = {}
        self.arrays = [
            devices.DeviceArray(self.device, w.shape, seed=s, initial=self._to_device(w))
            for w, s in zip(self.hidden, ss.spawn(len(self.hidden)), strict=True)
        ]
        for layer in range(len(self.hidden)):
            self._read(layer)

    def _exp_step(self) -> float:
        cfg = self.device  # the exponential model: a nominal step of one pulse from mid-range
        return 1.0 / max(cfg.n_up, cfg.n_down, 1)

    def _to_device(self, w: Any) -> np.ndarray:
        return np.ascontiguousarray(w, dtype=np.float64) / self.config.step * self.dw

    def _read(self, layer: int) -> None:
        w = self.hidden[layer]
        w[...] = np.rint(self.arrays[layer].values() * self.config.step / self.dw).astype(w.dtype)
        self.refresh_layer(layer)
        self._synced[layer] = np.asarray(w, dtype=np.int64).copy()

    def _after_update(self, layer: int) -> None:
        w = self.hidden[layer]
        delta = np.rint((np.asarray(w, dtype=np.int64) - self._synced[layer]) / self.config.step)
        delta = delta.astype(np.int64)
        self.arrays[layer].apply_pulses(delta)
        self._read(layer)

    # -- state: the devices travel with the learner -------------------------------------------
    def state_dict(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        from bnnlab.hardware.devices import save_states

        arrays, meta = super().state_dict()
        dev_arrays, meta["devices"] = save_states(self.arrays)
        return {**arrays, **dev_arrays}, meta

    def load_state_dict(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        from bnnlab.hardware.devices import load_states

        own = {k: v for k, v in arrays.items() if not k.startswith("device")}
        super().load_state_dict(own, meta)
        load_states(self.arrays, arrays, meta["devices"])
        for i in range(len(self.arrays)):
            self._read(i)
