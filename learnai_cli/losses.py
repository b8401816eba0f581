"""Loss functions by snake_case name: the torch.nn losses the curriculum uses. Each says what it takes (`outputs=`):
raw scores, probabilities, log-probabilities, or values compared with the targets (experiment/outputs.py)."""

from __future__ import annotations

from typing import Literal

from torch import nn

from learnai_cli.registry import LOSSES, Fraction, NonNegativeFloat, PositiveFloat

Reduction = Literal["mean", "sum"]


@LOSSES.register("mse", outputs="target_values")
def mse(reduction: Reduction = "mean") -> nn.Module:
    """Mean squared error (nn.MSELoss), the regression default."""
    return nn.MSELoss(reduction=reduction)


@LOSSES.register("l1", outputs="target_values")
def l1(reduction: Reduction = "mean") -> nn.Module:
    """Mean absolute error (nn.L1Loss)."""
    return nn.L1Loss(reduction=reduction)


@LOSSES.register("smooth_l1", outputs="target_values")
def smooth_l1(beta: NonNegativeFloat = 1.0, reduction: Reduction = "mean") -> nn.Module:
    """Smooth L1 (nn.SmoothL1Loss): squared below beta, absolute above; robust to outliers."""
    return nn.SmoothL1Loss(beta=beta, reduction=reduction)


@LOSSES.register("huber", outputs="target_values")
def huber(delta: PositiveFloat = 1.0, reduction: Reduction = "mean") -> nn.Module:
    """Huber loss (nn.HuberLoss): like smooth L1 but scaled by delta."""
    return nn.HuberLoss(delta=delta, reduction=reduction)


@LOSSES.register("cross_entropy", outputs="logits")
def cross_entropy(label_smoothing: Fraction = 0.0, reduction: Reduction = "mean") -> nn.Module:
    """Cross-entropy on raw logits (nn.CrossEntropyLoss = log_softmax + NLL), for classification."""
    return nn.CrossEntropyLoss(label_smoothing=label_smoothing, reduction=reduction)


@LOSSES.register("nll", outputs="log_probabilities")
def nll(reduction: Reduction = "mean") -> nn.Module:
    """Negative log-likelihood (nn.NLLLoss); the model must end in log_softmax."""
    return nn.NLLLoss(reduction=reduction)


@LOSSES.register("bce", outputs="probabilities")
def bce(reduction: Reduction = "mean") -> nn.Module:
    """Binary cross-entropy on probabilities (nn.BCELoss); the model must end in a sigmoid."""
    return nn.BCELoss(reduction=reduction)


@LOSSES.register("bce_with_logits", outputs="logits")
def bce_with_logits(reduction: Reduction = "mean") -> nn.Module:
    """Binary cross-entropy on raw logits (nn.BCEWithLogitsLoss); numerically safer than sigmoid + bce."""
    return nn.BCEWithLogitsLoss(reduction=reduction)


@LOSSES.register("kl_div", outputs="log_probabilities")
def kl_div(reduction: Literal["batchmean", "sum", "mean"] = "batchmean", log_target: bool = False) -> nn.Module:
    """KL divergence (nn.KLDivLoss); inputs are log-probabilities, targets probabilities."""
    return nn.KLDivLoss(reduction=reduction, log_target=log_target)
