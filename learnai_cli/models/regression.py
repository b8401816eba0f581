"""Linear models: linear (and, with polynomial features, polynomial) regression."""

from __future__ import annotations

from torch import nn

from learnai_cli.registry import MODELS, PositiveCount


class LinearRegression(nn.Module):
    """y = x·W + b: one nn.Linear, as in the curriculum's LinearRegression(n_in, n_out)."""

    def __init__(self, n_in: int, n_out: int):
        super().__init__()
        self.linear = nn.Linear(n_in, n_out)

    def forward(self, x):
        return self.linear(x)


def polynomial_coefficients(model: LinearRegression) -> list[float] | None:
    """Bias then weights: on features [x, x², ...] a one-output linear model is a polynomial, lowest power first."""
    if model.linear.out_features != 1:
        return None
    return [float(model.linear.bias.detach()[0]), *model.linear.weight.detach().view(-1).tolist()]


@MODELS.register("linear_regression", polynomial=polynomial_coefficients)
def linear_regression(n_in: PositiveCount = 1, n_out: PositiveCount = 1) -> nn.Module:
    """Linear regression y = x·W + b (use polynomial features in the data for polynomial fits)."""
    return LinearRegression(n_in, n_out)


@MODELS.register("logistic_regression")
def logistic_regression(n_in: PositiveCount = 1, n_out: PositiveCount = 1) -> nn.Module:
    """Logistic regression: a linear layer and a sigmoid, giving probabilities for binary cross-entropy (bce)."""
    return nn.Sequential(LinearRegression(n_in, n_out), nn.Sigmoid())
