"""``bnnlab methods`` and ``bnnlab compare``: subcommands of :mod:`bnnlab.cli`.

::

    bnnlab methods                      # every registered method, one line each
    bnnlab methods local-binary         # its configuration fields: type, default, help
    bnnlab compare SPEC.toml [--out DIR] [--workers N | --scheduler tcp://HOST:PORT] [--summarize]

``compare`` trains the unfinished runs of the spec (:mod:`bnnlab.experiments.compare`) and writes
the summary tables and figures into ``--out`` (default ``results/compare/<spec name>``);
``--summarize`` only tabulates the finished records. Errors exit with status 2 and a message.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path

from bnnlab.cli import command


@command("methods", "list the registered training methods (or one method's config fields)")
def _setup_methods(p: argparse.ArgumentParser) -> Callable[..., int]:
    p.add_argument("alias", nargs="?", default=None, help="show this method's config fields")
    return _methods


def _methods(args: argparse.Namespace) -> int:
    from bnnlab.learn.method import describe, get

    if args.alias is None:
        table = describe()
        width = max(map(len, table), default=0)
        for alias, text in table.items():
            print(f"{alias:<{width}}  {text}")
        return 0
    cls = get(args.alias)  # ValueError naming the valid aliases
    print(f"{args.alias}: {cls.description}")
    print(f"config fields ({cls.config_class.__name__}):")
    for f in dataclasses.fields(cls.config_class):
        default = f.default if f.default is not dataclasses.MISSING else "(required)"
        if isinstance(default, tuple):
            default = list(default)
        type_name = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", f.type)
        if "tuple" in str(f.type):
            type_name = str(f.type)
        print(f"  {f.name} = {default!r}  [{type_name}]  {f.metadata.get('help', '')}")
    return 0


@command("compare", "compare training methods from a TOML spec (serial or on Dask)")
def _setup_compare(p: argparse.ArgumentParser) -> Callable[..., int]:
    p.add_argument("spec", type=Path, help="the comparison spec (TOML)")
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="results directory (default: results/compare/<spec name>)",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--workers", type=int, default=None, help="start a local Dask cluster of N workers"
    )
    where.add_argument(
        "--scheduler", default=None, help="submit to a running Dask scheduler (tcp://HOST:PORT)"
    )
    p.add_argument(
        "--summarize",
        action="store_true",
        help="no training: tables and figures from the finished records under --out",
    )
    p.add_argument("--no-figures", action="store_true", help="tables only")
    return _compare


def _compare(args: argparse.Namespace) -> int:
    from bnnlab.experiments.compare import ComparisonLocked, compare, load_spec, summarize

    spec = load_spec(args.spec)
    out = args.out if args.out is not None else Path("results/compare") / spec.name
    try:
        if args.summarize:
            if args.workers is not None or args.scheduler is not None:
                raise ValueError("--summarize: trains nothing; drop --workers/--scheduler")
            result = summarize(spec, out, figures=not args.no_figures)
        else:
            result = compare(
                spec,
                out,
                workers=args.workers,
                scheduler=args.scheduler,
                figures=not args.no_figures,
                log=lambda line: print(line, flush=True),
            )
    except (ComparisonLocked, ImportError) as exc:
        print(f"bnnlab compare: error: {exc}", file=sys.stderr)
        return 2
    md = next(f for f in result.files if f.name == "summary.md")
    print(md.read_text(encoding="utf-8"))
    for f in result.files:
        print(f"wrote {f}")
    print(f"records: {out / 'records'} ({result.runs} finished runs)")
    return 0
