"""Checkpoints: plain dicts of tensors and Python values, saved atomically, loaded only with weights_only."""

from __future__ import annotations

import io
import pickle
import re
import warnings
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
        with warnings.catch_warnings():  # torch warns on some damaged files before it raises: the error says it all
            warnings.simplefilter("ignore")
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if "global" not in _reason(error).lower():  # noise the unpickler cannot read: damaged, not dangerous
            raise UsageError(_damaged(path, error)) from None
        raise UsageError(  # the weights-only unpickler met a global: loading the file would run code
            f"cannot load checkpoint {path} safely: it holds objects that would run code when loaded, and learnai "
            f"loads weights only; it was not written by learnai or was altered ({_reason(error)})"
        ) from None
    except Exception as error:  # a damaged file fails in any way (KeyError on text, IndexError, OSError on a cut zip)
        raise UsageError(_damaged(path, error)) from None
    if not isinstance(checkpoint, dict) or "format_version" not in checkpoint:
        raise UsageError(f"{path} is not a learnai checkpoint (no format_version)")
    if checkpoint["format_version"] != FORMAT_VERSION:
        raise UsageError(
            f"{path} has checkpoint format {checkpoint['format_version']!r}, this learnai reads format "
            f"{FORMAT_VERSION}; use the learnai version that wrote it"
        )
    return checkpoint


def _damaged(path: Path, error: Exception) -> str:
    return (
        f"cannot load checkpoint {path}: it is damaged (cut short or overwritten) or not a checkpoint learnai wrote "
        f"({_reason(error)})"
    )


def _reason(error: Exception) -> str:
    """torch.load's own words, shortened: its weights-only refusal advises weights_only=False, which is not for us."""
    text = str(error).strip()
    if "WeightsUnpickler error:" in text:
        text = text.split("WeightsUnpickler error:", 1)[1].strip()
    first = re.split(r"(?<=[.!?])\s", text.splitlines()[0].strip())[0] if text else ""  # its first sentence
    if not first or first.isdigit() or len(first) < 4:
        return f"torch.load: {type(error).__name__}" + (f" {first}" if first else "")
    return "torch.load: " + (first if len(first) <= 160 else first[:157] + "...")


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
    if not isinstance(weights, dict) or not all(isinstance(value, torch.Tensor) for value in weights.values()):
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
