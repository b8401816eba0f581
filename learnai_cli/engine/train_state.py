"""A training loop's progress: what a checkpoint must carry to resume exactly."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import torch


@dataclass
class TrainState:
    """Everything about progress that a checkpoint must carry to resume exactly."""

    epoch: int = 0  # the epoch in progress (batches_done > 0) or the last finished one
    step: int = 0  # optimizer steps so far
    batches_done: int = 0  # batches of `epoch` already trained; 0 at an epoch boundary
    best_value: Optional[float] = None
    best_epoch: Optional[int] = None
    best_val_loss: Optional[float] = None  # the best epoch's val_loss: a tie on another monitor goes to the lower
    epochs_without_improvement: int = 0
    last_finite_loss: Optional[float] = None
    nonfinite_steps_skipped: int = 0
    first_loss: Optional[float] = None  # the loss of the very first step: the scale divergence is judged against
    # Running sums of the epoch in progress (sample-weighted losses): numbers on the CPU, tensors on a GPU.
    epoch_loss: Optional[torch.Tensor | float] = None
    epoch_samples: int = 0
    interval_loss: Optional[torch.Tensor | float] = None
    interval_samples: int = 0
    epoch_seconds: float = 0.0

    SUMS = ("epoch_loss", "interval_loss")

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k not in self.SUMS}
        data.update({k: _on_cpu(getattr(self, k)) for k in self.SUMS})
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], device: torch.device) -> "TrainState":
        values = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for key in cls.SUMS:
            if isinstance(values.get(key), torch.Tensor):
                values[key] = values[key].to(device)
        return cls(**values)

    def start_epoch(self, epoch: int) -> None:
        self.epoch, self.batches_done, self.epoch_seconds = epoch, 0, 0.0
        self.epoch_loss, self.epoch_samples = None, 0
        self.interval_loss, self.interval_samples = None, 0


def _on_cpu(value: Optional[torch.Tensor | float]) -> Optional[torch.Tensor | float]:
    return value.detach().cpu() if isinstance(value, torch.Tensor) else value
