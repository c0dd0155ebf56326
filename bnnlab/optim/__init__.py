"""Optimisers for latent weights and learning-rate schedules.

Optimisers by alias: ``bnnlab.optim.get("sgd")`` -> :class:`SGD`, ``get("adam")`` -> :class:`Adam`;
weight decay is set per parameter group (:func:`param_groups`), so ℓ2 can be removed from the
binarized weights only. Schedules: :mod:`bnnlab.optim.schedules` (``constant``, ``step``,
``cosine`` with linear warm-up).

Examples
--------
>>> from bnnlab import nn, optim
>>> model = nn.binary_mlp(seed=0)
>>> groups = optim.param_groups(model, 5e-4, no_decay=("binarized", "scale"))
>>> opt = optim.get("sgd")(groups, lr=0.1, momentum=0.9)
>>> sched = optim.schedules.Cosine(0.1, epochs=10, warmup=1)
"""

from bnnlab._registry import Registry
from bnnlab.optim import schedules
from bnnlab.optim._base import Optimizer, param_groups
from bnnlab.optim.adam import Adam
from bnnlab.optim.sgd import SGD

OPTIMIZERS = Registry("optimizer")
OPTIMIZERS.register("sgd", SGD)
OPTIMIZERS.register("adam", Adam)

get, available = OPTIMIZERS.bind()

__all__ = [
    "OPTIMIZERS",
    "SGD",
    "Adam",
    "Optimizer",
    "available",
    "get",
    "param_groups",
    "schedules",
]
