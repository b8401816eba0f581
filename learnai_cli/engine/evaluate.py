"""Evaluation passes: loss and metrics over a split, and the confusion matrix."""

from __future__ import annotations

import contextlib

import torch

from learnai_cli.engine.device import weighted_loss
from learnai_cli.metrics import MetricAccumulator, prediction_classes


@torch.no_grad()
def evaluate(
    model, batches, loss_fn, task: str, from_logits: bool, autocast=contextlib.nullcontext
) -> dict[str, float]:
    """Mean loss and the task's metrics; on a GPU the sums stay there until one sync at the end."""
    model.eval()
    metrics = MetricAccumulator(task, from_logits)
    loss_sum, count = None, 0
    for inputs, targets in batches:
        with autocast():
            outputs = model(inputs)
            batch_loss = weighted_loss(loss_fn(outputs, targets), targets.shape[0])
        loss_sum = batch_loss if loss_sum is None else loss_sum + batch_loss
        count += targets.shape[0]
        metrics.update(outputs, targets)
    if loss_sum is None:
        return {}
    return {"loss": float(loss_sum) / count, **metrics.compute()}


@torch.no_grad()
def confusion_matrix(
    model, batches, task: str, from_logits: bool, num_classes: int, autocast=contextlib.nullcontext
) -> list[list[int]]:
    """counts[true][predicted] over a split."""
    model.eval()
    counts = None
    for inputs, targets in batches:
        with autocast():
            outputs = model(inputs)
        predicted = prediction_classes(outputs, task, from_logits)
        pairs = targets.reshape(-1).long() * num_classes + predicted
        batch_counts = torch.bincount(pairs, minlength=num_classes * num_classes)
        counts = batch_counts if counts is None else counts + batch_counts
    if counts is None:
        return []
    return counts.view(num_classes, num_classes).cpu().tolist()
