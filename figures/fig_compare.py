"""A comparison of every gradient-free method through the harness: accuracy vs epoch, accuracy vs
gate cost and flip ratio vs epoch (:mod:`bnnlab.experiments.compare`).

The spec below is what ``bnnlab compare`` would read from TOML; the records (and the summary tables)
land in ``out/compare-methods/`` and are resumed on a rerun.
"""

from __future__ import annotations

from pathlib import Path

from bnnlab.experiments.compare import compare, parse_spec


def spec(full: bool = False):
    """Local-binary (two robustness margins) vs CP+R on a shared budget and shared seeds."""
    return parse_spec(
        {
            "name": "methods-full" if full else "methods",
            "description": "local binary error signals vs CP+R, same seeds and epochs",
            "datasets": ["fashion-mnist"] if full else ["fashion-mnist-mini"],
            "seeds": 5 if full else 3,
            "epochs": 20 if full else 8,
            "methods": {
                "local-binary": {
                    "method": "local-binary",
                    "config": {"layers": [75, 75]},
                    "grid": {"rob": [0.0, 0.25]},
                },
                "cp-r": {"method": "cp-r", "config": {"layers": [88, 8]}},
            },
        }
    )


def main(out: Path, *, full: bool = False) -> list[Path]:
    s = spec(full)
    result = compare(s, out / f"compare-{s.name}")
    return [f for f in result.files if f.suffix == ".png"]
