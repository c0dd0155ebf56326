"""The IDX file format (LeCun's MNIST format, also used by Fashion-MNIST): parse, read, encode.

An IDX file is a 4-byte magic number ``0x00 0x00 <type> <ndim>``, then ``ndim`` big-endian uint32
dimension sizes, then the row-major payload. Only the unsigned-byte type (``0x08``) is used by the
MNIST family and supported here. Files may be gzip-compressed (detected by the gzip magic ``1f 8b``).

Every error is a ``ValueError`` that names the file and says what was expected, and reading never
modifies the file.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import zlib
from pathlib import Path

import numpy as np

UBYTE = 0x08
_GZIP_MAGIC = b"\x1f\x8b"


def decompress(raw: bytes, source: str) -> bytes:
    """Return the decompressed bytes of gzip data, or ``raw`` unchanged if it is not gzip.

    Raises
    ------
    ValueError
        If the gzip stream is truncated or corrupt (CRC or length mismatch, bad deflate data).
    """
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except EOFError as exc:
        raise ValueError(f"{source}: truncated gzip file ({exc})") from exc
    except (gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise ValueError(f"{source}: corrupt gzip file ({exc})") from exc


def parse_idx(data: bytes, source: str, *, ndim: int) -> np.ndarray:
    """Parse uncompressed IDX bytes holding unsigned bytes with ``ndim`` dimensions.

    Returns a read-only uint8 array viewing ``data`` (no copy).

    Raises
    ------
    ValueError
        Wrong magic number (not IDX, wrong element type or wrong number of dimensions), truncated
        header, or a payload shorter or longer than the header announces.
    """
    expected_magic = (UBYTE << 8) | ndim
    if len(data) < 4:
        raise ValueError(
            f"{source}: truncated IDX file: {len(data)} bytes, no complete magic number"
        )
    (magic,) = struct.unpack(">I", data[:4])
    if magic != expected_magic:
        raise ValueError(
            f"{source}: wrong IDX magic number 0x{magic:08x}, expected 0x{expected_magic:08x} "
            f"(unsigned bytes, {ndim} dimension{'s' if ndim != 1 else ''})"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(
            f"{source}: truncated IDX header: {len(data)} bytes, expected at least {header}"
        )
    shape = struct.unpack(f">{ndim}I", data[4:header])
    expected = int(np.prod(shape, dtype=np.int64))
    found = len(data) - header
    if found < expected:
        raise ValueError(
            f"{source}: truncated IDX payload: header announces shape {shape} "
            f"({expected} bytes) but only {found} bytes follow"
        )
    if found > expected:
        raise ValueError(
            f"{source}: {found - expected} unexpected trailing bytes after the IDX payload "
            f"of shape {shape}"
        )
    return np.frombuffer(data, dtype=np.uint8, count=expected, offset=header).reshape(shape)


def idx_from_bytes(raw: bytes, source: str, *, ndim: int) -> tuple[np.ndarray, str]:
    """Parse the bytes of an IDX file (gzip-compressed or not); see :func:`read_idx`."""
    data = decompress(raw, source)
    return parse_idx(data, source, ndim=ndim), hashlib.sha256(data).hexdigest()


def read_idx(path: str | os.PathLike[str], *, ndim: int) -> tuple[np.ndarray, str]:
    """Read an IDX file (gzip-compressed or not).

    Returns
    -------
    array : numpy.ndarray
        Read-only uint8 array with ``ndim`` dimensions.
    sha256 : str
        Hex SHA-256 of the decompressed bytes (the file's identity, independent of how it was
        compressed).
    """
    return idx_from_bytes(Path(path).read_bytes(), str(path), ndim=ndim)


def encode_idx(array: np.ndarray) -> bytes:
    """Encode a uint8 array as uncompressed IDX bytes (inverse of :func:`parse_idx`)."""
    arr = np.ascontiguousarray(array)
    if arr.dtype != np.uint8:
        raise TypeError(f"array: expected dtype uint8, got {arr.dtype}")
    if not 1 <= arr.ndim <= 255:
        raise ValueError(f"array: expected 1 to 255 dimensions, got {arr.ndim}")
    header = struct.pack(">I", (UBYTE << 8) | arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.tobytes()
