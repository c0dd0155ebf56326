"""The IDX file format (LeCun's MNIST format, also used by Fashion-MNIST): parse, read, encode.

An IDX file is a 4-byte magic number ``0x00 0x00 <type> <ndim>``, then ``ndim`` big-endian uint32
dimension sizes, then the row-major payload. Only the unsigned-byte type (``0x08``) is used by the
MNIST family and supported here. Files may be gzip-compressed (detected by the gzip magic ``1f 8b``).

Reading is header first: the payload size is computed from the dimensions (exact integers, so a
header whose dimensions overflow 64 bits is reported, not wrapped) and refused above
:data:`MAX_PAYLOAD`; a gzip stream is then decompressed incrementally and never beyond the header
plus the announced payload plus one byte (to detect trailing data), so a small corrupt or hostile
file cannot make the reader allocate or inflate more than its header claims.

Every error is a ``ValueError`` that names the file and says what was expected, and reading never
modifies the file.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import struct
import zlib
from typing import BinaryIO

import numpy as np

UBYTE = 0x08
_GZIP_MAGIC = b"\x1f\x8b"
#: Largest payload (bytes) an IDX header may announce (2 GiB; Fashion-MNIST's largest is 47 MB).
MAX_PAYLOAD = 1 << 31
_CHUNK = 1 << 20


def _check_ndim(ndim: int) -> int:
    if isinstance(ndim, bool) or not isinstance(ndim, int | np.integer) or not 1 <= ndim <= 255:
        raise ValueError(f"ndim: expected an integer from 1 to 255, got {ndim!r}")
    return int(ndim)


def _header(data: bytes, source: str, ndim: int, max_bytes: int) -> tuple[tuple[int, ...], int]:
    """``(shape, payload size)`` from the first ``4 + 4 ndim`` bytes (``data`` may be longer)."""
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
    payload = 1
    for n in shape:  # Python integers: no overflow
        payload *= n
    if payload > max_bytes:
        raise ValueError(
            f"{source}: IDX header announces shape {shape}, {payload} bytes, more than the "
            f"limit of {max_bytes} bytes (a corrupt header?)"
        )
    return shape, payload


def _size_error(
    source: str, shape: tuple[int, ...], payload: int, found: int, *, exact: bool = True
) -> ValueError:
    if found < payload:
        return ValueError(
            f"{source}: truncated IDX payload: header announces shape {shape} "
            f"({payload} bytes) but only {found} bytes follow"
        )
    count = (
        f"{found - payload} unexpected trailing bytes"
        if exact
        else ("unexpected trailing bytes (at least 1)")
    )
    return ValueError(f"{source}: {count} after the IDX payload of shape {shape}")


def _read_upto(fh: BinaryIO, n: int) -> bytearray:
    """Read until ``n`` bytes or the end, growing the buffer only as data arrives."""
    buf = bytearray()
    while len(buf) < n:
        chunk = fh.read(min(_CHUNK, n - len(buf)))
        if not chunk:
            break
        buf += chunk
    return buf


def _gzip_errors(source: str, exc: BaseException) -> ValueError:
    if isinstance(exc, EOFError):
        return ValueError(f"{source}: truncated gzip file ({exc})")
    return ValueError(f"{source}: corrupt gzip file ({exc})")


def decompress(raw: bytes, source: str, *, max_size: int = 4 + 4 * 255 + MAX_PAYLOAD) -> bytes:
    """Return the decompressed bytes of gzip data, or ``raw`` unchanged if it is not gzip.

    Parameters
    ----------
    raw : bytes
        File content.
    source : str
        Name used in error messages (the file's path).
    max_size : int
        Largest decompressed size accepted; decompression stops one byte beyond it.

    Raises
    ------
    ValueError
        If the gzip stream is truncated or corrupt (CRC or length mismatch, bad deflate data), or
        inflates beyond ``max_size``.
    """
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw), mode="rb") as g:
            out = _read_upto(g, max_size + 1)
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise _gzip_errors(source, exc) from exc
    if len(out) > max_size:
        raise ValueError(f"{source}: gzip data inflates beyond {max_size} bytes")
    return bytes(out)


def parse_idx(data: bytes, source: str, *, ndim: int, max_bytes: int = MAX_PAYLOAD) -> np.ndarray:
    """Parse uncompressed IDX bytes holding unsigned bytes with ``ndim`` dimensions.

    Returns a read-only uint8 array viewing ``data`` (no copy).

    Parameters
    ----------
    data : bytes
        The uncompressed file content.
    source : str
        Name used in error messages (the file's path).
    ndim : int
        Expected number of dimensions (1 to 255).
    max_bytes : int
        Largest payload the header may announce.

    Raises
    ------
    ValueError
        Wrong magic number (not IDX, wrong element type or wrong number of dimensions), truncated
        header, a payload above ``max_bytes``, or a payload shorter or longer than the header
        announces.
    """
    ndim = _check_ndim(ndim)
    shape, payload = _header(data, source, ndim, max_bytes)
    header = 4 + 4 * ndim
    if len(data) - header != payload:
        raise _size_error(source, shape, payload, len(data) - header)
    arr = np.frombuffer(data, dtype=np.uint8, count=payload, offset=header).reshape(shape)
    arr.flags.writeable = False
    return arr


def _read_stream(
    fh: BinaryIO, source: str, ndim: int, max_bytes: int, size: int | None = None
) -> tuple[np.ndarray, str]:
    """Header first, then exactly the announced payload (+1 byte to detect trailing data)."""
    head = _read_upto(fh, 4 + 4 * ndim)
    shape, payload = _header(bytes(head), source, ndim, max_bytes)
    if size is not None and size - len(head) != payload:  # a plain file: its size says it all
        raise _size_error(source, shape, payload, size - len(head))
    data = _read_upto(fh, payload + 1)
    if len(data) != payload:  # read payload + 1 at most: a longer stream is not inflated
        raise _size_error(source, shape, payload, len(data), exact=False)
    digest = hashlib.sha256(head)
    digest.update(data)
    arr = np.frombuffer(data, dtype=np.uint8).reshape(shape)
    arr.flags.writeable = False
    return arr, digest.hexdigest()


def _read_any(
    fh: BinaryIO, source: str, ndim: int, max_bytes: int, size: int | None
) -> tuple[np.ndarray, str]:
    ndim = _check_ndim(ndim)
    magic = fh.read(2)
    fh.seek(0)
    if magic != _GZIP_MAGIC:
        return _read_stream(fh, source, ndim, max_bytes, size)
    try:
        with gzip.GzipFile(fileobj=fh, mode="rb") as g:
            return _read_stream(g, source, ndim, max_bytes)
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise _gzip_errors(source, exc) from exc


def idx_from_bytes(
    raw: bytes, source: str, *, ndim: int, max_bytes: int = MAX_PAYLOAD
) -> tuple[np.ndarray, str]:
    """Parse the bytes of an IDX file (gzip-compressed or not); see :func:`read_idx`."""
    return _read_any(io.BytesIO(raw), source, ndim, max_bytes, len(raw))


def read_idx(
    path: str | os.PathLike[str], *, ndim: int, max_bytes: int = MAX_PAYLOAD
) -> tuple[np.ndarray, str]:
    """Read an IDX file (gzip-compressed or not).

    Parameters
    ----------
    path : path
        The file.
    ndim : int
        Expected number of dimensions (1 to 255).
    max_bytes : int
        Largest payload the header may announce (default :data:`MAX_PAYLOAD`).

    Returns
    -------
    array : numpy.ndarray
        Read-only uint8 array with ``ndim`` dimensions.
    sha256 : str
        Hex SHA-256 of the decompressed bytes (the file's identity, independent of how it was
        compressed).

    Raises
    ------
    ValueError
        Any malformed content (see :func:`parse_idx`), or a truncated or corrupt gzip stream; the
        message starts with ``path``.
    """
    with open(path, "rb") as fh:
        return _read_any(fh, str(path), ndim, max_bytes, os.fstat(fh.fileno()).st_size)


def encode_idx(array: np.ndarray) -> bytes:
    """Encode a uint8 array as uncompressed IDX bytes (inverse of :func:`parse_idx`)."""
    arr = np.ascontiguousarray(array)
    if arr.dtype != np.uint8:
        raise TypeError(f"array: expected dtype uint8, got {arr.dtype}")
    if not 1 <= arr.ndim <= 255:
        raise ValueError(f"array: expected 1 to 255 dimensions, got {arr.ndim}")
    header = struct.pack(">I", (UBYTE << 8) | arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.tobytes()
