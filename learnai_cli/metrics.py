"""Validation metrics, each returning (sum, count): the sum a tensor that accumulates on the device, the count a number
known on the host."""

from __future__ import annotations

import torch

from learnai_cli.registry import METRICS

# Which metrics are recorded for each dataset task (as val_<name>).
TASK_METRICS = {
    "classification": ("accuracy",),
    "binary": ("accuracy",),
    "regression": ("mse", "mae"),
}


def names_for_task(task: str) -> tuple[str, ...]:
    return TASK_METRICS[task]


def prediction_classes(outputs: torch.Tensor, task: str, from_logits: bool) -> torch.Tensor:
    """Class ids, flattened: argmax over the class dimension (1, so per-step outputs (N, C, T) work), or a 0/1
    threshold."""
    if task == "binary":
        threshold = 0.0 if from_logits else 0.5
        return (outputs > threshold).long().view(-1)
    return outputs.argmax(dim=1).reshape(-1)


@METRICS.register("accuracy")
def accuracy(predicted: torch.Tensor, targets: torch.Tensor):
    """Fraction of samples whose predicted class equals the target."""
    return (predicted.reshape(-1) == targets.reshape(-1).long()).sum(), targets.numel()


@METRICS.register("mse")
def mean_squared_error(outputs: torch.Tensor, targets: torch.Tensor):
    """Mean squared error over every output element."""
    difference = outputs.float() - targets.float().view_as(outputs)
    return difference.pow(2).sum(), difference.numel()


@METRICS.register("mae")
def mean_absolute_error(outputs: torch.Tensor, targets: torch.Tensor):
    """Mean absolute error over every output element."""
    difference = outputs.float() - targets.float().view_as(outputs)
    return difference.abs().sum(), difference.numel()


class MetricAccumulator:
    """Sums metrics on the device over batches; one host sync when `compute` is called."""

    def __init__(self, task: str, from_logits: bool):
        self.task = task
        self.from_logits = from_logits
        self.names = names_for_task(task)
        self.sums: dict[str, torch.Tensor] = {}
        self.counts: dict[str, int] = {}

    def update(self, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        outputs = outputs.detach()
        if self.task in ("classification", "binary"):
            outputs = prediction_classes(outputs, self.task, self.from_logits)
        for name in self.names:
            total, count = METRICS.get(name).builder(outputs, targets)
            previous = self.sums.get(name)
            self.sums[name] = total if previous is None else previous + total
            self.counts[name] = self.counts.get(name, 0) + count

    def compute(self) -> dict[str, float]:
        if not self.sums:
            return {}
        totals = torch.stack([self.sums[name].double() for name in self.names]).tolist()  # the one host sync
        return {name: total / self.counts[name] for name, total in zip(self.names, totals)}
