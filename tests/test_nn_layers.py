"""Layers: every backward against float64 finite differences; conv against a direct loop."""

from __future__ import annotations

import numpy as np
import pytest

from bnnlab import nn
from bnnlab.nn.binarizers import Binarizer
from bnnlab.nn.gradcheck import check_layer, numerical_gradient

F64 = np.float64


class Smooth(Binarizer):
    """A differentiable stand-in binarizer (tanh) to check the layers' binarizer plumbing by FD."""

    role = "both"

    def forward(self, x):
        return np.tanh(x), x

    def backward(self, grad, cache):
        return grad * (1 - np.tanh(cache) ** 2)


def assert_grads(result, rtol=1e-6, atol=1e-8):
    for name, (analytic, numeric) in result.items():
        np.testing.assert_allclose(analytic, numeric, rtol=rtol, atol=atol, err_msg=name)


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("scale", [False, True])
@pytest.mark.parametrize("binarize", [False, True])
def test_dense_backward_matches_finite_differences(rng, bias, scale, binarize):
    b = Smooth() if binarize else None
    layer = nn.Dense(
        5, 4, bias=bias, scale=scale, weight_binarizer=b, act_binarizer=b, seed=1, dtype=F64
    )
    if bias:
        layer._params["bias"].data[:] = rng.standard_normal(4)
    assert_grads(check_layer(layer, rng.standard_normal((3, 5)), seed=2))


@pytest.mark.parametrize(
    ("k", "stride", "padding", "hw"),
    [(3, 1, 1, (5, 6)), (3, 2, 1, (7, 6)), (2, 1, 0, (4, 5)), (3, 2, 0, (7, 7)), (1, 1, 0, (3, 2))],
)
def test_conv_backward_matches_finite_differences(rng, k, stride, padding, hw):
    layer = nn.Conv2d(
        3, 4, k, stride=stride, padding=padding, bias=True, scale=True, seed=3, dtype=F64
    )
    layer._params["bias"].data[:] = rng.standard_normal(4)
    assert_grads(check_layer(layer, rng.standard_normal((2, 3, *hw)), seed=4))


def test_conv_with_binarizers_backward_plumbing(rng):
    layer = nn.Conv2d(
        2,
        3,
        3,
        stride=2,
        padding=1,
        bias=False,
        weight_binarizer=Smooth(),
        act_binarizer=Smooth(),
        scale=True,
        seed=5,
        dtype=F64,
    )
    assert_grads(check_layer(layer, rng.standard_normal((2, 2, 5, 5)), seed=6))


def direct_conv(x, w, stride, padding):
    n, _, h, wd = x.shape
    o, _, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho = (h + 2 * padding - k) // stride + 1
    wo = (wd + 2 * padding - k) // stride + 1
    out = np.zeros((n, o, ho, wo))
    for i in range(ho):
        for j in range(wo):
            patch = xp[:, :, i * stride : i * stride + k, j * stride : j * stride + k]
            out[:, :, i, j] = np.einsum("nckl,ockl->no", patch, w)
    return out


@pytest.mark.parametrize(("k", "stride", "padding"), [(3, 1, 1), (3, 2, 1), (5, 2, 2), (2, 2, 0)])
def test_conv_forward_equals_direct_convolution(rng, k, stride, padding):
    layer = nn.Conv2d(3, 5, k, stride=stride, padding=padding, bias=False, seed=7, dtype=F64)
    x = rng.standard_normal((2, 3, 9, 8))
    np.testing.assert_allclose(
        layer.forward(x, False),
        direct_conv(x, layer.weight, stride, padding),
        rtol=1e-12,
        atol=1e-12,
    )


def test_conv_binarized_forward_uses_sign_of_weights_and_inputs(rng):
    layer = nn.Conv2d(
        2,
        3,
        3,
        padding=1,
        bias=False,
        weight_binarizer="ste_sign",
        act_binarizer="ste_sign",
        seed=8,
        dtype=F64,
    )
    x = rng.standard_normal((2, 2, 5, 5))
    sx = np.where(x >= 0, 1.0, -1.0)
    sw = np.where(layer.weight >= 0, 1.0, -1.0)
    np.testing.assert_array_equal(layer.forward(x, False), direct_conv(sx, sw, 1, 1))
    np.testing.assert_array_equal(layer.binary_weight(), sw)


@pytest.mark.parametrize("cls", [nn.BatchNorm1d, nn.BatchNorm2d])
def test_batchnorm_train_backward_matches_finite_differences(rng, cls):
    layer = cls(3, dtype=F64)
    layer._params["gamma"].data[:] = rng.uniform(0.5, 2, 3)
    layer._params["beta"].data[:] = rng.standard_normal(3)
    shape = (6, 3) if cls is nn.BatchNorm1d else (4, 3, 2, 3)
    assert_grads(check_layer(layer, rng.standard_normal(shape) * 2 + 1, seed=9), rtol=1e-5)


def test_batchnorm_running_statistics_and_eval_mode(rng):
    layer = nn.BatchNorm2d(2, momentum=0.25, dtype=F64)
    x = rng.standard_normal((5, 2, 3, 3)) * 3 + 2
    y = layer.forward(x, True)
    mean = x.mean(axis=(0, 2, 3))
    var = x.var(axis=(0, 2, 3))
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(layer.running_mean, 0.25 * mean)
    np.testing.assert_allclose(layer.running_var, 0.75 + 0.25 * var * 45 / 44)
    ev = layer.forward(x, False)
    expected = (x - layer.running_mean[None, :, None, None]) / np.sqrt(
        layer.running_var[None, :, None, None] + 1e-5
    )
    np.testing.assert_allclose(ev, expected)
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(ev)


@pytest.mark.parametrize(("k", "stride"), [(2, None), (3, 2), (2, 1)])
def test_maxpool_backward_matches_finite_differences(rng, k, stride):
    layer = nn.MaxPool2d(k, stride)
    assert_grads(check_layer(layer, rng.standard_normal((2, 2, 6, 5)), seed=10))


def test_maxpool_forward_and_first_max_tie_rule():
    x = np.array([[[[1.0, 3.0, 2.0, 2.0], [0.0, 3.0, 2.0, 2.0]]]])
    layer = nn.MaxPool2d(2)
    np.testing.assert_array_equal(layer.forward(x, True), [[[[3.0, 2.0]]]])
    dx = layer.backward(np.array([[[[1.0, 5.0]]]]))
    np.testing.assert_array_equal(dx, [[[[0.0, 1.0, 5.0, 0.0], [0.0, 0.0, 0.0, 0.0]]]])


def test_cross_entropy_value_and_gradient(rng):
    logits = rng.standard_normal((5, 4)) * 3
    labels = np.array([0, 3, 1, 1, 2])
    loss, grad = nn.softmax_cross_entropy(logits, labels)
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert float(loss) == pytest.approx(-np.mean(np.log(p[np.arange(5), labels])), rel=1e-12)
    num = numerical_gradient(lambda: float(nn.softmax_cross_entropy(logits, labels)[0]), logits)
    np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-9)
    big = np.array([[1000.0, 0.0], [0.0, -1000.0]])
    assert np.isfinite(float(nn.softmax_cross_entropy(big, np.array([1, 1]))[0]))


def test_cross_entropy_validation():
    with pytest.raises(ValueError, match="labels"):
        nn.softmax_cross_entropy(np.zeros((3, 2)), np.zeros(2, dtype=int))
    with pytest.raises(TypeError, match="labels"):
        nn.softmax_cross_entropy(np.zeros((3, 2)), np.zeros(3))


@pytest.mark.parametrize(
    ("logits", "labels", "exc", "pattern"),
    [
        # out-of-range labels used to index past the logits (IndexError) or wrap around silently
        (np.zeros((3, 4)), [0, 4, 1], ValueError, r"^labels: label 4 is outside \[0, 4\)"),
        (np.zeros((3, 4)), [0, 1, 99], ValueError, r"^labels: label 99 is outside \[0, 4\)"),
        (np.zeros((3, 4)), [0, -1, 2], ValueError, r"^labels: label -1 is outside \[0, 4\)"),
        (np.zeros((3, 4)), [-4, 0, 0], ValueError, r"^labels: label -4 is outside"),
        (np.array([[0.0, np.nan]]), [0], ValueError, r"^logits: contains NaN or inf"),
        (np.array([[np.inf, 0.0]]), [0], ValueError, r"^logits: contains NaN or inf"),
        (np.zeros((0, 3)), np.zeros(0, int), ValueError, r"^logits: empty array"),
        (np.zeros((2, 0)), [0, 0], ValueError, r"^logits: empty array"),
        (np.array(1.0), [0], ValueError, r"^logits: expected a 2-D array"),
        (np.zeros(3), [0, 0, 0], ValueError, r"^logits: expected a 2-D array"),
        (np.zeros((2, 2), complex), [0, 0], TypeError, r"^logits: expected real values"),
        (np.zeros((1, 2)), np.array(0), ValueError, r"^labels: expected shape \(1,\)"),
    ],
)
def test_cross_entropy_edge_cases_name_the_argument(logits, labels, exc, pattern):
    with pytest.raises(exc, match=pattern):
        nn.softmax_cross_entropy(logits, np.asarray(labels))


def test_cross_entropy_accepts_every_class_index():
    logits = np.log(np.array([[1.0, 2.0, 5.0], [4.0, 1.0, 1.0]]))
    for labels, p in (([0, 0], [1 / 8, 4 / 6]), ([2, 1], [5 / 8, 1 / 6])):
        loss, _ = nn.softmax_cross_entropy(logits, np.array(labels))
        assert float(loss) == pytest.approx(-np.mean(np.log(p)), rel=1e-12)


def test_initialisers_and_gradcheck_validate_their_arguments():
    rng = np.random.default_rng(0)
    for name in nn.init.available():
        with pytest.raises(ValueError, match=r"^shape: expected a weight shape \(out, in, ...\)"):
            nn.init.get(name)((5,), rng, np.float32)
        with pytest.raises(ValueError, match=r"^shape: expected a weight shape"):
            nn.init.get(name)((3, 0), rng, np.float32)
    x = np.zeros(3)
    with pytest.raises(ValueError, match=r"^eps: expected a value > 0"):
        numerical_gradient(lambda: float(x.sum()), x, eps=0.0)
    with pytest.raises(TypeError, match=r"^x: expected a numpy array"):
        numerical_gradient(lambda: 0.0, [0.0, 1.0])


def test_sequential_end_to_end_backward(rng):
    """A whole small CNN (smooth binarizers) through loss: backward equals finite differences."""
    model = nn.Sequential(
        [
            (
                "conv",
                nn.Conv2d(
                    1,
                    2,
                    3,
                    padding=1,
                    bias=False,
                    scale=True,
                    weight_binarizer=Smooth(),
                    seed=1,
                    dtype=F64,
                ),
            ),
            ("pool", nn.MaxPool2d(2)),
            ("bn", nn.BatchNorm2d(2, dtype=F64)),
            ("flat", nn.Flatten()),
            ("fc", nn.Dense(8, 3, act_binarizer=Smooth(), seed=2, dtype=F64)),
        ]
    )
    x = rng.standard_normal((3, 1, 4, 4))
    y = np.array([0, 2, 1])

    def loss():
        return float(nn.softmax_cross_entropy(model.forward(x, True), y)[0])

    _, g = nn.softmax_cross_entropy(model.forward(x, True), y)
    dx = model.backward(g)
    np.testing.assert_allclose(dx, numerical_gradient(loss, x), rtol=1e-5, atol=1e-9)
    for name, p in model.named_parameters():
        np.testing.assert_allclose(
            p.grad, numerical_gradient(loss, p.data), rtol=1e-5, atol=1e-9, err_msg=name
        )


def test_layer_validation():
    with pytest.raises(TypeError, match="seed"):
        nn.Dense(3, 2, seed=None)
    with pytest.raises(ValueError, match="x"):
        nn.Dense(3, 2, seed=0).forward(np.zeros((2, 4), np.float32), False)
    with pytest.raises(ValueError, match="x"):
        nn.Conv2d(1, 2, 5, seed=0).forward(np.zeros((1, 1, 3, 3), np.float32), False)
    with pytest.raises(ValueError, match="weight_binarizer"):
        nn.Dense(3, 2, weight_binarizer="siman_act", seed=0)
    with pytest.raises(ValueError, match="act_binarizer"):
        nn.Dense(3, 2, act_binarizer="siman", seed=0)
    with pytest.raises(ValueError, match="alias"):
        nn.Dense(3, 2, weight_binarizer="nope", seed=0)
    with pytest.raises(TypeError, match="dtype"):
        nn.Dense(3, 2, seed=0, dtype=np.int32)
    with pytest.raises(ValueError, match="x"):
        nn.BatchNorm1d(2).forward(np.zeros((1, 2), np.float32), True)


def test_alpha_initialised_to_mean_abs_weight_per_filter():
    layer = nn.Conv2d(3, 4, 3, scale=True, weight_binarizer="siman", seed=0)
    alpha = layer._params["alpha"].data
    np.testing.assert_allclose(alpha, np.abs(layer.weight).mean(axis=(1, 2, 3)), rtol=1e-6)
    assert layer._params["alpha"].tags == {"scale"}
    assert layer._params["weight"].tags == {"weight", "binarized"}


def test_models_layouts_and_binarized_layers(rng):
    mlp = nn.binary_mlp(20, (16, 8), 3, weight_binarizer="siman", scale=True, seed=0)
    names = [n for n, _ in mlp.binarized_layers()]
    assert names == ["fc1", "fc2"]
    for _, layer in mlp.binarized_layers():
        assert set(np.unique(layer.binary_weight())) <= {-1.0, 1.0}
        assert layer.weight.dtype == np.float32
    assert mlp["fc1"].act_binarizer is None and mlp["fc2"].act_binarizer is not None
    assert not mlp["out"].binarized and mlp["out"].act_binarizer is not None
    out = mlp.forward(rng.standard_normal((4, 4, 5)).astype(np.float32), False)
    assert out.shape == (4, 3) and out.dtype == np.float32

    real_first = nn.binary_mlp(20, (16,), 3, first="real", last="binary", seed=0)
    assert [n for n, _ in real_first.binarized_layers()] == ["out"]
    assert "bn_out" in real_first.layers

    cnn = nn.binary_cnn((1, 12, 12), (4, 6, 8), 5, seed=0)
    assert [n for n, _ in cnn.binarized_layers()] == ["conv1", "conv2", "conv3"]
    x = rng.standard_normal((3, 144)).astype(np.float32)
    logits = cnn.forward(x, True)
    assert logits.shape == (3, 5)
    grad = cnn.backward(np.ones_like(logits))
    assert grad.shape == x.shape
    assert cnn["out"].in_features == 8 * 1 * 1
    with pytest.raises(ValueError, match="channels"):
        nn.binary_cnn((1, 4, 4), (2, 2, 2, 2), 3, seed=0)


def test_same_seed_same_model():
    a = nn.binary_cnn(seed=3)
    b = nn.binary_cnn(seed=3)
    c = nn.binary_cnn(seed=4)
    for (_, p), (_, q) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data)
    assert not np.array_equal(a["conv2"].weight, c["conv2"].weight)


@pytest.mark.gpu
def test_cupy_forward_backward_matches_numpy(rng):
    import cupy

    model = nn.binary_cnn((1, 8, 8), (4, 6), 3, weight_binarizer="siman", scale=True, seed=0)
    ref = nn.binary_cnn((1, 8, 8), (4, 6), 3, weight_binarizer="siman", scale=True, seed=0)
    model.to(cupy)
    x = rng.standard_normal((5, 1, 8, 8)).astype(np.float32)
    y = np.array([0, 1, 2, 1, 0])
    out_ref = ref.forward(x, True)
    out = model.forward(cupy.asarray(x), True)
    np.testing.assert_allclose(cupy.asnumpy(out), out_ref, rtol=1e-4, atol=1e-4)
    _, g_ref = nn.softmax_cross_entropy(out_ref, y)
    _, g = nn.softmax_cross_entropy(out, cupy.asarray(y))
    ref.backward(g_ref)
    model.backward(g)
    for (n, p), (_, q) in zip(model.named_parameters(), ref.named_parameters(), strict=True):
        np.testing.assert_allclose(cupy.asnumpy(p.grad), q.grad, rtol=1e-3, atol=1e-4, err_msg=n)


def test_backward_without_input_gradient_gives_the_same_parameter_gradients(rng):
    model = nn.binary_cnn((1, 8, 8), (3, 4), 3, weight_binarizer="siman", scale=True, seed=0)
    x = rng.standard_normal((4, 64)).astype(np.float32)
    y = np.array([0, 1, 2, 0])
    _, g = nn.softmax_cross_entropy(model.forward(x, True), y)
    assert model.backward(g).shape == x.shape
    full = {n: p.grad.copy() for n, p in model.named_parameters()}
    for _, p in model.named_parameters():
        p.grad = None
    model.forward(x, True)
    assert model.backward(g, input_grad=False) is None
    for n, p in model.named_parameters():
        np.testing.assert_array_equal(p.grad, full[n], err_msg=n)
    assert model["conv1"].input_grad


def test_summary_counts_binary_and_real_parameters():
    model = nn.binary_mlp(10, (6,), 3, weight_binarizer="siman", scale=True, seed=0)
    rows = {r["name"]: r for r in nn.summary(model)}
    assert rows["fc1"]["binary_params"] == 60 and rows["fc1"]["real_params"] == 6  # alpha
    assert rows["bn1"]["real_params"] == 12 and rows["out"]["real_params"] == 6 * 3 + 3
    assert rows["total"]["params"] == 60 + 6 + 12 + 21
    assert rows["total"]["deploy_bits"] == 60 + 32 * (6 + 12 + 21)
