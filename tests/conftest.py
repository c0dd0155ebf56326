"""Shared fixtures and test policy.

- Tests marked ``gpu`` run only where cupy imports and sees a CUDA device; elsewhere they are skipped
  and the terminal summary states how many were.
- Hypothesis runs without deadlines (the machine is shared and noisy) and derandomised, so a CI
  failure reproduces.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "bnnlab",
    deadline=None,
    derandomize=True,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("bnnlab")


@functools.cache
def gpu_available() -> tuple[bool, str]:
    """(available, reason): whether cupy imports and sees at least one CUDA device."""
    try:
        import cupy
    except Exception as exc:  # ImportError, or a broken CUDA install
        return False, f"cupy not importable ({type(exc).__name__})"
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:
        return False, f"no CUDA device ({type(exc).__name__})"
    return (n > 0, "no CUDA device" if n == 0 else "")


_GPU_SKIPPED: list[str] = []


def pytest_collection_modifyitems(config, items):
    ok, reason = gpu_available()
    if ok:
        return
    marker = pytest.mark.skip(reason=f"gpu test: {reason}")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(marker)
            _GPU_SKIPPED.append(item.nodeid)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    ok, reason = gpu_available()
    line = (
        "gpu tests: a CUDA device is present; gpu tests ran"
        if ok
        else f"gpu tests: {len(_GPU_SKIPPED)} skipped ({reason})"
    )
    terminalreporter.write_sep("-", line)


@pytest.fixture
def rng() -> np.random.Generator:
    """A fixed-seed generator for tests that need random data."""
    return np.random.default_rng(20261122)
