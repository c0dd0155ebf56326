"""Compile-only checks of the CUDA sources with nvcc (no GPU needed).

:func:`cubin` compiles a source text for one architecture into a cubin with every warning an error
and returns its bytes; a compile error raises :class:`CompileError` with nvcc's message. Successful
results are cached under the emulator's cache folder, keyed by the hash of the source text, the
architecture, the flags and the nvcc version, so an unchanged kernel is not recompiled on every run
(a changed one always is).
"""

from __future__ import annotations

import functools
import hashlib
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
