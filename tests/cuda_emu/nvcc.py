"""Compile-only checks of the CUDA sources with nvcc or NVRTC (no GPU needed).

:func:`cubin` compiles a source text for one architecture into a cubin with every warning an error
and returns its bytes; a compile error raises :class:`CompileError` with nvcc's message. Successful
results are cached under the emulator's cache folder, keyed by the hash of the source text, the
architecture, the flags and the nvcc version, so an unchanged kernel is not recompiled on every run
(a changed one always is).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import hashlib
import importlib.util
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from cuda_emu.harness import cache_dir

FLAGS = ("-cubin", "-std=c++17", "-Werror", "all-warnings")


class CompileError(RuntimeError):
    """nvcc rejected a source."""


def nvcc() -> str | None:
    """Path of nvcc (``$NVCC``, PATH, or $CUDA_HOME/bin), or None."""
    for candidate in (
        os.environ.get("NVCC"),
        shutil.which("nvcc"),
        str(Path(os.environ.get("CUDA_HOME", "/usr/local/cuda")) / "bin" / "nvcc"),
    ):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


@functools.cache
def version() -> str:
    exe = nvcc()
    if exe is None:
        return ""
    return subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip()


def cubin(source: str, arch: str, *, cache: bool = True) -> bytes:
    """Compile ``source`` for ``arch`` (e.g. ``"sm_80"``); return the cubin bytes."""
    exe = nvcc()
    if exe is None:
        raise RuntimeError("nvcc not found")
    key = hashlib.sha256("\0".join([source, arch, *FLAGS, version()]).encode()).hexdigest()[:24]
    cached = cache_dir() / f"nvcc-{arch}-{key}.cubin"
    if cache and cached.exists():
        return cached.read_bytes()
    with tempfile.TemporaryDirectory(dir=cache_dir()) as tmp:
        src = Path(tmp) / "kernels.cu"
        src.write_text(source)
        out = Path(tmp) / "kernels.cubin"
        proc = subprocess.run(
            [exe, *FLAGS, f"-arch={arch}", "-o", str(out), str(src)],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise CompileError(f"nvcc -arch={arch} failed:\n{proc.stderr[-4000:]}")
        data = out.read_bytes()
        if cache:
            os.replace(out, cached)
    return data


def _soname_version(path: Path) -> tuple[int, ...]:
    """``(13,)`` for ``libnvrtc.so.13``, ``(12, 9, 86)`` for ``libnvrtc.so.12.9.86``, ``()`` bare."""
    tail = path.name.partition(".so")[2].lstrip(".")
    return tuple(int(p) for p in tail.split(".") if p.isdigit())


def wheel_nvrtc() -> str | None:
    """libnvrtc of an installed NVIDIA wheel (``nvidia-cuda-nvrtc``: ``nvidia/cu13/lib``;
    ``nvidia-cuda-nvrtc-cu12``: ``nvidia/cuda_nvrtc/lib``), the newest if several; None without."""
    spec = importlib.util.find_spec("nvidia")
    if spec is None or not spec.submodule_search_locations:
        return None
    hits = [
        lib
        for root in spec.submodule_search_locations
        for lib in Path(root).glob("*/lib/libnvrtc.so*")
        if lib.is_file()
    ]
    return str(max(hits, key=_soname_version)) if hits else None


def nvrtc_library() -> str | None:
    """Path or name of libnvrtc: ``$BNNLAB_NVRTC``, else the one cupy would load first -- an NVIDIA
    wheel in this Python's site-packages (the test extra installs ``nvidia-cuda-nvrtc``) -- else the
    loader's search path, else ``$CUDA_HOME/lib64``; None when there is none."""
    explicit = os.environ.get("BNNLAB_NVRTC")
    if explicit:
        return explicit
    wheel = wheel_nvrtc()
    if wheel:
        return wheel
    found = ctypes.util.find_library("nvrtc")
    if found:
        return found
    lib64 = Path(os.environ.get("CUDA_HOME", "/usr/local/cuda")) / "lib64"
    hits = sorted(lib64.glob("libnvrtc.so*"))
    return str(hits[0]) if hits else None


def nvrtc_cubin(source: str, arch: str, options: tuple[str, ...]) -> bytes:
    """Compile with NVRTC as ``cupy.RawModule`` does (its options plus ``-arch`` and
    ``--device-as-default-execution-space``); return the cubin or raise :class:`CompileError`."""
    lib = ctypes.CDLL(nvrtc_library() or "libnvrtc.so")
    prog = ctypes.c_void_p()
    if lib.nvrtcCreateProgram(ctypes.byref(prog), source.encode(), b"kern.cu", 0, None, None):
        raise CompileError("nvrtcCreateProgram failed")
    try:
        opts = [*options, f"-arch={arch}", "--device-as-default-execution-space"]
        argv = (ctypes.c_char_p * len(opts))(*(o.encode() for o in opts))
        rc = lib.nvrtcCompileProgram(prog, len(opts), argv)
        size = ctypes.c_size_t()
        lib.nvrtcGetProgramLogSize(prog, ctypes.byref(size))
        log = ctypes.create_string_buffer(size.value)
        lib.nvrtcGetProgramLog(prog, log)
        if rc != 0:
            raise CompileError(f"NVRTC -arch={arch} failed:\n{log.value.decode()[-4000:]}")
        lib.nvrtcGetCUBINSize(prog, ctypes.byref(size))
        cubin = ctypes.create_string_buffer(size.value)
        lib.nvrtcGetCUBIN(prog, cubin)
        return cubin.raw
    finally:
        lib.nvrtcDestroyProgram(ctypes.byref(prog))
