"""`learnai eval`'s error analysis: what the evaluation pass gathered (engine/evaluate.ErrorAnalysis) made into the
report: per-class precision, recall and F1 with their macro averages, the most-confused class pairs, the
highest-loss examples (and the gallery that draws them), or a regression's largest errors."""

from __future__ import annotations

import math
from typing import Any, Optional

import torch

from learnai_cli.errors import clip
from learnai_cli.experiment.outputs import probabilities
from learnai_cli.log import logger
from learnai_cli.metrics import prediction_classes

MOST_CONFUSED = 5  # class pairs listed
FLOAT32_EPSILON = 2.0**-23  # the relative rounding of a float32: inputs are stored as float32
SIGNIFICANT = 6  # digits an input is shown with: as many as float32 carries, not its rounding noise


def error_report(experiment, split, found: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The report's error-analysis keys, and the gallery's examples (with the images or input text to draw)."""
    if experiment.task == "regression":
        return {"largest_errors": [_regression_row(*entry) for entry in found["highest"]]}, []
    matrix = found.get("confusion_matrix")
    if not experiment.num_classes or not matrix:
        return {}, []
    names = experiment.data.class_names or [str(i) for i in range(experiment.num_classes)]
    rows = enumerate(zip(names, matrix))
    report: dict[str, Any] = {
        "class_names": names,
        "confusion_matrix": matrix,
        "per_class_accuracy": {name: (row[i] / sum(row) if sum(row) else None) for i, (name, row) in rows},
        **class_scores(matrix, names),
    }
    if not found["highest"]:  # several labels per sample (a label per time step): no sample ranking
        return report, []
    gallery = [_example(experiment, split, names, *entry) for entry in found["highest"]]
    report["highest_loss"] = [{k: v for k, v in example.items() if k != "image"} for example in gallery]
    return report, gallery


def class_scores(matrix: list[list[int]], names: list[str]) -> dict[str, Any]:
    """per_class (precision, recall, f1, support: null where a class was never predicted, or is not in the split),
    macro_average over the classes in the split (an undefined precision counts 0 there, as in scikit-learn) and
    most_confused (true -> predicted pairs, most often first)."""
    support = [sum(row) for row in matrix]
    predicted = [sum(column) for column in zip(*matrix)]
    per_class = {}
    for i, name in enumerate(names):
        precision = matrix[i][i] / predicted[i] if predicted[i] else None
        recall = matrix[i][i] / support[i] if support[i] else None
        per_class[name] = {
            "precision": precision,
            "recall": recall,
            "f1": _f1(precision, recall),
            "support": support[i],
        }
    present = [per_class[name] for name, count in zip(names, support) if count]
    macro = {
        key: (sum(scores[key] or 0.0 for scores in present) / len(present) if present else None)
        for key in ("precision", "recall", "f1")
    }
    return {"per_class": per_class, "macro_average": macro, "most_confused": most_confused(matrix, names)}


def _f1(precision: Optional[float], recall: Optional[float]) -> Optional[float]:
    """The harmonic mean; 0 when either is 0 or undefined beside a 0 (never predicted: recall 0)."""
    if precision is None and recall is None:
        return None
    if not precision or not recall:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def most_confused(matrix: list[list[int]], names: list[str], top: int = MOST_CONFUSED) -> list[dict[str, Any]]:
    """The off-diagonal cells that are not zero, the largest first: count, and fraction of that true class."""
    support = [sum(row) for row in matrix]
    pairs = [(matrix[i][j], i, j) for i in range(len(matrix)) for j in range(len(matrix)) if i != j and matrix[i][j]]
    pairs.sort(key=lambda pair: (-pair[0], -pair[0] / support[pair[1]], pair[1], pair[2]))
    return [
        {"true": names[i], "predicted": names[j], "count": count, "fraction": count / support[i]}
        for count, i, j in pairs[:top]
    ]


def _example(experiment, split, names: list[str], loss: float, index: int, outputs, target) -> dict[str, Any]:
    """One highest-loss sample: index in the split, true and predicted class, the probabilities the model gave them
    (read as its outputs are: logits, probabilities, ...), its loss, and its input shown as text or pixels."""
    shown = probabilities(outputs, experiment.task, experiment.output_kind)
    true = int(target.reshape(-1)[0])
    predicted = int(prediction_classes(outputs.unsqueeze(0), experiment.task, experiment.from_logits)[0])
    example: dict[str, Any] = {
        "index": index,
        "true": names[true],
        "predicted": names[predicted],
        "probability": _number(shown[predicted]),
        "true_probability": _number(shown[true]),
        "loss": _number(loss),
    }
    try:
        example.update(shown_input(experiment.data, _input(split, index)))
    except Exception as error:  # a plugin dataset's own decode_input or item lookup: the analysis goes on without it
        logger.warning(f"sample {index}'s input cannot be shown ({type(error).__name__}: {clip(str(error), 200)})")
    return example


def _regression_row(error: float, index: int, outputs, target) -> dict[str, Any]:
    values = [_number(v) for v in outputs.reshape(-1).tolist()]
    targets = [_number(v) for v in target.reshape(-1).tolist()]
    one = len(values) == 1 and len(targets) == 1
    return {
        "index": index,
        "target": targets[0] if one else targets,
        "prediction": values[0] if one else values,
        "absolute_error": _number(error),
    }


def _number(value: Any) -> Optional[float]:
    """A finite float, else None (JSON has no NaN or infinity)."""
    value = float(value)
    return value if math.isfinite(value) else None


def _input(split, index: int) -> Any:
    """One sample's input, looked up by its index (no second pass over the split)."""
    inputs = getattr(split, "inputs", None)
    return inputs[index] if isinstance(inputs, torch.Tensor) else split[index][0]


def shown_input(data, sample: Any) -> dict[str, Any]:
    """{"input": text} for what the dataset decodes (surnames), feature rows (their raw values where the training
    split standardised them) and token ids; {"image": pixels in [0, 1], H x W (x 3)} for images; else nothing."""
    if not isinstance(sample, torch.Tensor):
        return {}
    if data.decode_input is not None:
        return {"input": data.decode_input(sample)}
    if sample.dim() == 3 and sample.shape[0] in (1, 3):
        return {"image": _pixels(sample, data.info.get("input_normalization"))}
    if sample.dim() == 1 and sample.is_floating_point():
        return {"input": _feature_text(sample, data.info)}
    if sample.dim() == 1:
        return {"input": " ".join(str(v) for v in sample.tolist())}
    return {}


def _pixels(image: torch.Tensor, normalization: Optional[dict[str, Any]]):
    """The image as it looked before normalisation (else stretched to [0, 1]), channels last, as a numpy array."""
    image = image.detach().float().cpu()
    channels = image.shape[0]
    try:
        mean = torch.tensor(normalization["mean"], dtype=torch.float32).expand(channels).view(-1, 1, 1)
        std = torch.tensor(normalization["std"], dtype=torch.float32).expand(channels).view(-1, 1, 1)
        image = image * std + mean
    except (TypeError, KeyError, RuntimeError):  # no normalisation recorded (or not one value per channel)
        low, high = float(image.min()), float(image.max())
        image = (image - low) / (high - low) if high > low else torch.zeros_like(image)
    pixels = image.clamp(0, 1).permute(1, 2, 0).numpy()
    return pixels[:, :, 0] if channels == 1 else pixels


def _feature_text(row: torch.Tensor, info: dict[str, Any]) -> str:
    """'glucose=148, bmi=33.6' (the values the CSV had, where the training split standardised them), or the bare
    values where the dataset names no features."""
    values = row.detach().double().cpu()
    scaling = info.get("standardization") or {}
    names = scaling.get("features") or info.get("feature_columns")
    noise = values.abs() * FLOAT32_EPSILON  # what storing the value as float32 may have changed in it
    if scaling.get("mean") and len(scaling["mean"]) == len(values):
        std, mean = (torch.tensor(scaling[key], dtype=torch.float64) for key in ("std", "mean"))
        noise = (values.abs() * std + mean.abs()) * FLOAT32_EPSILON * 4  # standardised, stored, scaled back
        values = values * std + mean
    shown = [user_number(value, tolerance) for value, tolerance in zip(values.tolist(), noise.tolist())]
    if names and len(names) == len(shown):
        return ", ".join(f"{name}={value}" for name, value in zip(names, shown))
    return ", ".join(shown)


def user_number(value: float, tolerance: float = 0.0) -> str:
    """An input as the user wrote it: the integer it is within max(1e-9, tolerance) of ('0', not '-5e-11' or
    '-4.47e-08' left by standardising and scaling back), else 6 significant digits ('33.6', not '33.60000229')."""
    if not math.isfinite(value):
        return str(value)
    nearest = round(value)
    if abs(value - nearest) <= max(1e-9, tolerance):
        return str(int(nearest))
    return f"{value:.{SIGNIFICANT}g}"
