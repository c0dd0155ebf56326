"""Training methods: one interface for every way bnnlab trains a binary network.

A *method* is a registered name (:data:`METHODS`) plus a validated configuration dataclass
(``config_class``, one field per hyperparameter with its help text in ``metadata["help"]``) that
trains a model on a dataset for a budget of epochs from a seed and reports one row per epoch. The
command line (``bnnlab train METHOD``), the comparison harness (:mod:`bnnlab.experiments.compare`)
and the checkpoints all go through this interface, so a method registered here is trainable,
comparable and resumable everywhere.

Rows
----
Every row has the standard keys of :mod:`bnnlab.learn.metrics` (``epoch``, ``train_accuracy`` and
``test_accuracy`` in percent, ``seconds``; ``train_loss``/``test_loss`` where the method has a
loss) plus, for every binarised layer ``L`` (:meth:`Method.binary_weights`):

``L/flip_ratio``
    fraction of the layer's forward signs that changed during the epoch
    (:func:`bnnlab.entropy.flip_ratio`);
``L/bit_entropy``
    bit entropy of the layer's forward signs (:func:`bnnlab.entropy.bit_entropy`);

and the hardware-cost columns of the method (:meth:`Method.cost`), e.g. ``gates_per_epoch`` and
``memory_bits`` under the paper's cost model (REFERENCES.md §2.6).

Data
----
Methods train on :class:`TrainData`: ±1 ``int8`` features and integer labels, the same arrays for
every method of a comparison (:func:`bnnlab.data.load_binary`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from bnnlab._registry import Registry
from bnnlab._validation import as_array, check_int
from bnnlab._xp import to_numpy

__all__ = ["METHODS", "Method", "TrainData", "available", "describe", "get"]

METHODS = Registry("method")
METHODS.register("local-binary", "bnnlab.learn.local.method:LocalBinaryMethod")
METHODS.register("cp-r", "bnnlab.learn.local.method:CPRMethod")
METHODS.register("local-binary-dense", "bnnlab.learn.local.method:LocalBinaryDenseMethod")
METHODS.register("cp-r-dense", "bnnlab.learn.local.method:CPRDenseMethod")
METHODS.register("local-binary-devices", "bnnlab.learn.local.method:LocalBinaryDevicesMethod")
METHODS.register("latent", "bnnlab.learn.latent_method:LatentMethod")
METHODS.register("binary-connect", "bnnlab.learn.latent_method:BinaryConnectMethod")
METHODS.register("signsgd", "bnnlab.learn.latent_method:SignSGDMethod")
METHODS.register("signum", "bnnlab.learn.latent_method:SignumMethod")
METHODS.register("proxquant", "bnnlab.learn.latent_method:ProxQuantMethod")
METHODS.register("bop", "bnnlab.learn.latent_method:BopMethod")
METHODS.register("qp-sbgd", "bnnlab.learn.qp_sbgd_method:QPSBGDMethod")
METHODS.register("binary-stochastic", "bnnlab.learn.memristive:BinaryStochasticMethod")
METHODS.register("hp-sgd", "bnnlab.learn.memristive:HPSGDMethod")
METHODS.register("pulsed-sgd", "bnnlab.learn.memristive:PulsedSGDMethod")

get, available = METHODS.bind()


def describe() -> dict[str, str]:
    """``{alias: one-line description}`` of every registered method."""
    return {alias: get(alias).description for alias in available()}


@dataclasses.dataclass(frozen=True)
class TrainData:
    """The arrays a method trains and is tested on (±1 ``int8`` features, ``int64`` labels).

    Parameters
    ----------
    x_train, y_train, x_test, y_test : arrays
        Features ``(n, d)`` with values in {−1, +1} and labels ``0..C-1``.
    name : str
        The dataset's name (for records).
    n_classes : int, optional
        Number of classes (default: one more than the largest label seen).
    """

    x_train: Any
    y_train: Any
    x_test: Any
    y_test: Any
    name: str = "data"
    n_classes: int | None = None

    def __post_init__(self) -> None:
        for xs, ys in (("x_train", "y_train"), ("x_test", "y_test")):
            x = as_array(getattr(self, xs), xs, ndim=2)
            y = as_array(getattr(self, ys), ys, ndim=1)
            if y.dtype.kind not in "iu":
                raise TypeError(f"{ys}: expected integer labels, got dtype {y.dtype}")
            if x.shape[0] != y.shape[0]:
                raise ValueError(f"{ys}: {y.shape[0]} labels for {x.shape[0]} rows of {xs}")
            if x.shape[0] == 0:
                raise ValueError(f"{xs}: no samples")
        if self.x_train.shape[1] != self.x_test.shape[1]:
            raise ValueError(
                f"x_test: {self.x_test.shape[1]} features, x_train has {self.x_train.shape[1]}"
            )
        top = int(max(int(self.y_train.max()), int(self.y_test.max()))) + 1
        n = top if self.n_classes is None else check_int(self.n_classes, "n_classes", minimum=2)
        if n < top or min(int(self.y_train.min()), int(self.y_test.min())) < 0:
            raise ValueError(f"y_train, y_test: labels must lie in 0..{n - 1}")
        object.__setattr__(self, "n_classes", max(n, 2))

    @property
    def n_features(self) -> int:
        """Number of features ``d``."""
        return int(self.x_train.shape[1])


class Method:
    """Base class of the training methods (see the module docstring for the contract).

    Parameters
    ----------
    config : ``config_class``
        The method's hyperparameters.
    n_features, n_classes : int
        Shape of the data it will train on.
    seed : int or numpy.random.SeedSequence
        Explicit seed of every random draw of the method (initialisation, shuffles, ...).
    backend : {"auto", "numba", "numpy", "cupy"}
        Array backend (``"cupy"``: on the GPU).

    Subclasses set ``alias``, ``description``, ``config_class`` and implement :meth:`fit_epoch`
    (or override :meth:`fit` when their loop owns the epochs, as latent-weight training does),
    :meth:`evaluate`, :meth:`predict`, :meth:`binary_weights`, :meth:`state_dict` and
    :meth:`load_state_dict`; :meth:`cost` is optional.
    """

    alias: ClassVar[str] = ""
    description: ClassVar[str] = ""
    config_class: ClassVar[type]

    def __init__(
        self, config: Any, *, n_features: int, n_classes: int, seed: Any, backend: str = "auto"
    ):
        if not isinstance(config, self.config_class):
            raise TypeError(
                f"config: expected {self.config_class.__name__}, got {type(config).__name__}"
            )
        self.config = config
        self.n_features = check_int(n_features, "n_features", minimum=1)
        self.n_classes = check_int(n_classes, "n_classes", minimum=2)
        self.backend = backend
        self.epoch = 0
        self._previous: dict[str, np.ndarray] | None = None

    # -- what a method implements -----------------------------------------------------------
    def fit_epoch(self, x: Any, y: Any) -> dict[str, float]:
        """Train one epoch; return ``train_accuracy`` (%) and ``train_loss`` where defined."""
        raise NotImplementedError

    def evaluate(self, x: Any, y: Any) -> dict[str, float]:
        """``test_accuracy`` (%) and ``test_loss`` where defined, on ``(x, y)``."""
        raise NotImplementedError

    def predict(self, x: Any) -> Any:
        """Class predictions (``int64``)."""
        raise NotImplementedError

    def binary_weights(self) -> dict[str, np.ndarray]:
        """``{layer: forward signs}`` of every binarised layer (host ``int8`` arrays)."""
        raise NotImplementedError

    def cost(self, n_train: int) -> dict[str, float]:
        """Hardware-cost columns of one epoch on ``n_train`` samples (none by default)."""
        return {}

    def state_dict(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """``(arrays, meta)``: everything needed to resume exactly (JSON-ready ``meta``)."""
        raise NotImplementedError

    def load_state_dict(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        raise NotImplementedError

    # -- shared ------------------------------------------------------------------------------
    def score(self, x: Any, y: Any) -> float:
        """Accuracy in percent."""
        return float(self.evaluate(x, y)["test_accuracy"])

    def layer_columns(self) -> dict[str, float]:
        """``L/flip_ratio`` (since the previous call) and ``L/bit_entropy`` of every layer."""
        from bnnlab.entropy import bit_entropy, flip_ratio

        now = {k: to_numpy(v) for k, v in self.binary_weights().items()}
        cols: dict[str, float] = {}
        for name, w in now.items():
            before = None if self._previous is None else self._previous.get(name)
            cols[f"{name}/flip_ratio"] = (
                float(flip_ratio(before, w, encoding="pm1")) if before is not None else np.nan
            )
            cols[f"{name}/bit_entropy"] = float(bit_entropy(w, encoding="pm1"))
        self._previous = now
        return cols

    def check_data(self, data: Any) -> None:
        """``data`` must be a :class:`TrainData` of the shape the method was built for."""
        if not isinstance(data, TrainData):
            raise TypeError(f"data: expected a TrainData, got {type(data).__name__}")
        if (data.n_features, data.n_classes) != (self.n_features, self.n_classes):
            raise ValueError(
                f"data: {data.n_features} features and {data.n_classes} classes, the method "
                f"was built for {self.n_features} and {self.n_classes}"
            )

    def fit(
        self,
        data: TrainData,
        *,
        epochs: int,
        callback: Callable[[dict[str, Any]], None] | None = None,
        progress: bool = False,
    ) -> list[dict[str, Any]]:
        """Train ``epochs`` more epochs on ``data``; return (and pass to ``callback``) the rows."""
        self.check_data(data)
        epochs = check_int(epochs, "epochs", minimum=0)
        if self._previous is None:
            self.layer_columns()  # the starting point of the first epoch's flips
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=epochs, unit="epoch", desc=self.alias)
        rows = []
        try:
            for _ in range(epochs):
                t0 = time.perf_counter()
                train = self.fit_epoch(data.x_train, data.y_train)
                seconds = time.perf_counter() - t0
                self.epoch += 1
                row: dict[str, Any] = {"epoch": self.epoch, **train}
                row.update(self.evaluate(data.x_test, data.y_test))
                row["seconds"] = seconds
                row.update(self.layer_columns())
                row.update(self.cost(int(data.x_train.shape[0])))
                rows.append(row)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(test=f"{row['test_accuracy']:.2f}%")
                if callback is not None:
                    callback(row)
        finally:
            if bar is not None:
                bar.close()
        return rows
