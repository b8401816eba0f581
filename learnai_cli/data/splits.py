"""What a dataset builder returns, and the seeded train/val/test carving of it."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Optional, Union

import torch
from torch.utils.data import Dataset, Subset

from learnai_cli.errors import ConfigError, UsageError, clip

__all__ = [
    "TensorSplit",
    "DatasetSplits",
    "Split",
    "carve",
    "split_targets",
    "cache_in_memory",
    "standardize_features",
]


@dataclass(frozen=True)
class TensorSplit:
    """A split held in memory as two tensors; batched by index, never through a DataLoader."""

    inputs: torch.Tensor
    targets: torch.Tensor

    def __len__(self) -> int:
        return self.targets.shape[0]

    def take(self, index: torch.Tensor) -> "TensorSplit":
        return TensorSplit(self.inputs[index], self.targets[index])


Split = Union[TensorSplit, Dataset]


@dataclass(frozen=True)
class DatasetSplits:
    """A builder's result: train, plus val/test where the dataset has official ones."""

    train: Split
    val: Optional[Split] = None
    test: Optional[Split] = None
    class_names: Optional[list[str]] = None
    info: dict[str, Any] = field(default_factory=dict)  # facts a report may show, e.g. true coefficients
    collate_fn: Optional[Callable] = None  # how a DataLoader joins samples into a batch (e.g. per-batch padding)
    # How `learnai predict` turns one raw input (a surname, an image file's path) into a batch of one;
    # None means a comma-separated row of numbers, for tabular inputs.
    encode_input: Optional[Callable[[str], torch.Tensor]] = None
    # How `learnai eval` shows one sample's input as text (a surname's characters from their indices); None: images
    # are drawn, feature rows shown as their values.
    decode_input: Optional[Callable[[torch.Tensor], str]] = None
    # The inputs are draws from a continuous distribution (generated data): rows that repeat across splits are
    # float32 rounding collisions (a uniform float32 has 2^24 values), not copied samples (split_overlap says none).
    continuous_inputs: bool = False
    # The task, when the builder decides it from the data (datasets registered with task="auto").
    task: Optional[str] = None
    # Called once train/val/test are carved (build_data), for what must see the final training split only, e.g.
    # standardize_features; returns the splits to use.
    after_carve: Optional[Callable[["DatasetSplits"], "DatasetSplits"]] = None


def carve(
    splits: DatasetSplits, val_split: float | int, test_split: float | int, limit: int | None, seed: int, stratify: bool
) -> DatasetSplits:
    """Fill missing val/test from train with a seeded (stratified for classes) split, then apply `limit`."""
    generator = torch.Generator().manual_seed(seed)
    train, val, test = splits.train, splits.val, splits.test
    total = len(train)  # fractions are of the whole dataset, not of what is left
    if test is None:
        train, test = _hold_out(train, _count(test_split, total, "data.test_split"), generator, stratify)
    if val is None:
        train, val = _hold_out(train, _count(val_split, total, "data.val_split"), generator, stratify)
        if len(train) == 0:
            raise ConfigError(
                f"data.val_split and data.test_split together hold out all {total} samples; make them smaller"
            )
    if limit is not None:
        train, val, test = (_first(part, limit) for part in (train, val, test))
    # which splits data.val_split/test_split made, so advice to hold out more names only a setting that is used
    held_out = [name for name in ("val", "test") if getattr(splits, name) is None]
    return replace(splits, train=train, val=val, test=test, info={**splits.info, "held_out": held_out})


def standardize_features(splits: DatasetSplits, feature_names: list[str]) -> DatasetSplits:
    """Scale every feature column of tensor splits by the TRAINING split's mean and standard deviation (a constant
    column keeps std 1), record them in info["standardization"], and make `predict` scale a CSV row alike."""
    train = splits.train
    if not isinstance(train, TensorSplit) or train.inputs.dim() != 2:
        return splits
    mean = train.inputs.double().mean(dim=0)
    std = train.inputs.double().std(dim=0, correction=0) if len(train) > 1 else torch.ones_like(mean)
    std = torch.where(std > 1e-12, std, torch.ones_like(std))
    mean, std = mean.float(), std.float()

    def scale(split: Optional[Split]) -> Optional[Split]:
        return TensorSplit((split.inputs - mean) / std, split.targets) if isinstance(split, TensorSplit) else split

    statistics = {"features": feature_names, "mean": mean.tolist(), "std": std.tolist()}
    return replace(
        splits,
        train=scale(train),
        val=scale(splits.val),
        test=scale(splits.test),
        info={**splits.info, "standardization": statistics},
        encode_input=functools.partial(scaled_row, statistics=statistics),
    )


def scaled_row(text: str, statistics: dict[str, Any]) -> torch.Tensor:
    """For `learnai predict`: a CSV row scaled with a training split's recorded statistics."""
    mean, std = torch.tensor(statistics["mean"]), torch.tensor(statistics["std"])
    return (parse_row(text, statistics["features"]) - mean) / std


FLOAT32_MAX = 3.4028234663852886e38


def parse_row(text: str, feature_names: list[str]) -> torch.Tensor:
    """A batch of one from 'x1,x2,...' with one number per feature; a wrong count or a non-number is a UsageError."""
    cells = text.split(",")
    if len(cells) != len(feature_names):
        wanted = "one number" if len(feature_names) == 1 else f"{len(feature_names)} comma-separated numbers"
        empty = " (one of them empty: a comma too many?)" if any(not cell.strip() for cell in cells) else ""
        raise UsageError(f"this model takes {wanted} ({', '.join(feature_names)}); got {len(cells)}{empty}")
    values = []
    for name, cell in zip(feature_names, cells):
        if not cell.strip():
            raise UsageError(f"feature {name} is empty in '{clip(text, 80)}': give one number for each feature")
        try:
            value = float(cell)
        except ValueError:
            raise UsageError(f"feature {name}: {cell.strip()!r} is not a number") from None
        if not math.isfinite(value):  # the model would answer nan, or a number that means nothing
            raise UsageError(f"feature {name}: {cell.strip()!r} is not a finite number; give a value like the data's")
        if abs(value) > FLOAT32_MAX:  # it would become inf in the model's float32
            raise UsageError(f"feature {name}: {cell.strip()!r} is beyond float32's range (±3.4e38)")
        values.append(value)
    return torch.tensor([values], dtype=torch.float32)


def split_targets(split: Split) -> Optional[torch.Tensor]:
    """The labels of a split without loading its inputs: tensors, Subsets, and Datasets with a .targets list."""
    if isinstance(split, TensorSplit):
        return split.targets
    if isinstance(split, Subset):
        parent = split_targets(split.dataset)
        return None if parent is None else parent[torch.as_tensor(split.indices, dtype=torch.long)]
    targets = getattr(split, "targets", None)
    return None if targets is None else torch.as_tensor(targets)


def _hold_out(split: Split, count: int, generator: torch.Generator, stratify: bool):
    total = len(split)
    targets = split_targets(split)
    if stratify and targets is not None and targets.dtype == torch.long:
        held, kept = _stratified_indices(targets, count, generator)
    else:
        order = torch.randperm(total, generator=generator)
        held, kept = order[:count], order[count:]
    return _take(split, kept), _take(split, held)


def _count(size: float | int, total: int, key: str) -> int:
    if isinstance(size, float) and not 0 < size < 1:
        raise ConfigError(f"{key}: a fraction must be between 0 and 1 (got {size})")
    count = round(size * total) if isinstance(size, float) else size
    if not 1 <= count < total:
        raise ConfigError(
            f"{key}: holding out {count} of {total} samples leaves no data to train on; use a smaller value"
        )
    return count


def _stratified_indices(targets: torch.Tensor, count: int, generator: torch.Generator):
    """Hold out about the same fraction of every class, so rare classes appear in each split."""
    classes = [(targets == label).nonzero().view(-1) for label in targets.unique()]
    quotas = [len(members) * count / len(targets) for members in classes]
    n_held = [round(quota) for quota in quotas]  # each class its share (the splits every earlier run was made with)
    if sum(n_held) == 0:
        # every share rounded to 0 (10 images of 2 classes at 0.1): the largest shares give one sample each until
        # `count` are held out, rather than a split with no samples
        by_share = sorted(range(len(classes)), key=lambda i: (-quotas[i], i))
        for i in by_share[:count]:
            n_held[i] += 1
    held, kept = [], []
    for members, n in zip(classes, n_held):
        members = members[torch.randperm(len(members), generator=generator)]
        held.append(members[:n])
        kept.append(members[n:])
    held, kept = torch.cat(held), torch.cat(kept)
    # Shuffle across classes so the first `limit` samples are not all one class.
    return held[torch.randperm(len(held), generator=generator)], kept[torch.randperm(len(kept), generator=generator)]


def _take(split: Split, index: torch.Tensor) -> Split:
    return split.take(index) if isinstance(split, TensorSplit) else Subset(split, index.tolist())


def _first(split: Split, limit: int) -> Split:
    if len(split) <= limit:
        return split
    return _take(split, torch.arange(limit))


def cache_in_memory(splits: DatasetSplits, budget_mb: int, num_workers: int = 0) -> DatasetSplits:
    """Decode file-backed splits once into tensors when all of them fit the memory budget (then no DataLoader per
    epoch)."""
    file_backed = {
        name: getattr(splits, name) for name in ("train", "val", "test") if getattr(splits, name) is not None
    }
    file_backed = {
        name: split for name, split in file_backed.items() if not isinstance(split, TensorSplit) and len(split)
    }  # an empty split has nothing to decode (and no sample to size the rest by)
    if not file_backed or budget_mb <= 0 or splits.collate_fn is not None:  # variable-length samples stay as they are
        return splits
    sample, _ = next(iter(file_backed.values()))[0]
    needed = sum(len(split) for split in file_backed.values()) * sample.numel() * sample.element_size()
    if needed > budget_mb * 2**20:
        return splits
    return replace(splits, **{name: _decode(split, num_workers) for name, split in file_backed.items()})


def _decode(split: Dataset, num_workers: int) -> TensorSplit:
    from torch.utils.data import DataLoader

    inputs, targets = [], []
    for batch_inputs, batch_targets in DataLoader(split, batch_size=256, num_workers=num_workers):
        inputs.append(batch_inputs)
        targets.append(torch.as_tensor(batch_targets))
    return TensorSplit(torch.cat(inputs), torch.cat(targets))
