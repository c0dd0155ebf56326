"""Device presets by alias: aihwkit's presets (``aihwkit.simulator.presets.devices``, values as
published there) and the seven device fits of Li et al.'s exponential model (REFERENCES.md §4.2).

aihwkit presets model a *calibrated* weight, with the step, bounds and noise in weight units; the
capacitor's leakage (``lifetime``) and PCM's one-sided refresh cell are not modelled here (the PCM
preset is used as a single device on [0, 2]).
"""

from __future__ import annotations

from bnnlab.hardware.devices.config import (
    ConstantStep,
    ExponentialDevice,
    ExpStep,
    LinearStep,
    SoftBounds,
)

#: alias -> (configuration, source)
PRESETS = {
    "reram-es": (
        ExpStep(
            dw_min=0.00135,
            up_down=0.259359,
            w_max=1.0,
            w_min=-1.0,
            a=-0.5,
            b=-0.5,
            gamma_up=5.0,
            gamma_down=5.0,
            A_up=-1.18445,
            A_down=-0.081404,
            dw_min_dtod=0.2,
            up_down_dtod=0.05,
            w_max_dtod=0.3,
            w_min_dtod=0.3,
            dw_min_std=5.0,
            write_noise_std=75.0,
        ),
        "aihwkit ReRamESPresetDevice (Gong et al., Nat. Commun. 2018)",
    ),
    "reram-sb": (
        SoftBounds(
            dw_min=0.002,
            up_down=0.0,
            w_max=1.25,
            w_min=-0.75,
            mult_noise=False,
            dw_min_dtod=0.3,
            up_down_dtod=0.01,
            w_max_dtod=0.3 / 1.25,
            w_min_dtod=0.3 / 0.75,
            dw_min_std=3.75,
            write_noise_std=56.0,
        ),
        "aihwkit ReRamSBPresetDevice (Gong et al., Nat. Commun. 2018)",
    ),
    "pcm": (
        ExpStep(
            dw_min=0.01,
            up_down=0.0,
            w_max=2.0,
            w_min=0.0,
            a=-1.0,
            b=0.0,
            gamma_up=2.5,
            gamma_down=2.5,
            A_up=-27.235,
            A_down=-2.235,
            dw_min_dtod=0.2,
            up_down_dtod=0.05,
            w_max_dtod=0.1,
            w_min_dtod=0.0,
            dw_min_std=0.6,
            dw_min_std_add=0.042,
            dw_min_std_slope=0.108,
            write_noise_std=0.0,
            reset=0.01,
            reset_dtod=0.02,
        ),
        "aihwkit PCMPresetDevice (Nandakumar et al., Front. Neurosci. 2020), one device",
    ),
    "ecram": (
        LinearStep(
            dw_min=0.002,
            up_down=0.0,
            w_max=1.1724,
            w_min=-0.8276,
            mult_noise=True,
            gamma_up=0.1153,
            gamma_down=0.5085,
            dw_min_dtod=0.1,
            up_down_dtod=0.01,
            w_max_dtod=0.05,
            w_min_dtod=0.05,
            gamma_up_dtod=0.05,
            gamma_down_dtod=0.05,
            dw_min_std=0.3,
            mean_bound_reference=True,
        ),
        "aihwkit EcRamPresetDevice (Tang et al., IEDM 2018)",
    ),
    "ecram-mo": (
        LinearStep(
            dw_min=2.8214e-4,
            up_down=0.0,
            w_max=1.1714,
            w_min=-0.8286,
            mult_noise=True,
            gamma_up=0.4152,
            gamma_down=0.7342,
            dw_min_dtod=0.1,
            up_down_dtod=0.01,
            w_max_dtod=0.05,
            w_min_dtod=0.05,
            gamma_up_dtod=0.05,
            gamma_down_dtod=0.05,
            dw_min_std=2.0,
            mean_bound_reference=True,
        ),
        "aihwkit EcRamMOPresetDevice (Kim et al., IEDM 2019)",
    ),
    "capacitor": (
        LinearStep(
            dw_min=0.005,
            up_down=0.0,
            w_max=1.0,
            w_min=-1.0,
            mult_noise=False,
            gamma_up=0.05,
            gamma_down=0.05,
            dw_min_dtod=0.1,
            up_down_dtod=0.06,
            w_max_dtod=0.07,
            w_min_dtod=0.07,
            gamma_up_dtod=0.01,
            gamma_down_dtod=0.01,
            dw_min_std=0.3,
            mean_bound_reference=True,
        ),
        "aihwkit CapacitorPresetDevice (Li et al., VLSI 2018), without leakage",
    ),
    "gokmen-vlasov": (
        ConstantStep(
            dw_min=0.0016,
            dw_min_dtod=0.3,
            dw_min_std=0.3,
            up_down=0.0,
            up_down_dtod=0.01,
            w_max=1.0,
            w_min=-1.0,
            w_max_dtod=0.3,
            w_min_dtod=0.3,
        ),
        "aihwkit GokmenVlasovPresetDevice (Gokmen & Vlasov, Front. Neurosci. 2016)",
    ),
    "idealized": (
        ConstantStep(
            dw_min=0.0002,
            dw_min_dtod=0.3,
            dw_min_std=0.3,
            up_down=0.0,
            up_down_dtod=0.0,
            w_max=1.0,
            w_min=-1.0,
            w_max_dtod=0.3,
            w_min_dtod=0.3,
        ),
        "aihwkit IdealizedPresetDevice (10 000 states)",
    ),
    # Li et al.'s fits of the exponential model (REFERENCES.md §4.2): G range, N, alpha, gamma
    "ecram-tang": (
        ExponentialDevice(1e-9, 3e-9, 55, 55, 0.5, 0.5, 0.3, 0.3),
        "Li et al. fit of ECRAM (Tang et al., IEDM 2018)",
    ),
    "pcm-suri": (
        ExponentialDevice(7e-6, 2.2e-3, 30, 10, 6.0, 50.0, 0.3, 0.1),
        "Li et al. fit of PCM (Suri et al., JAP 2012)",
    ),
    "pcmo": (
        ExponentialDevice(35e-9, 160e-9, 100, 100, 6.0, 20.0, 1.0, 1.0),
        "Li et al. fit of PCMO (Jang et al., EDL 2015)",
    ),
    "epiram-1": (
        ExponentialDevice(1e-6, 40e-6, 500, 400, 8.0, 15.0, 2.0, 2.0),
        "Li et al. fit of SiGe epiRAM-1 (Choi et al., Nat. Mater. 2018)",
    ),
    "epiram-2": (
        ExponentialDevice(0.1e-6, 30e-6, 200, 50, 5.0, 1.0, 1.0, 1.0),
        "Li et al. fit of SiGe epiRAM-2",
    ),
    "epiram-3": (
        ExponentialDevice(0.1e-6, 12.5e-6, 100, 50, 1.0, 1.0, 1.0, 1.0),
        "Li et al. fit of SiGe epiRAM-3",
    ),
    "oxram": (
        ExponentialDevice(20e-6, 250e-6, 0, 100, 10.0, 15.0, 0.3, 0.3),
        "Li et al. fit of OxRAM (Huang et al., TED 2017): abrupt SET (N = 0), gradual RESET",
    ),
}
