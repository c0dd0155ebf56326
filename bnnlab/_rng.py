"""Random-generator state as JSON (for checkpoints): bit-generator states hold Python ints (PCG64)
or numpy arrays (MT19937); :func:`jsonable_rng_state` makes them plain JSON values, and
``Generator.bit_generator.state = state`` restores them."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["jsonable_rng_state"]


def jsonable_rng_state(state: dict[str, Any]) -> dict[str, Any]:
    """A ``bit_generator.state`` with numpy arrays and integers turned into lists and ints."""

    def conv(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        if isinstance(v, np.ndarray):
            return v.tolist()
        if isinstance(v, np.integer):
            return int(v)
        return v

    return conv(state)
