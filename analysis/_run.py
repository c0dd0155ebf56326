"""Execute the analysis notebooks (jupytext percent-format ``.py``) headless; fail on any error.

Usage: ``python analysis/_run.py [NAME ...]`` (default: every ``analysis/[!_]*.py``). Executed
notebooks are written to ``analysis/out/`` (not committed).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def notebooks(names: list[str] | None = None) -> list[Path]:
    """The notebook sources to run, optionally filtered by stem."""
    paths = sorted(p for p in HERE.glob("*.py") if not p.name.startswith("_"))
    if names:
        paths = [p for p in paths if p.stem in names]
    return paths


def execute(path: Path, out_dir: Path | None = None, timeout: int = 1200) -> Path:
    """Execute one notebook source; return the executed ``.ipynb``. Raises on any cell error."""
    import jupytext
    import nbformat
    from nbclient import NotebookClient

    nb = jupytext.read(path)
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}
    )
    client.execute()
    out_dir = out_dir or HERE / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{path.stem}.ipynb"
    nbformat.write(nb, target)
    return target


def main(argv: list[str]) -> int:
    paths = notebooks(argv or None)
    if not paths:
        print("no notebooks found", file=sys.stderr)
        return 1
    for p in paths:
        t0 = time.perf_counter()
        target = execute(p)
        print(f"[{time.perf_counter() - t0:6.1f} s] {p.name} -> {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
