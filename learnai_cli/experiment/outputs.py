"""What a model's outputs are, and whether their number suits the data's labels.

The model's last layer says it first: a sigmoid or softmax makes probabilities, a log_softmax log-probabilities.
Otherwise the loss says what it takes (its registration's `outputs=`): raw scores (cross_entropy, bce_with_logits),
probabilities (bce), log-probabilities (nll, kl_div) or values compared with the targets themselves (mse, l1, huber,
smooth_l1: a yes/no output then estimates the 0/1 label); a loss that says nothing (a plugin, a loss by reference)
gets raw scores. Every metric, best.pt's choice, eval, predict and export read the outputs from this one answer.
"""

from __future__ import annotations

from typing import Any, Optional

import torch
from torch import nn

from learnai_cli import registry
from learnai_cli.errors import ConfigError, counted
from learnai_cli.log import logger

LOGITS, PROBABILITIES, LOG_PROBABILITIES, TARGET_VALUES = (
    "logits",
    "probabilities",
    "log_probabilities",
    "target_values",
)
OUTPUT_KINDS = (LOGITS, PROBABILITIES, LOG_PROBABILITIES, TARGET_VALUES)
ENDING_KINDS = {nn.Sigmoid: PROBABILITIES, nn.Softmax: PROBABILITIES, nn.LogSoftmax: LOG_PROBABILITIES}


def output_kind(loss_meta: dict[str, Any], model: nn.Module) -> str:
    """One of OUTPUT_KINDS: what the model's last layer makes when it is a sigmoid, softmax or log_softmax (whatever
    the loss expects: a mismatch is warned about in loss_pairing.py), else what the loss says it takes, else raw
    scores."""
    leaves = [module for module in model.modules() if not list(module.children())]
    ending = ENDING_KINDS.get(type(leaves[-1])) if leaves else None
    declared = loss_meta.get("outputs")
    if "outputs" not in loss_meta and "from_logits" in loss_meta:  # the older registration flag, still honoured
        declared = LOGITS if loss_meta["from_logits"] else None
    return ending or (declared if declared in OUTPUT_KINDS else LOGITS)


def compares_with_targets(loss_meta: dict[str, Any]) -> bool:
    """A regression-style loss (mse, l1, ...): each output is compared with its target's value."""
    return loss_meta.get("outputs") == TARGET_VALUES


def probabilities(outputs: torch.Tensor, task: str, kind: str) -> torch.Tensor:
    """Class probabilities of one sample's outputs (a 1-D tensor): two for a binary task (no, yes), else one per
    output. Values that estimate the targets (a regression loss on 0/1 labels) are clipped to [0, 1]."""
    if task == "binary":
        value = outputs.reshape(-1)[0].float()
        positive = {LOGITS: torch.sigmoid, LOG_PROBABILITIES: torch.exp}.get(kind, lambda v: v.clamp(0, 1))(value)
        return torch.stack([1 - positive, positive])
    scores = outputs.float()
    if kind == LOGITS:
        return torch.softmax(scores, dim=0)
    if kind == LOG_PROBABILITIES:
        return scores.exp()
    clipped = scores.clamp(min=0)  # probabilities already, or estimates that may stray below 0
    total = float(clipped.sum())
    return clipped / total if total > 0 else torch.full_like(clipped, 1 / len(clipped))


def check_outputs_fit_labels(experiment, outputs: int) -> None:
    """Class labels must be ones the model can answer (and be 0/1 for a binary task), in every split; a loss that
    compares outputs with the targets' values cannot learn class labels beyond yes/no; more outputs than classes is
    legal but wasted, and said."""
    if experiment.task == "regression":
        return
    low, high = _label_range(experiment.data)
    if low is None:
        return
    names = experiment.experiment_config
    data_name, model_name, loss_name = names.data.name, names.model.name, names.loss.name
    if experiment.task == "binary" and (low < 0 or high > 1):
        raise ConfigError(
            f"data '{data_name}' is a binary task but its labels range from {low} to {high}; they must be 0 or 1"
        )
    classes = _class_count(experiment, high)
    loss_meta = registry.LOSSES.get(loss_name).meta
    if experiment.task == "classification" and outputs == 1:  # class labels want an output per class
        raise ConfigError(
            f"data '{data_name}' gives class labels ({counted(classes, 'class')}, 0 to {high}), so the model needs one "
            f"output per class, but model '{model_name}' gives 1: {output_size(experiment, classes)} with loss "
            "cross_entropy"
        )
    if compares_with_targets(loss_meta) and (experiment.task == "classification" or outputs != 1):
        raise ConfigError(_values_loss_on_labels(loss_name, data_name, classes, outputs, experiment.task))
    if experiment.task == "classification" and outputs > 1 and (low < 0 or high >= outputs):
        raise ConfigError(
            f"data '{data_name}' has {counted(classes, 'class')} (labels {low} to {high}) but model '{model_name}' "
            f"gives {counted(outputs, 'output')}: each class needs an output of its own: "
            f"{output_size(experiment, classes)}"
        )
    if experiment.task == "classification" and outputs > classes:
        logger.warning(
            f"model '{model_name}' gives {outputs} outputs but data '{data_name}' has {counted(classes, 'class')}: "
            f"the {outputs - classes} extra outputs are never a right answer, yet they take probability from the real "
            f"ones: {output_size(experiment, classes)}"
        )


def _values_loss_on_labels(loss_name: str, data_name: str, classes: int, outputs: int, task: str) -> str:
    if task == "binary":
        return (
            f"loss {loss_name} compares each output with its target, but data '{data_name}' gives one 0/1 label per "
            f"sample and the model {counted(outputs, 'output')}: give the model 1 output (a yes/no score), or use "
            "loss bce_with_logits with 1 output, or cross_entropy with 2"
        )
    return (
        f"loss {loss_name} compares each output with its target's value, but data '{data_name}' gives class labels "
        f"(0 to {classes - 1}), which are names, not amounts (class 1 is not 'more' than class 0), and each output "
        f"would chase a label's number. Use loss cross_entropy with {classes} outputs"
    )


def _label_range(data) -> tuple[Optional[int], Optional[int]]:
    """The lowest and highest class label over every split (None, None when a dataset does not say)."""
    from learnai_cli.data.splits import split_targets

    splits = [getattr(data, name) for name in ("train", "val", "test")]
    targets = [split_targets(s) for s in splits if s is not None and len(s)]
    targets = [t for t in targets if t is not None and t.numel()]
    if not targets:
        return None, None
    return min(int(t.min()) for t in targets), max(int(t.max()) for t in targets)


def _class_count(experiment, high: int) -> int:
    """The classes the data names (its class names), else those its labels reach."""
    names = experiment.data.class_names
    if experiment.task == "binary":
        return 2
    return max(len(names), high + 1) if names else high + 1


OUTPUT_SIZE_KEYS = ("num_classes", "out_features", "n_out", "classes")  # what the builders here call it


def output_size(experiment, classes: int) -> str:
    """The override that sets the model's output size, where its config names one; else its size settings."""
    kwargs = experiment.experiment_config.model.kwargs
    key = next((k for k in OUTPUT_SIZE_KEYS if k in kwargs), None)
    if key is not None:
        return f"set model.{key}={classes}"
    return f"set the model's output size to {classes} (its settings now: {model_settings(experiment)})"


def model_settings(experiment) -> str:
    """The model's size settings as overrides (model.hidden=[16], model.out_features=3) for a message to name."""
    kwargs = experiment.experiment_config.model.kwargs
    settings = [f"model.{k}={v}" for k, v in kwargs.items() if isinstance(v, (int, list)) and not isinstance(v, bool)]
    return ", ".join(settings) or "model.*"
