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
    result: dict[str, Any] = {"run_id": run.id, "input": text, "checkpoint": str(path)}
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

    names = experiment.data.class_names or [str(i) for i in range(len(probabilities))]
    best = torch.topk(probabilities, k=min(top, len(probabilities)))
    return [{"class": names[i], "probability": round(float(p), 4)} for p, i in zip(best.values, best.indices.tolist())]


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


def _probabilities(outputs, experiment):
    from learnai_cli.experiment.outputs import probabilities

    return probabilities(outputs, experiment.task, experiment.output_kind)
