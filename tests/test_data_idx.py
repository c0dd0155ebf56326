"""IDX format: round trip, gzip detection, and a clear ValueError for each kind of corruption."""

from __future__ import annotations

import gzip
import hashlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bnnlab.data._idx import decompress, encode_idx, parse_idx, read_idx


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
