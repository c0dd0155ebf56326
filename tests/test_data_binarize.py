"""Binarisations: exact results on hand examples, shapes, dtypes and argument errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bnnlab.data import global_median, per_image_median, thermometer


def test_global_median_hand_example():
    x = np.array([[0, 1, 2], [3, 4, 5]], dtype=np.uint8)  # median 2.5
    codes, m = global_median(x)
    assert m == 2.5
    assert codes.dtype == np.int8
    assert codes.tolist() == [[-1, -1, -1], [1, 1, 1]]


def test_global_median_tie_goes_to_minus_one_and_reuses_training_median():
    x_train = np.array([[0, 0, 0], [0, 7, 9]], dtype=np.uint8)  # median 0
    codes, m = global_median(x_train)
    assert m == 0.0
    assert codes.tolist() == [[-1, -1, -1], [-1, 1, 1]]
    x_test = np.array([[0, 1, 255]], dtype=np.uint8)  # its own median would be 1
    test_codes, m_used = global_median(x_test, median=m)
    assert m_used == 0.0
    assert test_codes.tolist() == [[-1, 1, 1]]


def test_global_median_flattens_images():
    x = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    codes, m = global_median(x)
    assert codes.shape == (2, 12)
    assert m == 11.5
    assert (codes.ravel() == np.where(np.arange(24) > 11.5, 1, -1)).all()


def test_per_image_median_hand_example():
    x = np.array([[1, 5, 3], [9, 9, 9], [4, 0, 2]], dtype=np.float32)
    assert per_image_median(x).tolist() == [[-1, 1, -1], [-1, -1, -1], [1, -1, -1]]


def test_per_image_median_even_count():
    x = np.array([[[1, 2], [3, 10]]], dtype=np.uint8)  # median 2.5
    out = per_image_median(x)
    assert out.dtype == np.int8
    assert out.tolist() == [[-1, -1, 1, 1]]


def test_thermometer_hand_example():
    # thresholds 63.75, 127.5, 191.25
    x = np.array([[0, 64, 127, 128, 255]], dtype=np.uint8)
    out = thermometer(x, 3)
    assert out.dtype == np.int8
    assert out.shape == (1, 15)
    assert out.reshape(5, 3).tolist() == [
        [-1, -1, -1],
        [1, -1, -1],
        [1, -1, -1],
        [1, 1, -1],
        [1, 1, 1],
    ]


def test_thermometer_custom_range_and_out_of_range_values():
    x = np.array([[-5.0, 0.5, 1.0, 1.5, 9.0]])  # low=0, high=2, n=1: threshold 1
    assert thermometer(x, 1, low=0, high=2).tolist() == [[-1, -1, -1, 1, 1]]


def test_thermometer_counts_levels():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, size=(7, 5, 5), dtype=np.uint8)
    n = 7
    out = thermometer(x, n)
    ones = (out.reshape(7, 25, n) == 1).sum(axis=2)
    # number of thresholds strictly below x: #{k : 255 k / (n+1) < x}, counted one by one
    expected = np.array(
        [
            [sum(int(v) > 255 * k / (n + 1) for k in range(1, n + 1)) for v in r]
            for r in x.reshape(7, 25)
        ]
    )
    assert (ones == expected).all()
    # the bits of one feature are monotone: +1s first
    bits = out.reshape(7, 25, n)
    assert (np.diff(bits, axis=2) <= 0).all()


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: global_median(np.zeros(4)), ValueError, "^x: "),
        (lambda: global_median(np.array([[np.nan, 1.0]])), ValueError, "^x: contains NaN"),
        (lambda: global_median(np.zeros((2, 2)), median=float("inf")), ValueError, "^median: "),
        (lambda: per_image_median(np.array([["a", "b"]])), TypeError, "^x: "),
        (lambda: thermometer(np.zeros((2, 2)), 0), ValueError, "^n_bits: "),
        (lambda: thermometer(np.zeros((2, 2)), 2, low=3, high=3), ValueError, "^high: "),
        (lambda: thermometer(np.zeros((2, 2)), 2.0), TypeError, "^n_bits: "),
    ],
)
def test_bad_arguments(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


@given(
    hnp.arrays(
        np.uint8,
        st.tuples(st.integers(1, 5), st.integers(1, 7)),
        elements=st.integers(0, 255),
    )
)
def test_medians_match_a_sorted_list_reference(x):
    def median(values):
        s = sorted(float(v) for v in values)
        n = len(s)
        return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2

    m = median(x.ravel())
    codes, got = global_median(x)
    assert got == m
    assert codes.tolist() == [[1 if v > m else -1 for v in row] for row in x.tolist()]
    per = per_image_median(x)
    assert per.tolist() == [[1 if v > median(row) else -1 for v in row] for row in x.tolist()]
