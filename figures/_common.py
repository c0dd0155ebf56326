"""Shared helpers of the figure scripts: consistent style and atomic PNG + PDF output."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bnnlab._io import atomic_path

plt.rcParams.update(
    {
        "figure.dpi": 110,
        "savefig.dpi": 150,
        "font.size": 9,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "legend.frameon": False,
        # Reproducible PDFs: no creation date in the metadata.
        "pdf.fonttype": 42,
    }
)


def save(fig: plt.Figure, out: Path, stem: str) -> list[Path]:
    """Write ``fig`` as ``out/stem.png`` and ``out/stem.pdf`` atomically; close it; return paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext in ("png", "pdf"):
        target = out / f"{stem}.{ext}"
        with atomic_path(target) as tmp:
            meta = {"CreationDate": None} if ext == "pdf" else {"Software": None}
            fig.savefig(tmp, format=ext, bbox_inches="tight", metadata=meta)
        paths.append(target)
    plt.close(fig)
    return paths


def harness_spec(path: Path, full: bool, *, datasets: list[str], seeds: int, epochs: int):
    """A comparison spec (:mod:`bnnlab.experiments.compare`) as shipped (``full``) or at the
    figures' small budget: the same methods on ``datasets`` for ``seeds`` x ``epochs``, named
    ``<name>-mini`` so its records never mix with the full run's."""
    import tomllib

    from bnnlab.experiments.compare import parse_spec

    table = tomllib.loads(Path(path).read_text())
    if not full:
        table.update(
            name=f"{table['name']}-mini",
            description=f"{table['name']} at a small budget: {', '.join(datasets)}, "
            f"{seeds} seed(s) x {epochs} epochs",
            datasets=list(datasets),
            seeds=seeds,
            epochs=epochs,
        )
    return parse_spec(table, base_dir=Path(path).parent)
