"""The gradient-free learners as training methods (:mod:`bnnlab.learn.method`).

A method configuration holds what a learner configuration holds except the data's shape: the
hidden ``layers`` (default: the learner's ``DEFAULT_LAYERS``) and every hyperparameter field of the
learner's configuration, with the same defaults and help text (the fields are taken from the
learner's configuration class, not written again). ``n_features`` and ``n_classes`` come from the
data when the method is built.

Cost columns: the paper's model (REFERENCES.md §2.6, :func:`bnnlab.learn.local.cost.cost_report`):
``gates_per_epoch`` (Boolean gates of one epoch of the binary learner) and ``memory_bits``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from bnnlab._config import Config
from bnnlab._xp import to_numpy
from bnnlab.hardware.devices import DEVICE_HELP
from bnnlab.learn.local.config import CPRConfig, LocalBinaryConfig
from bnnlab.learn.method import Method

__all__ = [
    "CPRDenseMethod",
    "CPRMethod",
    "LocalBinaryDenseMethod",
    "LocalBinaryMethod",
    "method_config_class",
]


def method_config_class(learner_config: type, name: str) -> type:
    """A frozen dataclass with ``layers`` and the CLI fields of ``learner_config``.

    Its instances validate on construction by building the learner configuration for a dummy
    data shape, so a bad hyperparameter fails before any data is read.
    """
    fields: list[Any] = [
        (
            "layers",
            tuple[int, ...],
            dataclasses.field(
                default=learner_config.DEFAULT_LAYERS,
                metadata={
                    "help": "hidden widths, e.g. 525,525 (cp-r: K1,K2)",
                    "cli": True,
                    "choices": None,
                },
            ),
        )
    ]
    for f in learner_config.cli_fields():
        fields.append((f.name, f.type, dataclasses.field(default=f.default, metadata=f.metadata)))

    def __post_init__(self: Any) -> None:
        self.learner_config(n_features=1, n_classes=2)

    def to_learner(self: Any, n_features: int, n_classes: int) -> Any:
        hyper = {k: v for k, v in dataclasses.asdict(self).items() if k != "layers"}
        return learner_config.from_layers(n_features, n_classes, self.layers, **hyper)

    cls = dataclasses.make_dataclass(
        name,
        fields,
        bases=(Config,),
        frozen=True,
        namespace={
            "__post_init__": __post_init__,
            "learner_config": to_learner,
            "__doc__": f"Method configuration of the {learner_config.__name__} learner "
            f"(``layers`` + its hyperparameters; see :class:`{learner_config.__name__}`).",
        },
    )
    cls.__module__ = __name__
    return cls


LocalBinaryMethodConfig = method_config_class(LocalBinaryConfig, "LocalBinaryMethodConfig")
CPRMethodConfig = method_config_class(CPRConfig, "CPRMethodConfig")


class _LearnerMethod(Method):
    """A gradient-free learner behind the method interface."""

    learner_alias = ""
    cost_model = ""  # the paper's cost model of this network (bnnlab.learn.local.cost)

    def __init__(
        self, config: Any, *, n_features: int, n_classes: int, seed: Any, backend: str = "auto"
    ):
        super().__init__(
            config, n_features=n_features, n_classes=n_classes, seed=seed, backend=backend
        )
        from bnnlab.learn import get

        learner_cfg = config.learner_config(self.n_features, self.n_classes)
        self.learner = get(self.learner_alias)(learner_cfg, seed=seed, backend=backend)

    def fit_epoch(self, x: Any, y: Any) -> dict[str, float]:
        (row,) = self.learner.fit(x, y, epochs=1)
        return {"train_accuracy": row["train_accuracy"]}

    def evaluate(self, x: Any, y: Any) -> dict[str, float]:
        return {"test_accuracy": self.learner.score(x, y)}

    def predict(self, x: Any) -> Any:
        return self.learner.predict(x)

    def binary_weights(self) -> dict[str, np.ndarray]:
        from bnnlab.signs import signed

        return {
            f"hidden_{i}": signed(to_numpy(w), "plus") for i, w in enumerate(self.learner.hidden)
        }

    def cost(self, n_train: int) -> dict[str, float]:
        from bnnlab.learn.local.cost import cost_report

        cfg = self.learner.config
        r = cost_report(
            self.cost_model,
            self.n_features,
            list(cfg.layers),
            self.n_classes,
            batch_size=cfg.batch_size,
            n_train=n_train,
        )
        return {
            "gates_per_epoch": float(r.gates_per_epoch[0]),
            "memory_bits": float(r.memory_bits[0]),
        }

    def state_dict(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays, meta = self.learner.state_dict()
        return arrays, {**meta, "method_epoch": self.epoch}

    def load_state_dict(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.learner.load_state_dict(arrays, meta)
        self.epoch = self.learner.epoch
        self._previous = None


class LocalBinaryMethod(_LearnerMethod):
    """Local binary error signals (Colombo et al. 2025), bit-packed."""

    alias = "local-binary"
    learner_alias = "local-binary"
    cost_model = "local-binary"
    description = (
        "fully binary MLP, local binary error signals + integer metaplasticity (Colombo 2025)"
    )
    config_class = LocalBinaryMethodConfig


class CPRMethod(_LearnerMethod):
    """The CP+R committee (Baldassi et al. 2015) as used by Colombo et al."""

    alias = "cp-r"
    learner_alias = "cp-r"
    cost_model = "cp-r"
    description = "clipped perceptron with reinforcement, committee machine (Baldassi 2015)"
    config_class = CPRMethodConfig


class LocalBinaryDenseMethod(LocalBinaryMethod):
    """:class:`LocalBinaryMethod` on dense integer products (the authors' arithmetic)."""

    alias = "local-binary-dense"
    learner_alias = "local-binary-dense"
    description = "local-binary on dense integer products (the authors' arithmetic; host only)"


class CPRDenseMethod(CPRMethod):
    """:class:`CPRMethod` on dense integer products."""

    alias = "cp-r-dense"
    learner_alias = "cp-r-dense"
    description = "cp-r on dense integer products (host only)"


def _device_presets() -> list[str]:
    from bnnlab.hardware import devices

    return devices.available()


def _devices_learner_config(self: Any, n_features: int, n_classes: int) -> Any:
    hyper = {k: v for k, v in dataclasses.asdict(self).items() if k not in ("layers", "device")}
    if self.device not in _device_presets():
        raise ValueError(
            f"device: unknown device preset {self.device!r}; available: "
            f"{', '.join(_device_presets())}"
        )
    return LocalBinaryConfig.from_layers(n_features, n_classes, self.layers, **hyper)


LocalBinaryDevicesMethodConfig = dataclasses.make_dataclass(
    "LocalBinaryDevicesMethodConfig",
    [
        (
            "device",
            str,
            dataclasses.field(
                default="ecram",
                metadata={
                    "help": DEVICE_HELP,
                    "cli": True,
                    "choices": _device_presets,
                },
            ),
        )
    ],
    bases=(LocalBinaryMethodConfig,),
    frozen=True,
    namespace={
        "learner_config": _devices_learner_config,
        "__doc__": "Method configuration of local-binary on devices (LocalBinaryMethodConfig + "
        "``device``).",
    },
)
LocalBinaryDevicesMethodConfig.__module__ = __name__


class LocalBinaryDevicesMethod(LocalBinaryMethod):
    """:class:`LocalBinaryMethod` with its hidden states on emulated devices
    (:mod:`bnnlab.learn.local.devices`); rows add ``pulses`` and ``at_bound``."""

    alias = "local-binary-devices"
    description = "local-binary with its hidden states on emulated memristive devices"
    config_class = LocalBinaryDevicesMethodConfig

    def __init__(
        self, config: Any, *, n_features: int, n_classes: int, seed: Any, backend: str = "auto"
    ):
        Method.__init__(
            self, config, n_features=n_features, n_classes=n_classes, seed=seed, backend=backend
        )
        from bnnlab.learn.local.devices import LocalBinaryOnDevices

        learner_cfg = config.learner_config(self.n_features, self.n_classes)
        self.learner = LocalBinaryOnDevices(
            learner_cfg, device=config.device, seed=seed, backend=backend
        )
        self._pulses_seen = 0

    def cost(self, n_train: int) -> dict[str, float]:
        total = sum(a.pulses_applied for a in self.learner.arrays)
        pulses, self._pulses_seen = total - self._pulses_seen, total
        at = float(np.mean([a.fraction_at_bound() for a in self.learner.arrays]))
        return {**super().cost(n_train), "pulses": float(pulses), "at_bound": at}

    def load_state_dict(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        super().load_state_dict(arrays, meta)
        self._pulses_seen = sum(a.pulses_applied for a in self.learner.arrays)
