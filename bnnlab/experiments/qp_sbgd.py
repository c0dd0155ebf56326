r"""QP-SBGD studies (REFERENCES.md §3.3): solver quality on real layer problems, a binary GCN on
Zachary's karate club, and a 3-5-2 network trained neuron by neuron on three binarised features.

The image-pair experiments (Fashion-MNIST class pairs at 7 x 7, against BinaryConnect and
ProxQuant) run through the comparison harness with ``analysis/specs/qp-sbgd-pairs.toml``; this
module holds what the harness does not: whole-graph training and the solver measurements.

Optimisers and learning rates are the authors' (§3.3): QP-SBGD 0.1, BinaryConnect over SGD 0.01,
over signSGD 0.02, ProxQuant 0.1 with :math:`\lambda = 0.01\,(t+1)` (its linear homotopy).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from bnnlab._validation import check_choice, check_int, make_rng

__all__ = [
    "OPTIMISERS",
    "KarateClub",
    "binary_gcn",
    "harvest_problems",
    "karate_club",
    "make_optimizer",
    "solver_quality",
    "three_features",
    "train_gcn",
    "train_tiny",
]

#: name -> (optimiser alias, learning rate, options): the authors' settings (§3.3).
OPTIMISERS: dict[str, tuple[str, float, dict[str, Any]]] = {
    "qp-sbgd": ("qp-sbgd", 0.1, {"solver": "sa", "solver_params": {"num_sweeps": 100}}),
    "bc-sgd": ("binary-connect", 0.01, {"inner": "sgd"}),
    "bc-signsgd": ("binary-connect", 0.02, {"inner": "signsgd"}),
    "proxquant": ("proxquant", 0.1, {"inner": "sgd", "lam": 0.01}),
}


def make_optimizer(name: str, model: Any, *, seed: int, **overrides: Any) -> Any:
    """The optimiser ``name`` of :data:`OPTIMISERS` on ``model`` (QP-SBGD seeded with ``seed``;
    ``overrides`` replace options, e.g. ``formulation="neuron"``)."""
    from bnnlab import optim

    check_choice(name, "name", tuple(OPTIMISERS))
    alias, lr, options = OPTIMISERS[name]
    options = {**options, **overrides}
    if alias == "qp-sbgd":
        options["seed"] = seed
    return optim.get(alias)(optim.param_groups(model, 0.0), lr=options.pop("lr", lr), **options)


# -- the karate club ------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class KarateClub:
    """Zachary's karate club as a node-classification task (see :func:`karate_club`)."""

    adjacency: np.ndarray
    x: np.ndarray
    y: np.ndarray
    train: np.ndarray
    test: np.ndarray

    @property
    def n_classes(self) -> int:
        return int(self.y.max()) + 1


def karate_club(seed: int, *, train_fraction: float = 0.5) -> KarateClub:
    """Zachary's karate club (networkx): 34 nodes, 78 edges; classes = the 4 Louvain communities
    (``networkx.community.louvain_communities(G, seed=0)``, fixed: sizes 11, 5, 14, 4, ordered by
    their smallest node); features = one-hot node identity (34 inputs, as in Kipf & Welling's
    karate example); per ``seed`` a stratified split with ``train_fraction`` of each community
    (at least one node) labelled for training, the rest for testing.

    The authors' protocol is not published beyond "karate club, five runs, final epoch" (§3.3);
    this is ours, stated beside their numbers in ``docs/qp-sbgd.md``.
    """
    import networkx as nx

    g = nx.karate_club_graph()
    communities = sorted(nx.community.louvain_communities(g, seed=0), key=min)
    y = np.empty(g.number_of_nodes(), dtype=np.int64)
    for label, nodes in enumerate(communities):
        y[list(nodes)] = label
    a = nx.to_numpy_array(g, nodelist=range(g.number_of_nodes()), weight=None)
    rng = make_rng(seed)
    train = []
    for label in range(len(communities)):
        nodes = np.flatnonzero(y == label)
        k = max(1, round(train_fraction * len(nodes)))
        train.extend(rng.choice(nodes, size=k, replace=False).tolist())
    train_idx = np.sort(np.array(train))
    test_idx = np.setdiff1d(np.arange(len(y)), train_idx)
    return KarateClub(a, np.eye(len(y), dtype=np.float32), y, train_idx, test_idx)


def binary_gcn(adjacency: Any, n_features: int, hidden: int, n_classes: int, *, seed: Any) -> Any:
    """Two binary graph convolutions: ``n_features -> hidden`` (sign weights, real one-hot
    inputs), then sign activations and ``hidden -> n_classes`` (sign weights); Glorot init."""
    from bnnlab import nn

    rng = make_rng(seed)
    return nn.Sequential(
        [
            ("gc1", nn.GraphConv(n_features, hidden, adjacency, bias=False,
                                 weight_binarizer="ste_sign", seed=rng)),
            ("gc2", nn.GraphConv(hidden, n_classes, adjacency, bias=False,
                                 weight_binarizer="ste_sign", act_binarizer="ste_sign", seed=rng)),
        ]
    )  # fmt: skip


def _masked_loss(logits: np.ndarray, y: np.ndarray, idx: np.ndarray) -> tuple[float, np.ndarray]:
    from bnnlab.nn import softmax_cross_entropy

    loss, grad = softmax_cross_entropy(logits[idx], y[idx])
    full = np.zeros_like(logits)
    full[idx] = grad
    return float(loss), full


def train_gcn(
    optimiser: str,
    *,
    seed: int,
    epochs: int = 100,
    hidden: int = 16,
    options: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Full-graph training of :func:`binary_gcn` on :func:`karate_club` (split and init from
    ``seed``); one row per epoch: ``epoch``, ``train_loss``, ``train_accuracy`` and
    ``test_accuracy`` (percent, on the labelled / unlabelled nodes), ``seconds``."""
    epochs = check_int(epochs, "epochs", minimum=1)
    data = karate_club(seed)
    ss = np.random.SeedSequence(seed).spawn(2)
    model = binary_gcn(data.adjacency, data.x.shape[1], hidden, data.n_classes, seed=ss[0])
    opt = make_optimizer(optimiser, model, seed=int(ss[1].generate_state(1)[0]), **(options or {}))
    rows = []
    for epoch in range(epochs):
        t0 = time.perf_counter()
        model.set_epoch(epoch, epochs)
        opt.set_epoch(epoch, epochs)
        logits = model.forward(data.x, True)
        loss, grad = _masked_loss(logits, data.y, data.train)
        model.backward(grad, input_grad=False)
        opt.step()
        if epoch == epochs - 1:
            opt.finalize()
        pred = model.forward(data.x, False).argmax(axis=1)
        rows.append(
            {
                "epoch": epoch + 1,
                "train_loss": loss,
                "train_accuracy": 100.0 * float((pred[data.train] == data.y[data.train]).mean()),
                "test_accuracy": 100.0 * float((pred[data.test] == data.y[data.test]).mean()),
                "seconds": time.perf_counter() - t0,
                **opt.epoch_columns(),
            }
        )
    return rows


# -- the 3-5-2 network on three binarised features ------------------------------------------------
#: the authors' learning rates of their 3-5-1 runs (§3.3); the neuron formulation shares QP-SBGD's
TINY_LR = {"qp-sbgd": 0.008, "bc-sgd": 0.01, "bc-signsgd": 0.005}


def three_features(
    dataset: str = "fashion-mnist-mini:classes=0,2:pool=4", *, n_train: int = 600
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A two-class task on three ±1 features: of ``dataset``'s features, the three whose class
    means differ most on the first ``n_train`` training samples (chosen on those only); returns
    ``(x_train, y_train, x_test, y_test)`` with the first ``n_train`` samples for training
    (the authors' 30 batches of 20, §3.3) and the whole test part."""
    from bnnlab.data import load_binary

    xtr, ytr, xte, yte = load_binary(dataset, 0)
    if int(ytr.max()) != 1:
        raise ValueError(f"dataset: expected two classes, got {int(ytr.max()) + 1}")
    xtr, ytr = xtr[:n_train], ytr[:n_train]
    diff = np.abs(xtr[ytr == 0].mean(axis=0) - xtr[ytr == 1].mean(axis=0))
    cols = np.sort(np.argsort(-diff, kind="stable")[:3])
    return xtr[:, cols], ytr, xte[:, cols], yte


def train_tiny(
    optimiser: str,
    *,
    seed: int,
    formulation: str = "lsq",
    solver: str = "exact",
    batch_size: int = 20,
    data: tuple[np.ndarray, ...] | None = None,
) -> dict[str, Any]:
    """One pass over :func:`three_features`' training part with a 3-5-2 binary network (sign
    weights in both layers, sign activations, no biases, Glorot-uniform latent weights as the
    authors', softmax over the two outputs); returns
    the final test accuracy (percent) and the mean training accuracy of the last five batches.
    QP-SBGD uses ``formulation`` (``"neuron"``: the authors' D-Wave path) and ``solver``."""
    from bnnlab import nn
    from bnnlab.nn import softmax_cross_entropy

    xtr, ytr, xte, yte = data if data is not None else three_features()
    ss = np.random.SeedSequence(seed).spawn(3)
    rng = make_rng(ss[0])
    model = nn.Sequential(
        [
            ("fc1", nn.Dense(3, 5, bias=False, weight_binarizer="ste_sign",
                             init="glorot_uniform", seed=rng)),
            ("fc2", nn.Dense(5, 2, bias=False, weight_binarizer="ste_sign",
                             act_binarizer="ste_sign", init="glorot_uniform", seed=rng)),
        ]
    )  # fmt: skip
    extra: dict[str, Any] = {"lr": TINY_LR[optimiser]} if optimiser in TINY_LR else {}
    if optimiser == "qp-sbgd":
        extra.update(formulation=formulation, solver=solver, solver_params={})
    opt = make_optimizer(optimiser, model, seed=int(ss[1].generate_state(1)[0]), **extra)
    order = make_rng(ss[2]).permutation(len(ytr))
    batch_acc = []
    for start in range(0, len(ytr) - batch_size + 1, batch_size):
        idx = order[start : start + batch_size]
        logits = model.forward(xtr[idx].astype(np.float32), True)
        batch_acc.append(float((logits.argmax(axis=1) == ytr[idx]).mean()))
        _, grad = softmax_cross_entropy(logits, ytr[idx])
        model.backward(grad, input_grad=False)
        opt.step()
    opt.finalize()
    pred = model.forward(xte.astype(np.float32), False).argmax(axis=1)
    return {
        "test_accuracy": 100.0 * float((pred == yte).mean()),
        "last_batches_accuracy": 100.0 * float(np.mean(batch_acc[-5:])),
    }


# -- solver quality on real layer problems ---------------------------------------------------------
def harvest_problems(
    dataset: str = "fashion-mnist-mini:classes=0,2:pool=4",
    *,
    width: int = 24,
    batches: int = 4,
    batch_size: int = 20,
    seed: int = 0,
    formulation: str = "lsq",
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(X, Y)`` of the second hidden layer of a ``49-width-width-2`` binary MLP trained by
    QP-SBGD for one epoch on ``dataset``, taken at ``batches`` evenly spaced steps: X are the ±1
    activations of the first hidden layer (``B x width``), Y the gradient at the second one's
    output (``B x width``) — real layer problems of ``width`` rows each."""
    from bnnlab import nn, optim
    from bnnlab.data import load_binary
    from bnnlab.nn import softmax_cross_entropy

    xtr, ytr, _, _ = load_binary(dataset, 0)
    model = nn.binary_mlp(xtr.shape[1], (width, width), int(ytr.max()) + 1, seed=seed)
    opt = optim.QPSBGD(
        optim.param_groups(model, 0.0), lr=0.1, seed=seed, formulation=formulation, gap_max_n=0,
        solver_params={"num_sweeps": 50},
    )  # fmt: skip
    param = model.binarized_layers()[1][1]._params["weight"]
    order = make_rng(seed).permutation(len(ytr))
    steps = max(1, len(ytr) // batch_size)
    keep = set(np.linspace(0, steps - 1, batches).round().astype(int).tolist())
    out: list[tuple[np.ndarray, np.ndarray]] = []
    for step in range(steps):
        idx = order[step * batch_size : (step + 1) * batch_size]
        logits = model.forward(xtr[idx].astype(np.float32), True)
        _, grad = softmax_cross_entropy(logits, ytr[idx])
        model.backward(grad, input_grad=False)
        if step in keep:
            x, y = param.factors
            out.append((np.array(x, dtype=np.float64), np.array(y, dtype=np.float64)))
        opt.step()
    return out


def solver_quality(
    problems: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    sizes: Sequence[int] = (8, 12, 16, 20, 24),
    solvers: Mapping[str, Mapping[str, Any]] | None = None,
    reads: Sequence[int] = (1, 10),
    formulation: str = "lsq",
    seed: int = 0,
) -> list[dict[str, Any]]:
    r"""Energy gap and time-to-solution of every solver on the harvested problems, restricted to
    their first ``n`` inputs for each ``n`` of ``sizes``.

    The reference energy of a row is the exact optimum for ``n <= 24`` and, above, the best
    energy any solver configuration found for it (``reference`` in the rows says which).
    ``solvers`` maps a label to ``{"sampler": alias, **params}`` (default: ``sa`` and ``sqa`` at
    100 and 1000 sweeps). One row per (label, n, reads): ``gap`` (mean over rows of the best
    read's energy minus the reference, divided by :math:`|E_{\mathrm{ref}}| + 1`), ``success``
    (fraction of rows whose best read reaches the reference to 1e-9), ``per_read`` (fraction of
    single reads that do), ``seconds`` (wall time of one solve of a whole layer), ``tts99`` (time to
    reach the reference with 99 % confidence, :math:`t_1 \ln 0.01 / \ln(1 - p)` with
    :math:`t_1` the time per read and ``p = per_read``; ``inf`` when no read did).
    """
    from bnnlab.hardware import annealing
    from bnnlab.hardware.qubo import layer_problem

    if solvers is None:
        solvers = {
            "sa-100": {"sampler": "sa", "num_sweeps": 100},
            "sa-1000": {"sampler": "sa", "num_sweeps": 1000},
            "sqa-100": {"sampler": "sqa", "num_sweeps": 100},
            "sqa-1000": {"sampler": "sqa", "num_sweeps": 1000},
        }
    rng = make_rng(seed)
    rows: list[dict[str, Any]] = []
    for n in sizes:
        n = check_int(n, "sizes", minimum=1)
        cases = []
        for x, y in problems:
            if x.shape[1] < n:
                raise ValueError(f"sizes: a harvested problem has only {x.shape[1]} inputs (< {n})")
            cases.append(layer_problem(x[:, :n], y, formulation=formulation, alpha="auto"))
        runs: dict[tuple[str, int], list[tuple[np.ndarray, float]]] = {}
        for label, spec in solvers.items():
            params = dict(spec)
            sampler = params.pop("sampler")
            for r in reads:
                runs[label, r] = []
                for p in cases:
                    res = annealing.solve(p, sampler, num_reads=r, seed=rng, **params)
                    runs[label, r].append((res.energies, res.seconds))
        if n <= 24:
            refs = [annealing.solve(p, "exact").energies[:, 0] for p in cases]
        else:
            refs = [
                np.min([run[c][0].min(axis=1) for run in runs.values()], axis=0)
                for c in range(len(cases))
            ]
        for (label, r), run in runs.items():
            gaps, success, per_read, seconds = [], [], [], 0.0
            for (energies, secs), ref in zip(run, refs, strict=True):
                ok = energies <= ref[:, None] + 1e-9 * (1 + np.abs(ref[:, None]))
                gaps.extend((energies.min(axis=1) - ref) / (np.abs(ref) + 1.0))
                success.extend(ok.any(axis=1))
                per_read.append(ok.mean())
                seconds += secs
            p_read = float(np.mean(per_read))
            t = seconds / len(run)
            t1 = t / r
            if p_read >= 1:
                tts = t1
            elif p_read == 0:
                tts = math.inf
            else:
                tts = t1 * math.log(0.01) / math.log(1 - p_read)
            rows.append(
                {
                    "solver": label,
                    "n": n,
                    "reads": r,
                    "reference": "exact" if n <= 24 else "best found",
                    "gap": float(np.mean(gaps)),
                    "success": float(np.mean(success)),
                    "per_read": p_read,
                    "seconds": t,
                    "tts99": tts,
                }
            )
    return rows
