r"""Cost report of the fully binary learners by the paper's cost model (REFERENCES.md §2.6).

A bill of materials in the spirit of ``larq.models.summary``: memory in bits by component and
Boolean-gate counts per mini-batch and per epoch, for a local-binary network (or the CP+R
committee) next to a float32 SGD MLP of the same shape.

Cost model (Colombo, Pittorino & Roveri 2025, code)
---------------------------------------------------
Memory (bits):

- binary: dataset 1 bit per feature; hidden weights 8 bits; local heads (and the CP+R readout)
  1 bit; pre-activations 8 bits × batch × ΣK;
- float32 SGD: dataset, weights, activations and gradients (of the weights and of the
  activations) 32 bits each. The float MLP has the same hidden layers plus a trained ``K_L × C``
  output layer instead of the local heads.

Boolean gates per mini-batch, per layer ``N_in → N_out`` (``bs`` = batch size, ``C`` classes),
with the weights XNOR = 1 gate, popcount = 10 gates per input bit, increment = 10 gates, float
multiply or add = 10⁴ gates:

- forward: ``bs N_in N_out`` XNOR + popcount, plus ``bs N_out C`` for the local head;
- error: ``9 bs N_out`` XNOR;
- update: ``2 N_in N_out`` XNOR, ``N_in N_out`` popcount, ``4 N_in N_out`` increments.

Float SGD per layer (multiply + add per MAC): forward ``2 bs N_in N_out`` flops, backward
``4 bs N_in N_out`` (input and weight gradients), update ``2 N_in N_out`` (scale and add).

CP+R: one layer ``D → K1`` as above; its "head" is the majority over groups (``bs K1`` popcount
bits) and the ``K2 × C`` readout (XNOR + popcount); error ``9 bs K1`` XNOR. The float reference is
the MLP ``D → K1 → C``.

The counts are the model's, not measurements: every sample is treated as updating (an upper
bound for the update phase, as in the paper's accounting).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

from bnnlab._validation import check_choice, check_int

GATES = {"xnor": 1, "popcount": 10, "increment": 10, "float": 10_000}


@dataclasses.dataclass(frozen=True)
class CostReport:
    """Memory (bits) and gates of a binary model next to a float32 SGD MLP of the same shape.

    Attributes
    ----------
    model : str
        Description (``"local-binary 784-525-525-10"``).
    memory : list of (component, binary bits, float bits)
    gates : list of (phase, binary gates per mini-batch, float gates per mini-batch)
    batches_per_epoch : int
    """

    model: str
    memory: list[tuple[str, int, int]]
    gates: list[tuple[str, int, int]]
    batches_per_epoch: int

    @property
    def memory_bits(self) -> tuple[int, int]:
        """Total memory (binary, float) in bits."""
        return sum(r[1] for r in self.memory), sum(r[2] for r in self.memory)

    @property
    def gates_per_batch(self) -> tuple[int, int]:
        """Total gates per mini-batch (binary, float)."""
        return sum(r[1] for r in self.gates), sum(r[2] for r in self.gates)

    @property
    def gates_per_epoch(self) -> tuple[int, int]:
        """Total gates per epoch (binary, float)."""
        b, f = self.gates_per_batch
        return b * self.batches_per_epoch, f * self.batches_per_epoch

    def as_dict(self) -> dict[str, Any]:
        """Plain dictionary (JSON-ready)."""
        mb, mf = self.memory_bits
        gb, gf = self.gates_per_batch
        eb, ef = self.gates_per_epoch
        return {
            "model": self.model,
            "memory_bits": {c: {"binary": b, "float32": f} for c, b, f in self.memory},
            "gates_per_batch": {p: {"binary": b, "float32": f} for p, b, f in self.gates},
            "batches_per_epoch": self.batches_per_epoch,
            "total": {
                "memory_bits": {"binary": mb, "float32": mf},
                "gates_per_batch": {"binary": gb, "float32": gf},
                "gates_per_epoch": {"binary": eb, "float32": ef},
                "memory_ratio": mf / mb,
                "gate_ratio": gf / gb,
            },
        }

    def table(self) -> str:
        """Text table (larq-summary style)."""

        def fmt(n: float) -> str:
            return f"{n:.3e}" if n >= 1e6 else f"{int(n):,}"

        w = 38
        line = "+" + "-" * (w + 2) + "+" + "-" * 14 + "+" + "-" * 14 + "+" + "-" * 11 + "+"
        head = f"| {'':<{w}} | {'binary':>12} | {'float32 SGD':>12} | {'ratio':>9} |"
        out = [f"{self.model}", line, head, line]

        def row(name: str, b: float, f: float) -> str:
            ratio = f"{f / b:9.1f}" if b and f else "     —"
            return f"| {name:<{w}} | {fmt(b):>12} | {fmt(f):>12} | {ratio:>9} |"

        for c, b, f in self.memory:
            out.append(row(f"memory: {c} [bits]", b, f))
        out.append(row("memory total [bits]", *self.memory_bits))
        out.append(line)
        for p, b, f in self.gates:
            out.append(row(f"gates/batch: {p}", b, f))
        out.append(row("gates per mini-batch", *self.gates_per_batch))
        out.append(row(f"gates per epoch (×{self.batches_per_epoch})", *self.gates_per_epoch))
        out.append(line)
        return "\n".join(out)


def _layer_gates(bs: int, n_in: int, n_out: int) -> tuple[int, int, int]:
    """(forward without head, error, update) binary gates of one layer and mini-batch."""
    g = GATES
    forward = bs * n_in * n_out * (g["xnor"] + g["popcount"])
    error = 9 * bs * n_out * g["xnor"]
    update = n_in * n_out * (2 * g["xnor"] + g["popcount"] + 4 * g["increment"])
    return forward, error, update


def _float_gates(bs: int, shapes: Sequence[tuple[int, int]]) -> tuple[int, int, int]:
    macs = sum(a * b for a, b in shapes)
    f = GATES["float"]
    return 2 * bs * macs * f, 4 * bs * macs * f, 2 * macs * f


def cost_report(
    learner: str,
    n_features: int,
    layers: Sequence[int],
    n_classes: int,
    *,
    batch_size: int = 100,
    n_train: int = 50_000,
) -> CostReport:
    """Cost report of a ``"local-binary"`` or ``"cp-r"`` model (see the module doc).

    Parameters
    ----------
    learner : {"local-binary", "cp-r"}
    n_features, n_classes : int
    layers : sequence of int
        Hidden widths (local-binary), or ``(K1, K2)`` (cp-r, ``K2`` dividing ``K1``).
    batch_size, n_train : int
        Mini-batch size and training-set size (epoch = ``ceil(n_train / batch_size)`` batches).
    """
    check_choice(learner, "learner", ("local-binary", "cp-r"))
    d = check_int(n_features, "n_features", minimum=1)
    c = check_int(n_classes, "n_classes", minimum=2)
    bs = check_int(batch_size, "batch_size", minimum=1)
    n = check_int(n_train, "n_train", minimum=1)
    ks = [check_int(k, "layers", minimum=1) for k in layers]
    if not ks:
        raise ValueError("layers: expected at least one width")
    if learner == "cp-r":
        if len(ks) != 2 or ks[0] % ks[1]:
            raise ValueError(f"layers: cp-r needs (K1, K2) with K2 dividing K1, got {ks}")
        k1, k2 = ks
        hidden_shapes = [(d, k1)]
        head_bits = k2 * c
        fwd, err, upd = _layer_gates(bs, d, k1)
        head = bs * k1 * GATES["popcount"] + bs * k2 * c * (GATES["xnor"] + GATES["popcount"])
        pre = bs * k1
        name = f"cp-r {d}-{k1}(maj/{k1 // k2})-{k2}-{c}"
        float_shapes = [(d, k1), (k1, c)]
    else:
        fan_in = [d, *ks[:-1]]
        hidden_shapes = list(zip(fan_in, ks, strict=True))
        head_bits = sum(k * c for k in ks)
        parts = [_layer_gates(bs, a, b) for a, b in hidden_shapes]
        fwd, err, upd = (sum(p[i] for p in parts) for i in range(3))
        head = sum(bs * k * c * (GATES["xnor"] + GATES["popcount"]) for k in ks)
        pre = bs * sum(ks)
        name = f"local-binary {'-'.join(map(str, [d, *ks, c]))}"
        float_shapes = [*hidden_shapes, (ks[-1], c)]
    w_count = sum(a * b for a, b in hidden_shapes)
    fw_count = sum(a * b for a, b in float_shapes)
    act_float = bs * sum(b for _, b in float_shapes)
    memory = [
        ("dataset", n * d, 32 * n * d),
        ("hidden weights", 8 * w_count, 32 * fw_count),
        ("local heads / readout", head_bits, 0),
        ("pre-activations", 8 * pre, 32 * act_float),
        ("gradients", 0, 32 * (fw_count + act_float)),
    ]
    f_fwd, f_bwd, f_upd = _float_gates(bs, float_shapes)
    gates = [
        ("forward (incl. heads)", fwd + head, f_fwd),
        ("error / backward", err, f_bwd),
        ("update", upd, f_upd),
    ]
    return CostReport(name, memory, gates, math.ceil(n / bs))
