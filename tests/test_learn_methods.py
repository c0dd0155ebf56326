"""Contract of every registered training method (bnnlab.learn.method.METHODS).

Every alias, including those registered later, must: build from its config class's defaults and
small layers; report rows with the metrics vocabulary, layer columns and cost columns; give the
same rows for the same seed; resume from ``state_dict`` exactly (2 + 1 epochs == 3 epochs); round
trip its configuration; and refuse bad data.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from bnnlab.learn import method as M

ALIASES = M.available()


def small_config(alias: str):
    cls = M.get(alias).config_class
    names = {f.name for f in dataclasses.fields(cls)}
    if "binarizer" in names:  # latent-weight methods
        return cls(layers=(24,), batch_size=50)
    layers = (22, 2) if alias == "cp-r" else (15, 15)
    return cls(layers=layers, batch_size=50)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = np.where(rng.random((400, 40)) < 0.5, 1, -1).astype(np.int8)
    y = (x[:, :5].sum(axis=1) > 0).astype(np.int64) + (x[:, 5] > 0)
    return M.TrainData(x[:300], y[:300], x[300:], y[300:], name="toy")


def build(alias, data, seed=3):
    return M.get(alias)(
        small_config(alias), n_features=data.n_features, n_classes=data.n_classes, seed=seed
    )


def strip(rows):
    """Rows without wall times, NaN (a diagnostic not measured) made comparable."""
    return [
        {
            k: ("nan" if isinstance(v, float) and np.isnan(v) else v)
            for k, v in r.items()
            if not k.endswith("seconds")
        }
        for r in rows
    ]


def test_registry_describes_every_method():
    described = M.describe()
    assert sorted(described) == ALIASES
    assert {"local-binary", "cp-r", "latent", "bop", "proxquant", "binary-connect"} <= set(ALIASES)
    for alias, text in described.items():
        assert isinstance(text, str) and len(text) > 10, alias
        assert M.get(alias).alias == alias


@pytest.mark.parametrize("alias", ALIASES)
def test_rows_vocabulary_layers_and_cost(alias, data):
    m = build(alias, data)
    rows = m.fit(data, epochs=2)
    assert [r["epoch"] for r in rows] == [1, 2] and m.epoch == 2
    for r in rows:
        for key in ("train_accuracy", "test_accuracy", "seconds", "gates_per_epoch", "memory_bits"):
            assert np.isfinite(r[key]), (alias, key)
        assert 0 <= r["train_accuracy"] <= 100 and 0 <= r["test_accuracy"] <= 100
        layers = [k[: -len("/bit_entropy")] for k in r if k.endswith("/bit_entropy")]
        assert layers, alias
        for name in layers:
            assert 0 <= r[f"{name}/bit_entropy"] <= 1
            assert 0 <= r[f"{name}/flip_ratio"] <= 1
    assert m.score(data.x_test, data.y_test) == pytest.approx(rows[-1]["test_accuracy"])
    pred = m.predict(data.x_test)
    assert pred.dtype == np.int64 and pred.shape == data.y_test.shape


@pytest.mark.parametrize("alias", ALIASES)
def test_same_seed_same_rows_other_seed_other_rows(alias, data):
    a = strip(build(alias, data, seed=5).fit(data, epochs=2))
    b = strip(build(alias, data, seed=5).fit(data, epochs=2))
    c = strip(build(alias, data, seed=6).fit(data, epochs=2))
    assert a == b
    assert a != c


@pytest.mark.parametrize("alias", ALIASES)
def test_resume_from_state_equals_uninterrupted(alias, data):
    """A checkpoint taken after epoch 2 of a 3-epoch run (the CLI's per-epoch callback) resumes
    into exactly the uninterrupted run's third epoch (schedules, ProxQuant's homotopy and its
    final quantisation span the whole budget)."""
    saved = {}

    def keep(row):
        if row["epoch"] == 2:
            saved["state"] = m.state_dict()

    m = build(alias, data)
    rows = m.fit(data, epochs=3, callback=keep)
    arrays, meta = saved["state"]
    resumed = build(alias, data, seed=99)  # the state replaces every seeded draw
    resumed.load_state_dict({k: np.array(v) for k, v in arrays.items()}, meta)
    assert resumed.epoch == 2
    tail = resumed.fit(data, epochs=1)
    assert strip(tail) == strip(rows)[2:]
    np.testing.assert_array_equal(resumed.predict(data.x_test), m.predict(data.x_test))


@pytest.mark.parametrize("alias", ALIASES)
def test_config_round_trip_and_bad_values(alias):
    cls = M.get(alias).config_class
    cfg = small_config(alias)
    assert cls.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown keys"):
        cls.from_dict({**cfg.to_dict(), "bogus": 1})
    with pytest.raises((ValueError, TypeError), match="batch_size"):
        cls.from_dict({**cfg.to_dict(), "batch_size": 0})


@pytest.mark.parametrize("alias", ALIASES)
def test_refuses_data_of_another_shape(alias, data):
    m = build(alias, data)
    other = M.TrainData(data.x_train[:, :30], data.y_train, data.x_test[:, :30], data.y_test)
    with pytest.raises(ValueError, match="data: 30 features"):
        m.fit(other, epochs=1)
    with pytest.raises(TypeError, match="TrainData"):
        m.fit((data.x_train, data.y_train), epochs=1)


def test_train_data_validation():
    x = np.ones((4, 3), dtype=np.int8)
    with pytest.raises(ValueError, match="y_train: 3 labels for 4 rows"):
        M.TrainData(x, np.zeros(3, dtype=np.int64), x, np.zeros(4, dtype=np.int64))
    with pytest.raises(TypeError, match="y_test: expected integer labels"):
        M.TrainData(x, np.zeros(4, dtype=np.int64), x, np.zeros(4))
    with pytest.raises(ValueError, match=r"labels must lie in 0\.\.1"):
        M.TrainData(x, np.array([0, 1, 2, 0]), x, np.zeros(4, dtype=np.int64), n_classes=2)


def test_latent_methods_share_initial_binary_weights(data):
    """Every latent method of a seed starts from the same weights (Bop from their signs)."""
    a = build("latent", data).binary_weights()
    b = build("bop", data).binary_weights()
    c = build("binary-connect", data).binary_weights()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])
        np.testing.assert_array_equal(a[name], c[name])


def test_latent_bad_options_fail_at_configuration():
    cls = M.get("bop").config_class
    with pytest.raises(TypeError, match="options"):
        cls(options={"tau": 1e-8})  # Bop's argument is 'threshold'
    with pytest.raises(ValueError, match="optimizer"):
        M.get("latent").config_class(optimizer="rmsprop")


def test_stochastic_binarizer_state_resumes_exactly(data):
    """BinaryConnect's stochastic binarisation draws from a seeded generator the state keeps."""
    cls = M.get("binary-connect")
    cfg = cls.config_class(layers=(24,), batch_size=50, binarizer="stochastic_sign")
    saved = {}

    def keep(row):
        if row["epoch"] == 1:
            saved["state"] = m.state_dict()

    m = cls(cfg, n_features=data.n_features, n_classes=data.n_classes, seed=4)
    rows = m.fit(data, epochs=2, callback=keep)
    r = cls(cfg, n_features=data.n_features, n_classes=data.n_classes, seed=5)
    r.load_state_dict(*saved["state"])
    assert strip(r.fit(data, epochs=1)) == strip(rows)[1:]
    assert "fc1" in saved["state"][1]["rng"]  # the binarizer's generator is part of the state


@pytest.mark.parametrize("alias", ["latent", "local-binary"])
def test_method_checkpoint_round_trip_and_corruption(alias, data, tmp_path):
    from bnnlab.learn.checkpoint import load_method, save_method

    m = build(alias, data)
    m.fit(data, epochs=1)
    path = save_method(tmp_path / "m.npz", m, extra={"dataset": "toy"})
    back, meta = load_method(path)
    assert meta["method"] == alias and meta["extra"] == {"dataset": "toy"} and back.epoch == 1
    np.testing.assert_array_equal(back.predict(data.x_test), m.predict(data.x_test))
    with pytest.raises(ValueError, match="holds a"):
        load_method(path, expect="cp-r")
    raw = path.read_bytes()
    rng = np.random.default_rng(0)
    for offset in rng.choice(len(raw), 40, replace=False):
        bad = bytearray(raw)
        bad[offset] ^= 0x10
        target = tmp_path / f"bad-{offset}.npz"
        target.write_bytes(bytes(bad))
        try:
            flipped, _ = load_method(target)
        except ValueError as exc:
            assert str(target) in str(exc)
        else:  # the flip landed where the zip container ignores it: nothing changed
            np.testing.assert_array_equal(flipped.predict(data.x_test), m.predict(data.x_test))
    with pytest.raises(TypeError, match="registered training method"):
        save_method(tmp_path / "x.npz", object())
    with pytest.raises(ValueError, match=r"\.npz"):
        save_method(tmp_path / "x.bin", m)
