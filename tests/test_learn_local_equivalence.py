"""The bit-packed local-binary learner equals its dense integer oracle after every mini-batch."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from bnnlab.learn import LocalBinaryConfig, LocalBinaryLearner, LocalBinaryReference


def _data(rng, n, d, c):
    x = np.where(rng.random((n, d)) < 0.5, 1, -1).astype(np.int8)
    # learnable structure: labels from a random ±1 teacher, so the runs leave the trivial regime
    teacher = np.where(rng.random((d, c)) < 0.5, 1, -1)
    y = np.argmax(x.astype(np.int32) @ teacher, axis=1).astype(np.int64)
    return x, y


def _snapshot(model):
    return (
        [w.copy() for w in model.hidden],
        [g.copy() for g in model.head_state],
        [b.copy() for b in model.heads],
    )


def _record_steps(model, x_probe):
    """Wrap ``model._step`` to snapshot weights, heads and predictions after every mini-batch
    (the compiled learner then trains batch by batch, not an epoch per call)."""
    snaps = []
    step = model._step
    model._whole_epochs = lambda: False

    def wrapped(xb, yb):
        out = step(xb, yb)
        snaps.append((out, *_snapshot(model), model.predict(x_probe)))
        return out

    model._step = wrapped
    return snaps


CASES = [
    # (n_features, layers, groups, n_classes, batch, extra config)
    (70, (15, 9), (5, 3), 4, 16, {}),
    (64, (8, 12), (4, 6), 3, 10, {}),
    (130, (21,), (7,), 5, 25, {"train_head": True}),
    (100, (35, 35, 35), None, 10, 32, {"rob": 0.5}),
    (65, (10, 11), (5, 11), 2, 7, {"clip": 40, "init_std": 16.0}),
    (129, (33, 30), (11, 10), 6, 20, {"train_head": True, "clip": 70, "p_r": 1.0}),
    # small initial weights: many weights pass through 0 and many h = 0 (sign(0) rules matter)
    (96, (17, 16), (17, 4), 5, 30, {"init_std": 3.0, "train_head": True}),
]


@pytest.mark.parametrize("sign_zero", ["zero", "plus"])
@pytest.mark.parametrize(("d", "layers", "groups", "c", "bs", "extra"), CASES)
def test_packed_equals_reference_after_every_batch(d, layers, groups, c, bs, extra, sign_zero):
    rng = np.random.default_rng(d * 1000 + sum(layers))
    x, y = _data(rng, 150, d, c)
    probe = x[:40]
    cfg = LocalBinaryConfig(
        n_features=d,
        n_classes=c,
        layers=layers,
        groups=groups,
        batch_size=bs,
        sign_zero=sign_zero,
        **extra,
    )
    packed = LocalBinaryLearner(cfg, seed=7, backend="auto")
    ref = LocalBinaryReference(cfg, seed=7)
    for a, b in zip(_snapshot(packed), _snapshot(ref), strict=True):
        for u, v in zip(a, b, strict=True):
            # the hidden weights int16 or int32 (the compiled step's narrow type), heads alike
            assert u.dtype.kind == v.dtype.kind == "i" and np.array_equal(u, v)
    sp, sr = _record_steps(packed, probe), _record_steps(ref, probe)
    hp = packed.fit(x, y, epochs=3, x_test=probe, y_test=y[:40])
    hr = ref.fit(x, y, epochs=3, x_test=probe, y_test=y[:40])
    # the same training with whole epochs per compiled call (where the learner takes that path)
    whole = LocalBinaryLearner(cfg, seed=7, backend="auto")
    hw = whole.fit(x, y, epochs=3, x_test=probe, y_test=y[:40])
    assert [{k: v for k, v in r.items() if k != "seconds"} for r in hw] == [
        {k: v for k, v in r.items() if k != "seconds"} for r in hr
    ]
    for a, b in zip(_snapshot(whole), _snapshot(ref), strict=True):
        for u, v in zip(a, b, strict=True):
            assert np.array_equal(u, v)
    assert whole.rng.bit_generator.state == ref.rng.bit_generator.state
    assert len(sp) == len(sr) == 3 * -(-150 // bs)
    for step_p, step_r in zip(sp, sr, strict=True):
        assert step_p[0] == step_r[0]  # correct count of the batch
        for part_p, part_r in zip(step_p[1:4], step_r[1:4], strict=True):
            for u, v in zip(part_p, part_r, strict=True):
                assert np.array_equal(u, v)
        assert np.array_equal(step_p[4], step_r[4])
    assert [r["train_accuracy"] for r in hp] == [r["train_accuracy"] for r in hr]
    assert [r["test_accuracy"] for r in hp] == [r["test_accuracy"] for r in hr]
    # the packed forward weights are the packed signs of the hidden weights
    from bnnlab.bits import pack

    for w, rep in zip(packed.hidden, packed.packed_weights(), strict=True):
        assert np.array_equal(rep, pack(np.ascontiguousarray((w >= 0).T)))
    # something was learned and changed (the test would be vacuous otherwise)
    assert any(not np.array_equal(a[1][0], b[1][0]) for a, b in itertools.pairwise(sp))
    assert packed.rng.bit_generator.state == ref.rng.bit_generator.state


def test_zero_signs_occur_and_are_exact():
    """With small weights the zero rules are exercised: zero weights and h = 0 both occur, and
    the two sign(0) rules give different trainings (each matched bit for bit above)."""
    rng = np.random.default_rng(11)
    x, y = _data(rng, 120, 96, 5)
    kw = dict(n_features=96, n_classes=5, layers=(17, 16), groups=(17, 4), batch_size=30)
    kw["init_std"] = 3.0
    ref = LocalBinaryReference(LocalBinaryConfig(**kw, sign_zero="zero"), seed=2)
    seen = {"w": 0, "h": 0}
    act = ref.engine.activate

    def counting(h):
        seen["h"] += int((h == 0).sum())
        return act(h)

    ref.engine.activate = counting
    step = ref._step

    def wrapped(xb, yb):
        seen["w"] += sum(int((w == 0).sum()) for w in ref.hidden)
        return step(xb, yb)

    ref._step = wrapped
    ref.fit(x, y, epochs=2)
    assert seen["w"] > 0 and seen["h"] > 0
    plus = LocalBinaryReference(LocalBinaryConfig(**kw, sign_zero="plus"), seed=2)
    plus.fit(x, y, epochs=2)
    assert any(not np.array_equal(a, b) for a, b in zip(ref.hidden, plus.hidden, strict=True))
    packed = LocalBinaryLearner(LocalBinaryConfig(**kw, sign_zero="zero"), seed=2)
    packed.fit(x, y, epochs=2)
    for u, v in zip(packed.hidden, ref.hidden, strict=True):
        assert np.array_equal(u, v)
    assert np.array_equal(packed.predict(x), ref.predict(x))


def test_old_configs_load_with_sign_plus():
    cfg = LocalBinaryConfig(n_features=8, n_classes=2, layers=(3,))
    assert cfg.sign_zero == "zero"
    d = cfg.to_dict()
    del d["sign_zero"]
    assert LocalBinaryConfig.from_dict(d).sign_zero == "plus"
    with pytest.raises(ValueError, match="sign_zero"):
        LocalBinaryConfig(n_features=8, n_classes=2, layers=(3,), sign_zero="minus")


def test_every_backend_agrees():
    from bnnlab.bits import available_backends

    rng = np.random.default_rng(3)
    x, y = _data(rng, 80, 90, 3)
    cfg = LocalBinaryConfig(
        n_features=90, n_classes=3, layers=(12, 9), groups=(4, 3), batch_size=20, init_std=4.0
    )
    ref = LocalBinaryReference(cfg, seed=5)
    ref.fit(x, y, epochs=2)
    for name in [b for b in available_backends() if b != "cupy"]:
        m = LocalBinaryLearner(cfg, seed=5, backend=name)
        m.fit(x, y, epochs=2)
        for u, v in zip(m.hidden, ref.hidden, strict=True):
            assert np.array_equal(u, v), name


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_zero_sign_engine_runs_on_its_backend(backend, monkeypatch):
    """The sign(0) = 0 corrections go through bnnlab.bits on the learner's backend, and only there
    (backend="numpy" runs the numpy oracle, not a compiled kernel)."""
    from bnnlab.bits import _dispatch

    if backend not in _dispatch.available_backends():
        pytest.skip(f"{backend} not available")
    ops = (
        "zero_positions",
        "subtract_zero_inputs",
        "subtract_zero_weights",
        "subtract_zero_update",
    )
    calls: dict[tuple[str, str], int] = {}

    def counting(function, key):
        def counted(*args):
            calls[key] = calls.get(key, 0) + 1
            return function(*args)

        return counted

    for name in [b for b in _dispatch.available_backends() if b != "cupy"]:
        module = _dispatch.load(name)
        for op in ops:
            monkeypatch.setattr(module, op, counting(getattr(module, op), (name, op)))
    rng = np.random.default_rng(4)
    x, y = _data(rng, 90, 96, 5)
    cfg = LocalBinaryConfig(
        n_features=96, n_classes=5, layers=(17, 16), groups=(17, 4), batch_size=30, init_std=3.0
    )
    assert cfg.sign_zero == "zero"
    model = LocalBinaryLearner(cfg, seed=2, backend=backend)
    model.fit(x, y, epochs=2)
    # the numba step runs sign(0) = 0 inside its own ternary kernels (bnnlab.learn.local._fused):
    # only the initial packing of the weights goes through bnnlab.bits
    want = {"zero_positions"} if model._fused else set(ops)
    assert {op for (name, op) in calls} == want, calls
    assert {name for (name, op) in calls} == {backend}, calls
    ref = LocalBinaryReference(cfg, seed=2)
    ref.fit(x, y, epochs=2)
    for u, v in zip(model.hidden, ref.hidden, strict=True):
        assert np.array_equal(u, v)
