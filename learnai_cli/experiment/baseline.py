"""The trivial baseline of every run: what a model that ignores its inputs scores, so a result can be judged.

Regression: always predicting the training targets' mean (their median for an L1-type loss, which the median
minimises), scored with the run's own loss and metrics. Classification: always answering the training split's most
common class (its accuracy), and the loss of a model that gives every class the same probability (chance). Computed
on the validation and test splits from their labels alone (no inputs are read), recorded in meta.json.
"""

from __future__ import annotations

import math
from typing import Any, Optional

import torch

from learnai_cli.data.splits import split_targets
from learnai_cli.experiment.outputs import LOG_PROBABILITIES, LOGITS, PROBABILITIES, TARGET_VALUES

MEDIAN_LOSSES = ("l1", "smooth_l1", "huber")  # losses the median of the targets minimises (or nearly)


def compute_baseline(experiment, output_shape: tuple[int, ...]) -> Optional[dict[str, Any]]:
    """{"predictor": in words, "val": {...}, "test": {...}}: the trivial predictor's loss and metrics per split
    (`output_shape`: one sample's model output, as the fit check saw it); None when the labels cannot be read."""
    train = _targets(experiment.data.train)
    if train is None or train.numel() == 0:
        return None
    if experiment.task == "regression":
        predictor, constant = _regression_predictor(experiment, train)
    elif experiment.output_kind == TARGET_VALUES:  # a regression loss on 0/1 labels: its best constant, not chance
        predictor, constant = _class_predictor(experiment, train, output_shape)
        constant = _regression_predictor(experiment, train)[1].reshape(output_shape or (1,))
    else:
        predictor, constant = _class_predictor(experiment, train, output_shape)
    scored = {"predictor": predictor["text"]}
    if predictor["kind"] == "class":  # its loss is chance's: the majority answer has no probabilities of its own
        scored["loss_predictor"] = "every class equally likely (chance)"
    for name in ("val", "test"):
        targets = _targets(getattr(experiment.data, name))
        if targets is not None and targets.numel():
            scored[name] = _score(experiment, predictor, constant, targets, output_shape)
    return scored if len(scored) > 1 else None


def _targets(split) -> Optional[torch.Tensor]:
    targets = split_targets(split) if split is not None and len(split) else None
    return targets.detach().cpu() if isinstance(targets, torch.Tensor) else None


def _regression_predictor(experiment, train: torch.Tensor) -> tuple[dict[str, Any], torch.Tensor]:
    values = train.float().reshape(train.shape[0], -1)
    median = experiment.experiment_config.loss.name in MEDIAN_LOSSES
    centre = values.median(dim=0).values if median else values.mean(dim=0)
    shown = ", ".join(f"{v:.4g}" for v in centre.tolist()[:4])
    text = f"always predicting the training targets' {'median' if median else 'mean'} ({shown})"
    return {"text": text, "kind": "regression"}, centre


def _class_predictor(experiment, train: torch.Tensor, output_shape: tuple[int, ...]) -> tuple[dict, torch.Tensor]:
    labels = train.long().reshape(-1)
    counts = torch.bincount(labels.clamp(min=0))
    majority = int(counts.argmax())
    names = experiment.data.class_names
    name = names[majority] if names and majority < len(names) else str(majority)
    share = float(counts[majority]) / labels.numel()
    text = f"always answering '{name}' ({share:.1%} of the training labels)"
    classes = 2 if experiment.task == "binary" else data_classes(names, int(counts.numel()))
    chance = _chance_outputs(experiment.output_kind, experiment.task, classes, output_shape)
    return {"text": text, "kind": "class", "majority": majority, "majority_name": name, "share": share}, chance


def data_classes(names: Optional[list], labelled: int) -> int:
    """The classes the data has: its class names where it names them, else the highest training label + 1. Never
    the model's output count: extra outputs are classes no sample has, and chance is log(the data's classes)."""
    return len(names) if names else labelled


def _chance_outputs(kind: str, task: str, classes: int, output_shape: tuple[int, ...]) -> torch.Tensor:
    """One sample's output that gives each of the data's classes the same probability, as the model's outputs are
    read; outputs beyond the data's classes (the first dimension) get none (a logit 30 below: e^-30, finite, so a
    label-smoothed loss stays finite)."""
    if kind == LOGITS:
        value, none = 0.0, -30.0
    elif kind == LOG_PROBABILITIES:
        value, none = math.log(1 / classes), math.log(1 / classes) - 30.0
    elif kind == PROBABILITIES and task != "binary":
        value, none = 1 / classes, 0.0
    else:  # a binary probability or estimate of the 0/1 label
        return torch.full(output_shape or (1,), 0.5)
    outputs = torch.full(output_shape or (1,), value)
    if output_shape and task != "binary" and output_shape[0] > classes:
        outputs[classes:] = none
    return outputs


def _score(experiment, predictor, constant: torch.Tensor, targets: torch.Tensor, output_shape) -> dict[str, Any]:
    # an accuracy's noise depends on how many labels it counts: per position for a character model
    counted = int(targets.numel()) if predictor["kind"] == "class" else int(targets.shape[0])
    scored: dict[str, Any] = {"samples": counted}
    if predictor["kind"] == "regression":
        outputs = constant.expand(targets.shape[0], -1).reshape((targets.shape[0], *output_shape))
        difference = outputs.reshape(targets.shape[0], -1) - targets.float().reshape(targets.shape[0], -1)
        scored.update(mse=float(difference.pow(2).mean()), mae=float(difference.abs().mean()))
    else:
        outputs = constant.expand(targets.shape[0], *constant.shape).clone()
        scored["accuracy"] = float((targets.long().reshape(-1) == predictor["majority"]).float().mean())
    loss = _loss(experiment.loss_fn, outputs, targets) if _builtin_loss(experiment) else None
    if loss is not None:
        scored["loss"] = loss
    return scored


def _builtin_loss(experiment) -> bool:
    """Only learnai's own losses are called for the baseline: a plugin's loss may count its calls or keep state,
    and the run must see exactly the calls it would see without this."""
    from learnai_cli import registry

    entry = registry.LOSSES.get(experiment.experiment_config.loss.name)
    return getattr(entry.builder, "__module__", "") == "learnai_cli.losses"


def _loss(loss_fn, outputs: torch.Tensor, targets: torch.Tensor) -> Optional[float]:
    """The run's own loss on the constant outputs; None when that loss cannot take them (a plugin's own rules)."""
    try:
        with torch.no_grad():
            value = loss_fn(outputs.to(targets.device), targets if targets.is_floating_point() else targets.long())
        value = float(value)
    except Exception:
        return None
    return value if math.isfinite(value) else None
