"""Every CUDA source of bnnlab/bits/cuda compiles for sm_75, sm_80 and sm_90 (no GPU needed).

Compiled is exactly what the GPU backend hands to NVRTC (the family's ``.cu`` with ``common.cuh``
inlined), with all warnings as errors; each kernel whose signature the launch code parses must be in
the cubin under its unmangled name. With nvcc (skipped, with the reason, only where nvcc is absent)
and with NVRTC and the GPU backend's options as cupy.RawModule compiles. NVRTC comes from the
``nvidia-cuda-nvrtc`` wheel of the test extra (the one cupy-cuda13x loads); its tests skip where no
libnvrtc is found, unless ``BNNLAB_REQUIRE_NVRTC`` is set (``nox -s tests`` sets it on Linux), which
makes a missing library a failure.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bnnlab.bits import _cuda_sources as cs

sys.path.insert(0, str(Path(__file__).parent))
from cuda_emu import nvcc

ARCHES = ("sm_75", "sm_80", "sm_90")
needs_nvcc = pytest.mark.skipif(nvcc.nvcc() is None, reason="no CUDA compiler (nvcc) found")
REQUIRE_NVRTC = bool(os.environ.get("BNNLAB_REQUIRE_NVRTC"))
needs_nvrtc = pytest.mark.skipif(
    nvcc.nvrtc_library() is None and not REQUIRE_NVRTC,
    reason="no NVRTC library (libnvrtc) found; install the test extra (nvidia-cuda-nvrtc)",
)


@pytest.fixture
def nvrtc():
    """Fail, rather than skip, when NVRTC is required (CI) but missing."""
    if nvcc.nvrtc_library() is None:
        pytest.fail(
            "BNNLAB_REQUIRE_NVRTC is set but no libnvrtc was found: the test extra installs "
            "nvidia-cuda-nvrtc"
        )


def _has_kernels(binary: bytes, source: str) -> None:
    kernels = cs.parse_signatures(source, cs.constants())
    assert kernels, "no kernel parsed"
    for name in kernels:
        assert b".text." + name.encode() + b"\0" in binary, f"{name} missing from the cubin"


@pytest.fixture(scope="module")
def cubins():
    """All (family, arch) cubins, compiled concurrently (nvcc is single-threaded); errors kept."""
    jobs = [(f, a) for f in cs.FAMILIES for a in ARCHES]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        futures = {job: pool.submit(nvcc.cubin, cs.read_source(job[0]), job[1]) for job in jobs}
    return futures


@needs_nvcc
@pytest.mark.parametrize("arch", ARCHES)
@pytest.mark.parametrize("family", cs.FAMILIES)
def test_family_compiles(cubins, family, arch):
    _has_kernels(cubins[family, arch].result(), cs.read_source(family))


@needs_nvrtc
@pytest.mark.parametrize("arch", ARCHES)
@pytest.mark.parametrize("family", cs.FAMILIES)
def test_family_compiles_with_nvrtc(nvrtc, family, arch):
    """What cupy.RawModule does on a GPU machine: NVRTC, no include path, the backend's options."""
    source = cs.read_source(family)
    _has_kernels(nvcc.nvrtc_cubin(source, arch, cs.NVRTC_OPTIONS), source)


def test_every_kernel_belongs_to_a_family():
    table = cs.signatures()
    assert sorted({fam for fam, _ in table.values()}) == sorted(cs.FAMILIES)
    assert len(table) == 16


@needs_nvcc
def test_syntax_error_fails():
    broken = cs.read_source("pack").replace("out[t] = word;", "out[t] = word", 1)
    assert broken != cs.read_source("pack")
    with pytest.raises(nvcc.CompileError, match="error"):
        nvcc.cubin(broken, "sm_80", cache=False)


@needs_nvcc
def test_warning_fails():
    unused = cs.read_source("pack") + '\nextern "C" __global__ void f(int* p) { int unused; }\n'
    with pytest.raises(nvcc.CompileError, match="never referenced"):
        nvcc.cubin(unused, "sm_80", cache=False)


@needs_nvrtc
def test_nvrtc_syntax_error_fails(nvrtc):
    broken = cs.read_source("zero").replace("dot[t] -= (int)s;", "dot[t] -= (int)s", 1)
    assert broken != cs.read_source("zero")
    with pytest.raises(nvcc.CompileError, match="NVRTC -arch=sm_80 failed"):
        nvcc.nvrtc_cubin(broken, "sm_80", cs.NVRTC_OPTIONS)


def test_nvrtc_found_in_a_wheel(tmp_path, monkeypatch):
    """The layouts of nvidia-cuda-nvrtc (CUDA 13: nvidia/cu13/lib) and nvidia-cuda-nvrtc-cu12
    (nvidia/cuda_nvrtc/lib); the newest wins; $BNNLAB_NVRTC overrides."""
    for sub, name in [("cuda_nvrtc", "libnvrtc.so.12"), ("cu13", "libnvrtc.so.13")]:
        lib = tmp_path / "nvidia" / sub / "lib"
        lib.mkdir(parents=True)
        (lib / name).write_bytes(b"")
        (lib / "libnvrtc-builtins.so.99").write_bytes(b"")
    monkeypatch.delitem(sys.modules, "nvidia", raising=False)
    monkeypatch.setattr(sys, "path", [str(tmp_path)])
    monkeypatch.delenv("BNNLAB_NVRTC", raising=False)
    assert nvcc.nvrtc_library() == str(tmp_path / "nvidia" / "cu13" / "lib" / "libnvrtc.so.13")
    monkeypatch.setenv("BNNLAB_NVRTC", "/opt/libnvrtc.so")
    assert nvcc.nvrtc_library() == "/opt/libnvrtc.so"
