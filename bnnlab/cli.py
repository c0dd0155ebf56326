"""The ``bnnlab`` command.

Subcommands are registered per area with :func:`command` (a decorator on a function that fills
an :class:`argparse.ArgumentParser` and returns the handler), so other areas can add theirs by
listing their module in :data:`COMMAND_MODULES`; a module is imported only to build the parser.

Gradient-free binary learners (REFERENCES.md §2)::

    bnnlab train local-binary --dataset fashion-mnist --layers 525,525 --epochs 50 --seed 0
    bnnlab train cp-r --dataset prototypes --layers 880,80 --sign-zero plus
    bnnlab train local-binary --epochs 60 --resume results/train/checkpoints/<run>.npz
    bnnlab evaluate results/train/checkpoints/<run>.npz
    bnnlab reproduce local-binary --dataset fashion-mnist [--seeds 10] [--widths 35_35 ...]
    bnnlab reproduce local-binary --ablation gamma [--values 1,45,1035] [--summarize]
    bnnlab cost local-binary --layers 525,525

One source for every fact: the learner choices are the registry (:func:`bnnlab.learn.available`),
the dataset choices are :func:`bnnlab.data.binary_datasets`, and the hyperparameter options are
the fields of the learners' configuration classes (``config_class.cli_fields()``, help text from
the field metadata). An option left out keeps the configuration's default (it is never copied
here); an option of another learner's configuration is an error naming it. Errors exit with
status 2 and one line on stderr.

How ``bnnlab train`` runs: the options become a configuration
(``config_class.from_layers(*binary_info(dataset).shape, layers, **options)``), validated before
any data is read; the run seed gives the data and learner seeds
(:func:`bnnlab._validation.derive_seeds`); :func:`bnnlab.data.load_binary` reads the data; the
registered learner trains, and every epoch is appended to the run's record
(:class:`bnnlab.experiments.records.RunRecorder`) and saved as a checkpoint
(:mod:`bnnlab.learn.local.checkpoint`).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import re
import sys
import time
import types
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

#: Modules whose import registers further subcommands (other areas append here).
COMMAND_MODULES: list[str] = ["bnnlab.experiments._compare_cli"]

_COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], Callable[..., int]]]] = {}

#: Dataset of ``train`` when none is given.
DEFAULT_DATASET = "fashion-mnist"


def command(name: str, help: str) -> Callable:
    """Register a subcommand: ``@command("train", "...")`` on ``setup(parser) -> handler``."""

    def deco(setup: Callable[[argparse.ArgumentParser], Callable[..., int]]) -> Callable:
        if name in _COMMANDS:
            raise ValueError(f"name: subcommand {name!r} is already registered")
        _COMMANDS[name] = (help, setup)
        return setup

    return deco


def _int_tuple(text: str) -> tuple[int, ...]:
    """``"45,45"`` (or ``"45_45"``) → ``(45, 45)``: the command-line form of integer tuples."""
    try:
        values = tuple(int(v) for v in text.replace("_", ",").split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None
    if not values:
        raise argparse.ArgumentTypeError("expected at least one integer")
    return values


# ---------------------------------------------------------------------------------------------
# options from the registries and the configuration classes


def _learners() -> list[str]:
    from bnnlab.learn import available

    return available()


def _methods() -> list[str]:
    from bnnlab.learn.method import available

    return available()


def _datasets() -> list[str]:
    from bnnlab.data import binary_datasets

    return binary_datasets()


def _dataset(text: str) -> str:
    """A learner dataset name, with optional variants (``:classes=a,b``, ``:pool=p``)."""
    from bnnlab.data import variants

    try:
        variants.parse(text, tuple(_datasets()))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


DATASET_HELP = (
    "{names}, optionally with variants, e.g. fashion-mnist-mini:classes=0,6:pool=4 "
    "(bnnlab.data.variants)"
)


def _config_class(learner: str) -> type:
    from bnnlab.learn import get

    return get(learner).config_class


def _method_config(method: str) -> type:
    from bnnlab.learn.method import get

    return get(method).config_class


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _hyper_fields() -> dict[str, tuple[dataclasses.Field, type, list[str]]]:
    """``{field name: (field, its type, methods whose configuration has it)}``, in field order.

    The methods' configurations hold every learner hyperparameter (the gradient-free methods take
    their fields from the learners' configurations); ``layers`` is the separate ``--layers``.
    """
    fields: dict[str, tuple[dataclasses.Field, type, list[str]]] = {}
    for learner in _methods():
        cls = _method_config(learner)
        hints = typing.get_type_hints(cls)
        for f in cls.cli_fields():
            if f.name == "layers":
                continue
            if f.name not in fields:
                fields[f.name] = (f, hints[f.name], [])
            fields[f.name][2].append(learner)
    return fields


def _index(method: str, name: str) -> int:
    return [f.name for f in dataclasses.fields(_method_config(method))].index(name)


def _config_choices(f: dataclasses.Field) -> tuple[Any, ...] | None:
    from bnnlab._config import Config

    return Config.choices(f)


def _latent_methods() -> list[str]:
    from bnnlab.learn.latent_method import LatentMethod
    from bnnlab.learn.method import get

    return [m for m in _methods() if issubclass(get(m), LatentMethod)]


def _who(methods: Sequence[str]) -> str:
    """``methods`` in few words (the latent-weight family as one name)."""
    latent = _latent_methods()
    if latent and set(latent) <= set(methods):
        return ", ".join(["latent-weight methods", *(m for m in methods if m not in latent)])
    return ", ".join(methods)


def _options(text: str) -> dict[str, Any]:
    """``"threshold=1e-8,inner=adam"`` → ``{"threshold": 1e-08, "inner": "adam"}`` (JSON values,
    else strings): the command-line form of a table of optimiser arguments."""
    out: dict[str, Any] = {}
    for item in filter(None, (t.strip() for t in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise argparse.ArgumentTypeError(f"expected key=value[,key=value...], got {text!r}")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value.strip()
    return out


def _value_type(hint: Any, name: str) -> Any:
    """The argparse ``type`` of a configuration field (``None`` for a boolean flag)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(members) != 1:
            raise TypeError(f"{name}: no command-line form for the type {hint}")
        hint = members[0]
    if hint is bool:
        return None
    if typing.get_origin(hint) is tuple and typing.get_args(hint)[0] is int:
        return _int_tuple
    if hint in (int, float, str):
        return hint
    if typing.get_origin(hint) is dict:
        return _options
    raise TypeError(f"{name}: no command-line form for the type {hint}")


def _hyper_options(p: argparse.ArgumentParser) -> None:
    """One option per configuration field a command line sets (see the module docstring)."""
    fields = _hyper_fields()
    everyone = set(_methods())
    g = p.add_argument_group(
        "hyperparameters (an option left out keeps the method configuration's default)"
    )
    for name, (f, hint, learners) in fields.items():
        default = list(f.default) if isinstance(f.default, tuple) else f.default
        defaults = {
            repr(dataclasses.fields(_method_config(m))[_index(m, name)].default) for m in learners
        }
        text = f.metadata["help"]
        if "default" not in text:  # a help text may say what its default means
            text += f" (default: {default})" if len(defaults) == 1 else " (default: the method's)"
        text = text.replace("%", "%%")
        if set(learners) != everyone:
            text += f"; {_who(learners)} only"
        kw: dict[str, Any] = {"dest": name, "default": argparse.SUPPRESS, "help": text}
        kind = _value_type(hint, name)
        if kind is None:
            kw["action"] = argparse.BooleanOptionalAction
        else:
            kw["type"] = kind
            if kind is _int_tuple:
                kw["metavar"] = "N[,N...]"
            choices = _config_choices(f)
            if choices is not None:
                kw["choices"] = choices
        g.add_argument(_flag(name), **kw)


def _given_hyper(args: argparse.Namespace, learner: str) -> dict[str, Any]:
    """The hyperparameter options given on the command line; one of another learner is an error."""
    given = {name: getattr(args, name) for name in _hyper_fields() if hasattr(args, name)}
    own = {f.name for f in _method_config(learner).cli_fields()} - {"layers"}
    for name in given:
        if name not in own:
            raise ValueError(
                f"{_flag(name)}: does not apply to {learner} (its hyperparameter options: "
                f"{', '.join(_flag(n) for n in sorted(own))})"
            )
    return given


def _option_error(exc: Exception) -> Exception:
    """A configuration error ``"rob: ..."`` as ``"--rob: ..."`` (the option the user typed)."""
    m = re.match(r"(\w+): (.*)", str(exc), flags=re.S)
    if m is None:
        return exc
    name = m.group(1)
    if name in ("layers", "hidden", "group"):
        flag = "--layers"
    elif name in _hyper_fields():
        flag = _flag(name)
    else:
        return exc
    return type(exc)(f"{flag}: {m.group(2)}")


def _build_config(learner: str, dataset: str, layers: Sequence[int], hyper: dict[str, Any]) -> Any:
    """The learner's configuration for ``dataset`` (from its shape, no data read)."""
    from bnnlab.data import binary_info

    try:
        return _config_class(learner).from_layers(*binary_info(dataset).shape, layers, **hyper)
    except (TypeError, ValueError) as exc:
        raise _option_error(exc) from exc


def _data_options(p: argparse.ArgumentParser) -> None:
    from bnnlab.learn.local.engine import BACKENDS

    p.add_argument("--data-root", type=Path, default=None, help="directory searched first for data")
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default="auto",
        help="bit-kernel backend (cupy: on the GPU); results are identical on every backend",
    )


def _check_backend(backend: str) -> None:
    """Refuse an unavailable backend before any data is read (``--backend cupy`` without cupy)."""
    from bnnlab.learn.local.engine import array_namespace

    try:
        array_namespace(backend)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"--{exc}") from exc


def _positive(value: int, flag: str, minimum: int = 1) -> int:
    if value < minimum:
        raise ValueError(f"{flag}: expected an integer >= {minimum}, got {value}")
    return value


def _out_dir(path: Path, flag: str = "--out") -> Path:
    """``path`` as a directory to write into (created later); an existing file is an error."""
    if path.exists() and not path.is_dir():
        raise ValueError(f"{flag}: {path} exists and is not a directory")
    return path


# ---------------------------------------------------------------------------------------------
# train


@command("train", "train any registered method (bnnlab methods lists them)")
def _setup_train(p: argparse.ArgumentParser) -> Callable[..., int]:
    p.add_argument("method", choices=_methods(), metavar="METHOD", help=", ".join(_methods()))
    p.add_argument(
        "--dataset",
        type=_dataset,
        default=None,
        help=DATASET_HELP.format(names=", ".join(_datasets()))
        + f"; default: {DEFAULT_DATASET} (with --resume: the checkpoint's)",
    )
    p.add_argument(
        "--layers",
        type=_int_tuple,
        default=None,
        help="hidden widths, e.g. 525,525 (cp-r: K1,K2, e.g. 880,80); default: the method's",
    )
    p.add_argument("--epochs", type=int, default=50, help="total epochs (also when resuming)")
    p.add_argument(
        "--seed",
        type=int,
        default=None,
        help="run seed; the data split and the method get independent seeds spawned from it "
        "(default: 0; with --resume: the checkpoint's)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("results/train"),
        help="directory for records/ and checkpoints/",
    )
    p.add_argument(
        "--resume",
        type=Path,
        default=None,
        help="checkpoint to continue from (options that differ from it are refused)",
    )
    _data_options(p)
    p.add_argument("--no-progress", action="store_true")
    _hyper_options(p)
    return _train


def _build_method_config(method: str, layers: Sequence[int] | None, hyper: dict[str, Any]) -> Any:
    """The method's configuration (shape-free: validated before any data is read)."""
    kwargs = dict(hyper) if layers is None else {**hyper, "layers": tuple(layers)}
    try:
        return _method_config(method)(**kwargs)
    except (TypeError, ValueError) as exc:
        raise _option_error(exc) from exc


def _refuse_conflicts(
    args: argparse.Namespace, hyper: dict[str, Any], config: Any, dataset: str, seed: int
) -> None:
    """Options given with ``--resume`` must equal the checkpoint's (else exit 2 naming both)."""
    given: list[tuple[str, Any, Any]] = []
    if args.dataset is not None:
        given.append(("--dataset", args.dataset, dataset))
    if args.seed is not None:
        given.append(("--seed", args.seed, seed))
    if args.layers is not None:
        given.append(("--layers", tuple(args.layers), tuple(config.layers)))
    for name, value in hyper.items():
        try:  # the configuration normalises the value (e.g. one group size for every layer)
            value = getattr(dataclasses.replace(config, **{name: value}), name)
        except (TypeError, ValueError) as exc:
            raise _option_error(exc) from exc
        given.append((_flag(name), value, getattr(config, name)))

    def show(v: Any) -> Any:
        return ",".join(map(str, v)) if isinstance(v, tuple) else v

    for flag, value, stored in given:
        if value != stored:
            raise ValueError(
                f"{flag}: {show(value)} conflicts with the checkpoint's {show(stored)} "
                f"({args.resume}); leave it out to continue the checkpoint's run"
            )


def _recorded_rows(path: Path, upto: int) -> list[dict[str, Any]]:
    """The rows of a run's own record file up to epoch ``upto`` (as written, nothing merged)."""
    if not path.is_file():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r for r in rows if r["epoch"] <= upto]


def _train(args: argparse.Namespace) -> int:
    from bnnlab._validation import SEEDING, derive_seeds
    from bnnlab.data import binary_info, load_binary
    from bnnlab.experiments.records import RunRecorder
    from bnnlab.learn.checkpoint import load_method, save_method
    from bnnlab.learn.method import TrainData, get

    hyper = _given_hyper(args, args.method)
    epochs = _positive(args.epochs, "--epochs")
    out = _out_dir(args.out)
    _check_backend(args.backend)
    if args.resume is not None:
        model, meta = load_method(args.resume, backend=args.backend, expect=args.method)
        extra = meta["extra"]
        if extra.get("seeding") != SEEDING:
            raise ValueError(
                f"--resume: {args.resume} was written by an older bnnlab (seeding "
                f"{extra.get('seeding')!r}, this one uses {SEEDING!r}); its run cannot be "
                "continued exactly — start a new run"
            )
        dataset, seed, config = extra["dataset"], extra["seed"], model.config
        # compare with the normalised configuration the run trains with (a learner's, if any)
        _refuse_conflicts(args, hyper, getattr(model, "learner", model).config, dataset, seed)
    else:
        dataset = args.dataset or DEFAULT_DATASET
        seed = _positive(0 if args.seed is None else args.seed, "--seed", minimum=0)
        config = _build_method_config(args.method, args.layers, hyper)  # before data is read
        model = None
    data_seed, method_seed = derive_seeds(seed, "--seed")
    if model is None:
        n_features, n_classes = binary_info(dataset).shape
        try:
            model = get(args.method)(
                config,
                n_features=n_features,
                n_classes=n_classes,
                seed=method_seed,
                backend=args.backend,
            )
        except (TypeError, ValueError) as exc:
            raise _option_error(exc) from exc
    remaining = epochs - model.epoch
    if remaining < 0:
        raise ValueError(f"--epochs: the checkpoint is already at epoch {model.epoch}")
    data = TrainData(*load_binary(dataset, data_seed, root=args.data_root), name=dataset)

    name = f"train-{args.method}-{re.sub(r'[^A-Za-z0-9._-]+', '_', dataset)}"
    # the run id leaves the epoch count out: a resumed run continues the same record
    run = {
        "method": args.method,
        "dataset": dataset,
        "seed": seed,
        "seeding": SEEDING,
        "config": config.to_dict(),
    }
    rec = RunRecorder(out / "records", name, run)
    ckpt = out / "checkpoints" / f"{name}-{rec.id}.npz"
    if args.resume is not None:
        rec.rows = _recorded_rows(rec.path, model.epoch)
    extra = {"dataset": dataset, "seed": seed, "seeding": SEEDING, "data_seed": data_seed}
    offset = rec.rows[-1]["elapsed"] if rec.rows else 0.0  # wall-clock training time so far
    t0 = time.perf_counter()

    def on_epoch(row: dict[str, Any]) -> None:
        rec.append({**row, "elapsed": offset + time.perf_counter() - t0})
        save_method(ckpt, model, extra=extra)

    model.fit(data, epochs=remaining, callback=on_epoch, progress=not args.no_progress)
    rec.finish()
    if remaining == 0:
        save_method(ckpt, model, extra=extra)
    acc = model.score(data.x_test, data.y_test)
    print(f"wrote {ckpt}")
    print(f"wrote {rec.path}")
    print(f"wrote {rec.meta_path}")
    print(f"test accuracy: {acc:.2f}%")  # the last line, for scripts
    return 0


# ---------------------------------------------------------------------------------------------
# evaluate


@command("evaluate", "test accuracy of a checkpoint")
def _setup_evaluate(p: argparse.ArgumentParser) -> Callable[..., int]:
    p.add_argument("checkpoint", type=Path)
    p.add_argument(
        "--dataset",
        type=_dataset,
        default=None,
        help=DATASET_HELP.format(names=", ".join(_datasets()))
        + "; default: the checkpoint's dataset",
    )
    p.add_argument(
        "--seed", type=int, default=None, help="run seed of the split (default: the checkpoint's)"
    )
    _data_options(p)
    return _evaluate


def _evaluate(args: argparse.Namespace) -> int:
    from bnnlab._validation import derive_seeds
    from bnnlab.data import load_binary
    from bnnlab.learn.checkpoint import load_method

    _check_backend(args.backend)
    model, meta = load_method(args.checkpoint, backend=args.backend)
    extra = meta["extra"]
    dataset = args.dataset or extra.get("dataset")
    if dataset is None:
        raise ValueError("--dataset: the checkpoint does not name its data; pass it")
    if args.seed is not None:
        seed, data_seed = args.seed, derive_seeds(_positive(args.seed, "--seed", 0), "--seed")[0]
    elif "data_seed" in extra:
        seed, data_seed = extra["seed"], extra["data_seed"]
    elif "seed" in extra:  # written before seeds were spawned: the split used the seed itself
        seed = data_seed = extra["seed"]
    else:
        raise ValueError("--seed: the checkpoint does not name its data seed; pass it")
    _, _, xte, yte = load_binary(dataset, data_seed, root=args.data_root)
    print(f"{meta['method']} epoch {meta['epoch']} on {dataset} (seed {seed})")
    print(f"test accuracy: {model.score(xte, yte):.2f}%")
    return 0


# ---------------------------------------------------------------------------------------------
# reproduce


@command("reproduce", "reproduce the paper's accuracy tables and ablations (ours vs paper)")
def _setup_reproduce(p: argparse.ArgumentParser) -> Callable[..., int]:
    from bnnlab.experiments.ablations import ABLATIONS
    from bnnlab.experiments.reproduce import LEARNERS

    p.add_argument("learner", choices=LEARNERS)
    p.add_argument("--dataset", choices=_datasets(), default="fashion-mnist")
    p.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1 of every configuration")
    p.add_argument(
        "--widths",
        nargs="+",
        default=None,
        help="width labels like 35_35 525_525 (cp-r: 880_80); default: the paper's",
    )
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--out", type=Path, default=Path("results/reproduce"))
    p.add_argument(
        "--ablation",
        choices=tuple(ABLATIONS),
        default=None,
        help="a paper ablation (REFERENCES.md §2.7) instead of the width table: "
        + "; ".join(f"{a.name}: {a.title}" for a in ABLATIONS.values()),
    )
    p.add_argument(
        "--values",
        default=None,
        help="comma-separated subset of the ablation's grid (default: the paper's grid)",
    )
    p.add_argument(
        "--summarize",
        action="store_true",
        help="no training: tabulate the finished runs under --out (any number of seeds)",
    )
    _data_options(p)
    _hyper_options(p)
    return _reproduce


def _reproduce(args: argparse.Namespace) -> int:
    from bnnlab.experiments import ablations
    from bnnlab.experiments import reproduce as rp

    hyper = _given_hyper(args, args.learner)
    seeds = _positive(args.seeds, "--seeds")
    epochs = _positive(args.epochs, "--epochs")
    out = _out_dir(args.out)
    if args.values is not None and args.ablation is None:
        raise ValueError("--values: only with --ablation")
    if args.ablation is not None:
        if args.widths:
            raise ValueError(f"--widths: the {args.ablation} ablation fixes its network")
        ab = ablations.ABLATIONS[args.ablation]
        values = None if args.values is None else ab.parse_values(args.values)
        if args.learner != ab.learner:
            raise ValueError(f"--ablation: the paper's ablations are of {ab.learner}")
        if args.summarize:
            rows = ablations.summarize_ablation(
                ab.name, args.dataset, out=out, epochs=epochs, values=values, overrides=hyper
            )
            what = f"finished runs under {out}"
        else:
            _check_backend(args.backend)
            rows = ablations.run_ablation(
                ab.name,
                args.dataset,
                values=values,
                seeds=seeds,
                epochs=epochs,
                out=out,
                data_root=args.data_root,
                overrides=hyper,
                backend=args.backend,
                log=lambda s: print(s, flush=True),
            )
            what = f"{seeds} seed(s) x {epochs} epochs"
        print(f"{ab.learner} on {args.dataset}, ablation {ab.name} ({ab.title}): {what}")
        print(rp.format_table(rows, key="value"))
        return 0
    if args.summarize:
        rows = rp.summarize(
            args.learner,
            args.dataset,
            out=out,
            epochs=epochs,
            widths=args.widths,
            overrides=hyper,
        )
        runs = "/".join(str(s) for s in sorted({r["seeds"] for r in rows})) or "0"
        print(
            f"{args.learner} on {args.dataset}: final-epoch test accuracy (%), finished runs "
            f"under {out} ({runs} seed(s) x {epochs} epochs)"
        )
        print(rp.format_table(rows))
        return 0
    _check_backend(args.backend)
    rows = rp.reproduce(
        args.learner,
        args.dataset,
        widths=args.widths,
        seeds=seeds,
        epochs=epochs,
        out=out,
        data_root=args.data_root,
        overrides=hyper,
        backend=args.backend,
        log=lambda s: print(s, flush=True),
    )
    print(
        f"{args.learner} on {args.dataset}: final-epoch test accuracy (%), "
        f"{seeds} seed(s) x {epochs} epochs"
    )
    print(rp.format_table(rows))
    print(f"wrote {out}/reproduce-{args.learner}-{args.dataset}-*.jsonl")
    return 0


# ---------------------------------------------------------------------------------------------
# cost


@command("cost", "memory and Boolean-gate cost report (paper's cost model)")
def _setup_cost(p: argparse.ArgumentParser) -> Callable[..., int]:
    p.add_argument("learner", choices=_learners())
    p.add_argument("--layers", type=_int_tuple, required=True)
    p.add_argument(
        "--dataset",
        choices=_datasets(),
        default="fashion-mnist",
        help="the data's shape and training-set size (nothing is read)",
    )
    p.add_argument(
        "--batch-size", type=int, default=None, help="default: the learner configuration's"
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    return _cost


def _cost(args: argparse.Namespace) -> int:
    from bnnlab.data import binary_info
    from bnnlab.learn.local.cost import cost_report

    hyper = {} if args.batch_size is None else {"batch_size": args.batch_size}
    config = _build_config(args.learner, args.dataset, args.layers, hyper)  # the width rule
    n_train = binary_info(args.dataset).n_train
    if n_train is None:
        raise SystemExit(
            f"--dataset: the size of {args.dataset!r} depends on the data seed; the cost report "
            "needs a dataset of fixed size"
        )
    r = cost_report(
        args.learner,
        config.n_features,
        list(config.layers),
        config.n_classes,
        batch_size=config.batch_size,
        n_train=n_train,
    )
    print(json.dumps(r.as_dict(), indent=2) if args.json else r.table())
    return 0


def _locked_error() -> type[Exception]:
    """A run another process is writing (the records' lock): exit 2, not a traceback."""
    from bnnlab.experiments.records import RunLockedError

    return RunLockedError


def build_parser() -> argparse.ArgumentParser:
    """The full ``bnnlab`` parser (imports :data:`COMMAND_MODULES` to collect subcommands)."""
    for module in COMMAND_MODULES:
        importlib.import_module(module)
    parser = argparse.ArgumentParser(prog="bnnlab", description="binary neural network lab")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (help_text, setup) in _COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_handler=setup(p))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bnnlab`` script; returns the exit status (2 on a usage error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._handler(args) or 0)
    except (ValueError, TypeError, OSError, _locked_error()) as exc:  # OSError: a full disk, ...
        print(f"bnnlab {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
