r"""Optimisers for latent weights, binary optimisers, and learning-rate schedules.

Optimisers by alias (``bnnlab.optim.get(alias)``, every one built as ``cls(params, lr, **options)``):

==================  ======================  ==================================================
alias               class                   update (details and references in each class)
==================  ======================  ==================================================
``sgd``             :class:`SGD`            momentum / Nesterov SGD, coupled ℓ2
``adam``            :class:`Adam`           Adam, coupled ℓ2 or decoupled (AdamW)
``signsgd``         :class:`SignSGD`        :math:`w \leftarrow w - \eta\,\mathrm{sign}(g)`
``signum``          :class:`Signum`         signSGD on the momentum :math:`m = \beta m + (1-\beta) g`
``binary-connect``  :class:`BinaryConnect`  inner step on the latent weights, clip to [-1, 1]
``proxquant``       :class:`ProxQuant`      inner step, binary prox with a growing λ, final sign
``bop``             :class:`Bop`            flip ±1 weights where :math:`w m > \tau`; inner
                                            optimiser for the non-binary parameters
``qp-sbgd``         :class:`QPSBGD`         :math:`W \leftarrow W - \eta G`, ``G`` from per-row
                                            binary programs solved by an (emulated) annealer
==================  ======================  ==================================================

Weight decay and learning-rate scaling are set per parameter group (:func:`param_groups`), so ℓ2
can be removed from the binarized weights only. The binary optimisers (:mod:`bnnlab.optim._binary`)
select their binary parameters by the tag ``"binarized"`` (or ``binary=``) and hand the ordinary
step to an inner optimiser given by alias (``inner="sgd"``, ``inner_kwargs={...}``).

Hooks a training loop calls on every optimiser (no-ops unless stated): :meth:`Optimizer.set_lr`
before each step (schedules), :meth:`Optimizer.set_epoch` at the start of each epoch (ProxQuant's
λ homotopy), :meth:`Optimizer.finalize` once after training (ProxQuant's hard quantisation).

Schedules: :mod:`bnnlab.optim.schedules` (``constant``, ``step``, ``cosine`` with linear warm-up).

Examples
--------
>>> from bnnlab import nn, optim
>>> model = nn.binary_mlp(seed=0)
>>> groups = optim.param_groups(model, 5e-4, no_decay=("binarized", "scale"))
>>> opt = optim.get("sgd")(groups, lr=0.1, momentum=0.9)
>>> sched = optim.schedules.Cosine(0.1, epochs=10, warmup=1)
>>> bc = optim.get("binary-connect")(groups, lr=0.01, inner="signsgd")
"""

from bnnlab._registry import Registry
from bnnlab.optim import schedules
from bnnlab.optim._base import Optimizer, param_groups
from bnnlab.optim._binary import BinaryOptimizer
from bnnlab.optim.adam import Adam
from bnnlab.optim.binary_connect import BinaryConnect
from bnnlab.optim.bop import Bop
from bnnlab.optim.proxquant import ProxQuant, binary_prox
from bnnlab.optim.qp_sbgd import QPSBGD
from bnnlab.optim.sgd import SGD
from bnnlab.optim.signsgd import SignSGD, Signum

OPTIMIZERS = Registry("optimizer")
OPTIMIZERS.register("sgd", SGD)
OPTIMIZERS.register("adam", Adam)
OPTIMIZERS.register("signsgd", SignSGD)
OPTIMIZERS.register("signum", Signum)
OPTIMIZERS.register("binary-connect", BinaryConnect)
OPTIMIZERS.register("proxquant", ProxQuant)
OPTIMIZERS.register("bop", Bop)
OPTIMIZERS.register("qp-sbgd", QPSBGD)

get, available = OPTIMIZERS.bind()

__all__ = [
    "OPTIMIZERS",
    "QPSBGD",
    "SGD",
    "Adam",
    "BinaryConnect",
    "BinaryOptimizer",
    "Bop",
    "Optimizer",
    "ProxQuant",
    "SignSGD",
    "Signum",
    "available",
    "binary_prox",
    "get",
    "param_groups",
    "schedules",
]
