"""bnnlab.signs: the two zero rules, result dtypes, agreement of sign/signed, and refused inputs."""

from __future__ import annotations

import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given

from bnnlab.signs import ZERO_RULES, sign, signed

INT_DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint32]
FLOAT_DTYPES = [np.float16, np.float32, np.float64]
OUT_DTYPES = [np.int8, np.int16, np.int32, np.int64, np.float32, np.float64]


def test_rules_are_the_documented_two():
    assert ZERO_RULES == ("plus", "zero")


def test_both_rules_on_floats_including_signed_zero_and_infinities():
    x = np.array([-np.inf, -3.5, -1e-300, -0.0, 0.0, 1e-300, 2.0, np.inf])
    assert sign(x, zero="plus").tolist() == [-1, -1, -1, 1, 1, 1, 1, 1]
    assert sign(x, zero="zero").tolist() == [-1, -1, -1, 0, 0, 1, 1, 1]


@pytest.mark.parametrize("in_dtype", INT_DTYPES + FLOAT_DTYPES)
def test_both_rules_on_every_real_input_dtype(in_dtype):
    signed_kind = np.dtype(in_dtype).kind != "u"
    x = np.array([-5, -1, 0, 0, 1, 7] if signed_kind else [0, 1, 7, 0], dtype=in_dtype)
    plus = sign(x, zero="plus")
    zero = sign(x, zero="zero")
    assert plus.dtype == np.int8 and zero.dtype == np.int8
    ref = np.array([-1 if v < 0 else 0 if v == 0 else 1 for v in x.tolist()])  # independent
    np.testing.assert_array_equal(zero, ref)
    np.testing.assert_array_equal(plus, np.where(ref == 0, 1, ref))


@pytest.mark.parametrize("out_dtype", OUT_DTYPES)
@pytest.mark.parametrize("zero", ZERO_RULES)
def test_result_dtype_is_the_one_asked_for(out_dtype, zero):
    x = np.array([[-2.0, 0.0], [0.5, -0.0]], dtype=np.float32)
    out = sign(x, zero=zero, dtype=out_dtype)
    assert out.dtype == out_dtype and out.shape == x.shape and isinstance(out, np.ndarray)
    want = [[-1, 1], [1, 1]] if zero == "plus" else [[-1, 0], [1, 0]]
    assert out.tolist() == want


def test_scalars_and_extreme_integers():
    assert sign(0, zero="plus").tolist() == 1 and sign(0, zero="zero").tolist() == 0
    assert sign(-0.0, zero="zero").shape == ()
    big = np.array([np.iinfo(np.int64).min, np.iinfo(np.int64).max], dtype=np.int64)
    assert sign(big, zero="zero").tolist() == [-1, 1]  # no overflow on the way to int8
    assert sign(np.array([-128], np.int8), zero="plus").tolist() == [-1]


@given(
    hnp.arrays(
        st.sampled_from([np.int8, np.int32, np.int64]),
        hnp.array_shapes(min_dims=1, max_dims=3, max_side=6),
    )
)
def test_zero_rule_times_magnitude_is_the_integer(x):
    # sign(x) |x| == x exactly, for the zero rule only (the plus rule gives +1 at 0: 1 * 0 == 0 too,
    # so the plus rule is pinned by its value set and its agreement away from zero)
    x64 = x.astype(np.int64)
    z = sign(x, zero="zero").astype(np.int64)
    p = sign(x, zero="plus").astype(np.int64)
    np.testing.assert_array_equal(z * np.abs(x64), x64)
    np.testing.assert_array_equal(z, np.sign(x64))  # numpy's sign of an integer array
    assert set(np.unique(p).tolist()) <= {-1, 1}
    np.testing.assert_array_equal(p[x64 != 0], z[x64 != 0])
    assert (p[x64 == 0] == 1).all()


@given(
    hnp.arrays(
        st.sampled_from(FLOAT_DTYPES),
        hnp.array_shapes(min_dims=1, max_dims=2, max_side=8),
        elements={"allow_nan": False},
    ),
    st.sampled_from(ZERO_RULES),
    st.sampled_from(OUT_DTYPES),
)
def test_signed_equals_sign_on_valid_input(x, zero, dtype):
    # the unvalidated hot-path twin computes the same values and dtype
    a = sign(x, zero=zero, dtype=dtype)
    b = signed(x, zero, dtype)
    assert a.dtype == b.dtype == dtype
    np.testing.assert_array_equal(a, b)
    mag = np.abs(x.astype(np.float64))
    if zero == "zero":
        np.testing.assert_array_equal(a.astype(np.float64) * mag, x.astype(np.float64))


def test_refuses_nan_booleans_and_non_real_values():
    with pytest.raises(ValueError, match=r"^x: NaN has no sign"):
        sign(np.array([1.0, np.nan]), zero="plus")
    with pytest.raises(ValueError, match=r"^x: NaN"):
        sign(np.array([np.nan], np.float16), zero="zero")
    with pytest.raises(TypeError, match=r"^x: expected real values, got booleans"):
        sign(np.array([True, False]), zero="plus")
    with pytest.raises(TypeError, match=r"^x: expected real"):
        sign(np.array([1 + 1j]), zero="zero")
    with pytest.raises(TypeError, match=r"^x: expected real"):
        sign(np.array(["a"]), zero="zero")
    with pytest.raises(TypeError, match=r"^x: expected a numeric array, got dtype object"):
        sign(np.array([1, None], dtype=object), zero="plus")
    with pytest.raises(TypeError, match=r"^x: expected an array, got None"):
        sign(None, zero="plus")
    with pytest.raises(ValueError, match=r"^x: empty array"):
        sign(np.array([]), zero="plus")


def test_refuses_unknown_rule_and_unrepresentable_dtypes():
    with pytest.raises(ValueError, match=r"^zero: expected one of 'plus', 'zero', got 'minus'"):
        sign(np.ones(3), zero="minus")
    with pytest.raises(ValueError, match=r"^zero: .* got 0"):
        sign(np.ones(3), zero=0)
    with pytest.raises(TypeError, match="zero"):
        sign(np.ones(3))  # no default rule: every caller states its own
    with pytest.raises(TypeError, match=r"^dtype: expected a signed integer or float"):
        sign(np.ones(3), zero="plus", dtype=np.uint8)  # -1 would wrap to 255
    with pytest.raises(TypeError, match=r"^dtype: expected a signed integer or float"):
        sign(np.ones(3), zero="plus", dtype=bool)
    with pytest.raises(TypeError, match=r"^dtype: expected a numpy dtype"):
        sign(np.ones(3), zero="plus", dtype="no-such-dtype")


@pytest.mark.gpu
@pytest.mark.parametrize("zero", ZERO_RULES)
def test_cupy_matches_numpy(zero):
    import cupy

    x = np.array([[-2.0, -0.0, 0.0, 3.0], [1.0, -1.0, 0.0, 5.0]])
    got = sign(cupy.asarray(x), zero=zero, dtype=np.float32)
    assert isinstance(got, cupy.ndarray) and got.dtype == np.float32
    np.testing.assert_array_equal(cupy.asnumpy(got), sign(x, zero=zero, dtype=np.float32))
    with pytest.raises(ValueError, match=r"^x: NaN"):
        sign(cupy.asarray([np.nan]), zero=zero)
