"""Evaluation passes: loss and metrics over a split; for `learnai eval`, in the same pass, the confusion matrix and
the samples with the highest loss (ErrorAnalysis)."""

from __future__ import annotations

import contextlib
import copy
from typing import Any, Optional

import torch

from learnai_cli.engine.device import weighted_loss
from learnai_cli.metrics import MetricAccumulator, prediction_classes

TOP_K = 16  # the highest-loss samples an evaluation keeps


@torch.no_grad()
def evaluate(
    model, batches, loss_fn, task: str, from_logits: bool, autocast=contextlib.nullcontext, analysis=None
) -> dict[str, float]:
    """Mean loss and the task's metrics; on a GPU the sums stay there until one sync at the end. An ErrorAnalysis
    given as `analysis` sees every batch's outputs in the same pass."""
    model.eval()
    metrics = MetricAccumulator(task, from_logits)
    loss_sum, count = None, 0
    for inputs, targets in batches:
        with autocast():
            outputs = model(inputs)
            batch_loss = weighted_loss(loss_fn(outputs, targets), targets.shape[0])
            if analysis is not None:
                analysis.update(outputs, targets)
        loss_sum = batch_loss if loss_sum is None else loss_sum + batch_loss
        count += targets.shape[0]
        metrics.update(outputs, targets)
    if loss_sum is None:
        return {}
    return {"loss": float(loss_sum) / count, **metrics.compute()}


class ErrorAnalysis:
    """What eval's error analysis needs, gathered batch by batch on the device: the confusion matrix (classifiers)
    and the `top_k` samples the model got most wrong (highest loss; for a regression, the largest absolute error),
    with their index in the split, outputs and targets. Samples with several labels each (a label per time step)
    get the confusion matrix only."""

    def __init__(self, loss_fn, task: str, from_logits: bool, num_classes: Optional[int], top_k: int = TOP_K):
        self.task, self.from_logits, self.num_classes, self.top_k = task, from_logits, num_classes, top_k
        self.per_sample = _unreduced(loss_fn)
        self.loss_fn = loss_fn
        self.counts: Optional[torch.Tensor] = None
        self.seen = 0
        self.ranked = True  # False once a batch has several labels per sample
        self.top: Optional[tuple[torch.Tensor, ...]] = None  # (scores, indices, outputs, targets)

    def update(self, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        outputs = outputs.detach()
        size = targets.shape[0]
        if self.num_classes:
            predicted = prediction_classes(outputs, self.task, self.from_logits)
            pairs = targets.reshape(-1).long() * self.num_classes + predicted
            counts = torch.bincount(pairs, minlength=self.num_classes**2)
            self.counts = counts if self.counts is None else self.counts + counts
        self.ranked = self.ranked and targets[:size].reshape(size, -1).shape[1] == 1
        if self.ranked:
            self._keep_highest(self._scores(outputs, targets), outputs, targets)
        self.seen += size

    def _scores(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """One number per sample, higher = more wrong: its loss, or its absolute error for a regression."""
        size = targets.shape[0]
        if self.task == "regression":
            return (outputs.float() - targets.float().view_as(outputs)).abs().reshape(size, -1).mean(dim=1)
        if self.per_sample is not None:
            try:
                losses = self.per_sample(outputs, targets)
            except Exception:  # a plugin's loss with a `reduction` it does not take "none" for
                losses, self.per_sample = None, None
            if isinstance(losses, torch.Tensor) and losses.dim() > 0 and losses.shape[0] == size:
                return losses.float().reshape(size, -1).mean(dim=1)
        # a loss with no per-sample form (a plugin's function): one sample at a time
        each = [self.loss_fn(outputs[i : i + 1], targets[i : i + 1]) for i in range(size)]
        return torch.stack([torch.as_tensor(loss, device=outputs.device).float().mean() for loss in each])

    def _keep_highest(self, scores, outputs, targets) -> None:
        indices = torch.arange(self.seen, self.seen + scores.shape[0], device=scores.device)
        batch = (scores.nan_to_num(nan=float("inf")), indices, outputs.float(), targets)
        if self.top is not None:
            batch = tuple(torch.cat([kept, new]) for kept, new in zip(self.top, batch))
        order = batch[0].topk(min(self.top_k, batch[0].shape[0])).indices
        self.top = tuple(part[order] for part in batch)

    def result(self) -> dict[str, Any]:
        """confusion_matrix (counts[true][predicted]; classifiers) and highest (score, index, outputs, targets on the
        CPU, the highest first; an empty list where samples have several labels)."""
        found: dict[str, Any] = {}
        if self.counts is not None:
            found["confusion_matrix"] = self.counts.view(self.num_classes, self.num_classes).cpu().tolist()
        found["highest"] = []
        if self.ranked and self.top is not None:
            scores, indices, outputs, targets = (part.cpu() for part in self.top)
            found["highest"] = [
                (float(s), int(i), o, t) for s, i, o, t in zip(scores.tolist(), indices.tolist(), outputs, targets)
            ]
        return found


def _unreduced(loss_fn):
    """A copy of a torch loss module that gives one loss per sample (reduction "none"), or None for other losses."""
    if not isinstance(loss_fn, torch.nn.Module) or not isinstance(getattr(loss_fn, "reduction", None), str):
        return None
    unreduced = copy.copy(loss_fn)
    unreduced.reduction = "none"
    return unreduced
