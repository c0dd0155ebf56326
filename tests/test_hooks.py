"""bnnlab.experiments.hooks: the per-epoch weight-statistics callback and its tidy rows.

The model here is a synthetic stand-in exposing ``binarized_layers()``; the real models are
exercised by tests/test_l2_study.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from bnnlab.experiments.hooks import WeightStatsHook, binarized_weights, layer_rows


class _Param:
    def __init__(self, data):
        self.data = data


class _Layer:
    def __init__(self, data, out_axis=None):
        self.weight = _Param(data)
        if out_axis is not None:
            self.out_axis = out_axis


class _Model:
    def __init__(self, rng):
        self.layers = [
            ("conv1", _Layer(rng.normal(size=(8, 3, 3, 3)))),
            ("fc1", _Layer(rng.normal(size=(16, 72)))),
        ]

    def binarized_layers(self):
        return list(self.layers)


def test_hook_records_every_layer_and_flips_between_epochs(rng):
    model = _Model(rng)
    hook = WeightStatsHook(seed=1)
    row0 = hook(0, model, {})
    assert row0["layers"] == ["conv1", "fc1"]
    assert row0["conv1/fan_in"] == 27 and row0["fc1/n_filters"] == 16
    assert math.isnan(row0["fc1/sign.flip"])
    # flip the sign of every conv weight: every sign bit flips, the optimal code stays
    model.layers[0][1].weight.data = -model.layers[0][1].weight.data
    row1 = hook(1, model, {"loss": 0.5})
    assert row1["conv1/sign.flip"] == 1.0 and row1["conv1/opt.flip"] == 0.0
    assert row1["fc1/sign.flip"] == 0.0
    assert row0["conv1/drift"] == 0.0 and row1["fc1/drift"] == 0.0
    assert row1["conv1/drift"] == pytest.approx(2.0)  # ||-w - w|| / ||w||
    # the same seed gives the same numbers on a fresh hook
    again = WeightStatsHook(seed=1)
    again(0, _Model(np.random.default_rng(20261122)), {})
    row1b = again(1, model, {})
    assert row1b["fc1/std.beta"] == row1["fc1/std.beta"]


def test_every_skips_epochs_but_not_the_first_call(rng):
    model = _Model(rng)
    hook = WeightStatsHook(seed=0, every=2)
    assert hook(1, model, {})  # first call always measures
    assert hook(2, model, {})
    assert hook(3, model, {}) == {}
    assert hook(4, model, {})


def test_layer_rows_explodes_epoch_rows_into_tidy_rows(rng):
    model = _Model(rng)
    hook = WeightStatsHook(seed=0)
    rows = [
        {"run": "r", "epoch": e, "test_accuracy": 50.0 + e, **hook(e, model, {})} for e in range(2)
    ]
    rows.append({"run": "r", "epoch": 2, "test_accuracy": 90.0})  # an epoch the hook skipped
    tidy = layer_rows(rows)
    assert [(r["epoch"], r["layer"], r["depth"]) for r in tidy] == [
        (0, "conv1", 0),
        (0, "fc1", 1),
        (1, "conv1", 0),
        (1, "fc1", 1),
    ]
    assert tidy[3]["test_accuracy"] == 51.0 and tidy[3]["run"] == "r"
    assert tidy[1]["fan_in"] == 72 and "fc1/fan_in" not in tidy[1]
    assert not any("/" in k for r in tidy for k in r)


def test_out_axis_attribute_is_honoured(rng):
    class M:
        def binarized_layers(self):
            return [("d", _Layer(rng.normal(size=(50, 6)), out_axis=1))]

    name, _w, axis = binarized_weights(M())[0]
    assert (name, axis) == ("d", 1)
    assert WeightStatsHook(seed=0)(0, M(), {})["d/n_filters"] == 6


def test_bad_models_and_arguments_are_refused(rng):
    with pytest.raises(TypeError, match="model"):
        WeightStatsHook(seed=0)(0, object(), {})

    class Empty:
        def binarized_layers(self):
            return []

    with pytest.raises(ValueError, match="model: has no binarized layers"):
        WeightStatsHook(seed=0)(0, Empty(), {})

    class Slash:
        def binarized_layers(self):
            return [("a/b", _Layer(rng.normal(size=(4, 30))))]

    with pytest.raises(ValueError, match="model: layer name"):
        WeightStatsHook(seed=0)(0, Slash(), {})
    with pytest.raises(ValueError, match="every"):
        WeightStatsHook(seed=0, every=0)
    with pytest.raises(ValueError, match="epoch"):
        WeightStatsHook(seed=0)(-1, _Model(rng), {})
    with pytest.raises(TypeError, match=r"^rows: row 1 is a list, expected a mapping"):
        layer_rows([{"epoch": 0}, ["epoch", 1]])
