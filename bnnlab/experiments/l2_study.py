"""The ℓ2 / Laplacian study: does weight decay make latent weights Laplacian and cap bit entropy?

SiMaN (REFERENCES.md §1.1) claims that the latent weights of binarized networks trained with ℓ2
come out roughly Laplacian, so the angle-optimal {0,1} code keeps :math:`k^*/n \\approx 1/e` ones
(bit entropy :math:`H(1/e) \\approx 0.949`), and that removing ℓ2 fixes this. This module trains the
grid

    models {binary MLP, small binary CNN} × weight binarizers {ste_sign, siman}
    × ℓ2 on the binarized latent weights {5e-4, 0, "matched" (strong)} × seeds

and records, every epoch, the test accuracy and the latent-weight statistics of every binarized
layer (:class:`~bnnlab.experiments.hooks.WeightStatsHook`; epoch 0 is the initialisation).

Which parameters get which decay (coupled ℓ2, :math:`g \\leftarrow g + \\lambda w`, SGD):

- **binarized latent weights** (parameters tagged ``"binarized"``): the arm's :math:`\\lambda`
  (``config["l2"]``: 5e-4 as in the claim, 0 as in the SiMaN code, or the matched strong arm);
- **learnable per-channel scales** α (tag ``"scale"``): 0, as in the SiMaN code;
- **everything else** (BatchNorm γ/β, the real-valued output layer's weight and bias): 5e-4 in
  every arm (``config["rest_l2"]``), as the SiMaN CIFAR recipe.

So the "no ℓ2" arm is the SiMaN recipe, and the arms differ only in the decay of the binarized
latent weights.

The **matched (strong) arm**. The claim is about weights at an ℓ2 equilibrium. Under coupled ℓ2
alone a weight decays as :math:`\\exp(-\\lambda\\sum_t\\eta_t/(1-\\mu))`; SiMaN's CIFAR recipe
(400 epochs, lr 0.1 cosine, momentum 0.9, λ = 5e-4) decays its initialisation by ≈ 19.7 e-folds
(:func:`siman_decay_efolds`), while a run of a few epochs at 5e-4 decays it by a fraction of one
e-fold — its weights are still mostly their initialisation. The matched arm therefore sets λ so that
the short run has the recipe's integrated decay (:meth:`Scale.matched_l2`: ≈ 0.05 for the default
MLP, ≈ 0.24 for the default CNN). It is labelled "strong" everywhere; 5e-4 stays as required.

Recipes per weight binarizer: ``ste_sign`` — sign weights and sign activations with the clipped
STE, no scale (Hubara et al. 2016); ``siman`` — SiMaN's weight binarizer (per-filter
standardisation, median split :math:`k = n/2`, identity STE into :math:`|w|`), SiMaN's centred
and standardised activation sign (``siman_act``) and the learnable scale α (REFERENCES.md §1.3).
Both start from He-normal (Gaussian) latent weights, so a Laplacian shape at the end is learned.
Optimiser: SGD, momentum 0.9, lr 0.1, cosine schedule with one warm-up epoch; batch 128.

Scale of the default study (``fashion-mnist-mini``, 10k train / 2k test images, seeds 0-2,
36 runs): MLP 784-256-256-10 for 10 epochs on all 10k images; CNN conv 8-16 (3×3) for 5 epochs
on a seeded 4k-image subset per run (the numpy im2col convolution costs ~5 s per 10k images on
one core); fits on 4000 values per layer and epoch. Measured: 6.1 min of training for the 36
runs, 6.5 min for the four figures from scratch, on one thread of an AMD EPYC (the captions of the
figures print the total measured where they run). ``full=True`` trains on full
Fashion-MNIST (60k / 10k) for 30 / 15 epochs, CNN conv 16-32.

Records: every run is a :class:`~bnnlab.experiments.records.RunRecorder` under ``root`` named
``"l2-study"``, keyed by the hash of its full configuration. :func:`run_study` skips finished runs
and recomputes unfinished ones from scratch, overwriting only their own partial record, so an
interrupted study restarted with the same arguments resumes without touching finished records.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from bnnlab._validation import check_choice, check_int, check_real
from bnnlab.experiments.hooks import WeightStatsHook, layer_rows
from bnnlab.experiments.records import RunRecorder, read_records

STUDY = "l2-study"
"""Record name (file prefix) of the study's runs."""
RECORD_VERSION = 2
"""Version of the rows a run records, part of every run's configuration (hence of its record key):
2 since the rows use the :mod:`bnnlab.learn.metrics` keys (``test_accuracy`` in percent; version 1
wrote ``test_acc`` as a fraction), so records of version 1 are never resumed as finished."""

MODELS = ("mlp", "cnn")
BINARIZERS = ("ste_sign", "siman")
L2_CLAIM = 5e-4
"""The ℓ2 strength of the claim (SiMaN's CIFAR weight decay)."""
MATCHED = "matched"
"""The strong arm: ℓ2 scaled up so that a short run decays as much as SiMaN's 400-epoch recipe."""
L2_ARMS: tuple[float | str, ...] = (L2_CLAIM, 0.0, MATCHED)

#: Integrated weight decay of the SiMaN CIFAR recipe at λ = 5e-4:
#: λ Σ_t η_t / (1 − μ) over 400 epochs × 196 steps (batch 256 of 50k), lr 0.1 cosine with 5
#: warm-up epochs (per epoch), momentum 0.9 — computed by :func:`integrated_lr`.
SIMAN_RECIPE = {"epochs": 400, "steps": 196, "lr": 0.1, "warmup": 5, "momentum": 0.9}


def integrated_lr(
    lr: float, epochs: int, steps: int, warmup: float, momentum: float, interval: str = "step"
) -> float:
    r""":math:`\sum_t \eta_t / (1-\mu)`: the effective step length summed over a run.

    Under coupled ℓ2 alone a weight decays as :math:`\exp(-\lambda \sum_t \eta_t/(1-\mu))`
    (momentum :math:`\mu` amplifies a slowly varying force by :math:`1/(1-\mu)`), so
    :math:`\lambda` times this sum is the number of e-folds the initialisation has decayed by.
    """
    from bnnlab.optim.schedules import Cosine

    momentum = check_real(momentum, "momentum", low=0.0, high=1.0, open_high=True)
    steps = check_int(steps, "steps", minimum=1)
    sched = Cosine(lr, epochs, warmup=warmup, interval=interval)
    per = steps if interval == "step" else 1
    total = sum(sched.lr(e, i, per) for e in range(epochs) for i in range(per))
    return total * (steps / per) / (1.0 - momentum)


def siman_decay_efolds(l2: float = L2_CLAIM) -> float:
    """e-folds of decay of the SiMaN CIFAR recipe (≈ 19.7 at λ = 5e-4)."""
    l2 = check_real(l2, "l2", low=0.0)
    r = SIMAN_RECIPE
    return l2 * integrated_lr(r["lr"], r["epochs"], r["steps"], r["warmup"], r["momentum"], "epoch")


_RECIPES = {
    "ste_sign": {"weight_binarizer": "ste_sign", "act_binarizer": "ste_sign", "scale": False},
    "siman": {"weight_binarizer": "siman", "act_binarizer": "siman_act", "scale": True},
}


@dataclass(frozen=True)
class Scale:
    """Dataset, architecture and recipe of one scale of the study (everything but the grid)."""

    dataset: str = "fashion-mnist-mini"
    epochs: Mapping[str, int] = field(default_factory=lambda: {"mlp": 10, "cnn": 5})
    train_size: Mapping[str, int | None] = field(default_factory=lambda: {"mlp": None, "cnn": 4000})
    hidden: tuple[int, ...] = (256, 256)
    channels: tuple[int, ...] = (8, 16)
    batch_size: int = 128
    lr: float = 0.1
    momentum: float = 0.9
    warmup_epochs: int = 1
    rest_l2: float = 5e-4
    max_samples: int = 4000

    def steps_per_epoch(self, model: str) -> int:
        """Mini-batches per epoch of ``model``'s runs."""
        n = self.train_size[model] or _train_count(self.dataset)
        return math.ceil(min(n, _train_count(self.dataset)) / self.batch_size)

    def matched_l2(self, model: str) -> float:
        """λ giving ``model``'s run the integrated decay of the SiMaN recipe at 5e-4 (3 digits)."""
        total = integrated_lr(
            self.lr,
            self.epochs[model],
            self.steps_per_epoch(model),
            min(float(self.warmup_epochs), self.epochs[model] / 2),
            self.momentum,
        )
        return float(f"{siman_decay_efolds() / total:.3g}")

    def config(self, model: str, binarizer: str, l2: float | str, seed: int) -> dict[str, Any]:
        """The full, JSON-serialisable configuration of one run (its record key).

        ``l2`` is a number or :data:`MATCHED` (resolved by :meth:`matched_l2`); ``l2_arm`` names
        the arm (``"claim"`` for 5e-4, ``"none"`` for 0, ``"matched"``, else ``"custom"``).
        """
        check_choice(model, "model", MODELS)
        check_choice(binarizer, "binarizer", BINARIZERS)
        if l2 == MATCHED:
            arm, l2 = MATCHED, self.matched_l2(model)
        else:
            l2 = check_real(l2, "l2", low=0.0)
            arm = "none" if l2 == 0 else "claim" if l2 == L2_CLAIM else "custom"
        check_int(seed, "seed", minimum=0)
        return {
            "study": STUDY,
            "version": RECORD_VERSION,
            "dataset": self.dataset,
            "model": model,
            "binarizer": binarizer,
            "l2": float(l2),
            "l2_arm": arm,
            "seed": int(seed),
            "epochs": int(self.epochs[model]),
            "train_size": self.train_size[model],
            "arch": list(self.hidden if model == "mlp" else self.channels),
            "batch_size": self.batch_size,
            "lr": self.lr,
            "momentum": self.momentum,
            "warmup_epochs": self.warmup_epochs,
            "rest_l2": self.rest_l2,
            "max_samples": self.max_samples,
        }


DEFAULT = Scale()
"""The default study on the embedded mini dataset (about 6-7 min on one unloaded core)."""

FULL = Scale(
    dataset="fashion-mnist",
    epochs={"mlp": 30, "cnn": 15},
    train_size={"mlp": None, "cnn": None},
    channels=(16, 32),
    max_samples=10_000,
)
"""The study on full Fashion-MNIST (needs the official files, e.g. Debian's dataset-fashion-mnist)."""

REDUCED = replace(
    DEFAULT,
    epochs={"mlp": 4, "cnn": 2},
    train_size={"mlp": 3000, "cnn": 1500},
    hidden=(128, 128),
    max_samples=2000,
)
"""A quick scale for smoke runs and for notebooks without records (a few seconds per run): MLP
784-128-128-10 for 4 epochs on 3k images, CNN 8-16 for 2 epochs on 1.5k images, fits on 2000
values. Too short for trustworthy conclusions; it exercises the whole path."""


def grid(
    scale: Scale = DEFAULT,
    *,
    seeds: Iterable[int] = (0, 1, 2),
    l2s: Iterable[float] = L2_ARMS,
    models: Iterable[str] = MODELS,
    binarizers: Iterable[str] = BINARIZERS,
) -> list[dict[str, Any]]:
    """Configurations of the grid, ordered model, binarizer, ℓ2, seed."""
    return [
        scale.config(m, b, l2, s) for m in models for b in binarizers for l2 in l2s for s in seeds
    ]


# -- one run --------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _train_count(name: str) -> int:
    from bnnlab.data import load

    return int(load(name, split="train")[1].shape[0])


@functools.lru_cache(maxsize=2)
def _standardised(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Float32 images of a dataset, scaled by the training set's mean and std (cached)."""
    from bnnlab.data import load

    xtr, ytr = load(name, split="train")
    xte, yte = load(name, split="test")
    mu = float(xtr.mean(dtype=np.float64))
    sd = float(xtr.std(dtype=np.float64))

    def prep(x: np.ndarray) -> np.ndarray:
        out = x.reshape(len(x), -1).astype(np.float32)
        out -= np.float32(mu)
        out /= np.float32(sd)
        out.setflags(write=False)
        return out

    return prep(xtr), ytr.astype(np.int64), prep(xte), yte.astype(np.int64)


def _dataset(name: str, train_size: int | None, seed: int) -> tuple[tuple, tuple]:
    """The run's training images (a seeded subset when ``train_size`` is set) and the test set."""
    xtr, ytr, xte, yte = _standardised(name)
    if train_size is not None and train_size < len(xtr):
        idx = np.sort(np.random.default_rng([seed, 1]).permutation(len(xtr))[:train_size])
        xtr, ytr = xtr[idx], ytr[idx]
    return (xtr, ytr), (xte, yte)


def build_model(config: Mapping[str, Any]) -> Any:
    """The run's model (``binary_mlp`` or ``binary_cnn``) with the binarizer's recipe."""
    from bnnlab.nn.models import binary_cnn, binary_mlp

    recipe = _RECIPES[config["binarizer"]]
    seed = np.random.default_rng([config["seed"], 0])
    if config["model"] == "mlp":
        return binary_mlp(784, tuple(config["arch"]), 10, seed=seed, **recipe)
    return binary_cnn((1, 28, 28), tuple(config["arch"]), 10, seed=seed, **recipe)


def decay_groups(model: Any, l2: float, rest_l2: float) -> list[dict[str, Any]]:
    """Parameter groups by tag: binarized → ``l2``, scales α → 0, everything else → ``rest_l2``."""
    groups: dict[str, list[Any]] = {"binarized": [], "scale": [], "rest": []}
    for _, p in model.named_parameters():
        key = "binarized" if "binarized" in p.tags else "scale" if "scale" in p.tags else "rest"
        groups[key].append(p)
    decay = {"binarized": l2, "scale": 0.0, "rest": rest_l2}
    return [{"params": ps, "weight_decay": decay[k], "name": k} for k, ps in groups.items() if ps]


def run(
    config: Mapping[str, Any],
    root: str | os.PathLike[str],
    *,
    callbacks: Sequence[Callable[..., Any]] = (),
    progress: bool = False,
    threads: int | None = 1,
) -> bool:
    """Train one configuration and record it; return False when a finished record exists.

    ``threads`` caps the BLAS/OpenMP threads while it trains (``None`` leaves them alone). The cap
    is applied here, not by the caller, so a run gives the same numbers whoever starts it: float32
    BLAS results depend on how many threads split a product.

    Rows (one per epoch, epoch 0 the initialisation): ``epoch``, the metrics of
    :func:`bnnlab.learn.latent.train` (``train_loss``, ``train_accuracy``, ``test_loss``,
    ``test_accuracy`` with accuracies in percent as in :mod:`bnnlab.learn.metrics`, ``lr``,
    ``seconds``), ``elapsed_s`` (seconds since the run started) and the weight statistics of every
    binarized layer (``"layers"`` and ``"<layer>/<stat>"`` keys; see
    :mod:`bnnlab.experiments.hooks`). ``callbacks`` are called after the study's own ones (tests
    use them to interrupt a run).
    """
    from bnnlab.learn.latent import train
    from bnnlab.optim import SGD
    from bnnlab.optim.schedules import Cosine

    rec = RunRecorder(root, STUDY, config)
    if rec.finished:
        return False
    t0 = time.perf_counter()
    (xtr, ytr), (xte, yte) = _dataset(config["dataset"], config["train_size"], config["seed"])
    model = build_model(config)
    hook = WeightStatsHook(seed=config["seed"], max_samples=config["max_samples"])

    def elapsed(epoch: int, model: Any, metrics: Any = None) -> dict:
        return {"elapsed_s": time.perf_counter() - t0}

    optimizer = SGD(
        decay_groups(model, config["l2"], config["rest_l2"]),
        lr=config["lr"],
        momentum=config["momentum"],
    )
    # the warm-up is capped at half the run so that very short runs (tests) still anneal
    warmup = min(float(config["warmup_epochs"]), config["epochs"] / 2)
    schedule = Cosine(config["lr"], config["epochs"], warmup=warmup, interval="step")
    with _blas_threads(threads):
        train(
            model,
            (xtr, ytr, xte, yte),
            optimizer=optimizer,
            schedule=schedule,
            epochs=config["epochs"],
            batch_size=config["batch_size"],
            seed=np.random.default_rng([config["seed"], 2]),
            callbacks=(hook, elapsed, *callbacks),
            progress=progress,
            recorder=rec,
            record_initial=True,
        )
    return True


# -- the study ------------------------------------------------------------------------------------


def run_study(
    root: str | os.PathLike[str],
    *,
    full: bool = False,
    scale: Scale | None = None,
    seeds: Iterable[int] = (0, 1, 2),
    l2s: Iterable[float] = L2_ARMS,
    models: Iterable[str] = MODELS,
    binarizers: Iterable[str] = BINARIZERS,
    progress: bool = False,
    log: Callable[[str], Any] | None = print,
    threads: int | None = 1,
) -> list[dict[str, Any]]:
    """Run (or resume) the grid under ``root``; return its epoch rows (:func:`read_records`).

    ``scale`` defaults to :data:`FULL` when ``full`` else :data:`DEFAULT`. Finished runs are
    skipped; unfinished ones are recomputed from scratch. ``threads`` caps the BLAS/OpenMP threads
    during training (through ``threadpoolctl`` when it is installed; ``None`` leaves them alone):
    the matrices are small, so one thread is the fastest on a shared machine, and the study's
    timings are per core.
    """
    scale = scale or (FULL if full else DEFAULT)
    configs = grid(scale, seeds=seeds, l2s=l2s, models=models, binarizers=binarizers)
    for i, cfg in enumerate(configs, 1):
        t0 = time.perf_counter()
        trained = run(cfg, root, progress=progress, threads=threads)
        if log is not None:
            what = f"{time.perf_counter() - t0:6.1f} s" if trained else "  (done)"
            log(
                f"[{i:2d}/{len(configs)}] {what} {cfg['model']} {cfg['binarizer']} "
                f"l2={cfg['l2']:g} seed={cfg['seed']}"
            )
    wanted = {RunRecorder(root, STUDY, c).id for c in configs}
    return [r for r in read_records(root, STUDY) if r["run"] in wanted]


def _blas_threads(threads: int | None) -> Any:
    """Context manager limiting BLAS/OpenMP threads (a no-op without threadpoolctl or threads)."""
    if threads is None:
        return contextlib.nullcontext()
    check_int(threads, "threads", minimum=1)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        return contextlib.nullcontext()
    return threadpool_limits(limits=threads)


def tidy(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per run × epoch × binarized layer (see :func:`bnnlab.experiments.hooks.layer_rows`)."""
    return layer_rows(rows)


ARM_KEYS = ("model", "binarizer", "l2")
MIN_FAN_IN = 64
"""Layers with fewer weights per filter are left out of the figures' and notebook's averages: a
filter's shape cannot be judged from a handful of weights (the CNN's first convolution has 9)."""
SUMMARY_STATS = (
    "drift",
    "std.beta",
    "raw.beta",
    "kstar.exact",
    "kstar.pred_std",
    "opt.entropy",
    "sign.entropy",
    "test_accuracy",
)


def summarize(
    rows: Iterable[Mapping[str, Any]], *, epoch: int | str = "last", min_fan_in: int = 0
) -> list[dict[str, Any]]:
    """Per arm (model, binarizer, ℓ2): mean and standard deviation over runs and layers.

    Takes epoch rows or tidy layer rows. ``epoch="last"`` uses each run's final epoch; an int picks
    that epoch (0: the initialisation). Reports the arm (``model``, ``binarizer``, ``l2``,
    ``l2_arm``), :data:`SUMMARY_STATS` (``<stat>`` mean and ``<stat>.sd``), ``n_runs``, the
    count of each best family over runs × layers for both samples (``std.best.<family>``,
    ``raw.best.<family>``), ``layers`` (the layer names averaged) and ``epoch``. Layers with a
    fan-in below ``min_fan_in`` are left out.
    """
    if epoch != "last":
        epoch = check_int(epoch, "epoch", minimum=0)
    layer = [dict(r) for r in rows]
    if layer and "layer" not in layer[0]:
        layer = tidy(layer)
    layer = [r for r in layer if r.get("fan_in", min_fan_in) >= min_fan_in]
    if not layer:
        raise ValueError("rows: no layer rows to summarize")
    last: dict[str, int] = {}
    for r in layer:
        last[r["run"]] = max(last.get(r["run"], 0), int(r["epoch"]))
    pick = [
        r for r in layer if int(r["epoch"]) == (last[r["run"]] if epoch == "last" else int(epoch))
    ]
    arms: dict[tuple, list[dict[str, Any]]] = {}
    for r in pick:
        arms.setdefault(tuple(r[k] for k in ARM_KEYS), []).append(r)
    out = []
    for key in sorted(arms, key=lambda k: (MODELS.index(k[0]), BINARIZERS.index(k[1]), -k[2])):
        rs = arms[key]
        row: dict[str, Any] = dict(zip(ARM_KEYS, key, strict=True))
        row["l2_arm"] = rs[0].get("l2_arm")
        row["n_runs"] = len({r["run"] for r in rs})
        row["layers"] = sorted({r["layer"] for r in rs})
        row["epoch"] = epoch
        for stat in SUMMARY_STATS:
            vals = np.array([float(r[stat]) for r in rs if r.get(stat) is not None], dtype=float)
            row[stat] = float(vals.mean()) if vals.size else float("nan")
            row[f"{stat}.sd"] = float(vals.std()) if vals.size else float("nan")
        for sample in ("std", "raw"):
            for fam in ("laplace", "gaussian", "gennorm"):
                row[f"{sample}.best.{fam}"] = sum(r.get(f"{sample}.best") == fam for r in rs)
        out.append(row)
    return out


def scale_summary(scale: Scale) -> dict[str, Any]:
    """The scale as plain data (for figure captions and the notebook)."""
    d = asdict(scale)
    d["epochs"] = dict(scale.epochs)
    d["train_size"] = dict(scale.train_size)
    return d


def records_root(out: str | os.PathLike[str]) -> Path:
    """Where figures keep the study's records: ``<out>/records``."""
    return Path(out) / "records"


def arm_label(model: str, binarizer: str, l2: float) -> str:
    """Human-readable arm name; the strong (time-matched) arm is labelled as such."""
    if l2 == 0:
        tag = "no ℓ2"
    elif l2 == L2_CLAIM:
        tag = f"ℓ2={l2:g}"
    else:
        tag = f"ℓ2={l2:.3g} (strong: matched)"
    return f"{model} {binarizer} {tag}"


def _group_order(key: tuple) -> tuple:
    """Sort groups by their fields: models and binarizers in study order, numbers ascending."""
    order = []
    for v in key:
        if v in MODELS:
            order.append((0, MODELS.index(v), 0.0, ""))
        elif v in BINARIZERS:
            order.append((0, BINARIZERS.index(v), 0.0, ""))
        elif isinstance(v, int | float):
            order.append((1, 0, float(v), ""))
        else:
            order.append((2, 0, 0.0, str(v)))
    return tuple(order)


def curves(
    rows: Iterable[Mapping[str, Any]],
    stat: str,
    *,
    by: Sequence[str] = ARM_KEYS,
    layers: Iterable[str] | None = None,
    min_fan_in: int = 0,
) -> dict[tuple, tuple[np.ndarray, np.ndarray, np.ndarray, int]]:
    """Per group (default: per arm), ``(epochs, mean, sd, n)`` of ``stat`` over runs (and layers).

    ``rows`` are epoch rows or tidy layer rows; per-layer statistics need layer rows (they are made
    when ``stat`` is not an epoch-row column). ``layers`` keeps only those layer names, and
    ``min_fan_in`` only layers with at least that many weights per filter. ``n`` is
    the number of values averaged per epoch (runs × layers). Groups come in study order (models,
    binarizers, ascending ℓ2).
    """
    rows = [dict(r) for r in rows]
    if rows and stat not in rows[0] and "layer" not in rows[0]:
        rows = tidy(rows)
    if layers is not None:
        keep = set(layers)
        rows = [r for r in rows if r.get("layer") in keep]
    rows = [r for r in rows if r.get("fan_in", min_fan_in) >= min_fan_in]
    groups: dict[tuple, dict[int, list[float]]] = {}
    for r in rows:
        v = r.get(stat)
        if v is None:
            continue
        groups.setdefault(tuple(r[k] for k in by), {}).setdefault(int(r["epoch"]), []).append(
            float(v)
        )
    out = {}
    for key in sorted(groups, key=_group_order):
        per_epoch = groups[key]
        epochs = np.array(sorted(per_epoch))
        vals = [np.array(per_epoch[e]) for e in epochs]
        out[key] = (
            epochs,
            np.array([v.mean() for v in vals]),
            np.array([v.std() for v in vals]),
            min(len(v) for v in vals),
        )
    return out


def describe(rows: Iterable[Mapping[str, Any]]) -> str:
    """One line for captions: dataset, number of runs, seeds, epochs and total training time."""
    last: dict[str, Mapping[str, Any]] = {}
    for r in rows:
        if r["run"] not in last or r["epoch"] > last[r["run"]]["epoch"]:
            last[r["run"]] = r
    if not last:
        return "no finished runs"
    seconds = sum(float(r.get("elapsed_s") or 0.0) for r in last.values())
    any_row = next(iter(last.values()))
    seeds = sorted({r["seed"] for r in last.values()})
    epochs = sorted({(r["model"], int(r["epoch"])) for r in last.values()})
    return (
        f"{any_row['dataset']}: {len(last)} runs, seeds {seeds}, epochs "
        + ", ".join(f"{m} {e}" for m, e in epochs)
        + f"; {seconds / 60:.1f} min of training in total on this machine"
    )


def layer_panels(rows: Iterable[Mapping[str, Any]], *, min_fan_in: int = MIN_FAN_IN) -> list[tuple]:
    """``[(model, layer), ...]`` of the binarized layers with at least ``min_fan_in`` weights per
    filter, in study and depth order (one figure panel each)."""
    seen: dict[tuple, int] = {}
    for r in rows:
        if r.get("fan_in", 0) >= min_fan_in:
            seen.setdefault((r["model"], r["layer"]), int(r["depth"]))
    return sorted(seen, key=lambda k: (MODELS.index(k[0]), seen[k]))
