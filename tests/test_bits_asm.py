"""The GEMM tile compiles to the popcount instructions the issue asks for (checked, not run)."""

import llvmlite.binding as ll
import pytest

from bnnlab.bits import _asm


def test_host_tile_loop_uses_the_best_popcount_of_this_cpu():
    rep = _asm.report(None)
    c = rep["counts"]
    feats = ll.get_host_cpu_features()
    if feats.get("avx512vpopcntdq"):
        assert c["vpopcntq"] > 0
    elif feats.get("avx2"):
        # AVX2: nibble lookup (two vpshufb per popcount) summed per 64-bit lane by one vpsadbw,
        # at least one per accumulator of the 4 x 2 tile
        assert c["vpsadbw"] >= 8 and c["vpshufb"] == 2 * c["vpsadbw"]
    else:
        assert c["popcntq"] > 0 or c["vpshufb"] > 0
    assert rep["loop"][-1].lstrip().startswith("j")  # a real loop: ends in its back-edge


@pytest.mark.slow
def test_avx512_vpopcntdq_target_emits_vpopcntq():
    # compiled (not run) for Zen 4, which has AVX-512 VPOPCNTDQ: one vpopcntq per tile entry and
    # vector, no nibble lookup left
    rep = _asm.report("znver4")
    assert rep["cpu"] == "znver4"
    assert rep["counts"]["vpopcntq"] >= 8 and rep["counts"]["vpshufb"] == 0
