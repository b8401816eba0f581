"""Checkpoints: plain dicts of tensors and Python values, saved atomically, loaded only with weights_only."""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import torch

from learnai_cli.atomic import write_atomic
from learnai_cli.errors import UsageError

FORMAT_VERSION = 1


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    buffer = io.BytesIO()
    torch.save({"format_version": FORMAT_VERSION, **payload}, buffer)
    write_atomic(path, buffer.getvalue())


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Load safely (weights_only=True: no code runs); refuse what is not a learnai checkpoint of this format."""
    if _torch_version() < (2, 6):
        raise UsageError(f"loading checkpoints safely needs torch >= 2.6 (this is {torch.__version__}); upgrade torch")
    if not path.is_file():
        raise UsageError(f"checkpoint not found: {path}")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UsageError(f"cannot load checkpoint {path} safely: {first_line}") from None
    if not isinstance(checkpoint, dict) or "format_version" not in checkpoint:
        raise UsageError(f"{path} is not a learnai checkpoint (no format_version)")
    if checkpoint["format_version"] != FORMAT_VERSION:
        raise UsageError(
            f"{path} has checkpoint format {checkpoint['format_version']}, this learnai reads format {FORMAT_VERSION}; "
            "use the learnai version that wrote it"
        )
    return checkpoint


def _torch_version() -> tuple[int, int]:
    major, minor = torch.__version__.split("+")[0].split(".")[:2]
    return int(major), int(minor)


def snapshot(payload: Any) -> Any:
    """A copy of a checkpoint payload that later training steps cannot change (tensors cloned to the CPU)."""
    if isinstance(payload, torch.Tensor):
        return payload.detach().to("cpu", copy=True)
    if isinstance(payload, dict):
        return {key: snapshot(value) for key, value in payload.items()}
    if isinstance(payload, (list, tuple)):
        return type(payload)(snapshot(value) for value in payload)
    return payload


def load_model_state(
    model: torch.nn.Module,
    checkpoint: dict[str, Any],
    source: Any,
    fits: str = "the model of this run's config.yaml",
    advice: str = "use the checkpoint of this run, or the config it was trained with",
) -> None:
    """Load a checkpoint's weights into a model; one that does not fit (another architecture, missing or extra
    keys) is a UsageError naming the checkpoint and the first key that differs, not a raw load_state_dict error.
    `fits` names the model, `advice` says what to do instead."""
    weights = checkpoint.get("model")
    if not isinstance(weights, dict):
        raise UsageError(f"checkpoint {source} holds no model weights: it is damaged or not a learnai checkpoint")
    problem = _first_mismatch(model.state_dict(), weights)
    if problem is None:
        try:
            model.load_state_dict(weights)
            return
        except (RuntimeError, KeyError, TypeError, ValueError) as error:
            problem = str(error).strip().splitlines()[-1].strip()
    raise UsageError(
        f"checkpoint {source} does not fit {fits}: {problem}. It was written by another model or architecture; {advice}"
    )


def _first_mismatch(expected: dict[str, Any], found: dict[str, Any]) -> str | None:
    for key, value in expected.items():
        if key not in found:
            return f"key '{key}' is missing from the checkpoint"
        shape = getattr(found[key], "shape", None)
        if shape is not None and tuple(shape) != tuple(value.shape):
            return f"'{key}' has shape {list(shape)} in the checkpoint but {list(value.shape)} in the model"
    extra = [key for key in found if key not in expected]
    return f"the checkpoint has key '{extra[0]}' that the model does not" if extra else None
