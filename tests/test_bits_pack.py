"""pack/unpack: documented bit layout, exact round trips, value codes, axes, bad input."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bnnlab.bits import available_backends, n_words, pack, unpack

HOST = [b for b in available_backends() if b != "cupy"]
KS = [1, 63, 64, 65, 127, 128, 1000]


def reference_pack(bits: np.ndarray) -> np.ndarray:
    """Brute force: bit t of the row -> word t // 64, bit t % 64, with Python ints."""
    rows = bits.reshape(-1, bits.shape[-1])
    w = -(-bits.shape[-1] // 64)
    out = np.zeros((rows.shape[0], w), dtype=np.uint64)
    for r, row in enumerate(rows):
        for t, v in enumerate(row):
            if v:
                out[r, t // 64] = int(out[r, t // 64]) | (1 << (t % 64))
    return out.reshape(*bits.shape[:-1], w)


@pytest.mark.parametrize("backend", HOST)
@pytest.mark.parametrize("k", KS)
def test_layout_matches_brute_force(backend, k, rng):
    x = rng.choice(np.array([-1, 1], dtype=np.int8), size=(3, k))
    words = pack(x, backend=backend)
    assert words.dtype == np.uint64 and words.shape == (3, n_words(k))
    assert np.array_equal(words, reference_pack(x > 0))
    assert np.array_equal(unpack(words, k, backend=backend), x)


def test_single_bits_land_where_documented():
    for t in (0, 1, 63, 64, 65, 129):
        x = np.full(130, -1)
        x[t] = 1
        w = pack(x)
        expect = np.zeros(3, dtype=np.uint64)
        expect[t // 64] = np.uint64(1) << np.uint64(t % 64)
        assert np.array_equal(w, expect)


@pytest.mark.parametrize("backend", HOST)
def test_codes_and_dtypes_agree(backend, rng):
    bits = rng.random((4, 70)) < 0.5
    ref = pack(bits, backend=backend)
    for x in (
        np.where(bits, 1, -1).astype(np.int8),
        np.where(bits, 1.0, -1.0).astype(np.float32),
        bits.astype(np.int64),
        bits.astype(np.float64),
        bits.astype(np.uint8),
    ):
        assert np.array_equal(pack(x, backend=backend), ref)
    assert np.array_equal(unpack(ref, 70, code="bool", backend=backend), bits)
    assert np.array_equal(unpack(ref, 70, code="01", dtype=np.uint8), bits.astype(np.uint8))
    f = unpack(ref, 70, code="pm1", dtype=np.float32)
    assert f.dtype == np.float32 and np.array_equal(f, np.where(bits, 1.0, -1.0))


def test_all_ones_is_both_codes():
    x = np.ones((2, 65), dtype=np.int16)
    assert np.array_equal(pack(x, code="pm1"), pack(x, code="01"))
    assert int(pack(x)[0, 1]) == 1  # bit 64 only: padding stays zero


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2, -3])
def test_any_axis_round_trip(axis, rng):
    x = rng.choice([-1, 1], size=(5, 66, 3))
    w = pack(x, axis=axis)
    k = x.shape[axis]
    expect = list(x.shape)
    expect[axis] = n_words(k)
    assert w.shape == tuple(expect)
    assert np.array_equal(unpack(w, k, axis=axis), x)
    moved = np.moveaxis(x, axis, -1)
    assert np.array_equal(np.moveaxis(w, axis, -1), pack(moved))


def test_non_contiguous_input(rng):
    x = rng.choice([-1, 1], size=(40, 200))
    view = x[::3, ::2]
    assert not view.flags.c_contiguous
    assert np.array_equal(unpack(pack(view), view.shape[1]), view)
    w = pack(x)
    wview = w[::2]
    assert np.array_equal(unpack(wview, 200), x[::2])


@given(
    hnp.arrays(
        np.bool_,
        st.tuples(st.integers(1, 5), st.integers(1, 200)),
    )
)
def test_round_trip_property(bits):
    w = pack(bits)
    k = bits.shape[1]
    assert np.array_equal(w, reference_pack(bits))
    assert np.array_equal(unpack(w, k, code="bool"), bits)
    assert np.array_equal(pack(unpack(w, k)), w)


@pytest.mark.parametrize("backend", HOST)
@given(
    hnp.arrays(
        np.int8,
        st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(1, 140)),
        elements=st.sampled_from([-1, 1, -1, 1, -1, 1, 0, 2, -128]),
    )
)
def test_int8_rows_checked_and_packed_in_one_pass(backend, x):
    # the compiled one-pass path for int8 rows (numba) and the general one (numpy) alike: packed
    # exactly when every entry is ±1, refused otherwise, wherever the odd entry sits (a full
    # 64-entry word or the row's tail); is_pm1 and all_pm1 (validate_xy's check) say the same
    from bnnlab.bits import _numba
    from bnnlab.bits.pack import all_pm1

    valid = bool(((x == 1) | (x == -1)).all())
    assert all_pm1(x) == valid and _numba.is_pm1(x.reshape(-1, x.shape[-1])) == valid
    if valid:
        assert np.array_equal(pack(x, code="pm1", backend=backend), reference_pack(x > 0))
        assert np.array_equal(pack(x, backend=backend), reference_pack(x > 0))
    else:
        with pytest.raises(ValueError, match=r"^x: expected values in \{-1, \+1\}"):
            pack(x, code="pm1", backend=backend)
    zo = (x > 0).astype(np.int8)  # 0/1 int8: "auto" leaves the ±1 pass for the 01 code
    if not ((zo == 1) | (zo == -1)).all():
        assert np.array_equal(pack(zo, backend=backend), reference_pack(zo > 0))


@pytest.mark.parametrize("col", [0, 63, 64, 127, 128, 191, 192, 199])
@pytest.mark.parametrize("bad", [0, 2, -128, 127])
def test_one_odd_int8_entry_is_refused(col, bad, rng):
    from bnnlab.bits import _numba
    from bnnlab.learn.local.rules import validate_xy

    x = rng.choice(np.array([-1, 1], dtype=np.int8), size=(3, 200))
    assert _numba.is_pm1(x)
    x[1, col] = bad
    assert not _numba.is_pm1(x)
    for backend in HOST:
        with pytest.raises(ValueError, match=r"^x: expected values in \{-1, \+1\}"):
            pack(x, code="pm1", backend=backend)
    with pytest.raises(ValueError, match=r"^x_test: expected binary inputs"):
        validate_xy(x, None, 200, 10, xname="x_test")


def test_bad_input():
    with pytest.raises(ValueError, match=r"^x: contains NaN"):
        pack(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match=r"^x: expected values in \{-1, \+1\} or in \{0, 1\}"):
        pack(np.array([1, 2]))
    with pytest.raises(ValueError, match=r"^x: expected values"):
        pack(np.array([-1, 0, 1]))  # mixes the two codes
    with pytest.raises(ValueError, match=r"^x: expected values in \{-1, \+1\}"):
        pack(np.array([0, 1]), code="pm1")
    with pytest.raises(ValueError, match=r"^x: expected values in \{0, 1\}"):
        pack(np.array([-1, 1]), code="01")
    with pytest.raises(TypeError, match=r"^x: expected a bool, integer or float"):
        pack(np.array([1 + 0j]))
    with pytest.raises(ValueError, match=r"^x: "):
        pack(np.float64(1.0))
    with pytest.raises(ValueError, match=r"^axis: "):
        pack(np.ones((2, 3)), axis=2)
    with pytest.raises(ValueError, match=r"^code: "):
        pack(np.ones(3), code="sign")
    w = pack(np.ones((2, 70)))
    with pytest.raises(TypeError, match=r"^words: expected a packed array of dtype uint64"):
        unpack(w.astype(np.int64), 70)
    with pytest.raises(ValueError, match=r"^k: 129 bits need 3 words"):
        unpack(w, 129)
    with pytest.raises(ValueError, match=r"^k: 64 bits need 1 words"):
        unpack(w, 64)
    with pytest.raises(ValueError, match=r"^k: expected an integer >= 1"):
        unpack(w, 0)
    with pytest.raises(ValueError, match=r"^words: padding bits beyond k=65 are set"):
        unpack(w, 65)
    with pytest.raises(TypeError, match=r"^dtype: code='pm1' needs a signed"):
        unpack(w, 70, dtype=np.uint8)
