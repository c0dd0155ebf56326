"""The gradient-free wing: fully binary learners trained with integer hidden weights.

Modules, one concern each (data flows config → rules/engine → base loop → learners):

- :mod:`~bnnlab.learn.local.config`: the configurations (one hyperparameter base, help text per
  field, the networks' width rules);
- :mod:`~bnnlab.learn.local.rules`: random draws, sample mask, unit selection, tie rules;
- :mod:`~bnnlab.learn.local.engine`: the arithmetic interface, the bit-packed engines, the one
  mapping from a bit-kernel backend to an array library;
- :mod:`~bnnlab.learn.local.base`: the training loop, metrics rows and state;
- :mod:`~bnnlab.learn.local.local_binary`, :mod:`~bnnlab.learn.local.cp_r`: the learners
  (Colombo et al. 2025; Baldassi et al. 2015);
- :mod:`~bnnlab.learn.local.dense`: the same learners on dense integer products;
- :mod:`~bnnlab.learn.local.checkpoint`: pickle-free, hash-verified checkpoints;
- :mod:`~bnnlab.learn.local.cost`: the paper's memory and Boolean-gate cost model.
"""
