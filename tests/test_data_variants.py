"""Dataset variants by name: class subsets relabelled in the order given, pooling before the
median binarisation (recomputed here from the raw images), sizes, and bad names."""

from __future__ import annotations

import numpy as np
import pytest

from bnnlab import data


def test_mini_pair_pooled_matches_a_direct_computation():
    name = "fashion-mnist-mini:classes=6,0:pool=4"
    xtr, ytr, xte, yte = data.load_binary(name, 0)
    raw_x, raw_y = data.load("fashion-mnist-mini", "train")
    keep = (raw_y == 6) | (raw_y == 0)
    pooled = raw_x[keep].astype(np.float64).reshape(-1, 7, 4, 7, 4).mean(axis=(2, 4))
    median = np.median(pooled)
    assert np.array_equal(xtr, np.where(pooled > median, 1, -1).reshape(-1, 49).astype(np.int8))
    assert np.array_equal(ytr, np.where(raw_y[keep] == 6, 0, 1))  # relabelled in the given order
    tx, ty = data.load("fashion-mnist-mini", "test")
    tkeep = (ty == 6) | (ty == 0)
    tpooled = tx[tkeep].astype(np.float64).reshape(-1, 7, 4, 7, 4).mean(axis=(2, 4))
    assert np.array_equal(xte, np.where(tpooled > median, 1, -1).reshape(-1, 49).astype(np.int8))
    info = data.binary_info(name)
    assert info.shape == (49, 2)
    assert (info.n_train, info.n_test) == (len(ytr), len(yte))
    assert not info.seeded and "4 x 4" in info.description


def test_pool_alone_keeps_every_class_and_plain_name_is_unchanged():
    x, y, _, _ = data.load_binary("fashion-mnist-mini:pool=2", 0)
    assert x.shape == (10000, 196) and set(np.unique(y)) == set(range(10))
    assert data.binary_info("fashion-mnist-mini") == data.binary_info("fashion-mnist-mini")
    plain = data.load_binary("fashion-mnist-mini", 0)
    assert plain[0].shape == (10000, 784)


def test_prototype_classes_and_seeded_sizes():
    xtr, ytr, _, _ = data.load_binary("prototypes:classes=3,1", 5)
    full = data.load_binary("prototypes", 5)
    keep = np.isin(full[1], (3, 1))
    assert np.array_equal(xtr, full[0][keep]) and np.array_equal(ytr, (full[1][keep] == 1) * 1)
    info = data.binary_info("prototypes:classes=3,1")
    assert info.n_train is None and info.n_test is None and info.n_classes == 2


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("mnist:classes=0,1", "expected one of"),
        ("fashion-mnist-mini:classes=0", "at least two distinct"),
        ("fashion-mnist-mini:classes=1,1", "at least two distinct"),
        ("fashion-mnist-mini:classes=0,x", "bad variant"),
        ("fashion-mnist-mini:classes=0,10", "outside"),
        ("fashion-mnist-mini:pool=3", "divisor of 28"),
        ("fashion-mnist-mini:pool=0", "bad variant"),
        ("prototypes:pool=2", "Fashion-MNIST base"),
        ("fashion-mnist-mini:pool=2:pool=4", "at most once"),
        ("fashion-mnist-mini:size=4", "bad variant"),
    ],
)
def test_bad_names_say_what_is_wrong(name, match):
    with pytest.raises(ValueError, match=match):
        data.binary_info(name)


def test_cli_accepts_variants_and_refuses_bad_ones(tmp_path, capsys):
    from bnnlab.cli import main

    with pytest.raises(SystemExit):
        main(["train", "latent", "--dataset", "fashion-mnist-mini:pool=5", "--epochs", "1"])
    assert "divisor of 28" in capsys.readouterr().err
    rc = main(
        [
            "train", "signsgd", "--dataset", "fashion-mnist-mini:classes=0,1:pool=7",
            "--layers", "4", "--epochs", "1", "--seed", "0", "--no-progress",
            "--out", str(tmp_path),
        ]
    )  # fmt: skip
    assert rc == 0
    assert next(p.name for p in (tmp_path / "records").glob("*.jsonl")).startswith(
        "train-signsgd-fashion-mnist-mini_classes_0_1_pool_7-"
    )


def test_intensity_keeps_the_pixels_scaled_to_unit_range():
    x, _, _, _ = data.load_binary("fashion-mnist-mini:classes=0,2:pool=4:intensity", 0)
    raw_x, raw_y = data.load("fashion-mnist-mini", "train")
    keep = (raw_y == 0) | (raw_y == 2)
    pooled = raw_x[keep].astype(np.float32).reshape(-1, 7, 4, 7, 4).mean(axis=(2, 4)) / 255.0
    np.testing.assert_allclose(x, pooled.reshape(-1, 49), rtol=1e-6)
    assert x.dtype == np.float32 and 0.0 <= x.min() and x.max() <= 1.0
    with pytest.raises(ValueError, match="intensity needs a Fashion-MNIST"):
        data.binary_info("prototypes:intensity")
