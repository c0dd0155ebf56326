"""Run the package's CUDA kernels on the CPU: g++ + ``cuda_compat.h`` + ctypes.

:class:`EmuModule` compiles a ``.cu`` file (the very file the GPU backend loads) with g++ into a
shared library, adding one ``extern "C"`` launcher per kernel that unpacks a ``void**`` argument array
as ``cuLaunchKernel`` does. ``module.get_function(name)`` returns an :class:`EmuKernel`, called like
``cupy.RawKernel``: ``kernel(grid, block, args)``. Each call

* checks ``args`` against the kernel signature parsed from the source
  (:func:`bnnlab.bits._cuda_sources.check_launch`: exact numpy scalar types, array dtypes,
  contiguity, writability, launch limits and ``__launch_bounds__``);
* copies every array into a buffer with guard bytes on both sides and fails if the kernel wrote
  outside the array, or wrote into an array its signature declares ``const``;
* copies the written arrays back (the kernel mutates its output arguments in place, as on a GPU).

The threads of a block are std::threads synchronised by a std::barrier; ``mode`` picks the schedule
(``"forward"``/``"reverse"``: one thread at a time between barriers, deterministic; ``"free"``: the
OS schedules them). Shared libraries are cached under ``$BNNLAB_CUDA_EMU_CACHE`` (default: a
``bnnlab-cuda-emu`` folder in the temporary directory), keyed by the hash of everything compiled.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from bnnlab.bits import _cuda_sources as cs

COMPAT = Path(__file__).with_name("cuda_compat.h")
RUNTIME = Path(__file__).with_name("emu_runtime.cpp")
MODES = {"free": 0, "forward": 1, "reverse": 2}
GUARD = 64  # guard bytes on each side of every array argument
_FILL = 0xA5
CXX_FLAGS = ("-std=c++20", "-O1", "-shared", "-fPIC", "-pthread", "-Wall", "-Wno-unknown-pragmas")


def compiler() -> str | None:
    """Path of the C++ compiler used for the emulation (``$CXX`` or g++), or None."""
    return shutil.which(os.environ.get("CXX", "g++"))


def cache_dir() -> Path:
    root = os.environ.get("BNNLAB_CUDA_EMU_CACHE")
    path = (
        Path(root)
        if root
        else Path(tempfile.gettempdir()) / f"bnnlab-cuda-emu-{getattr(os, 'getuid', lambda: 0)()}"
    )
    path.mkdir(parents=True, exist_ok=True)
    return path


def _build(cxx: str, flags: list[str], unit: str, stem: str, extra: tuple[str, ...] = ()) -> Path:
    """Compile ``unit`` into ``<cache>/<stem>-<hash>.so`` unless it is there already."""
    key = hashlib.sha256("\0".join([unit, cxx, *flags, *extra]).encode()).hexdigest()[:24]
    so = cache_dir() / f"{stem}-{key}.so"
    if so.exists():
        return so
    with tempfile.TemporaryDirectory(dir=so.parent) as tmp:
        src = Path(tmp) / "unit.cpp"
        src.write_text(unit)
        out = Path(tmp) / so.name
        cmd = [cxx, *flags, "-I", str(COMPAT.parent), "-o", str(out), str(src), *extra]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{cxx} failed on {stem}:\n{proc.stderr[-4000:]}")
        os.replace(out, so)  # atomic: concurrent test processes never load a partial file
    return so


@functools.cache
def runtime_library() -> Path:
    """The emulator's execution model, compiled once and loaded with RTLD_GLOBAL."""
    cxx = compiler()
    if cxx is None:
        raise RuntimeError("no C++ compiler (g++) found for the CUDA emulation")
    unit = COMPAT.read_text() + "\n" + RUNTIME.read_text().replace('#include "cuda_compat.h"', "")
    so = _build(cxx, [*CXX_FLAGS, "-O2"], unit, "bnn_emu_runtime")
    ctypes.CDLL(str(so), mode=ctypes.RTLD_GLOBAL)
    return so


def _launcher(sig: cs.Signature) -> str:
    casts = []
    for i, p in enumerate(sig.params):
        ctype = f"{'const ' if p.const else ''}{p.ctype}{'*' if p.pointer else ''}"
        casts.append(f"*static_cast<{ctype}*>(a[{i}])")
    return (
        f'extern "C" int bnn_emu_launch_{sig.name}(void** args, unsigned gx, unsigned gy, '
        "unsigned gz, unsigned bx, unsigned by, unsigned bz, int mode) {\n"
        f"    return bnn_emu_run([](void** a) {{ {sig.name}({', '.join(casts)}); }}, args, "
        "gx, gy, gz, bx, by, bz, mode);\n}\n"
    )


class EmuKernel:
    """One emulated kernel, called as ``kernel(grid, block, args)`` like ``cupy.RawKernel``."""

    def __init__(self, module: EmuModule, sig: cs.Signature) -> None:
        self.module = module
        self.sig = sig
        fn = getattr(module.lib, f"bnn_emu_launch_{sig.name}")
        fn.restype = ctypes.c_int
        fn.argtypes = [ctypes.POINTER(ctypes.c_void_p)] + [ctypes.c_uint] * 6 + [ctypes.c_int]
        self._fn = fn

    def __call__(self, grid: Any, block: Any, args: tuple[Any, ...], *, mode: str | None = None):
        g, b = cs.check_launch(self.sig, grid, block, tuple(args), array_type=np.ndarray)
        mode = mode or self.module.mode
        keep: list[Any] = []  # ctypes objects that must outlive the call
        guarded: list[tuple[cs.Param, np.ndarray, np.ndarray]] = []
        slots = (ctypes.c_void_p * len(args))()
        for i, (p, arg) in enumerate(zip(self.sig.params, args, strict=True)):
            if p.pointer:
                raw = arg.reshape(-1).view(np.uint8)
                buf = np.full(raw.size + 2 * GUARD, _FILL, dtype=np.uint8)
                buf[GUARD : GUARD + raw.size] = raw
                guarded.append((p, arg, buf))
                holder = ctypes.c_void_p(buf.ctypes.data + GUARD)
            else:
                holder = np.ctypeslib.as_ctypes_type(p.dtype)(arg.item())
            keep.append(holder)
            slots[i] = ctypes.cast(ctypes.pointer(holder), ctypes.c_void_p)
        rc = self._fn(slots, *g, *b, MODES[mode])
        if rc != 0:
            raise RuntimeError(f"kernel {self.sig.name}: invalid launch {g} x {b}")
        for p, arg, buf in guarded:
            n = arg.nbytes
            if (buf[:GUARD] != _FILL).any() or (buf[GUARD + n :] != _FILL).any():
                raise RuntimeError(f"kernel {self.sig.name}: wrote outside argument {p.name}")
            body = buf[GUARD : GUARD + n]
            if p.const:
                if not np.array_equal(body, arg.reshape(-1).view(np.uint8)):
                    raise RuntimeError(
                        f"kernel {self.sig.name}: wrote into const argument {p.name}"
                    )
            else:
                arg.reshape(-1).view(np.uint8)[...] = body


class EmuModule:
    """A ``.cu`` file compiled for the CPU; ``get_function(name)`` as ``cupy.RawModule``'s.

    Parameters
    ----------
    path
        The ``.cu`` file (its ``#include "..."`` lines resolve next to it).
    defines
        ``-D`` values (tiling constants of ``common.cuh``).
    mode
        Default schedule of the block's threads: ``"forward"``, ``"reverse"`` or ``"free"``.
    """

    def __init__(
        self, path: Path, *, defines: Mapping[str, int] | None = None, mode: str = "forward"
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode: expected one of {sorted(MODES)}, got {mode!r}")
        cxx = compiler()
        if cxx is None:
            raise RuntimeError("no C++ compiler (g++) found for the CUDA emulation")
        self.path = Path(path)
        self.mode = mode
        self.defines = dict(defines or {})
        consts = cs.constants(self.defines)
        text = cs.resolve_includes(self.path.read_text(), self.path.parent)
        self.signatures = cs.parse_signatures(text, consts)
        flags = [*CXX_FLAGS, *(f"-D{k}={v}" for k, v in sorted(self.defines.items()))]
        unit = f'#include "cuda_compat.h"\n#line 1 "{self.path.name}"\n{text}\n' + "".join(
            _launcher(s) for s in self.signatures.values()
        )
        runtime = runtime_library()
        so = _build(
            cxx, flags, unit, self.path.stem, (str(runtime), f"-Wl,-rpath,{runtime.parent}")
        )
        self.lib = ctypes.CDLL(str(so))
        self._kernels: dict[str, EmuKernel] = {}

    def get_function(self, name: str) -> EmuKernel:
        if name not in self._kernels:
            if name not in self.signatures:
                raise AttributeError(f"{self.path.name} has no kernel {name!r}")
            self._kernels[name] = EmuKernel(self, self.signatures[name])
        return self._kernels[name]


_MODULES: dict[tuple, EmuModule] = {}


def package_module(family: str, *, defines: Mapping[str, int] | None = None) -> EmuModule:
    """The emulated module of a package kernel family (cached per family and defines)."""
    key = (family, tuple(sorted((defines or {}).items())))
    if key not in _MODULES:
        _MODULES[key] = EmuModule(cs.source_path(family), defines=defines)
    return _MODULES[key]


def emulated_backend(
    *,
    defines: Mapping[str, int] | None = None,
    max_blocks: int = cs.DEFAULT_MAX_BLOCKS,
    mode: str = "forward",
) -> cs.CudaKernels:
    """The GPU backend's launch code (:class:`CudaKernels`) running on the emulated kernels."""

    def get_function(name: str) -> Any:
        family, _ = cs.signatures()[name]
        kernel = package_module(family, defines=defines).get_function(name)
        return functools.partial(kernel, mode=mode)

    return cs.CudaKernels(np, get_function, defines=defines, max_blocks=max_blocks)
