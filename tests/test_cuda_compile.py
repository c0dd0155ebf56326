"""Every CUDA source of bnnlab/bits/cuda compiles for sm_75, sm_80 and sm_90 (nvcc, no GPU needed).

Compiled is exactly what the GPU backend hands to NVRTC (the family's ``.cu`` with ``common.cuh``
inlined), with all warnings as errors; each kernel whose signature the launch code parses must be in
the cubin under its unmangled name. Skipped, with the reason, only where nvcc is absent.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bnnlab.bits import _cuda_sources as cs

sys.path.insert(0, str(Path(__file__).parent))
from cuda_emu import nvcc

pytestmark = pytest.mark.skipif(nvcc.nvcc() is None, reason="no CUDA compiler (nvcc) found")

ARCHES = ("sm_75", "sm_80", "sm_90")


@pytest.mark.parametrize("arch", ARCHES)
@pytest.mark.parametrize("family", cs.FAMILIES)
def test_family_compiles(family, arch):
    source = cs.read_source(family)
    binary = nvcc.cubin(source, arch)
    kernels = cs.parse_signatures(source, cs.constants())
    assert kernels, f"no kernel parsed from {family}.cu"
    for name in kernels:
        assert b".text." + name.encode() + b"\0" in binary, f"{name} missing from the {arch} cubin"


def test_every_kernel_belongs_to_a_family():
    table = cs.signatures()
    assert sorted({fam for fam, _ in table.values()}) == sorted(cs.FAMILIES)
    assert len(table) == 11


def test_syntax_error_fails():
    broken = cs.read_source("pack").replace("out[t] = word;", "out[t] = word", 1)
    assert broken != cs.read_source("pack")
    with pytest.raises(nvcc.CompileError, match="error"):
        nvcc.cubin(broken, "sm_80", cache=False)


def test_warning_fails():
    unused = cs.read_source("pack") + '\nextern "C" __global__ void f(int* p) { int unused; }\n'
    with pytest.raises(nvcc.CompileError, match="never referenced"):
        nvcc.cubin(unused, "sm_80", cache=False)
