"""Latent-weight training loop (STE family, SiMaN) with per-epoch metrics, callbacks and records.

One epoch: ``model.set_epoch(e, epochs)`` (binarizer schedules: SiMaN's clip, IR-Net's EDE), a seeded
permutation of the training set split into ``ceil(n / batch_size)`` batches of near-equal size
(``numpy.array_split``: no tiny last batch for BatchNorm), and for each batch
forward (training mode) → softmax cross-entropy → backward → optimiser step, with the learning rate
set from the schedule before the step. Then evaluation on the test set (evaluation mode), the
callbacks, and the recorder. Rows use the keys and units of :mod:`bnnlab.learn.metrics`
(``train_accuracy`` and ``test_accuracy`` in percent).

Determinism: the shuffling uses only ``numpy.random.default_rng(seed)``; the model's initialisation
has its own seed. The same seeds on the same machine give identical numbers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from bnnlab._validation import as_array, check_finite, check_int, make_rng
from bnnlab._xp import namespace
from bnnlab.learn.metrics import percent
from bnnlab.nn._module import Layer, Sequential
from bnnlab.nn.loss import softmax_cross_entropy
from bnnlab.optim._base import Optimizer
from bnnlab.optim.schedules import Schedule

Callback = Callable[[int, Layer, dict[str, Any]], Mapping[str, Any] | None]


def _check_xy(x: Any, y: Any, x_name: str, y_name: str) -> tuple[Any, Any]:
    """Samples ``x (N, ...)`` (real, finite) and integer labels ``y (N,)`` >= 0, named in errors."""
    x = as_array(x, x_name)
    if x.ndim < 2:
        raise ValueError(
            f"{x_name}: expected samples along the first axis, shape (N, features...), "
            f"got shape {tuple(x.shape)}"
        )
    if x.dtype.kind not in "biuf":
        raise TypeError(f"{x_name}: expected real-valued samples, got dtype {x.dtype}")
    check_finite(x, x_name)
    y = as_array(y, y_name, ndim=1)
    if y.dtype.kind not in "iu":
        raise TypeError(f"{y_name}: expected an integer array, got dtype {y.dtype}")
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"{y_name}: {y.shape[0]} labels for {x.shape[0]} samples of {x_name} "
            "(first axis must match)"
        )
    if int(y.min()) < 0:
        raise ValueError(f"{y_name}: negative label {int(y.min())}")
    return x, y


def _pair(value: Any, split: str) -> tuple[Any, Any]:
    """The ``(x, y)`` of one split of ``data``, validated under the names ``x_<split>``/``y_<split>``."""
    try:
        x, y = value
    except (TypeError, ValueError):
        raise ValueError(
            f"data: the {split!r} entry must be a pair (x_{split}, y_{split})"
        ) from None
    return _check_xy(x, y, f"x_{split}", f"y_{split}")


def _split_data(data: Any) -> tuple[tuple[Any, Any], tuple[Any, Any] | None]:
    if isinstance(data, Mapping):
        if "train" not in data:
            raise ValueError("data: a mapping needs a 'train' entry (x, y) and optionally 'test'")
        train = _pair(data["train"], "train")
        test = _pair(data["test"], "test") if data.get("test") is not None else None
        return train, test
    data = tuple(data)
    if len(data) == 2:
        return _pair(data, "train"), None
    if len(data) == 4:
        return _pair(data[:2], "train"), _pair(data[2:], "test")
    raise ValueError(
        f"data: expected (x_train, y_train[, x_test, y_test]) or a mapping, got {len(data)} items"
    )


def _model_dtype(model: Layer) -> Any:
    params = model.parameters()
    return params[0].data.dtype if params else np.float32


def _batch(model: Layer, x: Any, y: Any, idx: Any) -> tuple[Any, Any]:
    xp = namespace(*(p.data for p in model.parameters()))
    xb = xp.asarray(x[idx], dtype=_model_dtype(model))
    return xb, xp.asarray(y[idx])


def _check_labels(logits: Any, y: Any, y_name: str) -> None:
    """Every label of ``y`` (all of them, not one batch's) indexes an output of the model."""
    if logits.ndim != 2:
        raise ValueError(
            f"model: expected 2-D (N, classes) logits, got shape {tuple(logits.shape)}"
        )
    if int(y.max()) >= logits.shape[1]:
        raise ValueError(
            f"{y_name}: label {int(y.max())} but the model has {logits.shape[1]} outputs"
        )


def evaluate(
    model: Layer, x: Any, y: Any, batch_size: int = 1000, *, loss: Callable = softmax_cross_entropy
) -> dict[str, float]:
    r"""Mean loss and accuracy of ``model`` (evaluation mode) on ``(x, y)``.

    .. math:: \text{loss} = \frac1N\sum_{i=1}^N \ell(z_i, y_i),\qquad
              \text{accuracy} = \frac{100}{N}\sum_{i=1}^N 1[\operatorname{argmax}_c z_{ic} = y_i]

    with :math:`z_i` the logits of sample :math:`i` and :math:`\ell` the ``loss`` (ties in the
    argmax go to the lowest class index, as ``argmax`` does).

    Parameters
    ----------
    model : Layer
        A bnnlab.nn model whose output is ``(N, classes)`` logits.
    x : array (N, ...)
        Real, finite samples (converted batch by batch to the model's dtype and array library).
    y : integer array (N,)
        Labels in ``[0, classes)``.
    batch_size : int
        Samples per forward pass (>= 1).
    loss : callable ``(logits, labels) -> (loss, grad)``
        The mean loss of a batch (softmax cross-entropy by default).

    Returns
    -------
    dict
        ``{"loss": float, "accuracy": float}``: the mean loss per sample and the accuracy in
        **percent** (0-100, :func:`bnnlab.learn.metrics.percent`), the unit of every
        ``*_accuracy`` column of :mod:`bnnlab.learn.metrics`.

    Raises
    ------
    TypeError
        ``model`` not a Layer; ``x`` not real-valued; ``y`` not integer; ``batch_size`` not an int.
    ValueError
        ``x`` with fewer than 2 dimensions, empty or holding NaN/inf; ``y`` not 1-D, of another
        length than ``x``, or with a label outside ``[0, classes)``.
    """
    if not isinstance(model, Layer):
        raise TypeError(f"model: expected a bnnlab.nn Layer, got {type(model).__name__}")
    x, y = _check_xy(x, y, "x", "y")
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    return _evaluate(model, x, y, batch_size, loss, "y")


def _evaluate(model: Layer, x: Any, y: Any, batch_size: int, loss: Callable, y_name: str) -> dict:
    """:func:`evaluate` on validated data (``y_name`` names the labels in errors)."""
    n = x.shape[0]
    total_loss = 0.0
    correct = 0
    for start in range(0, n, batch_size):
        idx = slice(start, start + batch_size)
        xb, yb = _batch(model, x, y, idx)
        logits = model.forward(xb, False)
        if start == 0:
            _check_labels(logits, y, y_name)
        lval, _ = loss(logits, yb)
        total_loss += float(lval) * xb.shape[0]
        correct += int((namespace(logits).argmax(logits, axis=1) == yb).sum())
    return {"loss": total_loss / n, "accuracy": percent(correct, n)}


def train(
    model: Layer,
    data: Any,
    *,
    optimizer: Optimizer,
    schedule: Schedule | None = None,
    epochs: int,
    batch_size: int,
    seed: Any,
    callbacks: Iterable[Callback] = (),
    progress: bool = True,
    recorder: Any = None,
    eval_batch_size: int = 1000,
    record_initial: bool = False,
    loss: Callable = softmax_cross_entropy,
    start_epoch: int = 0,
) -> list[dict[str, Any]]:
    """Train ``model`` and return one metrics row per epoch.

    Parameters
    ----------
    model : Layer
        E.g. :func:`bnnlab.nn.binary_mlp`; its parameters decide the array library and dtype
        (each batch is converted with ``xp.asarray(x[idx], dtype)``, inputs are not rescaled).
    data : tuple or mapping
        ``(x_train, y_train)``, ``(x_train, y_train, x_test, y_test)`` or
        ``{"train": (x, y), "test": (x, y)}``; integer labels.
    optimizer : Optimizer
        Built on the model's parameters (:mod:`bnnlab.optim`).
    schedule : Schedule, optional
        Sets ``optimizer.lr`` before every step (per epoch or per step, see
        :mod:`bnnlab.optim.schedules`); ``None`` keeps the optimiser's rate.
    epochs, batch_size : int
    seed : int or numpy.random.Generator
        Seed of the shuffling.
    callbacks : iterable of callables ``(epoch, model, metrics) -> dict | None``
        Called after each epoch's evaluation with the 1-based epoch and a copy of the row; returned
        dicts are merged into the row (a key clashing with an existing one is an error).
    progress : bool
        Show a tqdm progress bar per epoch (on stderr).
    recorder : bnnlab.experiments.records.RunRecorder, optional
        Each row is appended (atomically rewritten on disk) and the run marked finished at the end.
        Callers wanting to skip finished runs check ``recorder.finished`` first.
    eval_batch_size : int
    record_initial : bool
        Also produce an ``epoch = 0`` row before training (test metrics and callbacks on the
        initial model; train metrics and lr are NaN).
    loss : callable ``(logits, labels) -> (loss, grad)``
    start_epoch : int
        Resume at this 0-based epoch of a run of ``epochs`` epochs (the model, the optimiser and
        the generator ``seed`` restored from a checkpoint): only epochs ``start_epoch ..
        epochs - 1`` run, with the schedules of an uninterrupted run.

    Optimiser hooks: ``optimizer.set_epoch(epoch, epochs)`` at the start of every epoch (e.g.
    ProxQuant's λ homotopy) and ``optimizer.finalize()`` after the last step of the run (e.g.
    ProxQuant's hard quantisation), before the last epoch's evaluation.

    Returns
    -------
    list of dict
        Rows in the vocabulary of :mod:`bnnlab.learn.metrics`: ``epoch`` (1-based),
        ``train_loss`` and ``train_accuracy`` (running mean loss and accuracy over the epoch's
        batches, training mode), ``test_loss`` and ``test_accuracy`` (if a test set is given,
        :func:`evaluate`), ``seconds`` (training time of the epoch); accuracies in **percent**.
        Beside them ``lr`` (the rate of the epoch's last step) and the callbacks' keys.

    Raises
    ------
    TypeError
        ``model``, ``optimizer``, ``schedule``, ``callbacks`` or ``seed`` of the wrong kind;
        samples not real-valued or labels not integer (named ``x_train``, ``y_train``, ``x_test``,
        ``y_test`` after their place in ``data``).
    ValueError
        ``data`` of the wrong shape; samples with fewer than 2 dimensions, empty or holding
        NaN/inf; labels of another length than their samples, negative or not below the model's
        number of outputs (checked for every label, train and test, before the first step).
    FloatingPointError
        Training diverged: non-finite logits refused by the loss, or a non-finite epoch loss.
    """
    from tqdm import tqdm

    if not isinstance(model, Layer):
        raise TypeError(f"model: expected a bnnlab.nn Layer, got {type(model).__name__}")
    if not isinstance(optimizer, Optimizer):
        raise TypeError(
            f"optimizer: expected a bnnlab.optim Optimizer, got {type(optimizer).__name__}"
        )
    if schedule is not None and not isinstance(schedule, Schedule):
        raise TypeError(f"schedule: expected a Schedule or None, got {type(schedule).__name__}")
    epochs = check_int(epochs, "epochs", minimum=1)
    start_epoch = check_int(start_epoch, "start_epoch", minimum=0)
    if start_epoch > epochs:
        raise ValueError(f"start_epoch: {start_epoch} is past the run's {epochs} epochs")
    batch_size = check_int(batch_size, "batch_size", minimum=2)
    eval_batch_size = check_int(eval_batch_size, "eval_batch_size", minimum=1)
    callbacks = list(callbacks)
    for cb in callbacks:
        if not callable(cb):
            raise TypeError(f"callbacks: {cb!r} is not callable")
    rng = make_rng(seed)
    (x, y), test = _split_data(data)
    n = x.shape[0]
    if n < 2:
        raise ValueError("data: need at least 2 training samples")
    steps = math.ceil(n / batch_size)
    rows: list[dict[str, Any]] = []

    def finish_row(epoch: int, row: dict[str, Any]) -> dict[str, Any]:
        if test is not None:
            ev = _evaluate(model, test[0], test[1], eval_batch_size, loss, "y_test")
            row["test_loss"], row["test_accuracy"] = ev["loss"], ev["accuracy"]
        for cb in callbacks:
            extra = cb(epoch, model, dict(row))
            if extra:
                clash = set(extra) & set(row)
                if clash:
                    raise ValueError(f"callbacks: {cb!r} returned existing keys {sorted(clash)}")
                row.update(extra)
        if recorder is not None:
            recorder.append(row)
        rows.append(row)
        return row

    if record_initial:
        nan = float("nan")
        row0 = {"epoch": 0, "train_loss": nan, "train_accuracy": nan, "lr": nan, "seconds": 0.0}
        finish_row(0, row0)

    for epoch in range(start_epoch, epochs):
        model.set_epoch(epoch, epochs)
        optimizer.set_epoch(epoch, epochs)
        batches = np.array_split(rng.permutation(n), steps)
        total_loss = 0.0
        correct = 0
        lr = optimizer.lr
        t0 = time.perf_counter()
        bar = tqdm(
            total=steps, desc=f"epoch {epoch + 1}/{epochs}", disable=not progress, leave=False
        )
        try:
            for step, idx in enumerate(batches):
                if schedule is not None:
                    lr = schedule.lr(epoch, step, steps)
                    optimizer.set_lr(lr)
                xb, yb = _batch(model, x, y, idx)
                logits = model.forward(xb, True)
                if epoch == start_epoch and step == 0:
                    _check_labels(logits, y, "y_train")
                    if test is not None:
                        _check_labels(logits, test[1], "y_test")
                try:
                    lval, grad = loss(logits, yb)
                except ValueError as err:
                    if bool(namespace(logits).isfinite(logits).all()):
                        raise
                    raise FloatingPointError(
                        f"train: logits became non-finite in epoch {epoch + 1}, step {step + 1}"
                    ) from err
                if isinstance(model, Sequential):
                    model.backward(grad, input_grad=False)
                else:
                    model.backward(grad)
                optimizer.step()
                bl = float(lval)
                total_loss += bl * len(idx)
                correct += int((namespace(logits).argmax(logits, axis=1) == yb).sum())
                bar.update(1)
                if progress:
                    bar.set_postfix(loss=f"{bl:.4f}", lr=f"{lr:.3g}", refresh=False)
        finally:
            bar.close()
        seconds = time.perf_counter() - t0
        if not math.isfinite(total_loss):
            raise FloatingPointError(f"train: loss became {total_loss} in epoch {epoch + 1}")
        row = {
            "epoch": epoch + 1,
            "train_loss": total_loss / n,
            "train_accuracy": percent(correct, n),
            "lr": float(lr),
            "seconds": seconds,
        }
        if epoch == epochs - 1:
            optimizer.finalize()
        finish_row(epoch + 1, row)
    if recorder is not None:
        recorder.finish()
    return rows
