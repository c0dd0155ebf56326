"""Emulated devices: the cost of the binary-stochastic rule on an ExpStep device against the same
rule on ideal float weights, and the pulse throughput of a 784 x 500 array.

Epoch: 784-500-200-10 (the paper's network), batch 100, on the first 2000 images of the embedded
Fashion-MNIST mini set (pixel intensities), the ratio of one epoch on the ``reram-es`` preset
(aihwkit's ExpStep fit) to one on float weights, from the same seed, medians of 3 rounds in one
run. Throughput: ``DeviceArray.apply_pulses`` on a 784 x 500 ``reram-es`` array with random counts
in -2..2 per device (about 0.8 pulses per device per call), device updates per second. The CPU
model is printed. Run with ``nox -s bench``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # importlib import mode: make _peak importable
from _peak import cpu_model


@pytest.fixture(scope="module")
def data():
    from bnnlab.data import load_binary
    from bnnlab.learn.method import TrainData

    x, y, xt, yt = load_binary("fashion-mnist-mini:intensity", 0)
    return TrainData(x[:2000], y[:2000], xt[:500], yt[:500])


def _epoch(data, weights):
    from bnnlab.learn.memristive import BinaryStochasticConfig, BinaryStochasticMethod

    m = BinaryStochasticMethod(BinaryStochasticConfig(weights=weights), n_features=784,
                               n_classes=10, seed=0)  # fmt: skip
    t0 = time.perf_counter()
    m.fit_epoch(data.x_train, data.y_train)
    return time.perf_counter() - t0, m.pulses


def test_binary_stochastic_epoch_on_a_device_against_float_weights(benchmark, data):
    device = benchmark.pedantic(lambda: _epoch(data, "reram-es"), rounds=3)
    t_device = benchmark.stats.stats.median
    t_float = float(np.median([_epoch(data, "float")[0] for _ in range(3)]))
    t_quiet = float(np.median([_epoch(data, "pcm")[0] for _ in range(3)]))
    print(
        f"\n[binary-stochastic epoch] {cpu_model()}: reram-es (ExpStep, write noise) {t_device:.3f} s "
        f"({device[1]} pulses), pcm (ExpStep, no write noise) {t_quiet:.3f} s, float "
        f"{t_float:.3f} s -> {t_device / t_float:.2f}x and {t_quiet / t_float:.2f}x"
    )


def test_pulse_throughput(benchmark):
    from bnnlab.hardware import devices

    arr = devices.DeviceArray(devices.preset("reram-es"), (784, 500), seed=0)
    counts = np.random.default_rng(0).integers(-2, 3, size=(784, 500))
    pulses = int(np.abs(counts).sum())
    benchmark(arr.apply_pulses, counts)
    t = benchmark.stats.stats.median
    print(f"\n[pulse throughput] {cpu_model()}: {pulses / t / 1e6:.1f} M device updates/s "
          f"(784 x 500 reram-es, {pulses} pulses per call)")  # fmt: skip
