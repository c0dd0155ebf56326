"""bnnlab's device models against aihwkit itself (``nox -s crosscheck``; not part of the tests:
aihwkit 1.1.0 with torch 2.10.0 is a ~6 GB install).

For each model, the same configuration (bnnlab's fields carry aihwkit's names) drives a 40 x 50
aihwkit ``AnalogTile`` and a bnnlab ``DeviceArray`` of 2000 devices from weight 0 through the same
pulse sequence — 300 potentiating pulses, then 300 depressing ones, one per device at a time (aihwkit:
``update`` with bit length 1 and no update management, inputs ``x = 10`` and errors ``d = ±10`` so
that both pulse probabilities saturate at 1 whatever aihwkit takes as the weight granularity:
every device receives exactly one pulse per call; ``d < 0`` potentiates). Device-to-device and
cycle-to-cycle draws differ between the two (different generators), so the comparison is of the
ensemble: every 10 pulses, the mean weight must agree within 1.5 % of the weight range plus 3 standard
errors, and the spread (standard deviation over devices) within a factor 1.35.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

torch = pytest.importorskip("torch")
aihwkit = pytest.importorskip("aihwkit")

from aihwkit.simulator.configs import SingleRPUConfig  # noqa: E402
from aihwkit.simulator.configs import devices as aihw_devices  # noqa: E402
from aihwkit.simulator.tiles import AnalogTile  # noqa: E402

from bnnlab.hardware import devices as D  # noqa: E402

ROWS, COLS, PULSES, EVERY = 40, 50, 300, 10

CASES = {
    "idealized": ("ConstantStepDevice", D.preset("idealized", dw_min=0.002)),
    "gokmen-vlasov": ("ConstantStepDevice", D.preset("gokmen-vlasov")),
    "ecram": ("LinearStepDevice", D.preset("ecram")),
    "capacitor": ("LinearStepDevice", D.preset("capacitor")),
    "reram-sb": ("SoftBoundsDevice", D.preset("reram-sb", write_noise_std=0.0)),
    "reram-es": ("ExpStepDevice", D.preset("reram-es", write_noise_std=0.0)),
    "exp-default": ("ExpStepDevice", D.ExpStep(dw_min=0.005)),
    "pow": ("PowStepDevice", D.PowStep(dw_min=0.005, pow_gamma=1.5, w_max=1.0, w_min=-1.0)),
}


def aihwkit_config(name: str, cfg) -> SingleRPUConfig:
    cls = getattr(aihw_devices, name)
    known = {f.name for f in dataclasses.fields(cls)}
    fields = {k: v for k, v in dataclasses.asdict(cfg).items() if k in known}
    if "lifetime" in known:
        fields["lifetime"] = 0.0  # bnnlab does not model leakage
    rpu = SingleRPUConfig(device=cls(**fields))
    rpu.update.desired_bl = 1
    rpu.update.update_bl_management = False
    rpu.update.update_management = False
    return rpu


def trajectories(cfg, name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(ours, theirs)``: weights ``(checkpoints, devices)`` along the pulse sequence."""
    tile = AnalogTile(ROWS, COLS, aihwkit_config(name, cfg))
    tile.set_learning_rate(cfg.dw_min)
    tile.set_weights(torch.zeros(ROWS, COLS))
    arr = D.DeviceArray(cfg, (ROWS, COLS), seed=0, initial=np.zeros((ROWS, COLS)))
    x = 10.0 * torch.ones(1, COLS)
    ones = 10.0 * torch.ones(1, ROWS)
    ours, theirs = [], []
    for step in range(2 * PULSES):
        up = step < PULSES
        tile.update(x, -ones if up else ones)
        arr.apply_pulses(np.full((ROWS, COLS), 1 if up else -1, dtype=np.int64))
        if (step + 1) % EVERY == 0:
            ours.append(arr.values().reshape(-1).copy())
            theirs.append(tile.get_weights()[0].numpy().reshape(-1).astype(np.float64))
    return np.array(ours), np.array(theirs)


@pytest.mark.parametrize("case", list(CASES))
def test_weight_trajectories_agree_in_mean_and_spread(case):
    name, cfg = CASES[case]
    ours, theirs = trajectories(cfg, name)
    span = cfg.w_max - cfg.w_min
    n = ours.shape[1]
    m_o, m_t = ours.mean(axis=1), theirs.mean(axis=1)
    s_o, s_t = ours.std(axis=1), theirs.std(axis=1)
    tol = 0.015 * span + 3 * np.sqrt((s_o**2 + s_t**2) / n)
    worst = np.max(np.abs(m_o - m_t) - tol)
    print(f"\n{case}: max |mean diff| {np.abs(m_o - m_t).max():.4f} (range {span:.2f}); "
          f"spread ratio {np.min((s_o + 1e-9) / (s_t + 1e-9)):.2f}..{np.max((s_o + 1e-9) / (s_t + 1e-9)):.2f}")  # fmt: skip
    assert worst <= 0, f"{case}: mean trajectories differ by more than the tolerance"
    big = (s_o > 0.01 * span) | (s_t > 0.01 * span)  # compare spreads where there is one
    ratio = (s_o[big] + 1e-12) / (s_t[big] + 1e-12)
    assert np.all((ratio > 1 / 1.35) & (ratio < 1.35)), f"{case}: spreads differ: {ratio}"
