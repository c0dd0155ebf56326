"""Automation for bnnlab: ``nox -s tests | figures | bench | lint | notebooks | crosscheck``.

Every session builds its own virtual environment with the Python that runs nox and installs what it
needs there; nothing installed by hand is relied on.
"""

from __future__ import annotations

import os
import sys

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = False
nox.options.error_on_missing_interpreters = True

# Numba's on-disk cache goes next to the sources of the installed package; keep it inside the venv.
ENV = {"MPLBACKEND": "Agg", "PYTHONHASHSEED": "0"}


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite (what CI runs). GPU tests are skipped, and counted, without a GPU.

    Installs the optional extras so CI exercises them for real (Dask's ``distributed``, dimod).
    On Linux the test extra installs NVRTC (``nvidia-cuda-nvrtc``), and the CUDA sources must compile with
    it as cupy compiles them at run time: a missing libnvrtc fails those tests.
    """
    session.install(".[test,notebooks,distributed,annealing]")
    args = session.posargs or ["-q"]
    env = {**ENV, "BNNLAB_REQUIRE_NVRTC": "1"} if sys.platform == "linux" else ENV
    session.run("pytest", "tests", *args, env=env)


@nox.session
def figures(session: nox.Session) -> None:
    """Regenerate every figure from scratch into figures/out/ (PNG and PDF).

    Pass ``-- --only NAME`` to build a subset, ``-- --full`` to use full Fashion-MNIST where a figure
    supports it (needs the data: see README).
    """
    session.install(".")
    session.run("python", "figures/make_all.py", "--out", "figures/out", *session.posargs, env=ENV)


@nox.session
def bench(session: nox.Session) -> None:
    """pytest-benchmark suite; JSON saved under .benchmarks/ (ratios are printed as it runs)."""
    session.install(".[test]")
    os.makedirs(".benchmarks", exist_ok=True)
    session.run(
        "pytest",
        "benchmarks",
        "-o",
        "addopts=--import-mode=importlib",
        "--benchmark-only",
        "--benchmark-json=.benchmarks/bench.json",
        "-s",
        *session.posargs,
        env=ENV,
    )


@nox.session
def crosscheck(session: nox.Session) -> None:
    """bnnlab's device models against aihwkit itself (``crosscheck/``; not part of ``tests``).

    Installs aihwkit 1.1.0 with torch 2.10.0 — the newest pair that works on Python 3.11 (with the
    torch pip picks by default every tile fails; REFERENCES.md §4.3) — about 6 GB of wheels.
    """
    session.install("aihwkit==1.1.0", "torch==2.10.0")
    session.install(".[test]")
    session.run("pytest", "crosscheck", "-q", "-s", "-o", "addopts=", env=ENV)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def notebooks(session: nox.Session) -> None:
    """Execute every notebook in analysis/ headless; fail on any error."""
    session.install(".[notebooks]")
    session.run("python", "analysis/_run.py", *session.posargs, env=ENV)
