"""The embedded Fashion-MNIST-mini dataset: shape, stratification, provenance and integrity check."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bnnlab.data import _fashion, _mini, info, load

EMBEDDED = Path(_mini.__file__).parent / _mini.EMBEDDED


@pytest.mark.parametrize(("split", "per_class"), [("train", 1000), ("test", 200)])
def test_shape_dtype_stratification(split, per_class):
    x, y = load("fashion-mnist-mini", split)
    assert x.dtype == np.uint8 and x.shape == (10 * per_class, 28, 28)
    assert y.dtype == np.int64 and y.shape == (10 * per_class,)
    assert np.bincount(y, minlength=10).tolist() == [per_class] * 10
    assert x.max() == 255 and x.min() == 0


def test_returns_independent_writable_copies():
    x, y = load("fashion-mnist-mini")
    x[0, 0, 0] ^= 0xFF
    y[0] = 99
    x2, y2 = load("fashion-mnist-mini")
    assert x2[0, 0, 0] != x[0, 0, 0] and y2[0] != 99


def test_indices_point_into_official_files():
    arrays = _mini._load_checked()
    for key, n in (("train_index", 60000), ("test_index", 10000)):
        idx = arrays[key]
        assert idx.min() >= 0 and idx.max() < n
        assert (np.diff(idx) > 0).all()  # sorted, no repeats


def test_file_size_and_licence_files():
    assert (EMBEDDED / _mini.NPZ_NAME).stat().st_size < 8_000_000
    text = (EMBEDDED / "PROVENANCE.md").read_text(encoding="utf-8")
    assert "The MIT License" in text and "Zalando SE" in text
    assert "THE SOFTWARE IS PROVIDED" in text
    meta = _mini.manifest()
    assert meta["selection"]["script"] == "tools/make_fashion_mini.py"
    assert f"seed `{meta['selection']['seed']}`" in text
    for hashes in meta["source_files"].values():
        assert hashes["sha256_decompressed"] in text
    for entry in meta["arrays"].values():
        assert entry["sha256"] in text


def test_manifest_names_the_pinned_source_files():
    meta = _mini.manifest()
    pinned = {f.name: f.sha256 for files in _fashion.FASHION_MNIST.splits.values() for f in files}
    assert {k: v["sha256_decompressed"] for k, v in meta["source_files"].items()} == pinned


def test_info():
    d = info("fashion-mnist-mini")
    assert d["sizes"] == {"train": 10000, "test": 2000}
    assert d["class_names"][0] == "T-shirt/top" and d["n_classes"] == 10
    assert "MIT" in d["licence"]
    assert info("fashion-mnist")["sizes"] == {"train": 60000, "test": 10000}


def _tampered(tmp_path: Path, monkeypatch, change) -> None:
    with np.load(EMBEDDED / _mini.NPZ_NAME, allow_pickle=False) as npz:
        arrays = {k: npz[k].copy() for k in npz.files}
    change(arrays)
    np.savez(tmp_path / _mini.NPZ_NAME, **arrays)
    real = _mini._embedded_file

    def fake(name):
        return tmp_path / name if name == _mini.NPZ_NAME else real(name)

    monkeypatch.setattr(_mini, "_embedded_file", fake)
    _mini._load_checked.cache_clear()


@pytest.fixture
def restore_cache():
    yield
    _mini._load_checked.cache_clear()


def test_integrity_check_detects_a_changed_pixel(tmp_path, monkeypatch, restore_cache):
    def change(a):
        a["x_test"][5, 10, 10] ^= 1

    _tampered(tmp_path, monkeypatch, change)
    with pytest.raises(ValueError, match=r"array 'x_test' has SHA-256 [0-9a-f]{64}, expected"):
        load("fashion-mnist-mini", "test")


def test_integrity_check_detects_a_missing_array(tmp_path, monkeypatch, restore_cache):
    _tampered(tmp_path, monkeypatch, lambda a: a.pop("y_train"))
    with pytest.raises(
        ValueError, match=r"arrays missing from the embedded dataset: \['y_train'\]"
    ):
        load("fashion-mnist-mini")


def test_manifest_is_valid_json_matching_arrays():
    meta = json.loads((EMBEDDED / _mini.MANIFEST_NAME).read_text(encoding="utf-8"))
    arrays = _mini._load_checked()
    for key, entry in meta["arrays"].items():
        assert list(arrays[key].shape) == entry["shape"]
        assert arrays[key].dtype.str == entry["dtype"]
