"""The ``bnnlab`` command.

Subcommands are registered per area with :func:`command` (a decorator on a function that fills
an :class:`argparse.ArgumentParser` and returns the handler), so other areas can add theirs by
listing their module in :data:`COMMAND_MODULES`; a module is imported only to build the parser.

Gradient-free binary learners (REFERENCES.md §2)::

    bnnlab train local-binary --dataset fashion-mnist --layers 525,525 --epochs 50 --seed 0
    bnnlab train cp-r --dataset prototypes --layers 880,80
    bnnlab train local-binary ... --resume results/train/checkpoints/<run>.npz
    bnnlab evaluate results/train/checkpoints/<run>.npz
    bnnlab reproduce local-binary --dataset fashion-mnist [--seeds 10] [--widths 35_35 ...]
    bnnlab cost local-binary --layers 525,525
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

#: Modules whose import registers further subcommands (other areas append here).
COMMAND_MODULES: list[str] = ["bnnlab.experiments._compare_cli"]

_COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], Callable[..., int]]]] = {}

LEARNERS = ("local-binary", "cp-r")
DATASETS = ("fashion-mnist", "fashion-mnist-mini", "prototypes")


def command(name: str, help: str) -> Callable:
    """Register a subcommand: ``@command("train", "...")`` on ``setup(parser) -> handler``."""

    def deco(setup: Callable[[argparse.ArgumentParser], Callable[..., int]]) -> Callable:
        if name in _COMMANDS:
            raise ValueError(f"name: subcommand {name!r} is already registered")
        _COMMANDS[name] = (help, setup)
        return setup

    return deco


def _int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.replace("_", ",").split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None
    if not values:
        raise argparse.ArgumentTypeError("expected at least one integer")
    return values


def _data_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-root", type=Path, default=None, help="directory searched first for data")
    p.add_argument(
        "--backend",
        choices=("auto", "numba", "numpy", "cupy"),
        default="auto",
        help="bit-kernel backend (cupy: on the GPU)",
    )


def _hyper_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("hyperparameters (defaults: the paper's main runs, §2.2)")
    g.add_argument(
        "--gamma",
        type=_int_list,
        default=None,
        help="group size per layer (default: the paper's table, else the width)",
    )
    g.add_argument("--rob", type=float, default=0.25, help="robustness margin fraction [0, 1]")
    g.add_argument("--p-r", dest="p_r", type=float, default=0.5, help="reinforcement rate")
    g.add_argument("--clip", type=int, default=None, help="clip hidden weights to [-clip, clip]")
    g.add_argument("--batch-size", type=int, default=100)
    g.add_argument("--init-std", type=float, default=64.0)
    g.add_argument("--step", type=int, default=2)
    g.add_argument(
        "--sign-zero",
        dest="sign_zero",
        choices=("zero", "plus"),
        default=None,
        help="sign(0) of hidden weights and pre-activations (local-binary): 0 as the authors' "
        "dense code (default) or +1 (strictly binary)",
    )
    head = g.add_mutually_exclusive_group()
    head.add_argument(
        "--train-head",
        dest="train_head",
        action="store_true",
        help="train the last local head (local-binary)",
    )
    head.add_argument(
        "--frozen-head",
        dest="train_head",
        action="store_false",
        help="keep the last head fixed (default)",
    )
    p.set_defaults(train_head=False)


def _overrides(learner: str, args: argparse.Namespace) -> dict[str, Any]:
    o: dict[str, Any] = {
        "rob": args.rob,
        "p_r": args.p_r,
        "clip": args.clip,
        "batch_size": args.batch_size,
        "init_std": args.init_std,
        "step": args.step,
    }
    if learner == "local-binary":
        o["train_head"] = args.train_head
        if args.gamma is not None:
            o["groups"] = tuple(args.gamma)
        if args.sign_zero is not None:
            o["sign_zero"] = args.sign_zero
    else:
        if args.train_head:
            raise ValueError("--train-head: cp-r has a fixed readout")
        if args.gamma is not None:
            raise ValueError("--gamma: cp-r's group size is K1/K2 (use --layers K1,K2)")
        if args.sign_zero is not None:
            raise ValueError("--sign-zero: cp-r always uses sign(0) = +1")
    return o


@command("train", "train a gradient-free binary learner (local-binary, cp-r)")
def _setup_train(p: argparse.ArgumentParser) -> Callable[..., int]:
    p.add_argument("learner", choices=LEARNERS)
    p.add_argument("--dataset", choices=DATASETS, default="fashion-mnist")
    p.add_argument(
        "--layers",
        type=_int_list,
        default=None,
        help="hidden widths, e.g. 525,525 (cp-r: K1,K2, e.g. 880,80)",
    )
    p.add_argument("--epochs", type=int, default=50, help="total epochs (also when resuming)")
    p.add_argument("--seed", type=int, default=0, help="seed of the split and of the learner")
    p.add_argument(
        "--out",
        type=Path,
        default=Path("results/train"),
        help="directory for records/ and checkpoints/",
    )
    p.add_argument("--resume", type=Path, default=None, help="checkpoint to continue from")
    _data_options(p)
    p.add_argument("--no-progress", action="store_true")
    _hyper_options(p)
    return _train


def _train(args: argparse.Namespace) -> int:
    from bnnlab.experiments.records import RunRecorder, read_records
    from bnnlab.experiments.reproduce import SHAPES, load_dataset, make_config, make_learner
    from bnnlab.learn.local.checkpoint import load_checkpoint, save_checkpoint

    if args.resume is not None:
        model, meta = load_checkpoint(args.resume, backend=args.backend, expect=args.learner)
        extra = meta["extra"]
        dataset, seed, run_config = extra["dataset"], extra["seed"], extra["run_config"]
    else:
        dataset, seed = args.dataset, args.seed
        layers = args.layers or ([525, 525] if args.learner == "local-binary" else [880, 80])
        if any(k <= 0 for k in layers):
            raise ValueError(f"--layers: widths must be positive, got {layers}")
        if args.learner == "cp-r" and (len(layers) != 2 or layers[0] % layers[1]):
            raise ValueError(f"--layers: cp-r needs K1,K2 with K2 dividing K1, got {layers}")
        model = None
        run_config = {
            "learner": args.learner,
            "dataset": dataset,
            "seed": seed,
            "layers": layers,
            **_overrides(args.learner, args),
        }
    if args.epochs < 1:
        raise ValueError(f"--epochs: expected >= 1, got {args.epochs}")
    if model is None:  # validate the hyperparameters before loading any data
        hyper = {
            k: v for k, v in run_config.items() if k not in ("learner", "dataset", "seed", "layers")
        }
        make_config(args.learner, run_config["layers"], *SHAPES[dataset], **hyper)
    xtr, ytr, xte, yte = load_dataset(dataset, seed, root=args.data_root)
    if model is None:
        model = make_learner(
            args.learner,
            run_config["layers"],
            xtr.shape[1],
            int(ytr.max()) + 1,
            seed=seed,
            backend=args.backend,
            **hyper,
        )
    name = f"train-{args.learner}-{dataset}"
    # the run id leaves the epoch count out: a resumed run continues the same record
    rec = RunRecorder(args.out / "records", name, run_config)
    ckpt = args.out / "checkpoints" / f"{name}-{rec.id}.npz"
    if args.resume is not None:
        try:
            old = read_records(args.out / "records", name, finished_only=False)
        except FileNotFoundError:
            old = []
        rec.rows = [r for r in old if r["run"] == rec.id and r["epoch"] <= model.epoch]
    extra = {"dataset": dataset, "seed": seed, "run_config": run_config}
    t0 = time.perf_counter()

    def on_epoch(row: dict[str, Any]) -> None:
        rec.append({**row, "elapsed": time.perf_counter() - t0})
        save_checkpoint(ckpt, model, extra=extra)

    remaining = args.epochs - model.epoch
    if remaining < 0:
        raise ValueError(f"--epochs: checkpoint is already at epoch {model.epoch}")
    model.fit(
        xtr,
        ytr,
        epochs=remaining,
        x_test=xte,
        y_test=yte,
        callback=on_epoch,
        progress=not args.no_progress,
    )
    rec.finish()
    if remaining == 0:
        save_checkpoint(ckpt, model, extra=extra)
    acc = model.score(xte, yte)
    print(f"wrote {ckpt}")
    print(f"wrote {rec.path}")
    print(f"wrote {rec.meta_path}")
    print(f"test accuracy: {acc:.2f}%")  # the last line, for scripts
    return 0


@command("evaluate", "test accuracy of a checkpoint")
def _setup_evaluate(p: argparse.ArgumentParser) -> Callable[..., int]:
    p.add_argument("checkpoint", type=Path)
    p.add_argument(
        "--dataset", choices=DATASETS, default=None, help="default: the checkpoint's dataset"
    )
    p.add_argument("--seed", type=int, default=None, help="split seed (default: the checkpoint's)")
    _data_options(p)
    return _evaluate


def _evaluate(args: argparse.Namespace) -> int:
    from bnnlab.experiments.reproduce import load_dataset
    from bnnlab.learn.local.checkpoint import load_checkpoint

    model, meta = load_checkpoint(args.checkpoint, backend=args.backend)
    extra = meta.get("extra", {})
    dataset = args.dataset or extra.get("dataset")
    seed = args.seed if args.seed is not None else extra.get("seed")
    if dataset is None or seed is None:
        raise ValueError("--dataset/--seed: the checkpoint does not name its data; pass them")
    _, _, xte, yte = load_dataset(dataset, seed, root=args.data_root)
    print(f"{meta['learner']} epoch {meta['epoch']} on {dataset} (seed {seed})")
    print(f"test accuracy: {model.score(xte, yte):.2f}%")
    return 0


@command("reproduce", "reproduce the paper's accuracy table (ours vs paper)")
def _setup_reproduce(p: argparse.ArgumentParser) -> Callable[..., int]:
    p.add_argument("learner", choices=LEARNERS)
    p.add_argument("--dataset", choices=DATASETS, default="fashion-mnist")
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument(
        "--widths",
        nargs="+",
        default=None,
        help="width labels like 35_35 525_525 (cp-r: 880_80); default: the paper's",
    )
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--out", type=Path, default=Path("results/reproduce"))
    p.add_argument(
        "--summarize",
        action="store_true",
        help="no training: tabulate the finished runs under --out (any number of seeds)",
    )
    _data_options(p)
    return _reproduce


def _reproduce(args: argparse.Namespace) -> int:
    from bnnlab.experiments.reproduce import format_table, reproduce, summarize

    if args.summarize:
        rows = summarize(
            args.learner, args.dataset, out=args.out, epochs=args.epochs, widths=args.widths
        )
        seeds = sorted({r["seeds"] for r in rows})
        print(
            f"{args.learner} on {args.dataset}: final-epoch test accuracy (%), finished runs "
            f"under {args.out} ({'/'.join(map(str, seeds)) or 0} seed(s) x {args.epochs} epochs)"
        )
        print(format_table(rows))
        return 0
    rows = reproduce(
        args.learner,
        args.dataset,
        widths=args.widths,
        seeds=args.seeds,
        epochs=args.epochs,
        out=args.out,
        data_root=args.data_root,
        overrides={"backend": args.backend} if args.backend != "auto" else None,
        log=lambda s: print(s, flush=True),
    )
    print(
        f"{args.learner} on {args.dataset}: final-epoch test accuracy (%), "
        f"{args.seeds} seed(s) x {args.epochs} epochs"
    )
    print(format_table(rows))
    print(f"wrote {args.out}/reproduce-{args.learner}-{args.dataset}-*.jsonl")
    return 0


@command("cost", "memory and Boolean-gate cost report (paper's cost model)")
def _setup_cost(p: argparse.ArgumentParser) -> Callable[..., int]:
    p.add_argument("learner", choices=LEARNERS)
    p.add_argument("--layers", type=_int_list, required=True)
    p.add_argument("--features", type=int, default=784)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--n-train", type=int, default=50_000)
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    return _cost


def _cost(args: argparse.Namespace) -> int:
    import json

    from bnnlab.learn.local.cost import cost_report

    r = cost_report(
        args.learner,
        args.features,
        args.layers,
        args.classes,
        batch_size=args.batch_size,
        n_train=args.n_train,
    )
    print(json.dumps(r.as_dict(), indent=2) if args.json else r.table())
    return 0


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
    """Entry point of the ``bnnlab`` script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._handler(args) or 0)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"bnnlab {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
