"""Backend dispatch: lazy discovery, auto rule, env override, no silent host/device mixing."""

import importlib
import sys

import numpy as np
import pytest

from bnnlab.bits import _dispatch, available_backends, pack, xnor_gemm


def test_protocol_complete_for_available_backends():
    names = available_backends()
    assert "numpy" in names
    for name in names:
        module = _dispatch.load(name)
        for fn in _dispatch.PROTOCOL:
            assert callable(getattr(module, fn)), (name, fn)
        assert module.ARRAY_MODULE in ("numpy", "cupy")


def test_auto_prefers_numba_then_numpy(monkeypatch):
    monkeypatch.delenv(_dispatch.ENV_VAR, raising=False)
    x = np.zeros((2, 1), dtype=np.uint64)
    expected = "numba" if "numba" in available_backends() else "numpy"
    assert _dispatch.resolve("auto", x) is _dispatch.load(expected)
    assert _dispatch.resolve("numpy", x) is _dispatch.load("numpy")


def test_env_var_overrides_auto_only(monkeypatch):
    x = np.zeros((2, 1), dtype=np.uint64)
    monkeypatch.setenv(_dispatch.ENV_VAR, "numpy")
    assert _dispatch.resolve("auto", x).__name__ == "bnnlab.bits._numpy"
    monkeypatch.setenv(_dispatch.ENV_VAR, "bogus")
    with pytest.raises(ValueError, match=r"^backend: environment variable BNNLAB_BACKEND='bogus'"):
        _dispatch.resolve("auto", x)
    assert _dispatch.resolve("numpy", x).__name__ == "bnnlab.bits._numpy"  # explicit name wins


def test_unknown_and_unavailable(monkeypatch):
    with pytest.raises(ValueError, match=r"^backend: expected 'auto' or one of 'numpy', 'numba'"):
        _dispatch.load("torch")
    with pytest.raises(TypeError, match=r"^backend: expected a string"):
        _dispatch.resolve(None)
    monkeypatch.setitem(_dispatch.MODULES, "ghost", "bnnlab.bits._no_such_backend")
    assert "ghost" not in available_backends()
    with pytest.raises(ValueError, match=r"^backend: 'ghost' is not available here \(Module"):
        _dispatch.load("ghost")
    _dispatch._failed.pop("ghost", None)


def test_device_backend_refuses_host_arrays(monkeypatch):
    # a stand-in device backend: host arrays must not be handed to it silently
    fake = type(sys)("bnnlab_fake_device_backend")
    fake.ARRAY_MODULE = "cupy"
    for fn in _dispatch.PROTOCOL:
        setattr(fake, fn, lambda *args: None)
    monkeypatch.setitem(sys.modules, "bnnlab_fake_device_backend", fake)
    monkeypatch.setitem(_dispatch.MODULES, "fakegpu", "bnnlab_fake_device_backend")
    a = pack(np.ones((2, 3)))
    with pytest.raises(
        TypeError, match=r"^backend: 'fakegpu' takes cupy arrays but the inputs are numpy"
    ):
        xnor_gemm(a, a, 3, backend="fakegpu")
    _dispatch._loaded.pop("fakegpu", None)


def test_import_loads_no_backend():
    code = (
        "import sys, bnnlab.bits; "
        "print(any(m in sys.modules for m in ('numba', 'bnnlab.bits._numba', 'bnnlab.bits._numpy')))"
    )
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert importlib.import_module("bnnlab.bits._dispatch") is _dispatch
