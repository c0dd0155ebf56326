"""GraphConv: the normalised adjacency by hand, gradients against finite differences, the factors
QP-SBGD reads, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from bnnlab import nn, optim
from bnnlab.nn.gradcheck import check_layer


def path_graph(n):
    a = np.zeros((n, n))
    for i in range(n - 1):
        a[i, i + 1] = a[i + 1, i] = 1
    return a


def test_normalized_adjacency_of_a_path_by_hand():
    a_hat = nn.normalized_adjacency(path_graph(3))
    # degrees with self-loops: 2, 3, 2
    expected = np.array(
        [
            [1 / 2, 1 / np.sqrt(6), 0],
            [1 / np.sqrt(6), 1 / 3, 1 / np.sqrt(6)],
            [0, 1 / np.sqrt(6), 1 / 2],
        ]
    )
    np.testing.assert_allclose(a_hat, expected, rtol=1e-12)


@pytest.mark.parametrize("scale", [False, True])
def test_gradients_match_finite_differences(scale):
    """Real weights (a binarizer's pseudo-gradient is not a derivative): W, b, alpha and x."""
    layer = nn.GraphConv(3, 2, path_graph(4), seed=0, dtype=np.float64, scale=scale)
    x = np.random.default_rng(1).normal(size=(4, 3))
    for name, (analytic, numeric) in check_layer(layer, x, seed=2).items():
        np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-7, err_msg=name)


def test_forward_and_factors_by_hand():
    a = path_graph(3)
    layer = nn.GraphConv(
        2, 1, a, bias=False, weight_binarizer="ste_sign", act_binarizer="ste_sign", seed=0
    )
    x = np.array([[0.5, -2.0], [-1.0, 3.0], [2.0, 2.0]], dtype=np.float32)
    out = layer.forward(x, True)
    a_hat = nn.normalized_adjacency(a)
    expected = a_hat @ np.sign(x) @ np.sign(layer.weight).T
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    g = np.ones((3, 1), dtype=np.float32)
    layer.backward(g)
    agg, gg = layer._params["weight"].factors
    np.testing.assert_allclose(agg, a_hat @ np.sign(x), rtol=1e-6)
    np.testing.assert_allclose(gg, g)
    # QP-SBGD trains it (real aggregated inputs, lsq)
    opt = optim.QPSBGD(optim.param_groups(layer, 0.0), solver="exact", seed=0)
    opt.step()
    assert opt.records[-1]["n"] == 2


@pytest.mark.parametrize(
    ("adjacency", "match"),
    [
        (np.ones((2, 3)), "square"),
        (np.array([[0, 1], [0, 0]]), "symmetric"),
        (np.array([[0, -1], [-1, 0]]), "non-negative"),
        (np.array([[0, np.nan], [np.nan, 0]]), "non-negative"),
    ],
)
def test_bad_adjacency(adjacency, match):
    with pytest.raises(ValueError, match=match):
        nn.GraphConv(2, 2, adjacency, seed=0)


def test_input_must_cover_every_node():
    layer = nn.GraphConv(2, 2, path_graph(3), seed=0)
    with pytest.raises(ValueError, match=r"x: expected shape \(3, 2\)"):
        layer.forward(np.zeros((2, 2), dtype=np.float32), False)
