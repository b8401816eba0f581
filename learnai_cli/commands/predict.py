"""`learnai predict`: one input through a trained run's model: whatever its dataset declares it reads (a surname,
an image file), or a row of comma-separated numbers for tabular data."""

from __future__ import annotations

from typing import Any, Optional

from learnai_cli.errors import UsageError, clip
from learnai_cli.log import logger
from learnai_cli.rundir import RunDir

DEFAULT_TOP = 3


def predict(
    run: RunDir, text: str, checkpoint: str = "best", top: Optional[int] = None, device: Optional[str] = None
) -> dict[str, Any]:
    import torch

    from learnai_cli.commands.evaluate import load_trained

    experiment, path, _ = load_trained(run, checkpoint, device)
    experiment.model.eval()
    inputs = _encode(experiment, text, run.meta(strict=False)).to(experiment.device)
    if inputs.is_floating_point() and not torch.isfinite(inputs).all():  # e.g. x**4 of a large x, past float32
        raise UsageError(f"'{clip(text, 80)}' becomes a feature too large for float32 (over ±3.4e38) for this model")
    with torch.no_grad():
        outputs = experiment.model(inputs).float()[0]
    if not torch.isfinite(outputs).all():
        raise UsageError(
            f"the model's output for '{clip(text, 80)}' is not a finite number (it overflows float32): the input is "
            "far outside the values the model was trained on"
        )
    warnings = unlike_training(experiment, inputs.cpu())
    for warning in warnings:
        logger.warning(warning)
    result: dict[str, Any] = {"run_id": run.id, "input": text, "checkpoint": str(path), "warnings": warnings}
    if experiment.task == "regression":
        if top is not None:
            raise UsageError("--top ranks classes, and this run is a regression: it predicts values; leave --top out")
        return {**result, "prediction": outputs.view(-1).tolist()}
    top = DEFAULT_TOP if top is None else top
    if outputs.dim() == 2:  # one class per input position (classes, time): a character sequence model
        positions = [_ranked(_probabilities(column, experiment), experiment, top) for column in outputs.T]
        classes = [p[0]["class"] for p in positions]
        joiner = "" if all(len(c) == 1 for c in classes) else " "  # characters run together, other classes do not
        return {**result, "predicted_text": joiner.join(classes), "positions": positions}
    return {**result, "top": _ranked(_probabilities(outputs, experiment), experiment, top)}


def _ranked(probabilities, experiment, top: int) -> list[dict[str, Any]]:
    """The `top` most probable classes, by name, most probable first."""
    import torch

    named = experiment.data.class_names or []
    # a model with more outputs than the data has classes: the extra ones are named as outputs, never an IndexError
    names = [
        named[i] if i < len(named) else (f"output {i} (no class)" if named else str(i))
        for i in range(len(probabilities))
    ]
    best = torch.topk(probabilities, k=min(top, len(probabilities)))
    return [{"class": names[i], "probability": round(float(p), 4)} for p, i in zip(best.values, best.indices.tolist())]


def _name(named: list, index: int) -> str:
    if index < len(named):
        return named[index]
    return f"output {index} (no class)" if named else str(index)


def _encode(experiment, text: str, run_meta: dict[str, Any]):
    """The dataset's own encoder when it declares one, else a CSV row of numbers for tabular inputs."""
    from learnai_cli.data.splits import parse_row, scaled_row

    recorded = run_meta.get("standardization")
    if recorded and recorded != experiment.data.info.get("standardization"):
        logger.warning(
            "the data's statistics differ from those recorded when this run trained (the file changed): the input "
            "is scaled with the recorded ones, as the model was trained"
        )
        return scaled_row(text, recorded)
    if experiment.data.encode_input is not None:
        return experiment.data.encode_input(text)
    sample = getattr(experiment.data.train, "inputs", None)
    if sample is None or sample.dim() != 2 or not sample.is_floating_point():
        raise UsageError(
            "learnai predict takes a surname, an image file or a CSV row of numbers; "
            f"data '{experiment.experiment_config.data.name}' wants none of these"
        )
    return parse_row(text, [f"x{i + 1}" for i in range(sample.shape[1])])


# An input is "far outside" the training inputs when it lies beyond every training value AND this many standard
# deviations from their mean: ordinary new inputs (a value a little past the largest seen) are not flagged.
FAR = 4.0
SAMPLE_ROWS, SAMPLE_IMAGES = 4096, 64


def unlike_training(experiment, inputs) -> list[str]:
    """Warnings for an input far outside what the model was trained on: a CSV feature beyond the training values,
    an image much brighter, darker or more (less) contrasted than every training image. The prediction is still
    made; the warning says what differs and what to check."""
    import torch

    sample = _training_sample(experiment.data.train)
    if sample is None or not inputs.is_floating_point() or tuple(sample.shape[1:]) != tuple(inputs.shape[1:]):
        return []
    sample, inputs = sample.double(), inputs.double()
    if sample.dim() == 2:
        return _feature_warnings(sample, inputs[0], experiment.data.info)
    if sample.dim() >= 4:  # images: (count, channels, height, width)
        flat = sample.flatten(1)
        means, stds = flat.mean(dim=1), flat.std(dim=1, correction=0)
        pixel = inputs.flatten()
        found = [
            _far("brighter", "darker", float(pixel.mean()), means, "mean pixel value"),
            _far("more contrasted", "flatter", float(pixel.std(correction=0)), stds, "pixel spread (std)"),
        ]
        found = [problem for problem in found if problem]
        if found and torch.isfinite(pixel).all():
            return [
                f"this image is {' and '.join(found)}: it looks nothing like the images the model was trained on, "
                "so the prediction may mean nothing. Check that it is prepared like them (inverted colours, e.g. "
                "dark strokes on a light background where the training images are light on dark? another kind of "
                "picture? a photo of a screen?)"
            ]
    return []


def _far(above: str, below: str, value: float, reference, what: str) -> str | None:
    """'much brighter than every training image (mean pixel value 2.41; training images -0.42 to 0.61)' or None."""
    low, high, mean = float(reference.min()), float(reference.max()), float(reference.mean())
    spread = max(float(reference.std(correction=0)), 1e-3 * max(abs(high - low), abs(mean), 1e-6))
    if low <= value <= high or abs(value - mean) <= FAR * spread:
        return None
    side = above if value > high else below
    return f"much {side} than every training image ({what} {value:.3g}; training images {low:.3g} to {high:.3g})"


def _feature_warnings(sample, row, info: dict[str, Any]) -> list[str]:
    """One warning naming the features of a CSV row far outside their training values (shown in the CSV's own
    units when the run standardised its features)."""
    scaling = info.get("standardization") or {}
    names = scaling.get("features") or info.get("feature_columns") or [f"x{i + 1}" for i in range(len(row))]
    if scaling.get("mean") and len(scaling["mean"]) == len(row):  # back to the CSV's own units, for the message
        import torch

        mean, std = torch.tensor(scaling["mean"]).double(), torch.tensor(scaling["std"]).double()
        sample, row = sample * std + mean, row * std + mean
    low, high = sample.min(dim=0).values, sample.max(dim=0).values
    centre, spread = sample.mean(dim=0), sample.std(dim=0, correction=0)
    far = [
        f"{name} = {_number(value)} (trained on {_number(lo)} to {_number(hi)})"
        for name, value, lo, hi, mu, sd in zip(names, row, low, high, centre, spread)
        if float(sd) > 0 and not lo <= value <= hi and abs(float(value - mu)) > FAR * float(sd)
    ]
    if not far:
        return []
    shown = "; ".join(far[:4]) + (f"; and {len(far) - 4} more" if len(far) > 4 else "")
    return [
        f"this input is far outside the values the model was trained on: {shown}. Its prediction may mean nothing: "
        f"check the units and scaling, and that the numbers are in the training order ({', '.join(names)})"
    ]


def _number(value) -> str:
    """A value for a message: 4 significant digits, and the float noise of unscaling (-2.7e-08 for 0) rounded off."""
    return f"{round(float(value), 6) + 0.0:.4g}"


def _training_sample(train):
    """Up to a few thousand training rows, or a few dozen training images, spread over the split; None when the
    training inputs cannot be read as one tensor (variable-length sequences, a plugin's own samples)."""
    import torch

    inputs = getattr(train, "inputs", None)
    try:
        if inputs is not None:  # in memory: rows of features, or images decoded once (data.memory_budget_mb)
            wanted = SAMPLE_ROWS if inputs.dim() == 2 else SAMPLE_IMAGES
            return inputs[torch.linspace(0, len(inputs) - 1, min(len(inputs), wanted)).long()]
        count = len(train)
        chosen = torch.linspace(0, count - 1, min(count, SAMPLE_IMAGES)).long().tolist() if count else []
        samples = [train[i][0] for i in chosen]
        return torch.stack(samples) if samples and all(isinstance(x, torch.Tensor) for x in samples) else None
    except Exception:  # a sample that cannot be read or stacked: no comparison, the prediction stands
        return None


def _probabilities(outputs, experiment):
    from learnai_cli.experiment.outputs import probabilities

    return probabilities(outputs, experiment.task, experiment.output_kind)
