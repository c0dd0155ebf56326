"""Variants of a learner dataset named in one string: a class subset and average pooling.

``"<base>[:classes=a,b,...][:pool=p]"`` — e.g. ``"fashion-mnist-mini:classes=0,6:pool=4"`` is
the embedded Fashion-MNIST subsample restricted to T-shirt/top (0) and Shirt (6), relabelled ``0``
and ``1`` in the order given, each 28 x 28 image average-pooled over 4 x 4 blocks to 7 x 7 = 49
pixels *before* the median binarisation (so the median is that of the pooled training pixels). This
is how QP-SBGD's experiments keep layers small (binary digit pairs at low resolution,
REFERENCES.md §3.3), and it gives the comparison harness and ``bnnlab train`` the same arrays from
one name. ``pool`` must divide 28 and applies to the Fashion-MNIST datasets only; ``classes`` to
every dataset (at least two distinct classes of the base). ``:intensity`` (Fashion-MNIST only)
keeps the pixel intensities, scaled to ``[0, 1]`` (float32), instead of binarising them — for
learners that sample their inputs, such as the binary-stochastic rule of
:mod:`bnnlab.learn.memristive`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from bnnlab._validation import check_int

__all__ = ["Variant", "apply_variant", "parse"]

IMAGE_SIDE = 28


@dataclasses.dataclass(frozen=True)
class Variant:
    """A parsed dataset name: the base dataset, the kept classes (or all) and the pool size."""

    base: str
    classes: tuple[int, ...] | None = None
    pool: int = 1
    intensity: bool = False

    @property
    def plain(self) -> bool:
        """Whether the name is just the base dataset."""
        return self.classes is None and self.pool == 1 and not self.intensity


def parse(name: str, bases: tuple[str, ...]) -> Variant:
    """Parse ``name`` (see the module docstring) against the base dataset names ``bases``."""
    if not isinstance(name, str):
        raise TypeError(f"name: expected a dataset name, got {type(name).__name__}")
    base, *parts = name.split(":")
    if base not in bases:
        raise ValueError(
            f"name: expected one of {', '.join(map(repr, bases))} (optionally followed by "
            f"':classes=a,b' and ':pool=p'), got {name!r}"
        )
    classes: tuple[int, ...] | None = None
    pool = 1
    seen = set()
    intensity = False
    for part in parts:
        if part == "intensity" and part not in seen:
            seen.add(part)
            intensity = True
            continue
        key, sep, value = part.partition("=")
        if not sep or key in seen or key not in ("classes", "pool"):
            raise ValueError(
                f"name: bad variant {part!r} in {name!r}; expected classes=a,b,..., pool=p or "
                "intensity, each at most once"
            )
        seen.add(key)
        try:
            if key == "classes":
                classes = tuple(check_int(int(v), "classes", minimum=0) for v in value.split(","))
            else:
                pool = check_int(int(value), "pool", minimum=1)
        except ValueError as exc:
            raise ValueError(f"name: bad variant {part!r} in {name!r}: {exc}") from None
    if classes is not None and (len(classes) < 2 or len(set(classes)) != len(classes)):
        raise ValueError(f"name: classes needs at least two distinct classes, got {classes}")
    if pool != 1 and (base == "prototypes" or IMAGE_SIDE % pool):
        raise ValueError(
            f"name: pool={pool} needs a Fashion-MNIST base and a divisor of {IMAGE_SIDE}"
        )
    if intensity and base == "prototypes":
        raise ValueError("name: intensity needs a Fashion-MNIST base (prototypes are ±1 already)")
    return Variant(base, classes, pool, intensity)


def select_classes(x: Any, y: np.ndarray, classes: tuple[int, ...] | None, n_classes: int):
    """Keep the samples of ``classes`` and relabel them ``0..k-1`` in the order given."""
    if classes is None:
        return x, y
    if max(classes) >= n_classes:
        raise ValueError(f"name: classes {classes} outside the base's 0..{n_classes - 1}")
    keep = np.isin(y, classes)
    lookup = np.full(n_classes, -1, dtype=np.int64)
    lookup[list(classes)] = np.arange(len(classes))
    return x[keep], lookup[y[keep]]


def pool_images(x: np.ndarray, pool: int) -> np.ndarray:
    """Average over ``pool x pool`` blocks of ``(N, 28, 28)`` images → float32 ``(N, s, s)``."""
    if pool == 1:
        return x
    n, side = x.shape[0], IMAGE_SIDE // pool
    return x.reshape(n, side, pool, side, pool).astype(np.float32).mean(axis=(2, 4))


def apply_variant(v: Variant, split: tuple[Any, np.ndarray], n_classes: int):
    """Class selection then pooling of one split ``(images, labels)``."""
    x, y = select_classes(*split, v.classes, n_classes)
    return pool_images(x, v.pool), y
