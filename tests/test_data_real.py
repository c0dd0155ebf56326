"""The real Fashion-MNIST files, when installed (Debian package dataset-fashion-mnist).

Checks that the pinned hashes are those of the official content (item and class counts), that the
Colombo split through ``load`` has the paper's sizes, and that the embedded mini dataset is exactly
what tools/make_fashion_mini.py selects from these files with the recorded seed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from bnnlab.data import _fashion, _mini, load

DEBIAN = Path(_fashion.FASHION_MNIST.system_dirs[0])
HAVE = all((DEBIAN / f.name).is_file() for s in _fashion.FASHION_MNIST.splits.values() for f in s)
pytestmark = pytest.mark.skipif(
    not HAVE,
    reason=f"Fashion-MNIST not installed in {DEBIAN} (apt-get install dataset-fashion-mnist)",
)
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def official():
    return {split: load("fashion-mnist", split, root=DEBIAN) for split in ("train", "test")}


def test_official_counts(official):
    (x, y), (xt, yt) = official["train"], official["test"]
    assert x.shape == (60000, 28, 28) and x.dtype == np.uint8 and y.dtype == np.int64
    assert xt.shape == (10000, 28, 28)
    assert np.bincount(y).tolist() == [6000] * 10
    assert np.bincount(yt).tolist() == [1000] * 10


def test_colombo_test_split_through_load(official):
    x, y = official["train"]
    xv, yv = load("fashion-mnist", "colombo-test", root=DEBIAN, seed=0)
    assert xv.shape == (10000, 28, 28)
    perm = np.random.default_rng(0).permutation(60000)
    assert (xv == x[perm[50000:]]).all() and (yv == y[perm[50000:]]).all()


def test_mini_is_reproduced_by_the_build_script(official):
    spec = importlib.util.spec_from_file_location(
        "make_fashion_mini", ROOT / "tools" / "make_fashion_mini.py"
    )
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    meta = _mini.manifest()
    arrays = _mini._load_checked()
    rng = np.random.default_rng(meta["selection"]["seed"])
    for split, per_class in (("train", 1000), ("test", 200)):
        x, y = official[split]
        index = tool.stratified(y, per_class, rng)
        assert (index == arrays[f"{split}_index"]).all()
        assert (x[index] == arrays[f"x_{split}"]).all()
        assert (y[index] == arrays[f"y_{split}"]).all()
