"""Latent-weight layers with hand-written backward passes, binarizers, loss and small BNN models.

Layers have an explicit ``forward(x, train)`` (storing caches in training mode) and
``backward(grad)`` (returning the input gradient, writing each parameter's ``grad``). Arrays may be
numpy or cupy (``model.to(cupy)``); the code is written against the array namespace.

Analysis hooks find the binarized layers with ``model.binarized_layers() -> [(name, layer)]``;
each layer has ``layer.weight`` (latent), ``layer.binary_weight()`` (forward binary weight) and
``layer.weight_binarizer``.
"""

from bnnlab.nn import binarizers, gradcheck, init
from bnnlab.nn._module import Layer, Parameter, Sequential
from bnnlab.nn._summary import summary
from bnnlab.nn.graph import GraphConv, normalized_adjacency
from bnnlab.nn.linear import Conv2d, Dense
from bnnlab.nn.loss import softmax_cross_entropy
from bnnlab.nn.models import binary_cnn, binary_mlp
from bnnlab.nn.norm import BatchNorm1d, BatchNorm2d
from bnnlab.nn.shape import Flatten, MaxPool2d, Reshape

__all__ = [
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv2d",
    "Dense",
    "Flatten",
    "GraphConv",
    "Layer",
    "MaxPool2d",
    "Parameter",
    "Reshape",
    "Sequential",
    "binarizers",
    "binary_cnn",
    "binary_mlp",
    "gradcheck",
    "init",
    "normalized_adjacency",
    "softmax_cross_entropy",
    "summary",
]
