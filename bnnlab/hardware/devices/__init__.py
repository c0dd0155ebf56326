"""Emulated memristive devices: aihwkit's device models and presets, Li et al.'s exponential
conductance model, arrays with device-to-device and cycle-to-cycle variation, periodic carry.

``preset(alias, **overrides)`` returns a validated configuration (:data:`PRESETS` lists them with
their sources); ``DeviceArray(config, shape, seed=...)`` emulates an array of them (pulses in,
weights out); :class:`CarryPair` pairs two arrays with periodic carry. The models, their formulas
and their aihwkit counterparts: :mod:`bnnlab.hardware.devices.config`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from bnnlab.hardware.devices.array import CarryPair, DeviceArray, load_states, save_states
from bnnlab.hardware.devices.config import (
    ConstantStep,
    ExponentialDevice,
    ExpStep,
    LinearStep,
    PowStep,
    PulsedDevice,
    SoftBounds,
)
from bnnlab.hardware.devices.presets import PRESETS

#: help text of a training method's device option
DEVICE_HELP = "device preset (bnnlab.hardware.devices) holding the weights"

__all__ = [
    "DEVICE_HELP",
    "PRESETS",
    "CarryPair",
    "ConstantStep",
    "DeviceArray",
    "ExpStep",
    "ExponentialDevice",
    "LinearStep",
    "PowStep",
    "PulsedDevice",
    "SoftBounds",
    "available",
    "load_states",
    "preset",
    "save_states",
]


def available() -> list[str]:
    """Preset aliases."""
    return sorted(PRESETS)


def preset(alias: str, **overrides: Any) -> Any:
    """The configuration of preset ``alias`` with ``overrides`` (validated like the fields)."""
    if not isinstance(alias, str) or alias not in PRESETS:
        raise ValueError(
            f"alias: unknown device preset {alias!r}; available: {', '.join(available())}"
        )
    cfg = PRESETS[alias][0]
    names = {f.name for f in dataclasses.fields(cfg)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise ValueError(f"overrides: {type(cfg).__name__} has no field {', '.join(unknown)}")
    return dataclasses.replace(cfg, **overrides)
