"""Divergence: a training run whose numbers stopped being numbers. The trainer checks the loss itself (against
train.divergence_factor); these are the checks that need no settings: validation and the weights."""

from __future__ import annotations

import math
from typing import Optional

import torch

from learnai_cli.engine.train_state import TrainState


class Diverged(Exception):
    """The training loss (or, with grad_clip, the gradient norm, or a validation loss or metric) became NaN or
    infinite, or the loss exploded past train.divergence_factor."""

    def __init__(self, epoch: int, step: int, last_finite_loss: Optional[float], reason: str = "loss became NaN/inf"):
        self.epoch, self.step, self.last_finite_loss = epoch, step, last_finite_loss
        last = f"last finite loss: {last_finite_loss:.3g}" if last_finite_loss is not None else "no finite loss seen"
        super().__init__(f"{reason} at epoch {epoch}, step {step} ({last})")


def nonfinite_validation(values: dict[str, float], state: TrainState) -> dict[str, float]:
    """`values`, or Diverged on a NaN/inf validation loss or metric: the weights after the last steps (the run's last
    included) give non-finite outputs, so nothing of this epoch may become best.pt, last.pt or a result."""
    for name, value in values.items():
        if value is not None and not math.isfinite(value):
            reason = f"the validation {name} became {value} (the weights blew up in the last steps)"
            raise Diverged(state.epoch, state.step, state.last_finite_loss, reason=reason)
    return values


def nonfinite_weights(model: torch.nn.Module, state: TrainState) -> None:
    """Diverged when a weight is NaN/inf (one device sync, only before a checkpoint no validation checked): the loss
    is measured before each step, so the last step's explosion shows only in the weights."""
    checks = [torch.isfinite(p).all() for p in model.parameters()]
    if checks and not bool(torch.stack(checks).all()):
        reason = "the weights became NaN/inf in the last steps"
        raise Diverged(state.epoch, state.step, state.last_finite_loss, reason=reason)
