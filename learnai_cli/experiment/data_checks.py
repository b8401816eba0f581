"""Checks of the data before training, recorded in meta.json for `learnai diagnose` (warnings, never refusals):
samples of val/test that are exact copies of training samples, feature columns far from zero mean and unit scale
or constant, a regression's target scale, and how the classes are balanced in each split."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import torch

from learnai_cli.data.splits import TensorSplit, split_targets

MAX_ELEMENTS = 50_000_000  # past this many input values the duplicate look is skipped (it holds a copy in memory)


def data_checks(data, task: str) -> dict[str, Any]:
    """{"duplicates": {"val": n, "test": m}, "features": {...}, "targets": {...}, "classes": {...}}, each only where
    it applies."""
    checks: dict[str, Any] = {}
    duplicates = _duplicates(data)
    if duplicates is not None:
        checks["duplicates"] = duplicates
    features = _feature_scale(data.train)
    if features is not None:
        checks["features"] = features
    targets = _target_scale(data.train) if task == "regression" else None
    if targets is not None:
        checks["targets"] = targets
    if task in ("classification", "binary"):
        checks["classes"] = {name: _class_counts(getattr(data, name)) for name in ("train", "val", "test")}
        checks["classes"] = {name: counts for name, counts in checks["classes"].items() if counts}
    return checks


def _flat(split) -> Optional[torch.Tensor]:
    """Each sample's inputs as one row, for in-memory splits small enough to compare; None otherwise."""
    if not isinstance(split, TensorSplit) or not len(split) or split.inputs.numel() > MAX_ELEMENTS:
        return None
    return split.inputs.detach().cpu().reshape(len(split), -1)


def _duplicates(data) -> Optional[dict[str, Any]]:
    """How many val/test samples equal a training sample byte for byte: rows are matched by a random projection
    first (one matrix product, so a 60,000-image split costs milliseconds), then each candidate's bytes are compared.
    Also whether the dataset gives its training split itself as val/test (`val_is_train`: by design, toy_classes),
    and whether its inputs are continuous draws (`continuous_inputs`: repeats are rounding collisions)."""
    train = _flat(data.train)
    if train is None:
        return None
    projection = torch.randn(train.shape[1], 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    keys = (train.double() @ projection).view(-1).numpy()
    order = np.argsort(keys)
    train_bytes = _bytes(train)
    found: dict[str, Any] = {}
    for name in ("val", "test"):
        split = getattr(data, name)
        rows = _flat(split)
        if rows is None or rows.shape[1] != train.shape[1]:
            continue
        wanted = (rows.double() @ projection).view(-1).numpy()
        at = np.clip(np.searchsorted(keys[order], wanted), 0, len(keys) - 1)
        candidates = np.nonzero(keys[order][at] == wanted)[0]
        rows_bytes = _bytes(rows)
        found[name] = sum(rows_bytes[i].tobytes() == train_bytes[order[at[i]]].tobytes() for i in candidates)
        found[f"{name}_samples"] = len(rows)
        if split is data.train:
            found[f"{name}_is_train"] = True
    if found and getattr(data, "continuous_inputs", False):
        found["continuous_inputs"] = True
    return found or None


def _bytes(rows: torch.Tensor) -> np.ndarray:
    """Each row's bytes (any dtype, bfloat16 too): -0.0 is not 0.0 here, and a NaN equals the same NaN."""
    return rows.contiguous().view(torch.uint8).numpy()


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


def _target_scale(train) -> Optional[dict[str, float]]:
    """A regression's training targets: their mean and std, and the mean |y| and y^2 that a model predicting 0 (a
    fresh one, nearly) scores under an L1 and an MSE loss, so a high first loss is told from a rising one."""
    targets = split_targets(train) if train is not None and len(train) else None
    if not isinstance(targets, torch.Tensor) or not targets.is_floating_point() or not targets.numel():
        return None
    values = targets.detach().cpu().double().reshape(-1)
    values = values[torch.isfinite(values)]
    if not values.numel():
        return None
    return {
        "mean": float(values.mean()),
        "std": float(values.std(correction=0)),
        "mean_abs": float(values.abs().mean()),
        "mean_square": float(values.square().mean()),
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
