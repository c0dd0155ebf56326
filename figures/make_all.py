"""Regenerate every figure of bnnlab (``nox -s figures`` runs this).

Each ``figures/fig_*.py`` script defines ``main(out: Path, *, full: bool = False) -> list[Path]``. A
script computes (or resumes) its records with library code under ``out/records/`` and then plots from
those records; nothing trains inside plotting code. Every script fixes its own seeds.

Usage::

    python figures/make_all.py --out figures/out [--only NAME ...] [--full]

Fast mode (the default, what ``nox -s figures`` runs) keeps every figure to small budgets: the
embedded Fashion-MNIST mini set or Prototypes, one seed, a few epochs, reduced grids (the
local-binary ablations, ``--only local_binary_ablations``: 30-50 s on one core). ``--full`` runs
what the paper ran where a script supports it (full Fashion-MNIST, the paper's widths and ablation
grids, 50 epochs: hours to days of CPU; records are resumable, so an interrupted run continues).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def discover() -> dict[str, Path]:
    """Map figure names (file stem without ``fig_``) to their scripts, sorted by name."""
    return {p.stem.removeprefix("fig_"): p for p in sorted(HERE.glob("fig_*.py"))}


def load(path: Path):
    """Import a figure script as a module."""
    sys.path.insert(0, str(HERE))
    try:
        spec = importlib.util.spec_from_file_location(f"bnnlab_figures.{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(HERE))
    return module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "out")
    parser.add_argument("--only", nargs="*", default=None, help="figure names to build")
    parser.add_argument("--full", action="store_true", help="use full datasets where supported")
    args = parser.parse_args(argv)

    scripts = discover()
    names = args.only or list(scripts)
    unknown = sorted(set(names) - set(scripts))
    if unknown:
        parser.error(f"--only: unknown figure(s) {unknown}; available: {sorted(scripts)}")
    written: list[Path] = []
    for name in names:
        t0 = time.perf_counter()
        paths = load(scripts[name]).main(args.out, full=args.full)
        written += paths
        print(f"[{time.perf_counter() - t0:7.1f} s] {name}: " + ", ".join(p.name for p in paths))
    print(f"{len(written)} files written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
