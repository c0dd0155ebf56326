"""The shipped comparison of every training method (accuracy vs epoch, accuracy vs gate cost, flip
ratio vs epoch) through the harness (:mod:`bnnlab.experiments.compare`).

The spec is ``analysis/specs/binary-optimisers.toml`` (every method on full Fashion-MNIST, a
784-255-255-10 binary MLP, 3 seeds x 15 epochs; ``--full`` runs exactly it, about 25 minutes with
two workers on two cores). The fast default keeps its methods and networks and shrinks the budget:
the embedded ``fashion-mnist-mini`` set, 2 seeds x 3 epochs (about 2 minutes on one core). The
records and summary tables land in ``out/compare-<name>/`` and are resumed on a rerun.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from bnnlab.experiments.compare import compare, parse_spec

SPEC = Path(__file__).resolve().parents[1] / "analysis" / "specs" / "binary-optimisers.toml"


def spec(full: bool = False):
    """The shipped spec (``full``) or its small-budget version on the embedded mini set."""
    table = tomllib.loads(SPEC.read_text())
    if not full:
        table.update(
            name=f"{table['name']}-mini",
            description=f"{table['name']} at a small budget: fashion-mnist-mini, 2 seeds x 3 epochs",
            datasets=["fashion-mnist-mini"],
            seeds=2,
            epochs=3,
        )
    return parse_spec(table, base_dir=SPEC.parent)


def main(out: Path, *, full: bool = False) -> list[Path]:
    s = spec(full)
    result = compare(s, out / f"compare-{s.name}")
    return [f for f in result.files if f.suffix == ".png"]
