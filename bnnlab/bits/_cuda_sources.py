"""CUDA sources of the bit kernels, their signatures, and the launch plans shared by every runner.

The kernels live in ``bnnlab/bits/cuda/*.cu`` (one file per family, plus ``common.cuh``). This module
is the single place that knows

* where the sources are and how to hand them to a compiler (:func:`read_source` inlines the local
  ``#include "..."`` lines, so NVRTC needs no include path);
* the tiling constants, read from ``common.cuh`` (:func:`constants`), so Python and CUDA agree;
* the kernel signatures, parsed from the sources (:func:`signatures`), and the check of every
  launch against them (:func:`check_launch`): a Python ``int`` passed where a kernel takes ``int``
  is pushed as 8 bytes by ``cupy.RawKernel`` and silently garbles every later argument on a GPU, so
  scalars must be numpy scalars of exactly the parameter's C type, arrays must have its dtype;
* how each backend operation is launched (:class:`CudaKernels`): kernel choice and grid/block from
  the shapes. It is written against an array namespace ``xp`` and a ``get_function(name)`` returning
  a callable with ``cupy.RawKernel``'s ``(grid, block, args)`` call shape, so the very same launch
  code runs the real kernels (:mod:`bnnlab.bits._cupy`, ``xp = cupy``) and their CPU emulation in
  the tests (``tests/cuda_emu``, ``xp = numpy``).

Launch shapes (the defaults of ``common.cuh``)
----------------------------------------------
=====================  =================================================================
GEMM, tiled            blocks of 16 x 16 threads, 64 x 64 outputs per block (4 x 4 per
                       thread), 8 words (512 bits) of k per shared-memory step; grid
                       ``(ceil(n / 64), ceil(m / 64))``; used when ``m >= 32`` and ``n >= 32``
GEMM, thin             one thread per output (per output word for the sign variant),
                       1-D grid-stride loop; small ``m`` or ``n``
pack / unpack          one thread per word / per element, 1-D
outer update           one thread per element of ``h``, 1-D, the batch walked in order
popcount rows          one thread per row (``nw <= 8``, or many rows with ``nw <= 64``),
                       else one block per row with a shared-memory tree reduction
popcount cols          threads over columns, blocks over chunks of 256 rows, atomic adds
zero corrections       one thread per element of ``dot`` / ``h``, 1-D (the zero masks
                       packed first by ``bnn_pack_last``; the zero-weight mask by
                       ``bnn_positions_mask``, one thread per zero)
=====================  =================================================================

Every kernel uses grid-stride loops, so the grid is capped at the hardware limits (and may be
capped lower for tests) without changing any result.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

SOURCE_DIR = Path(__file__).with_name("cuda")
FAMILIES = ("pack", "gemm", "update", "popcount", "zero")
HEADER = "common.cuh"
NVRTC_OPTIONS = ("--std=c++17",)  # what cupy.RawModule passes to NVRTC (cupy adds -arch)

# C type of a kernel parameter -> numpy dtype. `long` and plain `char` are refused on purpose: their
# size or signedness differs between platforms.
C_TYPES: dict[str, np.dtype] = {
    "bool": np.dtype(np.bool_),
    "signed char": np.dtype(np.int8),
    "unsigned char": np.dtype(np.uint8),
    "short": np.dtype(np.int16),
    "unsigned short": np.dtype(np.uint16),
    "int": np.dtype(np.int32),
    "unsigned int": np.dtype(np.uint32),
    "long long": np.dtype(np.int64),
    "unsigned long long": np.dtype(np.uint64),
    "float": np.dtype(np.float32),
    "double": np.dtype(np.float64),
}

# CUDA limits on launch dimensions (compute capability >= 3.0).
MAX_GRID = (2**31 - 1, 65535, 65535)
MAX_BLOCK = (1024, 1024, 64)
MAX_THREADS = 1024
DEFAULT_MAX_BLOCKS = 65535  # cap of every grid dimension the launch plans use

_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"\s*$', re.MULTILINE)
_DEFINE = re.compile(r"^\s*#\s*define\s+(BNN_\w+)\s+(.+?)\s*(?://.*)?$", re.MULTILINE)
_KERNEL = re.compile(
    r'extern\s+"C"\s+__global__\s+void\s+(?:__launch_bounds__\s*\(\s*(\w+)\s*\)\s+)?'
    r"(\w+)\s*\(([^)]*)\)",
    re.DOTALL,
)


def source_path(family: str) -> Path:
    """Path of the ``.cu`` file of a kernel family (one of :data:`FAMILIES`)."""
    if family not in FAMILIES:
        raise ValueError(
            f"family: expected one of {', '.join(map(repr, FAMILIES))}, got {family!r}"
        )
    return SOURCE_DIR / f"{family}.cu"


def resolve_includes(text: str, directory: Path, _seen: frozenset[str] = frozenset()) -> str:
    """Replace each ``#include "name"`` by the text of ``directory / name`` (once per file)."""

    def inline(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in _seen:
            return f"// {name} already included"
        body = (directory / name).read_text()
        return resolve_includes(body, directory, _seen | {name})

    return _INCLUDE.sub(inline, text)


def read_source(family: str) -> str:
    """Full text of a family's kernels with ``common.cuh`` inlined (what NVRTC compiles)."""
    path = source_path(family)
    return resolve_includes(path.read_text(), path.parent)


def _evaluate(expr: str, known: Mapping[str, int]) -> int:
    """Value of a ``#define`` body: a sum of products of integers and known ``BNN_*`` names."""
    body = expr.replace("(", " ").replace(")", " ")
    if not re.fullmatch(r"[\sA-Z_0-9*+]+", body):
        raise ValueError(f"unsupported #define expression in {HEADER}: {expr!r}")
    total = 0
    for term in body.split("+"):
        value = 1
        for factor in term.split("*"):
            factor = factor.strip()
            value *= int(factor) if factor.isdigit() else int(known[factor])
        total += value
    return total


def constants(defines: Mapping[str, int] | None = None) -> dict[str, int]:
    """The ``BNN_*`` constants of ``common.cuh``, with ``defines`` overriding the defaults.

    ``defines`` are the ``-D`` values a runner compiles with; derived constants (``BNN_GEMM_TM`` ...)
    are recomputed from them.
    """
    overrides = dict(defines or {})
    values: dict[str, int] = {}
    for name, expr in _DEFINE.findall((SOURCE_DIR / HEADER).read_text()):
        values[name] = int(overrides[name]) if name in overrides else _evaluate(expr, values)
    unknown = set(overrides) - set(values)
    if unknown:
        raise ValueError(f"defines: unknown constants {sorted(unknown)}")
    return values


@dataclass(frozen=True)
class Param:
    """One kernel parameter: its name, C type and, for pointers, constness."""

    name: str
    ctype: str
    pointer: bool
    const: bool

    @property
    def dtype(self) -> np.dtype:
        return C_TYPES[self.ctype]


@dataclass(frozen=True)
class Signature:
    """Parsed ``extern "C" __global__`` kernel: name, parameters, ``__launch_bounds__`` (or 1024)."""

    name: str
    params: tuple[Param, ...]
    max_threads: int


def _parse_param(text: str, kernel: str) -> Param:
    words = text.replace("*", " * ").replace("__restrict__", " ").split()
    if len(words) < 2 or not re.fullmatch(r"[A-Za-z_]\w*", words[-1]):
        raise ValueError(f"kernel {kernel}: cannot parse parameter {text!r}")
    name, rest = words[-1], words[:-1]
    pointer = rest.count("*")
    if pointer > 1:
        raise ValueError(f"kernel {kernel}: parameter {name} is a pointer to pointer")
    const = "const" in rest
    ctype = " ".join(w for w in rest if w not in ("const", "*"))
    if ctype not in C_TYPES:
        raise ValueError(
            f"kernel {kernel}: parameter {name} has type {ctype!r}; use one of "
            f"{', '.join(C_TYPES)} (fixed size on every platform)"
        )
    return Param(name=name, ctype=ctype, pointer=bool(pointer), const=const)


def parse_signatures(text: str, consts: Mapping[str, int]) -> dict[str, Signature]:
    """Every ``extern "C" __global__`` kernel of a (comment-free enough) CUDA source text."""
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.DOTALL)
    out: dict[str, Signature] = {}
    for bounds, name, params in _KERNEL.findall(text):
        parsed = tuple(_parse_param(p, name) for p in params.split(",") if p.strip())
        limit = MAX_THREADS
        if bounds:
            limit = int(bounds) if bounds.isdigit() else int(consts[bounds])
        out[name] = Signature(name=name, params=parsed, max_threads=limit)
    return out


@cache
def signatures() -> dict[str, tuple[str, Signature]]:
    """``kernel name -> (family, signature)`` for every kernel of the package (default constants)."""
    consts = constants()
    table: dict[str, tuple[str, Signature]] = {}
    for family in FAMILIES:
        for name, sig in parse_signatures(read_source(family), consts).items():
            table[name] = (family, sig)
    return table


def _dims(value: Any, what: str, kernel: str) -> tuple[int, int, int]:
    dims = (value,) if isinstance(value, int | np.integer) else tuple(value)
    if not 1 <= len(dims) <= 3 or not all(isinstance(d, int | np.integer) for d in dims):
        raise TypeError(
            f"kernel {kernel}: {what} must be an int or a tuple of 1-3 ints, got {value!r}"
        )
    return tuple(int(d) for d in dims) + (1,) * (3 - len(dims))  # type: ignore[return-value]


def check_launch(
    sig: Signature, grid: Any, block: Any, args: tuple[Any, ...], *, array_type: type | None = None
) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """Check a launch against the kernel's signature and the CUDA limits; return (grid, block).

    Raises ``TypeError`` for a wrong argument count, an array of the wrong dtype, kind
    (``array_type``) or layout (not C-contiguous, read-only where the kernel writes), and for any
    scalar that is not a numpy scalar of exactly the parameter's C type (Python ``int``, ``float`` and
    ``bool`` are refused: their size on the kernel side would be guessed). Raises ``ValueError`` for
    launch dimensions outside the CUDA limits or above the kernel's ``__launch_bounds__``.
    """
    g = _dims(grid, "grid", sig.name)
    b = _dims(block, "block", sig.name)
    if any(d < 1 for d in g) or any(d > lim for d, lim in zip(g, MAX_GRID, strict=True)):
        raise ValueError(f"kernel {sig.name}: grid {g} outside the CUDA limits {MAX_GRID}")
    threads = b[0] * b[1] * b[2]
    if any(d < 1 for d in b) or any(d > lim for d, lim in zip(b, MAX_BLOCK, strict=True)):
        raise ValueError(f"kernel {sig.name}: block {b} outside the CUDA limits {MAX_BLOCK}")
    if threads > sig.max_threads:
        raise ValueError(
            f"kernel {sig.name}: {threads} threads per block exceed its __launch_bounds__ "
            f"({sig.max_threads})"
        )
    if len(args) != len(sig.params):
        raise TypeError(
            f"kernel {sig.name}: expected {len(sig.params)} arguments "
            f"({', '.join(p.name for p in sig.params)}), got {len(args)}"
        )
    for p, arg in zip(sig.params, args, strict=True):
        where = f"kernel {sig.name}: argument {p.name} ({'const ' if p.const else ''}{p.ctype}"
        if p.pointer:
            where += "*)"
            if (
                isinstance(arg, np.generic)
                or not hasattr(arg, "dtype")
                or not hasattr(arg, "flags")
            ):
                raise TypeError(f"{where} expects an array, got {type(arg).__name__}")
            if array_type is not None and not isinstance(arg, array_type):
                raise TypeError(
                    f"{where} expects a {array_type.__module__}.{array_type.__name__}, "
                    f"got {type(arg).__module__}.{type(arg).__name__}"
                )
            if np.dtype(arg.dtype) != p.dtype:
                raise TypeError(f"{where} expects dtype {p.dtype}, got {arg.dtype}")
            if not arg.flags.c_contiguous:
                raise TypeError(f"{where} expects a C-contiguous array")
            if not p.const and not getattr(arg.flags, "writeable", True):  # cupy: always
                raise TypeError(f"{where} is written by the kernel but the array is read-only")
        else:
            where += ")"
            if not isinstance(arg, np.generic):
                raise TypeError(
                    f"{where} expects a numpy.{p.dtype.name} scalar, got Python "
                    f"{type(arg).__name__} (cupy would pass it with a guessed size)"
                )
            if arg.dtype != p.dtype:
                raise TypeError(f"{where} expects a numpy.{p.dtype.name} scalar, got {arg.dtype}")
    return g, b


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


Launcher = Callable[[tuple[int, int, int], tuple[int, int, int], tuple[Any, ...]], Any]


class CudaKernels:
    """The backend protocol of :mod:`bnnlab.bits._dispatch` as launches of the CUDA kernels.

    Parameters
    ----------
    xp
        Array namespace of the arrays (``cupy`` on a GPU, ``numpy`` under the CPU emulation).
    get_function
        ``get_function(name)`` -> a kernel callable as ``kernel(grid, block, args)``.
    defines
        The ``-D`` overrides the kernels were compiled with (tiling constants); ``None`` for the
        defaults of ``common.cuh``.
    max_blocks
        Cap of every grid dimension (the grid-stride loops cover the rest). Tests lower it to check
        that a capped grid gives the same result.
    array_type
        Array class every pointer argument must be (``cupy.ndarray`` on a GPU), checked per launch.
    """

    def __init__(
        self,
        xp: Any,
        get_function: Callable[[str], Launcher],
        *,
        defines: Mapping[str, int] | None = None,
        max_blocks: int = DEFAULT_MAX_BLOCKS,
        array_type: type | None = None,
    ) -> None:
        self.xp = xp
        self._get_function = get_function
        self.c = constants(defines)
        self.max_blocks = int(max_blocks)
        self.array_type = array_type
        table = signatures()
        if defines:
            table = {
                name: (fam, parse_signatures(read_source(fam), self.c)[name])
                for name, (fam, _) in table.items()
            }
        self._sigs = {name: sig for name, (_, sig) in table.items()}
        self.last_launch: tuple[str, tuple[int, int, int], tuple[int, int, int]] | None = None

    # -- launching ---------------------------------------------------------------------------
    def launch(self, name: str, grid: Any, block: Any, args: tuple[Any, ...]) -> None:
        """Check ``args`` against the kernel's signature, then launch it."""
        g, b = check_launch(self._sigs[name], grid, block, args, array_type=self.array_type)
        self.last_launch = (name, g, b)
        self._get_function(name)(g, b, args)

    def _grid_1d(self, work: int) -> tuple[int, int, int]:
        return (max(1, min(_ceil(work, self.c["BNN_BLOCK_THREADS"]), self.max_blocks)), 1, 1)

    def _launch_1d(self, name: str, work: int, args: tuple[Any, ...]) -> None:
        self.launch(name, self._grid_1d(work), (self.c["BNN_BLOCK_THREADS"], 1, 1), args)

    def use_tiled_gemm(self, m: int, n: int) -> bool:
        """Tiled GEMM when at least half a tile of rows and of columns is used, else thin."""
        return m >= self.c["BNN_GEMM_TM"] // 2 and n >= self.c["BNN_GEMM_TN"] // 2

    def _launch_gemm(self, kind: str, m: int, n: int, args: tuple[Any, ...]) -> None:
        c = self.c
        if self.use_tiled_gemm(m, n):
            grid = (
                min(_ceil(n, c["BNN_GEMM_TN"]), self.max_blocks),
                min(_ceil(m, c["BNN_GEMM_TM"]), self.max_blocks),
                1,
            )
            self.launch(f"bnn_{kind}_tiled", grid, (c["BNN_GEMM_TX"], c["BNN_GEMM_TY"], 1), args)
        else:
            work = m * n if kind == "xnor_gemm" else m * _ceil(n, 64)
            self._launch_1d(f"bnn_{kind}_thin", work, args)

    # -- the backend protocol ------------------------------------------------------------------
    def pack_last(self, x: Any, out: Any) -> Any:
        r, k = x.shape
        w = out.shape[1]
        self._launch_1d("bnn_pack_last", r * w, (x, out, np.int64(r), np.int64(k), np.int64(w)))
        return out

    def unpack_last(self, words: Any, k: int, out: Any) -> Any:
        r, w = words.shape
        self._launch_1d(
            "bnn_unpack_last", r * k, (words, out, np.int64(r), np.int64(k), np.int64(w))
        )
        return out

    def xnor_gemm(self, a: Any, b: Any, k: int, out: Any) -> Any:
        (m, w), n = a.shape, b.shape[0]
        args = (a, b, out, np.int64(m), np.int64(n), np.int64(w), np.int32(k))
        self._launch_gemm("xnor_gemm", m, n, args)
        return out

    def xnor_gemm_sign(self, a: Any, b: Any, k: int, thresholds: Any, out: Any) -> Any:
        (m, w), n = a.shape, b.shape[0]
        args = (a, b, thresholds, out, np.int64(m), np.int64(n), np.int64(w), np.int32(k))
        self._launch_gemm("xnor_gemm_sign", m, n, args)
        return out

    def value_range(self, a: Any) -> tuple[int, int]:
        # two library reductions on the array's own device (no kernel of ours); two scalars return
        return int(a.min()), int(a.max())

    def outer_update(self, h: Any, x: Any, e: Any, step: int, lo: int, hi: int) -> Any:
        n_in, n_out = h.shape
        batch, xw = x.shape
        name = "bnn_outer_update_i16" if np.dtype(h.dtype) == np.int16 else "bnn_outer_update_i32"
        # A step beyond the width of [lo, hi] saturates exactly like hi - lo + 1 does; capping it
        # keeps the kernel's int64 arithmetic free of overflow for any Python int.
        step = min(int(step), int(hi) - int(lo) + 1)
        args = (
            h,
            x,
            e,
            np.int64(n_in),
            np.int64(n_out),
            np.int64(batch),
            np.int64(xw),
            np.int64(step),
            np.int64(lo),
            np.int64(hi),
        )
        self._launch_1d(name, n_in * n_out, args)
        return h

    def use_block_rows(self, rows: int, nw: int) -> bool:
        """One block per row for long rows (a thread per row would walk them alone)."""
        return nw > 64 or (nw > 8 and rows < 4096)

    def popcount_rows(self, a: Any, k: int, out: Any) -> Any:
        rows, nw = a.shape
        args = (a, out, np.int64(rows), np.int64(nw))
        if self.use_block_rows(rows, nw):
            grid = (min(rows, self.max_blocks), 1, 1)
            self.launch("bnn_popcount_rows_block", grid, (self.c["BNN_BLOCK_THREADS"], 1, 1), args)
        else:
            self._launch_1d("bnn_popcount_rows_thread", rows, args)
        return out

    COLS_CHUNK = 256  # rows summed by one thread of bnn_popcount_cols before its atomic add

    def popcount_cols(self, a: Any, k: int, out: Any) -> Any:
        rows, nw = a.shape
        out[...] = 0
        chunk = self.COLS_CHUNK
        grid = (self._grid_1d(k)[0], min(_ceil(rows, chunk), self.max_blocks), 1)
        args = (
            a,
            out.view(self.xp.uint64),
            np.int64(rows),
            np.int64(nw),
            np.int64(k),
            np.int64(chunk),
        )
        self.launch("bnn_popcount_cols", grid, (self.c["BNN_BLOCK_THREADS"], 1, 1), args)
        return out

    # -- ternary corrections (sign(0) = 0) --------------------------------------------------------
    def zero_positions(self, w: Any) -> tuple[Any, Any]:
        zi, zj = self.xp.nonzero(w == 0)
        xp = self.xp
        return xp.ascontiguousarray(zi, dtype=np.int64), xp.ascontiguousarray(zj, dtype=np.int64)

    def _packed_mask(self, z: Any) -> Any:
        """A bool ``(R, k)`` zero mask packed like the operands (``bnn_pack_last``)."""
        return self.pack_last(z, self.xp.empty((z.shape[0], _ceil(z.shape[1], 64)), np.uint64))

    def subtract_zero_inputs(self, dot: Any, a_zero: Any, b: Any) -> Any:
        (m, n), nw = dot.shape, b.shape[1]
        args = (dot, self._packed_mask(a_zero), b, np.int64(m), np.int64(n), np.int64(nw))
        self._launch_1d("bnn_subtract_zero_inputs", m * n, args)
        return dot

    def subtract_zero_weights(self, dot: Any, a: Any, k: int, a_zero: Any, zi: Any, zj: Any) -> Any:
        (m, n), nw = dot.shape, a.shape[1]
        za = self.xp.zeros_like(a) if a_zero is None else self._packed_mask(a_zero)
        zw = self.xp.zeros((n, nw), dtype=np.uint64)  # row j: the zero weights of column j
        count = zi.shape[0]
        self._launch_1d("bnn_positions_mask", count, (zw, zj, zi, np.int64(count), np.int64(nw)))
        args = (dot, a, za, zw, np.int64(m), np.int64(n), np.int64(nw))
        self._launch_1d("bnn_subtract_zero_weights", m * n, args)
        return dot

    def subtract_zero_update(self, h: Any, x_zero: Any, e: Any, step: int) -> Any:
        n_in, n_out = h.shape
        batch = x_zero.shape[0]
        name = (
            "bnn_subtract_zero_update_i16"
            if np.dtype(h.dtype) == np.int16
            else "bnn_subtract_zero_update_i32"
        )
        args = (
            h,
            x_zero,
            e,
            np.int64(n_in),
            np.int64(n_out),
            np.int64(batch),
            np.int64(step),
        )
        self._launch_1d(name, n_in * n_out, args)
        return h
