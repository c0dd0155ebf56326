"""Checkpoints: exact round trip and resume, no pickles, clear errors, atomic writes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bnnlab.learn import CPRConfig, CPRLearner, LocalBinaryConfig, LocalBinaryLearner
from bnnlab.learn.local.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint


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


def _rewrite(path, **changes):
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    arrays.update(changes)
    np.savez(path, **arrays)


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
    shape = tmp_path / "shape.npz"
    shape.write_bytes(good.read_bytes())
    _rewrite(shape, hidden_1=np.zeros((15, 10), np.int32))
    with pytest.raises(ValueError, match=r"hidden_1.*shape"):
        load_checkpoint(shape)
    packed = tmp_path / "packed.npz"
    packed.write_bytes(good.read_bytes())
    with np.load(good) as f:
        _rewrite(packed, packed_0=~f["packed_0"] & np.uint64(0x3F))
    with pytest.raises(ValueError, match=r"packed weights packed_0"):
        load_checkpoint(packed)
    _, meta = read_checkpoint(good)
    for bad_meta, msg in [
        ({**meta, "version": 99}, "version"),
        ({**meta, "config": {**meta["config"], "layers": [15, 0]}}, "incompatible configuration"),
        ({**meta, "format": "other"}, "not a bnnlab binary-learner"),
    ]:
        p = tmp_path / "meta.npz"
        p.write_bytes(good.read_bytes())
        _rewrite(p, meta=np.frombuffer(json.dumps(bad_meta).encode(), np.uint8))
        with pytest.raises(ValueError, match=msg):
            load_checkpoint(p)
    with pytest.raises(ValueError, match=r"expected 'cp-r'"):
        load_checkpoint(good, expect="cp-r")
    with pytest.raises(ValueError, match=r"^path"):
        save_checkpoint(tmp_path / "x.pkl", m)


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
