"""Inspect the machine code LLVM emits for the GEMM's register tile, for this or another CPU.

``python -m bnnlab.bits._asm [CPU ...]`` prints, for the host and each named LLVM CPU (for example
``znver4`` or ``icelake-server`` for AVX-512 VPOPCNTDQ, ``haswell`` for AVX2), which tile the GEMM
runs there for a 1024 x 1024 product (:func:`bnnlab.bits._numba._kernel`: the AVX2 table-lookup
tile of :mod:`bnnlab.bits._tmac`, inlined into ``_tmac_dot_serial``; or the AVX2 nibble-lookup
tile of :mod:`bnnlab.bits._lut` or LLVM's ``ctpop`` on 8-word vectors in
:func:`bnnlab.bits._vpop.tile`, both inlined into ``_dot_serial``), the innermost loop that holds the popcounts, and how many
``vpopcntq``, ``vpshufb``, ``vpsadbw``, scalar ``popcnt`` and the other vector ops it contains.
Other CPUs are compiled (never run) in a subprocess with ``NUMBA_CPU_NAME`` set and
``NUMBA_CPU_FEATURES`` empty, so the CPU name alone decides the ISA.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter

MNEMONICS = (
    "vpopcntq",
    "vpshufb",
    "vpsadbw",
    "popcntq",
    "vpxor",
    "vpxorq",
    "vpaddq",
    "vpaddb",
    "vpand",
    "vpsrlw",
    "vbroadcasti128",
)


def _signature():
    from numba import types

    u64 = types.Array(types.uint64, 2, "C")
    return (
        u64,
        u64,
        types.UniTuple(u64, 4),  # the nibble halves of the lookup tile
        types.boolean,
        types.int64,
        types.Array(types.int32, 2, "C"),
        u64,
        types.Array(types.int32, 1, "C"),
        types.int64,
    )


def _tmac_signature():
    from numba import types

    u8 = types.Array(types.uint8, 2, "C")
    return (
        u8,
        types.int64,
        u8,
        types.Array(types.uint8, 1, "C"),
        types.int64,
        types.Array(types.int32, 2, "C"),
        types.Array(types.uint64, 2, "C"),
        types.Array(types.int32, 1, "C"),
        types.int64,
        types.int64,
    )


def _words_signature():
    from numba import types

    u64 = types.Array(types.uint64, 2, "C")
    return (
        types.UniTuple(u64, 4),
        types.UniTuple(u64, 4),
        types.Array(types.int64, 1, "C"),
        types.int64,
        types.Array(types.int32, 2, "C"),
    )


def _words_entry():
    """The learner's whole-word unit tile with both operands ternary (the layers past the
    first), one tile at (0, 0): its loop over the words is the one to read."""
    from numba import njit

    from bnnlab.bits import _lut

    tile = _lut.word_tiles["both"]

    def entry(xs, ws, live, n_in, h):  # pragma: no cover - compiled
        tile(xs, ws, live, n_in, h, 0, 0)

    return njit(cache=False)(entry)


def _innermost_popcount_loop(asm: str, lut: bool) -> list[str]:
    """The single-block loop (label ... jump back to it) with the most popcount instructions:
    of a lookup tile (``lut``: its loop has ``vpshufb`` but no ``vpsadbw``) or of the other."""
    blocks: list[list[str]] = []
    for line in asm.splitlines():
        if re.match(r"^\.LBB\S+:", line):
            blocks.append([line])
        elif blocks:
            blocks[-1].append(line)
    best: list[str] = []
    best_score = 0
    for block in blocks:
        label = block[0][:-1]
        back = [
            n for n, ln in enumerate(block) if re.search(rf"\bj\w+\s+{re.escape(label)}\s*$", ln)
        ]
        if not back:
            continue
        block = block[: back[-1] + 1]
        is_lut = any("vpshufb" in ln for ln in block) and not any("vpsadbw" in ln for ln in block)
        if is_lut != lut:
            continue
        score = sum(("popcnt" in ln) or ("vpshufb" in ln) for ln in block)
        if score > best_score:
            best, best_score = block, score
    return [ln for ln in best if ln.strip() and not ln.strip().startswith("#")]


def host_report(kernel: str | None = None) -> dict:
    """Compile the tile ``kernel`` (default: the one a 1024 x 1024 product runs on this process's
    target CPU; ``"words"``: the learner's whole-word unit tile of :mod:`bnnlab.bits._lut`, which
    its forward runs with AVX-512 VPOPCNTDQ) and summarise its hot loop."""
    import llvmlite.binding as ll
    from numba import njit

    from bnnlab.bits import _numba

    kernel = kernel or _numba._kernel(None, 1024, 1024)
    lut = kernel not in ("ctpop", "words")
    # the tiles inlined, as the GEMM runs them
    if kernel == "words":
        entry, sig = _words_entry(), _words_signature()
    elif kernel == "tmac":
        entry, sig = njit(cache=False)(_numba._tmac_dot_serial.py_func), _tmac_signature()
    else:
        entry, sig = njit(cache=False)(_numba._dot_serial.py_func), _signature()
    entry.compile(sig)
    # ``_dot_serial`` holds both of its tiles (``lut`` is a runtime flag); report the one asked
    # for: the lookup loop is the one with vpshufb and no vpsadbw, the ctpop loop the other;
    # ``_tmac_dot_serial`` holds the tiles of 1 to 4 row vectors, the 4-row one has most vpshufb
    loop = _innermost_popcount_loop(entry.inspect_asm(sig), lut)
    counts = Counter(m for ln in loop for m in re.findall(r"\b([a-z0-9]+)\b", ln.split("#")[0]))
    from numba.core import config

    return {
        "cpu": config.CPU_NAME or ll.get_host_cpu_name(),
        "kernel": kernel,
        "counts": {m: counts.get(m, 0) for m in MNEMONICS},
        "loop": loop,
    }


def report(cpu: str | None = None, kernel: str | None = None) -> dict:
    """:func:`host_report` for ``cpu`` (an LLVM CPU name), compiled in a subprocess; None = host."""
    if cpu is None:
        return host_report(kernel)
    code = f"import json, bnnlab.bits._asm as m; print(json.dumps(m.host_report({kernel!r})))"
    with tempfile.TemporaryDirectory() as cache:  # foreign-CPU code never enters the real cache
        env = dict(os.environ, NUMBA_CPU_NAME=cpu, NUMBA_CPU_FEATURES="", NUMBA_CACHE_DIR=cache)
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    cpus = (argv if argv is not None else sys.argv[1:]) or ["znver4", "haswell"]
    for cpu in [None, *cpus]:
        rep = report(cpu)
        host = " (host)" if cpu is None else ""
        print(f"== {rep['cpu']}{host}, {rep['kernel']} tile: {rep['counts']}")
        print("\n".join(rep["loop"]))


if __name__ == "__main__":
    main()
