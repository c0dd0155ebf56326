"""The GEMM tile compiles to the popcount instructions the issue asks for (checked, not run)."""

import llvmlite.binding as ll
import pytest

from bnnlab.bits import _asm


def test_host_tile_loop_uses_the_best_popcount_of_this_cpu():
    rep = _asm.report(None)
    c = rep["counts"]
    feats = ll.get_host_cpu_features()
    if feats.get("avx512vpopcntdq"):
        assert rep["kernel"] == "ctpop" and c["vpopcntq"] > 0
    elif feats.get("avx2"):
        # the table-lookup tile: per nibble step of the 4 x 2 tile 2 table broadcasts, then one
        # vpshufb and one vpaddb per (row vector, column); no XOR, masking, shifting or vpsadbw
        assert rep["kernel"] == "tmac"
        assert c["vpshufb"] == c["vpaddb"] == 4 * c["vbroadcasti128"] > 0
        assert c["vpxor"] == c["vpsadbw"] == c["vpsrlw"] == c["vpand"] == 0
    else:
        assert c["popcntq"] > 0 or c["vpshufb"] > 0
    assert rep["loop"][-1].lstrip().startswith("j")  # a real loop: ends in its back-edge


def test_host_nibble_lookup_tile_loop():
    if not ll.get_host_cpu_features().get("avx2"):
        pytest.skip("the nibble-lookup tile needs AVX2")
    # per vector step of the 4 x 2 tile two vpxor, two vpshufb and two vpaddb per entry; no
    # nibble masking or shifting and no vpsadbw left in the loop. On an AVX-512 host LLVM writes
    # some of the XORs in their EVEX form (``vpxorq``, for registers ymm16-31): the same operation
    c = _asm.report(None, "lut")["counts"]
    assert c["vpshufb"] == c["vpxor"] + c["vpxorq"] == c["vpaddb"] == 16
    assert c["vpsadbw"] == c["vpsrlw"] == c["vpand"] == 0


@pytest.mark.slow
def test_avx512_vpopcntdq_target_emits_vpopcntq():
    # compiled (not run) for Zen 4, which has AVX-512 VPOPCNTDQ: the ctpop tile, one vpopcntq per
    # tile entry and vector, no nibble lookup left
    rep = _asm.report("znver4")
    assert rep["cpu"] == "znver4" and rep["kernel"] == "ctpop"
    assert rep["counts"]["vpopcntq"] >= 8 and rep["counts"]["vpshufb"] == 0


@pytest.mark.slow
def test_avx2_target_without_vpopcntdq_runs_the_table_lookup_tile():
    # compiled (not run) for Haswell (AVX2, no AVX-512): the table-lookup tile whatever the host has
    rep = _asm.report("haswell")
    assert rep["cpu"] == "haswell" and rep["kernel"] == "tmac"
    c = rep["counts"]
    assert c["vpshufb"] == 4 * c["vbroadcasti128"] > 0 and c["vpsadbw"] == c["vpxor"] == 0


@pytest.mark.slow
def test_learner_word_tile_on_avx512_vpopcntdq_counts_with_vpopcntq():
    # compiled (not run) for Zen 4: the forward's whole-word tile with both operands ternary, 4
    # rows x 16 units, two 8-unit vectors per row: per word 8 entry vectors, each counted twice
    # (the live mask and the masked XOR) by one zmm vpopcntq, no nibble lookup
    rep = _asm.report("znver4", "words")
    c = rep["counts"]
    assert rep["cpu"] == "znver4" and c["vpopcntq"] == 16 and c["vpshufb"] == c["vpsadbw"] == 0
    assert rep["loop"][-1].lstrip().startswith("j")
    assert any("vpopcntq" in ln and "zmm" in ln for ln in rep["loop"])


def test_learner_forward_kernel_follows_the_target():
    from bnnlab.bits import _lut

    isa = _lut.target_isa()
    want = (
        _lut.FORWARD_WORDS
        if isa["avx512vpopcntdq"]
        else _lut.FORWARD_NIBBLES
        if isa["avx2"]
        else _lut.FORWARD_ROWS
    )
    assert _lut.forward_kernel() == want
