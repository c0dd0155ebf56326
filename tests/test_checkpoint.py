"""Checkpoints: exact round trip and resume, no pickles, clear errors, atomic writes."""

from __future__ import annotations

import io
import json
import os
import re
import stat
import struct
import zipfile

import numpy as np
import pytest

from bnnlab.learn import CPRConfig, CPRLearner, LocalBinaryConfig, LocalBinaryLearner
from bnnlab.learn.local.checkpoint import (
    digest,
    load_checkpoint,
    read_checkpoint,
    save_checkpoint,
)


def _data(seed=0, n=120, d=70, c=3):
    rng = np.random.default_rng(seed)
    proto = np.where(rng.random((c, d)) < 0.5, 1, -1)
    y = rng.integers(0, c, n)
    return (proto[y] * np.where(rng.random((n, d)) < 0.3, -1, 1)).astype(np.int8), y


CFG = LocalBinaryConfig(70, 3, (15, 9), groups=(5, 3), batch_size=16, train_head=True)


@pytest.mark.parametrize(
    "make",
    [
        lambda: LocalBinaryLearner(CFG, seed=4),
        lambda: CPRLearner(CPRConfig(70, 3, hidden=33, group=11, batch_size=16), seed=4),
    ],
)
def test_resume_reproduces_the_uninterrupted_run(tmp_path, make):
    x, y = _data()
    full = make()
    h_full = full.fit(x, y, epochs=4, x_test=x[:30], y_test=y[:30])
    part = make()
    h1 = part.fit(x, y, epochs=2, x_test=x[:30], y_test=y[:30])
    path = save_checkpoint(tmp_path / "ck.npz", part, extra={"seed": 4})
    resumed, meta = load_checkpoint(path)
    assert meta["extra"] == {"seed": 4} and meta["epoch"] == 2
    h2 = resumed.fit(x, y, epochs=2, x_test=x[:30], y_test=y[:30])
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in h1 + h2]
    assert strip == [{k: v for k, v in r.items() if k != "seconds"} for r in h_full]
    for k, v in full._array_state().items():
        assert np.array_equal(v, resumed._array_state()[k])
    assert np.array_equal(full.predict(x), resumed.predict(x))
    assert full.rng.bit_generator.state == resumed.rng.bit_generator.state


def test_checkpoint_is_plain_arrays(tmp_path):
    m = LocalBinaryLearner(CFG, seed=0)
    path = save_checkpoint(tmp_path / "m.npz", m)
    with np.load(path, allow_pickle=False) as f:
        assert sorted(f.files) == [
            "head_0", "head_1", "hidden_0", "hidden_1", "meta", "packed_0", "packed_1",
        ]  # fmt: skip
        assert f["packed_0"].dtype == np.uint64 and f["packed_0"].shape == (15, 2)
        meta = json.loads(f["meta"].tobytes())
    assert meta["learner"] == "local-binary" and meta["config"]["layers"] == [15, 9]
    assert not list(tmp_path.glob(".*"))  # no temporary files left


def _rewrite(path, *, sign=False, meta=None, drop=(), **changes):
    """Re-zip ``path`` with arrays replaced/dropped and optionally new metadata.

    ``sign=True`` recomputes the checksum, as a careful forger would: then only the schema,
    configuration and array checks stand between the file and a silently wrong model.
    """
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    old = json.loads(arrays.pop("meta").tobytes())
    meta = old if meta is None else meta
    for k in drop:
        del arrays[k]
    arrays.update(changes)
    if sign and isinstance(meta, dict):
        meta = {**meta, "sha256": digest(arrays, meta)}
    if isinstance(meta, np.ndarray):
        arrays["meta"] = meta
    else:
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez(path, **arrays)
    return path


def _copy(good, path):
    path.write_bytes(good.read_bytes())
    return path


def test_errors(tmp_path):
    m = LocalBinaryLearner(CFG, seed=0)
    good = save_checkpoint(tmp_path / "good.npz", m)
    with pytest.raises(FileNotFoundError, match=r"^path"):
        load_checkpoint(tmp_path / "missing.npz")
    trunc = tmp_path / "trunc.npz"
    trunc.write_bytes(good.read_bytes()[:200])
    with pytest.raises(ValueError, match=r"not a readable bnnlab checkpoint"):
        load_checkpoint(trunc)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"hello world")
    with pytest.raises(ValueError, match=r"not a readable"):
        load_checkpoint(junk)
    pick = tmp_path / "pickle.npz"
    np.savez(pick, meta=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match=r"not a readable"):
        load_checkpoint(pick)  # object arrays need pickles: refused
    shape = _rewrite(_copy(good, tmp_path / "shape.npz"), hidden_1=np.zeros((15, 10), np.int32))
    with pytest.raises(ValueError, match=r"checksum mismatch"):
        load_checkpoint(shape)
    _rewrite(shape, sign=True)
    with pytest.raises(ValueError, match=r"hidden_1.*shape"):
        load_checkpoint(shape)
    packed = _copy(good, tmp_path / "packed.npz")
    with np.load(good) as f:
        _rewrite(packed, sign=True, packed_0=~f["packed_0"] & np.uint64(0x3F))
    with pytest.raises(ValueError, match=r"packed weights packed_0"):
        load_checkpoint(packed)
    _, meta = read_checkpoint(good)
    for bad_meta, msg in [
        ({**meta, "version": 99}, "version 99"),
        ({**meta, "version": 2}, "version 2, this bnnlab reads 3"),
        ({**meta, "config": {**meta["config"], "layers": [15, 0]}}, "incompatible configuration"),
        ({**meta, "format": "other"}, "not a bnnlab binary-learner"),
    ]:
        p = _rewrite(_copy(good, tmp_path / "meta.npz"), sign=True, meta=bad_meta)
        with pytest.raises(ValueError, match=msg):
            load_checkpoint(p)
    with pytest.raises(ValueError, match=r"expected 'cp-r'"):
        load_checkpoint(good, expect="cp-r")
    with pytest.raises(ValueError, match=r"^path"):
        save_checkpoint(tmp_path / "x.pkl", m)
    with pytest.raises(TypeError, match=r"^extra: expected a dict"):
        save_checkpoint(tmp_path / "x.npz", m, extra=[1])
    with pytest.raises(TypeError, match=r"^extra: not JSON"):
        save_checkpoint(tmp_path / "x.npz", m, extra={"a": object()})


@pytest.fixture
def small(tmp_path):
    """A trained small model's checkpoint, its verified contents and a scratch path."""
    cfg = LocalBinaryConfig(70, 3, (10, 6), groups=(5, 3), batch_size=16, train_head=True)
    m = LocalBinaryLearner(cfg, seed=1)
    m.fit(*_data(), epochs=1)
    good = save_checkpoint(tmp_path / "good.npz", m, extra={"seed": 1})
    return good, read_checkpoint(good), tmp_path / "bad.npz"


def _same(a, b):
    (arrays_a, meta_a), (arrays_b, meta_b) = a, b
    return (
        meta_a == meta_b
        and sorted(arrays_a) == sorted(arrays_b)
        and all(
            arrays_a[k].dtype == arrays_b[k].dtype and np.array_equal(arrays_a[k], arrays_b[k])
            for k in arrays_a
        )
    )


def _structure(path):
    """Offsets of the zip's own bytes (local headers, central directory) and of member data."""
    raw = path.read_bytes()
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
    structural, data = set(), set()
    for info in infos:
        start, size = _data_offset(path, info.filename)
        structural.update(range(info.header_offset, start))
        data.update(range(start, start + size))
    structural.update(range(max(structural | data) + 1, len(raw)))
    return sorted(structural), sorted(data)


def _flips_are_refused_or_harmless(good, want, bad, offsets):
    raw = good.read_bytes()
    refused = harmless = 0
    for offset in offsets:
        flipped = bytearray(raw)
        flipped[offset] ^= (0x01, 0x80, 0xFF, 0x10, 0x04)[offset % 5]
        path = bad.with_name(f"flip-{offset}.npz")  # a new file: overwriting one is slow
        path.write_bytes(flipped)
        try:
            got = read_checkpoint(path)
        except ValueError as exc:
            assert str(exc).startswith(f"{path}: "), (offset, exc)
            refused += 1
            continue
        finally:
            path.unlink()
        # zip fields nobody reads (timestamps, "version made by", attributes): same content
        assert _same(got, want), offset
        harmless += 1
    return refused, harmless


def test_byte_flips_at_every_offset_are_refused_or_harmless(tmp_path):
    """Flip every byte of a (tiny) checkpoint: a ValueError naming the file, or the same content.

    Harmless flips land in zip fields nobody reads (timestamps, "version made by", attributes,
    the zip64 extra of a local header) or in deflate padding bits.
    """
    cfg = LocalBinaryConfig(12, 2, (4, 2), groups=(2, 1), batch_size=8, train_head=True)
    m = LocalBinaryLearner(cfg, seed=1)
    m.fit(*_data(n=40, d=12, c=2), epochs=1)
    good = save_checkpoint(tmp_path / "good.npz", m, extra={"seed": 1})
    want, bad = read_checkpoint(good), tmp_path / "bad.npz"
    structural, data = _structure(good)
    n = len(good.read_bytes())
    assert len(structural) + len(data) == n
    refused, harmless = _flips_are_refused_or_harmless(good, want, bad, range(n))
    assert refused + harmless == n and refused > 0.75 * n and harmless > 0
    refused, harmless = _flips_are_refused_or_harmless(good, want, bad, data)
    assert refused >= 0.95 * len(data)  # the compressed data is CRC-protected
    load_checkpoint(good)


def _data_offset(path, member):
    """Offset of ``member``'s compressed bytes in the zip file."""
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
    raw = path.read_bytes()
    start = info.header_offset
    name_len, extra_len = struct.unpack("<HH", raw[start + 26 : start + 30])
    return start + 30 + name_len + extra_len, info.compress_size


@pytest.mark.parametrize("member", ["hidden_0.npy", "head_1.npy", "meta.npy"])
@pytest.mark.parametrize("where", [0.1, 0.5, 0.9])
def test_flip_in_compressed_data_is_a_value_error(small, member, where):
    good, _, bad = small
    start, size = _data_offset(good, member)
    raw = bytearray(good.read_bytes())
    raw[start + int(where * size)] ^= 0x5A
    bad.write_bytes(raw)
    with pytest.raises(ValueError, match=f"^{re.escape(str(bad))}: not a readable"):
        load_checkpoint(bad)


def test_edits_that_keep_shapes_are_refused(small):
    good, (arrays, meta), bad = small
    cfg = meta["config"]
    edits = [
        {"meta": {**meta, "config": {**cfg, "rob": 0.5}}},
        {"meta": {**meta, "config": {**cfg, "sign_zero": "plus"}}},
        {"meta": {**meta, "epoch": meta["epoch"] + 1}},
        {"meta": {**meta, "prev_correct": 0}},
        {"meta": {**meta, "extra": {"seed": 2}}},
        {"meta": {**meta, "rng": {**meta["rng"], "state": {**meta["rng"]["state"], "state": 1}}}},
        {"head_1": -arrays["head_1"]},
        {"hidden_0": arrays["hidden_0"] + 2},
        {"packed_0": arrays["packed_0"], "extra_array": np.zeros(3)},
        {"drop": ("packed_1",)},
    ]
    for edit in edits:
        _rewrite(_copy(good, bad), **edit)
        with pytest.raises(ValueError, match=f"^{re.escape(str(bad))}: checksum mismatch"):
            load_checkpoint(bad)
    meta_without = {k: v for k, v in meta.items() if k != "sha256"}
    for bad_sum in [None, "abc", 12, meta["sha256"].upper()]:
        _rewrite(_copy(good, bad), meta={**meta_without, "sha256": bad_sum})
        with pytest.raises(ValueError, match=r"without a valid 'sha256'"):
            load_checkpoint(bad)
    # the same edits, re-signed, still cannot reach the model with an unknown array
    _rewrite(_copy(good, bad), sign=True, extra_array=np.zeros(3, np.int32))
    with pytest.raises(ValueError, match=r"do not match the configuration"):
        load_checkpoint(bad)
    # and unchanged files still load
    model, got = load_checkpoint(good)
    assert got == meta and model.epoch == 1


def _without(meta, key):
    return {k: v for k, v in meta.items() if k != key}


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda m: {**m, "rng": [1, 2]}, "'rng' must be an object"),
        (lambda m: {**m, "rng": "PCG64"}, "'rng' must be an object"),
        (lambda m: {**m, "rng": {"state": {}}}, "'rng' must name its 'bit_generator'"),
        (lambda m: {**m, "rng": {**m["rng"], "state": [1]}}, "'rng' must hold a 'state'"),
        (lambda m: {**m, "rng": {**m["rng"], "bit_generator": "MT19937"}}, "rng state is for"),
        (lambda m: {**m, "rng": {**m["rng"], "state": {"state": "x", "inc": 1}}}, "rng state"),
        (lambda m: {**m, "rng": {**m["rng"], "state": {"state": 2**200, "inc": 1}}}, "rng"),
        (lambda m: {**m, "extra": [1, 2]}, "'extra' must be an object"),
        (lambda m: {**m, "config": [1, 2]}, "'config' must be an object"),
        (lambda m: {**m, "config": {**m["config"], "bogus": 1}}, "incompatible configuration"),
        (lambda m: {**m, "config": {**m["config"], "layers": "ab"}}, "incompatible configuration"),
        (lambda m: {**m, "epoch": -1}, "'epoch' must be a non-negative integer"),
        (lambda m: {**m, "epoch": "3"}, "'epoch'"),
        (lambda m: {**m, "epoch": True}, "'epoch'"),
        (lambda m: {**m, "epoch": 1.5}, "'epoch'"),
        (lambda m: {**m, "prev_correct": m["prev_total"] + 1}, "prev_correct .* > prev_total"),
        (lambda m: {**m, "learner": "nope"}, "unknown learner 'nope'"),
        (lambda m: {**m, "learner": ["local-binary"]}, "unknown learner"),
        *[
            (lambda m, k=k: _without(m, k), f"'{k}'|unknown learner|not a bnnlab|version")
            for k in ("epoch", "prev_correct", "prev_total", "rng", "extra", "config", "learner")
        ],
        (lambda m: [m], "not a bnnlab binary-learner checkpoint"),
    ],
)
def test_malformed_metadata_is_a_value_error_naming_the_file(small, change, match):
    good, (_, meta), bad = small
    _rewrite(_copy(good, bad), sign=True, meta=change(_without(meta, "sha256")))
    with pytest.raises(ValueError, match=match) as exc:
        load_checkpoint(bad)
    assert str(exc.value).startswith(f"{bad}: ")


@pytest.mark.parametrize(
    ("blob", "match"),
    [
        (np.frombuffer(b"\xff\xfe", np.uint8), "corrupt checkpoint metadata"),
        (np.frombuffer(b"{", np.uint8), "corrupt checkpoint metadata"),
        (np.zeros(4, np.int32), r"not a bnnlab checkpoint \(no metadata record\)"),
        (np.zeros((2, 2), np.uint8), r"not a bnnlab checkpoint \(no metadata record\)"),
    ],
)
def test_unreadable_metadata_record(small, blob, match):
    good, _, bad = small
    _rewrite(_copy(good, bad), meta=blob)
    with pytest.raises(ValueError, match=f"^{re.escape(str(bad))}: {match}"):
        read_checkpoint(bad)


def test_headers_announcing_more_than_the_data_are_refused_before_allocating(small):
    good, _, bad = small
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
        head = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            head, {"descr": "<i4", "fortran_order": False, "shape": (10**12,)}
        )
        dst.writestr("huge.npy", head.getvalue() + b"\0" * 16)
    with pytest.raises(ValueError, match=r"huge.npy: header announces shape \(1000000000000,\)"):
        read_checkpoint(bad)
    with zipfile.ZipFile(bad, "w") as dst:
        dst.writestr("notes.txt", b"hi")
    with pytest.raises(ValueError, match=r"unexpected member 'notes.txt'"):
        read_checkpoint(bad)


def test_file_mode_follows_the_umask(small):
    good, _, _ = small
    old = os.umask(0o022)
    try:
        m = LocalBinaryLearner(CFG, seed=0)
        path = save_checkpoint(good.parent / "mode.npz", m)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_save_is_atomic(tmp_path, monkeypatch):
    m = LocalBinaryLearner(CFG, seed=0)
    path = save_checkpoint(tmp_path / "ck.npz", m)
    before = path.read_bytes()
    m.fit(*_data(), epochs=1)

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(np, "savez_compressed", boom)
    with pytest.raises(RuntimeError):
        save_checkpoint(path, m)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.npz"]
