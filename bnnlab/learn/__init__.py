"""Learners: latent-weight (STE/SiMaN) training loops and gradient-free binary learners.

Registered by alias (``bnnlab.learn.get("local-binary")``); modules load on first use.
"""

from bnnlab._registry import Registry

LEARNERS = Registry("learner")
LEARNERS.register("local-binary", "bnnlab.learn.local_binary:LocalBinaryLearner")
LEARNERS.register("cp-r", "bnnlab.learn.cp_r:CPRLearner")

get, available = LEARNERS.bind()

__all__ = ["LEARNERS", "available", "get"]
