"""Checks of the data before training, recorded in meta.json for `learnai diagnose` (warnings, never refusals):
samples of val/test that are exact copies of training samples, feature columns far from zero mean and unit scale
or constant, and how the classes are balanced in each split."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import torch

from learnai_cli.data.splits import TensorSplit, split_targets

MAX_ELEMENTS = 50_000_000  # past this many input values the duplicate look is skipped (it holds a copy in memory)


def data_checks(data, task: str) -> dict[str, Any]:
    """{"duplicates": {"val": n, "test": m}, "features": {...}, "classes": {...}}, each only where it applies."""
    checks: dict[str, Any] = {}
    duplicates = _duplicates(data)
    if duplicates is not None:
        checks["duplicates"] = duplicates
    features = _feature_scale(data.train)
    if features is not None:
        checks["features"] = features
    if task in ("classification", "binary"):
        checks["classes"] = {name: _class_counts(getattr(data, name)) for name in ("train", "val", "test")}
        checks["classes"] = {name: counts for name, counts in checks["classes"].items() if counts}
    return checks


def _rows(split) -> Optional[np.ndarray]:
    """Each sample's inputs as one opaque value (its bytes), for exact comparison; None for file-backed splits."""
    if not isinstance(split, TensorSplit) or not len(split) or split.inputs.numel() > MAX_ELEMENTS:
        return None
    flat = np.ascontiguousarray(split.inputs.detach().cpu().reshape(len(split), -1).numpy())
    return flat.view(np.dtype((np.void, flat.dtype.itemsize * flat.shape[1]))).ravel()


def _duplicates(data) -> Optional[dict[str, int]]:
    train = _rows(data.train)
    if train is None:
        return None
    found = {}
    for name in ("val", "test"):
        rows = _rows(getattr(data, name))
        if rows is not None:
            found[name] = int(np.isin(rows, train).sum())
            found[f"{name}_samples"] = len(rows)
    return found or None


def _feature_scale(train) -> Optional[dict[str, Any]]:
    """Per-column mean and std of 2-D float training inputs (tables, 1-D regression), summarised."""
    if not isinstance(train, TensorSplit) or train.inputs.dim() != 2 or not train.inputs.is_floating_point():
        return None
    if len(train) < 2:
        return None
    values = train.inputs.detach().double()
    mean, std = values.mean(dim=0), values.std(dim=0, correction=0)
    constant = [int(i) for i in torch.nonzero(std == 0).view(-1)]
    varying = std > 0
    return {
        "count": int(values.shape[1]),
        "largest_abs_mean": float(mean.abs().max()),
        "largest_std": float(std[varying].max()) if bool(varying.any()) else 0.0,
        "smallest_std": float(std[varying].min()) if bool(varying.any()) else 0.0,
        "constant": constant,
    }


def _class_counts(split) -> Optional[list[int]]:
    targets = split_targets(split) if split is not None and len(split) else None
    if (
        not isinstance(targets, torch.Tensor)
        or not targets.numel()
        or targets.is_floating_point()
        and targets.dim() > 2
    ):
        return None
    labels = targets.detach().cpu().long().reshape(-1)
    if int(labels.min()) < 0:
        return None
    return torch.bincount(labels).tolist()
