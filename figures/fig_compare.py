"""The shipped comparison of every training method (accuracy vs epoch, accuracy vs gate cost, flip
ratio vs epoch) through the harness (:mod:`bnnlab.experiments.compare`).

The spec is ``analysis/specs/binary-optimisers.toml`` (every method on full Fashion-MNIST, a
784-255-255-10 binary MLP, 3 seeds x 15 epochs; ``--full`` runs exactly it, about 25 minutes with
two workers on two cores). The fast default keeps its methods and networks and shrinks the budget:
the embedded ``fashion-mnist-mini`` set, 2 seeds x 3 epochs (about 2 minutes on one core). The
records and summary tables land in ``out/compare-<name>/`` and are resumed on a rerun.
"""

from __future__ import annotations

from pathlib import Path

from _common import harness_spec

from bnnlab.experiments.compare import compare

SPEC = Path(__file__).resolve().parents[1] / "analysis" / "specs" / "binary-optimisers.toml"


def spec(full: bool = False):
    """The shipped spec (``full``) or its small-budget version on the embedded mini set."""
    return harness_spec(SPEC, full, datasets=["fashion-mnist-mini"], seeds=2, epochs=3)


def main(out: Path, *, full: bool = False) -> list[Path]:
    s = spec(full)
    result = compare(s, out / f"compare-{s.name}")
    return [f for f in result.files if f.suffix == ".png"]
