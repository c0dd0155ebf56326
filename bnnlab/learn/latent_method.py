r"""Latent-weight training (any binarizer × any optimiser) as a training method.

The network is :func:`bnnlab.nn.binary_mlp` on the data's ±1 features (``784-layers-10`` on
Fashion-MNIST): binarised weights in every layer but the real-valued output layer (``last="real"``)
or all of them (``last="binary"``), binarised activations, BatchNorm after each hidden layer. It is
trained by :func:`bnnlab.learn.latent.train` with softmax cross-entropy and the optimiser chosen by
alias (:mod:`bnnlab.optim`: ``sgd``, ``adam``, ``signsgd``, ``signum``, ``binary-connect``,
``proxquant``, ``bop``), every binarised parameter decay-free (the SiMaN recipe) and
``weight_decay`` on the others.

Registered methods (:data:`bnnlab.learn.method.METHODS`): ``latent`` (defaults: Adam, STE sign)
and one per binary optimiser of REFERENCES.md §5, with that optimiser and its usual learning rate
as defaults:

================== ============== ===== ===============================================
method             optimizer      lr    reference
================== ============== ===== ===============================================
``binary-connect`` binary-connect 0.01  Courbariaux, Bengio, David, NeurIPS 2015
``signsgd``        signsgd        0.001 Bernstein et al., ICML 2018
``signum``         signum         0.001 Bernstein et al., ICML 2018
``proxquant``      proxquant      0.01  Bai, Wang, Liberty, ICLR 2019
``bop``            bop            0.01  Helwegen et al., NeurIPS 2019 (inner Adam at lr)
================== ============== ===== ===============================================

Seeds: the model's initial weights and the shuffling come from two children of the method's
seed (``SeedSequence.spawn``), so every latent method of a comparison starts from the same
initial weights (Bop from their signs). Cost columns: the float32 SGD part of the paper's cost
model for an MLP of this shape (latent-weight training runs float arithmetic),
:func:`bnnlab.learn.local.cost.cost_report`.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from bnnlab._config import Config, field
from bnnlab._validation import check_choice, check_int, check_real
from bnnlab._xp import to_numpy
from bnnlab.learn.method import Method, TrainData

__all__ = ["LatentConfig", "LatentMethod"]

MODELS = ("mlp",)
SCHEDULES = ("constant", "cosine")


def _binarizers() -> list[str]:
    from bnnlab.nn import binarizers

    return binarizers.available()


def _optimizers() -> list[str]:
    from bnnlab import optim

    return optim.available()


@dataclasses.dataclass(frozen=True)
class LatentConfig(Config):
    """Hyperparameters of latent-weight training (see the module docstring)."""

    layers: tuple[int, ...] = field((256, 256), "hidden widths of the binary MLP, e.g. 256,256")
    model: str = field(
        "mlp", "network (mlp: binary_mlp, BatchNorm after each hidden layer)", choices=MODELS
    )
    binarizer: str = field(
        "ste_sign", "weight binarizer alias (bnnlab.nn.binarizers)", choices=_binarizers
    )
    act_binarizer: str = field("ste_sign", "activation binarizer alias", choices=_binarizers)
    last: str = field(
        "real", "output layer: real (with bias) or binary (+ BatchNorm)", choices=("real", "binary")
    )
    scale: bool = field(False, "learnable per-channel scale alpha on binarised layers")
    optimizer: str = field("adam", "optimiser alias (bnnlab.optim)", choices=_optimizers)
    lr: float = field(1e-3, "learning rate")
    options: dict[str, Any] | None = field(
        None, "extra optimiser arguments, e.g. threshold=1e-8,gamma=1e-4"
    )
    weight_decay: float = field(0.0, "l2 on the non-binarised parameters")
    schedule: str = field("constant", "learning-rate schedule", choices=SCHEDULES)
    warmup: int = field(0, "linear warm-up epochs of the cosine schedule")
    batch_size: int = field(100, "mini-batch size")

    def __post_init__(self) -> None:
        from bnnlab import optim
        from bnnlab.nn import binarizers

        layers = (self.layers,) if isinstance(self.layers, int) else tuple(self.layers)
        if not layers:
            raise ValueError("layers: expected at least one hidden width")
        object.__setattr__(self, "layers", tuple(check_int(h, "layers", minimum=1) for h in layers))
        check_choice(self.model, "model", MODELS)
        check_choice(self.binarizer, "binarizer", binarizers.available())
        check_choice(self.act_binarizer, "act_binarizer", binarizers.available())
        check_choice(self.last, "last", ("real", "binary"))
        if not isinstance(self.scale, bool | np.bool_):
            raise TypeError(f"scale: expected a bool, got {type(self.scale).__name__}")
        check_choice(self.optimizer, "optimizer", optim.available())
        check_real(self.lr, "lr", low=0.0, open_low=True)
        check_real(self.weight_decay, "weight_decay", low=0.0)
        check_choice(self.schedule, "schedule", SCHEDULES)
        check_int(self.warmup, "warmup", minimum=0)
        check_int(self.batch_size, "batch_size", minimum=2)
        if self.options is not None and not (
            isinstance(self.options, dict) and all(isinstance(k, str) for k in self.options)
        ):
            raise TypeError(
                f"options: expected a table of optimiser arguments, got {self.options!r}"
            )
        # build the optimiser once on a tiny model: a bad option fails now, not after data loads
        model = _build_model(self, 4, 2, seed=0)
        try:
            _build_optimizer(self, model, seed=0)
        except TypeError as exc:
            raise TypeError(f"options: {exc}") from exc

    def optimizer_options(self) -> dict[str, Any]:
        """Keyword arguments of the optimiser beside ``lr`` (``options``; subclasses add theirs)."""
        return dict(self.options or {})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (``options`` as a plain table)."""
        d = super().to_dict()
        d["options"] = None if self.options is None else dict(self.options)
        return d


def _host_copy(a: Any) -> np.ndarray:
    return np.array(to_numpy(a), copy=True)


def _build_model(cfg: LatentConfig, n_features: int, n_classes: int, *, seed: Any) -> Any:
    from bnnlab import nn

    return nn.binary_mlp(
        n_features,
        cfg.layers,
        n_classes,
        weight_binarizer=_binarizer(cfg.binarizer, seed),
        act_binarizer=cfg.act_binarizer,
        scale=cfg.scale,
        last=cfg.last,
        seed=seed,
    )


def _binarizer(alias: str, seed: Any) -> Any:
    """Binarizers that draw random numbers (``stochastic_sign``) get a child of the seed."""
    from bnnlab.nn import binarizers

    cls = binarizers.get(alias)
    if "seed" in inspect.signature(cls).parameters:  # one instance, shared by the layers
        return cls(seed=int(np.random.default_rng(seed).integers(2**63)))
    return alias


def _build_optimizer(cfg: LatentConfig, model: Any, *, seed: Any) -> Any:
    """The configured optimiser; one that draws random numbers (``seed`` in its signature, e.g.
    QP-SBGD's solvers) gets an integer child of ``seed`` unless the options give one."""
    from bnnlab import optim

    groups = optim.param_groups(model, cfg.weight_decay, no_decay=("binarized", "scale", "bn"))
    options = cfg.optimizer_options()
    if cfg.optimizer == "bop":
        options.setdefault("init", "sign")
    cls = optim.get(cfg.optimizer)
    if "seed" in inspect.signature(cls).parameters:
        options.setdefault("seed", int(np.random.default_rng(seed).integers(2**63)))
    return cls(groups, lr=cfg.lr, **options)


class LatentMethod(Method):
    """Latent-weight training of a binary MLP (``bnnlab train latent``)."""

    alias = "latent"
    description = "latent-weight binary MLP: any binarizer x any optimiser, STE backward"
    config_class: ClassVar[type] = LatentConfig

    def __init__(
        self, config: Any, *, n_features: int, n_classes: int, seed: Any, backend: str = "auto"
    ):
        super().__init__(
            config, n_features=n_features, n_classes=n_classes, seed=seed, backend=backend
        )
        from bnnlab.learn.local.engine import array_namespace

        self.xp = array_namespace(backend)
        ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        init_seed, shuffle_seed, optim_seed = ss.spawn(3)  # the first two as spawn(2) gives them
        self.model = _build_model(config, self.n_features, self.n_classes, seed=init_seed)
        if self.xp is not np:
            self.model = self.model.to(self.xp)
        self.optimizer = _build_optimizer(config, self.model, seed=optim_seed)
        self.rng = np.random.default_rng(shuffle_seed)

    # -- training ------------------------------------------------------------------------------
    def _schedule(self, total: int) -> Any:
        from bnnlab.optim import schedules

        if self.config.schedule == "cosine":
            return schedules.Cosine(self.config.lr, epochs=total, warmup=self.config.warmup)
        return None

    def fit(
        self,
        data: TrainData,
        *,
        epochs: int,
        callback: Callable[[dict[str, Any]], None] | None = None,
        progress: bool = False,
    ) -> list[dict[str, Any]]:
        """Train ``epochs`` more epochs; the run's schedules span ``self.epoch + epochs``."""
        from bnnlab.learn.latent import train

        self.check_data(data)
        epochs = check_int(epochs, "epochs", minimum=0)
        if epochs == 0:
            return []
        if self._previous is None:
            self.layer_columns()
        total = self.epoch + epochs
        n_train = int(data.x_train.shape[0])

        def columns(epoch: int, model: Any, row: dict[str, Any]) -> dict[str, Any]:
            self.epoch = epoch
            return {**self.layer_columns(), **self.cost(n_train), **self.optimizer.epoch_columns()}

        def report(epoch: int, model: Any, row: dict[str, Any]) -> None:
            if callback is not None:
                callback(row)

        return train(
            self.model,
            (data.x_train, data.y_train, data.x_test, data.y_test),
            optimizer=self.optimizer,
            schedule=self._schedule(total),
            epochs=total,
            start_epoch=self.epoch,
            batch_size=self.config.batch_size,
            seed=self.rng,
            callbacks=[columns, report],
            progress=progress,
        )

    def evaluate(self, x: Any, y: Any) -> dict[str, float]:
        from bnnlab.learn.latent import evaluate

        r = evaluate(self.model, x, y, 1000)
        return {"test_loss": r["loss"], "test_accuracy": r["accuracy"]}

    def predict(self, x: Any) -> Any:
        xp = self.xp
        out = []
        for start in range(0, int(x.shape[0]), 1000):
            xb = xp.asarray(x[start : start + 1000], dtype=np.float32)
            out.append(xp.argmax(self.model.forward(xb, False), axis=1))
        return xp.concatenate(out).astype(xp.int64)

    def binary_weights(self) -> dict[str, np.ndarray]:
        from bnnlab.signs import signed

        return {
            name: signed(to_numpy(layer.binary_weight()), "plus")
            for name, layer in self.model.binarized_layers()
        }

    def cost(self, n_train: int) -> dict[str, float]:
        from bnnlab.learn.local.cost import cost_report

        r = cost_report(
            "local-binary",
            self.n_features,
            list(self.config.layers),
            self.n_classes,
            batch_size=self.config.batch_size,
            n_train=n_train,
        )
        return {
            "gates_per_epoch": float(r.gates_per_epoch[1]),
            "memory_bits": float(r.memory_bits[1]),
        }

    # -- state ---------------------------------------------------------------------------------
    def _named(self) -> dict[str, Any]:
        return dict(self.model.named_parameters())

    def state_dict(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Host copies of parameters, BatchNorm buffers and optimiser state; JSON metadata with
        the configuration, epoch, optimiser counters and every generator's state."""
        from bnnlab._rng import jsonable_rng_state

        params = self._named()
        arrays = {f"param:{n}": _host_copy(p.data) for n, p in params.items()}
        for name, layer in self.model.named_layers():
            for buf in ("running_mean", "running_var"):
                if hasattr(layer, buf):
                    arrays[f"buffer:{name}.{buf}"] = _host_copy(getattr(layer, buf))
        names = {id(p): n for n, p in params.items()}
        opt_arrays, opt_meta = self.optimizer.state_dict(names)
        arrays.update({f"optim:{k}": _host_copy(v) for k, v in opt_arrays.items()})
        rngs = {"shuffle": jsonable_rng_state(self.rng.bit_generator.state)}
        for name, layer in self.model.named_layers():
            b = getattr(layer, "weight_binarizer", None)
            if b is not None and isinstance(getattr(b, "rng", None), np.random.Generator):
                rngs[name] = jsonable_rng_state(b.rng.bit_generator.state)
        meta = {
            "config": self.config.to_dict(),
            "epoch": self.epoch,
            "optimizer": opt_meta,
            "rng": rngs,
            "n_features": self.n_features,
            "n_classes": self.n_classes,
        }
        return arrays, meta

    def load_state_dict(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        xp = self.xp
        params = self._named()
        for n, p in params.items():
            a = arrays.get(f"param:{n}")
            if a is None or tuple(a.shape) != tuple(p.data.shape):
                raise ValueError(f"state: parameter {n!r} missing or of the wrong shape")
            p.data = xp.asarray(a, dtype=p.data.dtype)
        layers = dict(self.model.named_layers())
        for key, a in arrays.items():
            if key.startswith("buffer:"):
                name, _, buf = key[7:].rpartition(".")
                if name not in layers or not hasattr(layers[name], buf):
                    raise ValueError(f"state: unknown buffer {key!r}")
                setattr(layers[name], buf, xp.asarray(a))
        opt = {k[6:]: v for k, v in arrays.items() if k.startswith("optim:")}
        self.optimizer.load_state_dict(opt, meta["optimizer"], params)
        rngs = meta["rng"]
        self.rng.bit_generator.state = rngs["shuffle"]
        for name, layer in layers.items():
            b = getattr(layer, "weight_binarizer", None)
            if name in rngs and b is not None:
                b.rng.bit_generator.state = rngs[name]
        self.epoch = check_int(meta["epoch"], "epoch", minimum=0)
        self._previous = None


def _variant(alias: str, optimizer: str, lr: float, text: str) -> type[LatentMethod]:
    """A latent method whose defaults are ``optimizer`` at ``lr`` (same fields as ``latent``)."""
    cfg = dataclasses.make_dataclass(
        f"{optimizer.title().replace('-', '')}Config",
        [
            (
                "optimizer",
                str,
                field(optimizer, "optimiser alias (bnnlab.optim)", choices=_optimizers),
            ),
            ("lr", float, field(lr, "learning rate")),
        ],
        bases=(LatentConfig,),
        frozen=True,
    )
    cfg.__module__ = __name__
    cfg.__doc__ = f"{LatentConfig.__doc__[:-1]}; defaults: {optimizer} at lr {lr}."
    return type(
        f"{optimizer.title().replace('-', '')}Method",
        (LatentMethod,),
        {"alias": alias, "description": text, "config_class": cfg, "__module__": __name__},
    )


BinaryConnectMethod = _variant(
    "binary-connect", "binary-connect", 0.01, "BinaryConnect: latent weights clipped to [-1, 1]"
)
SignSGDMethod = _variant("signsgd", "signsgd", 1e-3, "signSGD on the latent weights")
SignumMethod = _variant("signum", "signum", 1e-3, "Signum (signSGD with momentum 0.9)")
ProxQuantMethod = _variant(
    "proxquant", "proxquant", 0.01, "ProxQuant: binary prox with a growing lambda, final sign"
)
BopMethod = _variant(
    "bop", "bop", 0.01, "Bop: flip binary weights on the gradient's moving average (no latents)"
)
