"""The contract every registered learner keeps (in the spirit of scikit-learn's estimator checks).

Parametrised over ``bnnlab.learn.LEARNERS.available()``, so a learner registered later is checked
without editing this file. Its configuration is built the documented way,
``get(alias).config_class.from_layers(n_features, n_classes, layers)``, with the class's
``DEFAULT_LAYERS`` scaled down (divisibility kept), or the first small network the class accepts.

Checked: configuration dict round trip; fit / predict / score / train_batch types and units; the
per-epoch rows of :mod:`bnnlab.learn.metrics`; determinism under a seed, difference across seeds;
``state_dict`` / ``load_state_dict`` and ``save_checkpoint`` / ``load_checkpoint`` resuming exactly
like an uninterrupted run; bad input refused with ``ValueError`` / ``TypeError`` before any change.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from bnnlab.learn import LEARNERS, get, load_checkpoint, save_checkpoint
from bnnlab.learn.metrics import ROW_KEYS

ALIASES = LEARNERS.available()
D, C = 24, 3
FALLBACK_LAYERS = [(12, 6), (12, 4), (12, 3), (12,), (8,)]


def _small_layers(config_class, largest=24):
    """``DEFAULT_LAYERS`` divided by a common divisor until the widest is at most ``largest``."""
    default = tuple(getattr(config_class, "DEFAULT_LAYERS", ()) or ())
    if default:
        g = math.gcd(*default)
        for f in range(1, g + 1):
            if g % f == 0 and max(default) // f <= largest:
                yield tuple(k // f for k in default)
                break
    yield from FALLBACK_LAYERS


def _config(alias, **hyper):
    config_class = get(alias).config_class
    names = {f.name for f in dataclasses.fields(config_class)}
    hyper = {k: v for k, v in {"batch_size": 16, **hyper}.items() if k in names}
    for layers in _small_layers(config_class):
        try:
            return config_class.from_layers(D, C, layers, **hyper)
        except ValueError:
            continue
    raise AssertionError(f"{alias}: no small network accepted by {config_class.__name__}")


def _data(seed, n):
    rng = np.random.default_rng(seed)
    proto = np.where(np.random.default_rng(99).random((C, D)) < 0.5, 1, -1)
    y = rng.integers(0, C, n)
    x = proto[y] * np.where(rng.random((n, D)) < 0.1, -1, 1)
    return x.astype(np.int8), y.astype(np.int64)


X, Y = _data(1, 64)
XT, YT = _data(2, 24)


def _make(alias, seed=0, **hyper):
    return get(alias)(_config(alias, **hyper), seed=seed)


def _strip(rows):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


def _same_model(a, b):
    (arr_a, meta_a), (arr_b, meta_b) = a.state_dict(), b.state_dict()
    assert sorted(arr_a) == sorted(arr_b)
    for k in arr_a:
        assert arr_a[k].dtype == arr_b[k].dtype and np.array_equal(arr_a[k], arr_b[k]), k
    assert meta_a == meta_b
    assert np.array_equal(a.predict(XT), b.predict(XT))


pytestmark = pytest.mark.parametrize("alias", ALIASES)


def test_registry_entry(alias):
    cls = get(alias)
    cfg = _config(alias)
    assert isinstance(cls, type) and isinstance(cfg, cls.config_class)
    assert alias in ALIASES
    with pytest.raises(TypeError, match=r"^seed"):
        cls(cfg, seed=None)
    with pytest.raises(TypeError, match=r"^config"):
        cls(cfg.to_dict(), seed=0)


def test_config_dict_round_trip(alias):
    cfg = _config(alias, rob=0.3, clip=40)
    d = json.loads(json.dumps(cfg.to_dict()))  # JSON-ready
    assert type(cfg).from_dict(d) == cfg
    with pytest.raises(ValueError, match=r"^config"):
        type(cfg).from_dict({**d, "no_such_field": 1})


def test_fit_predict_score_types_and_units(alias):
    m = _make(alias)
    x, y = X.copy(), Y.copy()
    assert m.fit(x, y, epochs=0) == []
    rows = m.fit(x, y, epochs=2, x_test=XT, y_test=YT)
    assert np.array_equal(x, X) and np.array_equal(y, Y)  # inputs untouched
    assert isinstance(rows, list) and len(rows) == 2
    for epoch, row in enumerate(rows, start=1):
        assert {"epoch", "train_accuracy", "test_accuracy", "seconds"} <= set(row)
        assert row["epoch"] == epoch and isinstance(row["epoch"], int)
        for key in ("train_accuracy", "test_accuracy"):  # percent
            assert isinstance(row[key], float) and 0.0 <= row[key] <= 100.0
        assert isinstance(row["seconds"], float) and row["seconds"] >= 0.0
        assert all(k in ROW_KEYS for k in row if "accuracy" in k or "loss" in k)
    assert rows[-1]["test_accuracy"] == m.score(XT, YT)
    (row,) = m.fit(X, Y, epochs=1)  # epochs count over the learner's life; no test set, no key
    assert row["epoch"] == 3 and "test_accuracy" not in row
    pred = m.predict(XT)
    assert isinstance(pred, np.ndarray) and pred.dtype == np.int64 and pred.shape == (len(YT),)
    assert pred.min() >= 0 and pred.max() < C
    score = m.score(XT, YT)
    assert isinstance(score, float) and math.isclose(score, 100.0 * np.mean(pred == YT))
    correct = m.train_batch(X[:10], Y[:10])
    assert isinstance(correct, int) and 0 <= correct <= 10


def test_learns_an_easy_problem(alias):
    # noisy copies of 3 prototypes (10 % of the bits flipped): well above chance (33 %) in 5
    # epochs (a CP+R committee of K2 = 2 cannot give 3 classes distinct codes under every draw:
    # hence the modest bar)
    x, y = _data(5, 600)
    xt, yt = _data(6, 200)
    rows = _make(alias, seed=0, batch_size=10).fit(x, y, epochs=5, x_test=xt, y_test=yt)
    assert rows[-1]["test_accuracy"] > 50.0


def test_same_seed_same_run_other_seed_other_run(alias):
    a, b, other = _make(alias, seed=3), _make(alias, seed=3), _make(alias, seed=4)
    _same_model(a, b)
    ra = a.fit(X, Y, epochs=2, x_test=XT, y_test=YT)
    rb = b.fit(X, Y, epochs=2, x_test=XT, y_test=YT)
    assert _strip(ra) == _strip(rb)
    _same_model(a, b)

    def differs():
        mine, theirs = a.state_dict()[0], other.state_dict()[0]
        return any(not np.array_equal(mine[k], theirs[k]) for k in mine)

    assert differs()  # after initialisation
    other.fit(X, Y, epochs=2)
    assert differs()  # and after the same training


def test_state_dict_round_trip_continues_identically(alias):
    a = _make(alias, seed=5)
    a.fit(X, Y, epochs=1)
    arrays, meta = a.state_dict()
    for v in arrays.values():
        assert isinstance(v, np.ndarray) and np.issubdtype(v.dtype, np.integer)
    meta = json.loads(json.dumps(meta))  # JSON-ready
    b = _make(alias, seed=123)
    b.load_state_dict({k: v.copy() for k, v in arrays.items()}, meta)
    _same_model(a, b)
    assert _strip(a.fit(X, Y, epochs=2, x_test=XT, y_test=YT)) == _strip(
        b.fit(X, Y, epochs=2, x_test=XT, y_test=YT)
    )
    _same_model(a, b)
    name = sorted(arrays)[0]
    with pytest.raises(ValueError, match=name):
        b.load_state_dict({k: v for k, v in arrays.items() if k != name}, meta)
    with pytest.raises(ValueError, match=name):
        b.load_state_dict({**arrays, name: arrays[name][:1]}, meta)


def test_checkpoint_round_trip_continues_identically(alias, tmp_path):
    a = _make(alias, seed=6)
    a.fit(X, Y, epochs=1)
    path = save_checkpoint(tmp_path / "model.npz", a, extra={"note": "contract"})
    b, meta = load_checkpoint(path)
    assert type(b) is type(a) and b.config == a.config
    assert meta["learner"] == alias and meta["extra"] == {"note": "contract"}
    _same_model(a, b)
    assert _strip(a.fit(X, Y, epochs=2)) == _strip(b.fit(X, Y, epochs=2))
    _same_model(a, b)
    other = next((o for o in ALIASES if o != alias), None)
    if other is not None:
        with pytest.raises(ValueError, match="expected"):
            load_checkpoint(path, expect=other)


def _bad_calls(m):
    ok_x, ok_y = X[:8], Y[:8]
    zero_x = ok_x.copy()
    zero_x[0, 0] = 0
    two_x = ok_x.copy()
    two_x[1, 3] = 2
    return {
        "x-not-pm1-zero": (ValueError, lambda: m.fit(zero_x, ok_y, epochs=1)),
        "x-not-pm1-two": (ValueError, lambda: m.train_batch(two_x, ok_y)),
        "x-not-pm1-predict": (ValueError, lambda: m.predict(zero_x)),
        "x-bool": (TypeError, lambda: m.predict(ok_x > 0)),
        "x-wrong-features": (ValueError, lambda: m.fit(ok_x[:, :-1], ok_y, epochs=1)),
        "x-wrong-features-score": (ValueError, lambda: m.score(ok_x[:, 1:], ok_y)),
        "x-1d": (ValueError, lambda: m.predict(ok_x[0])),
        "y-too-large": (ValueError, lambda: m.fit(ok_x, np.full(8, C), epochs=1)),
        "y-negative": (ValueError, lambda: m.train_batch(ok_x, np.full(8, -1))),
        "y-float": (TypeError, lambda: m.fit(ok_x, ok_y.astype(float), epochs=1)),
        "y-length": (ValueError, lambda: m.fit(ok_x, ok_y[:-1], epochs=1)),
        "x_test-without-y_test": (ValueError, lambda: m.fit(ok_x, ok_y, epochs=1, x_test=XT)),
        "y_test-without-x_test": (ValueError, lambda: m.fit(ok_x, ok_y, epochs=1, y_test=YT)),
        "x_test-wrong-features": (
            ValueError,
            lambda: m.fit(ok_x, ok_y, epochs=1, x_test=XT[:, :-1], y_test=YT),
        ),
        "y_test-out-of-range": (
            ValueError,
            lambda: m.fit(ok_x, ok_y, epochs=1, x_test=XT, y_test=YT + C),
        ),
        "epochs-negative": (ValueError, lambda: m.fit(ok_x, ok_y, epochs=-1)),
    }


BAD = sorted(_bad_calls(None))


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_refused_before_any_change(alias, case):
    m = _make(alias, seed=8)
    before = _make(alias, seed=8)
    exc, call = _bad_calls(m)[case]
    with pytest.raises(exc):
        call()
    _same_model(m, before)  # nothing trained, no random draw consumed
    assert m.epoch == 0
