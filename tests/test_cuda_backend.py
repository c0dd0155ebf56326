"""The cupy backend's place in the dispatch, checked on any machine (no GPU, with or without cupy).

* importing bnnlab (and bnnlab.bits) imports neither cupy nor the backend module;
* without cupy, asking for ``backend="cupy"`` is a ``ValueError`` that says why;
* a cupy array and a numpy array in one call are a ``TypeError`` before any backend runs (shown with
  a stand-in ``cupy`` module whose ``ndarray`` is a numpy subclass, so no GPU is needed).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import types

import numpy as np
import pytest

from bnnlab import bits as B


def test_import_costs_nothing():
    code = (
        "import sys, bnnlab, bnnlab.bits; "
        "assert 'cupy' not in sys.modules, 'cupy imported'; "
        "assert 'bnnlab.bits._cupy' not in sys.modules, 'backend imported'"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.skipif(importlib.util.find_spec("cupy") is not None, reason="cupy is installed")
def test_cupy_backend_unavailable_without_cupy():
    a = B.pack(np.ones((2, 70), dtype=np.int8))
    with pytest.raises(ValueError, match=r"backend: 'cupy' is not available here \(.*cupy"):
        B.xnor_gemm(a, a, 70, backend="cupy")


@pytest.fixture
def fake_cupy(monkeypatch):
    module = types.ModuleType("cupy")

    class ndarray(np.ndarray):
        pass

    module.ndarray = ndarray
    monkeypatch.setitem(sys.modules, "cupy", module)
    return module


def test_mixed_numpy_and_cupy_raise(fake_cupy):
    a = B.pack(np.ones((3, 70), dtype=np.int8))
    dev = a.view(fake_cupy.ndarray)
    with pytest.raises(TypeError, match="numpy and cupy mixed"):
        B.xnor_gemm(dev, a, 70)
    with pytest.raises(TypeError, match="numpy and cupy mixed"):
        B.xnor_gemm_sign(a, dev, 70)
    with pytest.raises(TypeError, match="numpy and cupy mixed"):
        B.xnor_gemm(a, a, 70, out=np.empty((3, 3), dtype=np.int32).view(fake_cupy.ndarray))
    with pytest.raises(TypeError, match="numpy and cupy mixed"):
        B.outer_update(np.zeros((70, 2), np.int16), dev, np.zeros((3, 2), np.int8))
    zeros = np.zeros((3, 70), dtype=bool)
    with pytest.raises(TypeError, match="numpy and cupy mixed"):
        B.subtract_zero_inputs(np.zeros((3, 3), np.int32), zeros, dev)
    with pytest.raises(TypeError, match="numpy and cupy mixed"):
        B.subtract_zero_weights(np.zeros((3, 3), np.int32), dev, 70, [0], [0])
    with pytest.raises(TypeError, match="numpy and cupy mixed"):
        B.subtract_zero_update(
            np.zeros((70, 3), np.int32), zeros.view(fake_cupy.ndarray), np.zeros((3, 3), np.int8)
        )
