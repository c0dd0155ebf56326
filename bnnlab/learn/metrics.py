"""One vocabulary for the per-epoch rows every training loop emits.

Both the latent-weight loop (:func:`bnnlab.learn.latent.train`) and the gradient-free learners
(:meth:`bnnlab.learn.local.base.BinaryLearnerBase.fit`) return, and record, one row per epoch with
these keys and units; methods add their own columns beside them, never other names for these:

``epoch``
    1-based epoch number (``0`` for an optional row before training).
``train_loss``, ``test_loss``
    Mean loss per sample (only where the method has a loss).
``train_accuracy``, ``test_accuracy``
    Accuracy in **percent** (0-100).
``seconds``
    Wall-clock seconds of the epoch's training (evaluation excluded).
"""

from __future__ import annotations

__all__ = ["ACCURACY_KEYS", "ROW_KEYS", "percent"]

#: The standard keys of a per-epoch row.
ROW_KEYS = ("epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "seconds")

#: The accuracy keys (percent).
ACCURACY_KEYS = ("train_accuracy", "test_accuracy")


def percent(correct: int, total: int) -> float:
    """Accuracy in percent, ``100 correct / total`` (``nan`` when ``total`` is 0)."""
    return 100.0 * correct / total if total else float("nan")
