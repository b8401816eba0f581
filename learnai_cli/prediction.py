"""`learnai predict`: one input through a trained run's model: a surname, an image file, or a row of comma-separated numbers."""

from __future__ import annotations

from typing import Any

from learnai_cli.errors import UsageError
from learnai_cli.runs import RunDir


def predict(run: RunDir, text: str, checkpoint: str = "best", top: int = 3) -> dict[str, Any]:
    import torch

    from learnai_cli.evaluation import load_trained

    experiment, path, _ = load_trained(run, checkpoint)
    experiment.model.eval()
    inputs = _encode(experiment, text).to(experiment.device)
    with torch.no_grad():
        outputs = experiment.model(inputs).float()[0]
    result: dict[str, Any] = {"run_id": run.id, "input": text, "checkpoint": str(path)}
    if experiment.task == "regression":
        return {**result, "prediction": outputs.view(-1).tolist()}
    probabilities = _probabilities(outputs, experiment)
    names = experiment.data.class_names or [str(i) for i in range(len(probabilities))]
    best = torch.topk(probabilities, k=min(top, len(probabilities)))
    return {**result, "top": [{"class": names[i], "probability": round(float(p), 4)} for p, i in zip(best.values, best.indices.tolist())]}


def _encode(experiment, text: str):
    import torch

    if experiment.data.info.get("input") == "name":
        from learnai_cli.data.sequences import encode_name

        encoded = encode_name(text)
        if not encoded:
            raise UsageError(f"'{text}' has no letters this model knows (ASCII letters, space and .,;'-)")
        return torch.tensor([encoded])
    image = _encode_image(experiment, text)
    if image is not None:
        return image
    sample = experiment.data.train.inputs if hasattr(experiment.data.train, "inputs") else None
    if sample is None or sample.dim() != 2:
        raise UsageError(f"learnai predict takes a surname, an image file or a CSV row of numbers; data '{experiment.config.data.name}' wants none of these")
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise UsageError(f"'{text}' is not a comma-separated row of numbers") from None
    if len(values) != sample.shape[1]:
        raise UsageError(f"this model takes {sample.shape[1]} comma-separated numbers; got {len(values)}")
    return torch.tensor([values])


IMAGE_DATASETS = ("mnist", "fashion_mnist", "image_folder", "glob_images", "fake_images")


def _encode_image(experiment, text: str):
    """An image file, prepared as the run's data was: MNIST-style (grayscale, 28x28, mean/std) or the folder transforms."""
    from pathlib import Path

    section = experiment.config.data
    if section.name not in IMAGE_DATASETS:
        return None
    path = Path(text)
    if not path.is_file():
        raise UsageError(f"this model takes an image file; '{text}' is not a file")
    from PIL import Image, UnidentifiedImageError

    from learnai_cli.data.folders import image_transform

    options = section.kwargs
    if section.name in ("mnist", "fashion_mnist"):
        transform = image_transform(28, True, [options["mean"]], [options["std"]])
    elif section.name == "fake_images":
        transform = image_transform(options["image_size"], options["channels"] == 1, [0.0] * options["channels"], [1.0] * options["channels"])
    else:
        transform = image_transform(options["image_size"], options["grayscale"], options["mean"], options["std"])
    try:
        with Image.open(path) as image:
            return transform(image).unsqueeze(0)
    except (UnidentifiedImageError, OSError) as error:
        raise UsageError(f"cannot read image {path}: {error}") from None


def _probabilities(outputs, experiment):
    import torch

    if experiment.task == "binary":
        positive = torch.sigmoid(outputs).view(-1)[0] if experiment.from_logits else outputs.view(-1)[0]
        return torch.stack([1 - positive, positive])
    if not experiment.from_logits:  # the model ends in log_softmax (nll)
        return outputs.exp()
    return torch.softmax(outputs, dim=0)
