"""IDX format: round trip, gzip detection, and a clear ValueError for each kind of corruption."""

from __future__ import annotations

import gzip
import hashlib
import re
import struct
import tracemalloc

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bnnlab.data._idx import decompress, encode_idx, idx_from_bytes, parse_idx, read_idx


@given(
    hnp.arrays(
        np.uint8,
        hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=6),
        elements=st.integers(0, 255),
    )
)
def test_encode_parse_round_trip(arr):
    data = encode_idx(arr)
    assert len(data) == 4 + 4 * arr.ndim + arr.size
    out = parse_idx(data, "mem", ndim=arr.ndim)
    assert out.dtype == np.uint8
    assert out.shape == arr.shape
    assert (out == arr).all()


def test_header_layout_is_big_endian():
    data = encode_idx(np.zeros((2, 3, 1), dtype=np.uint8))
    assert data[:16] == bytes.fromhex("00000803000000020000000300000001")


@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_file_and_hash_of_decompressed_bytes(tmp_path, compress):
    arr = np.arange(60, dtype=np.uint8).reshape(5, 3, 4)
    raw = encode_idx(arr)
    path = tmp_path / ("x.gz" if compress else "x")
    path.write_bytes(gzip.compress(raw) if compress else raw)
    out, digest = read_idx(path, ndim=3)
    assert (out == arr).all()
    assert digest == hashlib.sha256(raw).hexdigest()


def test_recompression_keeps_the_hash(tmp_path):
    raw = encode_idx(np.arange(100, dtype=np.uint8))
    a, b = tmp_path / "a.gz", tmp_path / "b.gz"
    a.write_bytes(gzip.compress(raw, compresslevel=1, mtime=0))
    b.write_bytes(gzip.compress(raw, compresslevel=9, mtime=12345))
    assert a.read_bytes() != b.read_bytes()
    assert read_idx(a, ndim=1)[1] == read_idx(b, ndim=1)[1]


def test_wrong_magic_names_file_and_expectation():
    labels = encode_idx(np.zeros(4, dtype=np.uint8))
    with pytest.raises(
        ValueError, match=r"^imgs: wrong IDX magic number 0x00000801, expected 0x00000803"
    ):
        parse_idx(labels, "imgs", ndim=3)
    float_type = b"\x00\x00\x0d\x01" + labels[4:]
    with pytest.raises(ValueError, match=r"wrong IDX magic number 0x00000d01"):
        parse_idx(float_type, "f", ndim=1)
    with pytest.raises(ValueError, match=r"wrong IDX magic"):
        parse_idx(b"PK\x03\x04" + labels[4:], "zip", ndim=1)


@pytest.mark.parametrize(
    ("cut", "match"),
    [
        (2, "truncated IDX file: 2 bytes"),
        (10, "truncated IDX header"),
        (16 + 59, "truncated IDX payload"),
    ],
)
def test_truncated_idx(cut, match):
    data = encode_idx(np.zeros((3, 4, 5), dtype=np.uint8))[:cut]
    with pytest.raises(ValueError, match=f"^f: {match}"):
        parse_idx(data, "f", ndim=3)


def test_trailing_bytes():
    data = encode_idx(np.zeros((3, 4), dtype=np.uint8)) + b"\x00"
    with pytest.raises(ValueError, match=r"^f: 1 unexpected trailing bytes"):
        parse_idx(data, "f", ndim=2)


def test_truncated_and_corrupt_gzip():
    gz = gzip.compress(encode_idx(np.arange(200, dtype=np.uint8)))
    with pytest.raises(ValueError, match=r"^f.gz: truncated gzip file"):
        decompress(gz[: len(gz) // 2], "f.gz")
    flipped = bytearray(gz)
    flipped[-6] ^= 0xFF  # inside the CRC-32 trailer
    with pytest.raises(ValueError, match=r"^f.gz: corrupt gzip file"):
        decompress(bytes(flipped), "f.gz")


def test_encode_refuses_non_uint8():
    with pytest.raises(TypeError, match=r"^array: expected dtype uint8"):
        encode_idx(np.zeros(3, dtype=np.int16))


# -- header first: sizes from the dimensions, bounded decompression, the file named in every error


def _header(*dims: int) -> bytes:
    return struct.pack(">I", (0x08 << 8) | len(dims)) + struct.pack(f">{len(dims)}I", *dims)


@pytest.mark.parametrize(
    "dims",
    [
        (2**32 - 1, 2**32 - 1, 2**32 - 1),  # 2**96: wraps a 64-bit product
        (2**32 - 1, 2**32 - 1, 2**31),  # wraps to a negative int64
        (2**31, 2**31, 4),  # 2**64 wraps to 0 elements: numpy's reshape error named no file
        (2**16, 2**16, 2**16),  # 2**48: representable, but no IDX file is that large
        (2**31 + 1,),
    ],
)
@pytest.mark.parametrize("form", ["bytes", "file", "gzip-file", "gzip-bytes"])
def test_huge_or_overflowing_dimensions_name_the_file(tmp_path, dims, form):
    data = _header(*dims)
    path = tmp_path / ("x.gz" if "gzip" in form else "x")
    path.write_bytes(gzip.compress(data) if "gzip" in form else data)
    want = rf"^{re.escape(str(path))}: IDX header announces shape .* more than the limit"
    with pytest.raises(ValueError, match=want):
        if form == "bytes":
            parse_idx(data, str(path), ndim=len(dims))
        elif form == "gzip-bytes":
            idx_from_bytes(path.read_bytes(), str(path), ndim=len(dims))
        else:
            read_idx(path, ndim=len(dims))


def test_max_bytes_is_the_limit(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(encode_idx(np.zeros(11, np.uint8)))
    assert read_idx(path, ndim=1, max_bytes=11)[0].shape == (11,)
    with pytest.raises(ValueError, match=r"11 bytes, more than the limit of 10 bytes"):
        read_idx(path, ndim=1, max_bytes=10)


def test_gzip_bomb_is_not_inflated_beyond_the_header(tmp_path):
    """A header announcing 1000 bytes ahead of 64 MB of zeros: refused after ~1 kB of output."""
    path = tmp_path / "bomb.gz"
    with gzip.open(path, "wb", compresslevel=9) as g:
        g.write(_header(1000))
        block = bytes(1 << 20)
        for _ in range(64):
            g.write(block)
    assert path.stat().st_size < 200_000
    tracemalloc.start()
    try:
        with pytest.raises(
            ValueError, match=rf"^{re.escape(str(path))}: unexpected trailing bytes \(at least 1\)"
        ):
            read_idx(path, ndim=1)
        with pytest.raises(ValueError, match=r"unexpected trailing"):
            idx_from_bytes(path.read_bytes(), str(path), ndim=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20  # the file's bytes and a few decompression chunks, not 64 MB


def test_truncated_payload_announced_large_is_not_preallocated(tmp_path):
    """A 100-byte gzip claiming a 1.5 GB payload: 'truncated', without a 1.5 GB buffer."""
    path = tmp_path / "short.gz"
    path.write_bytes(gzip.compress(_header(30000, 50000) + bytes(100)))
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"truncated IDX payload: .*only 100 bytes follow"):
            read_idx(path, ndim=2)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20


@pytest.mark.parametrize("compress", [False, True])
def test_file_errors_name_the_file(tmp_path, compress):
    raw = encode_idx(np.arange(200, dtype=np.uint8).reshape(10, 20))
    cases = {
        "trunc": (raw[:-7], r"truncated IDX payload: .* only 193 bytes follow"),
        "trail": (raw + b"xyz", r"(3 )?unexpected trailing bytes"),
        "header": (raw[:9], r"truncated IDX header"),
        "magic": (raw[:2], r"truncated IDX file: 2 bytes"),
        "empty": (b"", r"truncated IDX file: 0 bytes"),
    }
    for name, (content, match) in cases.items():
        path = tmp_path / (name + (".gz" if compress else ""))
        path.write_bytes(gzip.compress(content) if compress else content)
        with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: {match}"):
            read_idx(path, ndim=2)
        with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: {match}"):
            idx_from_bytes(path.read_bytes(), str(path), ndim=2)


def test_gzip_layer_errors_name_the_file(tmp_path):
    gz = gzip.compress(encode_idx(np.arange(200, dtype=np.uint8)))
    flipped = bytearray(gz)
    flipped[-6] ^= 0xFF  # CRC-32 trailer
    for name, content, match in [
        ("half.gz", gz[: len(gz) // 2], "truncated gzip file"),
        ("no-trailer.gz", gz[:-8], "truncated gzip file"),
        ("crc.gz", bytes(flipped), "corrupt gzip file"),
        ("garbage.gz", gz + b"garbage", "corrupt gzip file"),
    ]:
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: {match}"):
            read_idx(path, ndim=1)
    path = tmp_path / "padded.gz"  # zero padding after a member is allowed, as by gzip(1)
    path.write_bytes(gz + bytes(16))
    assert read_idx(path, ndim=1)[0].tolist() == list(range(200))
    path = tmp_path / "members.gz"  # so are concatenated members
    raw = encode_idx(np.arange(200, dtype=np.uint8))
    path.write_bytes(gzip.compress(raw[:50]) + gzip.compress(raw[50:]))
    arr, digest = read_idx(path, ndim=1)
    assert arr.tolist() == list(range(200)) and digest == hashlib.sha256(raw).hexdigest()


def test_arrays_are_read_only_and_ndim_is_checked(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(encode_idx(np.zeros((2, 3), np.uint8))))
    arr, _ = read_idx(path, ndim=2)
    assert not arr.flags.writeable
    for bad in (0, 256, 1.0, True):
        with pytest.raises(ValueError, match=r"^ndim: "):
            read_idx(path, ndim=bad)
