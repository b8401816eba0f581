"""Does the model's output suit the loss? Checked on the first batch, before a run starts, so a config that
cannot learn (cross-entropy over one output, nll without log_softmax, bce on logits) is a config error with the
fix, and a pairing that is legal but almost always a mistake is a warning the user sees before the first epoch."""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from learnai_cli.log import logger

ENDINGS = {nn.Sigmoid: "a sigmoid", nn.Softmax: "a softmax", nn.LogSoftmax: "a log_softmax"}


def check_output_fits_loss(
    loss_name: str, model: nn.Module, outputs: torch.Tensor, task: Optional[str] = None
) -> Optional[str]:
    """A message saying what to change when the output cannot train with this loss; None when it can. `task`: the
    data's (a classification dataset gives class labels, so a one-output yes/no set-up is not for it)."""
    if not isinstance(outputs, torch.Tensor) or not outputs.is_floating_point() or outputs.numel() == 0:
        return None
    values = outputs.detach().float()
    low, high = float(values.min()), float(values.max())
    ending = _ending(model)
    if ending in ("a softmax", "a log_softmax") and values.dim() >= 2 and values.shape[1] == 1:
        return (
            f"the model ends in {ending} over 1 output, which is constant (softmax 1, log_softmax 0), so nothing "
            "can be learned: for one output use a sigmoid (mlp: model.output_activation=sigmoid) with loss bce, "
            "or raw outputs with bce_with_logits"
        )
    if loss_name == "cross_entropy" and values.dim() >= 2 and values.shape[1] == 1:
        yes_no = (
            ""
            if task == "classification"
            else (", or for a yes/no task use loss bce_with_logits (or bce after a sigmoid) with 1 output")
        )
        return (
            "loss cross_entropy needs one output per class, but the model gives 1 output (its loss is always 0): "
            f"set the model's output size to the number of classes{yes_no}"
        )
    if loss_name == "nll" and not _log_probabilities(values):
        return (
            f"loss nll expects log-probabilities (a model ending in log_softmax), but the outputs range from {low:.3g} "
            f"to {high:.3g}: end the model in log_softmax (mlp: model.output_activation=log_softmax), or use loss "
            "cross_entropy on raw outputs"
        )
    if loss_name == "bce" and (low < 0 or high > 1):
        return (
            f"loss bce expects probabilities in [0, 1] (a model ending in a sigmoid), but the outputs range from "
            f"{low:.3g} to {high:.3g}: use loss bce_with_logits on raw outputs, or end the model in a sigmoid "
            "(mlp: model.output_activation=sigmoid)"
        )
    if loss_name in ("cross_entropy", "bce_with_logits") and ending is not None:
        logger.warning(
            f"the model ends in {ending} but loss {loss_name} applies its own on raw outputs, which slows or stops "
            "learning: remove the model's final activation (mlp: model.output_activation=none)"
        )
    return None


def _log_probabilities(values: torch.Tensor) -> bool:
    """Every row is a log-distribution: all values <= 0 and their exponentials sum to 1 over the class dimension."""
    if values.dim() < 2 or float(values.max()) > 1e-4:
        return False
    return bool(torch.allclose(values.exp().sum(dim=1), torch.ones(()), atol=1e-3))


def _ending(model: nn.Module) -> Optional[str]:
    """'a sigmoid' when the model's last layer is one of the activations a loss would apply again."""
    leaves = [module for module in model.modules() if not list(module.children())]
    return ENDINGS.get(type(leaves[-1])) if leaves else None
