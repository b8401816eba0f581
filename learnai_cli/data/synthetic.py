"""Synthetic datasets generated from a seed: lines, polynomials, the 6-sample toy classes."""

from __future__ import annotations

import functools
from typing import Annotated, Optional

import torch
from pydantic import Field

from learnai_cli.data.splits import FLOAT32_MAX, DatasetSplits, TensorSplit, parse_row
from learnai_cli.registry import DATASETS, ArgumentError, NonNegativeFloat, PositiveCount, SampleCount

MAX_DEGREE = 20  # a polynomial for a lesson; x^k of a wider x range is checked for overflow where it is made
# c0 + c1*x at least: a constant alone leaves no feature to learn from
Coefficients = Annotated[list[float], Field(min_length=2, max_length=MAX_DEGREE + 1)]
Degree = Annotated[PositiveCount, Field(le=MAX_DEGREE)]


def _finite(x: torch.Tensor, y: torch.Tensor, scale: str) -> TensorSplit:
    """The generated samples, which float32 must hold: x^k of a wide range, or a huge `scale` argument, overflows."""
    if not torch.isfinite(x).all():
        raise ArgumentError("x_max", "the generated features overflow float32 (beyond ±3.4e38): use a smaller x range")
    if not torch.isfinite(y).all():
        raise ArgumentError(scale, f"the generated targets overflow float32 (beyond ±3.4e38): use a smaller {scale}")
    return TensorSplit(x, y)


def _check_range(x_min: float, x_max: float) -> None:
    for name, value in (("x_min", x_min), ("x_max", x_max)):
        if abs(value) > FLOAT32_MAX:
            raise ArgumentError(name, f"{name} ({value:g}) is beyond float32's range (±3.4e38)")
    if x_min >= x_max:
        raise ArgumentError("x_min", f"x_min ({x_min}) must be below x_max ({x_max})")


@DATASETS.register("linear", task="regression")
def linear(
    n: SampleCount = 10_000,
    weight: float = 2.0,
    bias: float = 1.0,
    noise: NonNegativeFloat = 0.1,
    x_min: float = 0.0,
    x_max: float = 2.0,
    seed: int = 0,
) -> DatasetSplits:
    """Points on y = weight*x + bias with Gaussian noise whose spread grows with x."""
    _check_range(x_min, x_max)
    generator = torch.Generator().manual_seed(seed)
    x = torch.empty(n, 1).uniform_(x_min, x_max, generator=generator)
    y = weight * x + bias + noise * x.abs() * torch.randn(n, 1, generator=generator)
    x_size = max(abs(x_min), abs(x_max))
    largest = max((abs(weight) * x_size, "weight"), (abs(bias), "bias"), (abs(noise) * x_size, "noise"))[1]
    return DatasetSplits(
        train=_finite(x, y, largest), info={"true_weight": weight, "true_bias": bias}, continuous_inputs=True
    )


@DATASETS.register("polynomial", task="regression")
def polynomial(
    n: SampleCount = 1_000,
    coefficients: Optional[Coefficients] = (1.0, 2.0, 3.0),
    degree: Optional[Degree] = None,
    noise: NonNegativeFloat = 0.1,
    x_min: float = -1.0,
    x_max: float = 1.0,
    seed: int = 0,
) -> DatasetSplits:
    """y = c0 + c1*x + ... + ck*x^k + noise, with features [x, x^2, ..., x^degree] (coefficients lowest first; null
    draws random ones)."""
    _check_range(x_min, x_max)
    generator = torch.Generator().manual_seed(seed)
    if coefficients is None:
        coefficients = torch.randn(1 + (degree or 4), generator=generator).tolist()
    degree = degree or len(coefficients) - 1
    x = torch.empty(n, 1).uniform_(x_min, x_max, generator=generator)
    features = torch.cat([x**power for power in range(1, degree + 1)], dim=1)
    powers = torch.cat([torch.ones(n, 1), x ** torch.arange(1, len(coefficients)).float()], dim=1)
    y = powers @ torch.tensor(coefficients, dtype=torch.float32).view(-1, 1)
    y = y + noise * torch.randn(n, 1, generator=generator)
    return DatasetSplits(
        train=_finite(features, y, "coefficients"),
        info={"true_coefficients": list(coefficients)},
        encode_input=functools.partial(polynomial_input, degree=degree),
        continuous_inputs=True,
    )


def polynomial_input(text: str, degree: int) -> torch.Tensor:
    """For `learnai predict`: one x, as the features [x, x^2, ..., x^degree] the model was trained on."""
    x = parse_row(text, ["x"])
    return torch.cat([x**power for power in range(1, degree + 1)], dim=1)


@DATASETS.register("curve", task="regression")
def curve(
    n: SampleCount = 1_000, noise: NonNegativeFloat = 0.05, x_min: float = -4.0, x_max: float = 4.0, seed: int = 0
) -> DatasetSplits:
    """A wavy curve no polynomial is given for, y = sin(2x)·exp(-x²/8) + noise (the curriculum's GeneralFit)."""
    _check_range(x_min, x_max)
    generator = torch.Generator().manual_seed(seed)
    x = torch.empty(n, 1).uniform_(x_min, x_max, generator=generator)
    y = torch.sin(2 * x) * torch.exp(-(x**2) / 8) + noise * torch.randn(n, 1, generator=generator)
    return DatasetSplits(train=_finite(x, y, "noise"), continuous_inputs=True)


@DATASETS.register("pass_fail", task="binary")
def pass_fail(
    n: SampleCount = 400, threshold: float = 5.0, spread: NonNegativeFloat = 1.0, seed: int = 0
) -> DatasetSplits:
    """Hours studied (0-10) and whether the exam was passed: 1 when hours + noise > threshold (for logistic
    regression)."""
    generator = torch.Generator().manual_seed(seed)
    hours = torch.empty(n, 1).uniform_(0, 10, generator=generator)
    passed = (hours + spread * torch.randn(n, 1, generator=generator) > threshold).float()
    return DatasetSplits(train=TensorSplit(hours, passed), class_names=["failed", "passed"], continuous_inputs=True)


TOY_INPUTS = [[0, 0], [1, 0], [1, 1], [0, 0], [0, 0], [0, 1]]
TOY_LABELS = [0, 1, 2, 0, 0, 2]


@DATASETS.register("toy_classes", task="classification")
def toy_classes() -> DatasetSplits:
    """The curriculum's 6 samples of 2 features in 3 classes; val and test are the same 6 (it measures fit)."""
    split = TensorSplit(torch.tensor(TOY_INPUTS, dtype=torch.float32), torch.tensor(TOY_LABELS))
    return DatasetSplits(train=split, val=split, test=split, class_names=["class 0", "class 1", "class 2"])
