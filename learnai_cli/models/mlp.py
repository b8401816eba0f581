"""Multi-layer perceptrons: stacks of linear layers with an activation between them."""

from __future__ import annotations

from typing import Literal, Union

from torch import nn

from learnai_cli.registry import MODELS, FractionBelow1, PositiveCount

Activation = Literal["relu", "tanh", "sigmoid", "gelu", "leaky_relu"]
OutputActivation = Literal["none", "sigmoid", "softmax", "log_softmax"]

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU, "leaky_relu": nn.LeakyReLU}


def output_layer(name: OutputActivation) -> nn.Module:
    """The final activation: none (logits / raw values), sigmoid, softmax or log_softmax."""
    return {
        "none": nn.Identity(),
        "sigmoid": nn.Sigmoid(),
        "softmax": nn.Softmax(dim=-1),
        "log_softmax": nn.LogSoftmax(dim=-1),
    }[name]


@MODELS.register("mlp")
def mlp(
    in_features: PositiveCount,
    out_features: PositiveCount,
    hidden: Union[PositiveCount, list[PositiveCount]] = (64,),
    activation: Activation = "relu",
    output_activation: OutputActivation = "none",
    dropout: FractionBelow1 = 0.0,
) -> nn.Module:
    """Fully connected network in -> hidden... -> out; images are flattened first (784 for MNIST)."""
    sizes = [in_features] + ([hidden] if isinstance(hidden, int) else list(hidden))
    layers: list[nn.Module] = [nn.Flatten()]
    for n_in, n_out in zip(sizes, sizes[1:]):
        layers += [nn.Linear(n_in, n_out), ACTIVATIONS[activation]()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
    layers += [nn.Linear(sizes[-1], out_features), output_layer(output_activation)]
    return nn.Sequential(*layers)
