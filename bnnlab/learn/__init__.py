"""Training methods: latent-weight loops (:mod:`bnnlab.learn.latent`) and the gradient-free wing
(:mod:`bnnlab.learn.local`), each learner registered by alias.

``bnnlab.learn.get("local-binary")`` returns the learner class; every registered learner takes
``(config, *, seed, backend="auto")`` with ``config`` an instance of its ``config_class`` (built
from a network by ``config_class.from_layers(n_features, n_classes, layers, **hyperparameters)``)
and offers ``fit``, ``train_batch``, ``predict``, ``score``, ``state_dict`` and
``load_state_dict``; per-epoch rows follow :mod:`bnnlab.learn.metrics`. The public names of the
wing are re-exported here and load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from bnnlab._registry import Registry

LEARNERS = Registry("learner")
LEARNERS.register("local-binary", "bnnlab.learn.local.local_binary:LocalBinaryLearner")
LEARNERS.register("local-binary-dense", "bnnlab.learn.local.dense:LocalBinaryReference")
LEARNERS.register("cp-r", "bnnlab.learn.local.cp_r:CPRLearner")
LEARNERS.register("cp-r-dense", "bnnlab.learn.local.dense:CPRReference")

get, available = LEARNERS.bind()

_LAZY = {
    "LocalBinaryConfig": "bnnlab.learn.local.config",
    "CPRConfig": "bnnlab.learn.local.config",
    "LocalHyperparameters": "bnnlab.learn.local.config",
    "LocalBinaryLearner": "bnnlab.learn.local.local_binary",
    "CPRLearner": "bnnlab.learn.local.cp_r",
    "LocalBinaryReference": "bnnlab.learn.local.dense",
    "CPRReference": "bnnlab.learn.local.dense",
    "save_checkpoint": "bnnlab.learn.local.checkpoint",
    "load_checkpoint": "bnnlab.learn.local.checkpoint",
    "read_checkpoint": "bnnlab.learn.local.checkpoint",
    "cost_report": "bnnlab.learn.local.cost",
}

__all__ = ["LEARNERS", "available", "get", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'bnnlab.learn' has no attribute {name!r}")
