"""The compiled local-binary step's int16 hidden weights: chosen while ``max |W|`` leaves room for
a step, widened to int32 (for every layer) before one could leave int16, the values always those
of the dense int32 reference; checkpoints stay int32."""

from __future__ import annotations

import numpy as np
import pytest

from bnnlab.learn import LocalBinaryConfig, LocalBinaryLearner, LocalBinaryReference
from bnnlab.learn.local import _fused
from bnnlab.learn.local.checkpoint import load_checkpoint, save_checkpoint
from bnnlab.learn.local.devices import LocalBinaryOnDevices
from bnnlab.learn.local.local_binary import fused_available

pytestmark = pytest.mark.skipif(
    not fused_available(LocalBinaryLearner(LocalBinaryConfig(8, 2, (3,)), seed=0).engine),
    reason="the compiled step needs numba",
)


def _data(seed, n, d, c):
    rng = np.random.default_rng(seed)
    x = np.where(rng.random((n, d)) < 0.5, 1, -1).astype(np.int8)
    teacher = np.where(rng.random((d, c)) < 0.5, 1, -1)
    return x, np.argmax(x.astype(np.int32) @ teacher, axis=1).astype(np.int64)


def test_max_abs_against_numpy(rng):
    for dtype in (np.int16, np.int32):
        info = np.iinfo(dtype)
        for shape in ((7, 130), (1, 1), (3, 64), (5, 0), (0, 4)):
            w = rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)
            want = int(np.abs(w.astype(np.int64)).max(initial=0))
            assert _fused.max_abs(w) == want, (dtype, shape)
        w = np.zeros((4, 70), dtype=dtype)
        w[2, 33] = info.min  # |min| = max + 1: not representable in the type itself
        assert _fused.max_abs(w) == -int(info.min)
        assert _fused.max_abs(np.asfortranarray(w).T) == -int(info.min)  # strided rows


def test_headroom_keeps_a_sufficient_bound_and_tightens_a_short_one():
    w = np.zeros((3, 40), dtype=np.int16)
    w[1, 7] = -1000
    bound = np.array([5000], dtype=np.int64)  # loose but enough: 5000 + 2 (100 + 1) <= 32767
    assert _fused.headroom(w, bound, 2, 100) and bound[0] == 5000
    bound[0] = 32700  # short: recomputed exactly, then enough
    assert _fused.headroom(w, bound, 2, 100) and bound[0] == 1000
    w[1, 7] = -32767 + 202  # exactly room for 2 (100 + 1)
    bound[0] = 40000
    assert _fused.headroom(w, bound, 2, 100) and bound[0] == 32767 - 202
    w[1, 7] -= 1  # one short (the bound follows W, as train_layer keeps it)
    bound[0] = 32767 - 201
    assert not _fused.headroom(w, bound, 2, 100) and bound[0] == 32767 - 201
    assert _fused.headroom(w.astype(np.int32), bound, 2, 100)  # int32 has room


@pytest.mark.parametrize("sign_zero", ["zero", "plus"])
def test_fused_learner_holds_int16_and_saves_int32(tmp_path, sign_zero):
    cfg = LocalBinaryConfig(70, 4, (15, 9), groups=(5, 3), batch_size=16, sign_zero=sign_zero)
    x, y = _data(1, 96, 70, 4)
    model = LocalBinaryLearner(cfg, seed=3)
    model.fit(x, y, epochs=2)
    assert [w.dtype for w in model.hidden] == [np.int16, np.int16]
    assert all(w.flags.f_contiguous for w in model.hidden)
    arrays, _ = model.state_dict()
    assert all(arrays[f"hidden_{i}"].dtype == np.int32 for i in range(2))
    path = save_checkpoint(tmp_path / "m.npz", model)
    with np.load(path, allow_pickle=False) as f:
        assert f["hidden_0"].dtype == np.int32 and f["hidden_1"].dtype == np.int32
    back, _ = load_checkpoint(path)
    assert [w.dtype for w in back.hidden] == [np.int16, np.int16]
    for a, b in zip(back.hidden, model.hidden, strict=True):
        assert np.array_equal(a, b)
    ref = LocalBinaryReference(cfg, seed=3)  # an int32 learner loads the same state
    ref.load_state_dict(*model.state_dict())
    assert all(w.dtype == np.int32 for w in ref.hidden)
    assert np.array_equal(ref.predict(x), model.predict(x))
    # the learner on devices reads its states back from the devices: int32
    dev = LocalBinaryOnDevices(cfg, device="idealized", seed=3)
    assert all(w.dtype == np.int32 for w in dev.hidden)


@pytest.mark.parametrize("train_head", [False, True])  # whole epochs / batch by batch
@pytest.mark.parametrize("sign_zero", ["zero", "plus"])
def test_widened_to_int32_before_int16_overflows(train_head, sign_zero):
    # step 1000 and batch 20 need 1000 (20 + 1) of room per step: the initial weights (std
    # 2500, max |W| about 8200) fit int16 with it, the updates and the reinforcement (p_r 1)
    # push max |W| past 32767 - 21000 in the first epoch and past 32767 by the fifth, so the
    # step has to widen W to int32 on the way
    cfg = LocalBinaryConfig(
        64, 3, (12, 10), groups=(4, 5), batch_size=20, step=1000, init_std=2500.0, p_r=1.0,
        rob=0.5, train_head=train_head, sign_zero=sign_zero,
    )  # fmt: skip
    x, y = _data(2, 120, 64, 3)
    model, ref = LocalBinaryLearner(cfg, seed=5), LocalBinaryReference(cfg, seed=5)
    assert [w.dtype for w in model.hidden] == [np.int16, np.int16]
    for _ in range(6):
        model.fit(x, y, epochs=1)
        ref.fit(x, y, epochs=1)
        for a, b in zip(model.hidden, ref.hidden, strict=True):
            assert np.array_equal(a, b)
        # the bound is an upper bound of max |W|
        assert all(
            int(b) >= _fused.max_abs(w) for b, w in zip(model._wbound, model.hidden, strict=True)
        )
    assert all(w.dtype == np.int32 for w in model.hidden)  # widened, every layer together
    assert max(_fused.max_abs(w) for w in ref.hidden) > 32767  # and int16 would have wrapped
    assert np.array_equal(model.predict(x), ref.predict(x))


def test_no_room_in_int32_is_an_error():
    cfg = LocalBinaryConfig(20, 2, (5,), batch_size=10)
    x, y = _data(3, 30, 20, 2)
    model = LocalBinaryLearner(cfg, seed=0)
    arrays, meta = model.state_dict()
    arrays["hidden_0"][3, 2] = 2**31 - 5  # no room for a step of 2 (10 + 1) in int32
    model.load_state_dict(arrays, meta)
    assert model.hidden[0].dtype == np.int32
    with pytest.raises(OverflowError, match=r"layer 0: the hidden weights .* int32 range"):
        model.fit(x, y, epochs=1)


def test_the_bound_covers_a_weight_moved_by_every_sample_and_reinforced():
    # W = (100, -1, -1, -1) for one unit and 20 identical rows of +1s: h = -2, so with a class
    # whose head target is +1 all 20 samples are wrong and select the unit with one sign; the
    # first weight (max |W|) moves by step 20, and where the reinforcement hits it by step more
    # -- the bound's whole step (rows + 1)
    cfg = LocalBinaryConfig(4, 2, (1,), groups=(1,), batch_size=20, p_r=1.0, rob=0.0,
                            sign_zero="plus")  # fmt: skip
    x = np.ones((20, 4), dtype=np.int8)
    full = 0
    for seed in range(16):
        model = LocalBinaryLearner(cfg, seed=seed)
        b = model.heads[0][0]
        if b.max() < 1:
            continue
        # a class with target +1 that the unit's a = -1 does not predict (ties: lowest class)
        wrong = [c for c in range(2) if b[c] == 1 and c != int(np.argmax(-b))]
        arrays, meta = model.state_dict()
        arrays["hidden_0"] = np.array([[100], [-1], [-1], [-1]], dtype=np.int32)
        model.load_state_dict(arrays, meta)
        model.fit(x, np.full(20, wrong[0], dtype=np.int64), epochs=1)
        bound, actual = int(model._wbound[0]), _fused.max_abs(model.hidden[0])
        assert bound == 100 + 2 * 21 and actual in (140, 142), seed
        full += actual == bound
    assert full >= 1


def test_a_state_set_from_outside_is_held_again():
    # an int32 array with a value beyond int16 set into one layer: every layer is widened, and
    # training goes on as the int32 reference's from the same state
    cfg = LocalBinaryConfig(70, 4, (15, 9), groups=(5, 3), batch_size=16)
    x, y = _data(4, 64, 70, 4)
    model, ref = LocalBinaryLearner(cfg, seed=1), LocalBinaryReference(cfg, seed=1)
    w = np.array(model.hidden[1], dtype=np.int32)  # C order, int32
    w[2, 3] = 40000
    model.hidden[1] = w
    model.refresh_layer(1)
    assert all(v.dtype == np.int32 and v.flags.f_contiguous for v in model.hidden)
    assert model._wbound[1] == 40000
    ref.load_state_dict(*model.state_dict())
    model.fit(x, y, epochs=2)
    ref.fit(x, y, epochs=2)
    for a, b in zip(model.hidden, ref.hidden, strict=True):
        assert np.array_equal(a, b)
    with pytest.raises(ValueError, match="layer: expected an integer <= 1"):
        model.refresh_layer(2)
