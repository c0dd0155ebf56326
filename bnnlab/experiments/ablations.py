"""The paper's ablations of the local-binary learner (REFERENCES.md §2.7), as resumable records.

Each ablation varies one thing of the local-binary network on Fashion-MNIST and keeps everything
else at the paper's defaults (:class:`bnnlab.learn.local.config.LocalBinaryConfig`):

``gamma``
    group size γ of the least-action selection, one hidden layer of K = 1035 (γ divides K);
``clip``
    hidden weights clipped to [-c, c], two hidden layers 135_135;
``rob``
    the robustness margin fraction r, one hidden layer of K = 525;
``depth``
    1, 2, 3, 5 or 10 hidden layers of 1035 (γ = 115, the paper's for that width).

:data:`ABLATIONS` holds the grids and the paper's numbers where it gives them (final-epoch test
accuracy in %, read from the authors' result files; clipping at c <= 16 is reported only as
"about 10 %, no learning"). Every (value, seed) is one run of
:func:`bnnlab.experiments.reproduce.run_one`, recorded under ``out`` like the width table's runs
(a run with the same configuration, e.g. γ = 115 at one layer of 1035 and depth 1, is trained
once and shared). :func:`run_ablation` trains what is missing and returns ours-vs-paper rows
(also written as the record ``ablation-<name>-<dataset>``); :func:`summarize_ablation` tabulates
the finished runs only. The command line is ``bnnlab reproduce local-binary --ablation NAME``;
the figure is ``figures/fig_local_binary_ablations.py`` (:data:`FIGURE_RUNS`).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Sequence
from typing import Any

from bnnlab._validation import SEEDING, check_choice, check_int
from bnnlab.experiments import reproduce as rp

__all__ = [
    "ABLATIONS",
    "FIGURE_RUNS",
    "Ablation",
    "ablation_sweep",
    "describe_figure_runs",
    "run_ablation",
    "summarize_ablation",
]


@dataclasses.dataclass(frozen=True)
class Ablation:
    """One ablation: the field it varies, its network, its grid and the paper's numbers.

    Attributes
    ----------
    name : str
        Alias (``"gamma"``, ``"clip"``, ``"rob"``, ``"depth"``).
    title : str
        What is varied, for tables and figures.
    field : str
        The configuration field varied (``"layers"`` for the depth).
    width : int
        Hidden width of every layer.
    depth : int
        Number of hidden layers (the varied value when ``field == "layers"``).
    paper : dict
        Value → the paper's final test accuracy (%) on :attr:`paper_dataset`, where reported.
    values : tuple
        The paper's grid (default: the values of :attr:`paper`).
    approx : frozenset
        Values whose paper number is only approximate.
    learner, paper_dataset : str
    """

    name: str
    title: str
    field: str
    width: int
    depth: int
    paper: dict[Any, float] = dataclasses.field(default_factory=dict)
    values: tuple[Any, ...] = ()
    approx: frozenset = frozenset()
    learner: str = "local-binary"
    paper_dataset: str = "fashion-mnist"

    def __post_init__(self) -> None:
        if not self.values:
            object.__setattr__(self, "values", tuple(self.paper))

    def point(self, value: Any) -> tuple[str, dict[str, Any]]:
        """``(width label, hyperparameter overrides)`` of the run at ``value``."""
        if self.field == "layers":
            depth = check_int(value, "values", minimum=1)
            return rp.width_label((self.width,) * depth), {}
        return rp.width_label((self.width,) * self.depth), {self.field: value}

    def parse_values(self, text: str) -> tuple[Any, ...]:
        """``"1,45,1035"`` → values of the grid's type (``float`` for ``rob``, else ``int``)."""
        kind = type(self.values[0])
        try:
            values = tuple(kind(v) for v in str(text).split(",") if v.strip())
        except ValueError:
            raise ValueError(
                f"values: expected comma-separated {kind.__name__} values, got {text!r}"
            ) from None
        if not values:
            raise ValueError(f"values: expected at least one value, got {text!r}")
        return values

    def paper_value(self, value: Any, dataset: str) -> tuple[float | None, None]:
        """The paper's ``(mean, None)`` at ``value`` on ``dataset`` (``(None, None)``: none)."""
        if dataset != self.paper_dataset:
            return (None, None)
        return (self.paper.get(value), None)


#: The paper's ablations (REFERENCES.md §2.7), written here once.
ABLATIONS: dict[str, Ablation] = {
    a.name: a
    for a in (
        Ablation(
            "gamma",
            "group size γ, one hidden layer of 1035",
            "groups",
            1035,
            1,
            {
                1: 72.42,
                3: 78.66,
                5: 80.78,
                9: 83.25,
                15: 84.30,
                23: 85.07,
                45: 85.81,
                69: 85.95,
                115: 85.73,
                207: 85.00,
                345: 83.77,
                1035: 80.29,
            },
        ),
        Ablation(
            "clip",
            "hidden weights clipped to ±c, 135_135",
            "clip",
            135,
            2,
            {1: 10.0, 8: 10.0, 16: 10.0, 32: 81.58, 64: 84.77, 128: 85.17},
            approx=frozenset({1, 8, 16}),
        ),
        Ablation(
            "rob",
            "robustness margin fraction r, one hidden layer of 525",
            "rob",
            525,
            1,
            values=(0.0, 0.25, 0.5, 0.75, 1.0),
        ),
        Ablation("depth", "hidden layers of 1035", "layers", 1035, 1, values=(1, 2, 3, 5, 10)),
    )
}


def _ablation(name: str) -> Ablation:
    return ABLATIONS[check_choice(name, "name", tuple(ABLATIONS))]


def _points(
    ab: Ablation, dataset: str, values: Sequence[Any] | None, overrides: dict[str, Any] | None
) -> list[tuple[Any, str, dict[str, Any], Any]]:
    """``[(value, width, overrides, config)]``, every configuration built (validated) first."""
    overrides = dict(overrides or {})
    if ab.field in overrides:
        raise ValueError(f"overrides: {ab.field!r} is what the {ab.name} ablation varies")
    values = tuple(ab.values if values is None else values)
    if not values:
        raise ValueError("values: expected at least one value")
    points = []
    for v in values:
        width, hyper = ab.point(v)
        hyper = {**overrides, **hyper}
        points.append((v, width, hyper, rp.learner_config(ab.learner, dataset, width, **hyper)))
    return points


def _row(ab: Ablation, value: Any, width: str, finals: Sequence[float], epochs: int, dataset: str):
    return {
        "ablation": ab.name,
        "width": width,
        **rp.table_row("value", value, finals, epochs, ab.paper_value(value, dataset)),
        "paper_approx": dataset == ab.paper_dataset and value in ab.approx,
    }


def run_ablation(
    name: str,
    dataset: str = "fashion-mnist",
    *,
    values: Sequence[Any] | None = None,
    seeds: int = 10,
    epochs: int = 50,
    out: str | os.PathLike[str],
    data_root: str | os.PathLike[str] | None = None,
    overrides: dict[str, Any] | None = None,
    backend: str = "auto",
    log: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Train the missing runs of an ablation; return one ours-vs-paper row per value.

    Parameters
    ----------
    name : {"gamma", "clip", "rob", "depth"}
    dataset : str
        A name of :func:`bnnlab.data.binary_datasets` (the paper's numbers are for
        Fashion-MNIST; other datasets get no paper column).
    values : sequence, optional
        A subset of the grid (default: the paper's grid); every configuration is validated first.
    seeds, epochs : int
        Seeds ``0..seeds-1`` of every value, each trained for ``epochs`` epochs.
    out : path
        Records directory (shared with :func:`bnnlab.experiments.reproduce.reproduce`).
    data_root, backend, log
        As in :func:`bnnlab.experiments.reproduce.reproduce`.
    overrides : dict, optional
        Other hyperparameters replacing the paper's (not the ablated one).

    Returns
    -------
    list of dict
        ``ablation``, ``value``, ``width``, ``seeds``, ``epochs``, ``mean``, ``std``,
        ``paper_mean``, ``paper_std`` (None), ``diff``, ``finals``, ``paper_approx``.
    """
    ab = _ablation(name)
    seeds = check_int(seeds, "seeds", minimum=1)
    epochs = check_int(epochs, "epochs", minimum=1)
    points = _points(ab, dataset, values, overrides)
    rp.check_backend(backend)
    rows = []
    for value, width, hyper, _ in points:
        finals = rp.run_seeds(
            ab.learner,
            dataset,
            width,
            seeds=seeds,
            epochs=epochs,
            out=out,
            data_root=data_root,
            overrides=hyper,
            backend=backend,
            log=log,
            tag=f"{ab.name}={value}",
        )
        rows.append(_row(ab, value, width, finals, epochs, dataset))
    rp.write_table(
        out,
        f"ablation-{ab.name}-{dataset}",
        {"ablation": ab.name, "dataset": dataset, "values": [p[0] for p in points],
         "seeds": seeds, "epochs": epochs, "seeding": SEEDING, **dict(overrides or {})},
        rows,
    )  # fmt: skip
    return rows


def summarize_ablation(
    name: str,
    dataset: str = "fashion-mnist",
    *,
    out: str | os.PathLike[str],
    epochs: int = 50,
    values: Sequence[Any] | None = None,
    overrides: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Ours-vs-paper rows of an ablation from the *finished* runs under ``out`` (no training).

    A run counts for a value when its recorded width and learner configuration equal the ones
    the value gives today (and its epochs and seeding match), whatever its seed; values without
    runs are left out.
    """
    ab = _ablation(name)
    epochs = check_int(epochs, "epochs", minimum=1)
    points = _points(ab, dataset, values, overrides)

    def key(width: str, config: Any) -> str:
        return json.dumps([width, config], sort_keys=True)

    wanted = {key(width, cfg.to_dict()): value for value, width, _, cfg in points}
    finals = rp.finished_finals(
        out, ab.learner, dataset, epochs, lambda r: wanted.get(key(r["width"], r.get("config")))
    )
    return [
        _row(ab, value, width, finals[value], epochs, dataset)
        for value, width, _, _ in points
        if value in finals
    ]


#: Runs behind ``figures/fig_local_binary_ablations.py``. Fast (``nox -s figures``; 30-50 s on
#: one core): the embedded Fashion-MNIST mini set, 1 seed, 2 epochs, a reduced grid.
#: Full (``--full``): full Fashion-MNIST, the paper's grids, 3 seeds, 50 epochs (about 48 CPU
#: hours on one core of a laptop: depth 10 alone is 10 layers of 1035).
FIGURE_RUNS: dict[bool, dict[str, Any]] = {
    False: {
        "dataset": "fashion-mnist-mini",
        "seeds": 1,
        "epochs": 2,
        "values": {
            "gamma": (1, 9, 45, 115, 1035),
            "clip": (8, 32, 128),
            "rob": (0.0, 0.5, 1.0),
            "depth": (1, 2, 3),
        },
    },
    True: {
        "dataset": "fashion-mnist",
        "seeds": 3,
        "epochs": 50,
        "values": {name: a.values for name, a in ABLATIONS.items()},
    },
}


def ablation_sweep(
    out: str | os.PathLike[str], *, full: bool = False, data_root: Any = None
) -> dict[str, list[dict[str, Any]]]:
    """Run (or reuse) the runs of :data:`FIGURE_RUNS` under ``out``; return each ablation's rows
    read back from the finished records (:func:`summarize_ablation`)."""
    spec = FIGURE_RUNS[bool(full)]
    tables = {}
    for name, values in spec["values"].items():
        run_ablation(
            name,
            spec["dataset"],
            values=values,
            seeds=spec["seeds"],
            epochs=spec["epochs"],
            out=out,
            data_root=data_root,
        )
        tables[name] = summarize_ablation(
            name, spec["dataset"], out=out, epochs=spec["epochs"], values=values
        )
    return tables


def describe_figure_runs(full: bool) -> str:
    """One line saying what the figure runs are (for titles and captions)."""
    s = FIGURE_RUNS[bool(full)]
    return f"{s['dataset']}; {s['seeds']} seed(s) x {s['epochs']} epochs" + (
        "" if full else " (fast preview, reduced grid: paper = full Fashion-MNIST, 50 epochs)"
    )
